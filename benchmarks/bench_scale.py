"""Benchmark fits of the chinchilla law at 1k, 10k and 100k simulated runs.

Runs are drawn from Epoch AI's Chinchilla refit (``bs.datasets.simulate`` with
``CHINCHILLA_TRUTH``, 1% log-normal noise) at model sizes log-uniform in 70M-16B and 2-200
tokens per parameter. Every fit is in one process after a warm-up fit that loads the compiled
model, so the times are sampling and post-processing only (a whole CLI process adds its start-up
and model load: ``benchmarks/results/bench_fit.json``). For each size, default settings
(4 chains x 1000 draws after 300 warm-up steps), with ``discrepancy=None`` and with the default
leave-future-out discrepancy; recorded: wall time, sampling time, min ESS (bulk, tail), max R-hat,
divergences, the diagnostics gate, min ESS_bulk per second of sampling, tau and the largest
relative error of the posterior medians against the truth. Before the fits of each size, the
time of one log-density + gradient evaluation as fits compile it (vectorised loop), with
PyTensor's own loop, and with neither the vectorised loop nor the ``exp(e * log x)`` form of
the powers (:mod:`bayes_scaling.model.log_inputs`), paired. At sizes whose inner training set
exceeds twice ``INNER_MAX_TRAIN``, one fit's discrepancy learned from the thinned inner training
runs (the default) and from all of them, paired (``inner_cap``).

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

from bayes_scaling.core.constants import DRAWS, TUNE
from bayes_scaling.evaluation.discrepancy import INNER_MAX_TRAIN

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


def one_fit(
    runs, *, discrepancy: str | None, seed: int, draws: int = DRAWS, tune: int = TUNE
) -> dict:
    from bayes_scaling.evaluation.fitting import fit
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.inputs.datasets import CHINCHILLA_TRUTH

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = fit(
            runs,
            law="chinchilla",
            settings=FitSettings(seed=seed, discrepancy=discrepancy, draws=draws, tune=tune),
        )
    wall = time.perf_counter() - t0
    d = record.diagnostics
    medians = {k: float(record.posterior[k].median()) for k in CHINCHILLA_TRUTH}
    row = {
        "rows": runs.n_runs,
        "discrepancy": discrepancy,
        "draws": draws,
        "tune": tune,
        "draws_per_chain_used": record.info.get("draws_per_chain", draws),
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


def gradient_ms(runs, *, repeats: int = 15) -> dict:
    """Median ms of one log-density + gradient evaluation, measured alternately in one process:
    as fits compile it (the loop over runs vectorised, :mod:`bayes_scaling.model.vector_loop`),
    with PyTensor's own loop (``NUMBA`` mode), and with PyTensor's loop and the powers of N and
    D as plain ``pow`` (the ``exp(e * log x)`` rewrite of :mod:`bayes_scaling.model.log_inputs`
    switched off)."""
    import pytensor

    from bayes_scaling.inputs.laws import get_law
    from bayes_scaling.model import log_inputs
    from bayes_scaling.model.graph import build_model
    from bayes_scaling.model.plans import references
    from bayes_scaling.model.vector_loop import numba_mode

    law = get_law("chinchilla")
    refs = references(law, runs)
    rewrite = log_inputs._replace_powers
    arms = (
        ("vector", rewrite, numba_mode()),
        ("exp_log", rewrite, "NUMBA"),
        ("pow", lambda expression, logs: expression, "NUMBA"),
    )
    functions = {}
    for name, replace, mode in arms:
        log_inputs._replace_powers = replace
        try:
            model = build_model(law, runs, refs=refs)
        finally:
            log_inputs._replace_powers = rewrite
        logp = model.logp()
        grad = pytensor.grad(logp, model.value_vars)
        fn = pytensor.function(model.value_vars, [logp, *grad], mode=mode)
        point = model.initial_point()
        args = [point[v.name] for v in model.value_vars]
        fn(*args)
        functions[name] = (fn, args)
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, (fn, args) in functions.items():
            t0 = time.perf_counter()
            fn(*args)
            times[name].append(1e3 * (time.perf_counter() - t0))
    out = {f"{name}_ms": round(float(np.median(ts)), 3) for name, ts in times.items()}
    out["ratio_pow_to_exp_log"] = round(out["pow_ms"] / out["exp_log_ms"], 2)
    out["ratio_exp_log_to_vector"] = round(out["exp_log_ms"] / out["vector_ms"], 2)
    return out


def inner_cap(runs, *, seed: int) -> dict:
    """Paired: the discrepancy of one fit learned with the inner training runs thinned to
    ``INNER_MAX_TRAIN`` (the default) and with all of them; tau, drift and seconds of each."""
    from bayes_scaling.evaluation import discrepancy
    from bayes_scaling.inference.sampling import sample
    from bayes_scaling.inference.settings import FitSettings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = sample(runs, law="chinchilla", settings=FitSettings(seed=seed))
    out = {"rows": runs.n_runs, "cap": discrepancy.INNER_MAX_TRAIN}
    cap = discrepancy.INNER_MAX_TRAIN
    for arm, limit in (("thinned", cap), ("all", runs.n_runs)):
        discrepancy.INNER_MAX_TRAIN = limit
        try:
            t0 = time.perf_counter()
            fitted = discrepancy.add_discrepancy(
                record, refit=discrepancy.inner_refit(record.settings, law=record.law)
            )
            seconds = time.perf_counter() - t0
        finally:
            discrepancy.INNER_MAX_TRAIN = cap
        info = fitted.info["discrepancy"]
        out[arm] = {
            "seconds": round(seconds, 2),
            "n_inner_train": info["n_inner_train"],
            "tau_median": info["tau_median"],
            "tau_posterior_sd": float(fitted.posterior[discrepancy.VARIABLE].std()),
            "drift_median": info["drift_median"],
            "inner_gate": info["inner_gate"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--draws", type=int, default=DRAWS, help="draws per chain (4 chains)")
    parser.add_argument("--tune", type=int, default=TUNE, help="warm-up steps per chain")
    parser.add_argument("--out", type=Path, default=OUT, help="the JSON written")
    args = parser.parse_args()
    from bayes_scaling.inputs import datasets

    results = {
        "benchmark": "chinchilla law on simulated runs, 4 chains x "
        f"{args.draws} draws after {args.tune} warm-up steps (default: {DRAWS} and {TUNE}), in one "
        "process with the compiled model loaded",
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in args.sizes:
        runs = simulated_runs(n)
        results.setdefault("log_density_gradient", []).append({"rows": n, **gradient_ms(runs)})
        print(json.dumps(results["log_density_gradient"][-1]), flush=True)
        for discrepancy in (None, "lfo"):
            row = one_fit(
                runs, discrepancy=discrepancy, seed=args.seed, draws=args.draws, tune=args.tune
            )
            row["load_average_1min"] = round(os.getloadavg()[0], 2)
            results["fits"].append(row)
            print(json.dumps(row), flush=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")
        if 0.8 * n > 2 * INNER_MAX_TRAIN:
            results["inner_cap"] = inner_cap(runs, seed=args.seed)
            print(json.dumps(results["inner_cap"]), flush=True)
            args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
