"""FLOPs to accelerator-hours and money, from the user's own hardware figures."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bayes_scaling.core.errors import QuestionError

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True)
class CostModel:
    """Price of training FLOPs on one kind of accelerator.

    Attributes
    ----------
    device_flops : float
        Peak FLOP/s of one device (e.g. 9.89e14 for an H100 SXM at dense BF16).
    utilization : float
        Model FLOPs utilisation in (0, 1] (achieved / peak; 0.3-0.5 is typical).
    price_per_hour : float
        Price of one device-hour, in the user's currency (>= 0).

    Examples
    --------
    >>> cost = CostModel(device_flops=1e15, utilization=0.4, price_per_hour=2.0)
    >>> round(cost.hours(1.44e21))
    1000
    >>> cost.dollars(1.44e21)
    2000.0
    """

    device_flops: float
    utilization: float
    price_per_hour: float

    def __post_init__(self) -> None:
        checks = (
            ("device_flops", self.device_flops, lambda v: v > 0, "> 0 (FLOP/s per device)"),
            ("utilization", self.utilization, lambda v: 0 < v <= 1, "in (0, 1], e.g. 0.4"),
            ("price_per_hour", self.price_per_hour, lambda v: v >= 0, ">= 0"),
        )
        for name, value, ok, rule in checks:
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise QuestionError(f"{name} must be a number {rule}, not {value!r}") from None
            if not math.isfinite(v) or not ok(v):
                raise QuestionError(f"{name} must be finite and {rule}; got {value!r}")

    @property
    def flops_per_hour(self) -> float:
        """Useful FLOPs one device delivers in an hour."""
        return float(self.device_flops) * float(self.utilization) * SECONDS_PER_HOUR

    def hours(self, flops: Any) -> Any:
        """Device-hours to run ``flops`` (numbers, arrays and xarray objects broadcast)."""
        return flops / self.flops_per_hour

    def dollars(self, flops: Any) -> Any:
        """Price of ``flops`` at ``price_per_hour`` per device-hour."""
        return self.hours(flops) * float(self.price_per_hour)

    def to_dict(self) -> dict[str, float]:
        return {
            "device_flops": float(self.device_flops),
            "utilization": float(self.utilization),
            "price_per_hour": float(self.price_per_hour),
        }
