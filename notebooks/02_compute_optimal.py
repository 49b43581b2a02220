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
# # 02 · Compute-optimal allocation and its uncertainty
#
# For a budget C = 6 N D, which model size N and token count D minimise the loss? The Chinchilla
# law has a closed form (Hoffmann et al. 2022, eq. 4); evaluating it per posterior draw gives the
# allocation *with* its credible interval, and the exponents a = beta / (alpha + beta) and
# b = alpha / (alpha + beta) of N_opt ∝ C^a and D_opt ∝ C^b.

# %%
import os

import numpy as np

import bayes_scaling as bs
from bayes_scaling.presentation import plots
from bayes_scaling.questions.optimal import allocation_exponents, optimal_allocation

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=200, tune=300, chains=2) if FAST else {}  # {}: the default sampler settings

fit = bs.fit(bs.datasets.chinchilla_like(seed=0), law="chinchilla", seed=2, **SAMPLING)
print(fit)

# %% [markdown]
# ## Allocation at three budgets
# Chinchilla's own budget was 5.76e23 FLOPs.

# %%
budgets = [5.76e23, 1e24, 1e25]
allocation = optimal_allocation(fit, compute=budgets)
allocation.scaling.summary(ci=0.9)

# %%
n_opt = allocation["N_opt"].median(("chain", "draw")).values
assert np.all(np.diff(n_opt) > 0)  # more compute, bigger optimal model
ratio = allocation["tokens_per_param"].median(("chain", "draw")).values
print("tokens per parameter at each budget:", np.round(ratio, 1))

# %% [markdown]
# ## Scaling exponents
# Hoffmann et al. (2022) report a ≈ b ≈ 0.5 (Approaches 1 and 2); Epoch AI's refit of
# Approach 3 gives a ≈ 0.51.

# %%
exponents = allocation_exponents(fit)
exponents.scaling.summary(ci=0.9)

# %% [markdown]
# ## The frontier in the (N, D) plane
# Iso-loss contours of the expected loss, the compute-optimal frontier with its 90% band, and
# IsoFLOP lines.

# %%
plots.plot_isoloss(fit, compute=[1e19, 1e21, 5.76e23])

# %%
plots.plot_isoflop_profiles(fit, x="N")
