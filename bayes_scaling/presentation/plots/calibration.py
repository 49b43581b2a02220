"""Calibration of forecasts of held-out runs: the calibration curve and the PIT histogram.

A stated 50% or 90% must mean 50% or 90% on runs the fit has not seen. The left panel shows the
coverage of the central predictive interval of ``y`` at every nominal level against the diagonal,
with the band a calibrated forecast of that many runs stays in 90% of the time (binomial); the
right panel the PIT values (uniform for a calibrated forecast; a U shape means intervals too
narrow, a hump too wide).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.evaluation.scores import coverage_band
from bayes_scaling.presentation.plots._common import DATA_COLOR, Y_COLOR, new_figure, note

__all__ = ["plot_calibration"]


def _scores(source: Any) -> dict[str, Any]:
    """``{"calibration": {level: coverage}, "pit": [...]}`` from a backtest, scores or a dict."""
    if hasattr(source, "scores"):  # a BacktestResult
        source = source.scores["bayes"]
    if not isinstance(source, Mapping) or "calibration" not in source or "pit" not in source:
        raise QuestionError(
            "plot_calibration needs a backtest result or scores with 'calibration' and 'pit' "
            "(bayes_scaling.evaluation.backtest.backtest, or score_draws)"
        )
    return {
        "calibration": {float(k): float(v) for k, v in source["calibration"].items()},
        "pit": np.asarray(source["pit"], dtype=float),
    }


def plot_calibration(source: Any, *, bins: int = 10, title: str | None = None):
    """Calibration curve and PIT histogram of forecasts of held-out runs.

    Parameters
    ----------
    source : BacktestResult or mapping
        A backtest (its Bayesian forecasts are shown) or a scores mapping with ``calibration``
        ({level: coverage}) and ``pit`` (one value per held-out run), as
        :func:`bayes_scaling.evaluation.scores.score_draws` returns.
    bins : int
        Bins of the PIT histogram.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    scores = _scores(source)
    levels = np.array(sorted(scores["calibration"]))
    observed = np.array([scores["calibration"][c] for c in levels])
    n = scores["pit"].size
    fig, axes = new_figure(ncols=2, width=8.4, height=3.6)
    ax = axes[0, 0]
    grid = np.linspace(0.0, 1.0, 101)
    if n:
        lo, hi = coverage_band(n, grid, prob=CI)
        ax.fill_between(grid, lo, hi, color="#dddddd", lw=0, label=f"{CI:.0%} band for {n} runs")
    ax.plot([0, 1], [0, 1], color="#666666", lw=0.8, ls="--", label="calibrated")
    ax.plot(levels, observed, "o-", color=Y_COLOR, label="predicted run loss y")
    ax.set(
        xlim=(0, 1),
        ylim=(0, 1.02),
        xlabel="nominal level of the central interval",
        ylabel="share of held-out runs inside",
        title="Calibration curve",
    )
    ax.legend(fontsize=7.5, loc="upper left", frameon=False)
    ax = axes[0, 1]
    ax.hist(scores["pit"], bins=bins, range=(0, 1), color=DATA_COLOR, alpha=0.6)
    if n:
        ax.axhline(n / bins, color="#666666", lw=0.8, ls="--", label="uniform")
        ax.legend(fontsize=7.5, frameon=False)
    ax.set(xlabel="PIT: predictive P(loss <= observed)", ylabel="runs", title="PIT histogram")
    if title:
        fig.suptitle(title, fontsize=10)
    worst = levels[np.argmax(np.abs(observed - levels))] if levels.size else float("nan")
    note(
        fig,
        f"{n} held-out runs. Left: coverage of the central interval of y at each level "
        f"(largest gap at {worst:.0%}). Right: PIT values, uniform when calibrated; a U shape "
        "means intervals too narrow, a hump too wide.",
    )
    return fig
