"""Benchmark the classic baseline on Epoch AI's 240 Chinchilla runs.

Measures (medians over ``--repeats``): the point fit from Hoffmann et al.'s grid of starts
(4500 starts screened, L-BFGS-B from the best ``--max-starts``), and ``--boot`` bootstrap
refits warm-started from the point estimate, for the classic fixed-threshold Huber loss and for
Epoch AI's learned-scale variant. Also records the estimates against Epoch AI's published refit.

Writes ``benchmarks/results/bench_baseline.json``. Run with
``.venv/bin/python benchmarks/bench_baseline.py [--boot 1000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
#: The Epoch AI points shipped in the package (``bayes_scaling.inputs.shipped``).
DATA = ROOT / "bayes_scaling" / "data" / "epoch_chinchilla" / "svg_extracted_data.csv"
OUT = ROOT / "benchmarks" / "results" / "bench_baseline.json"
#: Besiroglu et al. 2024 (arXiv:2404.10102), Epoch AI's refit of the Chinchilla points.
EPOCH = {"E": 1.817, "A": 482.0, "B": 2085.4, "alpha": 0.348, "beta": 0.366}


def main() -> None:
    from bayes_scaling.evaluation.baseline import fit_baseline
    from bayes_scaling.inputs.runs import load_runs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-starts", type=int, default=32)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        raise SystemExit(f"data set not found: {args.data}")
    table = pd.read_csv(args.data)
    table = table[table["loss"] < np.sort(table["loss"].to_numpy())[-5]]
    runs = load_runs(table[["Model Size", "Training FLOP", "loss"]])

    report: dict = {
        "benchmark": "bench_baseline",
        "data": "epoch_chinchilla_fig4 (240 runs: 245 minus the 5 highest-loss)",
        "n_boot": args.boot,
        "repeats": args.repeats,
        "max_starts": args.max_starts,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "published": EPOCH,
        "methods": {},
    }
    for scale in ("fixed", "learned"):
        fit_times, boot_times = [], []
        for r in range(args.repeats):
            t0 = time.perf_counter()
            point = fit_baseline(runs, scale=scale, max_starts=args.max_starts)
            t1 = time.perf_counter()
            fit_times.append(t1 - t0)
            if r == 0:
                t2 = time.perf_counter()
                boot = fit_baseline(runs, scale=scale, max_starts=1, n_boot=args.boot, seed=r)
                boot_times.append(boot.settings["boot_seconds"])
                print(f"{scale}: bootstrap {time.perf_counter() - t2:.1f} s", flush=True)
        summary = boot.summary(ci=0.95)
        report["methods"][scale] = {
            "point_fit_seconds_median": round(statistics.median(fit_times), 3),
            "bootstrap_seconds": round(statistics.median(boot_times), 2),
            "bootstrap_failed": boot.settings["n_boot_failed"],
            "params": point.params,
            "relative_error_vs_epoch": {
                k: round(point.params[k] / v - 1, 4) for k, v in EPOCH.items()
            },
            "bootstrap_sd": {k: float(summary.loc[k, "sd"]) for k in EPOCH},
            "bootstrap_95": {
                k: [float(summary.loc[k, "lower"]), float(summary.loc[k, "upper"])] for k in EPOCH
            },
        }
        print(json.dumps(report["methods"][scale]), flush=True)
    report["load_average_1min_at_end"] = round(__import__("os").getloadavg()[0], 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
