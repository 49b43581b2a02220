"""SLD benchmark tasks beyond N and D: Bayesian fits of the built-in laws against least squares.

Tasks (shipped data, ``bayes_scaling/data/sldbench_2025/``, the benchmark's own train/test split):

* ``lr_bsz`` with the ``lr_bs`` law (N, D, learning rate, batch size -> smooth loss);
* ``moe`` with the ``moe`` law (dense parameters, experts -> validation loss);
* ``rectified_ft`` with the ``rectified_ft`` law, one fit per (model, data set) curve; every curve
  has a single test point, so R^2 is computed over the pooled test points of all curves;
* ``vocab`` with the ``vocab`` law on ``vocab_train.csv`` only (the benchmark's test file is not
  shipped): the largest vocabulary size present is held out as a proxy test split.

For each task: R^2 = 1 - SSE/SST on the test runs (SST about the test targets' own mean) of the
posterior median of ``y`` and of ``mu``, of a multi-start ``scipy.optimize.least_squares`` fit of
the same functional form (log residuals for a positive target, raw ones for a real target), and of
the library's Huber baseline; coverage of the central ``y`` intervals; mean 90% width; runtime and
the convergence gate. Run ``python benchmarks/sldbench.py`` (``--quick`` for fewer draws).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import least_squares

import bayes_scaling as bs
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import load_runs
from bayes_scaling.model.plans import plan_parameters, references, user_values

DATA = Path(bs.__file__).resolve().parent / "data" / "sldbench_2025"
RESULTS = Path(__file__).resolve().parent / "results"
LEVELS = (0.5, 0.8, 0.9, 0.95)
_LOG_FAMILIES = {"LogNormal", "Gamma", "HalfNormal", "HalfCauchy", "Exponential", "HalfStudentT"}


# ---------------------------------------------------------------------------------- data
def _task_frames(task: str) -> list[tuple[str, pd.DataFrame, pd.DataFrame, dict[str, str]]]:
    """(label, train, test, columns) for each fit of a task."""
    if task == "lr_bsz":
        df = pd.read_csv(DATA / "lr_bsz.csv")
        cols = {"loss": "smooth loss"}
        return [("lr_bsz", df[df.split == "train"], df[df.split == "test"], cols)]
    if task == "moe":
        df = pd.read_csv(DATA / "moe.csv")
        cols = {"loss": "loss_validation", "N": "dense_parameter_count"}
        return [("moe", df[df.split == "train"], df[df.split == "test"], cols)]
    if task == "rectified_ft":
        df = pd.read_csv(DATA / "rectified_finetune.csv")
        out = []
        for (model, dataset), curve in df.groupby(["model", "dataset"], sort=True):
            train, test = curve[curve.split == "train"], curve[curve.split == "test"]
            if len(train) >= 4 and len(test):
                out.append((f"{model}|{dataset}", train, test, {"loss": "loss"}))
        return out
    if task == "vocab":
        df = pd.read_csv(DATA / "vocab_train.csv")
        held = df.vocab_size == df.vocab_size.max()
        return [("vocab", df[~held], df[held], {"loss": "Lossu"})]
    raise ValueError(task)


def _points(law: Law, test: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    runs = load_runs(test, columns=columns, schema=law.schema)
    return pd.DataFrame({c: runs.column(c) for c in law.inputs}), runs.column("loss")


# ---------------------------------------------------------------------------------- metrics
def r2(y: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE/SST with SST about the mean of ``y`` (the benchmark's variance normalisation)."""
    y, pred = np.asarray(y, float), np.asarray(pred, float)
    return float(1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def interval_metrics(y: np.ndarray, draws: np.ndarray) -> dict[str, float]:
    """Coverage of central intervals of ``draws`` (S, P) at LEVELS and the mean 90% width."""
    out = {}
    for level in LEVELS:
        lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
        out[f"coverage_{int(level * 100)}"] = float(np.mean((y >= lo) & (y <= hi)))
    lo, hi = np.quantile(draws, [0.05, 0.95], axis=0)
    out["width_90"] = float(np.mean(hi - lo))
    return out


# ---------------------------------------------------------------------------------- least squares
def _to_free(family: str, x: np.ndarray) -> np.ndarray:
    if family in _LOG_FAMILIES:
        return np.log(x)
    if family == "Beta":
        return np.log(x / (1 - x))
    return x


def _from_free(family: str, z: np.ndarray) -> np.ndarray:
    if family in _LOG_FAMILIES:
        return np.exp(np.clip(z, -50, 50))
    if family == "Beta":
        return 1 / (1 + np.exp(-z))
    return z


def least_squares_fit(
    law: Law, runs: Any, *, starts: int = 30, seed: int = 0
) -> dict[str, float] | None:
    """Multi-start ``least_squares`` of the law's form in its unit-free parametrisation.

    Starts are prior draws of the sampled (scaled) parameters; residuals are on log loss for a
    positive target and on the target for a real one. Returns user-unit parameters of the best
    start (lowest cost), or None if no start converged to finite values.
    """
    plans = [p for p in plan_parameters(law) if p.name in law.param_names]
    refs = references(law, runs)
    inputs = {c: runs.column(c) for c in law.inputs}
    y = runs.column("loss")
    positive = law.target.is_positive

    def params(z: np.ndarray) -> dict[str, Any]:
        sampled = {p.sampled_name: _from_free(p.prior.family, z[i]) for i, p in enumerate(plans)}
        return user_values(law, tuple(plans), sampled, refs)

    def resid(z: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            mu = law.evaluate(params(z), inputs)
            r = np.log(mu) - np.log(y) if positive else (mu - y) / refs.get("L_scale", 1.0)
        return np.where(np.isfinite(r), r, 1e3)

    rng = np.random.default_rng(seed)
    best = None
    for _ in range(starts):
        z0 = np.array([_to_free(p.prior.family, p.prior.sample(rng, ())) for p in plans], float)
        if not np.all(np.isfinite(resid(z0)) & (np.abs(resid(z0)) < 1e3)):
            continue
        try:
            sol = least_squares(resid, z0, method="trf", x_scale="jac", max_nfev=2000)
        except (ValueError, FloatingPointError):
            continue
        if best is None or sol.cost < best.cost:
            best = sol
    if best is None:
        return None
    return {k: float(np.asarray(v)) for k, v in params(best.x).items()}


# ---------------------------------------------------------------------------------- one fit
def run_one(
    law: Law, train: pd.DataFrame, test: pd.DataFrame, columns: dict[str, str], *, opts: dict
) -> dict[str, Any]:
    """Fit ``law`` on ``train``; predictions, intervals and least-squares fits at ``test``."""
    runs = load_runs(train, columns=columns, schema=law.schema)
    points, y_test = _points(law, test, columns)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bs.fit(runs, law=law, **opts)
        pred = fit.predict(points=points)
    runtime = time.perf_counter() - start
    ydraws = pred["y"].transpose("chain", "draw", "point").values.reshape(-1, len(points))
    mudraws = pred["mu"].transpose("chain", "draw", "point").values.reshape(-1, len(points))
    start = time.perf_counter()
    ls = least_squares_fit(law, runs, seed=opts.get("seed", 0))
    ls_time = time.perf_counter() - start
    inputs = {c: points[c].to_numpy() for c in law.inputs}
    ls_pred = law.evaluate(ls, inputs) if ls else np.full(len(points), np.nan)
    try:
        from bayes_scaling.evaluation.baseline import fit_baseline

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            base = fit_baseline(runs, law=law, n_boot=0)
        hmu = base.predict(points=points)["mu"].transpose("chain", "draw", "point").values
        huber_pred = np.median(hmu.reshape(-1, len(points)), axis=0)
    except Exception as err:  # noqa: BLE001 - record why the reference is missing
        huber_pred = np.full(len(points), np.nan)
        print(f"  huber baseline failed: {type(err).__name__}: {err}")
    d = fit.diagnostics
    return {
        "y": y_test,
        "median_y": np.median(ydraws, axis=0),
        "median_mu": np.median(mudraws, axis=0),
        "ydraws": ydraws,
        "ls": ls_pred,
        "huber": huber_pred,
        "runtime_s": runtime,
        "ls_runtime_s": ls_time,
        "gate_ok": bool(d.ok),
        "diagnostics": {
            "max_r_hat": float(d.max_r_hat),
            "min_ess_bulk": float(d.min_ess_bulk),
            "divergences": int(d.divergences),
            "message": d.message(),
        },
        "medians": {k: float(v) for k, v in fit.summary()["median"].items()},
        "ls_params": ls,
    }


def run_task(task: str, law_name: str, *, opts: dict, max_curves: int | None) -> dict[str, Any]:
    """All fits of one task, pooled into one row of metrics."""
    law = get_law(law_name)
    frames = _task_frames(task)[:max_curves]
    results = []
    for label, train, test, cols in frames:
        print(f"{task}: {label} ({len(train)} train, {len(test)} test)", flush=True)
        results.append((label, run_one(law, train, test, cols, opts=opts)))
    cat = {k: np.concatenate([r[k] for _, r in results]) for k in ("y", "median_y", "median_mu",
                                                                    "ls", "huber")}  # fmt: skip
    cover = [interval_metrics(r["y"], r["ydraws"]) for _, r in results]
    weights = np.array([len(r["y"]) for _, r in results], float)
    row = {
        "task": task,
        "law": law_name,
        "fits": len(results),
        "n_test": int(weights.sum()),
        "r2_median_y": r2(cat["y"], cat["median_y"]),
        "r2_median_mu": r2(cat["y"], cat["median_mu"]),
        "r2_least_squares": r2(cat["y"], cat["ls"]),
        "r2_huber_baseline": r2(cat["y"], cat["huber"]),
        **{k: float(np.average([c[k] for c in cover], weights=weights)) for k in cover[0]},
        "runtime_s": float(sum(r["runtime_s"] for _, r in results)),
        "ls_runtime_s": float(sum(r["ls_runtime_s"] for _, r in results)),
        "gate_passed": int(sum(r["gate_ok"] for _, r in results)),
        "fits_detail": [
            {
                "label": label,
                "gate_ok": r["gate_ok"],
                "diagnostics": r["diagnostics"],
                "runtime_s": r["runtime_s"],
                "posterior_median": r["medians"],
                "least_squares": r["ls_params"],
            }
            for label, r in results
        ],  # fmt: skip
    }
    return row


TASKS = (("lr_bsz", "lr_bs"), ("moe", "moe"), ("rectified_ft", "rectified_ft"), ("vocab", "vocab"))


def to_markdown(rows: list[dict[str, Any]], opts: dict) -> str:
    """The results table as markdown."""
    head = (
        "| task | law | fits | test runs | R² median y | R² median mu | R² least squares | "
        "R² Huber | cov 50 | cov 80 | cov 90 | cov 95 | mean 90% width | runtime (s) | gate |"
    )
    lines = [
        "# SLD benchmark (sldbench_2025): Bayesian fits vs least squares",
        "",
        f"Sampler settings: {opts} (anything not given: the library's defaults). "
        "Data: `bayes_scaling/data/sldbench_2025/` (see its "
        "PROVENANCE.md). R² = 1 - SSE/SST on the test runs, SST about the test mean. "
        "rectified_ft: one fit per (model, data set) curve, one test point each, R² pooled over "
        "curves. vocab: proxy split, the largest vocab_size of vocab_train.csv held out.",
        "",
        head,
        "|" + "---|" * 15,
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['law']} | {r['fits']} | {r['n_test']} | {r['r2_median_y']:.3f} "
            f"| {r['r2_median_mu']:.3f} | {r['r2_least_squares']:.3f} | "
            f"{r['r2_huber_baseline']:.3f} | {r['coverage_50']:.2f} | {r['coverage_80']:.2f} | "
            f"{r['coverage_90']:.2f} | {r['coverage_95']:.2f} | {r['width_90']:.4g} | "
            f"{r['runtime_s']:.0f} | {r['gate_passed']}/{r['fits']} |"
        )
    lines += ["", "Convergence diagnostics of fits that failed the gate:", ""]
    for r in rows:
        for f in r["fits_detail"]:
            if not f["gate_ok"]:
                d = f["diagnostics"]
                lines.append(
                    f"- {r['task']} {f['label']}: r_hat {d['max_r_hat']:.3f}, ESS bulk "
                    f"{d['min_ess_bulk']:.0f}, divergences {d['divergences']}"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Run the tasks and write ``results/sldbench.json`` and ``.md``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer draws, fewer curves")
    parser.add_argument("--tasks", nargs="*", default=[t for t, _ in TASKS])
    parser.add_argument(
        "--likelihood",
        default="student_t",
        help="student_t (default) or normal; results go to sldbench_normal.* for normal",
    )
    args = parser.parse_args(argv)
    opts = {"seed": 1}  # the library's default sampling (draws, warm-up, chains, discrepancy)
    if args.quick:
        opts = {"draws": 200, "tune": 300, "chains": 2, "seed": 1}
    if args.likelihood != "student_t":
        opts["likelihood"] = args.likelihood
    stem = "sldbench" if args.likelihood == "student_t" else f"sldbench_{args.likelihood}"
    rows = []
    for task, law in TASKS:
        if task in args.tasks:
            max_curves = 5 if args.quick and task == "rectified_ft" else None
            rows.append(run_task(task, law, opts=opts, max_curves=max_curves))
            print({k: v for k, v in rows[-1].items() if k != "fits_detail"}, flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps({"settings": opts, "rows": rows}, indent=1))
    (RESULTS / f"{stem}.md").write_text(to_markdown(rows, opts))


if __name__ == "__main__":
    main()
