"""Human-readable numbers with units: 70B params, 1.4T tokens, 5.8e23 FLOPs."""

from __future__ import annotations

import math

_SUFFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"))
#: Unit of each canonical quantity, as shown in tables.
UNITS = {"N": "params", "D": "tokens", "C": "FLOPs", "U": "unique tokens"}


def short(x: float, *, digits: int = 3) -> str:
    """Compact count: 7e10 -> '70B', 1.4e12 -> '1.4T', 512 -> '512'."""
    if x is None or not math.isfinite(x):
        return str(x)
    for scale, suffix in _SUFFIXES:
        if abs(x) >= scale:
            return f"{x / scale:.{digits}g}{suffix}"
    return f"{x:.{digits}g}"


def flops(x: float, *, digits: int = 2) -> str:
    """FLOPs in scientific notation: 5.76e23 -> '5.76e+23' style but compact ('5.8e23')."""
    if x is None or not math.isfinite(x):
        return str(x)
    mantissa, exponent = f"{x:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def quantity(name: str, x: float) -> str:
    """A canonical quantity with its unit: ('N', 7e10) -> '70B params'."""
    if name == "C":
        return f"{flops(x)} FLOPs"
    unit = UNITS.get(name)
    return f"{short(x)} {unit}" if unit else f"{x:.4g}"


def number(x: float, *, digits: int = 4) -> str:
    """A parameter value: plain for moderate magnitudes, scientific otherwise."""
    if x is None or not math.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"
