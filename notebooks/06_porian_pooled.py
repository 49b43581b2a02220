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
# The authors estimate `a` per configuration with Chinchilla's **Approach 2**: locate the minimum
# of each IsoFLOP profile (loss against N at one compute budget), then fit a line through the
# minima in log-log space. Here the same idea is **one Bayesian model**, the `isoflop` law:
#
# `L(N, C) = Lr - S (1 - (C / C0)^-b) / b + kappa / C^c · log(N / (G C^a))^2`
#
# at each budget a parabola in log N whose vertex sits on `N_opt = G C^a` and whose curvature may
# change with C. The loss at the vertex is a saturating power law in C, `E + B / C^b`, written
# through its value `Lr` and slope `S` (per e-fold of C) at the runs' reference budget `C0`: the
# data pin those two down, while `E` and `B` alone trade off against `b` along a long ridge.
# Every parameter but `C0` varies by configuration around population values (partial pooling),
# so `a` comes with an interval per configuration and for a configuration nobody has run yet.
#
# The points ship with the package (`bayes_scaling/data/porian2024_isoflops`: MIT-licensed data of
# the authors' repository `formll/resolving-scaling-law-discrepancies`) and load by name with
# `bs.datasets.load("porian2024_isoflops")`, each run's `group` being its configuration.
# `BAYES_SCALING_FAST=1` fits three configurations with few draws.

# %%
import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import bayes_scaling as bs
from bayes_scaling.inputs.isoflop import near_optimum, two_step_exponent
from bayes_scaling.inputs.shipped import porian_labels
from bayes_scaling.questions.draws import group_fit

FAST = os.environ.get("BAYES_SCALING_FAST") == "1"
SAMPLING = dict(draws=150, tune=200, chains=2) if FAST else dict(draws=500, tune=1000, chains=4)
CI = bs.CI
lo, hi = (1 - CI) / 2, (1 + CI) / 2

runs = bs.datasets.load("porian2024_isoflops")
# the authors' per-configuration fits, labelled like the runs' groups
published = pd.read_csv(bs.datasets.path("porian2024_isoflops", "published_fit_results.csv"))
published = published.set_index(porian_labels(published).rename("config"))
if FAST:  # three configurations: Kaplan's setup, short warm-up + cosine, tuned
    runs = runs.subset(np.isin(runs.column("group"), published.index[[0, 3, 4]]))
print(f"{runs.n_runs} IsoFLOP points in {len(runs.groups)} configurations")

# %% [markdown]
# ## Which points: the ones near each minimum
# A parabola describes a profile near its minimum; far from it, profiles are asymmetric and
# their curvature changes from budget to budget. A parabola through whole profiles moves the
# vertex: on the Kaplan-like configurations the two-step estimate goes from about 0.85 to 1.2.
# So, like Approach 2, the fit uses the five runs nearest each profile's lowest loss
# (`near_optimum`), and profiles with fewer than three runs are dropped.
#
# `two_step_exponent` is the classic point estimate on the same runs: a parabola per profile,
# then least squares through the vertices. It differs from the authors' numbers (they locate
# the minimum by interpolation with a seed-noise bootstrap) by up to about 0.03: that is how
# much the choice of method alone moves `a`.

# %%
near = near_optimum(runs)
two_step = two_step_exponent(runs)
print(f"{near.n_runs} of {runs.n_runs} points are near an IsoFLOP minimum")
two_step.join(published["a_n_exponent"]).round(3)

# %% [markdown]
# ## The pooled fit
# Choices, each measured (`benchmarks/bench_porian.py`, numbers at the end):
#
# * **Normal likelihood** on log-loss: after the selection the residuals are not heavy-tailed;
#   a Student-t there drifts to `nu < 1` and the posterior becomes hard to sample.
# * **`VARY`**: every parameter varies by configuration (`C0` is fixed). Written with `E` and `B`
#   instead of `Lr` and `S`, configurations whose loss at the optimum has not started to saturate
#   (the authors' own fit puts `E` = 0.36 for one of them) made `E`, `B` and `b` a ridge the
#   sampler could not cross: R-hat 1.016-1.032 however long the tuning.
# * No extrapolation discrepancy: the exponents are the question here, not extrapolated losses.

# %%
VARY = ("a", "b", "G", "c", "kappa", "Lr", "S")
law = bs.get_law("isoflop")
fit = bs.fit(near, law=law, vary=VARY, likelihood="normal", discrepancy=None, seed=1, **SAMPLING)
print(fit.pooling.reason)
print(fit.diagnostics.message())
timing = fit.info
print(f"compile {timing['compile_seconds']:.0f} s, sampling {timing['sample_seconds']:.0f} s")
summary = fit.summary()
summary.loc[[name for name in ("a", "b", "c", "Lr", "S", "a_sd") if name in summary.index]]

# %% [markdown]
# ## Each configuration's compute-optimal exponent against the authors'
# The authors' interval is the 2.5–97.5 percentile of their bootstrap (seed noise only).

# %%
a = fit.posterior["a_group"]
q = a.quantile([lo, 0.5, hi], dim=("chain", "draw"))
compare = pd.DataFrame(
    {"a_median": q.sel(quantile=0.5), "a_lower": q.sel(quantile=lo), "a_upper": q.sel(quantile=hi)},
    index=pd.Index(a["group"].values, name="config"),
)
compare = compare.join(
    published[["a_n_exponent", "a_bootstrap_weighted_p2.5", "a_bootstrap_weighted_p97.5"]]
).join(two_step["a"].rename("two_step"))
compare["contains_theirs"] = (compare["a_lower"] <= compare["a_n_exponent"]) & (
    compare["a_n_exponent"] <= compare["a_upper"]
)
compare["overlap"] = (compare["a_lower"] <= compare["a_bootstrap_weighted_p97.5"]) & (
    compare["a_bootstrap_weighted_p2.5"] <= compare["a_upper"]
)
n_in, n_overlap = int(compare["contains_theirs"].sum()), int(compare["overlap"].sum())
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
    y + 0.15,
    xerr=[compare["a_median"] - compare["a_lower"], compare["a_upper"] - compare["a_median"]],
    fmt="o",
    color="C0",
    label=f"pooled isoflop law, {CI:.0%} interval",
)
ax.errorbar(
    compare["a_n_exponent"],
    y - 0.15,
    xerr=[
        compare["a_n_exponent"] - compare["a_bootstrap_weighted_p2.5"],
        compare["a_bootstrap_weighted_p97.5"] - compare["a_n_exponent"],
    ],
    fmt="s",
    color="C3",
    label="Porian et al. (Approach 2, bootstrap 95%)",
)
ax.plot(compare["two_step"], y, "x", color="k", label="two-step least squares (same runs)")
ax.set_yticks(y, compare.index, fontsize=7)
ax.axvline(0.5, color="grey", lw=0.8, ls=":")
ax.set_xlabel("compute-optimal exponent a  (N_opt ∝ C^a)")
ax.legend(fontsize=8, loc="lower right")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## One configuration's profiles
# Grey: every run; black: the runs the fit used; lines: the posterior median of the law at each
# budget; the dashed line is `N_opt = G C^a`.

# %%
label = compare.index[0]
view = group_fit(fit, label)
mine = runs.table[runs.table["group"] == label]
used = near.table[near.table["group"] == label]
fig, ax = plt.subplots(figsize=(7, 4.5))
budgets = np.sort(used["C"].unique())
colors = plt.cm.viridis(np.linspace(0, 0.9, len(budgets)))
for c, color in zip(budgets, colors, strict=True):
    grid = np.geomspace(mine["N"].min(), mine["N"].max(), 60)
    curve = view.predict(N=grid, C=np.full_like(grid, c))["mu"].median(("chain", "draw"))
    ax.plot(grid, curve, color=color, lw=1)
    ax.scatter(mine.loc[mine["C"] == c, "N"], mine.loc[mine["C"] == c, "loss"], s=8, color="0.7")
    ax.scatter(used.loc[used["C"] == c, "N"], used.loc[used["C"] == c, "loss"], s=10, color=color)
med = view.summary()["median"]
n_opt = med["G"] * budgets ** med["a"]
l_opt = med["Lr"] - med["S"] * (1 - (budgets / med["C0"]) ** -med["b"]) / med["b"]
ax.plot(n_opt, l_opt, "k--", lw=1, label=f"N_opt ∝ C^{med['a']:.3f}")
ax.set_xscale("log")
ax.set_ylim(used["loss"].min() - 0.1, used["loss"].max() + 0.25)
ax.set_xlabel("parameters N")
ax.set_ylabel("loss")
ax.set_title(label, fontsize=9)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## A new, unseen configuration, and one configuration's decision
# `group_fit(fit, None)` draws a new configuration from the population: its interval for `a`
# says how much a configuration nobody has tried yet could differ. `group_fit(fit, label)` is an
# ordinary (unpooled) view of one configuration, so every decision question works on it: here
# the compute-optimal split of 1e21 FLOPs under the tuned configuration.

# %%
new = group_fit(fit)
a_new = new.posterior["a"]
print(
    f"new configuration: a = {float(a_new.median()):.3f} "
    f"[{float(a_new.quantile(lo)):.3f}, {float(a_new.quantile(hi)):.3f}]"
)
tuned = compare.index[-1]
group_fit(fit, tuned).optimal(compute=1e21).scaling.summary()

# %% [markdown]
# ## For contrast: Approach 3 on every point
# Chinchilla's Approach 3 fits one parametric law `E + A/N^alpha + B/D^beta` to every run and
# reads `a = beta / (alpha + beta)` off it (Hoffmann et al. 2022, eq. 4). Pooled the same way,
# on all the points:

# %%
chin = bs.fit(runs, law="chinchilla", vary=("E", "A", "B", "alpha", "beta"), seed=2,
              discrepancy=None, **SAMPLING)  # fmt: skip
post = chin.posterior
a3 = post["beta_group"] / (post["alpha_group"] + post["beta_group"])
q3 = a3.quantile([lo, 0.5, hi], dim=("chain", "draw"))
compare["approach3_median"] = q3.sel(quantile=0.5).to_series().reindex(compare.index).to_numpy()
inside3 = (q3.sel(quantile=lo).values <= published.loc[a3["group"].values, "a_n_exponent"]) & (
    published.loc[a3["group"].values, "a_n_exponent"] <= q3.sel(quantile=hi).values
)
print(chin.diagnostics.message())
print(f"Approach 3: {int(inside3.sum())} of {len(inside3)} intervals contain the authors' a")
print(f"Student-t degrees of freedom: nu = {float(post['nu'].median()):.2f}")
compare[["a_median", "approach3_median", "a_n_exponent"]].round(3)

# %% [markdown]
# ## Reading the comparison
# Measured with `benchmarks/bench_porian.py` (4 x 750 draws, the settings above, a quiet
# 2-core machine): the pooled fit passes the diagnostics gate (R-hat <= 1.008, min ESS_bulk
# >= 3750, no divergences) in 31-36 s including the compile. Its 90% intervals contain the
# authors' `a` for 8 of the 15 configurations (seeds 1 and 2) and overlap the authors' bootstrap
# intervals for 13; the median distance between the two estimates is 0.018. The paper's
# headline comes out clearly: Kaplan's setup gives `a` = 0.89-0.90, tuned hyperparameters
# 0.49-0.50.
#
# The misses, and why:
#
# * **Kaplan's setup** (`base/long/kaplan/kaplan/train`): 0.90 and 0.89 against 0.83 and 0.87.
#   The small budgets of these configurations come from intermediate checkpoints of runs whose
#   schedule has not decayed, so their profiles are not parabolas around a clean optimum; the
#   two-step estimate on the same runs (0.865, 0.858) lands between.
# * **cosine decay** (`base/short/chinchilla/...`): 0.535-0.557 against 0.569-0.578, and the
#   OWT2 validation configurations (0.663 against 0.700, 0.501 against 0.518): our intervals end
#   0.005-0.02 short of the authors' value while overlapping their bootstrap interval.
# * **method alone moves `a` by up to 0.03**: the two-step estimate and the authors' differ that
#   much on the same points (they interpolate the minimum and bootstrap seed noise), which is
#   about the width of our intervals. An interval that misses the authors' point by 0.01-0.02
#   is a disagreement between methods, not between data.
#
# For contrast, Approach 3 (the Chinchilla law on every point, pooled the same way) contains the
# authors' value for only 4-5 of 15 (4 x 1000 draws, two seeds); its Student-t degrees of freedom
# fall to `nu` ~ 0.9, i.e. the Chinchilla form treats the ends of many IsoFLOP profiles as
# outliers. The `isoflop` law asks the data the authors' question directly.
