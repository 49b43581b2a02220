"""Simulation-based calibration of every built-in law (Talts et al. 2018).

For each law: ``--sims`` simulated data sets from the prior at a fixed design, each fitted with
NUTS (2 chains, thinned to ~100 draws), ranks of the true parameters, and a chi-square test of
uniformity at a Bonferroni-adjusted level over all laws and parameters. See
:mod:`bayes_scaling.evaluation.sbc`.

Writes ``benchmarks/results/sbc.json`` and ``benchmarks/results/sbc_ranks.png`` (rank
histograms). Run with ``.venv/bin/python benchmarks/sbc.py [--sims 100] [--refs fixed]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def _plot(results, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_cols = max(len(r.ranks) for r in results)
    fig, axes = plt.subplots(
        len(results), n_cols, figsize=(2.2 * n_cols, 1.9 * len(results)), squeeze=False
    )
    for row, result in zip(axes, results, strict=True):
        pvalues = result.pvalues()
        for ax, (name, ranks) in zip(row, result.ranks.items(), strict=False):
            ax.hist(ranks, bins=10, range=(0, result.n_draws + 1), color="0.55")
            ax.axhline(len(ranks) / 10, color="k", lw=0.8, ls="--")
            ax.set_title(f"{result.law}: {name}\np = {pvalues[name]:.2g}", fontsize=7)
            ax.set_xticks([])
            ax.tick_params(labelsize=6)
        for ax in row[len(result.ranks) :]:
            ax.axis("off")
    fig.suptitle("SBC rank histograms (dashed: expected count under calibration)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    from bayes_scaling.evaluation.sbc import BUILT_IN, SBC_SETTINGS, run_sbc

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sims", type=int, default=100)
    parser.add_argument("--laws", nargs="*", default=list(BUILT_IN))
    parser.add_argument("--refs", choices=("fixed", "data"), default="fixed")
    parser.add_argument("--draws", type=int, default=SBC_SETTINGS.draws)
    parser.add_argument("--tune", type=int, default=SBC_SETTINGS.tune)
    parser.add_argument("--thin", type=int, default=3)
    parser.add_argument("--alpha", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()

    settings = SBC_SETTINGS.replace(draws=args.draws, tune=args.tune, seed=args.seed)
    t0 = time.perf_counter()
    results = []
    for law in args.laws:
        t = time.perf_counter()
        result = run_sbc(
            law,
            n_sims=args.sims,
            thin=args.thin,
            refs=args.refs,
            settings=settings,
        )
        results.append(result)
        worst = min(result.pvalues().values())
        print(f"{law}: {time.perf_counter() - t:.0f} s, smallest p = {worst:.3g}", flush=True)
    n_tests = sum(len(r.ranks) for r in results)
    laws = {r.law: r.to_dict(alpha=args.alpha, n_tests=n_tests) for r in results}
    failed = {law: [k for k, ok in d["passed"].items() if not ok] for law, d in laws.items()}
    report = {
        "benchmark": "sbc",
        "method": "Talts et al. 2018 ranks; chi-square on 10 bins of jittered normalised ranks",
        "refs": args.refs,
        "alpha": args.alpha,
        "n_tests": n_tests,
        "bonferroni_level": args.alpha / n_tests,
        "all_passed": not any(failed.values()),
        "failed": {k: v for k, v in failed.items() if v},
        "total_seconds": round(time.perf_counter() - t0, 1),
        "cpu_seconds": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
        "load_average_1min_at_end": round(__import__("os").getloadavg()[0], 2),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "laws": laws,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = "" if args.refs == "fixed" else f"_{args.refs}"
    path = args.output or OUT / f"sbc{suffix}.json"
    path.write_text(json.dumps(report, indent=2, default=_jsonable) + "\n")
    _plot(results, path.with_name(path.stem + "_ranks.png"))
    print(json.dumps({k: report[k] for k in ("all_passed", "failed", "total_seconds")}))


def _jsonable(x):
    if isinstance(x, np.integer | np.floating):
        return x.item()
    raise TypeError(type(x))


if __name__ == "__main__":
    main()
