"""Leave-future-out backtests, the extrapolation discrepancy, and the ``backtest`` command."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_scaling.api import ScalingFit
from bayes_scaling.core.errors import DataError
from bayes_scaling.evaluation.backtest import backtest, split_runs
from bayes_scaling.evaluation.discrepancy_grid import tau_posterior
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs import datasets
from bayes_scaling.inputs.laws import get_law
from bayes_scaling.inputs.runs import load_runs
from bayes_scaling.presentation.cli import app
from bayes_scaling.questions.noise import DRIFT_VARIABLE, VARIABLE, extrapolation_distance
from tests.conftest import shipped_file

CHINCHILLA = get_law("chinchilla")


@pytest.fixture(scope="module")
def runs():
    return datasets.chinchilla_like(seed=0)


# ------------------------------------------------------------------------------ split (fast)
def test_default_split_holds_out_the_largest_compute_runs(runs):
    mask, split = split_runs(runs, law=CHINCHILLA)
    C = runs.column("C")
    assert C[mask].max() < C[~mask].min()
    assert 0.1 <= (~mask).mean() <= 0.3
    assert split["by"] == "C" and split["n_test"] == int((~mask).sum())


def test_split_keeps_tied_budgets_together(runs):
    mask, _ = split_runs(runs, law=CHINCHILLA, holdout_fraction=0.3)
    C = runs.column("C")
    for budget in np.unique(C):
        assert len(set(mask[C == budget])) == 1


def test_split_by_parameters(runs):
    mask, split = split_runs(runs, law=CHINCHILLA, by="N")
    N = runs.column("N")
    assert N[mask].max() < N[~mask].min() and split["by"] == "N"


def test_cutoff_compute_and_explicit_mask(runs):
    C = runs.column("C")
    cutoff = float(np.sort(np.unique(C))[-2])
    mask, split = split_runs(runs, law=CHINCHILLA, cutoff_compute=cutoff)
    np.testing.assert_array_equal(mask, C <= cutoff)
    given = np.arange(runs.n_runs) % 3 != 0
    mask, split = split_runs(runs, law=CHINCHILLA, train_mask=given)
    np.testing.assert_array_equal(mask, given)
    assert split["rule"] == "mask"


def test_cutoff_leaving_no_test_run_is_a_data_error(runs):
    with pytest.raises(DataError, match="no held-out run"):
        split_runs(runs, law=CHINCHILLA, cutoff_compute=1e30)


def test_cutoff_leaving_too_few_training_runs_is_a_data_error(runs):
    smallest = float(runs.column("C").min())
    with pytest.raises(DataError, match="too few to fit law 'chinchilla'.*free parameters"):
        split_runs(runs, law=CHINCHILLA, cutoff_compute=smallest)


def test_one_input_law_splits_on_its_input_when_the_runs_lack_compute():
    table = pd.DataFrame({"D": np.geomspace(1e6, 1e9, 20), "loss": np.linspace(3, 2, 20)})
    runs = load_runs(table)
    mask, split = split_runs(runs, law=get_law("power_law:D"))
    assert split["by"] == "D" and mask[:15].all() and not mask[-3:].any()


# ------------------------------------------------------------------------- discrepancy (fast)
def test_extrapolation_distance_is_zero_inside_and_log_excess_outside():
    maxima = {"N": 1e9, "C": 1e20}
    d = extrapolation_distance(
        {"N": np.array([1e8, 1e9, 1e9]), "C": np.array([1e19, 1e20 * np.e, 1e20])}, maxima
    )
    np.testing.assert_allclose(d, [0.0, 1.0, 0.0])
    d = extrapolation_distance({"N": np.array([1e10]), "C": np.array([1e21])}, maxima)
    np.testing.assert_allclose(d, [np.log(10)])


def test_tau_posterior_recovers_the_discrepancy_scale():
    rng = np.random.default_rng(3)
    distance = rng.uniform(0.2, 2.0, size=60)
    draws = 0.005 * rng.standard_normal((400, 60))
    observed = rng.normal(0, np.sqrt(0.005**2 + (0.02 * distance) ** 2))
    grid, prob = tau_posterior(draws, observed, distance)
    assert prob.sum() == pytest.approx(1.0)
    assert float(np.sum(grid * prob)) == pytest.approx(0.02, rel=0.25)
    # residuals explained by the predictive alone: tau concentrates near zero
    grid, prob = tau_posterior(draws, rng.normal(0, 0.005, 60), distance)
    assert float(np.sum(grid * prob)) < 0.004


def test_heavy_tailed_predictive_explains_outliers_without_tau():
    rng = np.random.default_rng(4)
    distance = np.full(40, 1.0)
    draws = 0.01 * rng.standard_t(2, size=(2000, 40))
    observed = 0.01 * rng.standard_t(2, size=40)
    _, prob_t = tau_posterior(draws, observed, distance)
    normal = 0.01 * rng.standard_normal((2000, 40))
    grid, prob_n = tau_posterior(normal, observed, distance)
    assert np.sum(grid * prob_t) < np.sum(grid * prob_n)


# ------------------------------------------------------------------------------ model tests
@pytest.fixture(scope="module")
def result(runs):
    settings = FitSettings(draws=150, tune=250, seed=1, discrepancy="lfo")
    return backtest(runs, law="chinchilla", settings=settings)


@pytest.mark.model
def test_backtest_reports_the_contract_keys(result, runs):
    d = result.to_dict()
    assert d["law"] == "chinchilla"
    assert d["n_train"] + d["n_test"] == runs.n_runs
    assert set(d["bayes"]) >= {"coverage", "width", "mare", "log_score", "crps"}
    assert set(d["bayes"]["coverage"]) == {"0.5", "0.9"}
    assert d["bayes"]["coverage"]["0.9"] >= d["bayes"]["coverage"]["0.5"]
    assert d["baseline"] is None
    json.dumps(d)


@pytest.mark.model
def test_well_specified_law_extrapolates_with_honest_intervals(result):
    s = result.scores["bayes"]
    assert s["coverage"][0.9] >= 0.6
    assert s["mare"] < 0.02
    table = result.table()
    assert len(table) == result.n_test
    assert (table["bayes_lower_0.9"] <= table["bayes_median"]).all()


@pytest.mark.model
def test_discrepancy_widens_y_beyond_the_range_and_never_touches_mu(result):
    fit = ScalingFit.of(result.fit)
    info = fit.info["discrepancy"]
    assert VARIABLE in fit.posterior and info["method"] == "lfo"
    plain = dataclasses.replace(fit, info={k: v for k, v in fit.info.items() if k != "discrepancy"})
    N = np.array([float(fit.runs.column("N")[0]), 1e11])
    D = np.array([float(fit.runs.column("D")[0]), 1e13])
    with_d, without = fit.predict(N=N, D=D, seed=5), plain.predict(N=N, D=D, seed=5)
    np.testing.assert_array_equal(with_d["mu"].values, without["mu"].values)
    # inside the training range: identical; far beyond it: at least as wide
    np.testing.assert_array_equal(with_d["y"].values[..., 0], without["y"].values[..., 0])
    spread = [float(np.log(ds["y"][..., 1]).std()) for ds in (with_d, without)]
    assert spread[0] >= spread[1]


def _with_discrepancy(fit, *, tau: float, drift: float):
    """``fit`` with its discrepancy's tau and drift set to constants."""
    import xarray as xr

    post = fit.posterior
    post = post.assign(
        {
            VARIABLE: xr.full_like(post[VARIABLE], tau),
            DRIFT_VARIABLE: xr.full_like(post[VARIABLE], drift),
        }
    )
    children = {name: fit.tree[name].to_dataset() for name in fit.tree.children}
    children["posterior"] = post
    return dataclasses.replace(fit, tree=xr.DataTree.from_dict(children))


@pytest.mark.model
def test_drift_moves_every_door_the_same_way(result):
    from bayes_scaling.questions.budget import prob_below_target

    fit = ScalingFit.of(result.fit)
    assert DRIFT_VARIABLE in fit.posterior
    maxima = fit.info["discrepancy"]["maxima"]
    N, D = 30 * maxima["N"], 30 * maxima["D"]
    d = float(extrapolation_distance({"N": N, "D": D, "C": 6 * N * D}, maxima))
    up, flat = (_with_discrepancy(fit, tau=1e-9, drift=b) for b in (0.2, 0.0))
    # predict: y is the law's curve times exp(noise + drift * d); mu is untouched
    shifted, plain = (f.predict(N=N, D=D, seed=4) for f in (up, flat))
    np.testing.assert_array_equal(shifted["mu"].values, plain["mu"].values)
    ratio = np.log(shifted["y"].values / plain["y"].values)
    np.testing.assert_allclose(ratio, 0.2 * d, rtol=1e-6)
    # the budget questions: a run that lands higher is less likely below the target
    C = [6 * N * D]
    target = float(np.median(plain["y"].values))
    p_up, p_flat = (
        float(prob_below_target(f, target=target, compute=C, predictive=True)["probability"][0])
        for f in (up, flat)
    )
    assert p_up < p_flat - 0.2


@pytest.mark.model
def test_fit_with_discrepancy_survives_save_and_load(result, tmp_path):
    from bayes_scaling import load

    fit = ScalingFit.of(result.fit)
    path = fit.save(tmp_path / "fit.nc")
    again = load(path)
    a = fit.predict(N=1e11, D=1e13, seed=3)["y"].values
    b = again.predict(N=1e11, D=1e13, seed=3)["y"].values
    np.testing.assert_allclose(a, b)


def test_revisiting_curve_uses_its_training_split():
    path = shipped_file("revisiting_scaling_laws", "benchmark.lang.csv")
    table = pd.read_csv(path).drop_duplicates()
    curve = table[(table["Domain"] == "NMT") & (table["Model"] == "6 Enc, 6 Dec")]
    runs = load_runs(curve.rename(columns={"Seen Examples": "D", "Loss": "loss"})[["D", "loss"]])
    given = curve["Training"].to_numpy() == 1
    mask, split = split_runs(runs, law=get_law("power_law:D"), train_mask=given)
    assert split["n_test"] == int((~given).sum()) >= 1
    D = runs.column("D")
    assert D[mask].max() < D[~mask].min()


# -------------------------------------------------------------------------------------- CLI
@pytest.fixture(scope="module")
def runs_csv(runs, tmp_path_factory):
    path = tmp_path_factory.mktemp("bt") / "runs.csv"
    runs.table[["N", "D", "loss"]].to_csv(path, index=False)
    return path


@pytest.mark.model
def test_cli_backtest_json_with_baseline(runs_csv):
    res = CliRunner().invoke(
        app,
        [
            "backtest", str(runs_csv), "--law", "chinchilla", "--json", "--baseline",
            "--n-boot", "10", "--draws", "150", "--tune", "300", "--discrepancy", "none",
            "--ci", "0.5", "--ci", "0.9",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert {"law", "n_train", "n_test", "bayes", "baseline"} <= set(payload)
    for method in ("bayes", "baseline"):
        assert set(payload[method]["coverage"]) == {"0.5", "0.9"}
        for key in ("width", "mare", "log_score", "crps"):
            assert isinstance(payload[method][key], float)


@pytest.mark.parametrize(("cutoff", "message"), [("1e30", "no held-out run"), ("1e10", "too few")])
def test_cli_backtest_bad_cutoff_exits_1(runs_csv, cutoff, message):
    res = CliRunner().invoke(
        app, ["backtest", str(runs_csv), "--law", "chinchilla", "--cutoff-compute", cutoff]
    )
    assert res.exit_code == 1
    assert message in " ".join(res.output.split())
    assert "Traceback" not in res.output


@pytest.mark.model
def test_failed_inner_fit_falls_back_to_the_prior_with_a_warning(result):
    from bayes_scaling.evaluation.discrepancy import add_discrepancy

    def refit(_runs):
        raise DataError("too few runs")

    with pytest.warns(UserWarning, match="could not be learned by leave-future-out"):
        again = add_discrepancy(result.fit, refit=refit)
    info = again.info["discrepancy"]
    assert info["method"] == "prior" and "too few runs" in info["reason"]
    assert float(again.posterior[VARIABLE].std()) > 0


@pytest.mark.model
def test_large_inner_training_sets_are_thinned_evenly_but_grouped_ones_are_not(result, monkeypatch):
    from bayes_scaling.evaluation import discrepancy

    seen = []

    def refit(train):
        seen.append(train)
        raise DataError("stop here")

    monkeypatch.setattr(discrepancy, "INNER_MAX_TRAIN", 30)
    fit = result.fit
    (reason,) = discrepancy.inner_splits(fit, refit=refit)
    assert "stop here" in reason
    col = discrepancy.sort_column(fit.law, fit.runs)
    values = fit.runs.column(col)
    below = values <= np.quantile(values, 0.8)
    assert seen[0].n_runs == 30 < below.sum()
    kept = np.sort(seen[0].column(col))
    assert kept[0] == values[below].min() and kept[-1] == values[below].max()
    ranks = np.linspace(0, below.sum() - 1, 30).round().astype(int)
    assert np.array_equal(kept, np.sort(values[below])[ranks])  # evenly spaced in sorted order
    table = fit.runs.table.assign(group=np.where(np.arange(fit.runs.n_runs) % 2, "a", "b"))
    grouped = dataclasses.replace(fit, runs=load_runs(table))
    seen.clear()
    list(discrepancy.inner_splits(grouped, refit=refit))
    assert seen[0].n_runs == below.sum()  # a table with groups is never thinned


@pytest.mark.model
def test_ties_at_the_largest_size_hold_out_that_size(result):
    """Runs at a few sizes, more than 20% at the largest: the inner fit is on the smaller ones."""
    from bayes_scaling.evaluation import discrepancy

    seen = []

    def refit(train):
        seen.append(train)
        raise DataError("stop here")

    fit = result.fit
    table = fit.runs.table.copy()
    top = table["C"].rank(method="first") > 0.7 * len(table)  # the largest 30% of the runs...
    biggest = table.loc[table["C"].idxmax()]
    table.loc[top, ["N", "D"]] = biggest[["N", "D"]].to_numpy()  # ...all at the largest size
    runs = load_runs(table.drop(columns=["C"]))
    list(discrepancy.inner_splits(dataclasses.replace(fit, runs=runs), refit=refit))
    C = runs.column("C")
    assert seen and seen[0].n_runs == int((C < C.max()).sum()) == int((~top).sum())
