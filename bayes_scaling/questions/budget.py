"""Risk-aware budgets: how much compute buys a target loss, and with what probability.

Every answer is a numpy function of the posterior draws (dims ``chain``, ``draw``):

* :func:`prob_below_target` — P(loss <= target | C) along the compute-optimal frontier or at a
  fixed N; expected loss ``mu`` by default, a new run's observed loss with ``predictive=True``;
* :func:`compute_for_target` — per draw, the budget whose optimal allocation reaches the target
  (closed form for chinchilla, root finding otherwise), ``inf`` where the draw's irreducible loss
  is above the target, with ``p_reachable``;
* :func:`compute_at_probability` — the budget at which P(loss <= target) reaches ``p``;
* :func:`risk_optimal_allocation` — N minimising the mean, VaR or CVaR of the loss over draws;
* :func:`inference_aware_allocation` — N, D minimising training plus lifetime inference FLOPs at
  a target loss (Sardana et al. 2024, arXiv:2401.00448);
* :func:`data_constrained_allocation` — the optimum when unique tokens are limited (Muennighoff
  et al. 2023, arXiv:2305.16264);
* :class:`CostModel` — FLOPs to accelerator-hours and money.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import check_probability
from bayes_scaling.questions.allocation import (
    COMPUTE_SEARCH_RANGE,
    allocate,
    broadcast_to_budgets,
    budget_inputs,
    check_positive,
    compute_needed_draws,
    draw_coords,
    flops_per_token,
    is_chinchilla,
    params_of,
    require_allocation_law,
)
from bayes_scaling.questions.costs import CostModel
from bayes_scaling.questions.noise import discrepancy_moments, predictive_probability
from bayes_scaling.questions.optimal import optimal_allocation
from bayes_scaling.questions.risk import inference_aware_allocation, risk_optimal_allocation

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

__all__ = [
    "CostModel",
    "compute_at_probability",
    "compute_for_target",
    "compute_needed_draws",
    "data_constrained_allocation",
    "inference_aware_allocation",
    "prob_below_target",
    "risk_optimal_allocation",
]


def _target_dims(arr: np.ndarray) -> tuple[np.ndarray, bool]:
    return np.atleast_1d(arr), arr.ndim == 0


def _reachability(needed: np.ndarray) -> np.ndarray:
    return np.isfinite(needed).mean(axis=(0, 1))


def compute_for_target(fit: FitRecord, *, target: Any, unique_tokens: Any = None) -> xr.Dataset:
    """Per-draw compute needed to reach an expected loss ``target`` along the optimal frontier.

    Parameters
    ----------
    fit : FitRecord
    target : float or sequence of float
        Target expected losses (``mu``).
    unique_tokens : float, optional
        Unique tokens available (laws with U, e.g. ``data_constrained``).

    Returns
    -------
    xr.Dataset
        ``compute_needed`` (FLOPs; ``inf`` where the draw never reaches the target),
        ``N_opt``, ``D_opt`` (the allocation at that budget; NaN when unreachable), dims
        ``chain``, ``draw`` (plus ``target`` for a sequence), and ``p_reachable``, the fraction
        of draws that can reach the target at all.
    """
    law = fit.law
    require_allocation_law(law, "the compute for a target loss")
    arr, scalar = _target_dims(check_positive("target", target))
    _check_unique(law, unique_tokens)
    k = flops_per_token(fit)
    needed = compute_needed_draws(fit, arr[None, None, :], k=k, unique_tokens=unique_tokens)
    finite = np.isfinite(needed)
    safe = np.where(finite, needed, 1.0)
    U = None if unique_tokens is None else float(unique_tokens)
    N, D, _, _ = allocate(law, params_of(fit), safe, k=k, U=U)
    N, D = np.where(finite, N, np.nan), np.where(finite, D, np.nan)
    method = "closed_form" if is_chinchilla(law) and U is None else "numeric"
    ds = _with_target(
        {
            "compute_needed": (
                needed,
                {"long_name": "compute needed along the optimal frontier", "units": "FLOPs"},
            ),
            "N_opt": (N, {"units": "params"}),
            "D_opt": (D, {"units": "tokens"}),
        },
        fit,
        arr,
        scalar,
    )
    reach = _reachability(needed)
    ds["p_reachable"] = ((), float(reach[0])) if scalar else (("target",), reach)
    ds.attrs.update(question="compute_for_target", method=method, law=law.name)
    return ds


def _check_unique(law, unique_tokens) -> None:
    if unique_tokens is None:
        return
    if "U" not in law.inputs:
        raise QuestionError(
            f"unique_tokens needs a law with a U input (e.g. data_constrained); law "
            f"{law.name!r} takes {', '.join(law.inputs)}"
        )
    value = check_positive("unique_tokens", unique_tokens)
    if value.ndim:
        raise QuestionError("unique_tokens must be a single number for a budget question")


def _with_target(variables, fit, arr, scalar) -> xr.Dataset:
    coords: dict[str, Any] = dict(draw_coords(fit))
    out = {}
    for name, (values, attrs) in variables.items():
        if scalar:
            out[name] = (("chain", "draw"), values[..., 0], attrs)
        else:
            out[name] = (("chain", "draw", "target"), values, attrs)
    coords["target"] = float(arr[0]) if scalar else ("target", arr)
    return xr.Dataset(out, coords=coords)


def prob_below_target(
    fit: FitRecord,
    *,
    target: Any,
    compute: Any,
    N: Any = None,
    predictive: bool = False,
    unique_tokens: Any = None,
) -> xr.Dataset:
    """P(loss <= target) at each budget, along the compute-optimal frontier or at a fixed N.

    Parameters
    ----------
    target : float or sequence of float
    compute : float or sequence of float
        Budgets C in FLOPs.
    N : float or sequence, optional
        Fixed model size (one, or one per budget); default: each draw's optimal N.
    predictive : bool
        False: probability that the expected loss ``mu`` is below the target (parameter
        uncertainty). True: that a new run's observed loss ``y`` is (adds the fitted noise on
        log loss: exactly for Normal noise, with 16 noise draws per posterior draw for
        Student-t noise).

    Returns
    -------
    xr.Dataset
        ``probability`` (dims ``compute`` and, for a sequence of targets, ``target``) and
        ``loss``, the expected loss per draw at each budget (dims ``chain``, ``draw``,
        ``compute``).
    """
    law = fit.law
    require_allocation_law(law, "P(loss <= target)")
    t_arr, scalar = _target_dims(check_positive("target", target))
    C = np.atleast_1d(check_positive("compute", compute))
    _check_unique(law, unique_tokens)
    k = flops_per_token(fit)
    if N is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            alloc = optimal_allocation(fit, compute=C, unique_tokens=unique_tokens)
        loss, N_draws = alloc["loss"].values, alloc["N_opt"].values
        N_coord = None
    else:
        N_ = np.atleast_1d(check_positive("N", N))
        C_b, N_ = broadcast_to_budgets("N", N_, C)
        C = np.array(C_b)
        U = None if unique_tokens is None else float(unique_tokens)
        inputs = budget_inputs(law, N_[None, None, :], (C / (k * N_))[None, None, :], k=k, U=U)
        loss = law.evaluate(params_of(fit), inputs)
        N_draws = inputs["N"]
        N_coord = N_
    mu = loss[..., None]
    t = t_arr[None, None, None, :]
    if predictive:
        extra = discrepancy_moments(fit, {"N": N_draws, "D": C / (k * N_draws), "C": C})
        prob = predictive_probability(fit, mu, t, extra=extra)
    else:
        below = np.where(np.isnan(mu), np.nan, (mu <= t).astype(float))
        prob = np.nanmean(below, axis=(0, 1))
    coords: dict[str, Any] = {**draw_coords(fit), "compute": C}
    if N_coord is not None:
        coords["N"] = ("compute", N_coord)
    pdims: tuple[str, ...] = ("compute", "target")
    if scalar:
        prob, pdims = prob[:, 0], ("compute",)
        coords["target"] = float(t_arr[0])
    else:
        coords["target"] = ("target", t_arr)
    kind = "observed loss y (with noise)" if predictive else "expected loss mu"
    ds = xr.Dataset(
        {
            "probability": (pdims, prob, {"long_name": f"P({kind} <= target)"}),
            "loss": (("chain", "draw", "compute"), loss, {"long_name": "expected loss (mu)"}),
        },
        coords=coords,
    )
    ds.attrs.update(question="prob_below_target", predictive=int(bool(predictive)), law=law.name)
    return ds


def _inverted_cdf(sorted_draws: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Smallest value v with P(draw <= v) >= p (inf when not reached)."""
    n = sorted_draws.size
    idx = np.ceil(p * n).astype(int) - 1
    return sorted_draws[np.clip(idx, 0, n - 1)]


def compute_at_probability(
    fit: FitRecord,
    *,
    target: float,
    probability: Any,
    unique_tokens: Any = None,
    curve_points: int = 50,
) -> xr.Dataset:
    """Budget at which P(expected loss <= target) reaches ``probability``, and its allocation.

    Each draw's frontier loss falls with C, so P(loss <= target | C) = P(C_needed <= C): the
    answer is the ``probability`` quantile of the per-draw compute needed
    (:func:`compute_for_target`), ``inf`` when ``probability`` exceeds ``p_reachable``.

    Returns
    -------
    xr.Dataset
        ``compute``, ``N`` (median optimal N over draws at that budget) and ``D`` (``C / (k N)``)
        on dim ``probability`` (scalar for one probability); ``N_opt`` per draw at that budget;
        ``compute_needed`` per draw; ``p_reachable``; and the curve ``curve_probability`` of
        P(loss <= target) over ``curve_compute``.
    """
    law = fit.law
    require_allocation_law(law, "the compute at a probability")
    t = check_positive("target", target)
    if t.ndim:
        raise QuestionError("target must be one number here; call it once per target")
    p_arr = check_probability(probability)
    scalar = p_arr.ndim == 0
    p = np.atleast_1d(p_arr)
    _check_unique(law, unique_tokens)
    k = flops_per_token(fit)
    needed = compute_needed_draws(fit, np.array([float(t)]), k=k, unique_tokens=unique_tokens)
    needed = needed[..., 0]
    sorted_draws = np.sort(needed.ravel())
    C_p = _inverted_cdf(sorted_draws, p)
    finite = np.isfinite(C_p)
    U = None if unique_tokens is None else float(unique_tokens)
    N_draws, _, _, _ = allocate(law, params_of(fit), np.where(finite, C_p, 1.0), k=k, U=U)
    N_draws = np.where(finite, np.broadcast_to(N_draws, needed.shape + p.shape), np.nan)
    N_med = np.full(p.shape, np.nan)
    if finite.any():
        N_med[finite] = np.nanmedian(N_draws[..., finite], axis=(0, 1))
    D_med = C_p / (k * N_med)
    reach = float(np.isfinite(needed).mean())
    ok = sorted_draws[np.isfinite(sorted_draws)]
    if ok.size:
        lo, hi = np.quantile(ok, [0.01, 1.0])
        curve_c = np.geomspace(lo / 2.0, hi * 2.0, int(curve_points))
    else:
        curve_c = np.geomspace(*COMPUTE_SEARCH_RANGE, int(curve_points))
    curve_p = np.searchsorted(sorted_draws, curve_c, side="right") / sorted_draws.size
    pdim: tuple[str, ...] = () if scalar else ("probability",)
    sel = (lambda a: a[..., 0]) if scalar else (lambda a: a)
    coords: dict[str, Any] = {
        **draw_coords(fit),
        "probability": float(p[0]) if scalar else ("probability", p),
        "target": float(t),
        "curve_compute": curve_c,
    }
    ds = xr.Dataset(
        {
            "compute": (pdim, sel(C_p), {"units": "FLOPs"}),
            "N": (pdim, sel(N_med), {"long_name": "median compute-optimal N at that budget"}),
            "D": (pdim, sel(D_med), {"long_name": "tokens C / (k N)"}),
            "N_opt": (("chain", "draw", *pdim), sel(N_draws), {"units": "params"}),
            "compute_needed": (("chain", "draw"), needed, {"units": "FLOPs"}),
            "p_reachable": ((), reach),
            "curve_probability": (("curve_compute",), curve_p),
        },
        coords=coords,
    )
    ds.attrs.update(question="compute_at_probability", law=law.name)
    return ds


def data_constrained_allocation(fit: FitRecord, *, compute: Any, unique_tokens: Any) -> xr.Dataset:
    """Compute-optimal allocation when only ``unique_tokens`` distinct tokens exist.

    Needs a law with a U input (``data_constrained``, Muennighoff et al. 2023). Returns the
    variables of :func:`~bayes_scaling.questions.optimal.optimal_allocation` plus ``epochs`` (D_opt
    / U),
    ``loss_unconstrained`` (optimum with unlimited unique data) and ``extra_loss`` (the price of
    the data limit), dims ``chain``, ``draw``, ``compute``.
    """
    law = fit.law
    require_allocation_law(law, "a data-constrained allocation")
    if "U" not in law.inputs:
        raise QuestionError(
            f"a data-constrained allocation needs a law with unique tokens U (data_constrained); "
            f"law {law.name!r} takes {', '.join(law.inputs)}"
        )
    check_positive("unique_tokens", unique_tokens)
    ds = optimal_allocation(fit, compute=compute, unique_tokens=unique_tokens)
    free = optimal_allocation(fit, compute=compute)
    U = np.broadcast_to(ds["unique_tokens"].values, ds.sizes["compute"])
    epochs = ds["D_opt"] / xr.DataArray(U, dims="compute")
    ds["epochs"] = epochs.assign_attrs(
        long_name="epochs over the unique data (D_opt / U)", units=""
    )
    ds["loss_unconstrained"] = free["loss"].assign_attrs(
        long_name="expected loss (mu) at the optimum with unlimited unique data"
    )
    ds["N_unconstrained"] = free["N_opt"].assign_attrs(
        long_name="compute-optimal parameters with unlimited unique data"
    )
    ds["extra_loss"] = (ds["loss"] - free["loss"]).assign_attrs(
        long_name="expected loss above the unconstrained optimum (the price of the data limit)"
    )
    ds.attrs["question"] = "data_constrained"
    return ds
