"""Small, printable prior specifications: ``Prior.parse("Beta(2, 5)")`` and back with ``str``.

A :class:`Prior` is a family name from :data:`FAMILIES` and its parameters in PyMC's positional
order (the families, their checks and their scipy versions are in
:mod:`bayes_scaling.inputs.prior_families`). It turns into a PyMC random variable
(:meth:`Prior.to_pymc`) and also draws and evaluates densities with scipy (:meth:`Prior.sample`,
:meth:`Prior.logpdf`) using the same parameterisation, so prior predictive checks need no PyMC
model. Text is parsed with :mod:`ast` and never evaluated.
"""

from __future__ import annotations

import ast
import keyword
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bayes_scaling.core.errors import PriorError
from bayes_scaling.inputs.prior_families import (
    CANONICAL,
    EXAMPLE,
    FAMILIES,
    SCIPY,
    check_prior,
    format_number,
)

__all__ = ["FAMILIES", "Prior", "parse_priors"]


def _number(node: ast.AST) -> float | None:
    """The value of a numeric literal, possibly signed; None for anything else."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        inner = _number(node.operand)
        if inner is None:
            return None
        return -inner if isinstance(node.op, ast.USub) else inner
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        try:
            return float(node.value)
        except OverflowError:
            return math.inf
    return None


def _build(family_name: Any, args: Sequence[Any], kwargs: Mapping[str, Any], text: str) -> Prior:
    return Prior(*check_prior(family_name, args, kwargs, text))


@dataclass(frozen=True)
class Prior:
    """A prior distribution: a family from :data:`FAMILIES` and its positional parameters.

    Attributes
    ----------
    family : str
        Canonical family name, e.g. ``"Beta"``.
    params : tuple of float
        Parameters in the order of ``FAMILIES[family]``.

    Examples
    --------
    >>> p = Prior.parse("beta(alpha=2, beta=5)")
    >>> str(p), p.to_dict()
    ('Beta(2, 5)', {'family': 'Beta', 'params': {'alpha': 2.0, 'beta': 5.0}})
    """

    family: str
    params: tuple[float, ...]

    def __post_init__(self) -> None:
        params = tuple(self.params) if isinstance(self.params, Iterable) else (self.params,)
        family, params = check_prior(self.family, params, {}, f"{self.family}{params}")
        object.__setattr__(self, "family", family)
        object.__setattr__(self, "params", params)

    # ------------------------------------------------------------------ text and dicts
    @classmethod
    def parse(cls, text: str | float | int | Prior | Mapping[str, Any]) -> Prior:
        """Read a prior from text such as ``"Beta(2, 5)"`` or ``"Normal(0, sigma=1)"``.

        Parameters
        ----------
        text : str, number, Prior or mapping
            Family names match case-insensitively; a plain number (or its text) is ``Fixed``; a
            :class:`Prior` is returned as is and a mapping is read with :meth:`from_dict`.

        Returns
        -------
        Prior

        Raises
        ------
        PriorError
            If the text names an unknown family or parameter, has the wrong number of parameters,
            a non-numeric or invalid value (e.g. a scale <= 0), or does not parse.
        """
        if isinstance(text, Prior):
            return text
        if isinstance(text, Mapping):
            return cls.from_dict(text)
        if isinstance(text, numbers.Real) and not isinstance(text, bool):
            return _build("Fixed", [float(text)], {}, repr(text))
        if not isinstance(text, str):
            raise PriorError(f"a prior must be text or a number, got {text!r}; {EXAMPLE}")
        source = text.strip()
        try:
            node = ast.parse(source, mode="eval").body
        except (SyntaxError, ValueError) as err:
            msg = getattr(err, "msg", str(err))
            raise PriorError(f"prior {text!r} does not parse ({msg}); {EXAMPLE}") from None
        value = _number(node)
        if value is not None:
            return _build("Fixed", [value], {}, text)
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            raise PriorError(f"prior {text!r} is not a distribution such as Beta(2, 5); {EXAMPLE}")
        if node.func.id.lower() not in CANONICAL:
            _build(node.func.id, [], {}, text)  # raises: unknown family

        def numeric(arg: ast.AST) -> float:
            number = _number(arg)
            if number is None:
                segment = ast.get_source_segment(source, arg) or ast.unparse(arg)
                raise PriorError(
                    f"prior {text!r}: {segment!r} is not a number (parameters must be numeric "
                    f"literals); {EXAMPLE}"
                )
            return number

        if any(kw.arg is None for kw in node.keywords):
            raise PriorError(f"prior {text!r}: '**' arguments are not allowed; {EXAMPLE}")
        args = [numeric(arg) for arg in node.args]
        kwargs = {kw.arg: numeric(kw.value) for kw in node.keywords}
        return _build(node.func.id, args, kwargs, text)

    def __str__(self) -> str:
        return f"{self.family}({', '.join(format_number(p) for p in self.params)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``{"family": "Beta", "params": {"alpha": 2.0, "beta": 5.0}}``."""
        return {"family": self.family, "params": self._kwargs()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Prior:
        """Inverse of :meth:`to_dict`; ``params`` may also be a list in positional order."""
        if not isinstance(d, Mapping) or "family" not in d or "params" not in d:
            raise PriorError(
                f"a prior dict needs 'family' and 'params' entries, got {d!r}; e.g. "
                "{'family': 'Beta', 'params': {'alpha': 2, 'beta': 5}}"
            )
        params = d["params"]
        if isinstance(params, Mapping):
            return _build(d["family"], [], dict(params), repr(dict(d)))
        if isinstance(params, Sequence) and not isinstance(params, str):
            return _build(d["family"], list(params), {}, repr(dict(d)))
        raise PriorError(f"prior dict {dict(d)!r}: 'params' must be a dict or a list")

    # ------------------------------------------------------------------ properties
    @property
    def is_fixed(self) -> bool:
        """Whether the parameter is a constant (family ``Fixed``) and is not sampled."""
        return self.family == "Fixed"

    @property
    def support(self) -> tuple[float, float]:
        """``(lower, upper)`` bounds of the distribution, e.g. ``(0, inf)`` for HalfNormal."""
        kw = self._kwargs()
        if "lower" in kw:
            return (kw["lower"], kw["upper"])
        if self.is_fixed:
            return (kw["value"], kw["value"])
        unbounded = self.family in ("Normal", "StudentT")
        return (-math.inf if unbounded else 0.0, 1.0 if self.family == "Beta" else math.inf)

    def _kwargs(self) -> dict[str, float]:
        return dict(zip(FAMILIES[self.family], self.params, strict=True))

    # ------------------------------------------------------------------ PyMC
    def _pymc_kwargs(self) -> dict[str, np.ndarray]:
        # floatX arrays, not Python floats: pytensor would make exact floats (2.0) float32.
        import pytensor

        dtype = pytensor.config.floatX
        return {k: np.asarray(v, dtype=dtype) for k, v in self._kwargs().items()}

    def _pymc_dist(self, **kwargs: Any) -> Any:
        """The unnamed PyMC distribution (``pm.<Family>.dist``; ``Fixed`` is a DiracDelta)."""
        import pymc as pm

        if self.is_fixed:
            return pm.DiracDelta.dist(c=self._pymc_kwargs()["value"], **kwargs)
        return getattr(pm, self.family).dist(**self._pymc_kwargs(), **kwargs)

    def to_pymc(self, name: str, *, dims: str | Sequence[str] | None = None) -> Any:
        """Create the random variable ``name`` in the current ``pm.Model`` context.

        Parameters
        ----------
        name : str
            Variable name in the model.
        dims : str or sequence of str, optional
            Model dimensions of the variable.

        Returns
        -------
        pytensor.tensor.TensorVariable
            ``pm.<Family>(name, ...)``; for ``Fixed``, a ``pm.Deterministic`` holding the constant
            (broadcast over ``dims`` if given).
        """
        import pymc as pm

        if not self.is_fixed:
            return getattr(pm, self.family)(name, **self._pymc_kwargs(), dims=dims)
        import pytensor.tensor as pt

        value = pt.as_tensor(self._pymc_kwargs()["value"])
        if dims is None:
            return pm.Deterministic(name, value)
        dims = (dims,) if isinstance(dims, str) else tuple(dims)
        model = pm.modelcontext(None)
        value = pt.alloc(value, *(model.dim_lengths[d] for d in dims))
        return pm.Deterministic(name, value, dims=dims)

    # ------------------------------------------------------------------ scipy
    def _scipy(self) -> Any:
        """The frozen scipy distribution (HalfStudentT: the StudentT that is folded at 0)."""
        return SCIPY[self.family](self._kwargs())

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw from the prior with scipy (same parameterisation as PyMC).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of randomness (a seed is also accepted).
        size : int or tuple of int
            Shape of the draws.

        Returns
        -------
        numpy.ndarray
            Float draws; a constant array for ``Fixed``.
        """
        rng = np.random.default_rng(rng)
        if self.is_fixed:
            return np.full(size, self.params[0], dtype=float)
        draws = np.asarray(self._scipy().rvs(size=size, random_state=rng), dtype=float)
        return np.abs(draws) if self.family == "HalfStudentT" else draws

    def logpdf(self, x: ArrayLike) -> np.ndarray:
        """Log density at ``x`` (``-inf`` outside the support; ``Fixed``: 0 at the value).

        Parameters
        ----------
        x : array_like
            Points at which to evaluate.

        Returns
        -------
        numpy.ndarray
        """
        x = np.asarray(x, dtype=float)
        if self.is_fixed:
            return np.where(x == self.params[0], 0.0, -np.inf)
        if self.family == "HalfStudentT":
            with np.errstate(invalid="ignore"):
                dens = math.log(2.0) + self._scipy().logpdf(x)
            return np.where(x >= 0, dens, -np.inf)
        return np.asarray(self._scipy().logpdf(x), dtype=float)


def parse_priors(
    spec: Mapping[str, str | float | Prior] | Iterable[str] | None,
) -> dict[str, Prior]:
    """Read several priors, keyed by parameter name.

    Parameters
    ----------
    spec : mapping, iterable of str or None
        ``{"alpha": "Beta(2, 5)", "E": 0}`` or CLI-style ``["alpha=Beta(2, 5)", "E=Fixed(0)"]``.

    Returns
    -------
    dict of str to Prior
        A new dict (the input is not modified); empty for None.

    Raises
    ------
    PriorError
        If a key is not an identifier, an entry is not ``NAME=SPEC``, a name repeats, or a prior is
        invalid.
    """
    if spec is None:
        return {}
    if isinstance(spec, str):
        spec = [spec]
    items: list[tuple[Any, Any]] = []
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        seen: set[str] = set()
        for entry in spec:
            if not isinstance(entry, str) or "=" not in entry:
                raise PriorError(
                    f"prior override {entry!r} is not NAME=SPEC; write e.g. alpha='Beta(2, 5)'"
                )
            name, _, value = (part.strip() for part in entry.partition("="))
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            if name in seen:
                raise PriorError(f"prior for {name!r} is given twice ({entry!r})")
            seen.add(name)
            items.append((name, value))
    out: dict[str, Prior] = {}
    for name, value in items:
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise PriorError(
                f"prior name {name!r} is not a valid parameter name (an identifier such as alpha)"
            )
        try:
            out[name] = Prior.parse(value)
        except PriorError as err:
            raise PriorError(f"prior for {name}: {err}") from None
    return out
