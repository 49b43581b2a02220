"""The allocation solver shared by the decision questions: validation and per-draw optima.

Compute-optimal ``N`` under ``C = k N D`` for arrays of posterior draws and budgets at once:
Chinchilla's closed form in logs (Hoffmann et al. 2022, eq. 4), the ``[optimum]`` formulas of a
law's TOML, or a vectorised golden-section + parabolic search in ``log N``
(:mod:`bayes_scaling.questions.minimize`). The questions built on it live in
:mod:`bayes_scaling.questions.optimal`
and :mod:`bayes_scaling.questions.budget`.
"""

from __future__ import annotations

import re
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.formula import parse_program
from bayes_scaling.inputs.laws import FLOPS_PER_TOKEN_NAME, Law
from bayes_scaling.questions.draws import law_draws
from bayes_scaling.questions.minimize import decreasing_root, minimize_bracketed, minimize_local

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

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


def broadcast_to_budgets(name: str, values: np.ndarray, C: np.ndarray) -> tuple[np.ndarray, ...]:
    """``(C, values)`` broadcast to one entry per budget; QuestionError when the lengths differ."""
    try:
        return tuple(np.broadcast_arrays(C, values))
    except ValueError:
        raise QuestionError(
            f"{name} ({np.size(values)} values) must be one value or one per budget ({np.size(C)})"
        ) from None


def require_lower_is_better(law: Law, question: str) -> None:
    """Refuse questions that assume a loss (lower is better) for a higher-is-better metric."""
    if law.direction != "lower":
        raise QuestionError(
            f"{question} assumes a loss that decreases with scale, but law {law.name!r} models "
            "a metric where higher is better (direction = 'higher'); fit a law of the loss "
            "instead, or ask `predict` for the metric at chosen N and D"
        )


def require_allocation_law(law: Law, question: str = "a compute-optimal allocation") -> None:
    """The law must take N and D (or N and the budget C) and describe a loss to split a budget."""
    inputs = set(law.inputs)
    if "N" not in inputs or not inputs & {"D", "C"} or not inputs <= {"N", "D", "C", "U"}:
        raise QuestionError(
            f"{question} needs a law of both N and D (or N and C), but law {law.name!r} takes "
            f"{', '.join(law.inputs)}; fit a two-input law such as chinchilla or kaplan"
        )
    require_lower_is_better(law, question)


def flops_per_token(fit: FitRecord) -> float:
    """``k`` in ``C = k N D`` for this fit's runs."""
    return float(getattr(fit.runs, "flops_per_token", 6.0))


def params_of(fit: FitRecord, *, extra_dims: int = 1) -> dict[str, np.ndarray]:
    """Law parameters shaped (chain, draw, 1, ...) with ``extra_dims`` trailing axes.

    Pooled fits give the population's values for a new group (see ``predict.law_draws``).
    """
    idx = (...,) + (None,) * (extra_dims - 1)
    return {p: np.asarray(v, dtype=float)[idx] for p, v in law_draws(fit).items()}


def draw_coords(fit: FitRecord) -> dict[str, Any]:
    post = fit.posterior
    return {"chain": post["chain"].values, "draw": post["draw"].values}


# ------------------------------------------------------------------------------ core solver
def has_closed_form(law: Law) -> bool:
    """Whether the law's spec gives a closed-form optimum (and needs no unique-token input)."""
    return bool(law.optimum) and set(law.inputs) in ({"N", "D"}, {"N", "C"})


def budget_inputs(law: Law, N, D, *, k: float, U=None) -> dict[str, Any]:
    """The law's inputs at model size ``N`` and tokens ``D`` (C = k N D; U unlimited if None)."""
    inputs = {"N": N, "D": D}
    if "C" in law.inputs:
        inputs["C"] = k * N * D
    if "U" in law.inputs:
        inputs["U"] = np.inf if U is None else U
    return inputs


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
    return law.evaluate(params, budget_inputs(law, N, D, k=k, U=U))


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
        loss = law.evaluate(params, budget_inputs(law, N, D, k=k))
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


def warn_bounds(at_bound: np.ndarray, law: Law) -> None:
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


#: Numeric optima at this many budgets or more are solved exactly at ANCHORS budgets per draw,
#: interpolated in log-log and refined locally (about 3x fewer objective calls).
MANY_BUDGETS = 16
ANCHORS = 9


def allocate_many_budgets(law: Law, params, C: np.ndarray, *, k: float):
    """Numeric optima per draw at many 1-D budgets ``C`` (the last axis), for smooth laws.

    Each draw's optimum is found exactly at :data:`ANCHORS` log-spaced budgets spanning ``C``;
    ``log N_opt`` is interpolated linearly in ``log C`` (it is close to a power law) and refined
    at every budget by a bracketing parabolic search started there. Returns None when an anchor
    optimum sits on the search bound (the caller then searches every budget in full).
    """
    log_c = np.log(C)
    anchors = np.linspace(log_c.min(), log_c.max(), ANCHORS)
    N_a, _, _, bound_a = allocate(law, params, np.exp(anchors), k=k, method="numeric")
    if bound_a.any():
        return None
    log_n = np.log(N_a)
    pos = np.interp(log_c, anchors, np.arange(ANCHORS, dtype=float))
    i0 = np.clip(np.floor(pos).astype(int), 0, ANCHORS - 2)
    w = pos - i0
    x0 = (1.0 - w) * log_n[..., i0] + w * log_n[..., i0 + 1]
    x, loss = minimize_local(
        lambda x: loss_on_budget(law, params, C, x, k=k), x0, step=0.02, polish=2
    )
    r_min, r_max = TOKENS_PER_PARAM_RANGE
    lo, hi = 0.5 * np.log(C / (k * r_max)), 0.5 * np.log(C / (k * r_min))
    at_bound = (x <= lo) | (x >= hi)
    N = np.exp(x)
    return N, C / (k * N), np.where(np.isfinite(loss), loss, np.nan), at_bound


#: Range of budgets (FLOPs) scanned by the numeric search for the compute reaching a target.
COMPUTE_SEARCH_RANGE = (1e6, 1e45)


def compute_needed_draws(
    fit: FitRecord,
    target: np.ndarray,
    *,
    k: float | None = None,
    unique_tokens: Any = None,
    method: str = "auto",
) -> np.ndarray:
    """Per-draw budget whose compute-optimal allocation has expected loss ``target``.

    ``target`` broadcasts against (chain, draw, m); the result has the broadcast shape, ``inf``
    where the target is never reached (the draw's loss floor is above it).
    """
    law = fit.law
    k = flops_per_token(fit) if k is None else float(k)
    target = np.asarray(target, dtype=float)
    if target.ndim < 3:
        target = target.reshape((1,) * (3 - target.ndim) + target.shape)
    params = params_of(fit)
    if is_chinchilla(law) and unique_tokens is None and method != "numeric":
        E, A, B, al, be = (params[p] for p in ("E", "A", "B", "alpha", "beta"))
        G = (al * A / (be * B)) ** (1.0 / (al + be))
        K = A * G**-al + B * G**be
        gamma = al * be / (al + be)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            C = k * (K / (target - E)) ** (1.0 / gamma)
        return np.where(target > E, C, np.inf)
    resolved = resolve_method(law, method)
    U = None if unique_tokens is None else float(unique_tokens)
    shape = np.broadcast_shapes(target.shape, next(iter(params.values())).shape)
    lo, hi = COMPUTE_SEARCH_RANGE
    grid = np.linspace(np.log(lo), np.log(hi), 24)  # ~1.7 decades apart; Illinois refines

    def g(log_c):
        extra = log_c.ndim - len(shape)
        p = {n: v[(...,) + (None,) * extra] for n, v in params.items()}
        t = target[(...,) + (None,) * extra]
        _, _, loss, _ = allocate(law, p, np.exp(log_c), k=k, method=resolved, U=U)
        return loss - t

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        log_c = decreasing_root(g, grid, shape, iterations=16, tol=1e-10)
    return np.exp(log_c)
