"""The one interval rule: every interval a user sees is computed here.

Credible intervals are equal-tailed: the ``(1 - ci) / 2`` and ``(1 + ci) / 2`` quantiles of the
draws (linear interpolation between order statistics, numpy's default), with the median beside
them. Non-finite draws follow one explicit rule:

- ``+inf`` means "not reached" (e.g. the compute a draw needs for a target below its irreducible
  loss). Such draws are counted, never dropped: they sort above every finite draw, so the upper
  bound is ``inf`` when more than the tail share ``(1 - ci) / 2`` of the draws is ``inf``, and
  the median is ``inf`` when more than half is. The share not reached is reported
  (:func:`share_not_reached`). ``-inf`` is counted the same way at the bottom.
- ``NaN`` means "undefined for this draw" (e.g. a law evaluated outside its domain). NaN draws
  are left out of the quantiles and their share is reported (:func:`share_undefined`); when every
  draw is NaN the bounds are NaN.

The CLI (table and JSON), the report, the plots, the scores, the baseline and the backtests all
call :func:`equal_tailed` (numpy) or :func:`interval_bounds` (xarray), so the same draws give the
same numbers through every door.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError

__all__ = [
    "SAMPLE_DIMS",
    "check_ci",
    "check_probability",
    "equal_tailed",
    "interval_bounds",
    "quantiles",
    "share_not_reached",
    "share_undefined",
    "summarize",
    "weighted_interval",
]

#: Dims that hold posterior draws in every question's output.
SAMPLE_DIMS = ("chain", "draw")


def check_probability(value: Any, name: str = "probability") -> np.ndarray:
    """A probability (or 1-D list of them) strictly inside (0, 1); QuestionError otherwise."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise QuestionError(f"{name} must be a number in (0, 1), not {value!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise QuestionError(f"{name} must be a number in (0, 1) or a 1-D list of them")
    flat = np.atleast_1d(arr)
    bad = ~((flat > 0) & (flat < 1))
    if bad.any():
        raise QuestionError(
            f"{name} must be strictly between 0 and 1 (e.g. 0.9); got {flat[bad].tolist()}"
        )
    return arr


def check_ci(ci: float) -> float:
    """Validate one interval probability in (0, 1)."""
    arr = check_probability(ci, "ci")
    if arr.ndim != 0:
        raise QuestionError(f"ci must be one number in (0, 1), not {ci!r}")
    return float(arr)


def _flatten(values: Any, axis: int | Sequence[int] | None) -> np.ndarray:
    """Move the draw axes to the front and merge them into one (axis 0)."""
    x = np.asarray(values, dtype=float)
    if axis is None:
        return x.reshape(-1)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    axes = tuple(a % x.ndim for a in axes)
    x = np.moveaxis(x, axes, tuple(range(len(axes))))
    return x.reshape(-1, *x.shape[len(axes) :])


def quantiles(
    values: Any, q: Sequence[float] | float, *, axis: int | Sequence[int] | None = None
) -> np.ndarray:
    """Quantiles ``q`` of draws over ``axis`` under the module's non-finite rule.

    Returns an array of shape ``(len(q), *rest)`` (or ``rest`` for a scalar ``q``), where
    ``rest`` are the dims not reduced.
    """
    scalar = np.ndim(q) == 0
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    x = np.sort(_flatten(values, axis), axis=0)  # NaN last, +inf just before them
    n_valid = np.sum(~np.isnan(x), axis=0)
    out = np.full((qs.size, *x.shape[1:]), np.nan)
    for i, level in enumerate(qs):
        h = np.maximum(n_valid - 1, 0) * level
        lo = np.floor(h).astype(int)
        hi = np.minimum(lo + 1, np.maximum(n_valid - 1, 0))
        frac = h - lo
        x_lo = np.take_along_axis(x, lo[None, ...], axis=0)[0]
        x_hi = np.take_along_axis(x, hi[None, ...], axis=0)[0]
        with np.errstate(invalid="ignore"):
            between = x_lo + frac * (x_hi - x_lo)
        value = np.where((frac == 0) | (x_hi == x_lo), x_lo, between)
        out[i] = np.where(n_valid > 0, value, np.nan)
    return out[0] if scalar else out


def equal_tailed(
    values: Any, *, ci: float = CI, axis: int | Sequence[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lower, median, upper)`` of the central ``ci`` interval of draws over ``axis``."""
    ci = check_ci(ci)
    lower, median, upper = quantiles(values, [(1 - ci) / 2, 0.5, (1 + ci) / 2], axis=axis)
    return lower, median, upper


def share_not_reached(values: Any, *, axis: int | Sequence[int] | None = None) -> np.ndarray:
    """Share of draws that are ``+inf`` ("not reached") over ``axis``."""
    x = _flatten(values, axis)
    return np.mean(np.isposinf(x), axis=0)


def share_undefined(values: Any, *, axis: int | Sequence[int] | None = None) -> np.ndarray:
    """Share of draws that are NaN ("undefined") over ``axis``."""
    x = _flatten(values, axis)
    return np.mean(np.isnan(x), axis=0)


def interval_bounds(draws: Any, *, ci: float = CI) -> tuple[Any, Any]:
    """Lower and upper bounds over the ``chain`` and ``draw`` dims of an xarray DataArray."""
    import xarray as xr

    dims = [d for d in SAMPLE_DIMS if d in draws.dims]
    rest = [d for d in draws.dims if d not in dims]
    values = draws.transpose(*dims, *rest).values
    lower, _, upper = equal_tailed(values, ci=ci, axis=tuple(range(len(dims))))
    coords = {k: v for k, v in draws.coords.items() if not set(v.dims) & set(dims)}
    make = lambda a: xr.DataArray(a, dims=rest, coords=coords)  # noqa: E731
    return make(lower), make(upper)


def summarize(values: Any, *, ci: float = CI) -> dict[str, float]:
    """One quantity's draws (any shape, all pooled) as ``median``, ``lower``, ``upper`` and
    ``share_not_reached``: the numbers every door prints for a scalar answer."""
    lower, median, upper = equal_tailed(values, ci=ci, axis=None)
    return {
        "median": float(median),
        "lower": float(lower),
        "upper": float(upper),
        "share_not_reached": float(share_not_reached(values, axis=None)),
    }


def weighted_interval(
    values: np.ndarray, weights: np.ndarray, *, ci: float = CI
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the central ``ci`` interval of weighted draws.

    Parameters
    ----------
    values : numpy.ndarray
        Draws, shape (S,), sorted ascending, NaN already removed.
    weights : numpy.ndarray
        Non-negative weights, shape (..., S), summing to 1 along the last axis.
    ci : float

    Notes
    -----
    The weighted analogue of numpy's linear quantile (the rule of :func:`quantiles`), for
    importance-weighted draws (the design's expected widths after a candidate run): draw ``i``
    sits at ``(W_i - w_i) / (1 - w_last)`` (``W`` the cumulative weight), which is
    ``i / (S - 1)`` for equal weights; the quantile interpolates linearly between positions.
    """
    cum = np.cumsum(weights, axis=-1)
    denom = np.maximum(1.0 - weights[..., -1:], 1e-300)
    pos = (cum - weights) / denom
    out = []
    for level in ((1 - ci) / 2, (1 + ci) / 2):
        j = np.clip(np.sum(pos <= level, axis=-1) - 1, 0, values.size - 1)
        j1 = np.minimum(j + 1, values.size - 1)
        p0 = np.take_along_axis(pos, j[..., None], axis=-1)[..., 0]
        p1 = np.take_along_axis(pos, j1[..., None], axis=-1)[..., 0]
        gap = p1 - p0
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(gap > 0, np.clip((level - p0) / gap, 0.0, 1.0), 0.0)
        x0, x1 = values[j], values[j1]
        with np.errstate(invalid="ignore"):
            out.append(np.where((frac == 0) | (x0 == x1), x0, x0 + frac * (x1 - x0)))
    return out[0], out[1]
