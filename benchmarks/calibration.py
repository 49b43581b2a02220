"""Calibration of extrapolations on every shipped public data set: Bayes vs Bayes+discrepancy vs
the classic baseline.

For each data set (and each member: Porian et al.'s 15 configurations, a subset of the
revisiting-scaling-laws curves), fit the runs below the compute cut-off (default: all but the
largest-compute 20%; the revisiting benchmark uses its own Training=1/0 split), predict the
held-out larger runs and score the predictive ``y`` with :mod:`bayes_scaling.evaluation.scores`:

- ``bayes``: parameter uncertainty + fitted noise (``fit(..., discrepancy=None)``),
- ``bayes+lfo``: the same fit plus the extrapolation discrepancy learned by leave-future-out
  within the training runs (:mod:`bayes_scaling.evaluation.discrepancy`),
- ``baseline``: Huber on log-loss + L-BFGS with a bootstrap (``n_boot`` refits) and resampled
  residuals (:mod:`bayes_scaling.evaluation.baseline`).

Writes ``benchmarks/results/calibration.json`` (every member) and ``calibration.md`` (the table
per data set family and the average over families). Usage::

    .venv/bin/python benchmarks/calibration.py [--quick] [--draws 300] [--n-boot 200]

``--quick`` runs a few members per family (a smoke test).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
METHODS = ("bayes", "bayes+lfo", "baseline")


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


def run_member(name, table, spec, *, draws, n_boot, seed):
    import bayes_scaling as bs
    from bayes_scaling.evaluation.backtest import _draws, backtest
    from bayes_scaling.evaluation.scores import score_draws
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.questions.noise import extrapolation_distance
    from bayes_scaling.questions.predict import predict

    runs = bs.load_runs(table.reset_index(drop=True), drop_invalid=True)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = backtest(
            runs,
            law=spec["law"],
            train_mask=spec.get("mask"),
            baseline=n_boot > 0,
            n_boot=n_boot,
            settings=FitSettings(draws=draws, tune=draws, chains=2, seed=seed, discrepancy="lfo"),
        )
    seconds = time.perf_counter() - t0
    test = result.test
    inputs = {c: test.column(c) for c in result.law.inputs}
    if test.has("C"):
        inputs["C"] = test.column("C")
    plain = dataclasses.replace(
        result.fit, info={k: v for k, v in result.fit.info.items() if k != "discrepancy"}
    )
    before = predict(plain, **inputs, seed=seed + 1)
    observed = test.column("loss")
    scores = {
        "bayes": score_draws(_draws(before), observed, ci=result.ci),
        "bayes+lfo": result.scores["bayes"],
    }
    if "baseline" in result.scores:
        scores["baseline"] = result.scores["baseline"]
    info = result.fit.info.get("discrepancy", {})
    return {
        "name": name,
        "law": spec["law"],
        "n_train": result.n_train,
        "n_test": result.n_test,
        "seconds": round(seconds, 2),
        "divergences": int(result.fit.diagnostics.divergences),
        "tau_median": info.get("tau_median"),
        "max_distance": (
            float(np.max(extrapolation_distance(inputs, info["maxima"])))
            if info.get("maxima")
            else None
        ),
        "scores": {m: _jsonable(s) for m, s in scores.items()},
    }


def _jsonable(scores):
    return {
        k: ({f"{c:g}": x for c, x in v.items()} if isinstance(v, dict) else v)
        for k, v in scores.items()
    }


#: Scores averaged as numbers; ``coverage``, ``calibration`` and ``interval_score`` are
#: averaged per interval level.
SCALARS = ("width", "mare", "log_score", "crps")
LEVELED = ("coverage", "calibration", "interval_score")


def _mean(rows, weights):
    """Weighted mean of score dicts (scalars and per-level dicts)."""
    w = np.asarray(weights, dtype=float)
    out = {}
    for key in LEVELED:
        if all(key in r for r in rows):
            out[key] = {
                k: float(np.average([r[key][k] for r in rows], weights=w)) for k in rows[0][key]
            }
    for key in SCALARS:
        out[key] = float(np.average([r[key] for r in rows], weights=w))
    return out


def aggregate(members, *, by: str = "member"):
    """Mean of each score over members: each member weighs the same (``by="member"``) or as
    many held-out runs as it has (``by="run"``)."""
    out = {}
    for method in METHODS:
        rows = [m for m in members if method in m["scores"]]
        if rows:
            weights = [m["n_test"] if by == "run" else 1.0 for m in rows]
            out[method] = _mean([m["scores"][method] for m in rows], weights)
    return out


def overall_scores(families, members):
    """The average over data sets (each data set weighs the same) and over held-out runs."""
    by_set = {}
    for method in METHODS:
        fams = [f["scores"][method] for f in families.values() if method in f["scores"]]
        if fams:
            by_set[method] = _mean(fams, [1.0] * len(fams))
    pooled = [m for rows in members.values() for m in rows]
    return by_set, aggregate(pooled, by="run")


def markdown(families, overall, meta):
    levels = list(next(iter(overall["scores"].values()))["calibration"])
    lines = [
        "# Extrapolation calibration on the shipped public data sets",
        "",
        f"Held-out larger runs scored at every level: coverage of the central predictive interval "
        f"of y at nominal {', '.join(f'{float(c):.0%}' for c in levels)} (the calibration "
        f"curve), mean relative 90% width, MARE, log score (log(loss), nats, higher is better), "
        f"CRPS and the 90% interval score (both on log(loss), lower is better). Draws: "
        f"{meta['draws']} x 2 chains; baseline bootstrap {meta['n_boot']} refits. Runtime "
        f"{meta['seconds']:.0f} s.",
        "",
        "Members: Epoch AI's 240 Chinchilla points; each of Porian et al.'s 15 configurations "
        "(chinchilla law on N, D; the largest-compute 20% held out); datablations' single-epoch "
        "runs (chinchilla law); 32 revisiting-scaling-laws curves with the benchmark's own "
        "Training=1/0 split (all 5 LM, 5 NMT and 10 BIG-bench curves, and one architecture per "
        "image-classification task, cycling through all six). `bayes` = parameter uncertainty + "
        "fitted noise; `bayes+lfo` = the same fit with the extrapolation discrepancy learned by "
        "leave-future-out within the training runs (the default); `baseline` = Huber + L-BFGS "
        "with bootstrap and resampled residuals. A data set's row is the mean over its members. "
        "Two averages: over data sets (each data set weighs the same) and over held-out runs "
        "(each run weighs the same).",
        "",
        "| data set | members | method | "
        + " | ".join(f"cov {float(c):.0%}" for c in levels)
        + " | width 90% | log score | CRPS | IS 90% |",
        "|---|---|---|" + "---|" * (len(levels) + 4),
    ]
    rows = [
        *families.items(),
        ("**average over data sets**", overall),
        (
            "**average over held-out runs**",
            {"members": overall["members"], "scores": overall["by_run"]},
        ),
    ]
    for fam, info in rows:
        for method, s in info["scores"].items():
            cal = s.get("calibration", {})
            lines.append(
                f"| {fam} | {info['members']} | {method} | "
                + " | ".join(f"{cal[c]:.2f}" if c in cal else "" for c in levels)
                + f" | {s['width']:.4f} | {s['log_score']:.2f} | {s['crps']:.4f} | "
                + f"{s.get('interval_score', {}).get('0.9', float('nan')):.3f} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a few members per family")
    parser.add_argument("--families", nargs="*", default=list(FAMILIES))
    parser.add_argument("--render", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args()
    if args.render:
        payload = json.loads((RESULTS / "calibration.json").read_text())
        text = markdown(payload["families"], payload["overall"], payload["meta"])
        (RESULTS / "calibration.md").write_text(text)
        print(text)
        return
    t0 = time.perf_counter()
    members: dict[str, list] = {}
    for fam in args.families:
        members[fam] = []
        for i, (name, table, spec) in enumerate(FAMILIES[fam]()):
            if args.quick and i >= 2:
                break
            row = run_member(
                name, table, spec, draws=args.draws, n_boot=args.n_boot, seed=args.seed
            )
            members[fam].append(row)
            s = row["scores"]
            print(
                f"{name:<60} n={row['n_train']}/{row['n_test']} "
                + " ".join(f"{m}={s[m]['coverage']['0.9']:.2f}" for m in s)
                + f" tau={row['tau_median']} {row['seconds']:.1f}s",
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
    meta = {
        "draws": args.draws,
        "n_boot": args.n_boot,
        "seed": args.seed,
        "quick": args.quick,
        "seconds": round(seconds, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "_quick" if args.quick else ""
    payload = {"meta": meta, "overall": overall, "families": families, "members": members}
    (RESULTS / f"calibration{suffix}.json").write_text(json.dumps(payload, indent=1))
    (RESULTS / f"calibration{suffix}.md").write_text(markdown(families, overall, meta))
    print(markdown(families, overall, meta))


if __name__ == "__main__":
    main()
