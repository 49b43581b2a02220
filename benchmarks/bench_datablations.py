"""Check the data-constrained law against datablations' published R_D* = 15.4 and R_N* = 5.3.

Fits ``data_constrained`` (Muennighoff et al. 2023, eqs. 5-6) to the authors' 296 final
validation losses (``bayes_scaling/data/datablations/final_val_losses.csv``, shipped) three ways:

* ``joint``: every parameter with the law's default priors, all runs;
* ``joint_max_100_epochs``: the same without the runs repeated more than 100 times (the 100M
  unique-token runs with losses up to 11);
* ``two_stage``: as the authors' notebook does, the Chinchilla part (E, A, B, alpha, beta) first,
  fitted to the single-epoch runs, then fixed at its posterior medians while R_D* and R_N* are
  sampled.

It also records how far the published constants sit from these losses (the median log residual
of the single-epoch runs at the published Chinchilla part), which is why the published E, A, B,
alpha, beta are not used as fixed values here.
Reports posterior medians and 90% intervals of R_D* and R_N*, whether the published values lie
inside, a data-constrained allocation at a small unique-token budget, and timings. Writes
``benchmarks/results/bench_datablations.json``. Run with
``.venv/bin/python benchmarks/bench_datablations.py [--draws 300]``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_datablations.json"
#: Published values (datablations README, "Parametric Fit"; Muennighoff et al. 2023).
PUBLISHED = {
    "R_D_star": 15.387756,
    "R_N_star": 5.309743,
    "E": float(np.exp(0.6254804)),
    "A": float(np.exp(6.255414)),
    "B": float(np.exp(7.3049974)),
    "alpha": 0.3526596,
    "beta": 0.3526596,
}


def _interval(draws: np.ndarray) -> dict[str, float]:
    lo, med, hi = np.quantile(draws, [0.05, 0.5, 0.95])
    return {"median": float(med), "lower": float(lo), "upper": float(hi)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=300)
    parser.add_argument("--tune", type=int, default=400)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    import bayes_scaling as bs
    from bayes_scaling.questions.budget import data_constrained_allocation

    runs = bs.datasets.load("datablations")  # shipped in the package
    epochs = runs.column("D") / runs.column("U")
    law = bs.get_law("data_constrained")
    mu = law.evaluate(PUBLISHED, {c: runs.column(c) for c in ("N", "D", "U")})
    residual = np.log(runs.column("loss") / mu)
    single = epochs <= 1.0
    settings = {
        "draws": args.draws,
        "tune": args.tune,
        "chains": args.chains,
        "seed": args.seed,
        "discrepancy": None,  # only the parameters matter here, not y's extrapolation
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stage1 = bs.fit(runs.subset(single), law="chinchilla", **settings)
    chinchilla_part = {
        p: float(stage1.posterior[p].median()) for p in ("E", "A", "B", "alpha", "beta")
    }
    variants = {
        "joint": (runs, None),
        "joint_max_100_epochs": (runs.subset(epochs <= 100), None),
        "two_stage": (runs, chinchilla_part),
    }
    result: dict = {
        "data": "bayes_scaling/data/datablations/final_val_losses.csv",
        "n_runs": runs.n_runs,
        "published": {"R_D_star": PUBLISHED["R_D_star"], "R_N_star": PUBLISHED["R_N_star"]},
        "published_chinchilla_part_median_log_residual": {
            "single_epoch_runs": float(np.median(residual[single])),
            "repeated_runs": float(np.median(residual[~single])),
        },
        "stage1_chinchilla_part_single_epoch": {"n_runs": int(single.sum()), **chinchilla_part},
        "settings": settings,
        "fits": {},
    }
    import importlib

    fit_module = importlib.import_module("bayes_scaling.inference.sampling")

    for name, (data, priors) in variants.items():
        # compile afresh: re-using a compiled data_constrained model with new data fails on the
        # unused reference ref_U ("Unknown shared variable"), a known issue of the model cache
        fit_module._COMPILED.clear()
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = bs.fit(data, law="data_constrained", priors=priors, **settings)
        seconds = time.perf_counter() - t0
        post = fit.posterior
        entry = {
            "n_runs": data.n_runs,
            "seconds": round(seconds, 1),
            "diagnostics_ok": bool(fit.diagnostics.ok),
            "diagnostics": fit.diagnostics.message(),
            "warnings": sorted({str(w.message)[:200] for w in caught}),
        }
        for p in ("R_D_star", "R_N_star", "E", "A", "B", "alpha", "beta"):
            entry[p] = _interval(post[p].values.ravel())
        for p in ("R_D_star", "R_N_star"):
            iv = entry[p]
            entry[f"{p}_contains_published"] = iv["lower"] <= PUBLISHED[p] <= iv["upper"]
        alloc = data_constrained_allocation(fit, compute=[1e21, 1e22], unique_tokens=1e9)
        entry["allocation_U_1e9"] = {
            f"{c:.0e}": {
                v: _interval(alloc[v].sel(compute=c).values.ravel())
                for v in ("N_opt", "D_opt", "epochs", "extra_loss")
            }
            for c in alloc["compute"].values
        }
        result["fits"][name] = entry
        print(
            f"{name:<10} R_D* {entry['R_D_star']['median']:.2f} "
            f"[{entry['R_D_star']['lower']:.2f}, {entry['R_D_star']['upper']:.2f}]  "
            f"R_N* {entry['R_N_star']['median']:.2f} "
            f"[{entry['R_N_star']['lower']:.2f}, {entry['R_N_star']['upper']:.2f}]  "
            f"({seconds:.0f} s; {entry['diagnostics']})"
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
