"""IsoFLOP helpers: runs near each profile's minimum, and the two-step Approach-2 estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.isoflop import near_optimum, two_step_exponent
from tests.conftest import porian_runs

#: C0 is the geometric mean of the simulated budgets, the value a fit fixes it to
TRUTH = {"a": 0.5, "b": 0.15, "G": 0.09, "c": 0.2, "kappa": 500.0, "C0": 10**19.5, "Lr": 2.4,
         "S": 0.1}  # fmt: skip


def _profiles(truth=TRUTH, *, sigma=0.002, seed=0, groups=("g",)):
    """Simulated IsoFLOP profiles: 9 sizes per budget, from N_opt/8 to 8 N_opt."""
    C, factor = np.meshgrid(np.geomspace(1e18, 1e21, 7), np.geomspace(1 / 8, 8, 9))
    C, N = C.ravel(), (truth["G"] * C ** truth["a"] * factor).ravel()
    frames = []
    for i, g in enumerate(groups):
        runs = bs.datasets.simulate(
            "isoflop", truth, {"N": N, "C": C, "D": C / (6 * N)}, sigma=sigma, seed=seed + i
        )
        frames.append(runs.table.assign(group=g))
    return bs.load_runs(pd.concat(frames, ignore_index=True))


def test_near_optimum_keeps_five_runs_around_each_minimum():
    runs = _profiles(groups=("x", "y"))
    near = near_optimum(runs)
    assert near.n_runs == 2 * 7 * 5 and runs.n_runs == 2 * 7 * 9  # the input is unchanged
    for (_, _), profile in near.table.groupby(["group", "C"]):
        ratio = profile["N"] / (TRUTH["G"] * profile["C"] ** TRUTH["a"])
        assert ratio.min() > 1 / 8 and ratio.max() < 8  # the profile's ends are gone


def test_near_optimum_drops_short_profiles_and_checks_arguments():
    runs = _profiles()
    edge = runs.subset(runs.column("N") < TRUTH["G"] * runs.column("C") ** TRUTH["a"] / 3)
    with pytest.raises(DataError, match="no IsoFLOP profile has 3 runs"):
        near_optimum(edge.subset(np.arange(edge.n_runs) % 3 == 0))
    with pytest.raises(DataError, match="parabola needs three"):
        near_optimum(runs, min_points=2)
    with pytest.raises(DataError, match="need columns N, C and loss"):
        near_optimum(bs.load_runs(pd.DataFrame({"D": [1e9, 2e9], "loss": [3.0, 2.9]})))


def test_two_step_exponent_recovers_the_simulated_exponent():
    table = two_step_exponent(_profiles(groups=("x", "y")))
    assert list(table.index) == ["x", "y"] and (table["profiles"] == 7).all()
    np.testing.assert_allclose(table["a"], TRUTH["a"], atol=0.02)


def test_two_step_exponent_reproduces_porian_et_al():
    """The authors' exponents (their own minima, then least squares) within 0.04 everywhere."""
    runs, published = porian_runs()
    ours = two_step_exponent(runs)["a"]
    theirs = published.loc[ours.index, "a_n_exponent"]
    assert len(ours) == 15
    assert np.abs(ours - theirs).max() < 0.04, (ours - theirs).round(3).to_dict()


@pytest.mark.model
def test_isoflop_fit_answers_allocation_questions():
    """The law's own optimum (closed form) is N_opt = G C^a; the numeric search agrees."""
    fit = bs.fit(_profiles(sigma=0.005), law="isoflop", draws=200, tune=300, chains=2, seed=3)
    budgets = [1e19, 1e20]
    closed = fit.optimal(compute=budgets)
    post = fit.posterior
    expected = post["G"].values[..., None] * np.asarray(budgets) ** post["a"].values[..., None]
    np.testing.assert_allclose(closed["N_opt"].values, expected, rtol=1e-10)
    b, S = post["b"].values[..., None], post["S"].values[..., None]
    C0, Lr = post["C0"].values[..., None], post["Lr"].values[..., None]
    at_optimum = Lr - S * (1 - (np.asarray(budgets) / C0) ** -b) / b
    np.testing.assert_allclose(closed["loss"].values, at_optimum, rtol=1e-10)
    numeric = fit.optimal(compute=budgets, method="numeric")
    np.testing.assert_allclose(numeric["N_opt"].values, closed["N_opt"].values, rtol=0.01)
    a = float(post["a"].median())
    assert abs(a - TRUTH["a"]) < 0.03
    _decisions_work_for_a_law_of_n_and_c(fit)


def _decisions_work_for_a_law_of_n_and_c(fit):
    """Budget, risk and inference-aware questions evaluate the law with C = k N D."""
    from bayes_scaling.questions.budget import compute_for_target, prob_below_target
    from bayes_scaling.questions.risk import inference_aware_allocation, risk_optimal_allocation

    target = float(fit.optimal(compute=1e20)["loss"].median())
    needed = compute_for_target(fit, target=target)
    assert 3e19 < float(needed["compute_needed"].median()) < 3e20
    p_opt = prob_below_target(fit, target=target + 0.02, compute=1e20)["probability"].item()
    n_far = 8 * TRUTH["G"] * 1e20 ** TRUTH["a"]  # 8x too large a model for the budget
    p_far = prob_below_target(fit, target=target + 0.02, compute=1e20, N=n_far)["probability"]
    p_far = p_far.item()
    assert p_opt > 0.9 and p_far < p_opt
    risky = risk_optimal_allocation(fit, compute=1e20, risk="cvar", level=0.9)
    assert np.isfinite(risky["N_opt"].values).all()
    served = inference_aware_allocation(fit, target=target + 0.05, inference_tokens=1e13)
    assert float(served["tokens_per_param"].median()) > 0


@pytest.mark.model
def test_cli_fit_keeps_the_runs_near_each_minimum(tmp_path):
    from typer.testing import CliRunner

    from bayes_scaling.presentation.cli import app

    path = tmp_path / "profiles.csv"
    _profiles(sigma=0.005).table.to_csv(path, index=False)
    runner = CliRunner()
    out = tmp_path / "iso.nc"
    small = ["--draws", "100", "--tune", "200", "--chains", "2", "--seed", "1"]
    args = ["fit", str(path), "--law", "isoflop", "--near-optimum", "2", "-o", str(out), *small]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "35 of 63 runs kept" in result.output
    assert bs.load(out).runs.n_runs == 35
    bad = runner.invoke(app, [*args[:4], "--near-optimum", "0", "-o", str(tmp_path / "x.nc")])
    assert bad.exit_code == 1 and "parabola needs three" in bad.output
