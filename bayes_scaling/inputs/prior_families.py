"""The prior families: their parameters, how values are checked, help text and scipy versions.

:data:`FAMILIES` lists each family's PyMC parameters in positional order. :func:`check_prior`
turns a family name and positional/keyword values into the canonical family and its parameter
tuple, or raises :class:`~bayes_scaling.core.errors.PriorError` with a hint and an example of the
family. :data:`SCIPY` builds the frozen scipy distribution with PyMC's parameterisation, on which
:class:`~bayes_scaling.inputs.priors.Prior` draws and evaluates densities.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from bayes_scaling.core.errors import PriorError

__all__ = ["CANONICAL", "EXAMPLE", "FAMILIES", "SCIPY", "check_prior", "format_number"]

#: Family -> PyMC parameter names in positional order (Gamma's ``beta`` is a rate; ``Fixed`` is a
#: constant that is not sampled).
FAMILIES: dict[str, tuple[str, ...]] = {
    "Normal": ("mu", "sigma"),
    "HalfNormal": ("sigma",),
    "LogNormal": ("mu", "sigma"),
    "Beta": ("alpha", "beta"),
    "Gamma": ("alpha", "beta"),
    "Exponential": ("lam",),
    "Uniform": ("lower", "upper"),
    "StudentT": ("nu", "mu", "sigma"),
    "HalfStudentT": ("nu", "sigma"),
    "TruncatedNormal": ("mu", "sigma", "lower", "upper"),
    "Fixed": ("value",),
}

#: Lower-case family name -> canonical family name.
CANONICAL = {family.lower(): family for family in FAMILIES}
_POSITIVE = frozenset({"sigma", "alpha", "beta", "lam", "nu"})
#: How to write a prior, the end of most error messages.
EXAMPLE = (
    "write e.g. 'Normal(0, 1)', 'Beta(alpha=2, beta=5)', 'LogNormal(-1.5, 1.5)' or a plain number "
    "such as 0 for a fixed value"
)


def _scipy_frozen(family: str, k: Mapping[str, float]):
    """The frozen scipy distribution of ``family`` with PyMC's parameterisation.

    scipy.stats is imported here, not at module level: it takes about a second to import and
    most commands (report, predict, the point fit) never draw from a prior.
    """
    from scipy import stats

    match family:
        case "Normal":
            return stats.norm(k["mu"], k["sigma"])
        case "HalfNormal":
            return stats.halfnorm(scale=k["sigma"])
        case "LogNormal":
            return stats.lognorm(k["sigma"], scale=math.exp(k["mu"]))
        case "Beta":
            return stats.beta(k["alpha"], k["beta"])
        case "Gamma":
            return stats.gamma(k["alpha"], scale=1.0 / k["beta"])
        case "Exponential":
            return stats.expon(scale=1.0 / k["lam"])
        case "Uniform":
            return stats.uniform(k["lower"], k["upper"] - k["lower"])
        case "StudentT":
            return stats.t(k["nu"], k["mu"], k["sigma"])
        case "HalfStudentT":
            return stats.t(k["nu"], 0.0, k["sigma"])
        case "TruncatedNormal":
            lower = (k["lower"] - k["mu"]) / k["sigma"]
            upper = (k["upper"] - k["mu"]) / k["sigma"]
            return stats.truncnorm(lower, upper, k["mu"], k["sigma"])
    raise KeyError(family)


#: Family -> frozen scipy distribution with PyMC's parameterisation (Gamma and Exponential: rates)
SCIPY = {
    family: functools.partial(_scipy_frozen, family) for family in FAMILIES if family != "Fixed"
}


def format_number(x: float) -> str:
    """Shortest text that reads back as ``x``: 2 not 2.0, 0.001 not 1e-3."""
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    return repr(x)


_EXAMPLES = {
    "Normal": "Normal(0, 1)", "HalfNormal": "HalfNormal(1)", "LogNormal": "LogNormal(-1.5, 1.5)",
    "Beta": "Beta(2, 5)", "Gamma": "Gamma(2, 4)", "Exponential": "Exponential(1)",
    "Uniform": "Uniform(0, 1)", "StudentT": "StudentT(3, 0, 1)",
    "HalfStudentT": "HalfStudentT(3, 1)",
    "TruncatedNormal": "TruncatedNormal(0, 1, 0, 5)", "Fixed": "Fixed(0)",
}  # fmt: skip


def _hint(family: str) -> str:
    names = FAMILIES[family]
    return (
        f"{family} takes {family}({', '.join(names)}); write e.g. {_EXAMPLES[family]!r} "
        f"or {family}({', '.join(f'{n}=...' for n in names)})"
    )


def _validate(family: str, params: tuple[float, ...], text: str) -> None:
    names = FAMILIES[family]
    kw = dict(zip(names, params, strict=True))
    for name, value in kw.items():
        if not math.isfinite(value):
            raise PriorError(f"prior {text!r}: {name} must be a finite number; {_hint(family)}")
        if name in _POSITIVE and value <= 0:
            raise PriorError(
                f"prior {text!r}: {name} must be > 0, got {format_number(value)}; " + _hint(family)
            )
    if "lower" in kw and kw["lower"] >= kw["upper"]:
        raise PriorError(
            f"prior {text!r}: lower must be < upper, got lower={format_number(kw['lower'])} and "
            f"upper={format_number(kw['upper'])}; {_hint(family)}"
        )


def check_prior(
    family_name: Any, args: Sequence[Any], kwargs: Mapping[str, Any], text: str
) -> tuple[str, tuple[float, ...]]:
    """Check a family name and positional/keyword values: the canonical family and parameters."""
    family = CANONICAL.get(family_name.lower()) if isinstance(family_name, str) else None
    if family is None:
        raise PriorError(
            f"prior {text!r}: unknown family {family_name!r}; known families are "
            f"{', '.join(FAMILIES)}; {EXAMPLE}"
        )
    names = FAMILIES[family]
    if len(args) > len(names):
        raise PriorError(f"prior {text!r}: {len(args)} parameters given; {_hint(family)}")
    values = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key not in names:
            raise PriorError(f"prior {text!r}: unknown parameter {key!r}; {_hint(family)}")
        if key in values:
            raise PriorError(f"prior {text!r}: {key} is given twice; {_hint(family)}")
        values[key] = value
    missing = [n for n in names if n not in values]
    if missing:
        raise PriorError(f"prior {text!r}: missing {', '.join(missing)}; {_hint(family)}")
    for name in names:
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise PriorError(
                f"prior {text!r}: {name} must be a number, got {value!r}; {_hint(family)}"
            )
    params = tuple(float(values[n]) for n in names)
    _validate(family, params, text)
    return family, params
