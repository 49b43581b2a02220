"""Default priors for the parameters of a custom formula, unit-free like the built-in laws'.

:func:`default_parameters` reads each parameter's role from the formula's syntax tree and gives it
the default a built-in law (``models/*.toml``) gives that role: mostly a prior on a unit-free value
and a ``from_scaled`` rule turning it into user units. In a rule an input name stands for its
reference value (geometric mean over the runs of a log-scaled input, arithmetic mean of a linear
one), ``L_min`` for the smallest observed target and, for a ``real`` target, ``L_scale`` and
``L_mean`` for the target's standard deviation and mean over the runs. ``L_ref`` below is
``L_min`` for a positive target and ``L_scale`` for a real one: the size of a term worth fitting.

1. Exponent of an input power that the syntax makes a decay (``N**(-alpha)``, ``N**-alpha``,
   ``1/N**alpha``, ``A/N**alpha``, ``(N_c/N)**alpha``): ``Gamma(2, 4)``, as built-in laws: > 0,
   mostly 0.1-1, where language-model exponents lie. Other exponents with parameters (``N**gamma``
   in a numerator, sums or products of parameters, the exponent of a base that is not an input
   power): ``Normal(0, 1)``, as the formula does not fix their sign.
2. The one parameter multiplying (or dividing) a top-level term whose other factors are numbers
   and input powers (``A * N**(-alpha) * D**(-gamma)``): ``LogNormal(-1.5, 1.5)`` on the term at
   the reference inputs in units of ``L_ref`` (rule ``A * L_min / (N**(-alpha) * D**(-gamma))``),
   as Chinchilla's A and B: the raw coefficient spans orders of magnitude with the units and the
   exponent, the term does not. The scale ``N_c`` of a term ``(N / N_c)**(-alpha)`` without a
   coefficient (Kaplan's form) gets the same, with rule ``N / (N_c * L_min)**(1 / (-alpha))``.
3. A parameter that is a top-level term itself (``E``, ``-E``): for a positive target
   ``Beta(2, 2)`` with rule ``E * L_min * 1.25``, the built-in irreducible loss (below the
   smallest loss, with room for noise; this assumes lower is better). For a real target
   ``Normal(0, 2)`` with rule ``E * L_scale + L_mean`` (``- L_mean`` when the term is subtracted,
   so it stays near the mean target): no bound is known, but the asymptote lies within a few
   spreads of the observed values.
4. A location in a ratio or difference with an input (``lr / lr_opt``, ``log(lr_opt / lr)``,
   ``lr - lr_opt``, ``log(lr) - log(lr_opt)``): for a log-scaled input ``Normal(0, 1.5)`` on the
   log of its ratio to the reference input (rule ``lr * exp(lr_opt)``), i.e. an optimum within
   about e^3 of the runs' centre. For a linear input ``Normal(0, 1)`` in user units without a
   rule: its spread is no reference value, so the description asks for a prior.
5. The one parameter multiplying any other top-level term (``c * log(lr / lr_opt)**2``):
   ``Normal(0, 1)`` on its value in units of ``L_ref`` (rule ``c * L_min``): the rest of such a
   term is usually of order one over the runs, and either sign is possible.
6. Anything else (``k`` in ``exp(-k * N)``, several coefficients of one term, several roles):
   ``Normal(0, 1)`` in user units; the description says to give a prior.

Evaluation order: rounds of the parameters whose rules use only those already placed, each round
in order of appearance (without rules: the order of appearance); a rule in a cycle is dropped
(role 6). A prior in ``priors`` (user units) replaces the default and its rule; one for
``NAME_scaled`` replaces the default prior on the unit-free value only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bayes_scaling.core.errors import LawError
from bayes_scaling.inputs.declared import (
    MEAN_REFERENCE,
    MIN_REFERENCE,
    SCALE_REFERENCE,
    InputSpec,
    TargetSpec,
)
from bayes_scaling.inputs.formula import Formula
from bayes_scaling.inputs.priors import Prior

__all__ = ["REFERENCE_NAMES", "default_parameters"]

#: Every reference name (besides the inputs) a default rule may use.
REFERENCE_NAMES = (MIN_REFERENCE, SCALE_REFERENCE, MEAN_REFERENCE)

_MONOTONE_CALLS = ("log", "log10", "sqrt", "exp", "min", "max", "minimum", "maximum")


@dataclass(frozen=True)
class _Role:
    kind: str
    prior: str
    description: str
    rule: str | None = None
    scaled_meaning: str = ""


def _unknown(why: str = "") -> _Role:
    text = "no role recognised; give a prior"
    return _Role("unknown", "Normal(0, 1)", f"{why}; {text}" if why else text)


def _text(node: ast.AST) -> str:
    return ast.unparse(node).replace(" ** ", "**")


def _names(node: ast.AST) -> list[str]:
    return list(dict.fromkeys(n.id for n in ast.walk(node) if isinstance(n, ast.Name)))


def _is(node: Any, op: type) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, op)


def _num(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp):
        inner = _num(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return float(node.value)
    return None


def _terms(node: ast.AST, sign: int = 1) -> Iterator[tuple[ast.AST, int]]:
    """The top-level additive terms, each with its sign."""
    if _is(node, ast.Add | ast.Sub):
        yield from _terms(node.left, sign)
        yield from _terms(node.right, -sign if isinstance(node.op, ast.Sub) else sign)
    elif isinstance(node, ast.UnaryOp):
        yield from _terms(node.operand, -sign if isinstance(node.op, ast.USub) else sign)
    else:
        yield node, sign


def _factors(node: ast.AST, inverted: bool = False) -> list[tuple[ast.AST, bool]]:
    """The factors of a product/quotient, each flagged when it divides (signs dropped)."""
    if _is(node, ast.Mult | ast.Div):
        right = not inverted if isinstance(node.op, ast.Div) else inverted
        return _factors(node.left, inverted) + _factors(node.right, right)
    if isinstance(node, ast.UnaryOp):
        return _factors(node.operand, inverted)
    return [(node, inverted)]


class _Reader:
    """Reads the role of every parameter from the syntax tree of a formula."""

    def __init__(self, params: Sequence[str], inputs: Mapping[str, InputSpec], real: bool):
        self.params, self.inputs, self.real = set(params), inputs, real
        self.ref = SCALE_REFERENCE if real else MIN_REFERENCE
        self.roles: dict[str, list[_Role]] = {p: [] for p in params}
        self.claimed: set[int] = set()  # ratios read as the scale of a power law (rule 2)

    def is_param(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.params

    def is_input(self, node: ast.AST) -> bool:
        return isinstance(node, ast.Name) and node.id in self.inputs

    def monotone(self, node: ast.AST) -> int | None:
        """+1/-1 for a power of the inputs rising/falling with them, 0 without inputs, else None."""
        if self.is_input(node):
            return 1 if self.inputs[node.id].sign == "positive" else None
        if self.is_param(node) or (_num(node) or 0.0) > 0:
            return 0
        if _is(node, ast.Mult | ast.Div):
            a, b = self.monotone(node.left), self.monotone(node.right)
            if a is None or b is None:
                return None
            b = -b if isinstance(node.op, ast.Div) else b
            return None if a and b and a != b else (a or b)
        if _is(node, ast.Pow):
            a, c = self.monotone(node.left), _num(node.right)
            return None if a is None or c is None else int(a * ((c > 0) - (c < 0)))
        return None

    def is_power(self, node: ast.AST) -> bool:
        if self.monotone(node) is not None:
            return True
        if not _is(node, ast.Pow):
            return False
        return self.monotone(node.left) is not None and not self.has_input(node.right)

    def has_input(self, node: ast.AST) -> bool:
        return any(n in self.inputs for n in _names(node))

    def signed(self, node: ast.AST) -> tuple[str, int] | None:
        """``(name, sign)`` for an exponent ``±c * name`` (c a positive number), else None."""
        if self.is_param(node):
            return node.id, 1
        if isinstance(node, ast.UnaryOp):
            inner = self.signed(node.operand)
            flip = -1 if isinstance(node.op, ast.USub) else 1
            return None if inner is None else (inner[0], flip * inner[1])
        if _is(node, ast.Mult | ast.Div):
            swap = [(node.right, node.left)] if isinstance(node.op, ast.Mult) else []
            for term, number in [(node.left, node.right), *swap]:
                c, inner = _num(number), self.signed(term)
                if c and inner is not None:
                    return inner[0], inner[1] * (1 if c > 0 else -1)
        return None

    # ---------------------------------------------------------------- rules 2, 3, 5: terms
    def read_terms(self, body: ast.AST) -> None:
        for term, sign in _terms(body):
            if self.is_param(term):
                self.roles[term.id].append(self.constant(term.id, sign))
                continue
            factors = _factors(term)
            bare = [(f, inv) for f, inv in factors if self.is_param(f)]
            rest = [(f, inv) for f, inv in factors if not self.is_param(f)]
            text = _text(term)
            if len(bare) > 1:
                for f, _ in bare:
                    self.roles[f.id].append(_unknown(f"one of several coefficients of {text}"))
            elif bare:
                (f, inv), = bare  # fmt: skip
                self.roles[f.id].append(self.coefficient(f.id, inv, rest, text))
            else:
                self.read_scale([(f, inv) for f, inv in factors if _num(f) is None], text)

    def constant(self, name: str, sign: int) -> _Role:
        if self.real:
            rule = f"{name} * {SCALE_REFERENCE} {'+' if sign > 0 else '-'} {MEAN_REFERENCE}"
            meaning = "the constant term minus the mean target, in standard deviations of it"
            return _Role("constant", "Normal(0, 2)", "additive constant", rule, meaning)
        meaning = "fraction of 1.25 x the smallest observed loss (noise can put runs below it)"
        return _Role("constant", "Beta(2, 2)", "irreducible loss (additive constant)",
                     f"{name} * {MIN_REFERENCE} * 1.25", meaning)  # fmt: skip

    def coefficient(
        self, name: str, inverted: bool, rest: list[tuple[ast.AST, bool]], text: str
    ) -> _Role:
        """Rule 2 for a term of numbers and input powers, else rule 5."""
        description = f"coefficient of the term {text}"
        factors = [g for g, _ in rest]
        if not (all(map(self.is_power, factors)) and any(map(self.has_input, factors))):
            meaning = f"the coefficient in units of {self.ref}"
            return _Role("factor", "Normal(0, 1)", description, f"{name} * {self.ref}", meaning)
        nums = [_text(g) for g, inv in rest if not inv]
        dens = "".join(f" * {_text(g)}" for g, inv in rest if inv)
        num = nums[0] if len(nums) == 1 else f"({' * '.join(nums)})" if nums else ""
        if inverted:
            rule = f"{num or '1'} / ({name} * {self.ref}{dens})"
        else:
            rule = f"{name} * {self.ref}{dens}" + (f" / {num}" if num else "")
        meaning = f"the term at the reference inputs, in units of {self.ref}"
        return _Role("coefficient", "LogNormal(-1.5, 1.5)", description, rule, meaning)

    def read_scale(self, factors: list[tuple[ast.AST, bool]], text: str) -> None:
        """Kaplan's ``(N / N_c)**(-alpha)``: the scale N_c of a term with no coefficient."""
        power, inverted = factors[0] if len(factors) == 1 else (None, False)
        base = getattr(power, "left", None)
        if not (_is(power, ast.Pow) and _is(base, ast.Div) and self.signed(power.right)):
            return
        pairs = [(base.left, base.right, "/"), (base.right, base.left, "*")]
        found = [(x.id, p.id, op) for x, p, op in pairs if self.is_input(x) and self.is_param(p)]
        if not found or self.inputs[found[0][0]].scaling != "log":
            return
        (x, name, op), exponent = found[0], _text(power.right)
        self.claimed.add(id(base))
        rule = f"{x} {op} ({name} * {self.ref})**(1 / {'-' if inverted else ''}({exponent}))"
        meaning = f"the term at the reference {x}, in units of {self.ref}"
        self.roles[name].append(
            _Role("scale", "LogNormal(-1.5, 1.5)", f"scale of the term {text}", rule, meaning)
        )

    # ---------------------------------------------------------------- rules 1, 4: anywhere
    def walk(self, node: ast.AST, polarity: int | None, in_log: bool = False) -> None:
        """Find exponents and locations; ``polarity`` -1 in a denominator, None when unknown."""
        if _is(node, ast.Pow):
            self.power(node, polarity)
            return
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Div | ast.Sub):
                self.location(node, in_log)
            flip = isinstance(node.op, ast.Div)
            self.walk(node.left, polarity)
            self.walk(node.right, -polarity if flip and polarity else polarity)
        elif isinstance(node, ast.UnaryOp):
            self.walk(node.operand, polarity)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            fn = node.func.id
            for i, arg in enumerate(node.args):
                keep = fn in _MONOTONE_CALLS or (fn == "where" and i > 0)
                self.walk(arg, polarity if keep else None, in_log=fn in ("log", "log10"))
        elif isinstance(node, ast.Compare):
            for part in (node.left, *node.comparators):
                self.walk(part, None)

    def power(self, node: ast.BinOp, polarity: int | None) -> None:
        base, exponent = node.left, node.right
        c = _num(exponent)
        if c is not None:
            self.walk(base, polarity if polarity is None or c > 0 else -polarity)
            return
        in_exponent = [n for n in _names(exponent) if n in self.params]
        if in_exponent and not self.has_input(exponent):
            m, signed, where = self.monotone(base), self.signed(exponent), _text(node)
            if m and signed and polarity and m * signed[1] * polarity < 0:
                bases = ", ".join(n for n in _names(base) if n in self.inputs)
                role = _Role("decay", "Gamma(2, 4)", f"decay exponent of {bases} (in {where})")
                self.roles[signed[0]].append(role)
            else:
                why = f"exponent in {where} (its sign is not fixed by the formula)"
                for name in in_exponent:
                    self.roles[name].append(_Role("exponent", "Normal(0, 1)", why))
        self.walk(base, None)
        self.walk(exponent, None)

    def location(self, node: ast.BinOp, in_log: bool) -> None:
        if id(node) in self.claimed:
            return
        left, right = node.left, node.right
        if isinstance(node.op, ast.Sub) and all(
            isinstance(s, ast.Call) and _text(s.func) in ("log", "log10") and len(s.args) == 1
            for s in (left, right)
        ):
            left, right = left.args[0], right.args[0]  # log(lr) - log(lr_opt)
        elif isinstance(node.op, ast.Div) and not in_log:
            left, right = (left, right) if self.is_input(left) else (None, None)  # not A / N
        for x, p in ((left, right), (right, left)):
            if self.is_input(x) and self.is_param(p):
                self.roles[p.id].append(self.located(p.id, x.id))
                return

    def located(self, name: str, x: str) -> _Role:
        if self.inputs[x].scaling == "log":
            meaning = f"log of {name} / the reference {x} (geometric mean of the runs)"
            rule = f"{x} * exp({name})"
            return _Role("location", "Normal(0, 1.5)", f"location on the {x} axis", rule, meaning)
        why = "linear input: no unit-free default; give a prior"
        return _Role("location", "Normal(0, 1)", f"location on the {x} axis, in its units ({why})")


def _merge(roles: list[_Role]) -> _Role:
    if not roles:
        return _unknown()
    kinds = {r.kind for r in roles}
    if kinds <= {"decay", "exponent"}:
        return roles[0] if kinds == {"decay"} else next(r for r in roles if r.kind == "exponent")
    if len(kinds) == 1:
        return roles[0]
    return _unknown(f"used in several roles ({'; '.join(r.description for r in roles)})")


def _order(params: Sequence[str], roles: dict[str, _Role]) -> list[str]:
    """Rounds of parameters whose rules use only earlier ones; cycles lose their rules."""

    def deps(p: str) -> set[str]:
        rule = roles[p].rule
        return set() if rule is None else set(_names(ast.parse(rule, mode="eval"))) & set(params)

    placed: list[str] = []
    remaining = list(params)
    while remaining:
        ready = [p for p in remaining if deps(p) - {p} <= set(placed)]
        if not ready:
            roles[remaining[0]] = _unknown(f"{roles[remaining[0]].description}, in a cycle")
            continue
        placed += ready
        remaining = [p for p in remaining if p not in ready]
    return placed


def default_parameters(
    formula: Formula,
    params: Sequence[str],
    inputs: Mapping[str, InputSpec],
    *,
    target: TargetSpec,
    priors: Mapping[str, Any],
) -> dict[str, dict[str, str]]:
    """Parameter tables (``prior``, optional ``from_scaled``) for a law spec, in evaluation order.

    Parameters
    ----------
    formula : Formula
        The parsed formula; its syntax tree gives each parameter's role (see the module text).
    params : sequence of str
        Parameter names in order of appearance.
    inputs : mapping of str to InputSpec
        The formula's inputs.
    target : TargetSpec
        The target; its support chooses ``L_min`` or ``L_scale``/``L_mean`` in the rules.
    priors : mapping
        Priors by parameter name (user units, no rule) or ``NAME_scaled``; others are ignored.

    Returns
    -------
    dict
        ``{name: {"prior", "description"[, "from_scaled", "scaled_meaning"]}}`` in evaluation
        order: a rule uses only the parameter itself, those before it, inputs and reference names.

    Raises
    ------
    LawError
        If a parameter is named like a reference value (``L_min``, ``L_scale``, ``L_mean``).
    """
    if clash := [p for p in params if p in REFERENCE_NAMES]:
        raise LawError(f"formula {formula.text!r}: rename {clash[0]}, a reference value's name")
    reader = _Reader(params, inputs, real=not target.is_positive)
    tree = ast.parse(formula.text.strip(), mode="eval").body
    reader.read_terms(tree)
    reader.walk(tree, 1)
    roles = {p: _merge(reader.roles[p]) for p in params}
    for p in (p for p in params if p in priors):  # user units: no rule, so no dependencies
        roles[p] = _Role(roles[p].kind, priors[p], f"{roles[p].description} (prior in user units)")
    out: dict[str, dict[str, str]] = {}
    for p in _order(params, roles):
        role = roles[p]
        prior = priors.get(f"{p}_scaled", role.prior) if role.rule else role.prior
        out[p] = {"prior": str(Prior.parse(prior)), "description": role.description}
        if role.rule:
            out[p] |= {"from_scaled": role.rule, "scaled_meaning": role.scaled_meaning}
    return out
