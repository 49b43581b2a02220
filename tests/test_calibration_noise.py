"""The chance range of average coverage in ``benchmarks/calibration_report.py``."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

LEVELS = ["0.5", "0.9"]


@pytest.fixture(scope="module")
def report():
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration_report.py"
    spec = importlib.util.spec_from_file_location("calibration_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _member(pits):
    return {"n_test": len(pits), "scores": {"m": {"pit": list(pits)}}}


def test_independent_runs_give_a_narrow_range_around_nominal(report):
    rng = np.random.default_rng(0)
    members = {"a": [_member(rng.uniform(size=400)) for _ in range(10)]}
    noise = report.sampling_noise(members, "m", LEVELS, n_shifts=500)
    for by in ("set", "run"):
        info = noise[by]
        assert info["effective_members"] == pytest.approx(10.0)
        for c in LEVELS:
            assert info["calibrated_5"][c] > float(c) - 0.03
            assert info["calibrated_95"][c] < float(c) + 0.03
            assert info["calibrated_within_005"][c] > 0.99
            assert abs(info["observed"][c] - float(c)) < 0.05


def test_runs_that_share_one_error_leave_coverage_to_chance(report):
    # each member's runs all sit at one PIT value: a calibrated method covers all or none
    members = {"a": [_member([0.02] * 50), _member([0.97] * 50)], "b": [_member([0.5] * 5)]}
    noise = report.sampling_noise(members, "m", LEVELS, n_shifts=2000)
    run = noise["run"]
    assert run["effective_members"] == pytest.approx(105**2 / (50**2 + 50**2 + 5**2))
    assert run["observed"]["0.9"] == pytest.approx(5 / 105)
    # a 50% average of 2-3 all-or-nothing members is rarely within +-0.05 of 0.5
    assert run["calibrated_within_005"]["0.5"] < 0.6
    assert run["calibrated_5"]["0.5"] < 0.1
    assert run["calibrated_95"]["0.5"] > 0.9
    # by data set, set b (one member) weighs as much as set a's two members together
    assert noise["set"]["effective_members"] == pytest.approx(1 / (0.25**2 * 2 + 0.5**2))
