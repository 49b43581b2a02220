"""Which run next, as a picture: each candidate's expected forecast width after it, and the width
now and after the chosen batch.

Left: candidate runs on IsoFLOP lines (model size N against the expected 90% width of the target
forecast once that run's loss is known), one colour per budget, the chosen runs ringed. Right: the
width now and after each chosen run, against the cumulative compute they cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.presentation.formatting import flops
from bayes_scaling.presentation.plots._common import DATA_COLOR, MU_COLOR, legend, new_figure, note
from bayes_scaling.presentation.plots.curves import budget_colors
from bayes_scaling.presentation.plots.ticks import log_ticks

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from bayes_scaling.inference.record import FitRecord

__all__ = ["plot_design"]

#: Budgets of the default candidate grid, as multiples of the largest observed compute.
BUDGET_FACTORS = (0.3, 1.0, 3.0)


def plot_design(
    fit: FitRecord,
    *,
    compute: float,
    budgets: Any = None,
    n_per_budget: int = 6,
    k: int = 3,
    n_fantasies: int = 16,
    ci: float = CI,
) -> Figure:
    """Candidate pilot runs ranked by how much they would narrow the forecast at ``compute``.

    Parameters
    ----------
    fit : FitRecord
        A fit of a law in N and D.
    compute : float
        The target budget C (FLOPs) whose loss forecast the runs should sharpen.
    budgets : sequence of float, optional
        Budgets of the candidate IsoFLOP lines (default: 0.3, 1 and 3 times the largest
        observed compute).
    n_per_budget, k, n_fantasies : int
        Candidate sizes per budget, runs chosen, fantasised outcomes per candidate.
    ci : float
        Probability of the interval whose expected width is shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from bayes_scaling.questions.design import DesignQuestion, choose_batch, rank_candidates
    from bayes_scaling.questions.design_tools import isoflop_grid

    if not {"N", "D"} <= set(fit.law.inputs) or not fit.runs.has("C"):
        raise QuestionError(f"which run next needs a law in N and D; {fit.law.name} takes "
                            f"{', '.join(fit.law.inputs)}")  # fmt: skip
    c_max = float(np.max(fit.runs.column("C")))
    chosen_budgets = [c_max * f for f in BUDGET_FACTORS] if budgets is None else list(budgets)
    grid = isoflop_grid(fit, chosen_budgets, n_per_budget)
    question = DesignQuestion(target="loss", compute=compute, n_fantasies=n_fantasies, ci=ci)
    ranked = rank_candidates(fit, grid, question)
    batch = choose_batch(fit, grid, question, k=k)
    width_now = float(ranked.attrs["width_now"])
    fig, axes = new_figure(ncols=2, width=9.0, height=3.8)
    ax = axes[0, 0]
    colors = budget_colors(chosen_budgets)
    C = ranked["C"].values
    for i, budget in enumerate(chosen_budgets):
        on = np.isclose(C, budget, rtol=1e-6)
        ax.plot(ranked["N"].values[on], ranked["expected_width_after"].values[on], "o",
                color=colors[i], ms=5, label=f"C = {flops(budget)}")  # fmt: skip
    picked = set(batch["candidate"].values.tolist())
    rows = ranked["candidate"].values
    mask = np.array([r in picked for r in rows])
    chosen = f"chosen ({int(mask.sum())})"
    ax.plot(ranked["N"].values[mask], ranked["expected_width_after"].values[mask], "o",
            mfc="none", mec=DATA_COLOR, ms=11, mew=1.4, label=chosen)  # fmt: skip
    ax.axhline(width_now, color=MU_COLOR, lw=1.2, ls="--", label="width now")
    ax.set(xscale="log", xlabel="parameters N of the candidate run",
           ylabel=f"expected {ci:.0%} width after it",
           title=f"{fit.law.target.name} at C = {flops(compute)}: one run each")  # fmt: skip
    log_ticks(ax)
    legend(ax, loc="upper right", ncols=1)
    ax = axes[0, 1]
    spent = np.r_[0.0, batch["cumulative_cost"].values]
    spent = np.maximum(spent, spent[1] / 10 if spent.size > 1 else 1.0)  # "now" on a log axis
    widths = np.r_[width_now, batch["expected_width_after"].values]
    ax.step(spent, widths, where="post", color=MU_COLOR, lw=1.8)
    ax.plot(spent, widths, "o", color=MU_COLOR)
    ax.set(xscale="log", xlabel="compute of the chosen runs so far (FLOPs)",
           ylabel=f"expected {ci:.0%} width",
           title=f"after the {batch.sizes['pick']} chosen runs")  # fmt: skip
    log_ticks(ax)
    ax.set_ylim(bottom=0)
    note(
        fig,
        f"Expected width of the {ci:.0%} interval of the expected {fit.law.target.name} at "
        f"C = {flops(compute)} once a candidate's loss is known, from the posterior reweighted "
        f"by {n_fantasies} fantasised outcomes per candidate (no refit). Chosen: greedy per "
        "unit cost.",
    )
    return fig
