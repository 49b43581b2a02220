"""The target against one input at fixed others: the learning-rate bowl, the batch-size valley.

For laws over settings as well as scale (learning rate, batch size, experts, vocabulary), the
picture a person wants is the target along one input with every other input held at a slice of
the data: the curve ``mu`` and a new run's ``y`` with their bands, the runs of that slice in
colour and every other run in grey.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.presentation.formatting import number
from bayes_scaling.presentation.plots._common import (
    DATA_COLOR,
    legend,
    mu_y_bands,
    new_figure,
    note,
)
from bayes_scaling.presentation.plots.ticks import log_ticks
from bayes_scaling.questions.predict import predict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord

__all__ = ["plot_response", "slice_of_runs"]


def _rounded(values: np.ndarray) -> np.ndarray:
    """Values rounded to 3 significant digits, so that a sweep's repeated settings compare equal."""
    with np.errstate(divide="ignore", invalid="ignore"):
        digits = np.where(values != 0, 2 - np.floor(np.log10(np.abs(values))), 0)
    return np.array([round(float(v), int(d)) for v, d in zip(values, digits, strict=True)])


def slice_of_runs(fit: FitRecord, x: str) -> dict[str, float]:
    """The other inputs' values shared by the most runs (the richest sweep along ``x``).

    Without any repeated combination, the runs' medians (geometric for log-scaled inputs).
    """
    others = [c for c in fit.law.inputs if c != x]
    if not others:
        return {}
    table = np.column_stack([_rounded(fit.runs.column(c)) for c in others])
    combos, counts = np.unique(table, axis=0, return_counts=True)
    if counts.max() > 1:
        best = combos[int(np.argmax(counts))]
        return {c: float(v) for c, v in zip(others, best, strict=True)}
    out = {}
    for c in others:
        values = fit.runs.column(c)
        log = fit.law.input_spec(c).scaling == "log"
        out[c] = float(np.exp(np.median(np.log(values)))) if log else float(np.median(values))
    return out


def plot_response(
    fit: FitRecord, *, x: str, at: Mapping[str, Any] | None = None, ci: float = CI, n: int = 120
) -> Figure:
    """The target against input ``x`` with the other inputs fixed.

    Parameters
    ----------
    fit : FitRecord
    x : str
        One of the law's inputs.
    at : mapping, optional
        Values of the other inputs; default :func:`slice_of_runs` (the richest sweep along x).
    ci : float
        Central interval of the bands.
    n : int
        Grid points.

    Returns
    -------
    matplotlib.figure.Figure
    """
    law = fit.law
    if x not in law.inputs:
        raise QuestionError(f"{law.name} has no input {x!r}; it takes {', '.join(law.inputs)}")
    spec = law.input_spec(x)
    fixed = {**slice_of_runs(fit, x), **dict(at or {})}
    missing = [c for c in law.inputs if c != x and c not in fixed]
    if missing:
        raise QuestionError(f"give the value of {', '.join(missing)} (at=...)")
    values = fit.runs.column(x)
    lo, hi = float(values.min()), float(values.max())
    if spec.scaling == "log":
        grid = np.exp(np.linspace(np.log(lo) - 0.3, np.log(hi) + 0.3, n))
    else:
        pad = 0.05 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, n)
        if spec.sign != "real":
            grid = grid[grid >= 0] if spec.sign == "nonnegative" else grid[grid > 0]
    points = {x: grid, **{c: np.full(grid.size, float(v)) for c, v in fixed.items()}}
    pred = predict(fit, points=points)
    fig, axes = new_figure(width=6.4, height=4.2)
    ax = axes[0, 0]
    mu_y_bands(ax, grid, pred, ci=ci)
    y = fit.runs.column("loss")
    near = np.ones(fit.runs.n_runs, dtype=bool)
    for c, v in fixed.items():
        col = fit.runs.column(c)
        near &= np.isclose(_rounded(col), _rounded(np.array([float(v)]))[0], rtol=1e-9)
    n_near = int(near.sum())
    other = f"other runs ({fit.runs.n_runs - n_near})"
    ax.scatter(values[~near], y[~near], s=9, color="#bbbbbb", zorder=3, label=other)
    if n_near:
        ax.scatter(
            values[near], y[near], s=16, color=DATA_COLOR, edgecolor="white", linewidth=0.4,
            zorder=4, label=f"runs of this slice ({n_near})",
        )  # fmt: skip
    target = law.target.name
    ax.set(
        xscale="log" if spec.scaling == "log" else "linear",
        xlabel=spec.label,
        ylabel=target,
        title=f"{target} vs {x} ({law.name})",
    )
    log_ticks(ax)
    low, high = np.nanquantile(y, [0.0, 0.98])
    span = high - low or abs(high) or 1.0
    ax.set_ylim(low - 0.1 * span, high + 0.3 * span)
    legend(ax, loc="upper right", ncols=1)
    at_text = ", ".join(f"{c} = {number(v)}" for c, v in fixed.items())
    note(
        fig,
        f"{target} along {x} at {at_text or 'no other inputs'}; bands: central {ci:.0%} "
        f"intervals of the law's curve (mu) and of a new run (y).",
    )
    return fig
