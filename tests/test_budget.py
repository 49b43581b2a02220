"""Budgets for a target loss, risk-aware and inference-aware allocation, costs, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.laws import Law
from bayes_scaling.questions import allocation as alloc
from bayes_scaling.questions import budget as bud
from bayes_scaling.questions import optimal as opt
from bayes_scaling.questions.noise import VARIABLE
from bayes_scaling.questions.risk import _tokens_for_loss
from tests.decision_fakes import EPOCH, fake_fit

BUDGETS = np.geomspace(1e19, 1e26, 40)


@pytest.fixture(scope="module")
def chin():
    return fake_fit()


@pytest.fixture(scope="module")
def point():
    return fake_fit(spread={}, chains=1, draws=4)


# ------------------------------------------------------------------------------- probabilities
@pytest.mark.parametrize("predictive", [False, True])
@pytest.mark.parametrize("likelihood", ["normal", "student_t"])
def test_probability_rises_with_compute(predictive, likelihood):
    fit = fake_fit(likelihood=likelihood)
    ds = bud.prob_below_target(fit, target=[1.95, 2.0, 2.1], compute=BUDGETS, predictive=predictive)
    p = ds["probability"]
    assert p.dims == ("compute", "target")
    assert (p.diff("compute") >= 0).all() and (p.diff("target") >= 0).all()
    assert float(p.isel(compute=0).min()) < 0.05 and float(p.isel(compute=-1).max()) > 0.95
    assert ds["loss"].dims == ("chain", "draw", "compute")


def test_probability_at_fixed_size_and_scalar_target(chin):
    ds = bud.prob_below_target(chin, target=2.0, compute=BUDGETS, N=3e10)
    assert ds["probability"].dims == ("compute",) and "N" in ds.coords
    assert (ds["probability"].diff("compute") >= 0).all()
    # a fixed size never beats each draw's own optimum
    frontier = bud.prob_below_target(chin, target=2.0, compute=BUDGETS)
    assert (frontier["probability"] >= ds["probability"] - 1e-12).all()


def test_predictive_probability_is_less_sure_than_expected(chin):
    C = [1e21, 1e23, 1e25]
    mu = bud.prob_below_target(chin, target=2.0, compute=C)["probability"].values
    y = bud.prob_below_target(chin, target=2.0, compute=C, predictive=True)["probability"].values
    # noise pulls probabilities towards 1/2
    assert np.all(np.abs(y - 0.5) <= np.abs(mu - 0.5) + 1e-12)


# ------------------------------------------------------------------------------- compute needed
def test_compute_for_target_closed_form_matches_root_finding(chin):
    ds = bud.compute_for_target(chin, target=[1.95, 2.0, 2.2])
    assert ds.attrs["method"] == "closed_form"
    assert ds["compute_needed"].dims == ("chain", "draw", "target")
    numeric = bud.compute_needed_draws(chin, np.array([1.95, 2.0, 2.2]), method="numeric")
    np.testing.assert_allclose(numeric, ds["compute_needed"].values, rtol=1e-6)
    # the frontier at that budget has exactly the target loss
    frontier = opt.optimal_allocation(chin, compute=float(ds["compute_needed"][0, 0, 1]))
    assert float(frontier["loss"][0, 0, 0]) == pytest.approx(2.0, rel=1e-9)


def test_unreachable_targets_are_inf_and_counted():
    fit = fake_fit(spread={**{"E": 0.05}, "A": 0, "B": 0, "alpha": 0, "beta": 0})
    ds = bud.compute_for_target(fit, target=1.84)
    E = fit.posterior["E"].values
    assert np.array_equal(np.isinf(ds["compute_needed"].values), E >= 1.84)
    assert float(ds["p_reachable"]) == pytest.approx((E < 1.84).mean())
    assert np.isnan(ds["N_opt"].values[E >= 1.84]).all()
    at = bud.compute_at_probability(fit, target=1.84, probability=[0.2, 0.99])
    assert np.isfinite(at["compute"].values[0]) and np.isinf(at["compute"].values[1])


def test_compute_at_probability(chin):
    ds = bud.compute_at_probability(chin, target=2.0, probability=[0.5, 0.9])
    c50, c90 = ds["compute"].values
    assert c90 > c50
    needed = ds["compute_needed"].values.ravel()
    assert (needed <= c50).mean() >= 0.5 and (needed < c50).mean() < 0.5
    # the probability along the frontier reaches p at that budget
    p = bud.prob_below_target(chin, target=2.0, compute=[c50 * 0.999, c90 * 1.001])
    assert p["probability"].values[0] < 0.5 and p["probability"].values[1] >= 0.9
    np.testing.assert_allclose(ds["D"] * ds["N"] * 6.0, ds["compute"], rtol=1e-12)
    curve = ds["curve_probability"]
    assert (curve.diff("curve_compute") >= 0).all()
    single = bud.compute_at_probability(chin, target=2.0, probability=0.9)
    assert single["compute"].ndim == 0 and float(single["compute"]) == pytest.approx(c90)


# ------------------------------------------------------------------------------- risk
def _spread_posterior():
    """Draws that disagree about the exponents, so the worst tail prefers another N."""
    return fake_fit(
        spread={"E": 0.03, "A": 60.0, "B": 400.0, "alpha": 0.03, "beta": 0.03}, draws=1000
    )


@pytest.mark.parametrize("risk", ["var", "cvar"])
def test_tail_risk_optimum_differs_from_mean_optimum(risk):
    fit = _spread_posterior()
    C = [1e21, 1e23, 1e25]
    ds = bud.risk_optimal_allocation(fit, compute=C, risk=risk, level=0.9)
    rel = np.abs(ds["N_opt"] / ds["N_mean_opt"] - 1)
    assert (rel > 0.01).all()
    # the chosen N is at least as good under its own risk measure
    assert (ds["risk_value"] <= ds["risk_value_mean_opt"] + 1e-12).all()
    assert ds["loss"].dims == ("chain", "draw", "compute") and ds.attrs["risk"] == risk


def test_mean_optimum_minimises_the_mean():
    fit = _spread_posterior()
    ds = bud.risk_optimal_allocation(fit, compute=[1e22], risk="mean")
    params = {k: v.reshape(-1, 1) for k, v in alloc.params_of(fit).items()}
    x = np.log(ds["N_opt"].values[0]) + np.linspace(-0.3, 0.3, 61)
    mean = alloc.loss_on_budget(fit.law, params, 1e22, x[None, :], k=6.0).mean(axis=0)
    assert abs(x[np.argmin(mean)] - np.log(ds["N_opt"].values[0])) <= 0.01


def test_single_point_posterior_all_risks_agree(point):
    C = [1e21, 1e24]
    closed = opt.optimal_allocation(point, compute=C)["N_opt"].values[0, 0]
    risks = ("mean", "var", "cvar")
    results = [bud.risk_optimal_allocation(point, compute=C, risk=r)["N_opt"] for r in risks]
    for ds in results:
        np.testing.assert_allclose(ds.values, results[0].values, rtol=1e-12)
        np.testing.assert_allclose(ds.values, closed, rtol=1e-4)


# ------------------------------------------------------------------------------- inference
def test_inference_aware_allocation(chin):
    tokens = [0.0, 1e11, 1e12, 1e13]
    ds = bud.inference_aware_allocation(chin, target=2.0, inference_tokens=tokens)
    assert ds["N"].dims == ("chain", "draw", "inference_tokens")
    # no inference: the compute-optimal allocation
    np.testing.assert_allclose(ds["N"][..., 0], ds["N_compute_optimal"][..., 0], rtol=1e-8)
    # more inference tokens: smaller models, more training tokens, larger savings
    assert (ds["N"].diff("inference_tokens") < 0).all()
    assert (ds["compute_saving"].diff("inference_tokens") >= -1e-12).all()
    assert (ds["compute_saving"] >= -1e-9).all()
    # the allocation reaches the target
    mu = chin.law.evaluate(alloc.params_of(chin), {"N": ds["N"].values, "D": ds["D"].values})
    np.testing.assert_allclose(mu, 2.0, rtol=1e-9)
    # and beats a brute-force scan of N on the iso-loss curve
    sub = {k: v[0, :3, 0][:, None] for k, v in alloc.params_of(chin).items()}
    grid = np.exp(np.linspace(np.log(5e9), np.log(2e11), 40001))[None, :]
    D = _tokens_for_loss(chin.law, sub, grid, np.full((3, 1), 2.0), k=6.0)
    total = 6 * grid * D + 2 * grid * 1e13
    np.testing.assert_allclose(grid[0, np.argmin(total, axis=1)], ds["N"][0, :3, 3], rtol=1e-3)


def test_inference_aware_generic_path_agrees():
    custom = Law.from_formula(
        "E + A * N**(-alpha) + B * D**(-beta)",
        priors={p: "HalfNormal(1)" for p in ("E", "A", "B", "alpha", "beta")},
    )
    fast = bud.inference_aware_allocation(fake_fit(draws=20), target=2.0, inference_tokens=1e12)
    slow = bud.inference_aware_allocation(
        fake_fit(custom, draws=20), target=2.0, inference_tokens=1e12
    )
    np.testing.assert_allclose(slow["N"], fast["N"], rtol=1e-3)
    assert slow["N"].dims == ("chain", "draw")


# ------------------------------------------------------------------------------- data limits
def test_data_constrained_allocation():
    fit = fake_fit(
        "data_constrained", center={**EPOCH, "R_D_star": 15.4, "R_N_star": 5.3}, draws=40
    )
    ds = bud.data_constrained_allocation(fit, compute=[1e21, 1e23], unique_tokens=2e10)
    assert (ds["extra_loss"] >= -1e-12).all()
    assert (ds["epochs"].isel(compute=1) > ds["epochs"].isel(compute=0)).all()
    assert float(ds["extra_loss"].isel(compute=1).median()) > 0
    with pytest.raises(QuestionError, match="unique tokens"):
        bud.data_constrained_allocation(fake_fit(), compute=1e21, unique_tokens=1e10)


# ------------------------------------------------------------------------------- costs
def test_cost_model():
    cost = bud.CostModel(device_flops=1e15, utilization=0.5, price_per_hour=3.0)
    assert cost.hours(1.8e18) == pytest.approx(1.0)
    assert cost.dollars(np.array([1.8e18, 3.6e18])).tolist() == pytest.approx([3.0, 6.0])
    for bad in (
        {"device_flops": 0},
        {"utilization": 1.5},
        {"price_per_hour": -1},
        {"utilization": "x"},
    ):
        with pytest.raises(QuestionError):
            bud.CostModel(
                **{"device_flops": 1e15, "utilization": 0.5, "price_per_hour": 1.0, **bad}
            )


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("probability", [0.0, 1.0, 1.5, -0.1, np.nan, "often"])
def test_bad_probabilities_are_refused(chin, probability):
    with pytest.raises(QuestionError, match="probability"):
        bud.compute_at_probability(chin, target=2.0, probability=probability)


@pytest.mark.parametrize("target", [0.0, -2.0, np.nan, np.inf])
def test_bad_targets_are_refused(chin, target):
    with pytest.raises(QuestionError, match="target"):
        bud.compute_for_target(chin, target=target)
    with pytest.raises(QuestionError, match="target"):
        bud.prob_below_target(chin, target=target, compute=1e22)


def test_bad_options_are_refused(chin):
    with pytest.raises(QuestionError, match="risk"):
        bud.risk_optimal_allocation(chin, compute=1e22, risk="worst")
    with pytest.raises(QuestionError, match="level"):
        bud.risk_optimal_allocation(chin, compute=1e22, risk="cvar", level=1.0)
    with pytest.raises(QuestionError, match="inference_tokens"):
        bud.inference_aware_allocation(chin, target=2.0, inference_tokens=-1.0)
    with pytest.raises(QuestionError, match="compute"):
        bud.prob_below_target(chin, target=2.0, compute=[1e22, np.inf])
    higher = fake_fit(Law.from_spec({**chin.law.to_spec(), "direction": "higher"}))
    with pytest.raises(QuestionError, match="higher is better"):
        bud.compute_for_target(higher, target=2.0)


@pytest.mark.parametrize("likelihood", ["normal", "student_t"])
def test_predictive_probability_widens_with_an_extrapolation_discrepancy(likelihood):
    plain = fake_fit(likelihood=likelihood)
    wide = fake_fit(likelihood=likelihood)
    wide.posterior[VARIABLE] = (("chain", "draw"), np.full((2, 250), 0.05))
    wide.info = {"discrepancy": {"maxima": {"N": 1e9, "D": 2e10, "C": 1.2e20}}}
    C = [1e19, 1e24]
    args = {"target": 1.95, "compute": C, "predictive": True}
    p0 = bud.prob_below_target(plain, **args)["probability"].values
    p1 = bud.prob_below_target(wide, **args)["probability"].values
    assert p1[0] == pytest.approx(p0[0], abs=1e-12)  # inside the training range: unchanged
    assert abs(p1[1] - 0.5) < abs(p0[1] - 0.5)  # far beyond it: less certain
