"""Scaling laws as data: a :class:`Law` comes from a TOML spec in ``models/`` or a formula string.

A law names its inputs (canonical run columns ``N``, ``D``, ``C``, ``U``; one-input laws use the
placeholder ``x`` bound to one of them), its formula (in the user's units), and its parameters in
evaluation order, each with a default prior. A parameter may carry a ``from_scaled`` rule: the
sampler then works on a unit-free value and the rule turns it into user units, with input names
standing for reference values (geometric means of the runs) and ``L_min`` for the smallest observed
loss. This keeps the sampled parameters nearly uncorrelated whatever the units of the data.
"""

from __future__ import annotations

import copy
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bayes_scaling.core.errors import LawError
from bayes_scaling.inputs.formula import Formula, Program, parse_formula, parse_program
from bayes_scaling.inputs.priors import Prior

#: Canonical run columns a law may take as inputs.
INPUT_COLUMNS = ("N", "D", "C", "U")
#: Name that a reference rule uses for the smallest observed loss.
LOSS_REFERENCE = "L_min"
#: Name that an optimum rule uses for FLOPs per parameter per token.
FLOPS_PER_TOKEN_NAME = "k"


def _models_dir() -> Path:
    package = Path(__file__).resolve().parent.parent
    # installed wheel: bayes_scaling/models; source checkout: models/ beside the package
    for candidate in (package / "models", package.parent / "models"):
        if candidate.is_dir():
            return candidate
    raise LawError("the built-in law library (models/) is missing from this installation")


@dataclass(frozen=True)
class Parameter:
    """One parameter of a law.

    Attributes
    ----------
    name : str
        Name used in the formula and in every output.
    prior : Prior
        Default prior, on the scaled value when ``from_scaled`` is set.
    from_scaled : Formula or None
        Rule giving the user-unit value from the sampled one.
    description, scaled_meaning : str
        Human text shown by ``bayes-scaling laws NAME``.
    """

    name: str
    prior: Prior
    from_scaled: Formula | None = None
    description: str = ""
    scaled_meaning: str = ""


@dataclass(frozen=True, eq=False)
class Law:
    """A scaling law: formula, inputs, parameters with default priors, optional closed-form optimum.

    Build one with :func:`get_law` (built-in names, ``name:INPUT`` for one-input laws, or a TOML
    path) or :meth:`Law.from_formula`.
    """

    name: str
    title: str
    program: Program
    input_map: dict[str, str]
    parameters: tuple[Parameter, ...]
    direction: str = "lower"
    reference: str = ""
    description: str = ""
    optimum: dict[str, Any] | None = None
    published: dict[str, dict[str, Any]] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], *, input: str | None = None) -> Law:
        """Build a law from a parsed TOML/JSON spec (see ``models/*.toml``)."""
        spec = copy.deepcopy(dict(spec))
        name = str(spec.get("name", "custom"))
        for key in ("formula", "inputs", "parameters"):
            if key not in spec:
                raise LawError(
                    f"law spec {name!r} has no {key!r} entry; see models/chinchilla.toml"
                )
        inputs = [str(i) for i in spec["inputs"]]
        input_map = _bind_inputs(name, inputs, spec.get("default_input"), input)
        if input is not None:
            spec["bound_input"] = input
        elif spec.get("bound_input"):
            input_map = _bind_inputs(name, inputs, None, spec["bound_input"])
        param_specs = spec["parameters"]
        if not isinstance(param_specs, Mapping) or not param_specs:
            raise LawError(f"law spec {name!r}: 'parameters' must be a non-empty table")
        param_names = list(param_specs)
        refs = [*inputs, LOSS_REFERENCE]
        parameters = []
        for i, (pname, pspec) in enumerate(param_specs.items()):
            if pname in inputs or pname == LOSS_REFERENCE:
                raise LawError(f"law {name!r}: parameter {pname!r} clashes with an input name")
            if "prior" not in pspec:
                raise LawError(f"law {name!r}: parameter {pname!r} has no prior")
            rule = pspec.get("from_scaled")
            allowed = [pname, *param_names[:i], *refs]
            parameters.append(
                Parameter(
                    name=pname,
                    prior=Prior.parse(pspec["prior"]),
                    from_scaled=parse_formula(rule, allowed_names=allowed) if rule else None,
                    description=str(pspec.get("description", "")),
                    scaled_meaning=str(pspec.get("scaled_meaning", "")),
                )
            )
        program = parse_program(
            spec["formula"],
            terms=spec.get("terms") or None,
            allowed_names=[*inputs, *param_names],
        )
        unused = set(param_names) - program.names
        if unused:
            raise LawError(
                f"law {name!r}: parameters {sorted(unused)} do not appear in the formula"
            )
        optimum = spec.get("optimum")
        if optimum is not None:
            _check_optimum(name, optimum, param_names)
        return cls(
            name=name,
            title=str(spec.get("title", name)),
            program=program,
            input_map=input_map,
            parameters=tuple(parameters),
            direction=_direction(name, spec.get("direction", "lower")),
            reference=str(spec.get("reference", "")),
            description=str(spec.get("description", "")),
            optimum=optimum,
            published=dict(spec.get("published", {})),
            spec=spec,
        )

    @classmethod
    def from_toml(cls, path: str | Path, *, input: str | None = None) -> Law:
        """Read a law spec from a TOML file."""
        path = Path(path)
        try:
            spec = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LawError(f"law file {path} does not exist") from None
        except tomllib.TOMLDecodeError as err:
            raise LawError(f"law file {path} is not valid TOML: {err}") from None
        return cls.from_spec(spec, input=input)

    @classmethod
    def from_formula(
        cls,
        formula: str,
        *,
        priors: Mapping[str, str | float | Prior],
        name: str = "custom",
        direction: str = "lower",
    ) -> Law:
        """Build a law from a formula string; every parameter needs a prior (in user units).

        Inputs are the names among ``N``, ``D``, ``C``, ``U``; every other name is a parameter.

        Examples
        --------
        >>> law = Law.from_formula("E + A * C**(-alpha)",
        ...     priors={"E": "HalfNormal(3)", "A": "LogNormal(5, 3)", "alpha": "Gamma(2, 4)"})
        >>> law.param_names
        ('E', 'A', 'alpha')
        """
        parsed = parse_formula(formula)
        inputs = [c for c in INPUT_COLUMNS if c in parsed.names]
        if not inputs:
            raise LawError(
                f"formula {formula!r} uses none of the inputs {', '.join(INPUT_COLUMNS)}; "
                "write it in terms of N, D, C or U"
            )
        params = [n for n in _names_in_order(formula) if n in parsed.names and n not in inputs]
        missing = [p for p in params if p not in priors]
        if missing:
            raise LawError(
                f"formula {formula!r}: give a prior for {', '.join(missing)} "
                f"(e.g. --prior {missing[0]}='Normal(0, 1)'); custom formulas have no defaults"
            )
        spec = {
            "name": name,
            "title": f"custom law {formula}",
            "formula": formula,
            "inputs": inputs,
            "direction": direction,
            "parameters": {p: {"prior": str(Prior.parse(priors[p]))} for p in params},
        }
        return cls.from_spec(spec)

    # ------------------------------------------------------------------ properties
    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in evaluation order."""
        return tuple(p.name for p in self.parameters)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Canonical run columns the law needs (e.g. ``("N", "D")``)."""
        return tuple(self.input_map.values())

    def parameter(self, name: str) -> Parameter:
        """The parameter called ``name``."""
        for p in self.parameters:
            if p.name == name:
                return p
        raise LawError(f"law {self.name!r} has no parameter {name!r}; it has {self.param_names}")

    # ------------------------------------------------------------------ evaluation
    def formula_values(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Map canonical column values to the formula's input names (``x`` for one-input laws)."""
        return {fname: inputs[col] for fname, col in self.input_map.items()}

    def evaluate(self, params: Mapping[str, Any], inputs: Mapping[str, Any]) -> np.ndarray:
        """The law's curve (expected loss ``mu``) in user units, broadcasting params and inputs."""
        return self.program.numpy({**params, **self.formula_values(inputs)})

    # ------------------------------------------------------------------ text
    def to_spec(self) -> dict[str, Any]:
        """JSON-able spec that :meth:`from_spec` turns back into this law."""
        return copy.deepcopy(self.spec)

    def to_json(self) -> str:
        """The spec as a JSON string (key order kept: parameters are in evaluation order)."""
        return json.dumps(self.spec)

    def describe(self) -> str:
        """Multi-line description: formula, inputs, parameters with default priors, reference."""
        lines = [f"{self.name}: {self.title}", f"  L = {self.program.result.text}"]
        for tname, term in self.program.terms:
            lines.append(f"    where {tname} = {term.text}")
        bound = ", ".join(col if f == col else f"{f} = {col}" for f, col in self.input_map.items())
        lines.append(f"  inputs: {bound}   (direction: {self.direction} is better)")
        if self.description:
            lines.append(f"  {self.description}")
        lines.append("  parameters (default priors):")
        for p in self.parameters:
            line = f"    {p.name:<10} ~ {p.prior}"
            if p.from_scaled is not None:
                line += f"  on the scaled value; {p.name} = {p.from_scaled.text}"
            lines.append(line + (f"  -- {p.description}" if p.description else ""))
            if p.scaled_meaning:
                lines.append(f"    {'':<10}   scaled value: {p.scaled_meaning}")
        if self.optimum:
            lines.append(
                f"  compute-optimal allocation (closed form): N_opt = {self.optimum['N_opt']}"
            )
        if self.reference:
            lines.append(f"  reference: {self.reference}")
        return "\n".join(lines)


def _names_in_order(text: str) -> list[str]:
    import ast

    seen: list[str] = []
    for node in sorted(
        (n for n in ast.walk(ast.parse(text, mode="eval")) if isinstance(n, ast.Name)),
        key=lambda n: (n.lineno, n.col_offset),
    ):
        if node.id not in seen:
            seen.append(node.id)
    return seen


def _direction(name: str, value: object) -> str:
    if value not in ("lower", "higher"):
        raise LawError(f"law {name!r}: direction must be 'lower' or 'higher', not {value!r}")
    return str(value)


def _bind_inputs(
    name: str, inputs: list[str], default: str | None, chosen: str | None
) -> dict[str, str]:
    placeholders = [i for i in inputs if i not in INPUT_COLUMNS]
    if chosen is not None and not placeholders:
        raise LawError(
            f"law {name!r} takes the inputs {', '.join(inputs)}; it cannot be bound to {chosen!r}"
        )
    if len(placeholders) > 1:
        raise LawError(f"law {name!r}: at most one placeholder input, got {placeholders}")
    mapping = {i: i for i in inputs}
    if placeholders:
        target = chosen or default
        if target not in INPUT_COLUMNS:
            raise LawError(
                f"law {name!r} needs its input named: one of {', '.join(INPUT_COLUMNS)} "
                f"(e.g. {name}:C), got {target!r}"
            )
        mapping[placeholders[0]] = target
    return mapping


def _check_optimum(name: str, optimum: Mapping[str, Any], params: list[str]) -> None:
    allowed = [*params, "C", FLOPS_PER_TOKEN_NAME, "N_opt"]
    for key in ("N_opt", "D_opt"):
        if key not in optimum:
            raise LawError(f"law {name!r}: [optimum] needs {key!r}")
        parse_program(optimum[key], terms=optimum.get("terms") or None, allowed_names=allowed)


def list_laws() -> list[str]:
    """Names of the built-in laws."""
    return sorted(p.stem for p in _models_dir().glob("*.toml"))


def get_law(law: str | Path | Law, *, input: str | None = None) -> Law:
    """Resolve a law: a Law, a built-in name (``power_law:N`` binds the input) or a TOML path.

    Raises
    ------
    LawError
        Unknown name (the message lists the known ones) or invalid spec.
    """
    if isinstance(law, Law):
        return law
    text = str(law)
    if text.endswith(".toml"):
        return Law.from_toml(text, input=input)
    name, _, bound = text.partition(":")
    if name not in list_laws():
        raise LawError(
            f"unknown law {name!r}; built-in laws are {', '.join(list_laws())}; or give a TOML "
            "file (models/chinchilla.toml shows the format) or a formula"
        )
    return Law.from_toml(_models_dir() / f"{name}.toml", input=bound or input)
