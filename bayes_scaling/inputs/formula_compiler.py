"""The formula compiler: the syntax whitelist, the checked tree to closures, the two backends.

:class:`Compiler` walks a syntax tree from :func:`ast.parse`, rejects anything outside the
whitelist (numbers, names, ``+ - * / **``, unary ``-``/``+`` and the functions in
:data:`ALLOWED_FUNCTIONS`, whose argument counts are in :data:`ARITY`; a comparison only as the
first argument of ``where``) with a :class:`~bayes_scaling.core.errors.FormulaError` that names
the offending piece, and turns the rest into a tree of small closures (:data:`CompiledFn`) while
collecting the free names. A closure takes the values of the names and a table of operations:
:func:`numpy_ops` or :func:`pytensor_ops`. :mod:`bayes_scaling.inputs.formula` wraps this in
:class:`~bayes_scaling.inputs.formula.Formula`.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from bayes_scaling.core.errors import FormulaError

__all__ = ["ALLOWED_FUNCTIONS", "ARITY", "CompiledFn", "Compiler", "numpy_ops", "pytensor_ops"]

#: Functions a formula may call; ``min``/``max`` take two or more arguments and act elementwise.
ALLOWED_FUNCTIONS = (
    "exp", "log", "log10", "sqrt", "min", "max", "minimum", "maximum", "where", "abs",
    "boxcox",
)  # fmt: skip

#: Function name -> (operation name, smallest and largest number of arguments; None = no limit)
ARITY: dict[str, tuple[str, int, int | None]] = {
    "exp": ("exp", 1, 1), "log": ("log", 1, 1), "log10": ("log10", 1, 1),
    "sqrt": ("sqrt", 1, 1), "abs": ("abs", 1, 1), "where": ("where", 3, 3),
    "min": ("minimum", 2, None), "max": ("maximum", 2, None),
    "minimum": ("minimum", 2, 2), "maximum": ("maximum", 2, 2),
    "boxcox": ("boxcox", 2, 2),
}  # fmt: skip
_BINOPS = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}
_COMPARES = {ast.Lt: "lt", ast.LtE: "le", ast.Gt: "gt", ast.GtE: "ge"}
_ALLOWED_TEXT = (
    "allowed are numbers, names, + - * / ** (power), unary -, parentheses and the functions "
    + ", ".join(ALLOWED_FUNCTIONS)
    + " (min/max of 2+ arguments are elementwise; where(a < b, x, y) takes a comparison "
    "< <= > >= as its first argument; boxcox(x, g) = (x**g - 1) / g, and log(x) at g = 0)"
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
#: A compiled node: (namespace of values, table of operations) -> value.
CompiledFn = Callable[[Mapping[str, Any], Mapping[str, Callable[..., Any]]], Any]


# operation -> (numpy function, pytensor.tensor function)
_OPS = {
    "add": ("add", "add"), "sub": ("subtract", "sub"), "mul": ("multiply", "mul"),
    "div": ("true_divide", "true_div"), "pow": ("power", "power"), "neg": ("negative", "neg"),
    "exp": ("exp", "exp"), "log": ("log", "log"), "log10": ("log10", "log10"),
    "sqrt": ("sqrt", "sqrt"), "abs": ("abs", "abs"), "minimum": ("minimum", "minimum"),
    "maximum": ("maximum", "maximum"), "where": ("where", "switch"), "lt": ("less", "lt"),
    "le": ("less_equal", "le"), "gt": ("greater", "gt"), "ge": ("greater_equal", "ge"),
}  # fmt: skip


#: Below this |g log x|, boxcox uses its Taylor series (relative error below 1e-19).
_BOXCOX_SERIES = 1e-6


def _boxcox(x: Any, g: Any, xp: Any, where: Callable[..., Any]) -> Any:
    """Box-Cox transform ``(x**g - 1) / g`` (``log x`` at ``g = 0``), smooth and exact near 0.

    Written as ``log(x) * expm1(z) / z`` with ``z = g log x``: no cancellation for small ``g``,
    and the branch not taken never divides by zero, so gradients stay finite at ``g = 0``.
    ``xp`` is numpy or ``pytensor.tensor``; ``where`` is its three-way select.
    """
    log_x = xp.log(x)
    z = g * log_x
    small = xp.abs(z) < _BOXCOX_SERIES
    z_safe = where(small, 1.0, z)
    return log_x * where(small, 1.0 + z / 2.0 + z * z / 6.0, xp.expm1(z_safe) / z_safe)


@functools.cache
def numpy_ops() -> dict[str, Callable[..., Any]]:
    ops = {op: getattr(np, np_name) for op, (np_name, _) in _OPS.items()}

    def boxcox(x: Any, g: Any) -> Any:
        with np.errstate(divide="ignore", invalid="ignore"):
            return _boxcox(np.asarray(x, float), np.asarray(g, float), np, np.where)

    return {**ops, "boxcox": boxcox, "const": float}


@functools.cache
def pytensor_ops() -> dict[str, Callable[..., Any]]:
    import pytensor
    import pytensor.tensor as pt

    ops = {op: getattr(pt, pt_name) for op, (_, pt_name) in _OPS.items()}
    # Explicit floatX constants: pytensor would make exact Python floats float32 (1 / 3 imprecise).
    return {
        **ops,
        "boxcox": lambda x, g: _boxcox(x, g, pt, pt.switch),
        "const": lambda x: pt.constant(x, dtype=pytensor.config.floatX),
    }


class Compiler:
    """Turns a checked syntax tree into closures, collecting the free names on the way."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.names: set[str] = set()

    def reject(self, node: ast.AST, reason: str) -> FormulaError:
        segment = ast.get_source_segment(self.text, node) or ast.unparse(node)
        return FormulaError(
            f"formula {self.text!r}: {reason} in {segment!r} is not allowed; {_ALLOWED_TEXT}"
        )

    def compile(self, node: ast.AST) -> CompiledFn:
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

    def _constant(self, node: ast.Constant) -> CompiledFn:
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

    def _name(self, node: ast.Name) -> CompiledFn:
        name = node.id
        if name in ARITY:
            raise self.reject(node, f"the function name {name!r} used as a variable")
        self.names.add(name)
        return lambda env, ops: env[name]

    def _binop(self, node: ast.BinOp) -> CompiledFn:
        op = _BINOPS.get(type(node.op))
        if op is None:
            if isinstance(node.op, ast.BitXor):
                raise self.reject(node, "'^' (bitwise xor in Python; write powers as a ** b)")
            raise self.reject(node, f"the operator {_op_symbol(node.op)!r}")
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda env, ops: ops[op](left(env, ops), right(env, ops))

    def _unaryop(self, node: ast.UnaryOp) -> CompiledFn:
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.USub):
            return lambda env, ops: ops["neg"](operand(env, ops))
        if isinstance(node.op, ast.UAdd):
            return operand
        raise self.reject(node, f"the unary operator {_op_symbol(node.op)!r}")

    def _call(self, node: ast.Call) -> CompiledFn:
        if not isinstance(node.func, ast.Name):
            raise self.reject(node, "a call of something other than a function name")
        fname = node.func.id
        if fname not in ARITY:
            raise self.reject(node, f"the unknown function {fname!r}")
        if node.keywords:
            raise self.reject(node, f"a keyword argument to {fname}()")
        op, lo, hi = ARITY[fname]
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

    def _condition(self, node: ast.AST) -> CompiledFn:
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
