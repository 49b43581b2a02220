"""Benchmark the report on the demo fit (built-in Chinchilla-like runs, 4 x 1000 draws).

Measures, with medians over repeats (one process, the fit done once):
  * ``build_report`` (every question and every figure),
  * ``Report.to_html`` (PNG encoding of the figures and the template),
  * both together (what the issue's "report < 5 s" target is about),
  * each plot function alone, and the HTML file size;
and, in fresh processes run alternately, ``bayes-scaling report`` of the saved fit from process
start to the written file (start-up and loading the fit included): as shipped, in one process
(no forked children), and (``--python PY``) with another environment, for example a default
install without the optional extras (see ``bench_fit.py``); paired with each report, the classic
point fit of ``bench_fit.py`` (a whole process), whose median ratio reads the report's time in
units of a point fit on any machine.

Writes ``benchmarks/results/bench_report.json``. Run with
``.venv/bin/python benchmarks/bench_report.py [--repeats 3] [--python PY]``.
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

# The yardstick of bench_fit.py: the classic point fit of Epoch AI's points, a whole process.
from bench_fit import DATA as EPOCH
from bench_fit import POINT_FIT

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_report.json"


def _median_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return round(statistics.median(times), 3)


def _cli_report_seconds(fit, repeats: int, other_python: str | None) -> dict[str, float]:
    """Median wall times of ``bayes-scaling report FIT -o report.html`` in fresh processes, arms
    run alternately: this environment; this environment in one process
    (``BAYES_SCALING_REPORT_FORK=0``); and ``other_python``'s environment when given."""
    from bayes_scaling.inference.storage import save_fit
    from bayes_scaling.presentation.report.forked import ENV_SWITCH

    serial = {**os.environ, ENV_SWITCH: "0"}
    arms = {
        "cli_report": (sys.executable, None),
        "cli_report_one_process": (sys.executable, serial),
        "point_fit": (sys.executable, None),
    }
    if other_python:
        arms["cli_report_other_environment"] = (other_python, None)
    times: dict[str, list[float]] = {name: [] for name in arms}
    with tempfile.TemporaryDirectory() as tmp:
        path = save_fit(fit, Path(tmp) / "fit.nc")
        html = str(Path(tmp) / "report.html")

        def run(name: str, python: str, env: dict | None) -> float:
            if name == "point_fit":
                cmd = [python, "-c", POINT_FIT.format(data=str(EPOCH))]
            else:
                cli = str(Path(python).parent / "bayes-scaling")
                cmd = [cli, "report", str(path), "-o", html, "--force", "--quiet"]
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            return time.perf_counter() - t0

        for name, (python, env) in arms.items():
            run(name, python, env)  # warm the file system and font caches
        for _ in range(repeats):
            for name, (python, env) in arms.items():
                times[name].append(run(name, python, env))
    ratios = [r / p for r, p in zip(times["cli_report"], times["point_fit"], strict=True)]
    return {
        **{f"{name}_seconds": round(statistics.median(ts), 3) for name, ts in times.items()},
        "ratio_cli_report_to_point_fit": round(statistics.median(ratios), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--python", default=None, help="also time the CLI with another environment's interpreter"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import bayes_scaling as bs
    from bayes_scaling.presentation import plots
    from bayes_scaling.presentation.report import build_report

    fit = bs.fit(bs.datasets.chinchilla_like(seed=1), law="chinchilla", seed=1)
    report = build_report(fit)  # warm-up: imports, font cache
    html = report.to_html()
    results = {
        "fit": "chinchilla_like(seed=1), 4 chains x 1000 draws",
        "repeats": args.repeats,
        "build_report_seconds": _median_time(lambda: build_report(fit), args.repeats),
        "to_html_seconds": _median_time(report.to_html, args.repeats),
        "build_and_html_seconds": _median_time(lambda: build_report(fit).to_html(), args.repeats),
        **_cli_report_seconds(fit, args.repeats, args.python),
        "html_bytes": len(html.encode()),
        "figures": len(report.figures),
        "plot_seconds": {},
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        },
    }
    calls = {
        "plot_loss_vs_compute": lambda: plots.plot_loss_vs_compute(fit),
        "plot_isoflop_profiles": lambda: plots.plot_isoflop_profiles(fit),
        "plot_isoloss": lambda: plots.plot_isoloss(fit),
        "plot_parameters": lambda: plots.plot_parameters(fit),
        "plot_probability": lambda: plots.plot_probability(fit, target=report.target),
        "plot_loss_quantiles": lambda: plots.plot_loss_quantiles(fit),
        "plot_rank": lambda: plots.plot_rank(fit),
        "plot_energy": lambda: plots.plot_energy(fit),
        "plot_residuals": lambda: plots.plot_residuals(fit),
    }
    for name, call in calls.items():
        results["plot_seconds"][name] = _median_time(call, args.repeats)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
