"""Scoring rules of forecasts from draws (fast: no sampling)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.evaluation.scores import (
    LEVELS,
    calibration_curve,
    coverage,
    coverage_band,
    crps,
    interval_score,
    log_density,
    pit,
    relative_error,
    relative_width,
    score_draws,
)


@pytest.fixture(scope="module")
def calibrated():
    """Draws and observations from the same log-normal predictive at 400 points."""
    rng = np.random.default_rng(0)
    centre = np.exp(rng.uniform(0.5, 1.5, size=400))
    sd = 0.05
    draws = centre[None, :] * np.exp(sd * rng.standard_normal((2000, 400)))
    observed = centre * np.exp(sd * rng.standard_normal(400))
    return draws, observed, centre, sd


@pytest.mark.parametrize("ci", [0.5, 0.9])
def test_coverage_of_a_calibrated_forecast_is_nominal(calibrated, ci):
    draws, observed, _, _ = calibrated
    assert coverage(draws, observed, ci=ci) == pytest.approx(ci, abs=0.06)


def test_coverage_of_an_overconfident_forecast_is_low(calibrated):
    draws, observed, centre, _ = calibrated
    narrow = centre[None, :] * np.exp(0.1 * np.log(draws / centre[None, :]))
    assert coverage(narrow, observed, ci=0.9) < 0.4


def test_relative_width_matches_the_lognormal_quantiles(calibrated):
    draws, _, _, sd = calibrated
    expected = np.exp(sd * 1.6449) - np.exp(-sd * 1.6449)
    assert np.mean(relative_width(draws, ci=0.9)) == pytest.approx(expected, rel=0.05)


def test_relative_error_of_the_median():
    draws = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    np.testing.assert_allclose(relative_error(draws, np.array([1.0, 5.0])), [1.0, 0.2])


def test_log_density_approximates_the_normal_density(calibrated):
    draws, observed, centre, sd = calibrated
    exact = stats.norm.logpdf(np.log(observed), loc=np.log(centre), scale=sd)
    assert np.mean(log_density(draws, observed)) == pytest.approx(np.mean(exact), abs=0.05)


def test_crps_matches_the_closed_form_for_a_normal(calibrated):
    draws, observed, centre, sd = calibrated
    z = (np.log(observed) - np.log(centre)) / sd
    exact = sd * (z * (2 * stats.norm.cdf(z) - 1) + 2 * stats.norm.pdf(z) - 1 / np.sqrt(np.pi))
    np.testing.assert_allclose(crps(draws, observed), exact, atol=0.006)
    assert np.mean(crps(draws, observed)) == pytest.approx(np.mean(exact), rel=0.02)


def test_crps_of_a_point_forecast_is_the_absolute_error():
    draws = np.full((10, 2), 2.0)
    observed = np.array([2.0, 4.0])
    np.testing.assert_allclose(crps(draws, observed), [0.0, np.log(2.0)], atol=1e-12)


def test_degenerate_draws_give_finite_scores():
    draws = np.full((50, 3), 2.0)
    result = score_draws(draws, np.array([2.0, 2.1, 1.9]))
    assert np.isfinite(result["log_score"])
    assert result["coverage"][0.9] == pytest.approx(1 / 3)


def test_score_draws_reports_every_requested_interval(calibrated):
    draws, observed, _, _ = calibrated
    result = score_draws(draws, observed, ci=(0.9, 0.5))
    assert list(result["coverage"]) == [0.5, 0.9]
    assert result["width"] == result["widths"][0.9] > result["widths"][0.5]
    assert result["n"] == 400


def test_bad_interval_and_shapes_are_rejected(calibrated):
    draws, observed, _, _ = calibrated
    with pytest.raises(QuestionError):
        coverage(draws, observed, ci=1.5)
    with pytest.raises(ValueError, match="shape"):
        coverage(draws, observed[:10], ci=0.9)


def test_pit_of_a_calibrated_forecast_is_uniform(calibrated):
    from scipy import stats

    draws, observed, _, _ = calibrated
    values = pit(draws, observed)
    assert values.min() >= 0 and values.max() <= 1
    assert stats.kstest(values, "uniform").pvalue > 0.01


def test_pit_of_a_too_narrow_forecast_piles_at_the_ends(calibrated):
    draws, observed, centre, _ = calibrated
    narrow = centre[None, :] * np.exp(0.01 * np.random.default_rng(1).standard_normal(draws.shape))
    values = pit(narrow, observed)
    assert np.mean((values < 0.1) | (values > 0.9)) > 0.6  # calibrated: 0.2


def test_calibration_curve_is_nominal_at_every_level_for_a_calibrated_forecast(calibrated):
    draws, observed, _, _ = calibrated
    curve = calibration_curve(draws, observed)
    assert list(curve) == list(LEVELS)
    for level, cov in curve.items():
        assert cov == pytest.approx(level, abs=0.07)  # 400 points: binomial sd <= 0.025


def test_interval_score_known_values():
    draws = np.exp(np.linspace(-1, 1, 2001))[:, None] * np.ones((1, 3))
    observed = np.exp(np.array([0.0, 2.0, -3.0]))
    lo, hi = np.quantile(np.linspace(-1, 1, 2001), [0.05, 0.95])
    expected = [hi - lo, hi - lo + 20 * (2.0 - hi), hi - lo + 20 * (lo + 3.0)]
    np.testing.assert_allclose(interval_score(draws, observed, ci=0.9), expected, rtol=1e-9)


def test_score_draws_reports_calibration_at_every_level(calibrated):
    draws, observed, _, _ = calibrated
    result = score_draws(draws, observed)
    assert set(result["calibration"]) == set(LEVELS)
    assert len(result["pit"]) == 400 and set(result["interval_score"]) == {0.5, 0.9}


@pytest.mark.parametrize("n", [1, 3, 40, 250, 5000])
def test_coverage_band_equals_scipys_binomial_quantiles(n):
    levels = np.r_[np.linspace(0.0, 1.0, 101), 0.95 + 1e-16, 0.05 - 1e-17]
    lower, upper = coverage_band(n, levels, prob=0.9)
    np.testing.assert_array_equal(lower, stats.binom.ppf(0.05, n, levels) / n)
    np.testing.assert_array_equal(upper, stats.binom.ppf(0.95, n, levels) / n)


def test_coverage_band_narrows_with_more_runs_and_rejects_no_runs():
    few = np.subtract(*coverage_band(20, [0.5])[::-1])
    many = np.subtract(*coverage_band(2000, [0.5])[::-1])
    assert many < few / 5
    with pytest.raises(ValueError, match="at least 1"):
        coverage_band(0, [0.5])
