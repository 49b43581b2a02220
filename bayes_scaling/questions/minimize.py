"""Vectorised one-dimensional search: many independent minimisations and root findings at once.

Questions about a posterior solve the same small problem for every draw and every budget (the
compute-optimal model size of each draw at each budget, the budget at which each draw reaches a
target loss). These helpers solve all of them together with numpy: one call of the objective per
iteration, on arrays holding every problem.

* :func:`minimize_bracketed`: golden-section search on a bracket, then safeguarded parabolic
  (successive quadratic interpolation) steps, for continuous unimodal objectives.
* :func:`decreasing_root`: the root of a decreasing function by a grid scan followed by
  Illinois false-position steps.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Golden ratio conjugate, (sqrt(5) - 1) / 2.
GOLDEN = (np.sqrt(5.0) - 1.0) / 2.0


def _parabola_vertex(x1, f1, x2, f2, x3, f3):
    """Vertex of the parabola through three points (nan when it does not open upwards)."""
    d21, d23 = x2 - x1, x2 - x3
    p = d21 * d21 * (f2 - f3) - d23 * d23 * (f2 - f1)
    q = d21 * (f2 - f3) - d23 * (f2 - f1)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = x2 - 0.5 * p / q
    # a minimum needs an upward parabola: f2 below the chord between x1 and x3
    chord = f1 + (f3 - f1) * (x2 - x1) / np.where(x3 > x1, x3 - x1, 1.0)
    ok = np.isfinite(v) & (f2 < chord) & (v > x1) & (v < x3)
    return np.where(ok, v, np.nan)


def _finite_call(f):
    def call(x):
        y = np.asarray(f(x), dtype=float)
        return np.where(np.isfinite(y), y, np.inf)

    return call


def parabolic_steps(call, x1, f1, x2, f2, x3, f3, *, steps: int):
    """Safeguarded successive parabolic interpolation on bracketing triples.

    Each triple has ``x1 < x2 < x3`` and ``f2 <= f1, f3``; every step evaluates ``call`` once
    at the parabola's vertex (or at the midpoint of the larger segment when the parabola is
    unusable) and keeps the best point in the middle of the new, smaller triple.
    """
    for _ in range(steps):
        v = _parabola_vertex(x1, f1, x2, f2, x3, f3)
        fallback = np.where(x2 - x1 > x3 - x2, 0.5 * (x1 + x2), 0.5 * (x2 + x3))
        v = np.where(np.isnan(v) | (v == x2), fallback, v)
        fv = call(v)
        better = fv < f2
        right = v > x2
        nx1 = np.where(better, np.where(right, x2, x1), np.where(right, x1, v))
        nf1 = np.where(better, np.where(right, f2, f1), np.where(right, f1, fv))
        nx3 = np.where(better, np.where(right, x3, x2), np.where(right, v, x3))
        nf3 = np.where(better, np.where(right, f3, f2), np.where(right, fv, f3))
        x2 = np.where(better, v, x2)
        f2 = np.where(better, fv, f2)
        x1, f1, x3, f3 = nx1, nf1, nx3, nf3
    return x1, f1, x2, f2, x3, f3


def minimize_local(
    f: Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray,
    *,
    step: float,
    polish: int = 2,
    max_shifts: int = 20,
) -> tuple[np.ndarray, np.ndarray]:
    """Refine a good starting point: bracket ``x0 ± step`` (walking downhill if needed), then
    take ``polish`` parabolic steps. Costs ``3 + shifts + polish`` calls of ``f``."""
    call = _finite_call(f)
    x2 = np.asarray(x0, dtype=float).copy()
    x1, x3 = x2 - step, x2 + step
    f1, f2, f3 = call(x1), call(x2), call(x3)
    for _ in range(max_shifts):
        go_left = (f1 < f2) & (f1 <= f3)
        go_right = (f3 < f2) & ~go_left
        if not (go_left.any() or go_right.any()):
            break
        shift = np.where(go_left, -step, np.where(go_right, step, 0.0))
        new = np.where(go_left, x1 - step, x3 + step)
        fnew = call(new)
        x1, x2, x3, f1, f2, f3 = (
            np.where(go_left, new, np.where(go_right, x2, x1)),
            x2 + shift,
            np.where(go_left, x2, np.where(go_right, new, x3)),
            np.where(go_left, fnew, np.where(go_right, f2, f1)),
            np.where(go_left, f1, np.where(go_right, f3, f2)),
            np.where(go_left, f2, np.where(go_right, fnew, f3)),
        )
    _, _, x, fx, _, _ = parabolic_steps(call, x1, f1, x2, f2, x3, f3, steps=polish)
    return x, fx


def minimize_bracketed(
    f: Callable[[np.ndarray], np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    width: float = 0.02,
    polish: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimise ``f`` on ``[lower, upper]`` elementwise (each element an independent problem).

    Parameters
    ----------
    f : callable
        Maps an array of trial points (the broadcast shape of ``lower`` and ``upper``) to an
        array of the same shape; element ``i`` of the output may depend only on element ``i``
        of the input. Non-finite values count as +inf.
    lower, upper : array
        Brackets, ``lower < upper``.
    width : float
        Golden-section steps shrink each bracket to this width before the parabolic steps.
    polish : int
        Number of safeguarded parabolic steps (each one call of ``f``) after the golden phase;
        each roughly squares the relative error for smooth objectives.

    Returns
    -------
    x, fx : arrays
        The minimiser and the objective there. A minimum on the bracket's edge is returned as
        the edge point; callers check for it.
    """
    a, b = np.broadcast_arrays(np.asarray(lower, float), np.asarray(upper, float))
    a, b = a.copy(), b.copy()

    call = _finite_call(f)
    fa, fb = call(a), call(b)
    c = b - GOLDEN * (b - a)
    d = a + GOLDEN * (b - a)
    fc, fd = call(c), call(d)
    span = float(np.max(b - a)) if a.size else 0.0
    steps = int(np.ceil(np.log(max(span, width) / width) / -np.log(GOLDEN))) if span > 0 else 0
    for _ in range(steps):
        left = fc <= fd  # minimum in [a, d]: drop (d, b]; else drop [a, c)
        right = ~left
        np.copyto(b, d, where=left)
        np.copyto(fb, fd, where=left)
        np.copyto(a, c, where=right)
        np.copyto(fa, fc, where=right)
        np.copyto(d, c, where=left)  # the kept interior point moves to its new place
        np.copyto(fd, fc, where=left)
        np.copyto(c, d, where=right)
        np.copyto(fc, fd, where=right)
        step = GOLDEN * (b - a)
        new = np.where(left, b - step, a + step)
        fnew = call(new)
        np.copyto(c, new, where=left)
        np.copyto(fc, fnew, where=left)
        np.copyto(d, new, where=right)
        np.copyto(fd, fnew, where=right)
    # best interior point and its neighbours among a < c < d < b
    left = fc <= fd
    x1, f1 = np.where(left, a, c), np.where(left, fa, fc)
    x2, f2 = np.where(left, c, d), np.where(left, fc, fd)
    x3, f3 = np.where(left, d, b), np.where(left, fd, fb)
    x1, f1, x2, f2, x3, f3 = parabolic_steps(call, x1, f1, x2, f2, x3, f3, steps=polish)
    # an edge can beat every interior point when the minimum sits on the bracket's edge
    x = np.where(fa < f2, a, np.where(fb < f2, b, x2))
    fx = np.minimum(np.minimum(fa, fb), f2)
    return x, fx


def decreasing_root(
    g: Callable[[np.ndarray], np.ndarray],
    grid: np.ndarray,
    shape: tuple[int, ...],
    *,
    iterations: int = 12,
    tol: float = 1e-9,
) -> np.ndarray:
    """Roots of functions that decrease along a 1-D ``grid``, elementwise over ``shape``.

    Parameters
    ----------
    g : callable
        ``g(x)`` with ``x`` of shape ``shape`` (one trial point per problem) or of shape
        ``shape + (len(grid),)`` (the grid scan) returns values of the same shape.
    grid : 1-D array
        Increasing trial points spanning the search range.
    shape : tuple
        Shape of the problem array.
    iterations : int
        Illinois false-position steps after the scan.
    tol : float
        Stop early when every bracket is narrower than this.

    Returns
    -------
    array of shape ``shape``
        The root; ``+inf`` where ``g`` is still positive at the grid's end, ``-inf`` where it is
        already non-positive at the grid's start.
    """
    grid = np.asarray(grid, dtype=float)
    values = np.asarray(g(np.broadcast_to(grid, (*shape, grid.size))), dtype=float)
    values = np.where(np.isnan(values), np.inf, values)
    below = values <= 0
    first = np.argmax(below, axis=-1)  # first grid point at or below zero
    never = ~below.any(axis=-1)
    at_start = below[..., 0]
    hi_i = np.clip(first, 1, grid.size - 1)
    lo_i = hi_i - 1
    xa, xb = grid[lo_i], grid[hi_i]
    ga = np.take_along_axis(values, lo_i[..., None], -1)[..., 0]
    gb = np.take_along_axis(values, hi_i[..., None], -1)[..., 0]
    solvable = ~never & ~at_start
    ga = np.where(solvable, ga, 1.0)
    gb = np.where(solvable, gb, -1.0)
    side = np.zeros(shape, dtype=int)
    for _ in range(iterations):
        if np.all(np.abs(xb - xa) < tol):
            break
        with np.errstate(divide="ignore", invalid="ignore"):
            x = xb - gb * (xb - xa) / (gb - ga)
        bad = ~np.isfinite(x) | (x <= np.minimum(xa, xb)) | (x >= np.maximum(xa, xb))
        x = np.where(bad, 0.5 * (xa + xb), x)
        gx = np.asarray(g(x), dtype=float)
        gx = np.where(np.isnan(gx), np.inf, gx)
        pos = gx > 0  # the root lies between x and xb
        # Illinois: halve the value kept at an end that stays twice in a row
        ga_new = np.where(pos, gx, np.where(side == -1, ga * 0.5, ga))
        gb_new = np.where(pos, np.where(side == 1, gb * 0.5, gb), gx)
        xa = np.where(pos, x, xa)
        xb = np.where(pos, xb, x)
        side = np.where(pos, 1, -1)
        ga, gb = ga_new, gb_new
    with np.errstate(divide="ignore", invalid="ignore"):
        root = xb - gb * (xb - xa) / (gb - ga)
    root = np.where(np.isfinite(root), np.clip(root, xa, xb), 0.5 * (xa + xb))
    root = np.where(never, np.inf, root)
    return np.where(at_start & ~never, -np.inf, root)
