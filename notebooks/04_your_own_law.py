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
# # 04 · Your own law: formula, priors, LOO comparison
#
# A law is a formula in the inputs N, D, C, U and named parameters; each parameter needs a
# prior. Here a compute-only law `L = E + A (C / 1e20)^-alpha` competes with the Chinchilla law
# on IsoFLOP data. Pareto-smoothed leave-one-out cross-validation (PSIS-LOO, Vehtari et al.
# 2017) scores how well each predicts a run it has not seen.

# %%
import os

import bayes_scaling as bs
from bayes_scaling.evaluation.compare import compare_fits
from bayes_scaling.presentation import plots

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=200, tune=300, chains=2) if FAST else {}  # {}: the default sampler settings

runs = bs.datasets.chinchilla_like(seed=0)

# %%
compute_law = bs.Law.from_formula(
    "E + A * (C / 1e20)**(-alpha)",
    priors={"E": "HalfNormal(3)", "A": "LogNormal(0, 1)", "alpha": "Gamma(2, 4)"},
    name="compute_only",
)
print(compute_law.describe())

# %%
fits = {
    "chinchilla": bs.fit(runs, law="chinchilla", seed=4, **SAMPLING),
    "compute_only": bs.fit(runs, law=compute_law, seed=4, **SAMPLING),
}
fits["compute_only"].summary()


# %% [markdown]
# ## LOO comparison
# `compare_fits` ranks the fits by expected log predictive density (best first) and names runs
# whose LOO estimate is unreliable (Pareto k > 0.7).

# %%
comparison = compare_fits(fits)
comparison.table  # noqa: B018

# %%
# The compute-only law cannot bend into the U-shaped IsoFLOP profiles: LOO prefers Chinchilla.
assert comparison.table.index[0] == "chinchilla"
print("\n".join(comparison.warnings) or "no Pareto k warnings")

# %%
plots.plot_loss_vs_compute(fits["compute_only"])
