"""Report work in a forked child: the same figures and LOO rows as one process, and every
fallback (no fork, one CPU, the switch, a failing fork, a failing or silent child)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from bayes_scaling.presentation.report import forked, pngs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _figures(n: int = 5):
    from matplotlib.figure import Figure

    out = []
    for i in range(n):
        fig = Figure(figsize=(3, 2))
        ax = fig.add_subplot()
        x = np.linspace(1, 10, 50)
        ax.plot(x, x ** (i / 3), label=f"figure {i}")
        ax.set(xscale="log", title=f"figure {i}")
        ax.legend()
        out.append(fig)
    return out


@pytest.fixture
def serial():
    figures = _figures()
    return figures, [pngs.png_bytes(fig, dpi=60) for fig in figures]


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(forked, "available_cores", lambda: 2)
    monkeypatch.delenv(forked.ENV_SWITCH, raising=False)


def test_two_processes_give_the_bytes_of_one(serial, two_cpus):
    figures, expected = serial
    assert pngs.figure_pngs(figures, dpi=60) == expected
    assert len(set(expected)) == len(expected)  # the figures differ, so the order is checked


def test_no_fork_when_switched_off_or_on_one_cpu(serial, monkeypatch):
    figures, expected = serial

    def no_fork():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    assert pngs.figure_pngs(figures, dpi=60) == expected
    monkeypatch.delenv(forked.ENV_SWITCH)
    monkeypatch.setattr(forked, "available_cores", lambda: 1)
    assert pngs.figure_pngs(figures, dpi=60) == expected


def test_a_failed_fork_means_drawing_here(serial, two_cpus, monkeypatch):
    figures, expected = serial

    def broken_fork():
        raise OSError("no more processes")

    monkeypatch.setattr(os, "fork", broken_fork)
    assert pngs.figure_pngs(figures, dpi=60) == expected


def _in_the_child(monkeypatch, act) -> None:
    """Drawing a figure calls ``act()`` first in a forked child (not in this process)."""
    parent, draw = os.getpid(), pngs.png_bytes

    def patched(fig, *, dpi):
        if os.getpid() != parent:
            act()
        return draw(fig, dpi=dpi)

    monkeypatch.setattr(pngs, "png_bytes", patched)


def _fail() -> None:
    raise RuntimeError("child fails")


def test_a_failing_child_means_drawing_its_figures_here(serial, two_cpus, monkeypatch):
    figures, expected = serial
    _in_the_child(monkeypatch, _fail)
    assert pngs.figure_pngs(figures, dpi=60) == expected


def test_a_silent_child_is_killed_and_its_figures_drawn_here(serial, two_cpus, monkeypatch):
    figures, expected = serial
    _in_the_child(monkeypatch, lambda: time.sleep(60))
    monkeypatch.setattr(forked, "CHILD_TIMEOUT", 0.5)
    t0 = time.perf_counter()
    assert pngs.figure_pngs(figures, dpi=60) == expected
    assert time.perf_counter() - t0 < 30


def test_one_figure_is_drawn_here(two_cpus, monkeypatch):
    (fig,) = _figures(1)

    def no_fork():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", no_fork)
    assert pngs.figure_pngs([fig], dpi=60) == [pngs.png_bytes(fig, dpi=60)]


def test_a_child_result_is_bytes_and_a_cancelled_child_is_reaped(two_cpus):
    assert forked.start(lambda: b"x" * 300_000).result() == b"x" * 300_000  # > a pipe buffer
    child = forked.start(lambda: time.sleep(60) or b"")
    pid = child._pid
    child.cancel()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already collected
    assert child.result() is None


@pytest.mark.model
def test_the_report_loo_rows_from_a_child_equal_those_computed_here(small_fit, two_cpus):
    import json

    from bayes_scaling.presentation.report.tables import fit_quality, loo_rows

    here = loo_rows(small_fit)
    child = forked.start(lambda: json.dumps(loo_rows(small_fit)).encode())
    assert [tuple(row) for row in json.loads(child.result())] == here
    assert here[0][0] == "elpd_loo"
    assert fit_quality(small_fit, loo=here).equals(fit_quality(small_fit))
