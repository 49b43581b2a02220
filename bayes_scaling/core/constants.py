"""Project-wide constants."""

from __future__ import annotations

#: Default probability of every central (equal-tailed) credible interval.
#: ArviZ's own default (0.89) is deliberately not used.
CI: float = 0.90

#: Training FLOPs per parameter per token in the usual C = 6 N D rule.
FLOPS_PER_TOKEN: float = 6.0

#: Default posterior draws per chain of a fit.
DRAWS: int = 1000

#: Default warm-up steps per chain. ``benchmarks/bench_tune.py`` fitted 52 real data sets (every
#: shipped calibration set, Porian pooled, SLD MoE and vocabulary) at 1000 and 300 warm-up steps
#: with two seeds: the same number passed the diagnostics gate (30/30 and 29/29), min ESS_bulk
#: was unchanged on median (ratios 1.01 and 0.96) and sampling took 0.69-0.74x the time.
TUNE: int = 300

#: Default cap on the draws per chain of the one longer run a fit makes when it misses the gate
#: on R-hat or effective draws alone (``FitSettings.max_draws``).
MAX_DRAWS: int = 4000
