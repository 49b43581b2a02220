"""Calibration of extrapolations on every shipped public data set: the Bayesian fit and its
predictive variants, a split-conformal baseline and the classic point fit with bootstrap.

For each data set (and each member: Porian et al.'s 15 configurations, a subset of the
revisiting-scaling-laws curves), fit the runs below the compute cut-off (default: all but the
largest-compute 20%; the revisiting benchmark uses its own Training=1/0 split), predict the
held-out larger runs and score them at every level with :mod:`bayes_scaling.evaluation.scores`.
Methods (``--methods``):

- ``bayes``: parameter uncertainty + fitted noise (no discrepancy),
- ``bayes+lfo``: the default fit, i.e. the same plus the extrapolation discrepancy learned by
  leave-future-out within the training runs (:mod:`bayes_scaling.evaluation.discrepancy`),
- ``lfo<cuts>[+normal|+t<K>][+rms][+med][+nodrift]``: variants of it. ``<cuts>``: inner
  cut-offs (``1`` the default 80% of the sort column, ``3`` 60/70/80%, ``3near`` 80/85/90%); a
  new run's noise ``+normal`` Normal(0, sigma), ``+t<K>`` Student-t with nu floored at K,
  instead of the fitted Student-t (tau learned with the same noise); ``+rms`` one tau for all
  draws (its posterior's root mean square); ``+med`` tau learned about the inner fit's posterior
  median (noise only); ``+nodrift`` without the discrepancy's drift (the default before it),
- ``drift``: the exploration that led to the library's drift, computed here on the fit without
  a discrepancy (a kernel density of the inner predictive rather than the library's Gaussian
  summary): the discrepancy's mean grows as ``b * d`` beside its sd ``tau * d``, with
  ``(tau, b)`` learned jointly by the same leave-future-out (``b ~ Normal(0, 0.05)`` per
  e-fold); ``drift+tau``: b from that joint posterior, tau from the default's (drift
  ignored); ``drift:<sd>``, ``drift+tau:<sd>``: another prior sd of b,
- ``conformal`` / ``conformal-unscaled``: split-conformal intervals from the leave-future-out
  residuals at cut-offs 60/70/80% (:mod:`bayes_scaling.evaluation.conformal`), scores scaled by
  ``1 + d`` (d in e-folds) or not; log score and CRPS of the empirical residual distribution,
- ``baseline``: Huber + L-BFGS with ``n_boot`` bootstrap refits and resampled residuals.

Variants share the fit and the inner fits of a member, so their differences are paired. Writes
``benchmarks/results/calibration.json`` (every member) and ``calibration.md``. Usage::

    .venv/bin/python benchmarks/calibration.py [--quick] [--draws 300] [--n-boot 100]
        [--methods bayes bayes+lfo lfo3 conformal] [--families revisiting] [--stride 3]

``--quick`` runs a few members per family (a smoke test), ``--stride k`` every k-th member.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from calibration_report import aggregate, markdown, overall_scores

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: Inner leave-future-out cut-offs (share of the training runs held out) of the variants.
CUTS = {"1": (0.2,), "3": (0.2, 0.3, 0.4), "3near": (0.1, 0.15, 0.2)}
CONFORMAL = {"conformal": 1.0, "conformal-unscaled": None}  # distance scale d_ref
METHODS = ("bayes", "bayes+lfo", "lfo1+nodrift", "lfo3", "lfo3near", "lfo1+normal", "lfo1+t5")
METHODS += ("lfo1+rms", "lfo1+med", "drift", "conformal", "conformal-unscaled", "baseline")
#: Grid and prior sd of the drift ``b`` (log(loss) per e-fold) of the ``drift`` method.
DRIFT_GRID = np.linspace(-0.3, 0.3, 61)
DRIFT_PRIOR = 0.05


def shipped(name: str, file: str) -> Path:
    """A public data file shipped in ``bayes_scaling/data`` (``inputs.shipped.path``)."""
    from bayes_scaling.inputs.shipped import path

    return path(name, file)


def epoch():
    """Epoch AI's 245 Chinchilla points minus the 5 highest-loss ones (as in their refit)."""
    df = pd.read_csv(shipped("epoch_chinchilla", "svg_extracted_data.csv"))
    df = df.sort_values("loss").iloc[:-5]
    yield "epoch_chinchilla", df[["Model Size", "Training FLOP", "loss"]], {"law": "chinchilla"}


def porian():
    """Porian et al. 2024: one member per configuration (15), chinchilla law on (N, D)."""
    df = pd.read_csv(shipped("porian2024_isoflops", "isoflop_points.csv"))
    keys = ["dataset", "hparams", "warmup", "decay", "param_count", "loss_split"]
    for values, group in df.groupby(keys, sort=True):
        name = "porian/" + "-".join(values)
        table = group.rename(columns={"n_params": "N", "tokens": "D", "flops": "C"})
        yield name, table[["N", "D", "C", "loss"]], {"law": "chinchilla"}


def datablations():
    """Muennighoff et al. 2023: chinchilla on the single-epoch runs (U >= D)."""
    df = pd.read_csv(shipped("datablations", "final_val_losses.csv"))
    single = df[df["epochs"] <= 1.0]
    table = single.rename(columns={"n_params": "N", "tokens": "D", "val_loss": "loss"})
    yield "datablations/single_epoch", table[["N", "D", "loss"]], {"law": "chinchilla"}


#: Representative subset of the revisiting-scaling-laws curves: every LM, NMT and BIG-bench curve
#: and, for each of the 12 image-classification tasks, one architecture (cycling through all six).
IC_ARCHS = ("BiT/101/3", "BiT/50/1", "MiX/B/16", "MiX/L/16", "ViT/B/16", "ViT/S/16")


def revisiting():
    """Alabdulmohsin et al. 2022 learning curves, power_law:D with the benchmark's split."""
    lang = pd.read_csv(shipped("revisiting_scaling_laws", "benchmark.lang.csv")).drop_duplicates()
    vision = pd.read_csv(shipped("revisiting_scaling_laws", "benchmark.vision.csv"))
    vision = vision.drop_duplicates()
    tasks = sorted(vision["Task"].unique())
    picks = {(t, IC_ARCHS[i % len(IC_ARCHS)]) for i, t in enumerate(tasks)}
    vision = vision[[(t, m) in picks for t, m in zip(vision["Task"], vision["Model"], strict=True)]]
    for (domain, task, model), g in pd.concat([lang, vision]).groupby(
        ["Domain", "Task", "Model"], sort=True
    ):
        g = g.sort_values("Seen Examples")
        table = g.rename(columns={"Seen Examples": "D", "Loss": "loss"})[["D", "loss"]]
        mask = g["Training"].to_numpy() == 1
        yield f"revisiting/{domain}/{task}/{model}", table, {"law": "power_law:D", "mask": mask}


FAMILIES = {
    "epoch_chinchilla": epoch,
    "porian2024": porian,
    "datablations": datablations,
    "revisiting": revisiting,
}


def variant(method):
    """``(cut-offs, noise, tau, inner, drift)`` of a variant named
    ``lfo<cuts>[+noise][+rms][+med][+nodrift]``."""
    if method == "bayes+lfo":
        return CUTS["1"], "fitted", "mix", "full", True
    cuts, *opts = method.removeprefix("lfo").split("+")
    noise = next((o for o in opts if o == "normal" or o.startswith("t")), "fitted")
    unknown = set(opts) - {noise, "rms", "med", "nodrift"}
    if cuts not in CUTS or unknown or not method.startswith("lfo"):
        raise SystemExit(f"unknown method {method!r}; see the module docstring")
    tau = "rms" if "rms" in opts else "mix"
    return CUTS[cuts], noise, tau, "med" if "med" in opts else "full", "nodrift" not in opts


def y_draws(fit, inputs, seed, noise="fitted", tau="mix", about="full", drift=True):
    """Predictive draws (S, P) of a new run's loss.

    ``noise``: "fitted" (the likelihood's own, as ``predict`` draws it), "normal" or "t<K>";
    ``tau``: "mix" (each draw its own tau, as ``predict``) or "rms" (one tau for all draws);
    ``about``: "full" (around each draw's ``mu``) or "med" (around the posterior median of
    ``mu``: noise only, the inner predictive of the ``+med`` variants); ``drift``: False leaves
    the discrepancy's drift out (``+nodrift``).
    """
    from bayes_scaling.questions.noise import VARIABLE, drift_per_draw, extrapolation_distance
    from bayes_scaling.questions.predict import predict

    pred = predict(fit, points=inputs, seed=seed)
    if (noise, tau, about, drift) == ("fitted", "mix", "full", True):
        return _flat(pred["y"])
    mu = pred["mu"].transpose("chain", "draw", "point").values
    rng = np.random.default_rng(seed)
    post = fit.posterior
    sigma = post["sigma"].values[..., None]
    if noise == "fitted":
        eps = fit.noise.draw(rng, fit.noise_draws(), mu.shape)
    elif noise == "normal" or "nu" not in post:
        eps = sigma * rng.standard_normal(mu.shape)
    else:  # "t<K>": Student-t with nu floored at K
        nu = np.maximum(post["nu"].values[..., None], float(noise[1:]))
        eps = sigma * rng.standard_t(np.broadcast_to(nu, mu.shape))
    info = fit.info.get("discrepancy")
    if info and VARIABLE in post:
        coords = {c: pred[c].values for c in ("N", "D", "C", "U") if c in pred.coords}
        d = extrapolation_distance(coords, info["maxima"])
        t = post[VARIABLE].values[..., None]
        t = np.sqrt(np.mean(t**2)) if tau == "rms" else t
        b = drift_per_draw(post) if drift else 0.0
        eps = eps + (b + t * rng.standard_normal(mu.shape)) * d[None, None, :]
    if about == "med":
        mu = np.broadcast_to(np.median(mu.reshape(-1, mu.shape[-1]), axis=0), mu.shape)
    with np.errstate(over="ignore"):
        y = mu * np.exp(eps)
    return y.reshape(-1, y.shape[-1])


def drift_draws(main, refit, inputs, seed, *, own_tau=False, prior=DRIFT_PRIOR):
    """Predictive draws (S, P) of the ``drift`` method: (tau, b) on a grid, learned from the
    default inner leave-future-out split, each posterior draw with its own pair (``own_tau``:
    b from its joint marginal, tau independently from the default tau-only posterior)."""
    from bayes_scaling.evaluation import discrepancy as disc
    from bayes_scaling.evaluation.discrepancy_grid import TAU_GRID, grid_posterior, tau_loglik
    from bayes_scaling.questions.noise import extrapolation_distance, training_maxima

    law, scale = main.law, main.target_scale
    loglik = np.zeros((DRIFT_GRID.size, TAU_GRID.size))
    splits = [s for s in disc.inner_splits(main, refit=refit) if not isinstance(s, str)]
    if not splits:
        return None
    for k, split in enumerate(splits):
        test = split.test
        x = {c: test.column(c) for c in law.inputs}
        log_y = scale.forward(disc.predictive_draws(split.fit, x, main.seed + 7 + k))
        log_y = np.clip(np.nan_to_num(log_y, nan=0.0, posinf=700.0, neginf=-700.0), -700, 700)
        maxima = training_maxima(law, split.train)
        d = extrapolation_distance({c: test.column(c) for c in maxima if test.has(c)}, maxima)
        obs = scale.forward(test.column("loss"))
        for j, b in enumerate(DRIFT_GRID):
            loglik[j] += tau_loglik(log_y, obs - b * d, d)
    grid, tau_prior = grid_posterior(np.zeros(TAU_GRID.size))  # tau's prior mass on its grid
    logp = loglik / len(splits) + np.log(tau_prior)[None, :]
    logp -= 0.5 * (DRIFT_GRID[:, None] / prior) ** 2
    logp = np.where(np.isnan(logp), -np.inf, logp)
    p = np.exp(logp - logp.max()).ravel()
    rng = np.random.default_rng(seed)
    pred = y_draws(main, inputs, seed)  # no discrepancy: main has none yet
    pick = rng.choice(p.size, size=pred.shape[0], p=p / p.sum())
    b, tau = DRIFT_GRID[pick // grid.size], grid[pick % grid.size]
    if own_tau:  # the default's tau: the b = 0 row of the log-likelihood
        _, p_tau = grid_posterior(loglik[DRIFT_GRID.size // 2] / len(splits))
        tau = rng.choice(grid, size=pred.shape[0], p=p_tau)
    d = extrapolation_distance(
        {c: v for c, v in inputs.items() if c in training_maxima(law, main.runs)},
        training_maxima(law, main.runs),
    )
    shift = b[:, None] * d[None, :] + tau[:, None] * d[None, :] * rng.standard_normal(pred.shape)
    return scale.inverse(scale.forward(pred) + shift)


def _flat(da):
    y = da.transpose("chain", "draw", "point").values
    return y.reshape(-1, y.shape[-1])


def cached(refit):
    """``refit`` remembering its fits by the runs' table, so variants share inner fits."""
    fits = {}

    def inner(runs):
        key = (runs.n_runs, int(pd.util.hash_pandas_object(runs.table, index=False).sum()))
        if key not in fits:
            fits[key] = refit(runs)
        return fits[key]

    return inner


def run_member(name, table, spec, *, draws, n_boot, seed, methods=METHODS):
    import bayes_scaling as bs
    from bayes_scaling.evaluation import conformal as cf
    from bayes_scaling.evaluation import discrepancy as disc
    from bayes_scaling.evaluation.backtest import split_runs
    from bayes_scaling.evaluation.baseline import fit_baseline
    from bayes_scaling.evaluation.scores import score_draws
    from bayes_scaling.inference.sampling import sample
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.questions.noise import extrapolation_distance, training_maxima

    runs = bs.load_runs(table.reset_index(drop=True), drop_invalid=True)
    law = bs.get_law(spec["law"])
    t0 = time.perf_counter()
    mask, _ = split_runs(runs, law=law, train_mask=spec.get("mask"))
    train, test = runs.subset(mask), runs.subset(~mask)
    settings = FitSettings(draws=draws, tune=draws, chains=2, seed=seed, discrepancy="lfo")
    inputs = {c: test.column(c) for c in law.inputs}
    if test.has("C"):
        inputs["C"] = test.column("C")
    observed = test.column("loss")
    scores, taus, seconds = {}, {}, {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main = sample(train, law=law, settings=settings)  # the fit() of a backtest, in steps
        refit = cached(disc.inner_refit(main.settings, law=law))
        seconds["fit"] = time.perf_counter() - t0
        for method in methods:
            t1 = time.perf_counter()
            if method == "bayes":
                scores[method] = score_draws(y_draws(main, inputs, seed + 1), observed)
            elif method in CONFORMAL:
                conf = cf.calibrate_conformal(main, refit=refit, d_ref=CONFORMAL[method])
                centre, d = cf.median_curve(main, inputs), conf.distance_of(inputs)
                scores[method] = cf.score_conformal(conf, centre, d, observed)
            elif method.startswith("drift"):
                name, _, prior = method.partition(":")
                own, prior = name == "drift+tau", float(prior or DRIFT_PRIOR)
                y = drift_draws(main, refit, inputs, seed + 1, own_tau=own, prior=prior)
                if y is not None:
                    scores[method] = score_draws(y, observed)
            elif method == "baseline":
                if n_boot > 0:
                    base = fit_baseline(train, law=law, n_boot=n_boot, seed=seed)
                    y = _flat(base.predict(**inputs, seed=seed + 1)["y"])
                    scores[method] = score_draws(y, observed)
            else:
                cuts, noise, tau, about, drift = variant(method)
                record = disc.add_discrepancy(
                    main,
                    refit=refit,
                    holdout_fractions=cuts,
                    predictive=lambda f, x, s, n=noise, a=about: y_draws(f, x, s, n, about=a),
                )
                taus[method] = record.info["discrepancy"].get("tau_median")
                y = y_draws(record, inputs, seed + 1, noise, tau, drift=drift)
                scores[method] = score_draws(y, observed)
            seconds[method] = round(time.perf_counter() - t1, 2)
    return {
        "name": name,
        "law": spec["law"],
        "n_train": train.n_runs,
        "n_test": test.n_runs,
        "seconds": round(time.perf_counter() - t0, 2),
        "seconds_by_step": seconds,
        "divergences": int(main.diagnostics.divergences),
        "max_distance": float(np.max(extrapolation_distance(inputs, training_maxima(law, train)))),
        "tau_median": taus,
        "scores": {m: _jsonable(s) for m, s in scores.items()},
    }


def _jsonable(scores):
    return {
        k: ({f"{c:g}": x for c, x in v.items()} if isinstance(v, dict) else v)
        for k, v in scores.items()
    }


#: Scores averaged as numbers; ``coverage``, ``calibration`` and ``interval_score`` are
#: averaged per interval level. An infinite width or interval score (a conformal interval with
#: too few calibration scores) is left out of its mean; ``infinite`` keeps the weight share of
#: the members that had one, per level.
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--n-boot", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a few members per family")
    parser.add_argument("--stride", type=int, default=1, help="every k-th member of a family")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--out", type=Path, default=None, help="results path without suffix")
    parser.add_argument("--render", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    out = args.out or RESULTS / ("calibration_quick" if args.quick else "calibration")
    if args.render:
        payload = json.loads(out.with_suffix(".json").read_text())
        text = markdown(
            payload["families"], payload["overall"], payload["meta"], payload["members"]
        )
        out.with_suffix(".md").write_text(text)
        print(text)
        return
    for method in args.methods:
        if method not in ("bayes", "baseline", *CONFORMAL) and not method.startswith("drift"):
            variant(method)  # fail early on a typo
    t0 = time.perf_counter()
    members: dict[str, list] = {}
    for fam in args.families:
        members[fam] = []
        for i, (name, table, spec) in enumerate(FAMILIES[fam]()):
            if i % args.stride or (args.quick and i >= 2 * args.stride):
                continue
            options = {k: getattr(args, k) for k in ("draws", "n_boot", "seed", "methods")}
            row = run_member(name, table, spec, **options)
            members[fam].append(row)
            s = row["scores"]
            print(
                f"{name:<50} n={row['n_train']}/{row['n_test']} cov90 "
                + " ".join(f"{m}={s[m]['coverage']['0.9']:.2f}" for m in s)
                + f" {row['seconds']:.1f}s",
                flush=True,
            )
    seconds = time.perf_counter() - t0
    families = {
        fam: {"members": len(rows), "scores": aggregate(rows)} for fam, rows in members.items()
    }
    by_set, by_run = overall_scores(families, members)
    overall = {
        "members": sum(f["members"] for f in families.values()),
        "scores": by_set,
        "by_run": by_run,
    }
    meta = {k: getattr(args, k) for k in ("draws", "n_boot", "seed", "quick", "stride")}
    meta.update(methods=args.methods, seconds=round(seconds, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"meta": meta, "overall": overall, "families": families, "members": members}
    # infinite numbers (conformal intervals with too few residuals) are written as null
    finite = json.loads(json.dumps(payload), parse_constant=lambda _: None)
    out.with_suffix(".json").write_text(json.dumps(finite, indent=1))
    text = markdown(families, overall, meta, members)
    out.with_suffix(".md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
