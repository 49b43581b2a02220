"""Tick marks and labels of log-scaled axes that are cheap to draw.

matplotlib's log axes label decades as math text (``$10^{19}$``), parsed and laid out as a
formula for every label, and put eight minor ticks in every decade, each a tick object with its
own labels. Over a report's figures that was about a third of their drawing time.
:func:`log_ticks` keeps matplotlib's choice of which ticks to label and labels them as plain
text with Unicode superscripts (``10¹⁹``, ``2×10⁻³``); over more than
:data:`SPARSE_MINOR_DECADES` decades, minor ticks only at 2 and 5 times each power of ten.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.ticker import LogFormatter, LogLocator

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "SPARSE_MINOR_DECADES",
    "PlainLogFormatter",
    "SparseMinorLocator",
    "log_ticks",
    "power_text",
]

#: Over more decades than this, minor ticks only at 2x and 5x each power of ten.
SPARSE_MINOR_DECADES = 1.5

_SUPERSCRIPT = str.maketrans(
    "-0123456789", "\u207b\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079"
)


def power_text(x: float) -> str:
    """``x`` as plain text in powers of ten: ``10¹⁹``, ``2×10⁻³``, ``2.5×10⁶``."""
    if not math.isfinite(x) or x == 0:
        return f"{x:g}"
    sign = "\u2212" if x < 0 else ""
    exponent = math.floor(math.log10(abs(x)) + 1e-9)
    mantissa = abs(x) / 10.0**exponent
    power = "10" + str(exponent).translate(_SUPERSCRIPT)
    if abs(mantissa - 1) < 1e-9:
        return sign + power
    return f"{sign}{mantissa:.3g}\u00d7{power}"


class PlainLogFormatter(LogFormatter):
    """matplotlib's choice of which log-axis ticks to label, labelled by :func:`power_text`."""

    def __call__(self, x, pos=None):
        label = super().__call__(x, pos)
        return power_text(float(x)) if label else ""


class SparseMinorLocator(LogLocator):
    """Minor ticks of a log axis: every integer multiple of a decade over a short range, only
    2x and 5x over more than :data:`SPARSE_MINOR_DECADES` decades."""

    def __init__(self) -> None:
        super().__init__(base=10.0, subs="auto")

    def tick_values(self, vmin, vmax):
        ticks = np.asarray(super().tick_values(vmin, vmax))
        lo, hi = sorted((float(vmin), float(vmax)))
        if lo > 0 and math.log10(hi / lo) > SPARSE_MINOR_DECADES and ticks.size:
            mantissa = ticks / 10.0 ** np.floor(np.log10(ticks) + 1e-9)
            ticks = ticks[np.isclose(mantissa, 2.0) | np.isclose(mantissa, 5.0)]
        return ticks


def log_ticks(ax: Axes) -> None:
    """Plain-text labels and sparse minor ticks on the log-scaled axes of ``ax``.

    Call after setting the scales, which resets ticks and labels; axes of another scale are
    left alone.
    """
    for axis in (ax.xaxis, ax.yaxis):
        if axis.get_scale() == "log":
            axis.set_major_formatter(PlainLogFormatter())
            axis.set_minor_locator(SparseMinorLocator())
            axis.set_minor_formatter(PlainLogFormatter(labelOnlyBase=False))
