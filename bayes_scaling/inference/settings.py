"""One typed settings object for every fit: :class:`FitSettings`.

The same frozen object goes from the CLI, a jobs file or the Python API to the fit, the
discrepancy's inner refit, backtests, ``compare --backtest``, ``fit_many`` and SBC, and is saved in
the fit file, so a refit of a saved fit reproduces its settings, pooling included. Options that
say how to *run* (``strict``, ``progress``) are not settings of the fit and are not stored.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bayes_scaling.core.constants import DRAWS, MAX_DRAWS, TUNE
from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.inputs.priors import Prior, parse_priors
from bayes_scaling.model.likelihood import get_likelihood

__all__ = ["ADAPTATIONS", "DISCREPANCIES", "FitSettings", "SEED_MAX"]

#: Adaptations of nutpie's mass matrix; a diverging fit is retried with the other one.
ADAPTATIONS = ("low_rank", "diag")
#: Extrapolation discrepancy methods (None: no discrepancy).
DISCREPANCIES = ("lfo", None)
#: Seeds are integers in [0, SEED_MAX] (nutpie takes an unsigned 64-bit seed; the derived seeds of
#: the questions add small offsets).
SEED_MAX = 2**63 - 1


class SettingsError(BayesScalingError, ValueError):
    """A fit setting has an invalid value or an unknown name."""


def _vary(value: str | Sequence[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    return tuple(str(v).strip() for v in items if str(v).strip())


def _centered(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted((str(k), v) for k, v in value.items()))
    if value in ("auto", True, False):
        return value
    raise SettingsError(f"centered must be 'auto', True, False or a mapping, not {value!r}")


@dataclass(frozen=True)
class FitSettings:
    """Everything that decides a fit besides the runs and the law.

    Parameters
    ----------
    priors : mapping of str to Prior, str or float
        Prior overrides, e.g. ``{"alpha": "Beta(2, 5)", "E": 0}`` (a number fixes a parameter).
    likelihood : {"student_t", "normal"}
        Noise model of log(loss) (:mod:`bayes_scaling.model.likelihood`).
    draws, tune, chains : int
        Posterior draws and warm-up steps per chain, and the number of chains.
    cores : int, optional
        Chains run in parallel on this many cores (default: all, up to ``chains``).
    target_accept : float
        NUTS target acceptance rate in (0, 1).
    adaptation : {"low_rank", "diag"}
        nutpie's mass-matrix adaptation.
    retry_divergent : bool
        When the fit diverges, sample again with the other adaptation and keep the better fit.
    max_draws : int or None
        When the gate fails on R-hat or effective draws alone (chains that agree but mix
        slowly), sample once more with enough draws per chain to pass at the rate reached, at
        most ``max_draws`` (:func:`~bayes_scaling.inference.diagnostics.draws_for_gate`); the
        fit records the draws it used. None: never sample again.
    thresholds : mapping, optional
        Overrides of the diagnostics gate's thresholds.
    discrepancy : {"lfo", None}
        The extrapolation discrepancy, learned by leave-future-out (None: none).
    vary : tuple of str
        Law parameters that vary by the runs' ``group`` column (partial pooling).
    centered : "auto", bool or mapping
        Centred or non-centred parameterisation of the varying parameters.
    seed : int, optional
        Random seed; the same seed gives the same draws. None: drawn when the fit starts (and
        recorded in the fit's settings).
    """

    priors: Mapping[str, Prior] = field(default_factory=dict)
    likelihood: str = "student_t"
    draws: int = DRAWS
    tune: int = TUNE
    chains: int = 4
    cores: int | None = None
    target_accept: float = 0.9
    adaptation: str = "low_rank"
    retry_divergent: bool = True
    max_draws: int | None = MAX_DRAWS
    thresholds: Mapping[str, float] | None = None
    discrepancy: str | None = "lfo"
    vary: tuple[str, ...] = ()
    centered: Any = "auto"
    seed: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "priors", dict(parse_priors(self.priors)))
        get_likelihood(self.likelihood)
        for name in ("draws", "tune", "chains"):
            set_(self, name, _count(name, getattr(self, name)))
        if self.cores is not None:
            set_(self, "cores", _count("cores", self.cores))
        target = float(self.target_accept)
        if not 0 < target < 1:
            raise SettingsError(f"target_accept must be in (0, 1), not {self.target_accept!r}")
        set_(self, "target_accept", target)
        if self.adaptation not in ADAPTATIONS:
            raise SettingsError(
                f"adaptation must be one of {', '.join(ADAPTATIONS)}, not {self.adaptation!r}"
            )
        if self.discrepancy not in DISCREPANCIES:
            raise SettingsError(f"discrepancy must be 'lfo' or None, not {self.discrepancy!r}")
        set_(self, "retry_divergent", bool(self.retry_divergent))
        if self.max_draws is not None:
            set_(self, "max_draws", _count("max_draws", self.max_draws))
        if self.thresholds is not None:
            set_(self, "thresholds", {str(k): float(v) for k, v in self.thresholds.items()})
        set_(self, "vary", _vary(self.vary))
        set_(self, "centered", _centered(self.centered))
        if self.seed is not None:
            set_(self, "seed", check_seed(self.seed))

    # ------------------------------------------------------------------ construction
    @classmethod
    def names(cls) -> tuple[str, ...]:
        """Names of every setting, in order."""
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, *, where: str = "") -> FitSettings:
        """Settings from a mapping (jobs file, JSON); unknown names are an error naming them."""
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            place = f" in {where}" if where else ""
            raise SettingsError(
                f"unknown fit setting(s) {', '.join(unknown)}{place}; the settings are "
                f"{', '.join(cls.names())}"
            )
        if isinstance(values.get("centered"), list | tuple):
            values["centered"] = dict(values["centered"])
        if values.get("discrepancy") == "none":
            values["discrepancy"] = None
        return cls(**values)

    def replace(self, **changes: Any) -> FitSettings:
        """A copy with some settings changed (validated like the constructor)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------ views
    @property
    def centered_spec(self) -> bool | str | dict[str, Any]:
        """``centered`` as :func:`bayes_scaling.model.pooling.plan_pooling` takes it."""
        return dict(self.centered) if isinstance(self.centered, tuple) else self.centered

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (priors as their text)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["priors"] = {k: v.to_dict() for k, v in self.priors.items()}
        out["vary"] = list(self.vary)
        out["centered"] = self.centered_spec
        return out

    def to_json(self) -> str:
        """Strict JSON (see :meth:`from_json`)."""
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | Mapping[str, Any]) -> FitSettings:
        """Settings saved by :meth:`to_json` (also accepts the decoded mapping)."""
        values = json.loads(text) if isinstance(text, str) else dict(text)
        values["priors"] = {k: Prior.from_dict(v) for k, v in values.get("priors", {}).items()}
        return cls.from_mapping(values)


def _count(name: str, value: Any) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not number.is_integer() or number < 1:
        raise SettingsError(f"{name} must be a positive whole number, not {value!r}")
    return int(number)


def check_seed(seed: Any) -> int:
    """A seed as an int in [0, SEED_MAX]; SettingsError otherwise (checked before compiling)."""
    try:
        value = int(seed)
        ok = not isinstance(seed, bool) and value == float(seed)
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not 0 <= value <= SEED_MAX:
        raise SettingsError(f"seed must be a whole number from 0 to 2**63 - 1, not {seed!r}")
    return value
