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
# # 06 · Pooling 15 configurations: Porian et al.'s IsoFLOP points
#
# Porian et al. 2024 ("Resolving Discrepancies in Compute-Optimal Scaling of Language Models",
# arXiv:2406.19146) trained IsoFLOP grids under 15 configurations: dataset, fixed or tuned
# hyperparameters, warm-up, learning-rate decay, the parameter-counting convention and the loss
# split. Moving from Kaplan's setup to a Chinchilla-like one moves the compute-optimal exponent
# `a` (N_opt ∝ C^a) from about 0.83 to about 0.5.
#
# Fitting each configuration alone wastes data; fitting them as one is wrong. Here one Chinchilla
# law `L = E + A/N^alpha + B/D^beta` is fitted with **every parameter varying by configuration**
# around population values (partial pooling). Each configuration's compute-optimal exponent is
# `a = beta / (alpha + beta)` (Hoffmann et al. 2022, eq. 4), with a credible interval, compared
# with the authors' own per-configuration estimate (their IsoFLOP "Approach 2" fit) and its
# bootstrap interval.
#
# The points are read from `../shared/data` next to the repository (MIT-licensed data of the
# authors' repository `formll/resolving-scaling-law-discrepancies`); without them the notebook
# stops with a message. `BAYES_SCALING_FAST=1` fits three configurations with few draws.

# %%
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayes_scaling as bs
from bayes_scaling.pooling import group_fit

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=150, tune=200, chains=2) if FAST else dict(draws=1000, tune=1000, chains=4)
CI = bs.CI

here = Path.cwd()
repo = here.parent if here.name == "notebooks" else here
folder = repo.parent / "shared" / "data" / "porian2024_isoflops"
if not (folder / "isoflop_points.csv").exists():
    raise SystemExit(f"Porian et al.'s points are not available here ({folder} is missing)")

KEYS = ["dataset", "hparams", "warmup", "decay", "param_count", "loss_split"]
points = pd.read_csv(folder / "isoflop_points.csv")
published = pd.read_csv(folder / "published_fit_results.csv")
for table in (points, published):
    table["config"] = table[KEYS].astype(str).agg("/".join, axis=1)
if FAST:  # three configurations (Kaplan's setup, short warm-up + cosine, tuned), every 2nd point
    keep = published["config"].iloc[[0, 3, 4]]
    points = points[points["config"].isin(keep)].iloc[::2]
print(f"{len(points)} IsoFLOP points in {points['config'].nunique()} configurations")
points.groupby("config").size().rename("points").to_frame()

# %% [markdown]
# ## The pooled fit
# N is the parameter count under each configuration's convention, D the tokens, C the budget.
# `vary` lists the parameters that differ by configuration; `centered="auto"` picks the centred
# parameterisation here because every configuration has about a hundred points spread over a
# wide range of N and D (see `bayes_scaling.pooling`).

# %%
runs = bs.load_runs(
    points[["n_params", "tokens", "flops", "loss", "config"]],
    columns={"N": "n_params", "D": "tokens", "C": "flops", "group": "config"},
)
# the exponents are the question here, not extrapolated losses: no extrapolation discrepancy
vary = ("E", "A", "B", "alpha", "beta")
fit = bs.fit(runs, law="chinchilla", vary=vary, seed=2, discrepancy=None, **SAMPLING)
print(fit.pooling.reason)
print(fit.diagnostics.message())
timing = fit.settings
print(f"compile {timing['compile_seconds']:.0f} s, sampling {timing['sample_seconds']:.0f} s")
fit.summary().loc[["alpha", "beta", "E", "alpha_sd", "beta_sd", "E_scaled_sd"]]

# %% [markdown]
# ## Each configuration's compute-optimal exponent against the authors'
# `a = beta / (alpha + beta)` per draw and configuration; the authors' interval is the
# 2.5–97.5 percentile of their bootstrap.

# %%
post = fit.posterior
a = post["beta_group"] / (post["alpha_group"] + post["beta_group"])
lo, hi = (1 - CI) / 2, (1 + CI) / 2
q = a.quantile([lo, 0.5, hi], dim=("chain", "draw"))
ours = pd.DataFrame(
    {"a_median": q.sel(quantile=0.5), "a_lower": q.sel(quantile=lo), "a_upper": q.sel(quantile=hi)},
    index=pd.Index(a["group"].values, name="config"),
)
theirs = published.set_index("config")[
    ["a_n_exponent", "a_bootstrap_weighted_p2.5", "a_bootstrap_weighted_p97.5"]
]
compare = ours.join(theirs)
compare["contains_theirs"] = (compare["a_lower"] <= compare["a_n_exponent"]) & (
    compare["a_n_exponent"] <= compare["a_upper"]
)
compare["overlap"] = (compare["a_lower"] <= compare["a_bootstrap_weighted_p97.5"]) & (
    compare["a_bootstrap_weighted_p2.5"] <= compare["a_upper"]
)
n_in = int(compare["contains_theirs"].sum())
n_overlap = int(compare["overlap"].sum())
print(
    f"{n_in} of {len(compare)} configurations: our {CI:.0%} interval contains the authors' a; "
    f"{n_overlap} of {len(compare)} overlap their bootstrap interval"
)
compare.round(3)

# %%
fig, ax = plt.subplots(figsize=(7.5, 0.42 * len(compare) + 1.2))
y = np.arange(len(compare))
ax.errorbar(
    compare["a_median"],
    y + 0.12,
    xerr=[compare["a_median"] - compare["a_lower"], compare["a_upper"] - compare["a_median"]],
    fmt="o",
    color="C0",
    label=f"pooled Bayesian fit, {CI:.0%} interval",
)
ax.errorbar(
    compare["a_n_exponent"],
    y - 0.12,
    xerr=[
        compare["a_n_exponent"] - compare["a_bootstrap_weighted_p2.5"],
        compare["a_bootstrap_weighted_p97.5"] - compare["a_n_exponent"],
    ],
    fmt="s",
    color="C3",
    label="Porian et al. (IsoFLOP fit, bootstrap 95%)",
)
ax.set_yticks(y, compare.index, fontsize=7)
ax.axvline(0.5, color="grey", lw=0.8, ls=":")
ax.set_xlabel("compute-optimal exponent a  (N_opt ∝ C^a)")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## A new, unseen configuration, and one configuration's decision
# `group_fit(fit, None)` draws a new configuration from the population: its interval for `a`
# says how much a configuration nobody has tried yet could differ. `group_fit(fit, label)` is an
# ordinary (unpooled) view of one configuration, so every decision question works on it.

# %%
new = group_fit(fit)
a_new = new.posterior["beta"] / (new.posterior["alpha"] + new.posterior["beta"])
print(
    f"new configuration: a = {float(a_new.median()):.3f} "
    f"[{float(a_new.quantile(lo)):.3f}, {float(a_new.quantile(hi)):.3f}]"
)
label = compare.index[-1]
forecast = group_fit(fit, label).predict(N=1e9, D=2e10)
forecast.scaling.summary()

# %% [markdown]
# ## Reading the comparison
# The two estimates answer slightly different questions. The authors fit, per budget, a parabola
# to each IsoFLOP curve and then a power law to the minimisers (Chinchilla's Approach 2); their
# bootstrap resamples seed noise only. The pooled fit uses every point through the parametric
# law (Approach 3) and shares strength across configurations.
#
# Measured here in full mode (4 x 1000 draws, two seeds): the pooled 90% intervals contain the
# authors' `a` for 4-5 of the 15 configurations; fifteen separate fits (one per configuration,
# run with `fit_many`) contain it for 9 of 15, with wider intervals and five of them failing the
# diagnostics gate. The paper's headline survives (Kaplan's setup: pooled `a` ~ 0.79, tuned
# hyperparameters: ~ 0.65), but the misses are systematic, not noise:
#
# * **the law does not fit every IsoFLOP point**: the Student-t degrees of freedom go to
#   `nu ~ 0.9` (Cauchy-like tails), i.e. the Chinchilla form treats the far ends of many IsoFLOP
#   curves as outliers, and the exponents are informed by fewer points than there are;
# * **long warm-up with Kaplan's decay** (`base/long/kaplan/...`): `a` ~ 0.61-0.63 against
#   0.70-0.72. Small budgets come from intermediate checkpoints of runs whose schedule has not
#   decayed, so the loss is not a clean function of (N, D); per-budget parabolas and one global
#   law then disagree about where the minimum moves;
# * **tuned, constant learning rate** (`tuned/short/const/...`): `a` ~ 0.64-0.66 against
#   0.50-0.52; separate fits give ~ 0.58-0.61, so part of the gap is partial pooling pulling the
#   weakly identified exponents of these configurations towards the population (and the
#   Kaplan-setup ones, 0.79 pooled against 0.82 separate, down towards it);
# * both intervals are conditional on their own functional form; neither includes the misfit of
#   the form, which is larger than either interval here. This is structural uncertainty, and
#   the reason to prefer the separate (wider) fits, or a richer law, when configurations differ
#   this much.
