"""A fit that misses the gate on R-hat or effective draws alone is sampled once more, longer."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayes_scaling.inference.diagnostics import (
    STUCK_R_HAT,
    THRESHOLDS,
    Diagnostics,
    draws_for_gate,
)
from bayes_scaling.inference.settings import FitSettings, SettingsError
from bayes_scaling.inputs import datasets


def _diag(**changes):
    values = dict(max_r_hat=1.001, min_ess_bulk=800.0, min_ess_tail=800.0, divergences=0)
    values.update(changes)
    return Diagnostics(**values, min_bfmi=1.0, thresholds=dict(THRESHOLDS))


def test_no_longer_run_when_the_gate_passes_or_another_check_fails():
    assert draws_for_gate(_diag(), 1000, 4000) is None
    assert draws_for_gate(_diag(min_ess_bulk=200.0, divergences=3), 1000, 4000) is None
    assert (
        draws_for_gate(_diag(min_ess_tail=200.0, max_r_hat=STUCK_R_HAT + 0.1), 1000, 4000) is None
    )
    assert draws_for_gate(_diag(min_ess_bulk=200.0), 1000, None) is None
    assert draws_for_gate(_diag(min_ess_bulk=200.0), 1000, 1000) is None


def test_draws_grow_with_the_missing_share_within_the_cap():
    # half the needed effective draws: 1.5 / 0.5 = 3x the draws
    assert draws_for_gate(_diag(min_ess_bulk=200.0), 1000, 10_000) == 3000
    # the smaller of bulk and tail decides
    assert draws_for_gate(_diag(min_ess_bulk=300.0, min_ess_tail=100.0), 1000, 10_000) == 6000
    assert draws_for_gate(_diag(min_ess_bulk=20.0), 1000, 4000) == 4000  # capped
    # R-hat alone (effective draws fine): at least twice the draws
    assert draws_for_gate(_diag(max_r_hat=1.02), 1000, 4000) == 2000


@pytest.mark.parametrize("bad", [0, -5, 2.5, "many", True])
def test_max_draws_is_checked(bad):
    with pytest.raises(SettingsError, match="max_draws"):
        FitSettings(max_draws=bad)


def test_max_draws_round_trips_through_json():
    for value in (None, 2500):
        settings = FitSettings(max_draws=value)
        assert FitSettings.from_json(settings.to_json()).max_draws == value


def test_a_short_fit_is_sampled_again_with_more_draws(monkeypatch):
    from bayes_scaling.inference import diagnostics
    from bayes_scaling.inference.sampling import sample

    # 2 x 40 draws give a split R-hat that may exceed STUCK_R_HAT by chance, depending on the
    # machine's rounding; this test is about the second run, so no chain counts as stuck here
    monkeypatch.setattr(diagnostics, "STUCK_R_HAT", float("inf"))

    runs = datasets.chinchilla_like(seed=0)
    settings = FitSettings(seed=3, draws=40, tune=150, chains=2, max_draws=400, discrepancy=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sample(runs, law="chinchilla", settings=settings)
    draws = fit.info["draws_per_chain"]
    assert 80 <= draws <= 400  # 2 x 40 draws give at most 80 x 2 ESS, far below 400
    assert fit.posterior.sizes["draw"] == draws
    assert "max_draws=400" in fit.info["draws_reason"]
    assert f"x{draws} " in repr(fit)
    assert fit.settings.draws == 40  # the settings stay what was asked


def test_no_second_run_without_max_draws():
    from bayes_scaling.inference.sampling import sample

    runs = datasets.chinchilla_like(seed=0)
    settings = FitSettings(seed=3, draws=40, tune=150, chains=2, max_draws=None, discrepancy=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = sample(runs, law="chinchilla", settings=settings)
    assert fit.info["draws_per_chain"] == 40
    assert "draws_reason" not in fit.info
    assert np.isfinite(fit.diagnostics.min_ess_bulk)
