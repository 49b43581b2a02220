"""Compute-optimal allocation: closed form vs numeric, exponents, what-ifs, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.laws import Law
from bayes_scaling.questions import allocation as alloc
from bayes_scaling.questions import optimal as opt
from bayes_scaling.questions.minimize import decreasing_root, minimize_bracketed, minimize_local
from tests.decision_fakes import EPOCH, fake_fit

BUDGETS = np.geomspace(1e18, 1e27, 25)


@pytest.fixture(scope="module")
def chin():
    return fake_fit()


# ------------------------------------------------------------------------------- search helpers
def test_minimize_bracketed_finds_each_minimum():
    centres = np.linspace(-4, 4, 9)[:, None] * np.ones((1, 3))
    f = lambda x: np.exp(x - centres) - (x - centres)  # noqa: E731  minimum at x = centre
    x, fx = minimize_bracketed(f, np.full_like(centres, -10), np.full_like(centres, 10))
    np.testing.assert_allclose(x, centres, atol=1e-6)
    np.testing.assert_allclose(fx, 1.0, atol=1e-10)


def test_minimize_bracketed_reports_edge_minimum():
    x, _ = minimize_bracketed(lambda x: x, np.array([0.0]), np.array([1.0]))
    assert x[0] == 0.0


def test_minimize_local_walks_downhill():
    x, _ = minimize_local(lambda x: (x - 2.0) ** 2, np.array([0.0, 3.0]), step=0.25, polish=3)
    np.testing.assert_allclose(x, 2.0, atol=1e-8)


def test_decreasing_root():
    targets = np.array([0.5, 1.0, 2.0, 10.0])
    root = decreasing_root(
        lambda x: 5.0 * np.exp(-x) - targets.reshape(4, *([1] * (x.ndim - 1))),
        np.linspace(0.0, 3.0, 13),
        (4,),
    )
    np.testing.assert_allclose(root[:3], np.log(5.0 / targets[:3]), rtol=1e-9)
    assert root[3] == -np.inf  # already below the target at the grid's start


# ------------------------------------------------------------------------------- optimum
def test_closed_form_numeric_and_toml_agree_on_every_draw(chin):
    closed = opt.optimal_allocation(chin, compute=BUDGETS, method="closed_form")
    numeric = opt.optimal_allocation(chin, compute=BUDGETS, method="numeric")
    assert closed.attrs["method"] == "closed_form" and numeric.attrs["method"] == "numeric"
    assert closed["N_opt"].dims == ("chain", "draw", "compute")
    rel = np.abs(numeric["N_opt"] / closed["N_opt"] - 1)
    assert float(rel.max()) < 1e-3
    assert float(np.abs(numeric["D_opt"] / closed["D_opt"] - 1).max()) < 1e-3
    # the [optimum] formulas of models/chinchilla.toml give the same numbers
    params = alloc.params_of(chin)
    N = alloc.closed_form_optimum(chin.law, params, BUDGETS[None, None, :], k=6.0)
    D = alloc.closed_form_tokens(chin.law, params, BUDGETS[None, None, :], N, k=6.0)
    np.testing.assert_allclose(N, closed["N_opt"].values, rtol=1e-10)
    np.testing.assert_allclose(D, closed["D_opt"].values, rtol=1e-10)
    # and the loss at the optimum is the law's curve there
    mu = chin.law.evaluate(params, {"N": N, "D": D})
    np.testing.assert_allclose(closed["loss"].values, mu, rtol=1e-12)


def test_numeric_through_the_generic_formula_path(chin):
    """A law the fast paths do not recognise: formula evaluation + golden/parabolic search."""
    custom = Law.from_formula(
        "E + A * N**(-alpha) + B * D**(-beta)",
        priors={p: "HalfNormal(1)" for p in ("E", "A", "B", "alpha", "beta")},
    )
    fit = fake_fit(custom)
    assert not alloc.is_chinchilla(custom)
    got = opt.optimal_allocation(fit, compute=BUDGETS)
    assert got.attrs["method"] == "numeric"
    want = opt.optimal_allocation(fake_fit(), compute=BUDGETS)
    assert float(np.abs(got["N_opt"] / want["N_opt"] - 1).max()) < 1e-3


def test_published_point_estimate_gives_about_20_tokens_per_param():
    """Epoch AI's point estimates imply ~18.4 tokens per parameter at Chinchilla's budget."""
    point = fake_fit(spread={}, chains=1, draws=1)
    ds = opt.optimal_allocation(point, compute=5.76e23)
    assert ds["tokens_per_param"].values.item() == pytest.approx(18.4, rel=0.02)


def test_kaplan_numeric_matches_its_analytic_optimum():
    truth = {"alpha_N": 0.076, "alpha_D": 0.095, "N_c": 8.8e13, "D_c": 5.4e13}
    fit = fake_fit(
        "kaplan",
        center=truth,
        spread={"alpha_N": 0.003, "alpha_D": 0.003, "N_c": 1e12, "D_c": 1e12},
    )
    ds = opt.optimal_allocation(fit, compute=BUDGETS)
    post = fit.posterior
    p = (post["alpha_N"] / post["alpha_D"]).values[..., None]
    Nc, Dc = post["N_c"].values[..., None], post["D_c"].values[..., None]
    # argmin of (N_c/N)^p + D_c k N / C
    want = (p * Nc**p * BUDGETS / (Dc * 6.0)) ** (1.0 / (p + 1.0))
    np.testing.assert_allclose(ds["N_opt"].values, want, rtol=1e-4)
    exps = opt.allocation_exponents(fit)
    a_want = (post["alpha_D"] / (post["alpha_N"] + post["alpha_D"])).values
    np.testing.assert_allclose(exps["a"].values, a_want, rtol=1e-4)


def test_data_constrained_numeric_reduces_to_chinchilla_with_unlimited_data():
    center = {**EPOCH, "R_D_star": 15.4, "R_N_star": 5.3}
    fit = fake_fit("data_constrained", center=center, draws=50)
    free = opt.optimal_allocation(fit, compute=BUDGETS[::4])
    assert free.attrs["method"] == "numeric"
    chin = opt.optimal_allocation(fake_fit(draws=50), compute=BUDGETS[::4])
    assert float(np.abs(free["N_opt"] / chin["N_opt"] - 1).max()) < 1e-3
    limited = opt.optimal_allocation(fit, compute=BUDGETS[::4], unique_tokens=1e10)
    assert (limited["loss"] >= free["loss"] - 1e-12).all()
    assert "unique_tokens" in limited.coords


def test_data_constrained_limited_data_matches_a_dense_scan():
    center = {**EPOCH, "R_D_star": 15.4, "R_N_star": 5.3}
    fit = fake_fit("data_constrained", center=center, chains=1, draws=5)
    C, U = 1e23, 3e10
    ds = opt.optimal_allocation(fit, compute=C, unique_tokens=U)
    assert alloc.has_kinks(fit.law) and ds.attrs["method"] == "numeric"
    params = {k: v[0, :, :] for k, v in alloc.params_of(fit).items()}  # (draw, 1)
    x = np.linspace(np.log(1e9), np.log(1e12), 200001)[None, :]
    loss = alloc.loss_on_budget(fit.law, params, C, x, k=6.0, U=U)
    best = np.exp(x[0, np.argmin(loss, axis=1)])
    np.testing.assert_allclose(ds["N_opt"].values[0, :, 0], best, rtol=1e-3)


def test_allocation_exponents_chinchilla(chin):
    exps = opt.allocation_exponents(chin)
    post = chin.posterior
    s = post["alpha"] + post["beta"]
    np.testing.assert_allclose(exps["a"], post["beta"] / s, rtol=1e-8)
    np.testing.assert_allclose(exps["a"] + exps["b"], 1.0, rtol=1e-10)
    table = exps.scaling.summary(ci=0.9)
    assert set(table["variable"]) == {"a", "b"} and (table["ci"] == 0.9).all()
    local = opt.allocation_exponents(chin, compute=[1e22, 1e24])
    assert local["a"].dims == ("chain", "draw", "compute")


def test_frontier_is_a_log_grid_and_monotone(chin):
    ds = opt.frontier(chin, compute_min=1e20, compute_max=1e25, n=11)
    np.testing.assert_allclose(np.diff(np.log10(ds["compute"].values)), 0.5)
    assert (ds["N_opt"].diff("compute") > 0).all() and (ds["loss"].diff("compute") < 0).all()
    assert ds.attrs["question"] == "frontier"


def test_misallocation(chin):
    C = np.array([1e22, 1e24])
    med = opt.optimal_allocation(chin, compute=C)["N_opt"].median(("chain", "draw")).values
    ds = opt.misallocation(chin, compute=C, N=med * 4)
    assert (ds["extra_loss"] > 0).all()
    assert (ds["extra_compute"] > 0).all()
    assert ((ds["compute_efficiency"] > 0) & (ds["compute_efficiency"] < 1)).all()
    # the compute-equivalent budget, allocated optimally, reaches exactly the actual loss
    params = alloc.params_of(chin)
    _, frontier_loss = alloc.chinchilla_frontier(
        params, np.log(ds["compute_equivalent"].values / 6)
    )
    actual = chin.law.evaluate(params, {"N": ds["N"].values, "D": ds["D"].values})
    np.testing.assert_allclose(frontier_loss, actual, rtol=1e-9)
    # training the optimum wastes nothing (single-point posterior: one optimum)
    point = fake_fit(spread={}, chains=1, draws=1)
    best = opt.optimal_allocation(point, compute=C)["N_opt"].values.ravel()
    at = opt.misallocation(point, compute=C, N=best)
    np.testing.assert_allclose(at["extra_compute"].values, 0.0, atol=1e-8)
    np.testing.assert_allclose(at["extra_loss"].values, 0.0, atol=1e-12)


@pytest.mark.parametrize(
    "compute",
    [-1.0, 0.0, np.nan, np.inf, [1e20, -3.0], "lots", [], [[1e20]]],
)
def test_bad_budgets_are_refused(chin, compute):
    with pytest.raises(QuestionError, match="compute"):
        opt.optimal_allocation(chin, compute=compute)


def test_laws_without_n_and_d_or_higher_is_better_are_refused(chin):
    one_input = fake_fit("power_law:C", center={"E": 1.8, "A": 100.0, "alpha": 0.1}, spread={})
    with pytest.raises(QuestionError, match="both N and D"):
        opt.optimal_allocation(one_input, compute=1e21)
    higher = fake_fit(Law.from_spec({**chin.law.to_spec(), "direction": "higher"}))
    with pytest.raises(QuestionError, match="higher is better"):
        opt.optimal_allocation(higher, compute=1e21)


def test_bad_options_are_refused(chin):
    with pytest.raises(QuestionError, match="method"):
        opt.optimal_allocation(chin, compute=1e21, method="magic")
    kaplan = fake_fit("kaplan", center={"alpha_N": 0.08, "alpha_D": 0.1, "N_c": 1e13, "D_c": 1e13})
    with pytest.raises(QuestionError, match="no closed-form"):
        opt.optimal_allocation(kaplan, compute=1e21, method="closed_form")
    with pytest.raises(QuestionError, match="unique_tokens"):
        opt.optimal_allocation(chin, compute=1e21, unique_tokens=1e9)
    with pytest.raises(QuestionError, match="compute_max"):
        opt.frontier(chin, compute_min=1e22, compute_max=1e21)
    with pytest.raises(QuestionError, match="exactly one"):
        opt.fixed_size_loss(chin, compute=1e21, N=1e9, D=1e10)


# ------------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def epoch_fit(epoch_csv):
    import warnings

    import bayes_scaling as bs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(
            bs.load_runs(epoch_csv), law="chinchilla", draws=500, tune=500, chains=2, seed=2
        )


@pytest.mark.model
def test_epoch_chinchilla_tokens_per_param_interval_contains_18_4(epoch_fit):
    """Epoch AI's point estimates imply 18.4 tokens per parameter at C = 5.76e23."""
    ds = opt.optimal_allocation(epoch_fit, compute=5.76e23)
    row = ds.scaling.summary(ci=0.9).set_index("variable").loc["tokens_per_param"]
    assert row["lower"] <= 18.4 <= row["upper"]
    assert 8 < row["lower"] and row["upper"] < 40  # an informative interval, not a vague one
    exps = opt.allocation_exponents(epoch_fit).scaling.summary(ci=0.9).set_index("variable")
    assert 0.4 < exps.loc["a", "median"] < 0.6  # Chinchilla's 0.46-0.50 neighbourhood
