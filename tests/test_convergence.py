"""Convergence statistics against arviz-stats, the reference implementation of Vehtari et al.

Chains with known autocorrelation (AR(1) with phi from 0 to 0.99), ties, odd draw counts, one
chain and short chains: R-hat, bulk ESS, tail ESS and E-BFMI must equal arviz-stats' values to
1e-9 relative. The normal quantile must equal scipy's to 1e-14.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from bayes_scaling.inference import convergence as cv

arviz_stats = pytest.importorskip("arviz_stats")

CASES = [  # chains, draws, phi, rounding (ties)
    (4, 1000, 0.0, None),
    (2, 7, 0.5, None),
    (4, 999, 0.9, None),
    (1, 500, 0.95, None),
    (3, 50, 0.3, 1),
    (8, 2000, 0.99, None),
    (4, 400, 0.6, 0),
]


def _ar1(chains: int, draws: int, phi: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(size=(chains, draws))
    x = np.zeros((chains, draws))
    x[:, 0] = noise[:, 0]
    for t in range(1, draws):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def _reference(x: np.ndarray) -> dict[str, float]:
    ds = xr.Dataset({"a": (("chain", "draw"), x)})
    return {
        "rhat": float(arviz_stats.rhat(ds)["a"]) if x.shape[0] > 1 else np.nan,
        "ess_bulk": float(arviz_stats.ess(ds, method="bulk")["a"]),
        "ess_tail": float(arviz_stats.ess(ds, method="tail", prob=cv.TAIL_PROBS)["a"]),
    }


@pytest.mark.parametrize(("chains", "draws", "phi", "decimals"), CASES)
def test_statistics_equal_arviz_stats(chains, draws, phi, decimals):
    x = _ar1(chains, draws, phi, seed=chains * draws)
    if decimals is not None:
        x = np.round(x, decimals)  # many ties
    ref = _reference(x)
    ours = {"rhat": cv.rhat(x), "ess_bulk": cv.ess_bulk(x), "ess_tail": cv.ess_tail(x)}
    np.testing.assert_allclose(
        [ours[k] for k in ref], [ref[k] for k in ref], rtol=1e-9, equal_nan=True
    )


def test_the_statistics_tell_mixed_from_stuck_chains():
    good = _ar1(4, 1000, 0.2, seed=1)
    stuck = good + np.arange(4)[:, None]  # each chain in its own place
    assert cv.rhat(good) < 1.01 < cv.rhat(stuck)
    assert cv.ess_bulk(good) > 2000 > 200 > cv.ess_bulk(stuck)


def test_bfmi_equals_arviz_stats():
    energy = _ar1(4, 300, 0.7, seed=5)
    ref = arviz_stats.bfmi(xr.Dataset({"energy": (("chain", "draw"), energy)}))["energy"]
    np.testing.assert_allclose(cv.bfmi(energy), np.asarray(ref), rtol=1e-12)


def test_degenerate_draws_give_nan_or_the_draw_count():
    assert np.isnan(cv.rhat(np.ones((4, 100))))  # constant: no spread to compare
    assert np.isnan(cv.rhat(_ar1(1, 100, 0.0, seed=1)))  # one chain
    assert np.isnan(cv.ess_bulk(_ar1(4, 3, 0.0, seed=1)))  # too few draws
    with_nan = _ar1(4, 100, 0.0, seed=1)
    with_nan[0, 5] = np.nan
    assert np.isnan(cv.ess_tail(with_nan))
    assert cv.ess_bulk(np.ones((4, 100))) == 400.0  # as arviz-stats: constant draws are exact


def test_normal_quantile_equals_scipy():
    from scipy.special import ndtri

    p = np.r_[np.linspace(1e-12, 1 - 1e-12, 20001), 1e-300, 0.075, 0.925, 1e-20, 1 - 1e-16]
    np.testing.assert_allclose(cv.normal_quantile(p), ndtri(p), rtol=1e-14, atol=1e-15)


def test_per_variable_keeps_other_dims_and_does_not_mutate():
    x = np.stack([_ar1(4, 200, 0.5, seed=s) for s in range(3)], axis=-1)
    ds = xr.Dataset(
        {"b": (("chain", "draw", "group"), x), "c": (("group", "draw", "chain"), x.T.copy())}
    )
    before = ds.copy(deep=True)
    out = cv.per_variable(ds, cv.ess_bulk)
    assert out["b"].shape == (3,)
    np.testing.assert_allclose(out["b"], [cv.ess_bulk(x[:, :, k]) for k in range(3)])
    np.testing.assert_allclose(out["c"], out["b"])  # dims order does not matter
    xr.testing.assert_identical(ds, before)
