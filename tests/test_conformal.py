"""Split-conformal intervals from leave-future-out residuals (``evaluation.conformal``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bayes_scaling.evaluation.conformal import (
    Conformal,
    calibrate_conformal,
    conformal_quantile,
    median_curve,
    score_conformal,
)
from bayes_scaling.evaluation.scores import LEVELS, score_draws


def test_quantile_is_the_finite_sample_rank_and_infinite_beyond_it():
    scores = np.arange(9, 0, -1.0)  # 9 scores, unsorted
    assert conformal_quantile(scores, ci=0.5) == 5.0  # ceil(10 * 0.5) = 5th smallest
    assert conformal_quantile(scores, ci=0.9) == 9.0  # ceil(10 * 0.9) = 9th
    assert conformal_quantile(scores, ci=0.95) == math.inf  # the 10th of 9 does not exist
    with pytest.raises(ValueError):
        conformal_quantile(scores, ci=1.5)


def _exchangeable(n_cal=400, n_test=4000, *, sd=0.02, grow=0.0, far=0.0, seed=0):
    """Calibration and test log residuals with sd ``sd * (1 + grow * d)``."""
    rng = np.random.default_rng(seed)
    d_cal = rng.uniform(0.0, 1.0, n_cal)
    d_test = rng.uniform(far, far + 1.0, n_test)
    cal = Conformal(
        residuals=sd * (1 + grow * d_cal) * rng.standard_normal(n_cal),
        distance=d_cal,
        maxima={"C": 1.0},
        d_ref=None if grow == 0 else 1.0 / grow,
    )
    observed = np.exp(sd * (1 + grow * d_test) * rng.standard_normal(n_test))
    return cal, np.ones(n_test), d_test, observed


def test_coverage_is_nominal_at_every_level_for_exchangeable_residuals():
    cal, centre, distance, observed = _exchangeable()
    scores = score_conformal(cal, centre, distance, observed)
    for level, cov in scores["calibration"].items():
        assert cov == pytest.approx(level, abs=0.04), level
    assert set(scores["calibration"]) == set(LEVELS)
    # the same keys as a forecast scored from draws, plus the calibration set's size
    draws = np.exp(0.02 * np.random.default_rng(1).standard_normal((500, observed.size)))
    assert set(score_draws(draws, observed)) <= set(scores)
    assert scores["n_calibration"] == 400 and scores["n"] == observed.size
    assert np.isfinite(scores["log_score"]) and scores["crps"] > 0


def test_scaling_by_distance_keeps_coverage_further_out():
    """Errors growing with distance: scaled scores stay calibrated beyond the calibration range,
    unscaled ones under-cover there."""
    cal, centre, distance, observed = _exchangeable(grow=2.0, far=1.0, seed=2)
    scaled = score_conformal(cal, centre, distance, observed, ci=(0.9,))
    assert scaled["coverage"][0.9] == pytest.approx(0.9, abs=0.03)
    flat = Conformal(cal.residuals, cal.distance, cal.maxima, d_ref=None)
    unscaled = score_conformal(flat, centre, distance, observed, ci=(0.9,))
    assert unscaled["coverage"][0.9] < 0.75
    assert unscaled["width"] < scaled["width"]


def test_too_few_scores_give_infinite_intervals_that_cover():
    cal = Conformal(np.array([0.01, -0.02, 0.03]), np.zeros(3), {"C": 1.0}, d_ref=None)
    lo, hi = cal.interval(np.ones(2), np.zeros(2), ci=0.9)  # needs ceil(4 * 0.9) = 4 > 3 scores
    assert np.all(lo == 0.0) and np.all(np.isinf(hi))
    scores = score_conformal(cal, np.ones(2), np.zeros(2), np.array([0.5, 2.0]), ci=(0.5, 0.9))
    assert scores["coverage"][0.9] == 1.0 and math.isinf(scores["width"])
    assert scores["widths"][0.5] == pytest.approx(2 * math.sinh(0.02), rel=1e-9)


def test_draws_are_the_rescaled_residuals_around_the_centre():
    cal = Conformal(np.array([0.1, -0.1]), np.array([0.0, 1.0]), {"N": 10.0}, d_ref=1.0)
    draws = cal.draws(np.array([2.0]), np.array([1.0]))  # g(1) = 2; g(0) = 1, g(1) = 2
    np.testing.assert_allclose(draws[:, 0], [2.0 * np.exp(0.2), 2.0 * np.exp(-0.1)])
    np.testing.assert_allclose(cal.distance_of({"N": np.array([5.0, 10.0 * np.e])}), [0, 1])


@pytest.mark.model
def test_calibrate_conformal_uses_the_leave_future_out_splits(small_fit):
    from bayes_scaling.evaluation.discrepancy import inner_refit

    refit = inner_refit(small_fit.settings, law=small_fit.law)
    cal = calibrate_conformal(small_fit, refit=refit, holdout_fractions=(0.2, 0.4))
    runs = small_fit.runs
    top = runs.column("C") > np.quantile(runs.column("C"), 0.6)
    assert cal.n >= int(top.sum())  # the 40% cut-off alone holds out these runs
    assert np.all(cal.distance >= 0) and np.all(np.isfinite(cal.residuals))
    assert cal.maxima["C"] == pytest.approx(runs.column("C").max())
    centre = median_curve(small_fit, {"N": runs.column("N"), "D": runs.column("D")})
    assert centre.shape == (runs.n_runs,)
    # a law fitted to simulated runs sits within a few percent of every one of them
    assert np.median(np.abs(np.log(runs.column("loss") / centre))) < 0.02
