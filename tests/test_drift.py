"""The drift of the extrapolation discrepancy: its grid posterior and where it enters ``y``."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.evaluation.discrepancy_grid import (
    DRIFT_GRID,
    TAU_GRID,
    drift_posterior,
    grid_posterior,
)

_, TAU_PRIOR = grid_posterior(np.zeros(TAU_GRID.size))


def _held(drift: float, *, n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    distance = rng.uniform(0.1, 1.5, size=n)
    draws = 0.01 * rng.standard_normal((500, n))
    observed = drift * distance + 0.01 * rng.standard_normal(n)
    return [(draws, observed, distance)]


def _median(prob: np.ndarray) -> float:
    return float(DRIFT_GRID[np.searchsorted(np.cumsum(prob), 0.5)])


@pytest.mark.parametrize("drift", [-0.03, 0.0, 0.03])
def test_drift_posterior_finds_the_side_and_size_of_the_miss(drift):
    prob = drift_posterior(_held(drift), TAU_GRID, TAU_PRIOR)
    assert prob.shape == DRIFT_GRID.shape and prob.sum() == pytest.approx(1.0)
    assert _median(prob) == pytest.approx(drift, abs=0.006)


def test_without_evidence_the_drift_keeps_its_prior():
    prob = drift_posterior([], TAU_GRID, TAU_PRIOR, prior_scale=0.02)
    sd = float(np.sqrt(np.sum(prob * DRIFT_GRID**2)))
    assert _median(prob) == pytest.approx(0.0, abs=1e-12)
    assert sd == pytest.approx(0.02, rel=0.02)


def test_cut_offs_count_as_one_split():
    one = drift_posterior(_held(0.02), TAU_GRID, TAU_PRIOR)
    twice = drift_posterior(_held(0.02) * 2, TAU_GRID, TAU_PRIOR)
    np.testing.assert_allclose(one, twice, rtol=1e-9, atol=1e-15)


def test_many_held_out_runs_give_no_numerical_warnings():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an underflowing row of the grid once gave log(0)
        prob = drift_posterior(_held(0.05, n=1000), TAU_GRID, TAU_PRIOR)
    assert np.all(np.isfinite(prob)) and _median(prob) == pytest.approx(0.05, abs=0.004)
