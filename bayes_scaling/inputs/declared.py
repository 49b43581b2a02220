"""What a law's inputs and target are: declared names, meanings, units, scales and supports.

A law takes named numeric inputs. ``N`` (parameters), ``D`` (training tokens), ``C`` (training
FLOPs, ``C = k N D``) and ``U`` (unique tokens) are built in (:data:`CANONICAL`); any other input
(learning rate, batch size, number of experts, vocabulary size, fine-tuning examples, ...) is
declared by the law, in a TOML ``[input.NAME]`` table, with ``Law.from_formula(inputs=...)`` or on
the command line (``--input lr``, ``--input data_size:scale``):

* ``meaning`` and ``unit``: shown in every table, plot and report;
* ``scale_axis``: whether the input measures the *scale* of a run. Extrapolation distance (the
  discrepancy), backtest cut-offs and "how far beyond the training runs" are measured along scale
  axes only: a learning rate or a batch size is a setting, not a scale;
* ``scaling``: ``log`` (the input spans orders of magnitude; reference value = geometric mean) or
  ``linear`` (reference value = arithmetic mean);
* ``sign``: ``positive`` (> 0), ``nonnegative`` (>= 0) or ``real``.

The target (the column ``loss`` of a runs table) is declared by :class:`TargetSpec`: its name as
shown, and its support. A ``positive`` target (a loss) is fitted on the log scale; a ``real``
target (e.g. a unigram-normalised loss, which is negative) on its own scale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bayes_scaling.core.errors import LawError

__all__ = [
    "CANONICAL",
    "MEAN_REFERENCE",
    "MIN_REFERENCE",
    "SCALE_REFERENCE",
    "SCALINGS",
    "SIGNS",
    "SUPPORTS",
    "InputSpec",
    "Schema",
    "TargetSpec",
    "parse_inputs",
]

#: Reference name (in ``from_scaled`` rules) of the smallest observed target.
MIN_REFERENCE = "L_min"
#: Reference name (in ``from_scaled`` rules) of the target's spread across the runs; 1 for a
#: positive target.
SCALE_REFERENCE = "L_scale"
#: Reference name of the target's mean across the runs.
MEAN_REFERENCE = "L_mean"
#: Allowed values of :attr:`InputSpec.scaling`.
SCALINGS = ("log", "linear")
#: Allowed values of :attr:`InputSpec.sign`.
SIGNS = ("positive", "nonnegative", "real")
#: Allowed values of :attr:`TargetSpec.support`.
SUPPORTS = ("positive", "real")

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class InputSpec:
    """One declared input of a law.

    Attributes
    ----------
    name : str
        Name in the formula and in the runs table (after column mapping).
    meaning, unit : str
        Human text for tables, plots and reports.
    scale_axis : bool
        Whether extrapolation distance and backtest cut-offs are measured along it.
    scaling : {"log", "linear"}
        How the input spans its range; sets its reference value and its grids.
    sign : {"positive", "nonnegative", "real"}
        Values a run may have.
    aliases : tuple of str
        Other column names that are read as this input (e.g. ``num_experts``).
    """

    name: str
    meaning: str = ""
    unit: str = ""
    scale_axis: bool = False
    scaling: str = "log"
    sign: str = "positive"
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise LawError(f"input name {self.name!r} is not a valid identifier")
        if self.scaling not in SCALINGS:
            raise LawError(
                f"input {self.name!r}: scaling must be one of {', '.join(SCALINGS)}, not "
                f"{self.scaling!r}"
            )
        if self.sign not in SIGNS:
            raise LawError(
                f"input {self.name!r}: sign must be one of {', '.join(SIGNS)}, not {self.sign!r}"
            )
        if self.scaling == "log" and self.sign != "positive":
            raise LawError(
                f"input {self.name!r}: a log-scaled input must be positive; declare "
                "scaling = 'linear' for an input that can be zero or negative"
            )

    @property
    def label(self) -> str:
        """``name`` with its meaning and unit, for axes and tables."""
        text = f"{self.meaning} {self.name}" if self.meaning else self.name
        return f"{text} ({self.unit})" if self.unit else text

    @property
    def is_canonical(self) -> bool:
        """Whether this is one of the built-in inputs N, D, C, U."""
        return self.name in CANONICAL

    @classmethod
    def from_mapping(cls, name: str, spec: Mapping[str, Any] | None, *, law: str = "") -> InputSpec:
        """An input from a TOML/JSON table; canonical names start from their built-in meaning."""
        spec = dict(spec or {})
        known = {"meaning", "unit", "scale_axis", "scaling", "sign", "aliases"}
        unknown = sorted(set(spec) - known)
        where = f"law {law!r}: " if law else ""
        if unknown:
            raise LawError(
                f"{where}[input.{name}] has unknown key(s) {', '.join(unknown)}; the keys are "
                f"{', '.join(sorted(known))}"
            )
        base = CANONICAL.get(name, cls(name))
        if "scale_axis" in spec and not isinstance(spec["scale_axis"], bool):
            raise LawError(f"{where}[input.{name}] scale_axis must be true or false")
        if "aliases" in spec:
            spec["aliases"] = tuple(str(a) for a in spec["aliases"])
        return replace(base, **spec)

    def to_mapping(self) -> dict[str, Any]:
        """The ``[input.NAME]`` table of this input (inverse of :meth:`from_mapping`)."""
        table = {"meaning": self.meaning, "unit": self.unit, "scale_axis": self.scale_axis,
                 "scaling": self.scaling, "sign": self.sign}  # fmt: skip
        if self.aliases:
            table["aliases"] = list(self.aliases)
        return table

    @classmethod
    def parse(cls, text: str) -> InputSpec:
        """An input from command-line text ``NAME[:option,...]``.

        Options: ``scale`` (a scale axis), ``linear`` (linear scaling), ``nonnegative`` or
        ``real`` (sign; implies linear scaling), ``log`` and ``positive`` (the defaults).

        Examples
        --------
        >>> InputSpec.parse("data_size:scale").scale_axis
        True
        >>> InputSpec.parse("lr")
        InputSpec(name='lr', meaning='', unit='', scale_axis=False, scaling='log', sign='positive', aliases=())
        """  # noqa: E501
        name, _, options = str(text).partition(":")
        name = name.strip()
        if name in CANONICAL and not options:
            return CANONICAL[name]
        base = CANONICAL.get(name, cls(name) if _NAME.match(name) else None)
        if base is None:
            raise LawError(f"--input {text!r}: {name!r} is not a valid input name")
        changes: dict[str, Any] = {}
        for option in filter(None, (o.strip() for o in options.split(","))):
            if option == "scale":
                changes["scale_axis"] = True
            elif option in SCALINGS:
                changes["scaling"] = option
            elif option in SIGNS:
                changes["sign"] = option
                if option != "positive":
                    changes.setdefault("scaling", "linear")
            else:
                raise LawError(
                    f"--input {text!r}: unknown option {option!r}; options are scale, log, "
                    "linear, positive, nonnegative, real"
                )
        return replace(base, **changes)


#: The built-in inputs and their conventions (all scale axes, log-scaled, positive).
CANONICAL: dict[str, InputSpec] = {
    "N": InputSpec("N", "parameters", "params", scale_axis=True),
    "D": InputSpec("D", "training tokens", "tokens", scale_axis=True),
    "C": InputSpec("C", "training compute", "FLOPs", scale_axis=True),
    "U": InputSpec("U", "unique tokens", "tokens", scale_axis=True),
}


@dataclass(frozen=True)
class TargetSpec:
    """The quantity a law predicts (the runs table's ``loss`` column).

    Attributes
    ----------
    name : str
        Name shown in every output (``loss``, ``Lossu``, ``smooth loss``, ...). When the runs
        table has a column of this name, it is read as the target.
    meaning, unit : str
        Human text.
    support : {"positive", "real"}
        ``positive``: fitted on the log scale (multiplicative noise). ``real``: fitted on its own
        scale (additive noise, in units of the target's spread across the runs).
    """

    name: str = "loss"
    meaning: str = ""
    unit: str = ""
    support: str = "positive"

    def __post_init__(self) -> None:
        if self.support not in SUPPORTS:
            raise LawError(
                f"target {self.name!r}: support must be one of {', '.join(SUPPORTS)}, not "
                f"{self.support!r}"
            )

    @property
    def is_positive(self) -> bool:
        """Whether the target is fitted on the log scale."""
        return self.support == "positive"

    @property
    def label(self) -> str:
        """Name with meaning and unit, for axes and tables."""
        text = self.name if not self.meaning or self.meaning == self.name else self.meaning
        return f"{text} ({self.unit})" if self.unit else text

    @classmethod
    def from_mapping(cls, spec: Mapping[str, Any] | None, *, law: str = "") -> TargetSpec:
        """A target from a TOML ``[target]`` table."""
        spec = dict(spec or {})
        known = {"name", "meaning", "unit", "support"}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise LawError(
                f"law {law!r}: [target] has unknown key(s) {', '.join(unknown)}; the keys are "
                f"{', '.join(sorted(known))}"
            )
        return cls(**{k: str(v) for k, v in spec.items()})

    def to_mapping(self) -> dict[str, str]:
        """JSON-able form (inverse of :meth:`from_mapping`)."""
        return {"name": self.name, "meaning": self.meaning, "unit": self.unit,
                "support": self.support}  # fmt: skip


@dataclass(frozen=True)
class Schema:
    """What reading a runs table for a law needs: its declared extra inputs and its target."""

    inputs: tuple[InputSpec, ...] = ()
    target: TargetSpec = field(default_factory=TargetSpec)

    @property
    def extra(self) -> tuple[InputSpec, ...]:
        """The declared inputs other than N, D, C, U."""
        return tuple(i for i in self.inputs if not i.is_canonical)


def parse_inputs(inputs: Iterable[str | InputSpec] | Mapping[str, Any] | None) -> list[InputSpec]:
    """Declared inputs from names, ``NAME:options`` texts, InputSpecs or a mapping of tables."""
    if inputs is None:
        return []
    if isinstance(inputs, Mapping):
        return [
            v if isinstance(v, InputSpec) else InputSpec.from_mapping(str(k), v)
            for k, v in inputs.items()
        ]
    if isinstance(inputs, str):
        inputs = [inputs]
    return [i if isinstance(i, InputSpec) else InputSpec.parse(i) for i in inputs]
