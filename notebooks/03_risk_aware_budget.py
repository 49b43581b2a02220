# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 03 · Risk-aware budget planning
#
# A planner needs a loss target met, not met on average. With the posterior we can ask: what is
# the probability that a budget reaches the target, and how much compute buys a 50% or a 90%
# chance? The answers use each posterior draw's compute-optimal allocation.

# %%
import os

import numpy as np

import bayes_scaling as bs
from bayes_scaling.presentation import plots
from bayes_scaling.questions.budget import (
    compute_at_probability,
    compute_for_target,
    prob_below_target,
)

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=200, tune=300, chains=2) if FAST else {}  # {}: the default sampler settings

fit = bs.fit(bs.datasets.chinchilla_like(seed=0), law="chinchilla", seed=3, **SAMPLING)
best = float(fit.runs.column("loss").min())
target = round(best - 0.1, 2)
print(f"best observed loss {best:.3f}; target {target}")

# %% [markdown]
# ## Probability of reaching the target at a few budgets

# %%
budgets = np.geomspace(1e21, 1e24, 7)
prob = prob_below_target(fit, target=target, compute=budgets)
prob["probability"].to_series()

# %%
p = prob["probability"].values
assert np.all(np.diff(p) >= 0)  # more compute never lowers the chance

# %% [markdown]
# ## Compute for a 50% and a 90% chance

# %%
needed = compute_for_target(fit, target=target)
at_p = compute_at_probability(fit, target=target, probability=[0.5, 0.9])
for i, level in enumerate((0.5, 0.9)):
    print(
        f"{level:.0%} chance: C = {float(at_p['compute'][i]):.3g} FLOPs, "
        f"N = {float(at_p['N'][i]):.3g}, D = {float(at_p['D'][i]):.3g}"
    )
lo, hi = np.quantile(needed["compute_needed"].values, [0.05, 0.95])
print(f"compute needed per draw, 90% interval: {lo:.3g} .. {hi:.3g} FLOPs")
assert float(at_p["compute"][0]) <= float(at_p["compute"][1])

# %%
plots.plot_probability(fit, target=target, compute_max=1e25)

# %%
plots.plot_loss_quantiles(fit, target=target, compute_max=1e25)
