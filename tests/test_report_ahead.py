"""Figures drawn ahead in forked children while a report is built: the bytes of drawing them here,
and every fallback (changed figures, another dpi or list, a failing child, no fork)."""

from __future__ import annotations

import os
import re
import time

import pytest

from bayes_scaling.presentation.report import ahead, forked, pngs
from tests.test_report_pngs import _fail, _figures, _in_the_child

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(forked, "available_cores", lambda: 2)
    monkeypatch.delenv(forked.ENV_SWITCH, raising=False)


def _drawn_ahead(figures, *, dpi=60, after=None, pause=0.0):
    drawing = ahead.DrawAhead(dpi=dpi, after=after)
    for fig in figures:
        drawing.add(fig)
        time.sleep(pause)  # as building the next figure takes time
    return drawing


def test_drawn_ahead_gives_the_bytes_of_drawing_here(two_cpus):
    figures = _figures(6)
    expected = [pngs.png_bytes(fig, dpi=60) for fig in _figures(6)]
    drawing = _drawn_ahead(figures, pause=0.2)
    assert drawing._handed > 0  # children were at work before pngs()
    assert drawing.pngs(figures, dpi=60) == expected
    assert drawing._delivered  # and some of the bytes are theirs
    assert not drawing._child.running


def test_a_figure_changed_after_it_was_added_is_drawn_again(two_cpus):
    figures = _figures(4)
    drawing = _drawn_ahead(figures, pause=0.2)
    time.sleep(0.5)
    figures[0].axes[0].set_title("changed after it was built")
    expected = [pngs.png_bytes(fig, dpi=60) for fig in figures]
    assert drawing.pngs(figures, dpi=60) == expected


@pytest.mark.parametrize("change", ["dpi", "figures", "twice"])
def test_another_dpi_or_list_or_a_second_call_draws_here(two_cpus, change):
    figures = _figures(4)
    drawing = _drawn_ahead(figures)
    dpi = 50 if change == "dpi" else 60
    shown = figures[::-1] if change == "figures" else figures
    if change == "twice":
        drawing.pngs(shown, dpi=dpi)
    assert drawing.pngs(shown, dpi=dpi) == [pngs.png_bytes(f, dpi=dpi) for f in shown]


def test_a_failing_child_means_drawing_here(two_cpus, monkeypatch):
    figures = _figures(4)
    expected = [pngs.png_bytes(fig, dpi=60) for fig in _figures(4)]
    _in_the_child(monkeypatch, _fail)
    drawing = _drawn_ahead(figures, pause=0.1)
    assert drawing.pngs(figures, dpi=60) == expected
    assert not drawing._delivered


def test_nothing_is_handed_out_while_the_earlier_child_works(two_cpus):
    figures = _figures(3)
    busy = forked.start(lambda: time.sleep(60) or b"")
    try:
        drawing = _drawn_ahead(figures, after=busy)
        assert drawing._handed == 0 and not drawing._child.running
        expected = [pngs.png_bytes(fig, dpi=60) for fig in _figures(3)]
        assert drawing.pngs(figures, dpi=60) == expected
    finally:
        busy.cancel()
    assert busy.ready()  # a child already collected counts as done


def test_no_fork_when_switched_off(monkeypatch):
    def no_fork():
        raise AssertionError("forked")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setenv(forked.ENV_SWITCH, "0")
    figures = _figures(3)
    drawing = _drawn_ahead(figures)
    assert drawing.pngs(figures, dpi=60) == [pngs.png_bytes(f, dpi=60) for f in figures]


def test_a_streamed_child_is_read_as_it_sends(two_cpus):
    child = forked.start_stream(lambda send: [send(b"a" * 10), time.sleep(0.3), send(b"b")])
    first = child.read_ready(wait=10.0)
    assert first.startswith(b"a")
    rest = b""
    while child.running:
        rest += child.read_ready(wait=10.0)
    assert first + rest == b"a" * 10 + b"b"


@pytest.mark.model
def test_the_report_drawn_ahead_shows_the_same_figures(small_fit, two_cpus):
    from bayes_scaling.presentation.report import build_report

    def images(html: str) -> list[str]:
        return re.findall(r"data:image/png;base64,[^\"']+", html)

    plain = images(build_report(small_fit).to_html(dpi=40))
    report = build_report(small_fit, draw_ahead=40)
    assert report.draw_ahead is not None
    assert images(report.to_html(dpi=40)) == plain
    assert len(plain) >= len(report.figures)  # every figure (and any other image of the page)
