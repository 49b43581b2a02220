"""Data and fitted curves: loss vs compute (along the compute-optimal frontier and at fixed N),
and IsoFLOP profiles of loss vs N or D, with ``mu`` and ``y`` bands extrapolated past the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.presentation.formatting import flops, short
from bayes_scaling.presentation.plots._common import (
    AXIS_LABELS,
    MU_LABEL,
    Y_LABEL,
    band,
    budgets,
    compute_span,
    legend,
    log_grid,
    loss_axis,
    mu_y_bands,
    new_figure,
    note,
    observed_range,
    palette,
    quantiles,
    scatter_runs,
)
from bayes_scaling.presentation.plots.ticks import log_ticks
from bayes_scaling.questions.predict import predict

MU_LABEL_SHORT = "expected loss"

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord


def frontier_allocation(fit: FitRecord, compute: np.ndarray) -> dict[str, np.ndarray]:
    """Posterior-median compute-optimal N and D at each budget, plus per-draw N_opt draws.

    Uses :func:`bayes_scaling.questions.optimal.optimal_allocation` (per draw, closed form where
    the law
    has one).
    """
    from bayes_scaling.questions.optimal import optimal_allocation

    alloc = optimal_allocation(fit, compute=np.asarray(compute, dtype=float))
    n_draws = alloc["N_opt"].transpose("chain", "draw", "compute").values
    d_draws = alloc["D_opt"].transpose("chain", "draw", "compute").values
    return {
        "N": np.median(n_draws.reshape(-1, n_draws.shape[-1]), axis=0),
        "D": np.median(d_draws.reshape(-1, d_draws.shape[-1]), axis=0),
        "N_draws": n_draws,
        "D_draws": d_draws,
        "loss_draws": alloc["loss"].transpose("chain", "draw", "compute").values,
    }


def plot_loss_vs_compute(
    fit: FitRecord,
    *,
    compute_min: float | None = None,
    compute_max: float | None = None,
    fixed_N: Any = None,
    compute: Any = None,
    ci: float = CI,
    n: int = 80,
) -> Figure:
    """Loss against training compute: data, the compute-optimal frontier, and fixed-N curves.

    Parameters
    ----------
    fit : FitRecord
    compute_min, compute_max : float, optional
        Plotted compute range (default: smallest observed C to 100x the largest).
    fixed_N : float or sequence, optional
        Model sizes whose loss-vs-compute curves are drawn (default: the largest observed N and
        10x it). Only for laws in N and D.
    compute : float or sequence, optional
        Budgets to mark with vertical lines (e.g. the report's forecast budgets).
    ci : float
        Interval probability of the bands.
    n : int
        Grid points.

    Returns
    -------
    matplotlib.figure.Figure
        Along the frontier, ``mu`` is the law at the posterior-median optimal allocation and
        ``y`` adds a new run's noise.
    """
    lo, hi = compute_span(fit, compute_min=compute_min, compute_max=compute_max)
    grid = log_grid(lo, hi, n)
    fig, axes = new_figure(width=6.6, height=4.4)
    ax = axes[0, 0]
    inputs = fit.law.inputs
    if set(inputs) >= {"N", "D"}:
        alloc = frontier_allocation(fit, grid)
        pred = predict(fit, N=alloc["N"], C=grid)
        mu_y_bands(ax, grid, pred, ci=ci, suffix=" (compute-optimal N, D)")
        sizes = budgets(fixed_N) or [observed_range(fit, "N")[1], 10 * observed_range(fit, "N")[1]]
        for i, size in enumerate(sizes):
            fixed = predict(fit, N=size, C=grid)
            band(
                ax,
                grid,
                fixed["mu"].values,
                ci=ci,
                color=palette(i + 2),
                alpha=0.12,
                label=f"{MU_LABEL_SHORT} at N = {short(size)}",
                linestyle="--",
            )
        what = "the compute-optimal frontier (posterior-median N_opt, D_opt per budget)"
    elif inputs == ("C",):
        pred = predict(fit, C=grid)
        mu_y_bands(ax, grid, pred, ci=ci)
        what = "the fitted curve"
    else:
        raise QuestionError(
            f"loss vs compute needs a law in N and D or in C; {fit.law.name} takes "
            f"{', '.join(inputs)}"
        )
    scatter_runs(ax, fit, x="C")
    for c in budgets(compute):
        ax.axvline(c, color="#777777", lw=0.8, ls=":")
        ax.text(
            c,
            1.0,
            f" {flops(c)}",
            transform=ax.get_xaxis_transform(),
            fontsize=7,
            va="top",
            color="#555555",
        )
    ax.axvspan(observed_range(fit, "C")[1], hi, color="#f2f2f2", zorder=0)
    floor = float(np.nanmin(quantiles(pred["y"].values, ci=ci)[0]))
    ax.set_ylim(0.97 * floor, 1.08 * float(fit.runs.column("loss").max()))
    ax.set(
        xscale="log",
        xlabel=AXIS_LABELS["C"],
        ylabel=fit.law.target.name,
        title=f"Loss vs compute ({fit.law.name})",
    )
    log_ticks(ax)
    loss_axis(ax)
    legend(ax, loc="upper right")
    note(
        fig,
        f"Bands: central {ci:.0%} intervals along {what}. Grey area: extrapolation beyond "
        "the largest observed budget. Blue = expected loss (law, mu); orange = predicted "
        "loss of a new run (y, with noise).",
    )
    return fig


def plot_isoflop_profiles(
    fit: FitRecord,
    *,
    x: str = "N",
    compute: Any = None,
    ci: float = CI,
    n: int = 60,
    max_profiles: int = 10,
) -> Figure:
    """IsoFLOP profiles: loss against N (or D) at fixed compute, with the observed runs.

    Parameters
    ----------
    fit : FitRecord
    x : {"N", "D"}
        Horizontal axis. For a law in that input alone, the plain fitted curve is drawn.
    compute : float or sequence, optional
        Budgets of the profiles (default: up to ``max_profiles`` observed budgets spread over
        their range, plus 10x the largest). Ignored for one-input laws.
    ci : float
    n : int
    max_profiles : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    if x not in ("N", "D"):
        raise QuestionError(f"x must be 'N' or 'D', not {x!r}")
    if x not in fit.law.inputs:
        raise QuestionError(
            f"loss vs {x} needs a law with input {x}; {fit.law.name} takes "
            f"{', '.join(fit.law.inputs)}"
        )
    fig, axes = new_figure(width=6.6, height=4.4)
    ax = axes[0, 0]
    x_lo, x_hi = observed_range(fit, x)
    if fit.law.inputs == (x,):
        grid = log_grid(x_lo / 2, x_hi * 100, n)
        mu_y_bands(ax, grid, predict(fit, **{x: grid}), ci=ci)
        scatter_runs(ax, fit, x=x)
        what = f"the fitted curve in {x}"
    else:
        chosen = budgets(compute) or _default_budgets(fit, max_profiles)
        k = fit.runs.flops_per_token
        other = "D" if x == "N" else "N"
        colors = budget_colors(chosen)
        centres = frontier_allocation(fit, np.array(chosen))[x]
        for i, (c, centre) in enumerate(zip(chosen, centres, strict=True)):
            # sizes spanning 1.5 decades either side of the compute-optimal size at this budget
            grid = log_grid(centre / 30, centre * 30, n)
            pred = predict(fit, **{x: grid, other: c / (k * grid)})
            shown = i in (0, len(chosen) - 2, len(chosen) - 1)
            label = f"C = {flops(c)}: {MU_LABEL}, {ci:.0%}" if shown else None
            band(ax, grid, pred["mu"].values, ci=ci, color=colors[i], alpha=0.3, label=label)
            if i == len(chosen) - 1:
                label = f"C = {flops(c)}: {Y_LABEL}, {ci:.0%}"
                band(
                    ax,
                    grid,
                    pred["y"].values,
                    ci=ci,
                    color=colors[i],
                    alpha=0.1,
                    median=False,
                    label=label,
                )
        if fit.runs.has("group") or not fit.runs.has("C"):
            scatter_runs(ax, fit, x=x)
        else:
            log_c = np.log10(fit.runs.column("C"))
            nearest = np.argmin(np.abs(log_c[:, None] - np.log10(chosen)[None, :]), axis=1)
            on_profile = np.abs(log_c - np.log10(np.array(chosen))[nearest]) < 0.05
            point_colors = [
                colors[j] if m else "#333333" for j, m in zip(nearest, on_profile, strict=True)
            ]
            ax.scatter(
                fit.runs.column(x),
                fit.runs.column("loss"),
                s=13,
                c=point_colors,
                edgecolor="black",
                linewidth=0.3,
                zorder=4,
                label=f"observed runs ({fit.runs.n_runs}), coloured by budget",
            )
        what = "IsoFLOP profiles (C = k N D held fixed), one per budget, darker = more compute"
    ax.set(
        xscale="log",
        xlabel=AXIS_LABELS[x],
        ylabel=fit.law.target.name,
        title=f"Loss vs {x} ({fit.law.name})",
    )
    log_ticks(ax)
    loss_axis(ax)
    legend(ax, loc="upper right", ncols=1)
    note(
        fig,
        f"Bands: central {ci:.0%} intervals of {what}. Expected loss (law) is the curve "
        "mu; predicted run loss adds a new run's noise (y).",
    )
    return fig


def budget_colors(values: list[float]) -> list:
    """A colour per budget from a sequential map (light = small, dark = large compute)."""
    from matplotlib import colormaps

    cmap = colormaps["viridis_r"]
    logs = np.log10(values)
    span = max(float(logs.max() - logs.min()), 1e-9)
    return [cmap(0.15 + 0.8 * (v - logs.min()) / span) for v in logs]


def _default_budgets(fit: FitRecord, count: int) -> list[float]:
    """Up to ``count`` observed budgets spread over their range, plus 10x the largest."""
    if fit.runs.has("C"):
        distinct = np.unique(np.round(np.log10(fit.runs.column("C")), 2))
    else:
        distinct = np.log10(np.array(observed_range(fit, "C")))
    pick = distinct[np.unique(np.linspace(0, len(distinct) - 1, max(count - 1, 1)).astype(int))]
    values = [float(10**v) for v in pick]
    return [*values, 10 * values[-1]]
