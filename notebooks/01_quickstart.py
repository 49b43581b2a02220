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
# # 01 · Quickstart: fit, summarise, predict
#
# Fit the Chinchilla law `L = E + A / N^alpha + B / D^beta` to a table of training runs with
# NUTS, read the posterior, and forecast the loss of a bigger run with credible intervals.
# The built-in data set is simulated from Epoch AI's refit of Chinchilla (Besiroglu et al.
# 2024), so the true parameters are known.
#
# Set `BAYES_SCALING_FAST=1` to run with few draws (as the test suite does).

# %%
import os

import bayes_scaling as bs
from bayes_scaling.presentation import plots

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=200, tune=300, chains=2) if FAST else {}  # {}: the default sampler settings

runs = bs.datasets.chinchilla_like(seed=0)
runs.table.head()

# %% [markdown]
# ## Fit
# `fit` samples with nutpie; the diagnostics gate (R-hat, ESS, divergences, E-BFMI) is checked
# after sampling and a failing fit warns.

# %%
fit = bs.fit(runs, law="chinchilla", seed=1, **SAMPLING)
print(fit)

# %%
summary = fit.summary(ci=0.9)
summary[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %%
truth = bs.datasets.CHINCHILLA_TRUTH
for name in ("alpha", "beta", "E"):
    row = summary.loc[name]
    print(
        f"{name}: true {truth[name]}, posterior {row['median']:.3f} "
        f"[{row['lower']:.3f}, {row['upper']:.3f}]"
    )
assert summary.loc["alpha", "lower"] < summary.loc["alpha", "upper"]

# %% [markdown]
# ## Predict
# `mu` is the law's expected loss (parameter uncertainty only); `y` is the loss a new run would
# measure (adds run-to-run noise). Chinchilla itself: 70B parameters on 1.4T tokens.

# %%
forecast = fit.predict(N=[7e10, 4e11], D=[1.4e12, 8e12])
table = forecast.scaling.summary(ci=0.9)
table  # noqa: B018

# %%
mu = table[table.variable == "mu"].reset_index(drop=True)
y = table[table.variable == "y"].reset_index(drop=True)
assert ((y.upper - y.lower) >= (mu.upper - mu.lower)).all()

# %%
plots.plot_loss_vs_compute(fit, compute=[5.76e23])
