"""Pooled IsoFLOP fit of Porian et al. 2024's 15 configurations, against the authors' exponents.

The ``isoflop`` law (a parabola in log N per compute budget around N_opt = G C^a) is fitted to
the five runs nearest each IsoFLOP minimum, with every parameter varying by configuration
(partial pooling; the reference budget C0 is fixed). Each configuration's ``CI`` (90%) interval for
``a`` is compared with the authors' estimate (``published_fit_results.csv``: their minima, then
least squares) and with this package's own two-step estimate on the same runs
(``bayes_scaling.inputs.isoflop.two_step_exponent``). The points and the authors' fits are the
copies shipped in ``bayes_scaling/data/porian2024_isoflops``
(``bayes_scaling.inputs.shipped.porian_runs``).

Writes ``benchmarks/results/bench_porian.json``. Run with
``.venv/bin/python benchmarks/bench_porian.py [--draws 750 --tune 1000 --seed 1]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_porian.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=750)
    parser.add_argument("--tune", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vary", default="a,b,G,c,kappa,Lr,S", help="parameters varying by group")
    parser.add_argument("--non-centered", default="", help="varying parameters to non-centre")
    args = parser.parse_args()

    import bayes_scaling as bs
    from bayes_scaling.inputs.isoflop import near_optimum, two_step_exponent
    from bayes_scaling.inputs.shipped import porian_runs

    runs, published = porian_runs()  # the shipped copy of the authors' points and fits
    near = near_optimum(runs)
    law = bs.get_law("isoflop")
    t0 = time.perf_counter()
    fit = bs.fit(
        near,
        law=law,
        vary=args.vary,
        centered={p: False for p in args.non_centered.split(",") if p} or "auto",
        likelihood="normal",
        discrepancy=None,
        draws=args.draws,
        tune=args.tune,
        chains=4,
        seed=args.seed,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    a = fit.posterior["a_group"]
    levels = ((1 - bs.CI) / 2, 0.5, (1 + bs.CI) / 2)
    lower, median, upper = (a.quantile(q, dim=("chain", "draw")).values for q in levels)
    labels = [str(g) for g in a["group"].values]
    theirs = published.loc[labels, "a_n_exponent"].to_numpy()
    two_step = two_step_exponent(runs)["a"].reindex(labels).to_numpy()
    inside = (lower <= theirs) & (theirs <= upper)
    d = fit.diagnostics
    worst = fit.summary().sort_values("r_hat", ascending=False).head(3)
    print(worst[["median", "r_hat", "ess_bulk"]])
    result = {
        "benchmark": "isoflop law, Porian et al. 2024's 15 configurations, partially pooled",
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "runs": near.n_runs,
        "runs_before_selection": runs.n_runs,
        "settings": {
            "draws": args.draws,
            "tune": args.tune,
            "chains": 4,
            "seed": args.seed,
            "vary": args.vary,
            "non_centered": args.non_centered,
            "likelihood": "normal",
        },
        "seconds_total": round(seconds, 1),
        "seconds_compile": fit.info.get("compile_seconds"),
        "seconds_sample": fit.info.get("sample_seconds"),
        "gate_ok": bool(d.ok),
        "max_r_hat": float(d.max_r_hat),
        "min_ess_bulk": float(d.min_ess_bulk),
        "min_ess_tail": float(d.min_ess_tail),
        "divergences": int(d.divergences),
        "inside_90": int(inside.sum()),
        "configurations": len(labels),
        "abs_error_median": float(np.median(np.abs(median - theirs))),
        "two_step_abs_error_max": float(np.nanmax(np.abs(two_step - theirs))),
        "per_configuration": [
            {
                "config": g,
                "a_median": round(float(m), 4),
                "a_lower": round(float(lo), 4),
                "a_upper": round(float(hi), 4),
                "authors": round(float(t), 4),
                "authors_p2.5": round(float(published.loc[g, "a_bootstrap_weighted_p2.5"]), 4),
                "authors_p97.5": round(float(published.loc[g, "a_bootstrap_weighted_p97.5"]), 4),
                "two_step": round(float(s), 4),
                "inside": bool(i),
            }
            for g, lo, m, hi, t, s, i in zip(
                labels, lower, median, upper, theirs, two_step, inside, strict=True
            )
        ],
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "per_configuration"}, indent=2))


if __name__ == "__main__":
    main()
