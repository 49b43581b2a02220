"""Tables of a report: headline answers (forecast, allocation, compute for a target), parameters,
fit quality (R^2, RMSE, PSIS-LOO), priors, data, the diagnostics gate and package versions.

Each function asks the fit one question and returns a DataFrame (or dict) of display strings.
"""

from __future__ import annotations

import math
import platform
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import summarize
from bayes_scaling.presentation.formatting import flops, number, short
from bayes_scaling.presentation.summaries import discrepancy_note, fit_summary
from bayes_scaling.questions.predict import predict

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

#: Packages whose versions the reproducibility block lists.
PACKAGES = (
    "bayes-scaling",
    "pymc",
    "nutpie",
    "pytensor",
    "arviz",
    "numpy",
    "xarray",
    "scipy",
    "pandas",
    "matplotlib",
)


# ------------------------------------------------------------------------------------ helpers
def interval_text(lo: float, hi: float, fmt) -> str:
    """'[lo, hi]' with a formatter."""
    return f"[{fmt(lo)}, {fmt(hi)}]"


def _q(values: np.ndarray, ci: float) -> tuple[float, float, float]:
    """Lower, median, upper of all draws by the one interval rule (inf: not reached)."""
    iv = summarize(values, ci=ci)
    return iv["lower"], iv["median"], iv["upper"]


def _loss(x: float) -> str:
    return f"{x:.4f}" if math.isfinite(x) else "—"


def _flops(x: float) -> str:
    return flops(x, digits=3) if math.isfinite(x) else "not reached"


def _short(x: float) -> str:
    return short(x) if math.isfinite(x) else "—"


def _quiet(func, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return func(*args, **kwargs)


# ------------------------------------------------------------------------------------ headline
def forecast_table(fit: FitRecord, compute: list[float], *, ci: float) -> pd.DataFrame:
    """Expected loss (mu) and a new run's loss (y) at each budget, compute-optimally allocated."""
    if not compute:
        raise QuestionError("no compute budget to forecast at: give --compute")
    rows = []
    allocation = _allocation(fit, compute)
    for i, c in enumerate(compute):
        if allocation is not None:
            mu = allocation["loss"].isel(compute=i).values
            n_med = float(np.nanmedian(allocation["N_opt"].isel(compute=i).values))
            y = predict(fit, N=n_med, C=c)["y"].values
            how = "compute-optimal N, D"
        elif fit.law.inputs == ("C",):
            pred = predict(fit, C=c)
            mu, y, how = pred["mu"].values, pred["y"].values, "law in C"
        else:
            raise QuestionError(
                f"a forecast at a compute budget needs a law in C, or in N and D where lower is "
                f"better (to allocate the budget); {fit.law.name} takes "
                f"{', '.join(fit.law.inputs)} ({fit.law.direction} is better): use predict "
                "at chosen N and D instead"
            )
        m_lo, m_med, m_hi = _q(mu, ci)
        y_lo, y_med, y_hi = _q(y, ci)
        rows.append(
            {
                "compute": _flops(c) + " FLOPs",
                "expected loss (law)": _loss(m_med),
                "expected loss (law) interval": interval_text(m_lo, m_hi, _loss),
                "predicted run loss": _loss(y_med),
                "predicted run loss interval": interval_text(y_lo, y_hi, _loss),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["how"] = how
    return frame


def _allocation(fit: FitRecord, compute: list[float]):
    """optimal_allocation at the budgets, or None when the law has no N-D allocation."""
    if not {"N", "D"} <= set(fit.law.inputs) or fit.law.direction != "lower":
        return None
    from bayes_scaling.questions.optimal import optimal_allocation

    return _quiet(optimal_allocation, fit, compute=np.asarray(compute, dtype=float))


def allocation_table(fit: FitRecord, compute: list[float], *, ci: float) -> pd.DataFrame:
    """Compute-optimal N, D and tokens per parameter at each budget, with intervals."""
    allocation = _allocation(fit, compute)
    if allocation is None:
        raise QuestionError(
            f"compute-optimal N and D need a law in N and D where lower is better; "
            f"{fit.law.name} takes {', '.join(fit.law.inputs)}"
        )
    rows = []
    for i, c in enumerate(compute):
        n_lo, n_med, n_hi = _q(allocation["N_opt"].isel(compute=i).values, ci)
        d_lo, d_med, d_hi = _q(allocation["D_opt"].isel(compute=i).values, ci)
        r_lo, r_med, r_hi = _q(allocation["tokens_per_param"].isel(compute=i).values, ci)
        rows.append(
            {
                "compute": _flops(c) + " FLOPs",
                "N (params)": _short(n_med),
                "N (params) interval": interval_text(n_lo, n_hi, _short),
                "D (tokens)": _short(d_med),
                "D (tokens) interval": interval_text(d_lo, d_hi, _short),
                "tokens / param": f"{r_med:.3g}",
                "tokens / param interval": f"[{r_lo:.3g}, {r_hi:.3g}]",
            }
        )
    return pd.DataFrame(rows)


def target_table(fit: FitRecord, target: float, *, ci: float) -> pd.DataFrame:
    """Compute (and allocation) to reach the target with 50% and 90% probability."""
    from bayes_scaling.questions.budget import compute_at_probability, compute_for_target

    if not {"N", "D"} <= set(fit.law.inputs) or fit.law.direction != "lower":
        raise QuestionError(
            f"the compute for a target loss needs a law in N and D where lower is better; "
            f"{fit.law.name} takes {', '.join(fit.law.inputs)}"
        )
    at_p = _quiet(compute_at_probability, fit, target=target, probability=[0.5, 0.9])
    needed = _quiet(compute_for_target, fit, target=target)
    draws = needed["compute_needed"].values
    lo, _, hi = _q(draws, ci)
    reach = float(needed["p_reachable"])
    rows = []
    for i, p in enumerate((0.5, 0.9)):
        c = float(at_p["compute"].values[i])
        rows.append(
            {
                "probability": f"{p:.0%}",
                "compute": _flops(c) + (" FLOPs" if math.isfinite(c) else ""),
                "N (params)": _short(float(at_p["N"].values[i])),
                "D (tokens)": _short(float(at_p["D"].values[i])),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs["interval"] = (
        f"compute needed per posterior draw: {ci:.0%} interval "
        f"{interval_text(lo, hi, _flops)}; {reach:.0%} of draws can reach {target:.4g} at all"
    )
    return frame


# ------------------------------------------------------------------------------------ tables
def fit_quality(fit: FitRecord, *, loo: list | None = None) -> pd.DataFrame:
    """R^2 and RMSE of log-loss at the posterior-median curve, and PSIS-LOO (elpd, p_loo).

    ``loo``: the rows of :func:`loo_rows`, when already computed (e.g. in another process).
    """
    from bayes_scaling.questions.draws import law_draws

    inputs = {c: fit.runs.column(c)[None, None, :] for c in fit.law.inputs}
    log_mu = np.log(fit.law.evaluate(law_draws(fit), inputs))
    log_mu = np.median(log_mu.reshape(-1, log_mu.shape[-1]), axis=0)
    observed = np.log(fit.runs.column("loss"))
    resid = observed - log_mu
    r2 = 1 - float(np.sum(resid**2)) / float(np.sum((observed - observed.mean()) ** 2))
    rows = [
        ("R² on log-loss", f"{r2:.4f}", "posterior-median expected loss at the observed runs"),
        (
            "RMSE on log-loss",
            f"{float(np.sqrt(np.mean(resid**2))):.4g}",
            f"≈ {100 * float(np.sqrt(np.mean(resid**2))):.2g}% typical error on the loss",
        ),
    ]
    rows.extend(tuple(row) for row in (loo_rows(fit) if loo is None else loo))
    return pd.DataFrame(rows, columns=["measure", "value", "meaning"])


def loo_rows(fit: FitRecord) -> list[tuple[str, str, str]]:
    """The report's PSIS-LOO rows (measure, value, meaning); one "unavailable" row on failure."""
    try:
        import arviz_stats

        from bayes_scaling.evaluation.compare import loo_tree

        tree = loo_tree(fit)
        loo = _quiet(arviz_stats.loo, tree)
    except Exception as error:  # LOO is informative only; never block a report on it
        return [("PSIS-LOO", "unavailable", f"{type(error).__name__}: {error}")]
    k = np.asarray(loo.pareto_k).ravel()
    bad = int(np.sum(k > 0.7))
    return [
        (
            "elpd_loo",
            f"{float(loo.elpd):.2f} ± {float(loo.se):.2f}",
            "expected log predictive density of a left-out run (higher is better)",
        ),
        ("p_loo", f"{float(loo.p):.2f}", "effective number of parameters"),
        (
            "Pareto k > 0.7",
            f"{bad} of {k.size}",
            "runs whose LOO estimate is unreliable (0 is good)",
        ),
    ]


def parameter_table(fit: FitRecord, *, ci: float) -> pd.DataFrame:
    """Median, interval, sd, R-hat and ESS of each parameter, with descriptions."""
    table = fit_summary(fit, ci=ci)
    described = {p.name: p.description for p in fit.law.parameters}
    described.update(sigma="noise scale on log(loss)", nu="Student-t degrees of freedom")
    rows = []
    for name, row in table.iterrows():
        rows.append(
            {
                "parameter": name,
                "median": number(row["median"]),
                f"{ci:.0%} interval": interval_text(row["lower"], row["upper"], number),
                "sd": number(row["sd"]),
                "R-hat": "fixed" if not np.isfinite(row["r_hat"]) else f"{row['r_hat']:.3f}",
                "ESS bulk": "" if not np.isfinite(row["ess_bulk"]) else f"{row['ess_bulk']:.0f}",
                "meaning": described.get(name, ""),
            }
        )
    return pd.DataFrame(rows)


def prior_table(fit: FitRecord) -> pd.DataFrame:
    """Prior of each sampled quantity, on the scale it is sampled, with its meaning."""
    meaning = {p.name: (p.scaled_meaning or p.description) for p in fit.law.parameters}
    meaning.update(sigma="noise scale on log(loss)", nu="Student-t degrees of freedom")
    rows = []
    for plan in fit.plans:
        rows.append(
            {
                "parameter": plan.name,
                "prior": str(plan.prior),
                "on": plan.sampled_name if plan.scaled else f"{plan.name} (user units)",
                "source": "user"
                if plan.name in fit.priors or plan.sampled_name in fit.priors
                else "default",
                "meaning": meaning.get(plan.name, "")
                if plan.scaled
                else next(
                    (p.description for p in fit.law.parameters if p.name == plan.name),
                    meaning.get(plan.name, ""),
                ),
            }
        )
    return pd.DataFrame(rows)


def data_table(fit: FitRecord) -> pd.DataFrame:
    """The runs, with N, D, C in human units."""
    table = fit.runs.table.copy()
    for col in table.columns:
        if col in ("N", "D", "U"):
            table[col] = [short(v) for v in table[col]]
        elif col == "C":
            table[col] = [flops(v, digits=3) for v in table[col]]
        elif col == "loss":
            table[col] = [f"{v:.4f}" for v in table[col]]
    table.insert(0, "run", range(len(table)))
    return table


def gate_info(fit: FitRecord) -> dict[str, Any]:
    """The diagnostics gate for the report: pass/fail, message and one row per check."""
    d = fit.diagnostics
    t = d.thresholds
    failed = set(d.failed)
    names = {
        "max_r_hat": ("max R-hat", "<=", lambda v: f"{v:.3f}"),
        "min_ess_bulk": ("min ESS bulk", ">=", lambda v: f"{v:.0f}"),
        "min_ess_tail": ("min ESS tail", ">=", lambda v: f"{v:.0f}"),
        "divergences": ("divergences", "<=", lambda v: f"{int(v)}"),
        "min_bfmi": ("min E-BFMI", ">=", lambda v: f"{v:.2f}"),
    }
    checks = pd.DataFrame(
        [
            {
                "check": label,
                "value": fmt(getattr(d, key)),
                "needs": f"{op} {t[key]:g}",
                "status": "FAILED" if key in failed else "ok",
            }
            for key, (label, op, fmt) in names.items()
        ]
    )
    return {
        "ok": d.ok,
        "message": d.message(),
        "failed": [names[k][0] for k in d.failed],
        "checks": checks,
        "discrepancy": discrepancy_note(fit),
    }


def versions() -> dict[str, str]:
    """Installed versions of the packages that produced the fit and the report."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out
