"""Run design benchmark: plan timing, ranking vs refits, and replays of real sweeps.

1. **Timing**: ``rank_candidates`` (and the ``plan`` CLI end to end) over 200 IsoFLOP candidates
   on a chinchilla fit of 2 chains x 1000 draws.
2. **Validation**: :func:`bayes_scaling.evaluation.design_check.check_design` on the cheap half
   of the simulated Chinchilla sweep: predicted width after one run vs the width after adding a
   simulated outcome and refitting.
3. **Replay**: start from the cheapest runs of a real sweep; each policy (ours, random,
   cheapest-first, largest-first, D-optimal on the law's Jacobian at the posterior median) picks
   the next run among the remaining runs below the largest budget, whose real loss is revealed
   and the law refitted (2 x 200 draws, no discrepancy). Target: the expected loss at the best
   (lowest-loss) run of the largest budget, held out, truth = its observed loss. Recorded against
   cumulative compute: the forecast's error, the 90% predictive width and coverage.

Run: ``python benchmarks/bench_design.py [--quick]``; writes ``results/bench_design.json`` and
``.md``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import bayes_scaling as bs
from bayes_scaling.core.intervals import equal_tailed
from bayes_scaling.evaluation.design_check import check_design
from bayes_scaling.questions.design import rank_candidates
from bayes_scaling.questions.design_tools import isoflop_grid
from bayes_scaling.questions.predict import predict

RESULTS = Path(__file__).with_name("results")
POLICIES = ("ours", "random", "cheapest", "largest", "d_optimal")


def quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(runs, discrepancy=None, **options)


# ------------------------------------------------------------------------------ timing
def timing() -> dict:
    runs = bs.datasets.chinchilla_like(seed=0)
    fit = quiet_fit(runs, seed=1, draws=1000, tune=500, chains=2)
    grid = isoflop_grid(fit, np.geomspace(1e19, 3e23, 10), 20)
    rank_candidates(fit, grid.iloc[:5], compute=1e23)  # warm imports
    times = []
    for seed in range(3):
        t = time.perf_counter()
        rank_candidates(fit, grid, compute=1e23, seed=seed)
        times.append(time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fit.nc"
        fit.save(path)
        budgets = ",".join(f"{c:.3g}" for c in np.geomspace(1e19, 3e23, 10))
        cmd = [str(Path(sys.executable).with_name("bayes-scaling")), "plan", str(path)]
        cmd += ["--grid", f"{budgets}:20", "--target-compute", "1e23", "--json"]
        cli = []
        for _ in range(2):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
    return {
        "candidates": len(grid),
        "draws": "2 chains x 1000",
        "n_fantasies": 32,
        "rank_seconds_median": float(np.median(times)),
        "plan_cli_seconds_median": float(np.median(cli)),
    }


# ------------------------------------------------------------------------------ validation
def validation() -> dict:
    runs = bs.datasets.chinchilla_like(seed=0)
    fit = quiet_fit(runs.subset(runs.column("C") <= 1.2e20), seed=1, draws=500, chains=2)
    cands = isoflop_grid(fit, [3e19, 3e20, 1e21, 3e21, 3e22], 1)
    out = check_design(fit, cands, target="loss", compute=1e23, n_outcomes=3, draws=500)
    return {"table": out.round(5).to_dict(orient="records"), **out.attrs}


# ------------------------------------------------------------------------------ replay
def d_optimal_pick(fit, train: pd.DataFrame, pool: pd.DataFrame) -> int:
    """The pool row maximising det(J'J) of the law's log-curve Jacobian at the median."""
    law = fit.law
    med = {p: float(fit.posterior[p].median()) for p in law.param_names}

    def jac(table):
        x = {c: table[c].to_numpy(float) for c in law.inputs}
        base = np.log(law.evaluate(med, x))
        cols = []
        for p in law.param_names:
            step = 1e-4 * max(abs(med[p]), 1e-6)
            cols.append((np.log(law.evaluate({**med, p: med[p] + step}, x)) - base) / step)
        return np.stack(cols, axis=1) * np.array([max(abs(med[p]), 1e-6) for p in med])

    J0, J = jac(train), jac(pool)
    info = J0.T @ J0 + 1e-8 * np.eye(J0.shape[1])
    gain = np.einsum("ij,jk,ik->i", J, np.linalg.inv(info), J)
    return int(np.argmax(np.nan_to_num(gain, nan=-np.inf)))


def replay(name, runs, *, start, steps, seeds, draws) -> dict:
    table = runs.table.copy().sort_values("C").reset_index(drop=True)
    C_max = table["C"].max()
    held = table[table["C"] >= C_max / 1.5]
    best = held.loc[held["loss"].idxmin()]
    point = {c: float(best[c]) for c in runs.table.columns if c in ("N", "D", "U")}
    truth = float(best["loss"])
    pool_all = table[table["C"] < C_max / 1.5].reset_index(drop=True)
    total = float(pool_all["C"].sum())
    law = "data_constrained" if "U" in table else "chinchilla"
    full = quiet_fit(pool_all, law=law, seed=0, draws=draws, tune=300, chains=2)

    def measure(fit):
        pred = predict(fit, points={k: [v] for k, v in point.items()}, seed=0)
        lo, med, hi = equal_tailed(pred["y"].values.reshape(-1))
        return {
            "error": abs(float(med) - truth),
            "width": float(hi - lo),
            "covered": bool(lo <= truth <= hi),
        }

    full_metrics = measure(full)
    curves = {p: [] for p in POLICIES}
    for seed in range(seeds):
        for policy in POLICIES:
            rng = np.random.default_rng(seed)
            train_idx = list(range(start))
            pool = [i for i in range(len(pool_all)) if i not in train_idx]
            fit = quiet_fit(
                pool_all.iloc[train_idx], law=law, seed=seed, draws=draws, tune=300, chains=2
            )
            curve = [{**measure(fit), "share": pool_all["C"].iloc[train_idx].sum() / total}]
            for _ in range(steps):
                cand = pool_all.iloc[pool]
                if policy == "ours":
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ds = rank_candidates(
                            fit,
                            cand[[c for c in ("N", "D", "U") if c in cand]],
                            N=point["N"],
                            D=point["D"],
                            seed=seed,
                        )
                    j = int(ds["candidate"].values[0])
                elif policy == "random":
                    j = int(rng.integers(len(pool)))
                elif policy == "cheapest":
                    j = int(np.argmin(cand["C"].to_numpy()))
                elif policy == "largest":
                    j = int(np.argmax(cand["C"].to_numpy()))
                else:
                    j = d_optimal_pick(fit, pool_all.iloc[train_idx], cand)
                train_idx.append(pool.pop(j))
                fit = quiet_fit(
                    pool_all.iloc[train_idx], law=law, seed=seed, draws=draws, tune=300, chains=2
                )
                curve.append({**measure(fit), "share": pool_all["C"].iloc[train_idx].sum() / total})
            curves[policy].append(curve)
    summary = {}
    for policy, runs_ in curves.items():
        share = np.median([[c["share"] for c in r] for r in runs_], axis=0)
        err = np.median([[c["error"] for c in r] for r in runs_], axis=0)
        width = np.median([[c["width"] for c in r] for r in runs_], axis=0)
        cover = np.mean([[c["covered"] for c in r] for r in runs_], axis=0)
        log_share = np.log10(np.maximum(share, 1e-12))
        auc = float(np.trapezoid(err, log_share) / max(log_share[-1] - log_share[0], 1e-12))
        within = np.flatnonzero(err <= 1.1 * full_metrics["error"] + 1e-12)
        summary[policy] = {
            "share": share.tolist(),
            "error": err.tolist(),
            "width": width.tolist(),
            "coverage": cover.tolist(),
            "mean_error_over_log_share": auc,
            "share_within_10pct_of_full": float(share[within[0]]) if within.size else None,
        }
    return {
        "dataset": name,
        "law": law,
        "runs": len(table),
        "pool": len(pool_all),
        "start": start,
        "steps": steps,
        "seeds": seeds,
        "target_point": point,
        "truth": truth,
        "full_sweep": full_metrics,
        "policies": summary,
    }


def markdown(result: dict) -> str:
    lines = ["# Run design benchmark (bench_design.py)", ""]
    t = result["timing"]
    lines += [
        f"Timing: rank_candidates over {t['candidates']} candidates, {t['draws']} draws, "
        f"{t['n_fantasies']} fantasies: median {t['rank_seconds_median']:.2f} s in process;"
        f" `plan --json` end to end (start-up, load, grid, rank): median "
        f"{t['plan_cli_seconds_median']:.2f} s.",
        "",
    ]
    v = result["validation"]
    lines += [
        f"Validation (check_design, {v['n_outcomes']} refits per candidate, "
        f"{v['draws']} draws per chain): Spearman {v['spearman']:.2f}, median ratio "
        f"predicted/refit width {v['median_ratio']:.3f}, width now {v['width_now']:.4f}.",
        "",
        "| N | C | expected width after | refit width after | ratio | ESS |",
        "|---|---|---|---|---|---|",
    ]
    for r in v["table"]:
        lines.append(
            f"| {r['N']:.3g} | {r['C']:.3g} | {r['expected_width_after']:.4f} | "
            f"{r['refit_width_after']:.4f} | {r['ratio']:.3f} | {r['ess']:.0f} |"
        )
    for rep in result["replays"]:
        lines += [
            "",
            f"## Replay: {rep['dataset']} ({rep['law']}; {rep['pool']} pool runs, "
            f"start {rep['start']}, {rep['steps']} picks, {rep['seeds']} seed(s); "
            f"full-sweep error {rep['full_sweep']['error']:.4f})",
            "",
            "| policy | final share of pool compute | final error | final width | "
            "mean error over log share | share within 10% of full-sweep error |",
            "|---|---|---|---|---|---|",
        ]
        for p, s in rep["policies"].items():
            w = s["share_within_10pct_of_full"]
            lines.append(
                f"| {p} | {s['share'][-1]:.3f} | {s['error'][-1]:.4f} | "
                f"{s['width'][-1]:.4f} | {s['mean_error_over_log_share']:.4f} | "
                f"{'not reached' if w is None else f'{w:.3f}'} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer picks and seeds")
    args = parser.parse_args()
    steps, seeds, draws = (4, 1, 200) if args.quick else (8, 3, 200)
    t0 = time.perf_counter()
    result = {"quick": args.quick, "timing": timing(), "validation": validation(), "replays": []}
    epoch = bs.datasets.load("epoch_chinchilla")
    result["replays"].append(
        replay("epoch_chinchilla", epoch, start=8, steps=steps, seeds=seeds, draws=draws)
    )
    porian = bs.datasets.load("porian2024_isoflops")
    groups = porian.groups[:1] if args.quick else porian.groups[:3]
    for g in groups:
        sub = porian.subset(porian.column("group") == g)
        sub = type(sub)(table=sub.table.drop(columns=["group"]), source=sub.source)
        result["replays"].append(
            replay(f"porian2024_isoflops/{g}", sub, start=8, steps=steps, seeds=seeds, draws=draws)
        )
    # datablations (law data_constrained) is not replayed: rank_candidates' target point takes
    # N and D only, and that law also needs U at the target.
    result["seconds"] = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_design.json").write_text(json.dumps(result, indent=1, default=float))
    (RESULTS / "bench_design.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
