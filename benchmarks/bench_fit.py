"""Benchmark the chinchilla fit on Epoch AI's 245 reconstructed Chinchilla runs.

Measures, with medians over repeats:
  * import time of the package and its sampler (fresh process),
  * end-to-end CLI time of ``bayes-scaling fit`` (4 x 1000 draws) from process start to saved file,
  * in-process compile and sampling time, min ESS_bulk per second of sampling, divergences, R-hat.

Writes ``benchmarks/results/bench_fit.json``. Run with ``make bench`` or
``.venv/bin/python benchmarks/bench_fit.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The Epoch AI points shipped in the package (``bayes_scaling.inputs.shipped``).
DATA = ROOT / "bayes_scaling" / "data" / "epoch_chinchilla" / "svg_extracted_data.csv"
OUT = ROOT / "benchmarks" / "results" / "bench_fit.json"


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    if not args.data.exists():
        sys.exit(f"data set not found: {args.data}")
    python = sys.executable
    cli = str(Path(python).parent / "bayes-scaling")

    imports = [
        _timed([python, "-c", "import bayes_scaling.inference.sampling, pymc, nutpie"])
        for _ in range(args.repeats)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "fit.nc"
        base = [
            cli,
            "fit",
            str(args.data),
            "--law",
            "chinchilla",
            "-o",
            str(out),
            "--force",
            "--quiet",
            "--draws",
            "1000",
            "--tune",
            "1000",
            "--chains",
            "4",
        ]
        _timed([*base, "--seed", "0"])  # warm the compile cache
        cli_times = [_timed([*base, "--seed", str(i + 1)]) for i in range(args.repeats)]

    from bayes_scaling import load_runs
    from bayes_scaling.api import fit

    runs = load_runs(args.data)
    fits = []
    for i in range(args.repeats):  # the first compiles; later fits re-use the compiled model
        fits.append(fit(runs, law="chinchilla", seed=100 + i))
    first = fits[0]
    sample_s = [f.info["sample_seconds"] for f in fits]
    ess_per_s = [f.diagnostics.min_ess_bulk / f.info["sample_seconds"] for f in fits]
    summary = first.summary()
    report = {
        "benchmark": "chinchilla law, Epoch AI's 245 Chinchilla points, 4 chains x 1000 draws",
        "repeats": args.repeats,
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "import_seconds_median": statistics.median(imports),
        "cli_fit_seconds_median": statistics.median(cli_times),
        "cli_fit_seconds_all": cli_times,
        "compile_seconds_first": first.info["compile_seconds"],
        "compile_reused_later": [f.info["compiled_model_reused"] for f in fits[1:]],
        "sample_seconds_median": statistics.median(sample_s),
        "min_ess_bulk_per_second_median": statistics.median(ess_per_s),
        "min_ess_bulk": [f.diagnostics.min_ess_bulk for f in fits],
        "divergences": [f.diagnostics.divergences for f in fits],
        "max_r_hat": [f.diagnostics.max_r_hat for f in fits],
        "adaptation": [f.info["adaptation"] for f in fits],
        "posterior_median": {k: float(summary.loc[k, "median"]) for k in first.law.param_names},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
