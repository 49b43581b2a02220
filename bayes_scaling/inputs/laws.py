"""Scaling laws as data: a :class:`Law` comes from a TOML spec in ``models/`` or a formula string.

A law names its inputs (the built-in run columns ``N``, ``D``, ``C``, ``U``, any input it declares
in an ``[input.NAME]`` table (see :mod:`bayes_scaling.inputs.declared`), and for one-input laws the
placeholder ``x`` bound to one of N, D, C, U), its target (``[target]``), its formula (in the
user's units), and its parameters in evaluation order, each with a default prior. A parameter may
carry a ``from_scaled`` rule: the sampler then works on a unit-free value and the rule turns it
into user units, with input names standing for reference values (geometric means of the runs) and
``L_min`` for the smallest observed target (``L_scale``, ``L_mean``: its spread and mean). This
keeps the sampled parameters nearly uncorrelated whatever the units of the data.
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
from bayes_scaling.inputs.declared import (
    CANONICAL,
    MEAN_REFERENCE,
    MIN_REFERENCE,
    SCALE_REFERENCE,
    InputSpec,
    Schema,
    TargetSpec,
    parse_inputs,
)
from bayes_scaling.inputs.formula import Formula, Program, parse_formula, parse_program
from bayes_scaling.inputs.priors import Prior

#: Canonical run columns a law may take as inputs.
INPUT_COLUMNS = ("N", "D", "C", "U")
#: Name that a reference rule uses for the smallest observed loss.
LOSS_REFERENCE = MIN_REFERENCE
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
    declared: tuple[InputSpec, ...] = ()
    target: TargetSpec = field(default_factory=TargetSpec)

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
        tables = spec.get("input", {})
        if not isinstance(tables, Mapping) or set(tables) - set(inputs):
            raise LawError(
                f"law spec {name!r}: [input.NAME] tables must declare names listed in 'inputs' "
                f"({', '.join(inputs)})"
            )
        declared = {n: InputSpec.from_mapping(n, tables[n], law=name) for n in tables}
        input_map = _bind_inputs(name, inputs, spec.get("default_input"), input, declared)
        if input is not None:
            spec["bound_input"] = input
        elif spec.get("bound_input"):
            input_map = _bind_inputs(name, inputs, None, spec["bound_input"], declared)
        specs = tuple(declared.get(col) or CANONICAL[col] for col in input_map.values())
        target = TargetSpec.from_mapping(spec.get("target"), law=name)
        param_specs = spec["parameters"]
        if not isinstance(param_specs, Mapping) or not param_specs:
            raise LawError(f"law spec {name!r}: 'parameters' must be a non-empty table")
        param_names = list(param_specs)
        refs = [*inputs, LOSS_REFERENCE, SCALE_REFERENCE, MEAN_REFERENCE]
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
            declared=specs,
            target=target,
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
        priors: Mapping[str, str | float | Prior] | None = None,
        inputs: Any = None,
        target: TargetSpec | Mapping[str, Any] | None = None,
        name: str = "custom",
        direction: str = "lower",
    ) -> Law:
        """Build a law from a formula string.

        Inputs are the names among ``N``, ``D``, ``C``, ``U`` and those declared with ``inputs``
        (names, ``NAME:options`` texts such as ``"data_size:scale"``, or
        :class:`~bayes_scaling.inputs.declared.InputSpec` objects); every other name is a
        parameter. A parameter without a prior in ``priors`` (user units) gets a unit-free default
        from its role in the formula (see :mod:`bayes_scaling.inputs.default_priors`).

        Examples
        --------
        >>> law = Law.from_formula("E + A * C**(-alpha)")
        >>> law.param_names  # evaluation order: A's unit-free rule uses alpha
        ('E', 'alpha', 'A')
        >>> Law.from_formula("E + A * N**(-alpha) + c * log(lr / lr_opt)**2", inputs=["lr"]).inputs
        ('N', 'lr')
        """
        from bayes_scaling.inputs.default_priors import default_parameters

        parsed = parse_formula(formula)
        extra = {i.name: i for i in parse_inputs(inputs)}
        names = _names_in_order(formula)
        unused = [n for n in extra if n not in parsed.names]
        if unused:
            raise LawError(
                f"formula {formula!r} does not use the declared input(s) {', '.join(unused)}"
            )
        input_names = [n for n in names if n in parsed.names and (n in CANONICAL or n in extra)]
        if not input_names:
            raise LawError(
                f"formula {formula!r} uses none of the inputs {', '.join(CANONICAL)} and "
                "declares none; write it in terms of N, D, C or U, or declare its inputs "
                "(--input lr / inputs=['lr'])"
            )
        if isinstance(target, Mapping):
            target = TargetSpec.from_mapping(target, law=name)
        target = target or TargetSpec()
        params = [n for n in names if n in parsed.names and n not in input_names]
        declared = {n: extra.get(n, CANONICAL.get(n)) for n in input_names}
        parameters = default_parameters(
            parsed, params, declared, target=target, priors=dict(priors or {})
        )
        spec = {
            "name": name,
            "title": f"custom law {formula}",
            "formula": formula,
            "inputs": input_names,
            "direction": direction,
            "parameters": parameters,
            "target": target.to_mapping(),
        }
        tables = {n: s.to_mapping() for n, s in extra.items()}
        if tables:
            spec["input"] = tables
        return cls.from_spec(spec)

    # ------------------------------------------------------------------ properties
    @property
    def param_names(self) -> tuple[str, ...]:
        """Parameter names in evaluation order."""
        return tuple(p.name for p in self.parameters)

    @property
    def inputs(self) -> tuple[str, ...]:
        """Run columns the law needs (e.g. ``("N", "D")`` or ``("N", "D", "lr", "bs")``)."""
        return tuple(self.input_map.values())

    def input_spec(self, column: str) -> InputSpec:
        """The declaration of input ``column`` (built-in conventions for N, D, C, U)."""
        for spec in self.declared:
            if spec.name == column:
                return spec
        if column in CANONICAL:
            return CANONICAL[column]
        raise LawError(f"law {self.name!r} has no input {column!r}; it takes {self.inputs}")

    @property
    def scale_axes(self) -> tuple[str, ...]:
        """Inputs along which extrapolation distance and backtest cut-offs are measured."""
        return tuple(s.name for s in self.declared if s.scale_axis)

    @property
    def schema(self) -> Schema:
        """What reading runs for this law needs (declared inputs, target)."""
        return Schema(inputs=self.declared, target=self.target)

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
        """Multi-line description: formula, inputs, target, default priors, reference."""
        from bayes_scaling.inputs.law_text import describe_law

        return describe_law(self)


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
    name: str,
    inputs: list[str],
    default: str | None,
    chosen: str | None,
    declared: Mapping[str, InputSpec],
) -> dict[str, str]:
    placeholders = [i for i in inputs if i not in INPUT_COLUMNS and i not in declared]
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
