"""The best setting of some of a law's inputs (learning rate, batch size, ...), the others fixed.

:func:`optimize` answers "which learning rate and batch size minimise the loss of a 7B model
trained on 2T tokens?" twice:

* per posterior draw: each draw's own optimum (its *argmin*), whose spread is the uncertainty
  about where the optimum lies;
* as one decision: the single setting minimising a risk measure of the expected loss over the
  draws (its mean, VaR or CVaR, as in :mod:`bayes_scaling.questions.risk`), i.e. what to run.

The search is a vectorised grid search on each input's own scale (log grid for log-scaled
inputs, linear otherwise; a tensor grid for several inputs), followed by rounds of zooming a finer
grid around each draw's best point, all draws at once with numpy.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import check_probability
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.questions.draws import law_draws
from bayes_scaling.questions.predict import complete_inputs
from bayes_scaling.questions.risk import RISKS, risk_measure

__all__ = ["optimize"]

#: Coarse grid points per input and zoom grid points per input, by number of ``over`` inputs.
COARSE_POINTS = {1: 65, 2: 25, 3: 11}
ZOOM_POINTS = {1: 9, 2: 9, 3: 5}
#: Rounds of zooming a finer grid around each draw's best point.
ZOOM_ROUNDS = 3
#: Share of draws with their optimum on a bound above which :func:`optimize` warns.
AT_BOUND_WARN = 0.01
_FLOPS = ("N", "D", "C")


def _fixed(at: Mapping[str, Any] | None) -> dict[str, float]:
    """The ``at`` values, one number each."""
    if at is not None and not isinstance(at, Mapping):
        raise QuestionError(f"at must map input names to values, e.g. at={{'N': 7e9}}, not {at!r}")
    fixed = {}
    for name, value in (at or {}).items():
        try:
            fixed[str(name)] = float(np.asarray(value, dtype=float).item())
        except (TypeError, ValueError):
            raise QuestionError(
                f"at[{name!r}] must be one number (optimize answers for one setting of the "
                f"other inputs; call it once per setting), not {value!r}"
            ) from None
    return fixed


def _bounds(law, over: Any, at: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    """Checked ``over`` bounds: known inputs, lo < hi, finite, within each input's sign."""
    if not isinstance(over, Mapping) or not over:
        raise QuestionError(
            "over must map the inputs to optimise to (low, high) bounds, e.g. "
            "over={'lr': (1e-5, 1e-1)}"
        )
    if len(over) > max(COARSE_POINTS):
        raise QuestionError(
            f"optimize searches at most {max(COARSE_POINTS)} inputs at once, not {len(over)}; "
            "fix the others with at="
        )
    takes = set(law.inputs) | (set(_FLOPS) if set(law.inputs) & set(_FLOPS) else set())
    bounds = {}
    for name, pair in over.items():
        if name not in takes:
            raise QuestionError(
                f"law {law.name!r} has no input {name!r} to optimise; it takes "
                f"{', '.join(law.inputs)}"
            )
        if name in at:
            raise QuestionError(f"{name} is both optimised (over) and fixed (at); give it once")
        try:
            lo, hi = (float(v) for v in pair)
        except (TypeError, ValueError):
            raise QuestionError(
                f"over[{name!r}] must be two numbers (low, high), not {pair!r}"
            ) from None
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise QuestionError(
                f"over[{name!r}] = ({lo:g}, {hi:g}): the bounds must be finite with low < high; "
                "swap them or widen the range"
            )
        spec = law.input_spec(name)
        if (spec.sign == "positive" and lo <= 0) or (spec.sign == "nonnegative" and lo < 0):
            rule = "> 0" if spec.sign == "positive" else ">= 0"
            raise QuestionError(
                f"over[{name!r}] = ({lo:g}, {hi:g}): {name} must be {rule}; raise the low bound"
            )
        bounds[name] = (lo, hi)
    given = set(bounds) | set(at)
    if set(_FLOPS) <= given:
        raise QuestionError("N, D and C are related by C = k N D: give only two of them")
    missing = [
        c
        for c in law.inputs
        if c not in given and not (c in _FLOPS and len(given & (set(_FLOPS) - {c})) == 2)
    ]
    if missing:
        example = ", ".join(f"{c!r}: ..." for c in missing)
        raise QuestionError(
            f"law {law.name!r} needs {', '.join(missing)} too: fix them with at={{{example}}} "
            f"(CLI --at {missing[0]}=VALUE), or optimise over them"
        )
    return bounds


class _Search:
    """The law's objective (expected target, negated when higher is better) on search points.

    Points are given on the search scale (log for log-scaled inputs) with a last axis over the
    ``over`` inputs: shape ``(G, d)`` (one grid shared by all draws) or ``(S, G, d)`` (a grid per
    draw). The objective has shape ``(S, G)``; non-finite values count as +inf.
    """

    def __init__(self, fit, law, params, names, logs, at):
        self.fit, self.law, self.params = fit, law, params
        self.names, self.logs, self.at = names, logs, at
        self.sign = 1.0 if law.direction == "lower" else -1.0
        self.signs = {c: law.input_spec(c).sign for c in law.inputs}

    def values(self, u: np.ndarray) -> np.ndarray:
        """Input values of search points ``u`` (undo the log scale)."""
        return np.where(self.logs, np.exp(u), u)

    def mu(self, u: np.ndarray) -> np.ndarray:
        x = self.values(u)
        shape = x.shape[:-1]
        flat = {n: x[..., i].reshape(-1) for i, n in enumerate(self.names)}
        given = {**self.at, **flat}
        canonical = {k: given.pop(k) for k in ("N", "D", "C", "U") if k in given}
        inputs = complete_inputs(
            self.law.inputs,
            flops_per_token=self.fit.runs.flops_per_token,
            law=f"law {self.law.name!r}",
            extra=given,
            signs=self.signs,
            **canonical,
        )
        cols = {c: inputs[c].reshape(shape) for c in self.law.inputs}
        with np.errstate(all="ignore"):
            return np.broadcast_to(self.law.evaluate(self.params, cols), (self.n, *shape[-1:]))

    @property
    def n(self) -> int:
        return next(iter(self.params.values())).shape[0]

    def objective(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mu = self.mu(u)
        f = self.sign * mu
        return np.where(np.isfinite(f), f, np.inf), mu


def _offsets(m: int, d: int) -> np.ndarray:
    """The ``m**d`` points of a tensor grid on [-1, 1]^d, shape (m**d, d)."""
    axis = np.linspace(-1.0, 1.0, m)
    return np.array(list(itertools.product(axis, repeat=d)))


def _per_draw(search: _Search, lo, hi, f0, grid, step):
    """Each draw's argmin: the coarse grid's best point, then zoomed grids around it."""
    d = lo.size
    best = np.argmin(f0, axis=1)
    u = grid[best]  # (S, d)
    fbest = f0[np.arange(f0.shape[0]), best]
    offs = _offsets(ZOOM_POINTS[d], d)
    for _ in range(ZOOM_ROUNDS):
        pts = np.clip(u[:, None, :] + step * offs[None], lo, hi)  # (S, g, d)
        f, _ = search.objective(pts)
        i = np.argmin(f, axis=1)
        fi = f[np.arange(f.shape[0]), i]
        better = fi < fbest
        u = np.where(better[:, None], pts[np.arange(pts.shape[0]), i], u)
        fbest = np.where(better, fi, fbest)
        step = step * 2.0 / (ZOOM_POINTS[d] - 1)
    return u


def _decision(search: _Search, lo, hi, f0, grid, step, *, risk, level):
    """The one point minimising the risk of the objective over draws, and that risk."""
    d = lo.size
    r0 = risk_measure(f0, risk=risk, level=level)
    j = int(np.argmin(r0))
    u, rbest = grid[j], float(r0[j])
    offs = _offsets(ZOOM_POINTS[d], d)
    for _ in range(ZOOM_ROUNDS):
        pts = np.clip(u[None, :] + step * offs, lo, hi)
        r = risk_measure(search.objective(pts)[0], risk=risk, level=level)
        j = int(np.argmin(r))
        if r[j] < rbest:
            u, rbest = pts[j], float(r[j])
        step = step * 2.0 / (ZOOM_POINTS[d] - 1)
    return u, rbest


def optimize(
    fit: FitRecord,
    *,
    over: Mapping[str, tuple[float, float]],
    at: Mapping[str, Any] | None = None,
    risk: str = "mean",
    level: float = 0.9,
    group: str | None = None,
) -> xr.Dataset:
    """The setting of some inputs that optimises the law's expected target, the others fixed.

    Parameters
    ----------
    fit : FitRecord
    over : mapping of str to (float, float)
        Inputs to optimise and their (low, high) bounds in the user's units, e.g.
        ``{"lr": (1e-5, 1e-1), "bs": (64, 8192)}``; at most 3. Log-scaled inputs are searched
        on a log grid.
    at : mapping of str to float, optional
        Values of the law's other inputs, e.g. ``{"N": 7e9, "D": 2e12}``; missing ones among N,
        D, C are derived with ``C = k N D``.
    risk : {"mean", "var", "cvar"}
        Risk measure over the draws minimised by the decision: the mean expected target, its
        ``level`` quantile (VaR) or the mean of its worst ``1 - level`` share (CVaR); for a law
        where higher is better, of the negated target.
    level : float
        In (0, 1); used by ``var`` and ``cvar``.
    group : str, optional
        For a pooled fit: the group (None: a new, unseen group).

    Returns
    -------
    xr.Dataset
        Per draw (``chain``, ``draw``): ``{input}_argmin`` (each draw's own optimum of each
        ``over`` input), ``loss_min`` (the expected target there) and ``loss`` (the expected
        target at the decision). Without draws: ``{input}_decision`` (the risk-optimal
        setting, one for all draws) and ``risk_value`` (the risk there). Attrs: ``law``,
        ``question``, ``target``, ``at``, ``bounds``, ``risk``, ``level``, ``at_bound``
        (share of draws whose optimum lies on a bound, per input).

    Warns
    -----
    UserWarning
        When more than 1% of the draws have their optimum of an input on a bound: the bounds
        likely cut the optimum off; widen them.

    Examples
    --------
    >>> optimize(fit, over={"lr": (1e-5, 1e-1)}, at={"N": 7e9, "D": 2e12})  # doctest: +SKIP
    """
    law = fit.law
    if risk not in RISKS:
        raise QuestionError(f"risk must be one of {', '.join(RISKS)}, not {risk!r}")
    level_arr = check_probability(level, "level")
    if level_arr.ndim:
        raise QuestionError(f"level must be one number in (0, 1), not {level!r}")
    at = _fixed(at)
    bounds = _bounds(law, over, at)
    names = tuple(bounds)
    logs = np.array([law.input_spec(n).scaling == "log" for n in names])
    lo = np.array([bounds[n][0] for n in names])
    hi = np.array([bounds[n][1] for n in names])
    lo, hi = (np.where(logs, np.log(np.where(logs, x, 1.0)), x) for x in (lo, hi))
    draws = law_draws(fit, group)
    shape = next(iter(draws.values())).shape[:2]
    params = {p: v.reshape(-1, 1) for p, v in draws.items()}
    search = _Search(fit, law, params, names, logs, at)
    d = len(names)
    n = COARSE_POINTS[d]
    axes = [np.linspace(a, b, n) for a, b in zip(lo, hi, strict=True)]
    grid = np.array(list(itertools.product(*axes)))  # (G, d)
    step = (hi - lo) / (n - 1)
    f0, _ = search.objective(grid)
    u_draw = _per_draw(search, lo, hi, f0, grid, step)
    u_dec, risk_value = _decision(search, lo, hi, f0, grid, step, risk=risk, level=float(level))
    _, mu_draw = search.objective(u_draw[:, None, :])
    _, mu_dec = search.objective(u_dec[None, :])
    tol = 1e-6 * (hi - lo)
    on_bound = (np.abs(u_draw - lo) <= tol) | (np.abs(u_draw - hi) <= tol)
    at_bound = {nm: float(on_bound[:, i].mean()) for i, nm in enumerate(names)}
    for nm, share in at_bound.items():
        if share > AT_BOUND_WARN:
            warnings.warn(
                f"{share:.0%} of the draws have their optimum of {nm} on a bound of "
                f"[{bounds[nm][0]:g}, {bounds[nm][1]:g}]: the bounds likely cut the optimum off; "
                f"widen them (e.g. over={{{nm!r}: ...}}, CLI --over {nm}=LOW:HIGH)",
                UserWarning,
                stacklevel=2,
            )
    target = law.target.name
    best = "minimising" if law.direction == "lower" else "maximising"
    x_draw, x_dec = search.values(u_draw), search.values(u_dec)
    dims = ("chain", "draw")
    data: dict[str, Any] = {}
    for i, nm in enumerate(names):
        label = law.input_spec(nm).label
        data[f"{nm}_argmin"] = (
            dims,
            x_draw[:, i].reshape(shape),
            {"long_name": f"per-draw {label} {best} expected {target}"},
        )
        data[f"{nm}_decision"] = (
            (),
            float(x_dec[i]),
            {"long_name": f"{risk}-optimal {label} (one setting for all draws)"},
        )
    data["loss"] = (
        dims,
        mu_dec[:, 0].reshape(shape),
        {"long_name": f"expected {target} (mu) at the {risk}-optimal setting"},
    )
    data["loss_min"] = (
        dims,
        mu_draw[:, 0].reshape(shape),
        {"long_name": f"expected {target} (mu) at each draw's own optimum"},
    )
    data["risk_value"] = (
        (),
        float(search.sign * risk_value),
        {"long_name": f"risk measure ({risk}) of expected {target} at the decision"},
    )
    coords: dict[str, Any] = {"chain": fit.posterior["chain"], "draw": fit.posterior["draw"]}
    coords.update(at)
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        law=law.name,
        question="optimize",
        target=target,
        at=dict(at),
        bounds={k: list(v) for k, v in bounds.items()},
        risk=risk,
        level=float(level),
        at_bound=at_bound,
    )
    if getattr(fit, "pooling", None) is not None:
        ds.attrs["group"] = "<new group>" if group is None else str(group)
    return ds
