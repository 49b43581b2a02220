"""Benchmark ``optimize`` over a learning rate and a batch size on 4000 draws (target: < 1 s).

Fits ``E + A*N**(-alpha) + c*log(lr/lr_opt)**2 + b*log(bs/bs_opt)**2`` to 80 simulated runs
(lr_opt = 3e-3, bs_opt = 256) with 2 chains x 200 draws, tiles the posterior to 4 chains x 1000
draws (4000 draws: the default fit's size), then times
``optimize(fit, over={"lr": (1e-5, 1e-1), "bs": (64, 8192)}, at={"N": 7e9, "D": 2e12})`` for
each risk measure; medians of ``--repeats`` runs.

Writes ``benchmarks/results/bench_optimize.json``. Run with
``.venv/bin/python benchmarks/bench_optimize.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_optimize.json"
TARGET_SECONDS = 1.0
LAW = "E + A*N**(-alpha) + c*log(lr/lr_opt)**2 + b*log(bs/bs_opt)**2"
OVER = {"lr": (1e-5, 1e-1), "bs": (64.0, 8192.0)}
AT = {"N": 7e9, "D": 2e12}


def simulated_runs(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Runs of a known law with a learning-rate and a batch-size bowl."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(5e-2), n))
    bs = np.exp(rng.uniform(np.log(16), np.log(4096), n))
    loss = 1.8 + 300 * N**-0.3 + 0.05 * np.log(lr / 3e-3) ** 2 + 0.02 * np.log(bs / 256) ** 2
    loss = loss * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"N": N, "D": 20 * N, "lr": lr, "bs": bs, "loss": loss})


def tiled(fit, *, chains: int = 4, draws: int = 1000):
    """The fit with its posterior draws repeated to ``chains`` x ``draws``."""
    import xarray as xr

    post = fit.posterior
    flat = post.stack(sample=("chain", "draw"))
    idx = np.resize(np.arange(flat.sizes["sample"]), chains * draws)
    data = {
        name: (("chain", "draw"), flat[name].values[idx].reshape(chains, draws))
        for name in post.data_vars
        if post[name].dims == ("chain", "draw")
    }
    big = xr.Dataset(data, coords={"chain": np.arange(chains), "draw": np.arange(draws)})
    children = {n: fit.tree[n].to_dataset() for n in fit.tree.children if n != "log_likelihood"}
    children["posterior"] = big
    return dataclasses.replace(fit, tree=xr.DataTree.from_dict(children))


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU seconds after one warm-up call."""
    fn()
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
    args = parser.parse_args()

    import bayes_scaling as bs
    from bayes_scaling.inputs.laws import Law
    from bayes_scaling.questions.optimize import optimize

    law = Law.from_formula(LAW, inputs=["lr", "bs"])
    runs = bs.load_runs(simulated_runs(), schema=law.schema)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small = bs.fit(runs, law=law, draws=200, tune=300, chains=2, seed=1, discrepancy=None)
    fit_seconds = time.perf_counter() - t0
    fit = tiled(small)
    n_draws = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    timings = {}
    for risk in ("mean", "cvar"):
        seconds, cpu = _median_time(
            lambda r=risk: optimize(fit, over=OVER, at=AT, risk=r), args.repeats
        )
        timings[f"optimize lr x bs ({risk})"] = {
            "median_seconds": round(seconds, 4),
            "median_cpu_seconds": round(cpu, 4),
            "under_target": seconds < TARGET_SECONDS,
        }
        print(f"optimize lr x bs ({risk}): {seconds * 1e3:.1f} ms wall, {cpu * 1e3:.1f} ms cpu")
    ds = optimize(fit, over=OVER, at=AT)
    decision = {k: float(ds[f"{k}_decision"]) for k in OVER}
    result = {
        "description": __doc__.splitlines()[0],
        "law": LAW,
        "truth": {"lr_opt": 3e-3, "bs_opt": 256.0},
        "over": {k: list(v) for k, v in OVER.items()},
        "at": AT,
        "draws": n_draws,
        "repeats": args.repeats,
        "fit_seconds": round(fit_seconds, 2),
        "target_seconds": TARGET_SECONDS,
        "timings": timings,
        "decision": decision,
        "load_average": list(os.getloadavg()),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
