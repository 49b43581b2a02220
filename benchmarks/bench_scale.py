"""Benchmark fits of the chinchilla law at 1k, 10k and 100k simulated runs.

Runs are drawn from Epoch AI's Chinchilla refit (``bs.datasets.simulate`` with
``CHINCHILLA_TRUTH``, 1% log-normal noise) at model sizes log-uniform in 70M-16B and 2-200
tokens per parameter. Every fit is in one process after a warm-up fit that loads the compiled
model, so the times are sampling and post-processing only (a whole CLI process adds its start-up
and model load: ``benchmarks/results/bench_fit.json``). For each size, default settings
(4 chains x 1000 draws after 1000 warm-up steps), with ``discrepancy=None`` and with the default
leave-future-out discrepancy; recorded: wall time, sampling time, min ESS (bulk, tail), max R-hat,
divergences, the diagnostics gate, min ESS_bulk per second of sampling, tau and the largest
relative error of the posterior medians against the truth.

Writes ``benchmarks/results/bench_scale.json`` after every fit. Run with
``.venv/bin/python benchmarks/bench_scale.py [--sizes 1000 10000 100000]``; the 100k fits take
minutes on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_scale.json"


def simulated_runs(n: int, *, seed: int = 0):
    """``n`` runs of the chinchilla law (Epoch AI's refit) with 1% noise on the loss."""
    from bayes_scaling.inputs.datasets import CHINCHILLA_TRUTH, simulate

    rng = np.random.default_rng(seed)
    params = np.exp(rng.uniform(np.log(7e7), np.log(1.6e10), n))
    tokens = params * np.exp(rng.uniform(np.log(2.0), np.log(200.0), n))
    return simulate(
        "chinchilla", CHINCHILLA_TRUTH, {"N": params, "D": tokens}, sigma=0.01, seed=seed + 1
    )


def one_fit(runs, *, discrepancy: str | None, seed: int) -> dict:
    from bayes_scaling.evaluation.fitting import fit
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.inputs.datasets import CHINCHILLA_TRUTH

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = fit(
            runs, law="chinchilla", settings=FitSettings(seed=seed, discrepancy=discrepancy)
        )
    wall = time.perf_counter() - t0
    d = record.diagnostics
    medians = {k: float(record.posterior[k].median()) for k in CHINCHILLA_TRUTH}
    row = {
        "rows": runs.n_runs,
        "discrepancy": discrepancy,
        "wall_seconds": round(wall, 2),
        "sample_seconds": record.info["sample_seconds"],
        "min_ess_bulk": round(d.min_ess_bulk, 1),
        "min_ess_tail": round(d.min_ess_tail, 1),
        "max_r_hat": round(d.max_r_hat, 4),
        "divergences": int(d.divergences),
        "gate_ok": bool(d.ok),
        "min_ess_bulk_per_second": round(d.min_ess_bulk / record.info["sample_seconds"], 1),
        "adaptation": record.info["adaptation"],
        "max_relative_error_of_medians": round(
            max(abs(medians[k] / v - 1) for k, v in CHINCHILLA_TRUTH.items()), 4
        ),
    }
    info = record.info.get("discrepancy")
    if info is not None:
        row["tau_median"] = info.get("tau_median")
        row["inner_gate"] = info.get("inner_gate")
        row["n_inner_test"] = info.get("n_inner_test")
        row["n_inner_held_out"] = info.get("n_inner_held_out")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from bayes_scaling.inputs import datasets

    results = {
        "benchmark": "chinchilla law on simulated runs, default settings (4 chains x 1000 draws "
        "after 1000 warm-up steps), in one process with the compiled model loaded",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        },
        "fits": [],
    }
    t0 = time.perf_counter()
    one_fit(datasets.chinchilla_like(seed=0), discrepancy=None, seed=0)  # loads the model
    results["warm_up_seconds"] = round(time.perf_counter() - t0, 2)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        runs = simulated_runs(n)
        for discrepancy in (None, "lfo"):
            row = one_fit(runs, discrepancy=discrepancy, seed=args.seed)
            row["load_average_1min"] = round(os.getloadavg()[0], 2)
            results["fits"].append(row)
            print(json.dumps(row), flush=True)
            OUT.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
