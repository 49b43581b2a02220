"""exp, log and log1p in plain arithmetic, so that a compiled loop over runs can use SIMD.

A log-density over many runs spends most of its time in ``exp`` and ``log``. numba calls the C
library's scalar functions for them, one element at a time, and a loop containing such a call is
never vectorised. The functions here use only arithmetic, comparisons and bit casts, which LLVM
turns into vector instructions when they are inlined into a loop (AVX2: four runs at a time).

Accuracy: within 2 ulp of the C library on the tested ranges (``tests/test_vector_math.py``
compares them with numpy over the whole double range, special values included), with the same
results for the special values: ``exp(-inf) = 0``, ``exp(inf) = inf``, ``log(0) = -inf``,
``log(x < 0) = nan``, ``log1p(-1) = -inf``, and nan in, nan out. ``exp`` flushes results below
the smallest normal double (``x < -708.39``) to zero; subnormal inputs of ``log`` are exact.

Methods (textbook, e.g. Muller, *Elementary Functions*, 3rd ed., 2016, ch. 11):

- ``exp``: ``x = k ln2 + r`` with ``|r| <= ln2 / 2`` (Cody-Waite, ln2 in two parts), a degree-13
  Taylor polynomial for ``e**r`` (Estrin's scheme), and ``2**k`` built in the exponent bits.
- ``log``: ``x = m 2**e`` with ``m`` in ``[sqrt(2)/2, sqrt(2))``, then
  ``log m = 2 atanh(s)``, ``s = (m - 1) / (m + 1)``, by its odd series to ``s**23`` (Estrin).
- ``log1p``: ``log(1 + u)`` corrected by the rounding error of ``1 + u`` (Goldberg's trick).

These functions must not be compiled with fast-math reassociation: they rely on the exact
order of their floating-point operations. They are compiled on their own and inlined by LLVM,
which keeps each instruction's flags.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.core import types
from numba.extending import intrinsic

__all__ = ["exp", "log", "log1p"]

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_EXP_MAX = 709.782712893384  # log(largest double)
_EXP_MIN = -708.3964185322641  # log(smallest normal double)
_SQRT2 = 1.4142135623730951
_TWO54 = 18014398509481984.0
_SMALLEST_NORMAL = 2.2250738585072014e-308
_MANTISSA = 0x000FFFFFFFFFFFFF
_ONE_BITS = 0x3FF0000000000000
# 1/k! for k = 2..13 (e**r = 1 + r + r^2/2! + ... + r^13/13!, error < 2e-17 for |r| <= ln2/2)
_E2, _E3, _E4, _E5 = 1 / 2, 1 / 6, 1 / 24, 1 / 120
_E6, _E7, _E8, _E9 = 1 / 720, 1 / 5040, 1 / 40320, 1 / 362880
_E10, _E11, _E12, _E13 = 1 / 3628800, 1 / 39916800, 1 / 479001600, 1 / 6227020800


def _bitcast(source: types.Type, target: types.Type) -> object:
    """An intrinsic reinterpreting the 64 bits of a ``source`` value as ``target`` (no
    conversion)."""

    @intrinsic
    def cast(typingctx, value):
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], context.get_value_type(target))

        return target(source), codegen

    return cast


_bits = _bitcast(types.float64, types.int64)  # a double's bits as an int64
_double = _bitcast(types.int64, types.float64)  # the double with these bits


_jit = numba.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")


@_jit
def exp(x: float) -> float:
    """``e**x`` (see the module docstring for accuracy and special values)."""
    xc = min(max(x, _EXP_MIN), _EXP_MAX)
    kf = np.floor(xc * _LOG2E + 0.5)
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    # Estrin's scheme: the same polynomial in a shallower tree of operations, so that
    # consecutive runs overlap in the pipeline (Horner's chain of 13 dependent steps does not)
    r2 = r * r
    r4 = r2 * r2
    b0 = (_E2 + _E3 * r) + (_E4 + _E5 * r) * r2
    b1 = (_E6 + _E7 * r) + (_E8 + _E9 * r) * r2
    b2 = (_E10 + _E11 * r) + (_E12 + _E13 * r) * r2
    q = (b0 + b1 * r4) + b2 * (r4 * r4)
    p = 1.0 + (r + r2 * q)
    # 2**k in two halves, so that k = 1024 (x just below _EXP_MAX) stays representable
    k = np.int64(np.int32(kf))
    half = k >> 1
    scale_a = _double((half + 1023) << 52)
    scale_b = _double((k - half + 1023) << 52)
    y = (p * scale_a) * scale_b
    y = 0.0 if x < _EXP_MIN else y
    y = np.inf if x > _EXP_MAX else y
    return x if x != x else y


@numba.njit(inline="always", fastmath=False, error_model="numpy")
def _log(x: float) -> float:
    subnormal = x < _SMALLEST_NORMAL
    xs = x * _TWO54 if subnormal else x
    bits = _bits(xs)
    e = np.int32(bits >> 52) - np.int32(1023) - (np.int32(54) if subnormal else np.int32(0))
    m = _double((bits & _MANTISSA) | _ONE_BITS)  # in [1, 2)
    big = m > _SQRT2
    m = 0.5 * m if big else m
    ef = float(e) + (1.0 if big else 0.0)
    f = m - 1.0
    s = f / (m + 1.0)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    b0 = (1 / 3 + z / 5) + (1 / 7 + z / 9) * z2
    b1 = (1 / 11 + z / 13) + (1 / 15 + z / 17) * z2
    b2 = (1 / 19 + z / 21) + (1 / 23) * z2
    q = (b0 + b1 * z4) + b2 * (z4 * z4)
    # log m = f - f^2/2 + (correction): 2 s (1 + z q) written as f - s f + 2 s z q keeps the
    # leading term exact
    log_m = f - s * (f - 2.0 * z * q)
    y = ef * _LN2_HI + (log_m + ef * _LN2_LO)
    y = -np.inf if x == 0.0 else y
    y = np.nan if x < 0.0 else y
    return x if (x != x or x == np.inf) else y


@_jit
def log(x: float) -> float:
    """Natural logarithm (see the module docstring for accuracy and special values)."""
    return _log(x)


@_jit
def log1p(u: float) -> float:
    """``log(1 + u)``, accurate for small ``u`` too (see the module docstring)."""
    w = 1.0 + u
    # the rounding error of w, relative to w; gives exactly u when w == 1
    correction = ((w - 1.0) - u) / w
    correction = 0.0 if (w == 0.0 or w == np.inf) else correction
    return _log(w) - correction
