"""Benchmark the chinchilla fit on Epoch AI's 245 reconstructed Chinchilla runs.

The machine is shared and noisy, so speed is measured as paired ratios and medians within one run:

* start-up: import time of the command line and of the fit path (fresh processes, medians);
* whole process: ``bayes-scaling fit`` (default settings: 4 x 1000 draws and the discrepancy's
  inner fit, from process start to saved file) against the classic point fit
  (``fit_baseline(runs, law="chinchilla", n_boot=0)`` in a fresh process), run alternately
  A B A B; the median of the per-pair ratios. ``--before PATH`` adds a third arm, the CLI of
  another source tree (e.g. a copy of the package before a change), in the same rotation;
* in process (compiled model loaded): sampling time, min ESS_bulk and min ESS_bulk per second of
  sampling, the discrepancy's share of the fit;
* the discrepancy's tau: paired fits whose inner leave-future-out fit uses the fit's own settings
  ("full") or :func:`~bayes_scaling.evaluation.discrepancy.inner_settings` ("inner"), on the Epoch
  data and on ``chinchilla_like(seed=0)``, with the posterior spread of tau for scale;
* ``--explore``: min ESS_bulk and ESS/s for shorter warm-up and fewer draws (no defaults change).

``--python PY`` times start-up and whole processes with another environment's interpreter, for
example a default install without the optional extras, which is what a user of
``pip install bayes-scaling`` has. The test environment also holds Dask (extra ``dask``), and
xarray imports ``dask.array`` and ``distributed`` whenever they are installed: about 1 s more
for every process that builds a DataArray. Make a default install beside the repository with
``UV_PROJECT_ENVIRONMENT=../default-env uv sync --frozen`` (no ``--extra``). The result records
whether Dask was installed in the timed environment.

Writes ``benchmarks/results/bench_fit.json`` (or ``--out``). Run with ``make bench`` or
``.venv/bin/python benchmarks/bench_fit.py [--pairs 5] [--before PATH] [--python PY] [--explore]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: The Epoch AI points shipped in the package (``bayes_scaling.inputs.shipped``).
DATA = ROOT / "bayes_scaling" / "data" / "epoch_chinchilla" / "svg_extracted_data.csv"
OUT = ROOT / "benchmarks" / "results" / "bench_fit.json"
POINT_FIT = (
    "from bayes_scaling.evaluation.baseline import fit_baseline\n"
    "from bayes_scaling.inputs.runs import load_runs\n"
    "fit_baseline(load_runs({data!r}), law='chinchilla', n_boot=0)\n"
)


def _timed(cmd: list[str], env: dict | None = None) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env=env)
    return time.perf_counter() - t0


def _env(pythonpath: Path | None) -> dict | None:
    if pythonpath is None:
        return None
    return {**os.environ, "PYTHONPATH": str(pythonpath)}


def _median(values) -> float:
    return round(statistics.median(values), 3)


#: nutpie as a fit imports it (model/nutpie_import.py: without the rest of ArviZ).
_NUTPIE = "from bayes_scaling.model.nutpie_import import import_nutpie; import_nutpie()"


def startup(python: str, repeats: int) -> dict:
    """Medians of fresh-process import times (seconds)."""
    probes = {
        "cli": "import bayes_scaling.presentation.cli",
        # a model with an entry on disk samples without PyMC (model/native_store.py)
        "fit_path": f"import bayes_scaling.evaluation.fitting, numba; {_NUTPIE}",
        "fit_path_with_pymc": f"import bayes_scaling.evaluation.fitting, numba, pymc; {_NUTPIE}",
        "python": "pass",
    }
    return {
        name: _median([_timed([python, "-c", code]) for _ in range(repeats)])
        for name, code in probes.items()
    }


def whole_process(python: str, data: Path, pairs: int, before: Path | None) -> dict:
    """CLI fit and point fit (and the CLI of ``before``) alternately in fresh processes."""
    cli = str(Path(python).parent / "bayes-scaling")
    point = [python, "-c", POINT_FIT.format(data=str(data))]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fit.nc"

        def cli_fit(seed: int, env=None) -> float:
            cmd = [cli, "fit", str(data), "-o", str(out), "--force", "--quiet", "--seed", str(seed)]
            return _timed(cmd, env)

        arms = {"cli_fit": lambda i: cli_fit(i + 1), "point_fit": lambda i: _timed(point)}
        if before is not None:
            arms["cli_fit_before"] = lambda i: cli_fit(i + 1, _env(before))
        for arm in arms.values():  # warm caches (compiled model, file system)
            arm(-1)
        times: dict[str, list[float]] = {name: [] for name in arms}
        for i in range(pairs):
            for name, arm in arms.items():
                times[name].append(round(arm(i), 3))
    ratio = [a / b for a, b in zip(times["cli_fit"], times["point_fit"], strict=True)]
    result = {
        "pairs": pairs,
        "seconds": times,
        "median_seconds": {name: _median(t) for name, t in times.items()},
        "ratio_cli_to_point_fit": [round(r, 3) for r in ratio],
        "ratio_cli_to_point_fit_median": _median(ratio),
    }
    if before is not None:
        result["before_tree"] = "another source tree (--before; its path is not recorded)"
        old = [a / b for a, b in zip(times["cli_fit_before"], times["point_fit"], strict=True)]
        new_to_old = [a / b for a, b in zip(times["cli_fit"], times["cli_fit_before"], strict=True)]
        result["ratio_before_cli_to_point_fit"] = [round(r, 3) for r in old]
        result["ratio_before_cli_to_point_fit_median"] = _median(old)
        result["ratio_cli_to_before_cli_median"] = _median(new_to_old)
    return result


def in_process(runs, repeats: int) -> dict:
    """Fits with the compiled model loaded: sampling speed and the discrepancy's share."""
    from bayes_scaling.evaluation.fitting import fit
    from bayes_scaling.inference.settings import FitSettings

    fits, walls = [], []
    for i in range(repeats + 1):  # the first loads the compiled model
        t0 = time.perf_counter()
        fits.append(fit(runs, law="chinchilla", settings=FitSettings(seed=100 + i)))
        walls.append(time.perf_counter() - t0)
    first, fits, walls = fits[0], fits[1:], walls[1:]
    sample_s = [f.info["sample_seconds"] for f in fits]
    ess = [f.diagnostics.min_ess_bulk for f in fits]
    return {
        "compile_seconds_first": first.info["compile_seconds"],
        "compile_reused_later": all(f.info["compiled_model_reused"] for f in fits),
        "fit_seconds_median": _median(walls),
        "sample_seconds_median": _median(sample_s),
        "post_processing_and_discrepancy_seconds_median": _median(
            [
                w - f.info["sample_seconds"] - f.info["compile_seconds"]
                for w, f in zip(walls, fits, strict=True)
            ]
        ),
        "min_ess_bulk": [round(e, 1) for e in ess],
        "min_ess_bulk_per_second_median": _median(
            [e / s for e, s in zip(ess, sample_s, strict=True)]
        ),
        "divergences": [f.diagnostics.divergences for f in fits],
        "max_r_hat": [round(f.diagnostics.max_r_hat, 4) for f in fits],
        "gate_ok": [bool(f.diagnostics.ok) for f in fits],
        "adaptation": [f.info["adaptation"] for f in fits],
        "tau_median": [f.info["discrepancy"]["tau_median"] for f in fits],
        "posterior_median": {
            k: float(fits[0].posterior[k].median()) for k in fits[0].law.param_names
        },
    }


def tau_check(datasets: dict, seeds: int) -> dict:
    """Paired tau: the inner fit with the fit's own settings ("full") or ``inner_settings``."""
    from bayes_scaling.evaluation import discrepancy
    from bayes_scaling.inference.sampling import sample
    from bayes_scaling.inference.settings import FitSettings

    out = {}
    for name, runs in datasets.items():
        rows = []
        for seed in range(1, seeds + 1):
            record = sample(runs, law="chinchilla", settings=FitSettings(seed=seed))
            row = {"seed": seed}
            arms = {
                "full": record.settings.replace(discrepancy=None),
                "inner": discrepancy.inner_settings(record.settings),
            }
            for arm, settings in arms.items():
                inner: dict = {}

                def refit(train, settings=settings, inner=inner, law=record.law):
                    fitted = sample(train, law=law, settings=settings)
                    inner.update(
                        sample_seconds=fitted.info["sample_seconds"],
                        min_ess_bulk=round(fitted.diagnostics.min_ess_bulk, 1),
                        gate_ok=bool(fitted.diagnostics.ok),
                    )
                    return fitted

                t0 = time.perf_counter()
                with_tau = discrepancy.add_discrepancy(record, refit=refit)
                tau = with_tau.posterior[discrepancy.VARIABLE].values
                row[arm] = {
                    "tau_median": with_tau.info["discrepancy"]["tau_median"],
                    "tau_posterior_sd": float(tau.std()),
                    "discrepancy_seconds": round(time.perf_counter() - t0, 3),
                    **inner,
                }
            rows.append(row)
        summary = {}
        for arm in ("full", "inner"):
            taus = [r[arm]["tau_median"] for r in rows]
            summary[arm] = {
                "tau_median_mean": float(np.mean(taus)),
                "tau_median_sd_over_seeds": float(np.std(taus, ddof=1)),
                "tau_posterior_sd_median": float(
                    np.median([r[arm]["tau_posterior_sd"] for r in rows])
                ),
                "inner_sample_seconds_median": _median([r[arm]["sample_seconds"] for r in rows]),
                "inner_min_ess_bulk_min": min(r[arm]["min_ess_bulk"] for r in rows),
                "inner_gate_ok": all(r[arm]["gate_ok"] for r in rows),
                "discrepancy_seconds_median": _median(
                    [r[arm]["discrepancy_seconds"] for r in rows]
                ),
            }
        diff = [r["inner"]["tau_median"] - r["full"]["tau_median"] for r in rows]
        summary["paired_difference_inner_minus_full"] = {
            "mean": float(np.mean(diff)),
            "standard_error": float(np.std(diff, ddof=1) / np.sqrt(len(diff))),
        }
        out[name] = {"summary": summary, "rows": rows}
    return out


def explore(runs, seeds: int) -> dict:
    """min ESS_bulk and ESS/s of the main fit for shorter warm-up and fewer draws."""
    from bayes_scaling.inference.sampling import sample
    from bayes_scaling.inference.settings import FitSettings

    out = {}
    for tune, draws in ((1000, 1000), (500, 1000), (500, 500), (300, 500), (300, 300)):
        fits = [
            sample(
                runs,
                law="chinchilla",
                settings=FitSettings(seed=s, tune=tune, draws=draws, discrepancy=None),
            )
            for s in range(1, seeds + 1)
        ]
        ess = [f.diagnostics.min_ess_bulk for f in fits]
        out[f"tune={tune},draws={draws}"] = {
            "min_ess_bulk_median": _median(ess),
            "min_ess_bulk_min": round(min(ess), 1),
            "min_ess_bulk_per_second_median": _median(
                [e / f.info["sample_seconds"] for e, f in zip(ess, fits, strict=True)]
            ),
            "gate_ok": all(f.diagnostics.ok for f in fits),
            "divergences": [f.diagnostics.divergences for f in fits],
            "posterior_median_alpha_beta": [
                [round(float(f.posterior[k].median()), 4) for k in ("alpha", "beta")] for f in fits
            ],
        }
    return out


def _write(report: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")


def _has_dask(python: str) -> bool:
    probe = "import importlib.util, sys; sys.exit(importlib.util.find_spec('dask') is None)"
    return subprocess.run([python, "-c", probe], check=False).returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--tau-seeds", type=int, default=6)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument(
        "--before", type=Path, default=None, help="another source tree (PYTHONPATH)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="interpreter of the environment to time"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--explore", action="store_true")
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data set not found: {args.data}")
    python = args.python
    report = {
        "benchmark": "chinchilla law, Epoch AI's 245 Chinchilla points, default settings",
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        },
        "timed_environment": {
            "this_interpreter": python == sys.executable,
            "dask_installed": _has_dask(python),
        },
        "startup_seconds_median": startup(python, args.repeats),
        "whole_process": whole_process(python, args.data, args.pairs, args.before),
    }
    warnings.simplefilter("ignore")
    from bayes_scaling.inputs import datasets
    from bayes_scaling.inputs.runs import load_runs

    runs = load_runs(args.data)
    _write(report, args.out)
    report["in_process"] = in_process(runs, args.repeats)
    _write(report, args.out)
    if args.tau_seeds:
        report["tau"] = tau_check(
            {"epoch_chinchilla": runs, "chinchilla_like_seed0": datasets.chinchilla_like(seed=0)},
            args.tau_seeds,
        )
        _write(report, args.out)
    if args.explore:
        report["explore"] = explore(runs, 3)
    report["machine"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    _write(report, args.out)
    print(json.dumps({k: v for k, v in report.items() if k != "tau"}, indent=2))
    for name, tau in report.get("tau", {}).items():
        print(name, json.dumps(tau["summary"], indent=1))


if __name__ == "__main__":
    main()
