"""The scale on which the likelihood sees the target: log for a positive loss, its own otherwise.

A positive target (a loss) is fitted on the log scale: ``log(y) = log(mu) + eps`` (multiplicative
noise, sigma unit-free). A real target (e.g. a unigram-normalised loss, which is negative) is
fitted on its own scale divided by its spread across the runs, ``L_scale`` (a reference value
like ``L_min``): ``y / L_scale = mu / L_scale + eps``, so sigma and the discrepancy's tau stay
unit-free. Every module that turns a curve into an observation (the model, predictions, scores,
the point fit, simulations) goes through :class:`TargetScale`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_scaling.inputs.declared import MEAN_REFERENCE, SCALE_REFERENCE, TargetSpec

__all__ = ["MEAN_REFERENCE", "SCALE_REFERENCE", "TargetScale", "target_references"]


def target_references(target: TargetSpec, y: np.ndarray) -> dict[str, float]:
    """``L_scale`` and ``L_mean`` of observed target values (``L_scale`` 1 for a positive one)."""
    y = np.asarray(y, dtype=float)
    spread = float(np.std(y)) if y.size > 1 else 0.0
    if not spread > 0:
        spread = float(np.max(np.abs(y))) if y.size and np.max(np.abs(y)) > 0 else 1.0
    scale = 1.0 if target.is_positive else spread
    return {SCALE_REFERENCE: scale, MEAN_REFERENCE: float(np.mean(y)) if y.size else 0.0}


@dataclass(frozen=True)
class TargetScale:
    """Maps target values to the likelihood's scale and back.

    Parameters
    ----------
    support : {"positive", "real"}
    scale : float
        ``L_scale`` for a real target (ignored for a positive one).
    """

    support: str = "positive"
    scale: float = 1.0

    @classmethod
    def of(cls, target: TargetSpec, refs: Mapping[str, float] | None = None) -> TargetScale:
        """The scale of ``target`` with the fit's reference values."""
        scale = float((refs or {}).get(SCALE_REFERENCE, 1.0))
        return cls(target.support, 1.0 if target.is_positive else scale)

    @property
    def is_log(self) -> bool:
        """Whether the likelihood works on log values."""
        return self.support == "positive"

    @property
    def observed_name(self) -> str:
        """Name of the observed variable in the model and in saved fits."""
        return "log_loss" if self.is_log else "scaled_target"

    def forward(self, y: Any) -> np.ndarray:
        """Target values -> likelihood scale (numpy)."""
        y = np.asarray(y, dtype=float)
        if self.is_log:
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.log(y)
        return y / self.scale

    def forward_pt(self, mu: Any, scale: Any = None) -> Any:
        """The law's curve -> likelihood scale (pytensor).

        ``scale``: a tensor holding ``L_scale`` (a ``pm.Data`` container, so that a compiled
        model reused with other runs uses their spread); default this object's number.
        """
        import pytensor.tensor as pt

        if self.is_log:
            return pt.log(mu)
        return mu / (self.scale if scale is None else scale)

    def inverse(self, z: Any) -> np.ndarray:
        """Likelihood scale -> target values (numpy; overflow gives inf, an honest heavy tail)."""
        z = np.asarray(z, dtype=float)
        if self.is_log:
            with np.errstate(over="ignore"):
                return np.exp(z)
        return z * self.scale

    def observe(self, mu: Any, eps: Any) -> np.ndarray:
        """Target values from curve values and noise on the likelihood scale."""
        return self.inverse(self.forward(mu) + np.asarray(eps, dtype=float))

    def valid_curve(self, mu: np.ndarray) -> np.ndarray:
        """Where the curve is a possible target value (finite, and > 0 for a positive target)."""
        mu = np.asarray(mu, dtype=float)
        ok = np.isfinite(mu)
        return ok & (mu > 0) if self.is_log else ok
