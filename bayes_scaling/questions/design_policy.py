"""Spending a compute budget on pilot runs: the batch of runs that a budget buys.

:func:`~bayes_scaling.questions.design.rank_candidates` scores a run by the expected reduction
of the target's uncertainty per unit cost. Picked one at a time, that score always prefers the
cheapest runs (a tiny run shrinks the width a little for almost no FLOPs), so a sweep planned
by it spends almost nothing and never learns what the large runs would tell. Per run
(``cost_power=0``) it prefers the most informative run whatever its price. Neither is the
question a planner asks, which is: *with this budget, which runs leave the smallest
uncertainty?*

:func:`budget_batch` answers it as a knapsack: it builds a greedy batch within the budget
(:func:`~bayes_scaling.questions.design.choose_batch`, shared fantasies) for each of several
cost powers ``p`` (score ``reduction / cost ** p``; by default 0, 0.5 and 1), cuts each batch
where the fantasies' effective draws fall below ``min_ess`` (past that point the reweighted
draws cannot see further and the widths after are too optimistic), and returns the batch whose
expected objective after is smallest (ties: the cheaper). Taking the best of the density-greedy
(``p=1``) and the value-greedy (``p=0``) batch is the classic guard of greedy knapsack: either
alone can be arbitrarily bad, the better of the two is not. The budget is the caller's; in a
sweep, the next step of a schedule such as 1%, 2%, 5%, 10%, 25% of the planned compute.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.questions.allocation import flops_per_token
from bayes_scaling.questions.design import ESS_WARN, DesignQuestion, choose_batch
from bayes_scaling.questions.design_tools import candidate_inputs

__all__ = ["budget_batch"]

#: Cost powers tried by :func:`budget_batch`: per run, per square root of cost, per unit cost.
COST_POWERS = (0.0, 0.5, 1.0)


def budget_batch(
    fit: Any,
    candidates: Any,
    question: DesignQuestion | None = None,
    *,
    budget: float,
    cost_powers: Any = COST_POWERS,
    k: int = 32,
    min_ess: float = ESS_WARN,
) -> xr.Dataset | None:
    """The batch of candidate runs, within ``budget``, with the smallest expected objective.

    Parameters
    ----------
    fit, candidates, question
        As for :func:`~bayes_scaling.questions.design.rank_candidates` (``question``: the
        target, objective, fantasies and ``ci``; default ``DesignQuestion()``).
    budget : float
        Total cost of the batch (the unit of the candidates' cost; FLOPs by default).
    cost_powers : sequence of float
        The cost powers whose greedy batches compete (each >= 0).
    k : int
        Most runs in one batch.
    min_ess : float
        A batch is cut after the last pick whose mean effective draws stay >= ``min_ess`` (the
        first pick is always kept).

    Returns
    -------
    xr.Dataset or None
        The chosen batch (as :func:`choose_batch` returns it, cut), with attributes
        ``cost_power`` (the winner), ``alternatives`` (per power: expected objective after and
        cost of its batch, as text) and ``budget``; None when no candidate fits in the budget.
    """
    if not (np.isfinite(budget) and budget > 0):
        raise QuestionError(f"budget must be a positive cost, not {budget!r}")
    question = DesignQuestion.of(question)
    powers = [float(p) for p in np.atleast_1d(np.asarray(cost_powers, dtype=float))]
    if not powers:
        raise QuestionError("give at least one cost power")
    _, cost = candidate_inputs(fit.law, candidates, flops_per_token=flops_per_token(fit))
    if cost.min() > budget:
        return None
    key = f"expected_{question.objective}_after"
    best, best_key, alternatives = None, None, []
    for p in powers:
        ds = choose_batch(fit, candidates, question, k=k, budget=budget, cost_power=p)
        low = np.flatnonzero(ds["ess"].values < min_ess)
        ds = ds.isel(pick=slice(0, max(int(low[0]) if low.size else ds.sizes["pick"], 1)))
        value = float(ds[key].values[-1])
        spend = float(ds["cumulative_cost"].values[-1])
        alternatives.append(f"p={p:g}: {key}={value:.5g} cost={spend:.4g} picks={ds.sizes['pick']}")
        order = (value, spend)
        if best is None or order < best_key:
            best, best_key = ds.assign_attrs(cost_power=p), order
    return best.assign_attrs(alternatives="; ".join(alternatives), budget=float(budget))
