"""A safe compiler for scaling-law formulas: arithmetic on names, a few functions, two backends.

A formula such as ``"E + A / N**alpha + B / D**beta"`` is parsed with :func:`ast.parse` and checked
against a whitelist (numbers, names, ``+ - * / **``, unary ``-``/``+`` and the functions in
:data:`ALLOWED_FUNCTIONS`; a comparison only as the first argument of ``where``). User text is never
evaluated: the syntax tree is turned once, at parse time, into a tree of small closures that is then
run with either numpy (:meth:`Formula.numpy`) or pytensor (:meth:`Formula.pytensor`) operations.
The whitelist, the closures and the operation tables are in
:mod:`bayes_scaling.inputs.formula_compiler`; this module holds the public :class:`Formula` and
:class:`Program` and the functions that parse them.
"""

from __future__ import annotations

import ast
import keyword
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bayes_scaling.core.errors import FormulaError
from bayes_scaling.inputs.formula_compiler import (
    ALLOWED_FUNCTIONS,
    ARITY,
    CompiledFn,
    Compiler,
    numpy_ops,
    pytensor_ops,
)

__all__ = ["ALLOWED_FUNCTIONS", "Formula", "Program", "parse_formula", "parse_program"]


def _missing(text: str, names: frozenset[str], values: Mapping[str, Any]) -> None:
    if missing := sorted(n for n in names if n not in values):
        raise FormulaError(f"formula {text!r} needs a value for {', '.join(missing)}")


def _to_tensor(name: str, value: Any) -> Any:
    import pytensor
    import pytensor.tensor as pt
    from pytensor.graph.basic import Variable

    if isinstance(value, Variable):
        if getattr(value, "dtype", "float64")[:3] in ("int", "uin", "boo"):
            return pt.cast(value, pytensor.config.floatX)
        return value
    arr = np.asarray(value)
    if arr.dtype.kind in "biu":
        arr = arr.astype(pytensor.config.floatX)
    elif arr.dtype.kind != "f":
        raise FormulaError(f"the value of {name!r} is not numeric (dtype {arr.dtype})")
    return pt.as_tensor_variable(arr)


@dataclass(frozen=True)
class Formula:
    """A parsed, checked formula; build one with :func:`parse_formula`.

    Attributes
    ----------
    text : str
        The original text.
    names : frozenset of str
        The free names the formula uses (function names excluded).
    """

    text: str
    names: frozenset[str]
    _fn: CompiledFn = field(repr=False, compare=False, kw_only=True)

    def __reduce__(self) -> tuple[Any, ...]:
        # Closures do not pickle; re-parse the (already checked) text instead.
        return (parse_formula, (self.text,))

    def numpy(self, values: Mapping[str, ArrayLike]) -> np.ndarray:
        """Evaluate with numpy broadcasting.

        Parameters
        ----------
        values : mapping
            A value (number or array) for each name in :attr:`names`; other entries are ignored.

        Returns
        -------
        numpy.ndarray
            Float array of the broadcast shape; overflow and invalid operations give inf/nan.
        """
        _missing(self.text, self.names, values)
        env = {}
        for name in self.names:
            try:
                env[name] = np.asarray(values[name], dtype=float)
            except (TypeError, ValueError) as err:
                raise FormulaError(f"the value of {name!r} is not numeric: {err}") from None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            return np.asarray(self._fn(env, numpy_ops()), dtype=float)

    def pytensor(self, values: Mapping[str, Any]) -> Any:
        """Build a pytensor graph of the formula.

        Parameters
        ----------
        values : mapping
            A tensor, array or number for each name in :attr:`names`; integer inputs are cast to
            ``floatX``.

        Returns
        -------
        pytensor.tensor.TensorVariable
        """
        import pytensor.tensor as pt

        _missing(self.text, self.names, values)
        env = {name: _to_tensor(name, values[name]) for name in self.names}
        return pt.as_tensor_variable(self._fn(env, pytensor_ops()))


@dataclass(frozen=True)
class Program:
    """Ordered named terms (each may use earlier terms) followed by a result formula.

    Attributes
    ----------
    terms : tuple of (str, Formula)
        The terms in evaluation order.
    result : Formula
        The final formula, which may use every term.
    names : frozenset of str
        Free names needed from outside (the terms' own names excluded).
    """

    terms: tuple[tuple[str, Formula], ...]
    result: Formula
    names: frozenset[str]

    def _run(self, values: Mapping[str, Any], backend: str) -> Any:
        _missing(self.result.text, self.names, values)
        env = {name: values[name] for name in self.names}
        for name, term in self.terms:
            env[name] = getattr(term, backend)(env)
        return getattr(self.result, backend)(env)

    def numpy(self, values: Mapping[str, ArrayLike]) -> np.ndarray:
        """Evaluate the terms in order, then the result, with numpy (see :meth:`Formula.numpy`)."""
        return self._run(values, "numpy")

    def pytensor(self, values: Mapping[str, Any]) -> Any:
        """Build the pytensor graph of the terms and the result (see :meth:`Formula.pytensor`)."""
        return self._run(values, "pytensor")


def parse_formula(text: str, *, allowed_names: Iterable[str] | None = None) -> Formula:
    """Parse and check a formula.

    Parameters
    ----------
    text : str
        E.g. ``"E + A / N**alpha + B / D**beta"``.
    allowed_names : iterable of str, optional
        If given, the only free names the formula may use.

    Returns
    -------
    Formula

    Raises
    ------
    FormulaError
        If the text does not parse, uses syntax or functions outside the whitelist, or uses a name
        outside ``allowed_names``.
    """
    if not isinstance(text, str):
        raise FormulaError(f"a formula must be a string, got {type(text).__name__} {text!r}")
    source = text.strip()
    if not source:
        raise FormulaError("empty formula; write e.g. 'E + A / N**alpha'")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        offset = err.offset or 0
        if (err.lineno or 1) == 1 and 1 <= offset <= len(source):
            lead = len(text) - len(text.lstrip())
            where = f"at column {offset + lead} (near {source[offset - 1 :]!r})"
        else:
            where = "at the end of the text"
        raise FormulaError(
            f"formula {text!r} does not parse: {err.msg} {where}; write e.g. 'E + A / N**alpha'"
        ) from None
    except (ValueError, RecursionError, MemoryError) as err:
        raise FormulaError(f"formula {text!r} does not parse: {err}") from None
    compiler = Compiler(source)
    try:
        fn = compiler.compile(tree.body)
    except RecursionError:
        raise FormulaError(f"formula {text!r} is too deeply nested") from None
    names = frozenset(compiler.names)
    if allowed_names is not None:
        allowed = list(dict.fromkeys(allowed_names))
        unknown = sorted(names - set(allowed))
        if unknown:
            raise FormulaError(
                f"formula {text!r} uses unknown name(s) {', '.join(unknown)}; "
                f"allowed names: {', '.join(allowed) or '(none)'}"
            )
    return Formula(text, names, _fn=fn)


def parse_program(
    result: str,
    *,
    terms: Mapping[str, str] | None = None,
    allowed_names: Iterable[str] | None = None,
) -> Program:
    """Parse a result formula preceded by named intermediate terms.

    Parameters
    ----------
    result : str
        The final formula; it may use every term name.
    terms : mapping of str to str, optional
        ``{name: formula}`` in evaluation order; a term may use the terms before it.
    allowed_names : iterable of str, optional
        If given, the only outside names the terms and result may use.

    Returns
    -------
    Program

    Raises
    ------
    FormulaError
        If a formula is invalid, a term name is not an identifier or shadows a function or an
        allowed name, or a term uses itself or a later term.
    """
    allowed = None if allowed_names is None else list(dict.fromkeys(allowed_names))
    items = list((terms or {}).items())
    term_names = [name for name, _ in items]
    parsed: list[tuple[str, Formula]] = []
    for i, (name, ttext) in enumerate(items):
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise FormulaError(f"term name {name!r} is not a valid identifier")
        if name in ARITY:
            raise FormulaError(f"term name {name!r} shadows the function {name}()")
        if allowed is not None and name in allowed:
            raise FormulaError(f"term name {name!r} shadows an input or parameter of the same name")
        try:
            formula = parse_formula(ttext.text if isinstance(ttext, Formula) else ttext)
            later = sorted(formula.names & set(term_names[i:]))
            if later:
                raise FormulaError(
                    f"it uses {', '.join(later)}, which is not defined before it; terms are "
                    "evaluated in order and may only use earlier terms"
                )
            if allowed is not None:
                formula = parse_formula(formula.text, allowed_names=[*allowed, *term_names[:i]])
        except FormulaError as err:
            raise FormulaError(f"term {name}: {err}") from None
        parsed.append((name, formula))
    final = parse_formula(
        result, allowed_names=None if allowed is None else [*allowed, *term_names]
    )
    needed = set(final.names).union(*(f.names for _, f in parsed)) - set(term_names)
    return Program(tuple(parsed), final, frozenset(needed))
