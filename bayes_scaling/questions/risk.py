"""Allocations that account for risk or for inference: the decision, not each draw's optimum.

* :func:`risk_optimal_allocation` — at a budget C, one model size N chosen to minimise a risk
  measure of the expected loss over the posterior: its mean, its VaR (the ``level`` quantile) or
  its CVaR (the mean of the worst ``1 - level`` tail, Rockafellar & Uryasev 2000).
* :func:`inference_aware_allocation` — N and D that reach a target loss with the fewest lifetime
  FLOPs, training ``k N D`` plus inference ``2 N D_inf`` (Sardana et al. 2024, "Beyond
  Chinchilla-Optimal", arXiv:2401.00448).

Both are re-exported by :mod:`bayes_scaling.questions.budget`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import check_probability
from bayes_scaling.questions.allocation import (
    allocate,
    budget_inputs,
    check_positive,
    compute_needed_draws,
    draw_coords,
    flops_per_token,
    is_chinchilla,
    loss_on_budget,
    params_of,
    require_allocation_law,
)
from bayes_scaling.questions.minimize import minimize_bracketed, minimize_local
from bayes_scaling.questions.optimal import optimal_allocation

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

RISKS = ("mean", "var", "cvar")
#: Draws used by the coarse search of the risk-optimal N (all draws are used to refine it)
#: when draws x budgets exceed FULL_SEARCH_SIZE; smaller problems search with every draw.
COARSE_DRAWS = 512
FULL_SEARCH_SIZE = 200_000


def risk_measure(loss: np.ndarray, *, risk: str, level: float) -> np.ndarray:
    """Risk of ``loss`` over draws on axis 0: mean, VaR (``level`` quantile) or CVaR.

    VaR uses the inverted-CDF quantile; CVaR averages the ``ceil((1 - level) n)`` largest draws.
    Non-finite losses count as +inf.
    """
    loss = np.where(np.isfinite(loss), loss, np.inf)
    n = loss.shape[0]
    if risk == "mean":
        return loss.mean(axis=0)
    if risk == "var":
        i = min(n - 1, max(0, int(np.ceil(level * n - 1e-9)) - 1))
        return np.partition(loss, i, axis=0)[i]
    tail = max(1, int(np.ceil((1.0 - level) * n - 1e-9)))
    return np.partition(loss, n - tail, axis=0)[n - tail :].mean(axis=0)


def _check_risk(risk: str, level: Any) -> float:
    if risk not in RISKS:
        raise QuestionError(
            f"risk must be one of {', '.join(RISKS)} (mean, value at risk, conditional value "
            f"at risk), not {risk!r}"
        )
    level_arr = check_probability(level, "level")
    if level_arr.ndim != 0:
        raise QuestionError(f"level must be one number in (0, 1), not {level!r}")
    return float(level_arr)


class _Objective:
    """Risk of the loss over draws at trial log N per budget; remembers each budget's best point
    and the per-draw losses there, so the answer needs no extra evaluation."""

    def __init__(self, law, params, C, k, U, *, risk, level):
        self.law, self.params, self.C, self.k, self.U = law, params, C, k, U
        self.risk, self.level = risk, level
        self.x = self.value = self.loss = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        loss = loss_on_budget(self.law, self.params, self.C, x[None, :], k=self.k, U=self.U)
        value = risk_measure(loss, risk=self.risk, level=self.level)
        if self.value is None:
            self.x, self.value, self.loss = x.copy(), value.copy(), loss.copy()
        else:
            better = value < self.value
            self.x[better] = x[better]
            self.value[better] = value[better]
            self.loss[:, better] = loss[:, better]
        return value


def _risk_argmin(law, flat, C, k, U, lo, hi, *, risk, level, refine=True):
    """log N minimising the risk over draws at each budget, its risk and the per-draw losses.

    Large problems search on a thinned set of draws first, then refine with every draw (or,
    with ``refine=False``, only evaluate every draw at the thinned optimum).
    """
    n = next(iter(flat.values())).shape[0]
    full = _Objective(law, flat, C, k, U, risk=risk, level=level)
    if n > COARSE_DRAWS and n * np.size(lo) > FULL_SEARCH_SIZE:
        idx = np.unique(np.linspace(0, n - 1, COARSE_DRAWS).astype(int))
        coarse = _Objective(
            law, {p: v[idx] for p, v in flat.items()}, C, k, U, risk=risk, level=level
        )
        x0, _ = minimize_bracketed(coarse, lo, hi, width=0.01, polish=1)
        if refine:
            minimize_local(full, x0, step=0.04, polish=1, max_shifts=3)
        else:
            full(x0)
    else:
        minimize_bracketed(full, lo, hi, width=0.01, polish=3)
    return full.x, full.value, full.loss


def risk_optimal_allocation(
    fit: FitRecord,
    *,
    compute: Any,
    risk: str = "mean",
    level: float = 0.9,
    unique_tokens: Any = None,
) -> xr.Dataset:
    """One model size per budget minimising a risk measure of the loss over the posterior.

    Parameters
    ----------
    compute : float or sequence of float
        Budgets C in FLOPs.
    risk : {"mean", "var", "cvar"}
        ``mean``: expected loss averaged over draws; ``var``: the ``level`` quantile of the
        loss (value at risk); ``cvar``: the mean loss of the worst ``1 - level`` fraction of
        draws (conditional value at risk).
    level : float
        In (0, 1); used by ``var`` and ``cvar``.
    unique_tokens : float, optional
        Unique tokens (laws with U).

    Returns
    -------
    xr.Dataset
        On dim ``compute``: ``N_opt``, ``D_opt``, ``tokens_per_param``, ``risk_value`` (the risk
        at the chosen N) and, for comparison, ``N_mean_opt`` (mean-optimal N; for large
        problems found on a thinned set of 512 draws when ``risk`` is not ``mean``) with
        ``risk_value_mean_opt`` (the same risk measure at that N, over every draw). Per draw
        (``chain``, ``draw``, ``compute``): ``loss`` at the chosen N and ``loss_mean_opt``.
    """
    law = fit.law
    require_allocation_law(law, "a risk-optimal allocation")
    level = _check_risk(risk, level)
    C = np.atleast_1d(check_positive("compute", compute))
    k = flops_per_token(fit)
    U = None if unique_tokens is None else float(check_positive("unique_tokens", unique_tokens))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        per_draw = optimal_allocation(fit, compute=C, unique_tokens=unique_tokens)
    log_n = np.log(per_draw["N_opt"].values.reshape(-1, C.size))
    if np.isnan(log_n).all(axis=0).any():
        raise QuestionError(
            f"law {law.name!r} has no compute-optimal model size at some of these budgets; a "
            "risk-optimal allocation needs one"
        )
    lo, hi = np.nanmin(log_n, axis=0), np.nanmax(log_n, axis=0)
    pad = np.maximum(0.25, 0.25 * (hi - lo))
    lo, hi = lo - pad, hi + pad
    params = params_of(fit)
    shape = next(iter(params.values())).shape[:2]
    flat = {p: v.reshape(-1, 1) for p, v in params.items()}
    Cr = C[None, :]
    x, value, loss = _risk_argmin(law, flat, Cr, k, U, lo, hi, risk=risk, level=level)
    if risk == "mean":
        x_mean, value_mean, loss_mean = x, value, loss
    else:
        x_mean, _, loss_mean = _risk_argmin(
            law, flat, Cr, k, U, lo, hi, risk="mean", level=level, refine=False
        )
        value_mean = risk_measure(loss_mean, risk=risk, level=level)
        # a tail measure is only piecewise smooth: never return worse than the mean optimum
        worse = value_mean < value
        x = np.where(worse, x_mean, x)
        value = np.where(worse, value_mean, value)
        loss = np.where(worse[None, :], loss_mean, loss)
    loss = loss.reshape(*shape, C.size)
    loss_mean = loss_mean.reshape(*shape, C.size)
    N, N_mean = np.exp(x), np.exp(x_mean)
    D = C / (k * N)
    dims = ("chain", "draw", "compute")
    ds = xr.Dataset(
        {
            "N_opt": (("compute",), N, {"long_name": f"{risk}-optimal parameters"}),
            "D_opt": (("compute",), D, {"long_name": f"{risk}-optimal tokens"}),
            "tokens_per_param": (("compute",), D / N),
            "risk_value": (("compute",), value, {"long_name": f"{risk} of the loss at N_opt"}),
            "N_mean_opt": (("compute",), N_mean, {"long_name": "mean-optimal parameters"}),
            "risk_value_mean_opt": (("compute",), value_mean),
            "loss": (dims, loss, {"long_name": "expected loss (mu) at N_opt"}),
            "loss_mean_opt": (dims, loss_mean, {"long_name": "expected loss (mu) at N_mean_opt"}),
        },
        coords={**draw_coords(fit), "compute": C},
    )
    ds.attrs.update(question="risk_optimal", risk=risk, level=level, law=law.name)
    return ds


def _chinchilla_inference_optimum(params, target, d_inf, *, k: float):
    """N, D minimising ``k N D + 2 N d_inf`` on Chinchilla's iso-loss curve ``L(N, D) = target``.

    With ``u = A N^-alpha``, ``w = B D^-beta`` and ``R = target - E = u + w``, the first-order
    condition is ``alpha u / (beta w) = 1 + 2 d_inf / (k D)``. Writing ``w = R s`` it becomes
    ``psi(s) = a - b s - c s^p = 0`` with ``a = alpha / beta``, ``b = a + 1``,
    ``p = 1 + 1 / beta`` and ``c = (2 d_inf / k) (R / B)^(1/beta)``. ``psi`` is concave and
    decreasing, so Newton's method started right of the root, at ``min(a / b, (a / c)^(1/p))``,
    converges monotonically. ``d_inf = 0`` gives Chinchilla's ``s = alpha / (alpha + beta)``.
    """
    E, A, B, al, be = (params[p] for p in ("E", "A", "B", "alpha", "beta"))
    R = target - E
    ok = R > 0
    R = np.where(ok, R, 1.0)
    a, p = al / be, 1.0 + 1.0 / be
    b = a + 1.0
    with np.errstate(divide="ignore"):
        log_c = np.log(2.0 * d_inf / k) + (np.log(R) - np.log(B)) / be
    s = np.minimum(a / b, np.exp((np.log(a) - log_c) / p))
    for _ in range(50):
        log_s = np.log(s)
        cs = np.exp(log_c + p * log_s)  # c s^p
        step = (a - b * s - cs) / (-b - p * cs / s)
        s = s - step
        if np.all(np.abs(step) <= 1e-13 * s):
            break
    w, u = R * s, R * (1.0 - s)
    N = np.exp((np.log(A) - np.log(u)) / al)
    D = np.exp((np.log(B) - np.log(w)) / be)
    return np.where(ok, N, np.nan), np.where(ok, D, np.nan)


def _tokens_for_loss(law, params, N, target, *, k: float) -> np.ndarray:
    """Per draw, the D at which the law at N reaches ``target`` (inf if never), by bisection."""
    shape = np.broadcast_shapes(np.shape(N), target.shape, *(np.shape(v) for v in params.values()))
    lo = np.zeros(shape)
    hi = np.full(shape, np.log(1e40))
    reach = law.evaluate(params, budget_inputs(law, N, np.exp(hi), k=k)) <= target
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        ok = law.evaluate(params, budget_inputs(law, N, np.exp(mid), k=k)) <= target
        hi = np.where(ok, mid, hi)
        lo = np.where(ok, lo, mid)
    return np.where(reach, np.exp(hi), np.inf)


def inference_aware_allocation(
    fit: FitRecord, *, target: float, inference_tokens: Any
) -> xr.Dataset:
    """N and D reaching expected loss ``target`` with the fewest lifetime FLOPs, per draw.

    Minimises ``k N D + 2 N D_inf`` subject to ``L(N, D) = target`` (Sardana et al. 2024): with
    many inference tokens ``D_inf`` a smaller model trained on more tokens is cheaper overall.

    Parameters
    ----------
    target : float
        Target expected loss.
    inference_tokens : float or sequence of float
        Lifetime inference tokens ``D_inf`` (>= 0; 0 gives the compute-optimal allocation).

    Returns
    -------
    xr.Dataset
        Per draw (``chain``, ``draw`` and, for a sequence, ``inference_tokens``): ``N``, ``D``,
        ``tokens_per_param``, ``training_compute``, ``inference_compute``, ``total_compute``,
        the compute-optimal comparison ``N_compute_optimal``, ``D_compute_optimal``,
        ``total_compute_optimal`` and ``compute_saving`` (1 - total / its compute-optimal
        value); NaN where the draw cannot reach the target; ``p_reachable``.
    """
    law = fit.law
    require_allocation_law(law, "an inference-aware allocation")
    t = check_positive("target", target)
    if t.ndim:
        raise QuestionError("target must be one number here; call it once per target")
    t = float(t)
    try:
        inf_arr = np.asarray(inference_tokens, dtype=float)
    except (TypeError, ValueError):
        raise QuestionError(f"inference_tokens must be numbers, not {inference_tokens!r}") from None
    flat = np.atleast_1d(inf_arr)
    if inf_arr.ndim > 1 or flat.size == 0 or not (np.isfinite(flat) & (flat >= 0)).all():
        raise QuestionError(
            f"inference_tokens must be finite and >= 0 (e.g. 2e12); got {inference_tokens!r}"
        )
    k = flops_per_token(fit)
    params = params_of(fit)
    d_inf = flat[None, None, :]
    target_arr = np.full(next(iter(params.values())).shape, t)
    if is_chinchilla(law):
        N_c, D_c = _chinchilla_inference_optimum(params, target_arr, np.zeros(1), k=k)
        N, D = _chinchilla_inference_optimum(params, target_arr, d_inf, k=k)
        reach = np.isfinite(N_c)
    else:
        needed = compute_needed_draws(fit, np.array([t]), k=k)  # (chain, draw, 1)
        reach = np.isfinite(needed)
        N_c, D_c, _, _ = allocate(law, params, np.where(reach, needed, 1.0), k=k)

        def objective(x):
            N = np.exp(x)
            D = _tokens_for_loss(law, params, N, target_arr, k=k)
            total = k * N * D + 2.0 * N * d_inf
            return np.where(np.isfinite(total), np.log(total), 1e6 - x)

        hi = np.broadcast_to(np.log(N_c), (*reach.shape[:2], flat.size))
        x, _ = minimize_bracketed(objective, hi - 12.0, hi, width=0.01, polish=3)
        N = np.where(reach, np.exp(x), np.nan)
        D = np.where(reach, _tokens_for_loss(law, params, N, target_arr, k=k), np.nan)
        N_c = np.where(reach, N_c, np.nan)
        D_c = np.where(reach, D_c, np.nan)
    N, D = np.broadcast_arrays(N, D)
    train, infer = k * N * D, 2.0 * N * d_inf
    total_c = k * N_c * D_c + 2.0 * N_c * d_inf
    variables = {
        "N": (N, "params"),
        "D": (D, "tokens"),
        "tokens_per_param": (D / N, ""),
        "training_compute": (train, "FLOPs"),
        "inference_compute": (infer, "FLOPs"),
        "total_compute": (train + infer, "FLOPs"),
        "N_compute_optimal": (np.broadcast_to(N_c, N.shape), "params"),
        "D_compute_optimal": (np.broadcast_to(D_c, N.shape), "tokens"),
        "total_compute_optimal": (total_c, "FLOPs"),
        "compute_saving": (1.0 - (train + infer) / total_c, ""),
    }
    scalar = inf_arr.ndim == 0
    dims = ("chain", "draw") if scalar else ("chain", "draw", "inference_tokens")
    data = {
        name: (dims, v[..., 0] if scalar else v, {"units": u} if u else {})
        for name, (v, u) in variables.items()
    }
    data["p_reachable"] = ((), float(reach.mean()))
    coords: dict[str, Any] = {**draw_coords(fit), "target": t}
    coords["inference_tokens"] = float(flat[0]) if scalar else ("inference_tokens", flat)
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(question="inference_aware", law=law.name, flops_per_token=k)
    return ds
