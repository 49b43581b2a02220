"""Budget views: P(loss <= target) against compute, and loss quantiles against compute."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.presentation.formatting import flops
from bayes_scaling.presentation.plots._common import (
    AXIS_LABELS,
    MU_COLOR,
    MU_LABEL,
    Y_COLOR,
    Y_LABEL,
    budgets,
    compute_span,
    legend,
    log_grid,
    loss_axis,
    new_figure,
    note,
    observed_range,
)
from bayes_scaling.presentation.plots.curves import frontier_allocation
from bayes_scaling.presentation.plots.ticks import log_ticks
from bayes_scaling.questions.predict import predict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord


def plot_probability(
    fit: FitRecord,
    *,
    target: float,
    compute_min: float | None = None,
    compute_max: float | None = None,
    probabilities: Any = (0.5, 0.9),
    n: int = 60,
) -> Figure:
    """Probability that the loss reaches ``target`` (or better) as a function of compute.

    Parameters
    ----------
    fit : FitRecord
    target : float
        Target loss.
    compute_min, compute_max : float, optional
        Plotted range (default: smallest observed budget to 100x the largest).
    probabilities : sequence of float
        Levels marked with horizontal lines and the compute where the curve crosses them.
    n : int

    Returns
    -------
    matplotlib.figure.Figure
        Uses :func:`bayes_scaling.questions.budget.prob_below_target` at compute-optimal
        allocations.
    """
    from bayes_scaling.questions.budget import prob_below_target

    target = _target(target)
    lo, hi = compute_span(fit, compute_min=compute_min, compute_max=compute_max)
    grid = log_grid(lo, hi, n)
    prob = prob_below_target(fit, target=target, compute=grid)["probability"]
    p = np.asarray(prob.values, dtype=float).reshape(-1)
    fig, axes = new_figure(width=6.4, height=4.0)
    ax = axes[0, 0]
    ax.plot(grid, p, color=MU_COLOR, lw=2, label=f"P(loss <= {target:.4g})")
    for level in np.atleast_1d(np.asarray(probabilities, dtype=float)):
        ax.axhline(level, color="#999999", lw=0.7, ls=":")
        above = np.nonzero(p >= level)[0]
        if above.size:
            c = grid[above[0]]
            ax.axvline(c, color="#999999", lw=0.7, ls=":")
            ax.text(
                c, level, f" {level:.0%} at {flops(c)}", fontsize=7.5, va="bottom", color="#333333"
            )
    ax.axvspan(observed_range(fit, "C")[1], hi, color="#f2f2f2", zorder=0)
    ax.set(
        xscale="log",
        ylim=(-0.02, 1.02),
        xlabel=AXIS_LABELS["C"],
        ylabel=f"P(loss <= {target:.4g})",
        title="Chance of reaching the target loss",
    )
    log_ticks(ax)
    legend(ax, loc="upper left")
    note(
        fig,
        f"Posterior probability that the expected loss (law, mu) at each draw's compute-optimal "
        f"N and D is at most {target:.4g}, per budget. "
        "Grey area: extrapolation beyond the largest observed budget.",
    )
    return fig


def plot_loss_quantiles(
    fit: FitRecord,
    *,
    compute_min: float | None = None,
    compute_max: float | None = None,
    quantiles: Any = (0.05, 0.25, 0.5, 0.75, 0.95),
    target: float | None = None,
    compute: Any = None,
    n: int = 60,
) -> Figure:
    """Fan chart of loss quantiles against compute at the compute-optimal allocation.

    Parameters
    ----------
    fit : FitRecord
    compute_min, compute_max : float, optional
    quantiles : sequence of float
        Symmetric quantile levels; nested pairs are shaded, the median is drawn.
    target : float, optional
        Target loss drawn as a horizontal line.
    compute : float or sequence, optional
        Budgets marked with vertical lines.
    n : int

    Returns
    -------
    matplotlib.figure.Figure
        Shaded: quantiles of the expected loss (law, ``mu``); dashed: the outer quantiles of the
        predicted loss of a new run (``y``).
    """
    q = np.sort(np.asarray(quantiles, dtype=float))
    if q.size < 2 or (q <= 0).any() or (q >= 1).any():
        raise QuestionError(f"quantiles must be at least two levels in (0, 1), got {q.tolist()}")
    lo, hi = compute_span(fit, compute_min=compute_min, compute_max=compute_max)
    grid = log_grid(lo, hi, n)
    if set(fit.law.inputs) >= {"N", "D"}:
        alloc = frontier_allocation(fit, grid)
        mu = alloc["loss_draws"]
        pred = predict(fit, N=alloc["N"], C=grid)
    else:
        pred = predict(fit, C=grid)
        mu = pred["mu"].values
    mu_q = np.quantile(mu.reshape(-1, mu.shape[-1]), q, axis=0)
    y = pred["y"].values
    y_q = np.quantile(y.reshape(-1, y.shape[-1]), [q[0], q[-1]], axis=0)
    fig, axes = new_figure(width=6.4, height=4.0)
    ax = axes[0, 0]
    for i in range(len(q) // 2):
        ax.fill_between(
            grid,
            mu_q[i],
            mu_q[-1 - i],
            color=MU_COLOR,
            alpha=0.18 + 0.12 * i,
            lw=0,
            label=f"{MU_LABEL}, {q[i]:.0%}-{q[-1 - i]:.0%}",
        )
    ax.plot(
        grid,
        np.quantile(mu.reshape(-1, mu.shape[-1]), 0.5, axis=0),
        color=MU_COLOR,
        lw=1.6,
        label=f"{MU_LABEL}, median",
    )
    for row, label in ((y_q[0], f"{Y_LABEL}, {q[0]:.0%} / {q[-1]:.0%}"), (y_q[1], None)):
        ax.plot(grid, row, color=Y_COLOR, lw=1.1, ls="--", label=label)
    if target is not None:
        ax.axhline(_target(target), color="#c0392b", lw=1, label=f"target {target:.4g}")
    for c in budgets(compute):
        ax.axvline(c, color="#777777", lw=0.8, ls=":")
    ax.axvspan(observed_range(fit, "C")[1], hi, color="#f2f2f2", zorder=0)
    ax.set(
        xscale="log",
        xlabel=AXIS_LABELS["C"],
        ylabel=fit.law.target.name,
        title="Loss quantiles vs compute (compute-optimal allocation)",
    )
    log_ticks(ax)
    loss_axis(ax)
    legend(ax, loc="upper right")
    note(
        fig,
        "Shaded: quantiles of the expected loss (law, mu) at each budget's compute-optimal "
        "N and D, per posterior draw. Dashed: outer quantiles of a new run's loss (y, with "
        "noise). Grey area: extrapolation.",
    )
    return fig


def _target(target: Any) -> float:
    try:
        value = float(target)
    except (TypeError, ValueError):
        raise QuestionError(f"target must be a loss value, not {target!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise QuestionError(f"target must be a finite loss > 0, not {target!r}")
    return value
