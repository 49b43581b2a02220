"""What this process may use of the machine, and the package's on/off environment switches."""

from __future__ import annotations

import os

__all__ = ["OFF_VALUES", "available_cores", "switched_on"]

#: Values (any case, surrounding spaces ignored) that turn an on/off environment switch off.
OFF_VALUES = frozenset({"0", "false", "no", "off"})


def available_cores() -> int:
    """CPUs this process may run on: its affinity mask where the OS has one, else the count."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def switched_on(variable: str) -> bool:
    """False when the environment variable ``variable`` is one of :data:`OFF_VALUES`; True
    when it is unset or anything else."""
    return os.environ.get(variable, "1").strip().lower() not in OFF_VALUES
