"""The diagnostics gate: R-hat, bulk/tail ESS, divergences and E-BFMI checked after every fit.

A failing fit is never silent: :func:`gate` warns with the failed checks and a remedy, or raises
:class:`~bayes_scaling.core.errors.DiagnosticsError` when ``strict=True``.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

import numpy as np

from bayes_scaling.core.errors import DiagnosticsError
from bayes_scaling.inference import convergence

#: Default thresholds (Vehtari et al. 2021 for R-hat and ESS; Betancourt 2016 for E-BFMI).
THRESHOLDS = {
    "max_r_hat": 1.01,
    "min_ess_bulk": 400.0,
    "min_ess_tail": 400.0,
    "divergences": 0,
    "min_bfmi": 0.3,
}

_REMEDIES = {
    "max_r_hat": "chains disagree: run longer (--tune/--draws) or check for multimodality",
    "min_ess_bulk": "too few effective draws: increase --draws",
    "min_ess_tail": "tails poorly explored: increase --draws",
    "divergences": "the sampler hit difficult geometry: tighten priors, raise target_accept, or "
    "check for outlier runs",
    "min_bfmi": "poor energy exploration: reparameterise or tighten priors",
}


class DiagnosticsWarning(UserWarning):
    """A fit failed one or more checks of the diagnostics gate."""


@dataclass(frozen=True)
class Diagnostics:
    """Result of the diagnostics gate."""

    max_r_hat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    min_bfmi: float
    thresholds: dict[str, float] = field(default_factory=lambda: dict(THRESHOLDS))

    @property
    def failed(self) -> tuple[str, ...]:
        """Names of the failed checks."""
        t = self.thresholds
        out = []
        if not self.max_r_hat <= t["max_r_hat"]:
            out.append("max_r_hat")
        if not self.min_ess_bulk >= t["min_ess_bulk"]:
            out.append("min_ess_bulk")
        if not self.min_ess_tail >= t["min_ess_tail"]:
            out.append("min_ess_tail")
        if self.divergences > t["divergences"]:
            out.append("divergences")
        if not self.min_bfmi >= t["min_bfmi"]:
            out.append("min_bfmi")
        return tuple(out)

    @property
    def ok(self) -> bool:
        """True when every check passes."""
        return not self.failed

    def message(self) -> str:
        """One paragraph naming each failed check, its value, its threshold and a remedy."""
        if self.ok:
            return "diagnostics gate passed"
        t = self.thresholds
        parts = []
        for name in self.failed:
            op = "<=" if name in ("max_r_hat", "divergences") else ">="
            parts.append(
                f"{name} = {getattr(self, name):.4g} (needs {op} {t[name]:g}; {_REMEDIES[name]})"
            )
        return "diagnostics gate failed: " + "; ".join(parts) + "."

    def to_dict(self) -> dict:
        """JSON-able dict including ``ok`` and ``failed``."""
        d = asdict(self)
        d["ok"] = self.ok
        d["failed"] = list(self.failed)
        return {k: _jsonable(v) for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: Mapping) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""
        keys = ("max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi")
        return cls(**{k: d[k] for k in keys}, thresholds=dict(d.get("thresholds", THRESHOLDS)))

    def to_json(self) -> str:
        """The dict as a JSON string."""
        return json.dumps(self.to_dict())


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else v
    if isinstance(v, np.generic):
        return v.item()
    return v


def _extreme(values: dict[str, np.ndarray], how) -> float:
    flat = [np.ravel(v) for v in values.values()]
    joined = np.concatenate(flat) if flat else np.array([np.nan])
    joined = joined[np.isfinite(joined)]
    if joined.size == 0:
        return float("nan")
    return float(how(joined))


def compute(
    tree, *, var_names: Iterable[str], thresholds: Mapping[str, float] | None = None
) -> Diagnostics:
    """Diagnostics of the sampled variables ``var_names`` in a sampled DataTree.

    The statistics are those of :mod:`bayes_scaling.inference.convergence`.
    """
    posterior = tree["posterior"].to_dataset()[list(var_names)]
    stats = tree["sample_stats"].to_dataset()
    divergences = int(np.asarray(stats["diverging"]).sum()) if "diverging" in stats else 0
    if "energy" in stats:
        energy = stats["energy"].transpose("chain", "draw").values
        min_bfmi = float(np.min(convergence.bfmi(energy)))
    else:
        min_bfmi = float("nan")
    return Diagnostics(
        max_r_hat=_extreme(convergence.per_variable(posterior, convergence.rhat), np.max),
        min_ess_bulk=_extreme(convergence.per_variable(posterior, convergence.ess_bulk), np.min),
        min_ess_tail=_extreme(convergence.per_variable(posterior, convergence.ess_tail), np.min),
        divergences=divergences,
        min_bfmi=min_bfmi,
        thresholds={**THRESHOLDS, **(thresholds or {})},
    )


#: Failures that more draws of the same chains can fix (not divergences or energy problems).
MORE_DRAWS_FIX = frozenset({"max_r_hat", "min_ess_bulk", "min_ess_tail"})
#: Above this R-hat the chains disagree (different modes or no convergence): more draws of the
#: same chains would not make them agree, so :func:`draws_for_gate` does not ask for them.
STUCK_R_HAT = 1.05
#: Safety factor on the draws :func:`draws_for_gate` asks for (ESS grows about linearly).
DRAWS_MARGIN = 1.5


def draws_for_gate(diagnostics: Diagnostics, draws: int, max_draws: int | None) -> int | None:
    """Draws per chain that should pass the gate when a run of ``draws`` missed it, or None.

    Only a gate that failed on R-hat and effective draws alone, with R-hat at most
    :data:`STUCK_R_HAT`, is worth a longer run: effective draws grow about linearly with the
    draws, so the run needs ``draws * DRAWS_MARGIN * threshold / reached`` (at least twice
    ``draws``, at most ``max_draws``). None when the gate passed, when another check failed,
    when the chains are stuck, or when ``max_draws`` is None or not above ``draws``.
    """
    failed = set(diagnostics.failed)
    if not failed or not failed <= MORE_DRAWS_FIX or max_draws is None or max_draws <= draws:
        return None
    if not diagnostics.max_r_hat <= STUCK_R_HAT:
        return None
    t = diagnostics.thresholds
    reached = min(
        diagnostics.min_ess_bulk / t["min_ess_bulk"], diagnostics.min_ess_tail / t["min_ess_tail"]
    )
    if not reached > 0:
        return None
    factor = max(DRAWS_MARGIN / min(reached, 1.0), 2.0)
    return int(min(max_draws, math.ceil(draws * factor)))


def gate(diagnostics: Diagnostics, *, strict: bool = False) -> None:
    """Warn (or raise with ``strict=True``) when the diagnostics fail."""
    if diagnostics.ok:
        return
    if strict:
        raise DiagnosticsError(diagnostics.message())
    warnings.warn(diagnostics.message(), DiagnosticsWarning, stacklevel=3)
