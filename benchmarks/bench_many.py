"""Benchmark many small refits and the pooled 50-family fit.

Measures:
  * small refits of the chinchilla law (backtest-style: the same model, new data each time) in one
    process with compiled-model reuse (``fit_many(workers=1)``) versus a fresh compile per fit:
    median seconds per fit and the speed-up (target >= 4x);
  * the pooled case of 50 families x 20 runs at 1% noise with E and A varying by family: the
    ``auto`` (centred) parameterisation, and optionally the non-centred one for contrast, with
    the diagnostics gate, min ESS, max R-hat and wall time.

Writes ``benchmarks/results/bench_many.json``. Run with
``.venv/bin/python benchmarks/bench_many.py [--refits 50] [--compiles 10] [--noncentred]
[--pooled-only]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_many.json"
SMALL = {"draws": 300, "tune": 300, "chains": 2, "cores": 1, "discrepancy": None}


def refits(n_reuse: int, n_compile: int) -> dict:
    """Seconds per small refit with and without compiled-model reuse."""
    import importlib

    import bayes_scaling as bs
    from bayes_scaling.evaluation.many import Job, fit_many

    fit_module = importlib.import_module("bayes_scaling.inference.sampling")  # its model cache

    sets = [bs.datasets.chinchilla_like(seed=i) for i in range(max(n_reuse, n_compile))]
    fit_module._COMPILED.clear()
    bs.fit(sets[0], law="chinchilla", seed=0, **SMALL)  # warm the compile caches on disk
    jobs = [Job(sets[i], settings={**SMALL, "seed": i}, name=f"r{i}") for i in range(n_reuse)]
    t0 = time.perf_counter()
    results = fit_many(jobs, workers=1)
    reuse_total = time.perf_counter() - t0
    reuse = [r.seconds for r in results if r.ok]
    fresh = []
    for i in range(n_compile):
        fit_module._COMPILED.clear()
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bs.fit(sets[i], law="chinchilla", seed=i, **SMALL)
        fresh.append(time.perf_counter() - t0)
    return {
        "settings": SMALL,
        "n_reuse": n_reuse,
        "n_compile": n_compile,
        "reuse_seconds_per_fit_median": statistics.median(reuse),
        "reuse_total_seconds": reuse_total,
        "compile_seconds_per_fit_median": statistics.median(fresh),
        "speedup": statistics.median(fresh) / statistics.median(reuse),
        "reuse_gate_passed": sum(r.fit.diagnostics.ok for r in results if r.ok),
    }


def families(n_families: int = 50, n_per: int = 20, noise: float = 0.01, seed: int = 0):
    """Chinchilla-like families whose E and A differ (the issue's 50 x 20 at 1% case)."""
    import bayes_scaling as bs

    rng = np.random.default_rng(seed)
    frames = []
    for g in range(n_families):
        N = 10 ** rng.uniform(7, 9.5, n_per)
        D = 10 ** rng.uniform(9, 11.5, n_per)
        E = 1.8 * np.exp(0.05 * rng.standard_normal())
        A = 482.0 * np.exp(0.2 * rng.standard_normal())
        mu = E + A / N**0.348 + 2085.4 / D**0.366
        loss = mu * np.exp(noise * rng.standard_normal(n_per))
        frames.append(pd.DataFrame({"N": N, "D": D, "loss": loss, "group": f"f{g:02d}"}))
    return bs.load_runs(pd.concat(frames, ignore_index=True))


def pooled(centered) -> dict:
    import bayes_scaling as bs

    runs = families()
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = bs.fit(
            runs, law="chinchilla", vary=("E", "A"), centered=centered, seed=1, discrepancy=None
        )
    wall = time.perf_counter() - t0
    d = result.diagnostics
    return {
        "centered": result.pooling.centered,
        "reason": result.pooling.reason,
        "runs": runs.n_runs,
        "wall_seconds": wall,
        "compile_seconds": result.info["compile_seconds"],
        "sample_seconds": result.info["sample_seconds"],
        "gate_passed": d.ok,
        "max_r_hat": d.max_r_hat,
        "min_ess_bulk": d.min_ess_bulk,
        "min_ess_tail": d.min_ess_tail,
        "divergences": d.divergences,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refits", type=int, default=50)
    parser.add_argument("--compiles", type=int, default=10)
    parser.add_argument("--noncentred", action="store_true", help="also fit the non-centred form")
    parser.add_argument(
        "--pooled-only", action="store_true", help="skip the refits; keep earlier refit results"
    )
    args = parser.parse_args()
    out = json.loads(OUT.read_text()) if args.pooled_only and OUT.exists() else {}
    out.update(machine=platform.platform(), python=platform.python_version())
    if not args.pooled_only:
        out["refits"] = refits(args.refits, args.compiles)
    out["pooled_50_families"] = {"auto": pooled("auto")}
    if args.noncentred:
        out["pooled_50_families"]["noncentred"] = pooled(False)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
