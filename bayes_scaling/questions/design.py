"""Which run next: Bayesian design of pilot sweeps, without refitting.

For each candidate run (its inputs and cost), how much would training it shrink the uncertainty
of a target quantity, per unit cost? The answer is preposterior and uses only the current draws:

1. **Fantasies.** Fantasy ``f`` picks one posterior draw ``s_f`` as the truth and draws the
   candidate's observation ``y = mu(s_f) * exp(eps)`` with the fit's own noise
   (``fit.noise.draw`` at ``s_f``'s noise parameters), so ``y`` follows the posterior predictive.
   Every candidate shares the truths ``s_f`` (common random numbers: rankings are less noisy).
2. **Importance reweighting.** Each draw ``s`` is weighted by the likelihood of the fantasy,
   ``w_s ∝ p(y | theta_s)`` (``fit.noise.logpdf`` on the target's likelihood scale), which is the
   posterior after adding the run, as long as the weights keep enough effective draws
   (``ess``; a warning says when they collapse below :data:`ESS_WARN`).
3. **Objective.** The weighted width of the target's ``ci`` interval (one interval rule,
   :func:`~bayes_scaling.core.intervals.weighted_interval`), its weighted variance, or the
   expected regret of the compute-optimal N at the budget, averaged over fantasies; ``score`` is
   the expected reduction per ``cost ** cost_power`` (1: per unit cost; 0: per run).

One :class:`~.design_question.DesignQuestion` says what to learn about (target, objective, the
budget or point, fantasies, seed, ``ci``) for every design function.
:func:`choose_batch` picks runs greedily, keeping each pick's fantasy weights (same truths), and
:func:`batch_in_order` scores a batch taken in a fixed order the same way;
:func:`~.design_tools.prior_fit` gives prior draws, to rank candidates before any run exists.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import equal_tailed, weighted_interval
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.questions.allocation import draw_coords, flops_per_token, params_of
from bayes_scaling.questions.design_question import N_FANTASIES as N_FANTASIES
from bayes_scaling.questions.design_question import OBJECTIVES as OBJECTIVES
from bayes_scaling.questions.design_question import TARGETS as TARGETS
from bayes_scaling.questions.design_question import DesignQuestion
from bayes_scaling.questions.design_tools import (
    candidate_inputs,
    cost_weight,
    regret_grid,
    target_values,
)

__all__ = ["DesignQuestion", "batch_in_order", "choose_batch", "rank_candidates"]

#: A candidate whose mean effective sample size falls below this many draws gets a warning.
ESS_WARN = 50.0
_CHUNK = 4_000_000  # values of one log-likelihood block (fantasies x draws x candidates)
_CACHE = 50_000_000  # choose_batch keeps all log-likelihoods up to this many (float32)


@dataclass
class _Problem:
    """The target per draw, the fantasies and the candidates' fantasy log-likelihoods."""

    values: np.ndarray  # target quantity per draw, sorted (S_valid,)
    order: np.ndarray  # draw indices of ``values``
    loss_gap: np.ndarray | None  # (S, G) loss above each draw's optimum on the N grid (regret)
    y: np.ndarray  # fantasy observations on the likelihood scale (F, M)
    log_mu: np.ndarray  # candidates' curves on the likelihood scale (S, M)
    noise: dict[str, np.ndarray]  # noise parameters per draw (S, 1)
    model: Any  # the fit's likelihood object
    ci: float  # probability of the interval whose width is the "width" objective


class DesignWarning(UserWarning):
    """The importance weights of a candidate keep few effective draws."""


def rank_candidates(
    fit: FitRecord,
    candidates: Any,
    question: DesignQuestion | None = None,
    *,
    cost_power: float = 1.0,
) -> xr.Dataset:
    """Rank candidate runs by the expected reduction of the target's uncertainty per unit cost.

    Parameters
    ----------
    fit : FitRecord
        An unpooled fit (for a pooled one, rank on ``group_fit(fit, group)``), or
        :func:`~bayes_scaling.questions.design_tools.prior_fit`.
    candidates : pandas.DataFrame or mapping
        One row per candidate: the law's inputs (N and D, or N and C, and any declared inputs)
        and optionally ``cost``; without it the cost is ``C = k N D`` in FLOPs.
    question : DesignQuestion, optional
        The target, the objective, the target's budget or point, the fantasies and ``ci``
        (default ``DesignQuestion()``: the width of the 90% interval of the expected loss).
    cost_power : float
        ``score = reduction / cost ** cost_power``: 1 per unit cost, 0 per run (>= 0).

    Returns
    -------
    xr.Dataset
        Dim ``candidate`` sorted best first (coordinate: the row of the candidates table), with
        coordinates of the candidates' inputs, ``C`` and ``cost``; variables ``score``,
        ``reduction``, ``expected_width_after``, ``expected_variance_after`` (and
        ``expected_regret_after`` for ``objective="regret"``), ``ess`` and ``ess_min`` (mean and
        smallest effective draws over fantasies); ``value``, the target per draw now (dims
        ``chain``, ``draw``; plus ``D_opt`` for ``target="optimal"``). Attributes hold the
        current ``width_now``, ``variance_now`` (``regret_now``), ``target``, ``objective``.
    """
    question = DesignQuestion.of(question)
    objective, ci = question.objective, question.ci
    fit_, inputs, cost, problem, info = _setup(fit, candidates, question)
    weight = cost_weight(cost, cost_power)
    m = cost.size
    base = np.zeros((problem.y.shape[0], problem.log_mu.shape[0]))
    now = _objectives(problem, _normalise(base[:, None, :]), objective)
    after = _evaluate(problem, base, np.arange(m), objective)
    _warn_ess(after["ess"], np.arange(m))
    key = objective
    reduction = now[key].mean() - after[key]
    score = reduction / weight
    order = np.argsort(-np.where(np.isfinite(score), score, -np.inf), kind="stable")
    variables = {
        "score": (score, f"expected reduction of the {key} per cost ** {cost_power:g}"),
        "reduction": (reduction, f"expected reduction of the {key} after the run"),
        "expected_width_after": (after["width"], f"expected width of the {ci:.0%} interval"),
        "expected_variance_after": (after["variance"], "expected variance of the target"),
        "ess": (after["ess"], "mean effective draws of the weights over fantasies"),
        "ess_min": (after["ess_min"], "smallest effective draws over fantasies"),
    }
    if objective == "regret":
        variables["expected_regret_after"] = (after["regret"], "expected regret of N_opt after")
    lower, _, upper = equal_tailed(problem.values, ci=problem.ci)  # the one interval rule
    attrs = {"width_now": float(upper - lower), "variance_now": float(now["variance"].mean())}
    attrs.update(cost_power=float(cost_power), ci=problem.ci)
    if objective == "regret":
        attrs["regret_now"] = float(now["regret"].mean())
    return _dataset(
        fit_, inputs, cost, order, variables, info, attrs, "rank_candidates", "candidate"
    )


def choose_batch(
    fit: FitRecord,
    candidates: Any,
    question: DesignQuestion | None = None,
    *,
    k: int,
    budget: float | None = None,
    cost_power: float = 1.0,
) -> xr.Dataset:
    """Choose up to ``k`` runs greedily with fantasised outcomes.

    The first pick is the best of :func:`rank_candidates`. Then each fantasy keeps the weights
    of the runs picked so far (same truths, same fantasised outcomes), and the next pick
    maximises the expected further reduction per ``cost ** cost_power`` under them. A run is
    picked at most once; picking stops after ``k`` runs or when no remaining candidate fits in
    what is left of ``budget``.

    Parameters
    ----------
    fit, candidates, question, cost_power
        As for :func:`rank_candidates`.
    k : int
        Most runs to pick (>= 1).
    budget : float, optional
        Total cost allowed for the batch, in the unit of the cost (FLOPs by default).

    Returns
    -------
    xr.Dataset
        Dim ``pick`` (in order; coordinate ``candidate`` is the row of the table), coordinates
        of the inputs, ``C`` and ``cost``; variables ``score``, ``expected_width_after`` and
        ``expected_variance_after`` (and ``expected_regret_after``) after the picks so far,
        ``cumulative_cost``, ``ess``; ``value``, the target per draw now (dims ``chain``,
        ``draw``).
    """
    return _batch(fit, candidates, question, k=k, budget=budget, cost_power=cost_power)


def batch_in_order(
    fit: FitRecord,
    candidates: Any,
    question: DesignQuestion | None = None,
    *,
    order: Any,
    k: int,
    budget: float | None = None,
) -> xr.Dataset:
    """The runs of ``order`` (rows of ``candidates``), taken in that order, as :func:`choose_batch`.

    Runs that no longer fit in what is left of ``budget`` are skipped; taking stops after ``k``
    runs. Each pick is scored with the same shared fantasies as :func:`choose_batch` (``score``
    per unit cost), so a fixed rule, such as the largest runs that fit, can be compared with the
    greedy batches on their expected objective after.
    """
    rows = np.asarray(order, dtype=int).reshape(-1)
    return _batch(fit, candidates, question, k=k, budget=budget, cost_power=1.0, order=rows)


def _batch(fit, candidates, question, *, k, budget, cost_power, order=None) -> xr.Dataset:
    """Greedy picks by score, or (``order``) the next row of ``order`` that fits."""
    if int(k) != k or int(k) < 1:
        raise QuestionError(f"k must be a whole number of runs >= 1, not {k!r}")
    if budget is not None and not (np.isfinite(budget) and budget > 0):
        raise QuestionError(f"budget must be a positive cost (e.g. 1e21 FLOPs), not {budget!r}")
    question = DesignQuestion.of(question)
    objective = question.objective
    fit_, inputs, cost, problem, info = _setup(fit, candidates, question)
    if order is not None and not np.all((order >= 0) & (order < cost.size)):
        raise QuestionError(f"order must hold rows of the {cost.size} candidates, not {order!r}")
    weight = cost_weight(cost, cost_power)
    base = np.zeros((problem.y.shape[0], problem.log_mu.shape[0]))
    left = np.inf if budget is None else float(budget)
    chosen: list[int] = []
    rows: dict[str, list[float]] = {}
    key = objective
    now = _objectives(problem, _normalise(base[:, None, :]), objective)[key].mean()
    F, S = base.shape
    cache = None
    if F * S * cost.size <= _CACHE and int(k) > 1:  # every step reuses the log-likelihoods
        cache = _loglik(problem, np.arange(cost.size)).astype(np.float32)
    for _ in range(int(k)):
        rows_left = range(cost.size) if order is None else order
        pool = np.array([i for i in rows_left if i not in chosen and cost[i] <= left], dtype=int)
        if not pool.size:
            break
        if order is not None:
            pool = pool[:1]
        after = _evaluate(problem, base, pool, objective, cache)
        score = (now - after[key]) / weight[pool]
        best = int(np.argmax(np.where(np.isfinite(score), score, -np.inf)))
        pick = int(pool[best])
        _warn_ess(after["ess"][best : best + 1], np.array([pick]))
        chosen.append(pick)
        left -= cost[pick]
        base = base + _loglik(problem, np.array([pick]))[..., 0]
        now = float(after[key][best])
        for name in ("width", "variance", "regret", "ess"):
            if name in after:
                rows.setdefault(name, []).append(float(after[name][best]))
        rows.setdefault("score", []).append(float(score[best]))
    if not chosen:
        raise QuestionError(
            f"no candidate fits in the budget {budget:g}; the cheapest costs {cost.min():g}"
        )
    picks = np.array(chosen)
    variables = {
        "score": (np.array(rows["score"]), "expected reduction per cost ** power at the pick"),
        "expected_width_after": (np.array(rows["width"]), "expected width after the picks"),
        "expected_variance_after": (np.array(rows["variance"]), "expected variance after"),
        "cumulative_cost": (np.cumsum(cost[picks]), "cost of the picks so far"),
        "ess": (np.array(rows["ess"]), "mean effective draws of the weights over fantasies"),
    }
    if objective == "regret":
        variables["expected_regret_after"] = (np.array(rows["regret"]), "expected regret after")
    attrs = {"k": int(k), "budget": float(budget) if budget is not None else float("inf")}
    attrs["ci"] = problem.ci
    if order is None:
        attrs["cost_power"] = float(cost_power)
    name = "choose_batch" if order is None else "batch_in_order"
    return _dataset(fit_, inputs, cost, picks, variables, info, attrs, name, "pick")


def _setup(fit, candidates, question: DesignQuestion):
    if getattr(fit, "pooling", None) is not None:
        raise QuestionError(
            "rank runs for one group of a pooled fit: rank_candidates(group_fit(fit, GROUP), ...)"
        )
    q = question
    law = fit.law
    k = flops_per_token(fit)
    inputs, cost = candidate_inputs(law, candidates, flops_per_token=k)
    values, info = target_values(fit, q.target, q.compute, q.N, q.D, q.loss_target)
    flat = values.reshape(-1)
    valid = np.isfinite(flat)
    if valid.sum() < 10:
        raise QuestionError("the target is undefined for almost every draw; check its inputs")
    order = np.flatnonzero(valid)[np.argsort(flat[valid], kind="stable")]
    grid = None
    if q.objective == "regret":
        grid, best = regret_grid(fit, q.compute)
        gap = np.nan_to_num(grid[order] - best[order, None], nan=0.0, posinf=0.0)
        grid = np.maximum(gap, 0.0)
    mu = law.evaluate(params_of(fit), {c: inputs[c][None, None, :] for c in law.inputs})
    scale = fit.target_scale
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mu = scale.forward(mu).reshape(-1, cost.size)
    noise = {n: v.reshape(-1, 1) for n, v in fit.noise_draws(extra_dims=1).items()}
    rng = np.random.default_rng(fit.seed + 11 if q.seed is None else q.seed)
    truth = rng.choice(flat.size, size=q.n_fantasies)
    eps = fit.noise.draw(rng, {n: v[truth] for n, v in noise.items()}, (truth.size, cost.size))
    y = log_mu[truth] + eps
    log_mu = log_mu[order]
    noise = {n: v[order] for n, v in noise.items()}
    y = np.where(np.isfinite(y), y, np.nan)
    problem = _Problem(flat[order], order, grid, y, log_mu, noise, fit.noise, q.ci)
    info.update(n_fantasies=q.n_fantasies, flops_per_token=k, objective=q.objective)
    info["n_draws"] = int(valid.sum())
    return fit, inputs, cost, problem, (values, info)


def _loglik(problem: _Problem, idx: np.ndarray) -> np.ndarray:
    """Log-likelihood of each draw for the fantasies of candidates ``idx``: (F, S, len(idx))."""
    y = problem.y[:, None, idx]  # (F, 1, m)
    log_mu = problem.log_mu[None, :, idx]  # (1, S, m)
    noise = {n: v[None, :, :] for n, v in problem.noise.items()}  # (1, S, 1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        ll = problem.model.logpdf(y, log_mu, noise)
    return np.where(np.isfinite(ll), ll, -np.inf)


def _normalise(logw: np.ndarray) -> np.ndarray:
    """Weights summing to one over the last axis from log-weights (NaN counts as -inf)."""
    logw = np.where(np.isnan(logw), -np.inf, logw)
    top = np.max(logw, axis=-1, keepdims=True)
    w = np.exp(logw - np.where(np.isfinite(top), top, 0.0))
    total = w.sum(axis=-1, keepdims=True)
    return np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / logw.shape[-1])


def _objectives(problem: _Problem, w: np.ndarray, objective: str) -> dict[str, np.ndarray]:
    """Width, variance (and regret) of weighted draws ``w`` (..., S)."""
    q = problem.values
    lo, hi = weighted_interval(q, w, ci=problem.ci)
    mean = w @ q
    out = {"width": hi - lo, "variance": np.maximum(w @ (q * q) - mean**2, 0.0)}
    if objective == "regret":  # regret of the N minimising the weighted expected loss
        flat = w.reshape(-1, q.size)
        regret = np.min(flat @ problem.loss_gap, axis=-1)
        out["regret"] = regret.reshape(w.shape[:-1])
    return out


def _evaluate(problem: _Problem, base: np.ndarray, idx: np.ndarray, objective: str, cache=None):
    """Mean over fantasies of each objective after adding candidate ``i`` in ``idx``.

    ``cache``: the log-likelihoods of every candidate (F, S, M) when they fit in memory.
    """
    F, S = base.shape
    step = max(1, _CHUNK // (F * S))
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, idx.size, step):
        chunk = idx[start : start + step]
        ll = _loglik(problem, chunk) if cache is None else cache[:, :, chunk]
        w = _normalise(base[:, None, :] + np.moveaxis(ll, 1, 2))  # (F, m, S)
        res = _objectives(problem, w, objective)
        ess = 1.0 / np.sum(w * w, axis=-1)
        res = {k: v.mean(axis=0) for k, v in res.items()}
        res["ess"], res["ess_min"] = ess.mean(axis=0), ess.min(axis=0)
        for key, v in res.items():
            parts.setdefault(key, []).append(v)
    return {key: np.concatenate(v) for key, v in parts.items()}


def _warn_ess(ess: np.ndarray, rows: np.ndarray) -> None:
    low = ess < ESS_WARN
    if low.any():
        warnings.warn(
            f"{int(low.sum())} candidate(s) (rows {rows[low][:5].tolist()}) keep fewer than "
            f"{ESS_WARN:g} effective draws after a fantasised run (smallest {ess.min():.0f}): "
            "their expected widths are too optimistic; refit with more draws before trusting them",
            DesignWarning,
            stacklevel=3,
        )


def _dataset(fit, inputs, cost, rows, variables, info, attrs, question, dim) -> xr.Dataset:
    values, facts = info
    coords: dict[str, Any] = {**draw_coords(fit)}
    if dim == "pick":
        coords["pick"] = np.arange(rows.size)
        coords["candidate"] = ("pick", rows)
    else:
        coords["candidate"] = rows
    for name, arr in inputs.items():
        coords[name] = (dim, np.asarray(arr, dtype=float)[rows])
    coords["cost"] = (dim, cost[rows])
    if facts.get("compute") is not None:
        coords["compute"] = facts["compute"]
    data = {}
    for name, (arr, label) in variables.items():
        arr = np.asarray(arr, dtype=float)
        data[name] = ((dim,), arr if dim == "pick" else arr[rows], {"long_name": label})
    labels = {
        "loss": "expected loss mu at the target now",
        "optimal": "log N_opt at the target budget now",
        "probability": "P(observed loss <= loss_target) per draw now",
    }
    data["value"] = (("chain", "draw"), values, {"long_name": labels[facts["target"]]})
    if "D_opt" in facts:
        data["D_opt"] = (("chain", "draw"), facts["D_opt"], {"long_name": "D_opt now"})
    ds = xr.Dataset(data, coords=coords)
    plain = {k: v for k, v in facts.items() if np.ndim(v) == 0 and v is not None}
    ds.attrs.update(question=question, law=fit.law.name, **plain, **attrs)
    return ds
