"""A safe compiler for scaling-law formulas: arithmetic on names, a few functions, two backends.

A formula such as ``"E + A / N**alpha + B / D**beta"`` is parsed with :func:`ast.parse` and checked
against a whitelist (numbers, names, ``+ - * / **``, unary ``-``/``+`` and the functions in
:data:`ALLOWED_FUNCTIONS`; a comparison only as the first argument of ``where``). User text is never
evaluated: the syntax tree is turned once, at parse time, into a tree of small closures that is then
run with either numpy (:meth:`Formula.numpy`) or pytensor (:meth:`Formula.pytensor`) operations.
"""

from __future__ import annotations

import ast
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bayes_scaling.core.errors import FormulaError

__all__ = ["ALLOWED_FUNCTIONS", "Formula", "Program", "parse_formula", "parse_program"]

#: Functions a formula may call; ``min``/``max`` take two or more arguments and act elementwise.
ALLOWED_FUNCTIONS = (
    "exp", "log", "log10", "sqrt", "min", "max", "minimum", "maximum", "where", "abs",
)  # fmt: skip

# function name -> (operation name, smallest and largest number of arguments; None = no limit)
_ARITY: dict[str, tuple[str, int, int | None]] = {
    "exp": ("exp", 1, 1), "log": ("log", 1, 1), "log10": ("log10", 1, 1),
    "sqrt": ("sqrt", 1, 1), "abs": ("abs", 1, 1), "where": ("where", 3, 3),
    "min": ("minimum", 2, None), "max": ("maximum", 2, None),
    "minimum": ("minimum", 2, 2), "maximum": ("maximum", 2, 2),
}  # fmt: skip
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_COMPARES = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
_ALLOWED_TEXT = (
    "allowed are numbers, names, + - * / ** (power), unary -, parentheses and the functions "
    + ", ".join(ALLOWED_FUNCTIONS)
    + " (min/max of 2+ arguments are elementwise; where(a < b, x, y) takes a comparison "
    "< <= > >= as its first argument)"
)
_DESCRIPTIONS: dict[type, str] = {
    ast.Attribute: "attribute access", ast.Subscript: "indexing",
    ast.Lambda: "lambda", ast.IfExp: "a conditional expression (use where(cond, a, b))",
    ast.BoolOp: "a boolean operator (and/or)", ast.ListComp: "a comprehension",
    ast.SetComp: "a comprehension", ast.DictComp: "a comprehension",
    ast.GeneratorExp: "a generator expression", ast.List: "a list", ast.Tuple: "a tuple",
    ast.Set: "a set", ast.Dict: "a dict", ast.JoinedStr: "an f-string",
    ast.Starred: "argument unpacking", ast.NamedExpr: "an assignment expression",
}  # fmt: skip
# A compiled node: (namespace of values, table of operations) -> value.
_Fn = Callable[[Mapping[str, Any], Mapping[str, Callable[..., Any]]], Any]


# operation -> (numpy function, pytensor.tensor function)
_OPS = {
    "add": ("add", "add"), "sub": ("subtract", "sub"), "mul": ("multiply", "mul"),
    "div": ("true_divide", "true_div"), "pow": ("power", "power"), "neg": ("negative", "neg"),
    "exp": ("exp", "exp"), "log": ("log", "log"), "log10": ("log10", "log10"),
    "sqrt": ("sqrt", "sqrt"), "abs": ("abs", "abs"), "minimum": ("minimum", "minimum"),
    "maximum": ("maximum", "maximum"), "where": ("where", "switch"), "lt": ("less", "lt"),
    "le": ("less_equal", "le"), "gt": ("greater", "gt"), "ge": ("greater_equal", "ge"),
}  # fmt: skip


@functools.cache
def _numpy_ops() -> dict[str, Callable[..., Any]]:
    ops = {op: getattr(np, np_name) for op, (np_name, _) in _OPS.items()}
    return {**ops, "const": float}


@functools.cache
def _pytensor_ops() -> dict[str, Callable[..., Any]]:
    import pytensor
    import pytensor.tensor as pt

    ops = {op: getattr(pt, pt_name) for op, (_, pt_name) in _OPS.items()}
    # Explicit floatX constants: pytensor would make exact Python floats float32 (1 / 3 imprecise).
    return {**ops, "const": lambda x: pt.constant(x, dtype=pytensor.config.floatX)}


class _Compiler:
    """Turns a checked syntax tree into closures, collecting the free names on the way."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()

    def reject(self, node: ast.AST, reason: str) -> FormulaError:
        segment = ast.get_source_segment(self.text, node) or ast.unparse(node)
        return FormulaError(
            f"formula {self.text!r}: {reason} in {segment!r} is not allowed; {_ALLOWED_TEXT}"
        )

    def compile(self, node: ast.AST) -> _Fn:
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            return self._name(node)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unaryop(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Compare):
            raise self.reject(node, "a comparison outside the first argument of where(...)")
        raise self.reject(node, _DESCRIPTIONS.get(type(node), type(node).__name__))

    def _constant(self, node: ast.Constant) -> _Fn:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            kind = "a string" if isinstance(value, str | bytes) else f"the constant {value!r}"
            raise self.reject(node, kind)
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if not np.isfinite(number):
            raise self.reject(node, "a number too large for a float")
        return lambda env, ops: ops["const"](number)

    def _name(self, node: ast.Name) -> _Fn:
        name = node.id
        if name in _ARITY:
            raise self.reject(node, f"the function name {name!r} used as a variable")
        self.names.add(name)
        return lambda env, ops: env[name]

    def _binop(self, node: ast.BinOp) -> _Fn:
        op = _BINOPS.get(type(node.op))
        if op is None:
            if isinstance(node.op, ast.BitXor):
                raise self.reject(node, "'^' (bitwise xor in Python; write powers as a ** b)")
            raise self.reject(node, f"the operator {_op_symbol(node.op)!r}")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda env, ops: ops[op](left(env, ops), right(env, ops))

    def _unaryop(self, node: ast.UnaryOp) -> _Fn:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda env, ops: ops["neg"](operand(env, ops))
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.reject(node, f"the unary operator {_op_symbol(node.op)!r}")

    def _call(self, node: ast.Call) -> _Fn:
        if not isinstance(node.func, ast.Name):
            raise self.reject(node, "a call of something other than a function name")
        fname = node.func.id
        if fname not in _ARITY:
            raise self.reject(node, f"the unknown function {fname!r}")
        if node.keywords:
            raise self.reject(node, f"a keyword argument to {fname}()")
        op, lo, hi = _ARITY[fname]
        n = len(node.args)
        if n < lo or (hi is not None and n > hi):
            want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            raise self.reject(node, f"{fname}() with {n} argument(s) (it takes {want})")
        if fname == "where":
            cond = self._condition(node.args[0])
            a, b = self.compile(node.args[1]), self.compile(node.args[2])
            return lambda env, ops: ops["where"](cond(env, ops), a(env, ops), b(env, ops))
        args = [self.compile(arg) for arg in node.args]
        if n == 1:
            (x,) = args
            return lambda env, ops: ops[op](x(env, ops))
        if n == 2:
            x, y = args
            return lambda env, ops: ops[op](x(env, ops), y(env, ops))
        return lambda env, ops: functools.reduce(ops[op], [f(env, ops) for f in args])

    def _condition(self, node: ast.AST) -> _Fn:
        if not isinstance(node, ast.Compare):
            return self.compile(node)
        if len(node.ops) != 1:
            raise self.reject(node, "a chained comparison")
        op = _COMPARES.get(type(node.ops[0]))
        if op is None:
            raise self.reject(node, f"the comparison {_op_symbol(node.ops[0])!r} (use < <= > >=)")
        left, right = self.compile(node.left), self.compile(node.comparators[0])
        return lambda env, ops: ops[op](left(env, ops), right(env, ops))


def _op_symbol(op: ast.AST) -> str:
    symbols = {
        ast.FloorDiv: "//", ast.Mod: "%", ast.MatMult: "@", ast.BitAnd: "&", ast.BitOr: "|",
        ast.LShift: "<<", ast.RShift: ">>", ast.Invert: "~", ast.Not: "not", ast.Eq: "==",
        ast.NotEq: "!=", ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
    }  # fmt: skip
    return symbols.get(type(op), type(op).__name__)


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
    _fn: _Fn = field(repr=False, compare=False, kw_only=True)

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
            return np.asarray(self._fn(env, _numpy_ops()), dtype=float)

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
        return pt.as_tensor_variable(self._fn(env, _pytensor_ops()))


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
    compiler = _Compiler(source)
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
        if name in _ARITY:
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
