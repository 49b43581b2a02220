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
# # 05 · The Chinchilla reanalysis
#
# Besiroglu et al. (2024, "Chinchilla Scaling: A replication attempt", arXiv:2404.10102)
# reconstructed the 245 runs behind Figure 4 of Hoffmann et al. (2022) and found that the
# published Approach 3 fit (E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28) does not
# fit those points; their refit gives E = 1.82, A = 482, B = 2085, alpha = 0.35, beta = 0.37.
# Here the Bayesian fit (Student-t likelihood on log-loss) is compared with both.
#
# The points ship with the package (`bayes_scaling/data/epoch_chinchilla`, with its
# `PROVENANCE.md`) and load by name with `bs.datasets.load("epoch_chinchilla")`: N is `Model Size`,
# C is `Training FLOP` and D = C / (6 N).

# %%
import os

import bayes_scaling as bs
from bayes_scaling.presentation import plots
from bayes_scaling.questions.optimal import optimal_allocation

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=200, tune=300, chains=2) if FAST else {}  # {}: the default sampler settings

runs = bs.datasets.load("epoch_chinchilla")
print(f"{runs.n_runs} runs from Epoch AI's reconstruction of the Chinchilla runs")

# %%
fit = bs.fit(runs, law="chinchilla", seed=5, **SAMPLING)
summary = fit.summary(ci=0.9)
summary[["median", "lower", "upper"]]

# %% [markdown]
# ## Posterior against the published fits

# %%
published = fit.law.published
for name in ("alpha", "beta", "E"):
    row = summary.loc[name]
    print(
        f"{name}: posterior {row['median']:.3f} [{row['lower']:.3f}, {row['upper']:.3f}]; "
        f"Hoffmann 2022 {published['hoffmann2022'][name]}, "
        f"Epoch AI 2024 {published['epoch2024'][name]}"
    )

# %%
plots.plot_parameters(fit)

# %% [markdown]
# ## What it means for Chinchilla's own budget (5.76e23 FLOPs)
# Hoffmann et al. trained 70B parameters on 1.4T tokens (20 tokens per parameter).

# %%
allocation = optimal_allocation(fit, compute=5.76e23)
allocation.scaling.summary(ci=0.9)

# %%
ratio = float(allocation["tokens_per_param"].median())
print(f"posterior-median tokens per parameter: {ratio:.1f}")
assert ratio > 0

# %%
plots.plot_isoflop_profiles(fit, x="N")
