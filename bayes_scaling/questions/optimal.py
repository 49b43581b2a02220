"""Compute-optimal allocation per posterior draw: how to split a FLOP budget between N and D.

Under ``C = k N D`` (``k = 6`` FLOPs per parameter per token unless the runs say otherwise) the
compute-optimal model size ``N_opt(C)`` minimises the law's expected loss along the budget line
``D = C / (k N)``. Every function here answers per draw (dims ``chain``, ``draw``) and per budget
(dim ``compute``), so each answer carries its credible interval: ``.scaling.summary(ci=0.9)``.

Where the law's TOML gives a closed form (``[optimum]``; chinchilla, Hoffmann et al. 2022, eq. 4:
``G = (alpha A / (beta B))^(1/(alpha+beta))``, ``N_opt = G (C/k)^(beta/(alpha+beta))``,
``D_opt = C / (k N_opt)``), it is used; otherwise a vectorised golden-section + parabolic search in
``log N`` solves every draw and budget at once (:mod:`bayes_scaling.questions.minimize`).
Published allocation exponents for comparison (Hoffmann et al. 2022, Table 2): Kaplan et al.
2020 ``a = 0.73, b = 0.27``; Chinchilla approaches 1-3 ``a = 0.46-0.50, b = 0.50-0.54``.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.questions.allocation import (
    MANY_BUDGETS,
    allocate,
    allocate_many_budgets,
    broadcast_to_budgets,
    check_positive,
    compute_needed_draws,  # noqa: F401  (re-exported for the questions' users)
    draw_coords,
    flops_per_token,
    has_kinks,
    params_of,
    require_allocation_law,
    resolve_method,
    warn_bounds,
)
from bayes_scaling.questions.predict import predict

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord


# ------------------------------------------------------------------------------ questions
def optimal_allocation(
    fit: FitRecord,
    *,
    compute: Any,
    method: str = "auto",
    unique_tokens: Any = None,
) -> xr.Dataset:
    """Compute-optimal model size and token count per draw at each budget.

    Parameters
    ----------
    fit : FitRecord
        A fit of a law of N and D (and optionally U) where lower is better.
    compute : float or sequence of float
        Training budgets C in FLOPs.
    method : {"auto", "closed_form", "numeric"}
        ``auto`` uses the law's closed form when its spec has one, the numeric search otherwise.
    unique_tokens : float or sequence, optional
        Unique tokens U available (laws with a U input, e.g. ``data_constrained``); broadcast
        against ``compute``. Default: unlimited (every token seen once).

    Returns
    -------
    xr.Dataset
        ``N_opt``, ``D_opt``, ``tokens_per_param`` (D_opt / N_opt) and ``loss`` (expected loss
        ``mu`` at the optimum), dims ``chain``, ``draw``, ``compute``. Attributes ``question``
        (``"optimal"``), ``method`` (``"closed_form"`` or ``"numeric"``), ``flops_per_token``.
        Optima on the edge of the numeric search range are NaN (with a warning).

    Examples
    --------
    >>> opt = optimal_allocation(fit, compute=[5.76e23, 1e25])  # doctest: +SKIP
    >>> opt.scaling.summary(ci=0.9)  # doctest: +SKIP
    """
    law = fit.law
    require_allocation_law(law)
    C = np.atleast_1d(check_positive("compute", compute))
    U = None
    if unique_tokens is not None:
        if "U" not in law.inputs:
            raise QuestionError(
                f"unique_tokens needs a law with a U input (e.g. data_constrained); law "
                f"{law.name!r} takes {', '.join(law.inputs)}"
            )
        U = np.atleast_1d(check_positive("unique_tokens", unique_tokens, allow_inf=True))
        C, U = broadcast_to_budgets("unique_tokens", U, C)
    k = flops_per_token(fit)
    resolved = resolve_method(law, method)
    params = params_of(fit)
    many = None
    if resolved == "numeric" and U is None and C.size >= MANY_BUDGETS and not has_kinks(law):
        many = allocate_many_budgets(law, params, C, k=k)
    if many is not None:
        N, D, loss, at_bound = many
    else:
        N, D, loss, at_bound = allocate(
            law,
            params,
            C[None, None, :],
            k=k,
            method=resolved,
            U=None if U is None else U[None, None, :],
        )
    warn_bounds(at_bound, law)
    if at_bound.any():
        N, D, loss = (np.where(at_bound, np.nan, a) for a in (N, D, loss))
    dims = ("chain", "draw", "compute")
    coords: dict[str, Any] = {**draw_coords(fit), "compute": C}
    if U is not None:
        coords["unique_tokens"] = ("compute", U)
    ds = xr.Dataset(
        {
            "N_opt": (dims, N, {"long_name": "compute-optimal parameters", "units": "params"}),
            "D_opt": (dims, D, {"long_name": "compute-optimal training tokens", "units": "tokens"}),
            "tokens_per_param": (dims, D / N, {"long_name": "tokens per parameter D_opt / N_opt"}),
            "loss": (dims, loss, {"long_name": "expected loss (mu) at the optimum"}),
        },
        coords=coords,
    )
    ds.attrs.update(question="optimal", method=resolved, law=law.name, flops_per_token=k)
    return ds


def frontier(
    fit: FitRecord,
    *,
    compute_min: float,
    compute_max: float,
    n: int = 50,
    method: str = "auto",
) -> xr.Dataset:
    """:func:`optimal_allocation` on ``n`` log-spaced budgets from compute_min to compute_max."""
    lo = float(check_positive("compute_min", compute_min))
    hi = float(check_positive("compute_max", compute_max))
    if hi <= lo:
        raise QuestionError(f"compute_max ({hi:g}) must exceed compute_min ({lo:g})")
    if int(n) < 2:
        raise QuestionError(f"n must be at least 2 budgets, not {n!r}")
    ds = optimal_allocation(fit, compute=np.geomspace(lo, hi, int(n)), method=method)
    ds.attrs["question"] = "frontier"
    return ds


def allocation_exponents(
    fit: FitRecord, *, compute: Any = None, method: str = "auto"
) -> xr.Dataset:
    """Exponents ``a`` and ``b`` of ``N_opt ∝ C^a`` and ``D_opt ∝ C^b`` per draw.

    For laws whose optimum is a pure power of C (chinchilla: ``a = beta / (alpha + beta)``,
    ``b = alpha / (alpha + beta)``; kaplan: ``a = alpha_D / (alpha_N + alpha_D)``) the exponents
    are the same at every budget; otherwise they are local slopes ``d log N_opt / d log C`` at
    ``compute`` (default: the largest training budget among the runs), by a central difference
    over a factor of 10 in C.

    Published values (Hoffmann et al. 2022, Table 2): Kaplan 0.73 / 0.27, Chinchilla 0.46-0.50.

    Returns
    -------
    xr.Dataset
        ``a`` and ``b``, dims ``chain``, ``draw`` (plus ``compute`` when a sequence is given).
    """
    law = fit.law
    require_allocation_law(law, "allocation exponents")
    scalar = compute is None or np.ndim(compute) == 0
    if compute is None:
        runs = fit.runs
        C0 = np.array([float(np.max(runs.column("C")))]) if runs.has("C") else np.array([1e21])
    else:
        C0 = np.atleast_1d(check_positive("compute", compute))
    step = np.sqrt(10.0)
    C = np.concatenate([C0 / step, C0 * step])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        opt = optimal_allocation(fit, compute=C, method=method)
    m = C0.size
    logs = np.log(step**2)
    a = (np.log(opt["N_opt"].values[..., m:]) - np.log(opt["N_opt"].values[..., :m])) / logs
    b = (np.log(opt["D_opt"].values[..., m:]) - np.log(opt["D_opt"].values[..., :m])) / logs
    dims: tuple[str, ...] = ("chain", "draw", "compute")
    coords: dict[str, Any] = {**draw_coords(fit), "compute": C0}
    if scalar:
        a, b, dims = a[..., 0], b[..., 0], ("chain", "draw")
        coords["compute"] = C0[0]
    ds = xr.Dataset(
        {
            "a": (dims, a, {"long_name": "exponent of N_opt in C"}),
            "b": (dims, b, {"long_name": "exponent of D_opt in C"}),
        },
        coords=coords,
    )
    ds.attrs.update(question="allocation_exponents", method=opt.attrs["method"], law=law.name)
    return ds


def _fixed_inputs(fit, C, N, D):
    if (N is None) == (D is None):
        raise QuestionError("give exactly one of N (model size) or D (training tokens)")
    name, value = ("N", N) if N is not None else ("D", D)
    fixed = np.atleast_1d(check_positive(name, value))
    C, fixed = broadcast_to_budgets(name, fixed, C)
    k = flops_per_token(fit)
    other = C / (k * fixed)
    return (fixed, other, C) if name == "N" else (other, fixed, C)


def fixed_size_loss(
    fit: FitRecord,
    *,
    compute: Any,
    N: Any = None,
    D: Any = None,
    seed: int | None = None,
) -> xr.Dataset:
    """Expected (``mu``) and predictive (``y``) loss when N (or D) is fixed at each budget.

    The other input follows from ``C = k N D``. ``N``/``D`` is one value or one per budget.

    Returns
    -------
    xr.Dataset
        ``mu`` and ``y``, dims ``chain``, ``draw``, ``compute``; coords ``N``, ``D`` on compute.
    """
    law = fit.law
    require_allocation_law(law, "a fixed-size what-if")
    C = np.atleast_1d(check_positive("compute", compute))
    N_, D_, C = _fixed_inputs(fit, C, N, D)
    pred = predict(fit, N=N_, D=D_, seed=seed)
    ds = pred.rename({"point": "compute"}).drop_vars(["C"], errors="ignore")
    ds = ds.assign_coords(compute=C, N=("compute", N_), D=("compute", D_))
    ds.attrs.update(question="fixed_size", law=law.name)
    return ds


def misallocation(fit: FitRecord, *, compute: Any, N: Any) -> xr.Dataset:
    """The price of training ``N`` parameters instead of ``N_opt`` at budget C, per draw.

    Returns
    -------
    xr.Dataset
        dims ``chain``, ``draw``, ``compute``:

        * ``extra_loss``: expected loss at (N, C/(kN)) minus the loss at the optimum (>= 0);
        * ``compute_equivalent``: the budget that, allocated optimally, reaches the same loss;
        * ``compute_efficiency``: ``compute_equivalent / compute`` (1 at the optimum);
        * ``extra_compute``: ``compute / compute_equivalent - 1``, the fraction of compute the
          mis-allocated run spent beyond what the optimum needs for its loss;
        * ``N_opt``: the optimum it is compared with.
    """
    law = fit.law
    require_allocation_law(law, "a mis-allocation penalty")
    C = np.atleast_1d(check_positive("compute", compute))
    N_, D_, C = _fixed_inputs(fit, C, N, None)
    k = flops_per_token(fit)
    params = params_of(fit)
    opt = optimal_allocation(fit, compute=C)
    inputs = {"N": N_[None, None, :], "D": D_[None, None, :]}
    if "U" in law.inputs:
        inputs["U"] = np.inf
    actual = law.evaluate(params, inputs)
    best = opt["loss"].values
    extra = np.maximum(actual - best, 0.0)
    equivalent = compute_needed_draws(fit, actual, k=k)
    equivalent = np.minimum(equivalent, C[None, None, :])
    dims = ("chain", "draw", "compute")
    ds = xr.Dataset(
        {
            "extra_loss": (dims, extra, {"long_name": "expected loss above the optimum"}),
            "compute_equivalent": (dims, equivalent, {"units": "FLOPs"}),
            "compute_efficiency": (dims, equivalent / C),
            "extra_compute": (dims, C / equivalent - 1.0),
            "N_opt": opt["N_opt"].variable,
        },
        coords={**draw_coords(fit), "compute": C, "N": ("compute", N_), "D": ("compute", D_)},
    )
    ds.attrs.update(question="misallocation", law=law.name)
    return ds
