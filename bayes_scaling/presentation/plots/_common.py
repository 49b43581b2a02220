"""Shared pieces of the figures: labels, colours, interval bands, run scatter, compute grids.

The law's curve ``mu`` ("expected loss (law)") and a new run's observed loss ``y`` ("predicted run
loss") are drawn with different colours and labels in every figure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import equal_tailed

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord

MU_LABEL = "expected loss (law)"
Y_LABEL = "predicted run loss"
MU_COLOR = "#1f5fa8"
Y_COLOR = "#e08a1e"
DATA_COLOR = "#222222"
AXIS_LABELS = {
    "N": "parameters N",
    "D": "training tokens D",
    "C": "training compute C (FLOPs)",
    "U": "unique tokens U",
}
_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")


def new_figure(*, ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 4.2):
    """A figure (not registered with pyplot, so it never leaks) and its axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


#: Font size (points) of a figure's caption.
NOTE_SIZE = 7.5


def note(fig: Figure, text: str) -> None:
    """A small caption under the axes; also kept in ``fig.bayes_scaling_note`` for reports.

    The caption is broken into lines here, once, to fit the figure's width: matplotlib's own
    wrapping (``wrap=True``) measures the text word by word at every layout pass and draw, which
    was about a quarter of a report figure's drawing time.
    """
    fig.get_layout_engine().set(h_pad=0.08)
    width = 0.95 * fig.get_figwidth() * 72  # points, inside the layout's side pads
    fig.supxlabel(
        wrap_to_width(text, width=width, size=NOTE_SIZE), fontsize=NOTE_SIZE, color="#555555"
    )
    fig.bayes_scaling_note = text


def wrap_to_width(text: str, *, width: float, size: float) -> str:
    """``text`` broken at spaces into lines of at most about ``width`` points at font ``size``.

    Uses the mean character width of ``text`` in matplotlib's default font (one FreeType
    measurement); 0.55 em if that font cannot be measured.
    """
    import textwrap

    mean = 0.55 * size
    try:
        from matplotlib.font_manager import FontProperties, findfont, get_font

        font = get_font(findfont(FontProperties(size=size)))
        font.set_size(size, 72)
        font.set_text(text.replace("\n", " "))
        mean = max(font.get_width_height()[0] / 64 / max(len(text), 1), 0.2 * size)
    except Exception:  # noqa: BLE001 - a typical width instead of the measured one
        pass
    columns = max(int(width / mean), 20)
    return "\n".join(textwrap.fill(line, width=columns) for line in text.split("\n"))


def quantiles(draws: np.ndarray, *, ci: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower, median and upper of the central ``ci`` interval over the first two axes."""
    return equal_tailed(draws, ci=ci, axis=(0, 1))


def band(
    ax: Axes,
    x: np.ndarray,
    draws: np.ndarray,
    *,
    ci: float,
    color: str,
    label: str | None,
    alpha: float = 0.25,
    median: bool = True,
    linestyle: str = "-",
) -> None:
    """Shade the central ``ci`` interval of ``draws`` (chain, draw, point) and draw its median."""
    lo, med, hi = quantiles(draws, ci=ci)
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0, label=label)
    if median:
        ax.plot(x, med, color=color, lw=1.6, ls=linestyle)


def mu_y_bands(ax: Axes, x: np.ndarray, pred, *, ci: float, suffix: str = "") -> None:
    """Both bands of a prediction Dataset: ``y`` (wide, light) under ``mu`` (narrow, dark)."""
    pct = f"{ci:.0%}"
    band(
        ax,
        x,
        pred["y"].values,
        ci=ci,
        color=Y_COLOR,
        label=f"{Y_LABEL}, {pct}{suffix}",
        alpha=0.22,
        median=False,
    )
    band(
        ax,
        x,
        pred["mu"].values,
        ci=ci,
        color=MU_COLOR,
        label=f"{MU_LABEL}, {pct}{suffix}",
        alpha=0.35,
    )


def scatter_runs(ax: Axes, fit: FitRecord, *, x: str, y: np.ndarray | None = None) -> None:
    """The observed runs, coloured by group when the runs have a ``group`` column."""
    runs = fit.runs
    xs = runs.column(x)
    ys = runs.column("loss") if y is None else y
    if runs.has("group"):
        groups = runs.column("group")
        for i, g in enumerate(runs.groups):
            m = groups == g
            ax.scatter(
                xs[m],
                ys[m],
                s=12,
                color=_PALETTE[i % len(_PALETTE)],
                label=f"runs: {g}",
                zorder=3,
                edgecolor="white",
                linewidth=0.3,
            )
    else:
        ax.scatter(
            xs,
            ys,
            s=10,
            color=DATA_COLOR,
            label=f"observed runs ({runs.n_runs})",
            zorder=3,
            edgecolor="white",
            linewidth=0.3,
        )


def palette(i: int) -> str:
    """The i-th categorical colour."""
    return _PALETTE[i % len(_PALETTE)]


def log_grid(lo: float, hi: float, n: int) -> np.ndarray:
    """``n`` log-spaced values from ``lo`` to ``hi``."""
    return np.logspace(np.log10(lo), np.log10(hi), int(n))


def observed_range(fit: FitRecord, name: str) -> tuple[float, float]:
    """Smallest and largest observed value of an input (C derived when missing)."""
    if fit.runs.has(name):
        v = fit.runs.column(name)
    elif name == "C" and fit.runs.has("N") and fit.runs.has("D"):
        v = fit.runs.flops_per_token * fit.runs.column("N") * fit.runs.column("D")
    else:
        raise QuestionError(f"the runs have no {name!r} column to plot against")
    return float(v.min()), float(v.max())


def compute_span(
    fit: FitRecord, *, compute_min: float | None, compute_max: float | None
) -> tuple[float, float]:
    """Compute range of a plot: the observed range extended to 100x the largest budget."""
    lo, hi = observed_range(fit, "C")
    lo = float(compute_min) if compute_min is not None else lo
    hi = float(compute_max) if compute_max is not None else 100 * hi
    if not 0 < lo < hi:
        raise QuestionError(f"compute range must satisfy 0 < min < max, got {lo:g} .. {hi:g}")
    return lo, hi


def budgets(values: Any) -> list[float]:
    """Requested compute budgets as a sorted list of floats (empty for None)."""
    if values is None:
        return []
    arr = np.atleast_1d(np.asarray(values, dtype=float))
    if (~np.isfinite(arr) | (arr <= 0)).any():
        raise QuestionError(f"compute budgets must be finite and > 0, got {arr.tolist()}")
    return sorted(float(v) for v in arr)


def needs_inputs(fit: FitRecord, *names: str, plot: str) -> None:
    """Refuse a plot that needs inputs the law does not have."""
    missing = [n for n in names if n not in fit.law.inputs]
    if missing:
        raise QuestionError(
            f"{plot} needs a law in {', '.join(names)}; {fit.law.name} takes "
            f"{', '.join(fit.law.inputs)}"
        )


def legend(ax: Axes, **kwargs: Any) -> None:
    """A compact legend."""
    ax.legend(fontsize=7.5, frameon=False, **kwargs)


def loss_axis(ax: Axes) -> None:
    """Log-scaled loss axis with plain tick labels (2, 2.5, 3 rather than 2x10^0); its labelled
    ticks are dense enough to need no minor ticks."""
    from matplotlib.ticker import FormatStrFormatter, LogLocator, NullFormatter, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_major_locator(LogLocator(subs=(1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0)))
    ax.yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_formatter(NullFormatter())
