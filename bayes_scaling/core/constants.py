"""Project-wide constants."""

from __future__ import annotations

#: Default probability of every central (equal-tailed) credible interval.
#: ArviZ's own default (0.89) is deliberately not used.
CI: float = 0.90

#: Training FLOPs per parameter per token in the usual C = 6 N D rule.
FLOPS_PER_TOKEN: float = 6.0
