"""The machine helpers of the base layer: cores this process may use, on/off switches."""

from __future__ import annotations

import pytest

from bayes_scaling.core import machine


@pytest.mark.parametrize("value", ["0", "false", "No", " OFF "])
def test_a_switch_set_off_is_off(monkeypatch, value):
    monkeypatch.setenv("BAYES_SCALING_TEST_SWITCH", value)
    assert machine.switched_on("BAYES_SCALING_TEST_SWITCH") is False


@pytest.mark.parametrize("value", [None, "1", "yes", "on", ""])
def test_an_unset_or_other_switch_is_on(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("BAYES_SCALING_TEST_SWITCH", raising=False)
    else:
        monkeypatch.setenv("BAYES_SCALING_TEST_SWITCH", value)
    assert machine.switched_on("BAYES_SCALING_TEST_SWITCH") is True


def test_available_cores_follows_the_affinity_mask_or_the_count(monkeypatch):
    import os

    assert machine.available_cores() >= 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    assert machine.available_cores() == 3

    def unavailable(pid):
        raise OSError("no mask")

    monkeypatch.setattr(os, "sched_getaffinity", unavailable, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert machine.available_cores() == 1
