"""How many warm-up steps do fits need? Paired fits at several ``tune`` values on real data.

For every shipped data set the calibration benchmark uses (Epoch AI's Chinchilla points, each of
Porian et al.'s 15 configurations, datablations' single-epoch runs, a subset of the
revisiting-scaling-laws curves), the Porian configurations pooled (``vary=E,A,B``), and the SLD
benchmark's MoE and vocabulary training sets (laws ``moe`` and ``vocab``), fit with each
``--tunes`` value (same seed, default draws, no discrepancy: the discrepancy's inner fit uses
the same settings; by default no longer second run, ``--max-draws 4000`` allows it) and record:
the diagnostics gate, min ESS (bulk, tail), max R-hat, divergences, sampling seconds, draws per
chain, mean leapfrog steps per draw and min ESS_bulk per second.

Writes ``benchmarks/results/bench_tune.json``. Run from ``benchmarks/`` with
``../.venv/bin/python bench_tune.py [--tunes 1000 500 300] [--seeds 1 2] [--max-draws 4000]``.
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
import pandas as pd
from calibration import FAMILIES

import bayes_scaling as bs
from bayes_scaling.core.constants import DRAWS

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "bench_tune.json"
SLD = Path(bs.__file__).resolve().parent / "data" / "sldbench_2025"


def members():
    """(name, runs table, law, columns, vary) of every fit in the study."""
    for family in FAMILIES.values():
        for name, table, spec in family():
            if "mask" in spec:
                table = table[spec["mask"]]
            yield name, table, spec["law"], None, ()
    porian = pd.concat(
        [t.assign(group=name) for name, t, _ in FAMILIES["porian2024"]()], ignore_index=True
    )
    yield "porian/pooled (vary E, A, B)", porian, "chinchilla", None, ("E", "A", "B")
    moe = pd.read_csv(SLD / "moe.csv")
    moe_cols = {"loss": "loss_validation", "N": "dense_parameter_count"}
    yield "sldbench/moe", moe[moe.split == "train"], "moe", moe_cols, ()
    vocab = pd.read_csv(SLD / "vocab_train.csv")
    vocab = vocab[vocab.vocab_size != vocab.vocab_size.max()]
    yield "sldbench/vocab", vocab, "vocab", {"loss": "Lossu"}, ()


def one(table, law, columns, vary, *, tune: int, seed: int, max_draws: int | None) -> dict:
    law = bs.get_law(law)
    runs = bs.load_runs(table, columns=columns, schema=law.schema)
    settings = bs.FitSettings(
        seed=seed, tune=tune, discrepancy=None, vary=vary, max_draws=max_draws
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        record = bs.fit(runs, law=law, settings=settings)
    d = record.diagnostics
    seconds = record.info["sample_seconds"]
    stats = record.tree["sample_stats"]
    return {
        "gate_ok": bool(d.ok),
        "failed": list(d.failed),
        "min_ess_bulk": round(float(d.min_ess_bulk), 1),
        "min_ess_tail": round(float(d.min_ess_tail), 1),
        "max_r_hat": round(float(d.max_r_hat), 4),
        "divergences": int(d.divergences),
        "sample_seconds": round(float(seconds), 3),
        "draws_per_chain": int(record.info.get("draws_per_chain", settings.draws)),
        "steps_per_draw": round(float(stats["n_steps"].mean()), 2),
        "min_ess_bulk_per_second": round(float(d.min_ess_bulk) / float(seconds), 1),
        "adaptation": record.info["adaptation"],
    }


def _median_ratio(got: list[dict], base: list[dict], key: str) -> float:
    ratios = [g[key] / b[key] for g, b in zip(got, base, strict=True)]
    return round(float(np.median(ratios)), 3)


def summary(rows: list[dict], tunes: list[int]) -> dict:
    out = {}
    for tune in tunes:
        got = [r["fits"][str(tune)] for r in rows if str(tune) in r["fits"]]
        base = [r["fits"][str(tunes[0])] for r in rows if str(tune) in r["fits"]]
        out[str(tune)] = {
            "fits": len(got),
            "gate_ok": sum(g["gate_ok"] for g in got),
            "with_divergences": sum(g["divergences"] > 0 for g in got),
            "longer_runs": sum(g["draws_per_chain"] > DRAWS for g in got),
            "longer_runs_gate_ok": sum(g["draws_per_chain"] > DRAWS and g["gate_ok"] for g in got),
            "total_sample_seconds": round(sum(g["sample_seconds"] for g in got), 2),
            "median_time_ratio_to_first": _median_ratio(got, base, "sample_seconds"),
            "median_ess_ratio_to_first": _median_ratio(got, base, "min_ess_bulk"),
            "min_of_min_ess_bulk": min(g["min_ess_bulk"] for g in got),
            "min_of_min_ess_tail": min(g["min_ess_tail"] for g in got),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tunes", type=int, nargs="+", default=[1000, 500, 300])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    parser.add_argument("--max-draws", type=int, default=0, help="0: no longer second run")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    report = {
        "benchmark": __doc__.splitlines()[0],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "load_average_1min_at_start": round(os.getloadavg()[0], 2),
        "tunes": args.tunes,
        "seeds": args.seeds,
        "max_draws": args.max_draws or None,
        "rows": [],
    }
    t0 = time.perf_counter()
    for name, table, law, columns, vary in members():
        for seed in args.seeds:
            row = {"data": name, "law": law, "seed": seed, "fits": {}}
            for tune in args.tunes:  # paired: the same seed and data at every tune
                try:
                    row["fits"][str(tune)] = one(
                        table, law, columns, vary, tune=tune, seed=seed,
                        max_draws=args.max_draws or None,
                    )  # fmt: skip
                except Exception as error:  # noqa: BLE001 - recorded, the study goes on
                    row["error"] = f"{type(error).__name__}: {error}"[:300]
                    break
            report["rows"].append(row)
            print(json.dumps(row), flush=True)
            report["summary"] = summary([r for r in report["rows"] if "error" not in r], args.tunes)
            report["total_seconds"] = round(time.perf_counter() - t0, 1)
            args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
