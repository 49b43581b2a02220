"""Log axes labelled in plain text (no math text), sparse minor ticks, pre-wrapped captions."""

from __future__ import annotations

import io

import numpy as np
import pytest
from matplotlib.figure import Figure

from bayes_scaling.presentation.plots import _common
from bayes_scaling.presentation.plots.ticks import (
    PlainLogFormatter,
    SparseMinorLocator,
    log_ticks,
    power_text,
)


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (1e19, "10\u00b9\u2079"),
        (1.0, "10\u2070"),
        (1e-3, "10\u207b\u00b3"),
        (2e-3, "2\u00d710\u207b\u00b3"),
        (2.5e6, "2.5\u00d710\u2076"),
        (-1e4, "\u221210\u2074"),
        (0.0, "0"),
    ],
)
def test_power_text(x, text):
    assert power_text(x) == text


def _labels(lo: float, hi: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot([lo, hi], [1, 2])
    ax.set(xscale="log", xlim=(lo, hi))
    log_ticks(ax)
    fig.savefig(io.BytesIO(), format="png", dpi=40)
    labels = [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True)]
    labels = [s for s in labels if s]
    return labels, ax.xaxis.get_majorticklocs(), ax.xaxis.get_minorticklocs()


def test_wide_log_axis_labels_decades_as_plain_text_with_sparse_minor_ticks():
    labels, major, minor = _labels(1e18, 1e24)
    assert labels and not any("$" in s for s in labels)
    assert "10\u00b2\u2070" in labels
    inside = minor[(minor >= 1e18) & (minor <= 1e24)]
    mantissa = inside / 10.0 ** np.floor(np.log10(inside) + 1e-9)
    assert inside.size >= 10 and set(np.round(mantissa, 6)) == {2.0, 5.0}


def test_narrow_log_axis_keeps_every_minor_tick_and_labels_some():
    labels, _, minor = _labels(2e9, 9e9)  # no decade inside: labels come from minor ticks
    inside = minor[(minor >= 2e9) & (minor <= 9e9)]
    assert inside.size == 8  # 2e9 .. 9e9
    assert labels and not any("$" in s for s in labels)
    assert any("\u00d710\u2079" in s for s in labels)


def test_log_ticks_leave_linear_axes_alone():
    fig = Figure()
    ax = fig.subplots()
    before = type(ax.xaxis.get_major_formatter())
    log_ticks(ax)
    assert type(ax.xaxis.get_major_formatter()) is before
    assert not isinstance(ax.yaxis.get_minor_locator(), SparseMinorLocator)
    assert not isinstance(ax.yaxis.get_major_formatter(), PlainLogFormatter)


def test_captions_are_wrapped_to_the_figure_width():
    text = " ".join(["word"] * 80)
    wrapped = _common.wrap_to_width(text, width=300.0, size=7.5)
    lines = wrapped.split("\n")
    assert len(lines) >= 4 and " ".join(lines) == text
    widest = max(len(line) for line in lines)
    assert 20 <= widest <= 300 / (0.2 * 7.5)
    # a wider figure takes longer lines
    assert (
        max(len(x) for x in _common.wrap_to_width(text, width=600.0, size=7.5).split("\n")) > widest
    )
    assert _common.wrap_to_width("a\nb", width=300.0, size=7.5) == "a\nb"


def test_caption_keeps_the_full_text_for_reports():
    fig = Figure(figsize=(4, 3), layout="constrained")
    fig.subplots()
    text = "A long caption " * 20
    _common.note(fig, text)
    assert fig.bayes_scaling_note == text
    assert "\n" in fig._supxlabel.get_text()
