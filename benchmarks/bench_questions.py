"""Benchmark the decision questions on 4000 posterior draws x 200 budgets (target: < 0.5 s each).

Fits the chinchilla law with default settings (4 chains x 1000 draws) to Epoch AI's 245
reconstructed Chinchilla runs (shipped in ``bayes_scaling/data/epoch_chinchilla``), then times
every question of :mod:`bayes_scaling.questions.optimal` and :mod:`bayes_scaling.questions.budget`
with 200 budgets (200 targets or inference-token counts where the question has no budget axis);
medians of ``--repeats`` runs. Also records the 90% interval of tokens per parameter at
Chinchilla's budget (C = 5.76e23), which should contain 18.4 (Epoch AI's point estimates).

Writes ``benchmarks/results/bench_questions.json``. Run with
``.venv/bin/python benchmarks/bench_questions.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_questions.json"
TARGET_SECONDS = 0.5


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds (CPU time is what a shared, busy machine distorts less:
    the questions are single-threaded numpy)."""
    fn()  # warm-up (imports, caches)
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import bayes_scaling as bs
    from bayes_scaling.questions import budget as bud
    from bayes_scaling.questions import optimal as opt

    source = "bayes_scaling/data/epoch_chinchilla/svg_extracted_data.csv"
    runs = bs.datasets.load("epoch_chinchilla")  # shipped in the package
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bs.fit(runs, law="chinchilla", seed=args.seed)
    fit_seconds = time.perf_counter() - t0
    n_draws = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]

    budgets = np.geomspace(1e20, 1e26, 200)
    E = fit.posterior["E"].values
    targets = np.linspace(float(np.quantile(E, 0.5)) + 0.02, float(E.max()) + 0.3, 200)
    tokens = np.geomspace(1e9, 1e14, 200)
    N_fixed = 7e10
    questions = {
        "optimal_allocation (closed form)": lambda: opt.optimal_allocation(fit, compute=budgets),
        "optimal_allocation (numeric)": lambda: opt.optimal_allocation(
            fit, compute=budgets, method="numeric"
        ),
        "allocation_exponents": lambda: opt.allocation_exponents(fit, compute=budgets),
        "frontier (n=200)": lambda: opt.frontier(fit, compute_min=1e20, compute_max=1e26, n=200),
        "fixed_size_loss": lambda: opt.fixed_size_loss(fit, compute=budgets, N=N_fixed),
        "misallocation": lambda: opt.misallocation(fit, compute=budgets, N=N_fixed),
        "prob_below_target (mu)": lambda: bud.prob_below_target(fit, target=2.0, compute=budgets),
        "prob_below_target (predictive)": lambda: bud.prob_below_target(
            fit, target=2.0, compute=budgets, predictive=True
        ),
        "prob_below_target (fixed N)": lambda: bud.prob_below_target(
            fit, target=2.0, compute=budgets, N=N_fixed
        ),
        "compute_for_target (200 targets)": lambda: bud.compute_for_target(fit, target=targets),
        "compute_at_probability": lambda: bud.compute_at_probability(
            fit, target=2.0, probability=[0.5, 0.9]
        ),
        "risk_optimal_allocation (mean)": lambda: bud.risk_optimal_allocation(
            fit, compute=budgets, risk="mean"
        ),
        "risk_optimal_allocation (var)": lambda: bud.risk_optimal_allocation(
            fit, compute=budgets, risk="var"
        ),
        "risk_optimal_allocation (cvar)": lambda: bud.risk_optimal_allocation(
            fit, compute=budgets, risk="cvar"
        ),
        "inference_aware_allocation (200 token counts)": lambda: bud.inference_aware_allocation(
            fit, target=2.0, inference_tokens=tokens
        ),
    }
    timings = {}
    for name, fn in questions.items():
        seconds, cpu = _median_time(fn, args.repeats)
        timings[name] = {
            "median_seconds": round(seconds, 4),
            "median_cpu_seconds": round(cpu, 4),
            "under_target": seconds < TARGET_SECONDS,
            "cpu_under_target": cpu < TARGET_SECONDS,
        }
        print(f"{name:<48} {seconds * 1e3:8.1f} ms wall {cpu * 1e3:8.1f} ms cpu")

    ds = opt.optimal_allocation(fit, compute=5.76e23)
    r = ds["tokens_per_param"].values.ravel()
    lo, med, hi = np.quantile(r, [0.05, 0.5, 0.95])
    check = {
        "compute": 5.76e23,
        "tokens_per_param": {"median": med, "lower": lo, "upper": hi, "ci": 0.9},
        "contains_18.4": bool(lo <= 18.4 <= hi),
    }
    print(f"tokens per parameter at 5.76e23: {med:.1f} [{lo:.1f}, {hi:.1f}] (90%)")
    result = {
        "description": __doc__.splitlines()[0],
        "data": source,
        "n_runs": runs.n_runs,
        "draws": n_draws,
        "budgets": int(budgets.size),
        "repeats": args.repeats,
        "fit_seconds": round(fit_seconds, 2),
        "diagnostics_ok": bool(fit.diagnostics.ok),
        "target_seconds": TARGET_SECONDS,
        "timings": timings,
        "chinchilla_budget_check": check,
        "load_average": list(os.getloadavg()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
