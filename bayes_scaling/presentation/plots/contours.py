"""Iso-loss contours in (N, D) with the compute-optimal frontier, its band, and IsoFLOP lines."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.presentation.formatting import flops
from bayes_scaling.presentation.plots._common import (
    AXIS_LABELS,
    MU_COLOR,
    budgets,
    compute_span,
    legend,
    log_grid,
    needs_inputs,
    new_figure,
    note,
    observed_range,
    quantiles,
    scatter_runs,
)
from bayes_scaling.presentation.plots.curves import frontier_allocation
from bayes_scaling.presentation.plots.ticks import log_ticks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord


def plot_isoloss(
    fit: FitRecord,
    *,
    compute: Any = None,
    compute_max: float | None = None,
    ci: float = CI,
    n: int = 120,
    levels: Any = None,
) -> Figure:
    """Contours of the expected loss (posterior median of ``mu``) over model size and tokens.

    Parameters
    ----------
    fit : FitRecord
        A fit of a law in N and D.
    compute : float or sequence, optional
        Budgets drawn as IsoFLOP lines (default: the smallest and largest observed budgets and
        10x and 100x the largest).
    compute_max : float, optional
        Largest budget of the frontier (default: 100x the largest observed).
    ci : float
        Probability of the frontier's band (central interval of N_opt per budget).
    n : int
        Grid resolution per axis.
    levels : sequence, optional
        Loss values of the contours.

    Returns
    -------
    matplotlib.figure.Figure
    """
    needs_inputs(fit, "N", "D", plot="iso-loss contours")
    k = fit.runs.flops_per_token
    c_lo, c_hi = compute_span(fit, compute_min=None, compute_max=compute_max)
    c_obs = observed_range(fit, "C")[1]
    lines = budgets(compute) or sorted({c_lo, c_obs, 10 * c_obs, c_hi})
    c_grid = log_grid(c_lo, max(c_hi, max(lines)), 40)
    alloc = frontier_allocation(fit, c_grid)
    n_lo, n_med, n_hi = quantiles(alloc["N_draws"], ci=ci)
    n_range = (
        min(observed_range(fit, "N")[0], n_med.min()) / 3,
        max(observed_range(fit, "N")[1], n_hi.max()) * 3,
    )
    d_range = (
        min(observed_range(fit, "D")[0], alloc["D"].min()) / 3,
        max(observed_range(fit, "D")[1], alloc["D"].max()) * 3,
    )
    n_axis, d_axis = log_grid(*n_range, n), log_grid(*d_range, n)
    nn, dd = np.meshgrid(n_axis, d_axis)
    params = {p: float(np.median(fit.posterior[p].values)) for p in fit.law.param_names}
    surface = fit.law.evaluate(
        params, {"N": nn, "D": dd, "C": k * nn * dd, **_extra_inputs(fit, nn)}
    )
    fig, axes = new_figure(width=6.4, height=5.0)
    ax = axes[0, 0]
    if levels is None:
        levels = np.quantile(surface, np.linspace(0.02, 0.9, 12))
    cs = ax.contour(
        nn, dd, surface, levels=np.unique(np.round(levels, 3)), cmap="viridis", linewidths=0.9
    )
    ax.clabel(cs, fontsize=6.5, fmt="%.3g")
    # the band: at each budget the N_opt interval, mapped onto its IsoFLOP line D = C / (k N)
    ax.fill(
        np.r_[n_lo, n_hi[::-1]],
        np.r_[c_grid / (k * n_lo), (c_grid / (k * n_hi))[::-1]],
        color=MU_COLOR,
        alpha=0.25,
        lw=0,
        label=f"compute-optimal N_opt, {ci:.0%} interval",
    )
    ax.plot(alloc["N"], alloc["D"], color=MU_COLOR, lw=2, label="compute-optimal frontier (median)")
    for c in lines:
        ax.plot(n_axis, c / (k * n_axis), color="#888888", lw=0.7, ls="--")
        i = np.argmin(np.abs(n_axis - np.sqrt(c / k) / 3))
        ax.text(
            n_axis[i],
            c / (k * n_axis[i]),
            f"{flops(c)}",
            fontsize=6.5,
            color="#555555",
            rotation=-35,
            rotation_mode="anchor",
        )
    scatter_runs(ax, fit, x="N", y=fit.runs.column("D"))
    ax.set(
        xscale="log",
        yscale="log",
        xlim=n_range,
        ylim=d_range,
        xlabel=AXIS_LABELS["N"],
        ylabel=AXIS_LABELS["D"],
        title=f"Iso-loss contours of expected loss ({fit.law.name})",
    )
    log_ticks(ax)
    legend(ax, loc="lower right")
    note(
        fig,
        "Contours: expected loss (law, mu) at the posterior-median parameters. Dashed grey: "
        f"IsoFLOP lines C = {k:g} N D (labelled in FLOPs). Blue band: central {ci:.0%} "
        "interval of the compute-optimal N per budget, along each IsoFLOP line.",
    )
    return fig


def _extra_inputs(fit: FitRecord, like: np.ndarray) -> dict[str, np.ndarray]:
    """Other inputs (e.g. unique tokens U) held at their largest observed value."""
    extra = {}
    for name in fit.law.inputs:
        if name not in ("N", "D", "C"):
            extra[name] = np.full_like(like, observed_range(fit, name)[1])
    return extra
