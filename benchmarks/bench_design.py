"""Run design benchmark: plan timing, ranking vs refits, and replays of real sweeps.

1. **Timing**: ``rank_candidates`` (and the ``plan`` CLI end to end) over 200 IsoFLOP candidates
   on a chinchilla fit of 2 chains x 1000 draws.
2. **Validation**: :func:`bayes_scaling.evaluation.design_check.check_design` on the cheap half
   of the simulated Chinchilla sweep: predicted width after one run vs the width after adding a
   simulated outcome and refitting.
3. **Replay, budget-matched**: start from the cheapest runs of a real sweep; each policy keeps
   picking runs (among the runs below the largest budget, whose real losses are revealed)
   until its cumulative compute reaches each checkpoint share of the pool's compute (1, 2, 5,
   10, 25, 50%; a pick may overshoot once and is recorded at its actual share), refitting
   (2 chains, no discrepancy) at each checkpoint. Target: the expected loss at the best
   (lowest-loss) run of the largest budget, held out, truth = its observed loss. Recorded per
   checkpoint: the forecast's error, the 90% predictive width and coverage; the area under
   error vs log10(share) of the step function on [1%, 50%]; the smallest share whose error is
   within 10% of the full-sweep fit's error. Medians over seeds (the start set and the random
   policy vary with the seed). Policies: ours (:func:`~bayes_scaling.questions.design_policy.
   budget_batch`), ours per FLOP (the same, cost power 1 only), random, cheapest-first,
   largest-first, greedy D-optimal on the law's Jacobian at the posterior median.

Run: ``python benchmarks/bench_design.py [--quick] [--seeds 3] [--porian 4]``; writes
``results/bench_design.json`` and ``.md``.
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
from bench_design_report import POLICIES, SHARES, markdown, verdict

import bayes_scaling as bs
from bayes_scaling.core.intervals import equal_tailed
from bayes_scaling.evaluation.design_check import check_design
from bayes_scaling.questions.design import DesignQuestion, rank_candidates
from bayes_scaling.questions.design_policy import COST_POWERS, budget_batch
from bayes_scaling.questions.design_tools import isoflop_grid
from bayes_scaling.questions.predict import predict

RESULTS = Path(__file__).with_name("results")
#: Checkpoints of the budget-matched replay: shares of the sweep's (pool's) total compute.


def quiet_fit(runs, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bs.fit(runs, discrepancy=None, **options)


# ------------------------------------------------------------------------------ timing
def timing() -> dict:
    runs = bs.datasets.chinchilla_like(seed=0)
    fit = quiet_fit(runs, seed=1, draws=1000, tune=500, chains=2)
    grid = isoflop_grid(fit, np.geomspace(1e19, 3e23, 10), 20)
    rank_candidates(fit, grid.iloc[:5], DesignQuestion(compute=1e23))  # warm imports
    times = []
    for seed in range(3):
        question = DesignQuestion(compute=1e23, seed=seed)
        t = time.perf_counter()
        rank_candidates(fit, grid, question)
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
        "n_fantasies": question.n_fantasies,
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
def d_optimal_jacobian(fit, table: pd.DataFrame) -> np.ndarray:
    """The law's log-curve Jacobian (relative parameter steps) at the posterior median."""
    law = fit.law
    med = {p: float(fit.posterior[p].median()) for p in law.param_names}
    x = {c: table[c].to_numpy(float) for c in law.inputs}
    base = np.log(law.evaluate(med, x))
    cols = []
    for p in law.param_names:
        step = 1e-4 * max(abs(med[p]), 1e-6)
        cols.append((np.log(law.evaluate({**med, p: med[p] + step}, x)) - base) / step)
    J = np.stack(cols, axis=1) * np.array([max(abs(med[p]), 1e-6) for p in med])
    return np.nan_to_num(J, nan=0.0, posinf=0.0, neginf=0.0)


def step_values(states: list[dict], key: str, at: np.ndarray) -> np.ndarray:
    """``key`` of the last state whose compute share is <= each of ``at`` (the first state
    below the first share): what a policy knows having spent at most that share."""
    shares = np.array([s["share"] for s in states])
    idx = np.maximum(np.searchsorted(shares, at, side="right") - 1, 0)
    return np.array([float(states[i][key]) for i in idx])


def log_area(states: list[dict], lo: float, hi: float) -> float:
    """Mean error over log10(compute share) on [lo, hi], the error a step function."""
    shares = np.array([s["share"] for s in states])
    knots = np.unique(np.clip(np.concatenate([[lo, hi], shares]), lo, hi))
    err = step_values(states, "error", knots[:-1])
    return float(np.sum(err * np.diff(np.log10(knots))) / np.log10(hi / lo))


def stays_within(states: list[dict], bound: float) -> float:
    """The smallest share from which every later state's error is <= ``bound`` (inf: none)."""
    share = np.inf
    for st in reversed(states):
        if st["error"] > bound:
            break
        share = st["share"]
    return share


def replay(name, runs, *, seeds, draws, start=8, grid=SHARES, rounds=3) -> dict:
    """Budget-matched replay of one sweep (see the module docstring)."""
    table = runs.table.copy().sort_values("C").reset_index(drop=True)
    C_max = table["C"].max()
    held = table[table["C"] >= C_max / 1.5]
    best = held.loc[held["loss"].idxmin()]
    cols = [c for c in ("N", "D") if c in table]
    point = {c: float(best[c]) for c in cols}
    truth = float(best["loss"])
    pool_all = table[table["C"] < C_max / 1.5].reset_index(drop=True)
    C = pool_all["C"].to_numpy(float)
    total = float(C.sum())
    law = "chinchilla"

    def refit(idx, seed):
        return quiet_fit(pool_all.iloc[idx], law=law, seed=seed, draws=draws, tune=300, chains=2)

    def measure(fit):
        pred = predict(fit, points={k: [v] for k, v in point.items()}, seed=0)
        lo, med, hi = equal_tailed(pred["y"].values.reshape(-1))
        return {
            "error": abs(float(med) - truth),
            "width": float(hi - lo),
            "covered": bool(lo <= truth <= hi),
        }

    full = measure(refit(list(range(len(pool_all))), 0))
    trajectories: dict[str, list[list[dict]]] = {p: [] for p in POLICIES}
    seconds: dict[str, float] = {p: 0.0 for p in POLICIES}
    for seed in range(seeds):
        start_rng = np.random.default_rng(1000 + seed)  # the same start set for every policy
        first = list(range(start)) if seed == 0 else start_rng.choice(2 * start, start, False)
        first = sorted(int(i) for i in first)
        for policy in POLICIES:
            t0 = time.perf_counter()
            rng = np.random.default_rng(seed)
            train = list(first)
            pool = [i for i in range(len(pool_all)) if i not in train]
            fit = refit(train, seed)
            states = [
                {
                    "checkpoint": 0.0,
                    "share": C[train].sum() / total,
                    "n_runs": len(train),
                    **measure(fit),
                }
            ]
            for goal in grid:
                spent = C[train].sum()
                picked = False
                if policy.startswith("ours"):
                    powers = COST_POWERS if policy == "ours" else (1.0,)
                    for _ in range(rounds):  # batch within what is left, refit, again
                        avail = [i for i in pool if C[i] <= goal * total - spent]
                        if not avail:
                            break
                        with warnings.catch_warnings():
                            warnings.simplefilter("ignore")
                            ds = budget_batch(
                                fit,
                                pool_all.iloc[avail][cols],
                                DesignQuestion(N=point["N"], D=point["D"], seed=seed),
                                budget=goal * total - spent,
                                cost_powers=powers,
                            )
                        if ds is None:  # the sweep's C column and 6 N D differ a little
                            break
                        for j in ds["candidate"].values:
                            train.append(avail[int(j)])
                            pool.remove(avail[int(j)])
                        spent = C[train].sum()
                        fit = refit(train, seed)
                else:
                    if policy == "d_optimal" and pool:
                        J0 = d_optimal_jacobian(fit, pool_all.iloc[train])
                        info = J0.T @ J0 + 1e-8 * np.eye(J0.shape[1])
                        Jp = d_optimal_jacobian(fit, pool_all.iloc[pool])
                        Jp = {i: Jp[n] for n, i in enumerate(pool)}
                    while pool and spent < goal * total:  # the last pick may overshoot
                        if policy == "random":
                            j = pool[int(rng.integers(len(pool)))]
                        elif policy == "cheapest":
                            j = min(pool, key=lambda i: C[i])
                        elif policy == "largest":
                            j = max(pool, key=lambda i: C[i])
                        else:
                            inv = np.linalg.inv(info)
                            j = max(pool, key=lambda i: float(Jp[i] @ inv @ Jp[i]))
                            info = info + np.outer(Jp[j], Jp[j])
                        train.append(j)
                        pool.remove(j)
                        spent += C[j]
                        picked = True
                    if picked:
                        fit = refit(train, seed)
                states.append(
                    {
                        "checkpoint": goal,
                        "share": C[train].sum() / total,
                        "n_runs": len(train),
                        **measure(fit),
                    }
                )
            trajectories[policy].append(states)
            seconds[policy] += time.perf_counter() - t0
    grid_arr = np.asarray(grid, dtype=float)
    summary = {}
    for policy, per_seed in trajectories.items():
        err = np.array([step_values(s, "error", grid_arr) for s in per_seed])
        width = np.array([step_values(s, "width", grid_arr) for s in per_seed])
        cover = np.array([step_values(s, "covered", grid_arr) for s in per_seed])
        actual = np.array([[st["share"] for st in s[1:]] for s in per_seed])
        areas = [log_area(s, grid_arr[0], grid_arr[-1]) for s in per_seed]
        reach = [
            min([st["share"] for st in s if st["error"] <= 1.1 * full["error"]], default=np.inf)
            for s in per_seed
        ]
        med_reach = float(np.median(reach))
        stay = [stays_within(s, 1.1 * full["error"]) for s in per_seed]
        med_stay = float(np.median(stay))
        summary[policy] = {
            "error": np.median(err, axis=0).tolist(),
            "width": np.median(width, axis=0).tolist(),
            "coverage": cover.mean(axis=0).tolist(),
            "actual_share_after_step": np.median(actual, axis=0).tolist(),
            "area": float(np.median(areas)),
            "areas_per_seed": areas,
            "share_within_10pct_per_seed": [None if np.isinf(r) else r for r in reach],
            "share_within_10pct": None if np.isinf(med_reach) else med_reach,
            "share_within_10pct_stays_per_seed": [None if np.isinf(r) else r for r in stay],
            "share_within_10pct_stays": None if np.isinf(med_stay) else med_stay,
            "seconds": seconds[policy],
            "trajectories": per_seed,
        }
    return {
        "dataset": name,
        "law": law,
        "runs": len(table),
        "pool": len(pool_all),
        "start": start,
        "seeds": seeds,
        "grid": list(grid),
        "target_point": point,
        "truth": truth,
        "start_share_seed0": float(C[:start].sum() / total),
        "full_sweep": full,
        "policies": summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one seed, two sweeps")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--porian", type=int, default=4, help="Porian configurations replayed")
    parser.add_argument("--draws", type=int, default=300, help="draws per chain of each refit")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    seeds, n_porian = (1, 1) if args.quick else (args.seeds, args.porian)
    t0 = time.perf_counter()
    result = {"quick": args.quick, "replays": []}
    if not args.skip_timing:
        result["timing"], result["validation"] = timing(), validation()
    epoch = bs.datasets.load("epoch_chinchilla")
    result["replays"].append(replay("epoch_chinchilla", epoch, seeds=seeds, draws=args.draws))
    print(f"epoch done {time.perf_counter() - t0:.0f} s", flush=True)
    porian = bs.datasets.load("porian2024_isoflops")
    for g in porian.groups[:n_porian]:
        sub = porian.subset(porian.column("group") == g)
        sub = type(sub)(table=sub.table.drop(columns=["group"]), source=sub.source)
        name = f"porian2024_isoflops/{g}"
        result["replays"].append(replay(name, sub, seeds=seeds, draws=args.draws))
        print(f"{g} done {time.perf_counter() - t0:.0f} s", flush=True)
    # datablations (law data_constrained) is not replayed: rank_candidates' target point takes
    # N and D only, and that law also needs U at the target.
    result["verdict"] = verdict(result)
    result["seconds"] = time.perf_counter() - t0
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_design.json").write_text(json.dumps(result, indent=1, default=float))
    (RESULTS / "bench_design.md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
