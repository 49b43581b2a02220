"""Compute-optimal allocation per posterior draw: how to split a FLOP budget between N and D.

Under ``C = k N D`` (``k = 6`` FLOPs per parameter per token unless the runs say otherwise) the
compute-optimal model size ``N_opt(C)`` minimises the law's expected loss along the budget line
``D = C / (k N)``. Every function here answers per draw (dims ``chain``, ``draw``) and per budget
(dim ``compute``), so each answer carries its credible interval: ``.scaling.summary(ci=0.9)``.

Where the law's TOML gives a closed form (``[optimum]``; chinchilla, Hoffmann et al. 2022, eq. 4:
``G = (alpha A / (beta B))^(1/(alpha+beta))``, ``N_opt = G (C/k)^(beta/(alpha+beta))``,
``D_opt = C / (k N_opt)``), it is used; otherwise a vectorised golden-section + parabolic search in
``log N`` solves every draw and budget at once (:mod:`bayes_scaling.minimize`).
Published allocation exponents for comparison (Hoffmann et al. 2022, Table 2): Kaplan et al.
2020 ``a = 0.73, b = 0.27``; Chinchilla approaches 1-3 ``a = 0.46-0.50, b = 0.50-0.54``.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from bayes_scaling.errors import QuestionError
from bayes_scaling.formula import parse_program
from bayes_scaling.laws import FLOPS_PER_TOKEN_NAME, Law
from bayes_scaling.minimize import minimize_bracketed

if TYPE_CHECKING:
    from bayes_scaling.fit import ScalingFit

#: Search range of the numeric optimum, in tokens per parameter (D / N).
TOKENS_PER_PARAM_RANGE = (1e-6, 1e10)
METHODS = ("auto", "closed_form", "numeric")


# ------------------------------------------------------------------------------ validation
def check_positive(name: str, value: Any, *, allow_inf: bool = False) -> np.ndarray:
    """A scalar or 1-D sequence of finite positive numbers as a float array (QuestionError)."""
    if value is None:
        raise QuestionError(f"give {name} (a positive number or a list of them)")
    if isinstance(value, str | bytes):
        raise QuestionError(f"{name} must be numbers, not the text {value!r}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise QuestionError(f"{name} must be numbers, not {value!r}") from None
    if arr.ndim > 1:
        raise QuestionError(f"{name} must be a number or a 1-D list of numbers")
    flat = np.atleast_1d(arr)
    if flat.size == 0:
        raise QuestionError(f"{name} is empty; give at least one value")
    bad = np.isnan(flat) | (flat <= 0) | (np.isinf(flat) & (not allow_inf))
    if bad.any():
        raise QuestionError(
            f"{name} must be finite and > 0 (e.g. 5.76e23); got {flat[bad].tolist()}"
        )
    return arr


def require_lower_is_better(law: Law, question: str) -> None:
    """Refuse questions that assume a loss (lower is better) for a higher-is-better metric."""
    if law.direction != "lower":
        raise QuestionError(
            f"{question} assumes a loss that decreases with scale, but law {law.name!r} models "
            "a metric where higher is better (direction = 'higher'); fit a law of the loss "
            "instead, or ask `predict` for the metric at chosen N and D"
        )


def require_allocation_law(law: Law, question: str = "a compute-optimal allocation") -> None:
    """The law must take both N and D (and describe a loss) to split a budget between them."""
    if not {"N", "D"} <= set(law.inputs):
        raise QuestionError(
            f"{question} needs a law of both N and D, but law {law.name!r} takes only "
            f"{', '.join(law.inputs)}; fit a two-input law such as chinchilla or kaplan"
        )
    require_lower_is_better(law, question)


def flops_per_token(fit: ScalingFit) -> float:
    """``k`` in ``C = k N D`` for this fit's runs."""
    return float(getattr(fit.runs, "flops_per_token", 6.0))


def params_of(fit: ScalingFit, *, extra_dims: int = 1) -> dict[str, np.ndarray]:
    """Law parameters shaped (chain, draw, 1, ...) with ``extra_dims`` trailing axes.

    Pooled fits give the population's values for a new group (see ``predict.law_draws``).
    """
    from bayes_scaling.predict import law_draws

    idx = (...,) + (None,) * (extra_dims - 1)
    return {p: np.asarray(v, dtype=float)[idx] for p, v in law_draws(fit).items()}


def draw_coords(fit: ScalingFit) -> dict[str, Any]:
    post = fit.posterior
    return {"chain": post["chain"].values, "draw": post["draw"].values}


# ------------------------------------------------------------------------------ core solver
def has_closed_form(law: Law) -> bool:
    """Whether the law's spec gives a closed-form optimum (and needs no unique-token input)."""
    return bool(law.optimum) and set(law.inputs) == {"N", "D"}


def has_kinks(law: Law) -> bool:
    """Whether the law's formula uses functions with kinks (minimum, maximum, where, ...)."""
    texts = [law.program.result.text, *(f.text for _, f in law.program.terms)]
    return any(re.search(r"\b(min|max|minimum|maximum|where)\s*\(", t) for t in texts)


def resolve_method(law: Law, method: str) -> str:
    if method not in METHODS:
        raise QuestionError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if method == "closed_form" and not has_closed_form(law):
        raise QuestionError(
            f"law {law.name!r} has no closed-form optimum; use method='numeric' (or 'auto')"
        )
    if method == "auto":
        return "closed_form" if has_closed_form(law) else "numeric"
    return method


_CHINCHILLA_FORMULA = "E+A/N**alpha+B/D**beta"


def is_chinchilla(law: Law) -> bool:
    """Whether the law is Chinchilla's ``E + A / N**alpha + B / D**beta`` (fast exact paths)."""
    text = law.program.result.text.replace(" ", "")
    return not law.program.terms and text == _CHINCHILLA_FORMULA and set(law.inputs) == {"N", "D"}


def chinchilla_frontier(params, log_ck) -> tuple[np.ndarray, np.ndarray]:
    """log N_opt and the loss at the optimum for Chinchilla's law, ``log_ck = log(C / k)``.

    Hoffmann et al. 2022, eq. 4, in logs: ``log N_opt = log G + a log(C/k)`` with
    ``a = beta / (alpha + beta)``; along the frontier ``L*(C) = E + K (C/k)^(-gamma)`` with
    ``gamma = alpha beta / (alpha + beta)`` and ``K = A G^(-alpha) + B G^beta``.
    """
    E, A, B, al, be = (params[p] for p in ("E", "A", "B", "alpha", "beta"))
    s = al + be
    log_g = (np.log(al * A) - np.log(be * B)) / s
    K = A * np.exp(-al * log_g) + B * np.exp(be * log_g)
    log_n = log_g + (be / s) * log_ck
    loss = E + K * np.exp(-(al * be / s) * log_ck)
    return log_n, loss


def loss_on_budget(law: Law, params, C, log_N, *, k: float, U=None) -> np.ndarray:
    """Expected loss at ``N = exp(log_N)`` and ``D = C / (k N)`` (broadcasting everything)."""
    if U is None and is_chinchilla(law):
        log_d = np.log(C / k) - log_N
        return (
            params["E"]
            + params["A"] * np.exp(-params["alpha"] * log_N)
            + params["B"] * np.exp(-params["beta"] * log_d)
        )
    N = np.exp(log_N)
    D = C / (k * N)
    inputs = {"N": N, "D": D}
    if "U" in law.inputs:
        inputs["U"] = np.inf if U is None else U
    return law.evaluate(params, inputs)


def allocate(
    law: Law,
    params: dict[str, np.ndarray],
    C: np.ndarray,
    *,
    k: float,
    method: str = "auto",
    U: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Compute-optimal ``N``, ``D``, expected loss and an at-search-bound mask, broadcasting.

    ``params`` arrays and ``C`` (and ``U``) broadcast to the problem shape; the numeric search
    works in ``log N`` over :data:`TOKENS_PER_PARAM_RANGE`.
    """
    method = resolve_method(law, method)
    C = np.asarray(C, dtype=float)
    if method == "closed_form" and is_chinchilla(law):
        log_n, loss = chinchilla_frontier(params, np.log(C / k))
        N = np.exp(log_n)
        return N, C / (k * N), loss, np.zeros(np.shape(loss), dtype=bool)
    if method == "closed_form":
        N = closed_form_optimum(law, params, C, k=k)
        D = C / (k * N)
        loss = law.evaluate(params, {"N": N, "D": D})
        at_bound = np.zeros(np.shape(loss), dtype=bool)
        return N, D, loss, at_bound
    shape = np.broadcast_shapes(C.shape, *(np.shape(v) for v in params.values()))
    if U is not None:
        shape = np.broadcast_shapes(shape, np.shape(U))
    r_min, r_max = TOKENS_PER_PARAM_RANGE
    lo = np.broadcast_to(0.5 * np.log(C / (k * r_max)), shape)
    hi = np.broadcast_to(0.5 * np.log(C / (k * r_min)), shape)
    # parabolic steps stall at kinks (minimum/maximum/where in the law): search those finer
    width = 2e-4 if has_kinks(law) else 0.02
    log_N, loss = minimize_bracketed(
        lambda x: loss_on_budget(law, params, C, x, k=k, U=U), lo, hi, width=width, polish=3
    )
    margin = 1e-3 * (hi - lo)
    at_bound = (log_N - lo < margin) | (hi - log_N < margin)
    N = np.exp(log_N)
    D = C / (k * N)
    return N, D, np.where(np.isfinite(loss), loss, np.nan), at_bound


def closed_form_optimum(law: Law, params, C, *, k: float) -> np.ndarray:
    """``N_opt`` from the law's ``[optimum]`` formula (user units).

    ``D_opt`` follows from the budget, ``C / (k N_opt)``; the spec's ``D_opt`` formula states the
    same thing in closed form (and is checked against it in the tests).
    """
    spec = law.optimum or {}
    names = [*law.param_names, "C", FLOPS_PER_TOKEN_NAME, "N_opt"]
    program = parse_program(spec["N_opt"], terms=spec.get("terms") or None, allowed_names=names)
    return program.numpy({**params, "C": C, FLOPS_PER_TOKEN_NAME: k})


def closed_form_tokens(law: Law, params, C, N_opt, *, k: float) -> np.ndarray:
    """``D_opt`` from the law's ``[optimum]`` formula (for checks; equals ``C / (k N_opt)``)."""
    spec = law.optimum or {}
    names = [*law.param_names, "C", FLOPS_PER_TOKEN_NAME, "N_opt"]
    program = parse_program(spec["D_opt"], terms=spec.get("terms") or None, allowed_names=names)
    return program.numpy({**params, "C": C, FLOPS_PER_TOKEN_NAME: k, "N_opt": N_opt})


def _warn_bounds(at_bound: np.ndarray, law: Law) -> None:
    n = int(np.count_nonzero(at_bound))
    if n:
        lo, hi = TOKENS_PER_PARAM_RANGE
        warnings.warn(
            f"{n} of {at_bound.size} draw/budget optima of law {law.name!r} sit on the edge of "
            f"the search range ({lo:g} to {hi:g} tokens per parameter): the law has no interior "
            "optimum there; they are reported as NaN",
            UserWarning,
            stacklevel=3,
        )


# ------------------------------------------------------------------------------ questions
def optimal_allocation(
    fit: ScalingFit,
    *,
    compute: Any,
    method: str = "auto",
    unique_tokens: Any = None,
) -> xr.Dataset:
    """Compute-optimal model size and token count per draw at each budget.

    Parameters
    ----------
    fit : ScalingFit
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
        try:
            C, U = np.broadcast_arrays(C, U)
        except ValueError:
            raise QuestionError(
                f"unique_tokens ({U.size} values) must be one value or one per budget ({C.size})"
            ) from None
    k = flops_per_token(fit)
    resolved = resolve_method(law, method)
    N, D, loss, at_bound = allocate(
        law,
        params_of(fit),
        C[None, None, :],
        k=k,
        method=resolved,
        U=None if U is None else U[None, None, :],
    )
    _warn_bounds(at_bound, law)
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
    fit: ScalingFit,
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
    fit: ScalingFit, *, compute: Any = None, method: str = "auto"
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
    try:
        C, fixed = np.broadcast_arrays(C, fixed)
    except ValueError:
        raise QuestionError(
            f"{name} ({fixed.size} values) must be one value or one per budget ({C.size})"
        ) from None
    k = flops_per_token(fit)
    other = C / (k * fixed)
    return (fixed, other, C) if name == "N" else (other, fixed, C)


def fixed_size_loss(
    fit: ScalingFit,
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
    pred = fit.predict(N=N_, D=D_, seed=seed)
    ds = pred.rename({"point": "compute"}).drop_vars(["C"], errors="ignore")
    ds = ds.assign_coords(compute=C, N=("compute", N_), D=("compute", D_))
    ds.attrs.update(question="fixed_size", law=law.name)
    return ds


def misallocation(fit: ScalingFit, *, compute: Any, N: Any) -> xr.Dataset:
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
    from bayes_scaling.budget import compute_needed_draws

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
