"""Building blocks of run design (:mod:`bayes_scaling.questions.design`).

* :func:`candidate_inputs` — a table of candidate runs (DataFrame or mapping) to the law's inputs,
  their compute ``C = k N D`` and their cost (a ``cost`` column, else ``C``);
* :func:`isoflop_grid` — candidates on IsoFLOP lines: model sizes log-spaced around each budget's
  current median ``N_opt``, ``D = C / (k N)``;
* :func:`prior_fit` — a fit record whose draws are prior draws, to rank candidates before any
  run exists.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import FLOPS_PER_TOKEN
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inference.diagnostics import Diagnostics
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law, get_law
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.plans import plan_parameters, user_values
from bayes_scaling.model.target import target_references
from bayes_scaling.questions.allocation import (
    budget_inputs,
    flops_per_token,
    params_of,
    require_allocation_law,
)
from bayes_scaling.questions.noise import discrepancy_moments, probability_per_draw
from bayes_scaling.questions.optimal import optimal_allocation
from bayes_scaling.questions.predict import complete_inputs, predict, split_points

__all__ = ["candidate_inputs", "cost_weight", "isoflop_grid", "prior_fit"]

#: Model sizes of the decision grid of ``objective="regret"``.
REGRET_GRID = 48
#: Default span of :func:`isoflop_grid` around each budget's median N_opt (a factor each way).
GRID_SPAN = 6.0


def candidate_inputs(
    law: Law, candidates: Any, *, flops_per_token: float
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The law's inputs, ``C`` and the cost of each candidate run.

    Parameters
    ----------
    law : Law
    candidates : pandas.DataFrame or mapping
        One row (entry) per candidate: the law's inputs by name (N and D, or N and C, ...), and
        optionally ``cost`` (any positive unit, e.g. FLOPs or dollars). Other columns such as
        ``loss`` or ``group`` are ignored.
    flops_per_token : float
        ``k`` in ``C = k N D``.

    Returns
    -------
    inputs : dict of str to numpy.ndarray
        Every input of the law plus ``C`` when it can be derived, one value per candidate.
    cost : numpy.ndarray
        The ``cost`` column, else ``C``.
    """
    if hasattr(candidates, "columns"):
        table = {str(c): np.asarray(candidates[c]) for c in candidates.columns}
    elif isinstance(candidates, dict):
        table = {str(k): np.atleast_1d(np.asarray(v)) for k, v in candidates.items()}
    else:
        raise QuestionError(
            "candidates must be a table (pandas DataFrame, or a mapping of column -> values) "
            f"with the law's inputs {', '.join(law.inputs)}; got {type(candidates).__name__}"
        )
    cost = table.pop("cost", None)
    for ignored in ("loss", "group", "seed", "name"):
        table.pop(ignored, None)
    if not table or not len(next(iter(table.values()))):
        raise QuestionError("candidates is empty: give at least one candidate run")
    canonical, extra = split_points(table)
    inputs = complete_inputs(
        law.inputs,
        flops_per_token=flops_per_token,
        law=f"law {law.name!r}",
        extra=extra,
        signs={c: law.input_spec(c).sign for c in law.inputs},
        **canonical,
    )
    m = len(next(iter(inputs.values())))
    if cost is None:
        if "C" not in inputs:
            raise QuestionError(
                "the cost of the candidates is unknown: give a 'cost' column, or N and D "
                "(C = k N D is the default cost)"
            )
        cost = inputs["C"]
    try:
        cost = np.broadcast_to(np.asarray(cost, dtype=float), (m,)).copy()
    except (TypeError, ValueError):
        raise QuestionError("the 'cost' column must hold one positive number per row") from None
    if not np.all(np.isfinite(cost) & (cost > 0)):
        raise QuestionError("the 'cost' column must hold finite numbers > 0")
    return inputs, cost


def isoflop_grid(
    fit: FitRecord, budgets: Any, n_per_budget: int, *, N_range: Any = None
) -> pd.DataFrame:
    """Candidate runs on IsoFLOP lines around the fit's current compute-optimal sizes.

    Parameters
    ----------
    fit : FitRecord
        A fit of a law of N and D (the median ``N_opt`` of each budget centres its line).
    budgets : float or sequence of float
        Training budgets C in FLOPs.
    n_per_budget : int
        Model sizes per budget (at least 1; one size is the median N_opt itself).
    N_range : (float, float), optional
        Fixed bounds (low, high) of N for every budget. Default: from ``N_opt / 6`` to
        ``6 N_opt`` (:data:`GRID_SPAN`), log-spaced.

    Returns
    -------
    pandas.DataFrame
        Columns ``N``, ``D`` (``C / (k N)``), ``C``, one row per candidate.
    """
    C = np.atleast_1d(np.asarray(budgets, dtype=float))
    if C.ndim != 1 or not np.all(np.isfinite(C) & (C > 0)):
        raise QuestionError(f"budgets must be positive FLOP counts, got {budgets!r}")
    if int(n_per_budget) != n_per_budget or int(n_per_budget) < 1:
        raise QuestionError(f"n_per_budget must be a whole number >= 1, not {n_per_budget!r}")
    n = int(n_per_budget)
    k = flops_per_token(fit)
    if N_range is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            opt = optimal_allocation(fit, compute=C)["N_opt"].values
        centre = np.nanmedian(opt.reshape(-1, C.size), axis=0)
        if not np.all(np.isfinite(centre)):
            raise QuestionError("the fit has no finite N_opt at some budgets; give N_range")
        span = np.geomspace(1 / GRID_SPAN, GRID_SPAN, n) if n > 1 else np.ones(1)
        sizes = centre[:, None] * span[None, :]
    else:
        lo, hi = (float(v) for v in np.asarray(N_range, dtype=float).reshape(2))
        if not (0 < lo < hi and np.isfinite(hi)):
            raise QuestionError(f"N_range must be (low, high) with 0 < low < high, not {N_range}")
        sizes = np.broadcast_to(np.geomspace(lo, hi, n) if n > 1 else [lo], (C.size, n))
    budget = np.repeat(C, n)
    N = sizes.reshape(-1)
    return pd.DataFrame({"N": N, "D": budget / (k * N), "C": budget})


def prior_fit(
    law: str | Law,
    *,
    candidates: Any,
    loss_scale: float | None = None,
    priors: Any = None,
    likelihood: str = "student_t",
    draws: int = 2000,
    flops_per_token: float = FLOPS_PER_TOKEN,
    seed: int | None = None,
) -> FitRecord:
    """A fit record whose draws are draws of the law's priors: the start before any run exists.

    The law's default priors are unit-free (:mod:`bayes_scaling.model.plans`) and become user
    units through reference values. With no runs, the references are the candidates' geometric
    means (inputs scaled in log; means for linear inputs), and the loss reference ``L_min`` is
    ``loss_scale`` when given, else the smallest loss that the law's first published parameter
    set (``[published.*]`` in its TOML, e.g. Hoffmann et al. 2022 for chinchilla) predicts at
    the candidates.

    Parameters
    ----------
    law : str or Law
    candidates : pandas.DataFrame or mapping
        The candidate runs (as for :func:`bayes_scaling.questions.design.rank_candidates`).
    loss_scale : float, optional
        A typical (smallest expected) loss of the candidates; required for a law without
        published values.
    priors : mapping, optional
        Prior overrides, as for a fit.
    likelihood : {"student_t", "normal"}
    draws : int
        Prior draws (one chain).
    flops_per_token : float
        ``k`` in ``C = k N D``.
    seed : int, optional

    Returns
    -------
    FitRecord
        No runs; ``info["prior_only"]`` is True; diagnostics are those of independent draws.
    """
    law = get_law(law)
    if int(draws) != draws or int(draws) < 10:
        raise QuestionError(f"draws must be a whole number >= 10, not {draws!r}")
    inputs, _ = candidate_inputs(law, candidates, flops_per_token=flops_per_token)
    refs: dict[str, float] = {}
    for col in law.inputs:
        v = inputs[col]
        log = law.input_spec(col).scaling == "log"
        refs[col] = float(np.exp(np.mean(np.log(v)))) if log else float(np.mean(v))
    if loss_scale is None:
        if not law.published:
            raise QuestionError(
                f"law {law.name!r} has no published values to set the loss scale; give "
                "loss_scale (a typical loss of the candidate runs)"
            )
        values = next(iter(law.published.values()))
        params = {p: float(values[p]) for p in law.param_names}
        loss_scale = float(np.min(law.evaluate(params, inputs)))
    if not (np.isfinite(loss_scale) and (loss_scale > 0 or not law.target.is_positive)):
        raise QuestionError(f"loss_scale must be a finite loss > 0, not {loss_scale!r}")
    refs[LOSS_REFERENCE] = float(loss_scale)
    refs.update(target_references(law.target, np.array([float(loss_scale)])))
    settings = FitSettings(
        priors=dict(priors or {}),
        likelihood=likelihood,
        draws=int(draws),
        chains=1,
        discrepancy=None,
        seed=seed,
    )
    plans = plan_parameters(law, settings.priors, likelihood=likelihood)
    rng = np.random.default_rng(seed)
    sampled = {p.sampled_name: p.prior.sample(rng, (1, int(draws))) for p in plans}
    params = user_values(law, plans, sampled, refs)
    shape = (1, int(draws))
    post = xr.Dataset(
        {
            k: (("chain", "draw"), np.broadcast_to(np.asarray(v, float), shape).copy())
            for k, v in {**sampled, **params}.items()
        },
        coords={"chain": [0], "draw": np.arange(int(draws))},
    )
    cols = [*dict.fromkeys([*law.inputs, "C"]), "loss"]
    runs = Runs(
        table=pd.DataFrame({c: pd.Series(dtype=float) for c in cols}),
        source="<no runs: prior draws>",
        flops_per_token=float(flops_per_token),
    )
    n = float(draws)
    diagnostics = Diagnostics(
        max_r_hat=1.0, min_ess_bulk=n, min_ess_tail=n, divergences=0, min_bfmi=1.0
    )
    return FitRecord(
        tree=xr.DataTree.from_dict({"posterior": post}),
        law=law,
        runs=runs,
        settings=settings,
        refs=refs,
        diagnostics=diagnostics,
        plans=plans,
        info={"prior_only": True},
    )


# ------------------------------------------------------------------- targets of a design
def target_values(fit, target, compute, N, D, loss_target):
    """(values (chain, draw), info) of the target quantity."""
    info: dict[str, Any] = {"target": target}
    C = positive_one("compute", compute)
    if target == "loss" and (N is not None or D is not None):
        pred = predict(fit, N=N, D=D, C=C)
        if pred.sizes["point"] != 1:
            raise QuestionError("give one target point (one N, D or compute)")
        for c in ("N", "D", "C"):
            if c in pred.coords:
                info[f"target_{c}"] = float(pred[c].values[0])
        return pred["mu"].values[..., 0], info
    if C is None:
        raise QuestionError(
            f"target={target!r} needs the budget: give compute= (FLOPs; CLI --target-compute)"
        )
    info["compute"] = C
    require_allocation_law(fit.law, "run design at a budget")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = optimal_allocation(fit, compute=C)
    if target == "loss":
        return opt["loss"].values[..., 0], info
    if target == "optimal":
        info["D_opt"] = opt["D_opt"].values[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(opt["N_opt"].values[..., 0]), info
    if loss_target is None:
        raise QuestionError("target='probability' needs loss_target= (CLI --loss-target)")
    L = positive_one("loss_target", loss_target)
    info["loss_target"] = L
    return frontier_probability(fit, opt, C, L), info


def frontier_probability(fit, opt, C, L) -> np.ndarray:
    """Per draw, P(y <= L) of a run at the draw's optimum (the fitted noise, and the
    extrapolation discrepancy, its spread and drift, when the fit has one)."""
    loss, N_opt = opt["loss"].values[..., 0], opt["N_opt"].values[..., 0]
    k = flops_per_token(fit)
    extra = discrepancy_moments(
        fit, {"N": N_opt[..., None], "D": (C / (k * N_opt))[..., None], "C": np.array([C])}
    )
    if extra is not None:  # the discrepancy's sd and mean at the one budget
        extra = (extra[0][..., 0], extra[1][..., 0])
    return probability_per_draw(fit, loss, L, extra=extra)


def cost_weight(cost: np.ndarray, power: float) -> np.ndarray:
    """``cost ** power``, the divisor of a design score (1: per unit cost; 0: per run)."""
    if not (np.ndim(power) == 0 and np.isfinite(power) and power >= 0):
        raise QuestionError(f"cost_power must be a number >= 0 (1 per unit cost), not {power!r}")
    return np.asarray(cost, dtype=float) ** float(power)


def positive_one(name, value) -> float | None:
    if value is None:
        return None
    arr = np.asarray(value, dtype=float).reshape(-1)
    if arr.size != 1 or not np.isfinite(arr[0]) or arr[0] <= 0:
        raise QuestionError(f"{name} must be one finite number > 0, not {value!r}")
    return float(arr[0])


def regret_grid(fit, compute):
    """Expected loss per draw on a grid of N at the budget, and each draw's own optimum."""
    C = positive_one("compute", compute)
    if C is None:
        raise QuestionError("objective='regret' needs the budget: give compute=")
    require_allocation_law(fit.law, "the regret of the compute-optimal decision")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = optimal_allocation(fit, compute=C)
    n_opt = opt["N_opt"].values.reshape(-1)
    lo, hi = np.nanquantile(n_opt, [0.005, 0.995])
    grid = np.geomspace(lo / 2, hi * 2, REGRET_GRID)
    k = flops_per_token(fit)
    params = {p: v.reshape(-1, 1) for p, v in params_of(fit).items()}
    loss = fit.law.evaluate(
        params, budget_inputs(fit.law, grid[None, :], C / (k * grid[None, :]), k=k)
    )
    best = np.minimum(opt["loss"].values.reshape(-1), np.nanmin(loss, axis=1))
    return loss, best
