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
# # 07 · Laws of any inputs: learning rate, batch size, vocabulary, experts, fine-tuning data
#
# A law may take any named numeric input, not only N, D, C and U. This notebook declares an
# input in a formula of its own, then gives one worked example per built-in law family beyond
# N and D, on the SLDBench tasks shipped with the package (`sldbench_2025`, from Lin et al.
# 2025, arXiv:2507.21184, MIT; each file keeps the benchmark's train/test split, the test runs
# being the largest scale):
#
# | law | data | inputs -> target |
# |---|---|---|
# | `lr_bs` | `lr_bsz.csv` (Li et al. 2025, StepLaw) | N, D, lr, bs -> smooth loss |
# | `vocab` | `vocab_train.csv` (Tao et al. 2024) | Nnv, V, d_embed, H -> Lossu (negative) |
# | `moe` | `moe.csv` (Clark et al. 2022) | N (dense), experts -> validation loss |
# | `rectified_ft` | `rectified_finetune.csv` (Lin et al. 2024) | data_size -> loss |
# | `farseer` | Epoch AI's Chinchilla points (Besiroglu et al. 2024) | N, D -> loss |
#
# **The sampling here is deliberately small** (200 draws after 200 tuning steps, 2 chains, no
# extrapolation discrepancy) so the notebook runs in seconds. At this size the diagnostics gate
# (R-hat, effective sample size, divergences) usually fails and each fit says so with a
# `DiagnosticsWarning`; those warnings are left visible on purpose. Treat the numbers below as a
# demonstration of the interface, not as results: for real use drop the `SAMPLING` options to get
# the defaults (1000 draws, 300 tuning steps, 4 chains, the leave-future-out discrepancy).

# %%
import tomllib

import numpy as np
import pandas as pd

from bayes_scaling.api import fit
from bayes_scaling.core.intervals import equal_tailed
from bayes_scaling.inputs import datasets, shipped
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import load_runs
from bayes_scaling.presentation.plots import plot_response

SAMPLING = dict(draws=200, tune=200, chains=2, discrepancy=None)
CI = 0.9


def sld(file):
    """One SLDBench table shipped with the package."""
    return pd.read_csv(shipped.path("sldbench_2025", file))


def intervals(forecast, variable="mu"):
    """Median and central CI interval of one variable of a prediction, one row per point."""
    table = forecast.scaling.summary(ci=CI)
    return table[table.variable == variable].reset_index(drop=True)


# %% [markdown]
# ## 1 · Declaring an input
# In `Law.from_formula`, N, D, C and U are inputs by convention; any other input must be
# declared with `inputs=[...]`, and every remaining name is a parameter. Here `lr` is declared
# and `lr_opt` (the best learning rate) is a parameter. Parameters without a prior get a
# unit-free default from their role in the formula: `describe()` prints them (`lr_opt` is
# sampled as e-folds away from the runs' geometric-mean learning rate).

# %%
lr_law = Law.from_formula("E + A*N**(-alpha) + c*log(lr/lr_opt)**2", inputs=["lr"])
print(lr_law.describe())

# %% [markdown]
# The same law as a TOML file declares the input in an `[input.lr]` table. A bare `"lr"` in
# `inputs=` means a log-scaled, positive setting that is not a scale axis (a learning rate
# outside its training range is not an extrapolation in scale); the table below states the same
# and adds a meaning, shown in tables and plots. The parameter tables (not repeated here) take
# the priors printed above. The cell parses the text and checks that it declares the same input.

# %%
TOML_TEXT = """\
name = "lr_sweep"
formula = "E + A*N**(-alpha) + c*log(lr/lr_opt)**2"
inputs = ["N", "lr"]

[input.lr]
meaning = "peak learning rate"
scale_axis = false   # a setting, not a scale
scaling = "log"      # reference value: the runs' geometric mean
sign = "positive"
aliases = ["learning_rate"]

# [parameters.E], [parameters.alpha], ... one table per parameter, as in models/lr_bs.toml
"""
print(TOML_TEXT)

spec = {**lr_law.to_spec(), **tomllib.loads(TOML_TEXT)}
toml_law = Law.from_spec(spec)
declared, from_toml = lr_law.input_spec("lr"), toml_law.input_spec("lr")
for key in ("scale_axis", "scaling", "sign"):
    assert getattr(declared, key) == getattr(from_toml, key)
print(f"inputs {toml_law.inputs}; lr is read from a column named lr or {from_toml.aliases}")

# %% [markdown]
# ## 2 · Learning rate and batch size (`lr_bs`)
# StepLaw's dense sweep: 1,730 training runs over N, D, learning rate and batch size (in
# sequences of 2048 tokens); the 117 test runs are a learning-rate x batch-size grid at the
# largest N and D. A fixed-seed subsample of 250 training runs keeps the fit fast. The law's
# `[target]` names the column `smooth loss`, so `load_runs(..., schema=law.schema)` reads it as
# the target by name (the raw `loss` column is left alone), as the check below confirms.

# %%
lr_bsz = sld("lr_bsz.csv")
lr_train, lr_test = lr_bsz[lr_bsz.split == "train"], lr_bsz[lr_bsz.split == "test"]
lr_sample = lr_train.sample(250, random_state=0)
print(f"{len(lr_train)} training runs (D up to {lr_train.D.max():.3g}), {len(lr_test)} test runs")

lr_bs = get_law("lr_bs")
lr_runs = load_runs(lr_sample, schema=lr_bs.schema)
assert np.allclose(np.sort(lr_runs.column("loss")), np.sort(lr_sample["smooth loss"]))
lr_runs.table.head()

# %%
lr_fit = fit(lr_runs, law=lr_bs, seed=1, **SAMPLING)
lr_fit.summary(ci=CI)[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %% [markdown]
# `fit.optimize` finds the learning rate and batch size that minimise the expected loss at a
# fixed (N, D), here the test split's (its only one), searching lr in [1e-4, 1e-2] and bs in
# [32, 4096] sequences. Each posterior draw has its own optimum (`*_argmin`); their spread is
# the uncertainty about where the optimum lies. The test D is 100 times the largest training D,
# so the optimum there extrapolates StepLaw's power laws in D. If more than 1% of the draws put
# an optimum on a bound, `optimize` warns that the bounds cut it off.

# %%
test_nd = lr_test[["N", "D"]].drop_duplicates()
assert len(test_nd) == 1
at = {"N": float(test_nd.N.iloc[0]), "D": float(test_nd.D.iloc[0])}
print(f"test D / largest training D = {at['D'] / lr_train.D.max():.0f}")
best = lr_fit.optimize(over={"lr": (1e-4, 1e-2), "bs": (32, 4096)}, at=at)
table = best.scaling.summary(ci=CI)
print(f"at N = {at['N']:.3g}, D = {at['D']:.3g}; {CI:.0%} intervals of each draw's optimum:")
print(table[table.variable.str.endswith("_argmin")].to_string(index=False))
print("share of draws with the optimum on a bound:", best.attrs["at_bound"])
print(f"decision (min mean expected loss): lr = {float(best.lr_decision):.3g}, ", end="")
print(f"bs = {float(best.bs_decision):.0f}")

# %% [markdown]
# The held-out test grid was measured at exactly this (N, D): its best runs are the measured
# answer to the same question.

# %%
measured = lr_test.nsmallest(1, "smooth loss").iloc[0]
for name in ("lr", "bs"):
    row = table[table.variable == f"{name}_argmin"].iloc[0]
    where = "inside" if row.lower <= measured[name] <= row.upper else "outside"
    print(f"best held-out {name} = {measured[name]:.4g}: {where} the interval of {name}_argmin")
post = lr_fit.posterior
bs_opt = np.exp(post["b0"] + post["b_D"] * np.log(at["D"])).values.ravel()
lo, med, hi = equal_tailed(bs_opt, ci=0.9)  # the package's one interval rule
print(f"the law's optimal bs at this D, exp(b0) D^b_D: {med:.0f} [{lo:.0f}, {hi:.0f}]")
lr_test.nsmallest(5, "smooth loss")[["lr", "bs", "smooth loss"]]

# %% [markdown]
# When we ran this (seed 1) the two inputs parted ways, and the lines above show whether they do
# on your machine: the learning-rate optimum landed among the held-out grid's best learning
# rates, while the batch-size optimum sat on the upper bound (hence the warning) although the
# held-out grid's best runs use a moderate batch size. The law's optimal batch size is a power
# law in D fitted on D up to 1e11; pushed a hundredfold further it can land above the searched
# range (the `exp(b0) D^b_D` line), and then widening the bound moves the optimum further from
# the measured one. Read an optimum
# on a bound as "the law puts it beyond the searched range", not as an answer, and check a
# hyperparameter optimum at a new scale with a short sweep there.

# %% [markdown]
# `plot_response` draws the loss along the learning rate at the training sweep with the most
# runs (the other inputs fixed there), with the law's curve and a new run's band.

# %%
plot_response(lr_fit, x="lr")

# %% [markdown]
# ## 3 · Vocabulary (`vocab`)
# Tao et al.'s runs over non-vocabulary parameters, vocabulary size, embedding width and
# training characters. The target `Lossu` is a unigram-normalised loss: it is negative, so the
# law declares it `support = "real"` and it is fitted on its own scale (in units of its spread
# across the runs), not on the log scale a positive loss gets. The law's input aliases read
# `Non_vocab_parameters`, `vocab_size`, `embed_dim` and `num_characters` by name. Again a
# fixed-seed subsample of 250 of the 1,080 runs.

# %%
vocab_table = sld("vocab_train.csv")
vocab_sizes = sorted(vocab_table.vocab_size.astype(int).unique().tolist())
print(f"{len(vocab_table)} runs, vocabulary sizes {vocab_sizes}")
vocab = get_law("vocab")
vocab_runs = load_runs(vocab_table.sample(250, random_state=0), schema=vocab.schema)
print(vocab.target)
vocab_runs.table.head()

# %%
vocab_fit = fit(vocab_runs, law=vocab, seed=2, **SAMPLING)
vocab_fit.summary(ci=CI)[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %% [markdown]
# `fit.predict(points=...)` takes any of the law's inputs by name. The benchmark's test
# vocabulary size (96,256) is held back from the shipped table; predict it for the largest
# model of the table (with that model's embedding width) at its largest training set.

# %%
largest = vocab_table[vocab_table.Non_vocab_parameters == vocab_table.Non_vocab_parameters.max()]
point = pd.DataFrame(
    {
        "Nnv": [largest.Non_vocab_parameters.iloc[0]],
        "V": [96256.0],
        "d_embed": [largest.embed_dim.iloc[0]],
        "H": [largest.num_characters.max()],
    }
)
vocab_forecast = vocab_fit.predict(points=point)
vocab_forecast.scaling.summary(ci=CI)

# %% [markdown]
# The target stays negative throughout: `mu` and `y` are Lossu values on its own scale. In the
# summary above the vocabulary exponent `a2` has by far the widest interval of the three
# exponents: in this subsample the vocabulary enters only through `Nv = V d_embed`, and the
# data say little about it next to the model-size and data terms. The prediction is at a
# vocabulary size outside the shipped table, with no held-out value to check it against.

# %% [markdown]
# ## 4 · Mixture of experts (`moe`)
# Clark et al.'s routed models at their final step: 193 training runs; the 28 test runs are the
# largest dense size. The law's N is the dense (per-token) parameter count, so the column is
# mapped with `columns={"N": "dense_parameter_count"}`; `num_experts` is an alias of the input
# `experts` and `loss_validation` is the law's target name. The router type (S-Base, Hash, RL-R,
# dense) is not an input of this law: runs of different routers with the same N and expert
# count share one curve, and their spread goes into the noise.

# %%
moe_table = sld("moe.csv")
moe_train, moe_test = moe_table[moe_table.split == "train"], moe_table[moe_table.split == "test"]
print(f"{len(moe_train)} training runs, {len(moe_test)} test runs")
moe = get_law("moe")
moe_runs = load_runs(moe_train, columns={"N": "dense_parameter_count"}, schema=moe.schema)
moe_fit = fit(moe_runs, law=moe, seed=3, **SAMPLING)
moe_fit.summary(ci=CI)[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %%
moe_points = pd.DataFrame(
    {"N": moe_test.dense_parameter_count.to_numpy(), "experts": moe_test.num_experts.to_numpy()}
)
moe_forecast = moe_fit.predict(points=moe_points)
mu, y = intervals(moe_forecast, "mu"), intervals(moe_forecast, "y")
moe_compare = pd.DataFrame(
    {
        "experts": moe_test.num_experts.to_numpy(),
        "router": moe_test.router_type.to_numpy(),
        "held-out loss": moe_test.loss_validation.to_numpy(),
        "median (law)": mu["median"],
        "y lower": y["lower"],
        "y upper": y["upper"],
    }
)
moe_compare["inside y interval"] = moe_compare["held-out loss"].between(
    moe_compare["y lower"], moe_compare["y upper"]
)
moe_compare = moe_compare.sort_values(["experts", "router"]).reset_index(drop=True)
error = moe_compare["held-out loss"] - moe_compare["median (law)"]
print(f"dense parameters of the test runs: {moe_test.dense_parameter_count.unique()}")
print(f"mean absolute error of the median: {error.abs().mean():.4f}")
print(
    f"held-out runs inside the {CI:.0%} y interval: "
    f"{int(moe_compare['inside y interval'].sum())} of {len(moe_compare)}"
)
print("mean error (held-out - median) by router:")
print(error.groupby(moe_compare["router"]).mean().round(4).to_string())
print(f"held-out losses above the median: {int((error > 0).sum())} of {len(error)}")
moe_compare.round(4)

# %% [markdown]
# Read the printout above: in this run the law's median sits below the held-out loss of every
# test run, by least for S-Base (the router of the law's published constants) and most for
# Hash routing, yet nearly every held-out loss stays inside the 90% interval of a new run. The
# interval is wide because the noise has absorbed the spread between routers; a law with the
# router as an input (or a fit per router) would separate them.

# %% [markdown]
# ## 5 · Rectified fine-tuning (`rectified_ft`)
# One curve of fine-tuning loss against the number of fine-tuning examples, for one
# (model, dataset) pair: the first one in the file. Its training points go up to 409,600
# examples; the test point is 819,200. The law's only input `data_size` is a scale axis, and the
# table needs no N, D or C.

# %%
ft_table = sld("rectified_finetune.csv")
model, dataset = ft_table.model.iloc[0], ft_table.dataset.iloc[0]
curve = ft_table[(ft_table.model == model) & (ft_table.dataset == dataset)]
ft_train, ft_test = curve[curve.split == "train"], curve[curve.split == "test"]
rectified = get_law("rectified_ft")
ft_runs = load_runs(ft_train, schema=rectified.schema)
print(f"{model} fine-tuned on {dataset}: {ft_runs.n_runs} training points")
print(f"training data sizes up to {ft_train.data_size.max():.0f}; test: {list(ft_test.data_size)}")
ft_fit = fit(ft_runs, law=rectified, seed=4, **SAMPLING)
ft_fit.summary(ci=CI)[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %%
ft_forecast = ft_fit.predict(points={"data_size": ft_test.data_size.to_numpy()})
ft_y = intervals(ft_forecast, "y")
for i, (size, observed) in enumerate(zip(ft_test.data_size, ft_test.loss, strict=True)):
    lo, med, hi = ft_y.loc[i, ["lower", "median", "upper"]]
    inside = "inside" if lo <= observed <= hi else "outside"
    print(
        f"data_size {size:.0f}: predicted loss {med:.4f} [{lo:.4f}, {hi:.4f}] ({CI:.0%}), "
        f"held-out {observed:.4f} ({inside} the interval)"
    )

# %% [markdown]
# One curve of twelve points is enough for this four-parameter law: the printout says whether
# the held-out loss at twice the largest training size falls inside the predicted interval. The
# other curves of the file are fitted the same way, one fit per (model, dataset).

# %% [markdown]
# ## 6 · Farseer (`farseer`)
# Farseer's surface in N and D lets the data term's coefficient and exponent vary with N. The
# paper writes each as `exp(a N^g + b)`; `models/farseer.toml` writes the same surface around
# N0 = 1e9 in Box-Cox form, `log beta(N) = c1 + s1 (x^g1 - 1) / g1` with `x = N / N0`, so that
# `c1` is the log exponent at N0 and `s1` its slope in log N there (the paper's form has two
# near-equal modes, (a, g) and (-a, -g), when g is small). It has nine parameters and no
# published constants, so here it is fitted to real points: the 245 Chinchilla runs
# reconstructed by Epoch AI. With nine parameters, 200 draws are too few: expect the diagnostics
# warning, and read the summary's R-hat and ESS columns before any number.

# %%
chinchilla = datasets.load("epoch_chinchilla")
print(f"{chinchilla.n_runs} runs")
farseer_fit = fit(chinchilla, law=get_law("farseer"), seed=5, **SAMPLING)
farseer_fit.summary(ci=CI)[["median", "lower", "upper", "r_hat", "ess_bulk"]]

# %%
# The fitted data exponent at a few model sizes (median and 90% interval over the draws)
post = farseer_fit.posterior
for n in (1e8, 1e9, 1e10):
    boxcox = ((n / 1e9) ** post["g1"] - 1) / post["g1"]
    exponent = np.exp(post["c1"] + post["s1"] * boxcox).values.ravel()
    lo, med, hi = equal_tailed(exponent, ci=0.9)
    print(f"N = {n:.0e}: data exponent {med:.3f} [{lo:.3f}, {hi:.3f}]")

# %% [markdown]
# At this size the R-hat column shows chains that have not yet agreed on the data term (`c1`,
# `c2`: the exponent and the coefficient trade off), so the intervals above are not posterior
# intervals yet. With the default sampling (`fit(chinchilla, law=get_law("farseer"))`, about
# half a minute here) the chains agree and the gate passes; the data exponent then falls from
# about 0.55 at N = 1e8 to about 0.27 at N = 1e10 on these runs.

# %% [markdown]
# ## Not built yet: data-mixture laws
# The shipped `domain_mixture.json` (Ye et al. 2024, "Data Mixing Laws") maps five domain
# proportions to five per-domain losses at once. Every law in the library predicts one target
# per run: a runs table has one target column, the likelihood is a one-dimensional noise model
# per run, and `predict`, `optimize`, the backtests and the reports all work with one target.
# A mixture law needs a vector target (one loss per domain, with noise correlated across
# domains, since one training run gives all five), inputs constrained to the simplex (the
# proportions sum to one, so they are not five free inputs) and parameters per domain. Fitting
# each domain's loss as a separate single-output law would run, but it would treat the five
# losses of one run as independent and could not answer the question such a law is for: which
# mixture minimises a weighted combination of the domains' losses.
