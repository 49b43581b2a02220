"""Compare laws fitted to the same runs by PSIS-LOO (Vehtari et al. 2017, arXiv:1507.04544).

LOO estimates how well each fit predicts a run left out at random from among the observed runs:
it measures interpolation. A planner usually extrapolates to larger runs; leave-future-out
backtests (:mod:`bayes_scaling.evaluation.backtest`, ``bayes-scaling backtest``) measure that, and
can be
added beside LOO with ``backtest=True`` (one extra fit per law on the smaller runs).

ELPD values are on the scale of log(loss), the scale of every fit's likelihood, so fits of
different laws to the same runs are comparable.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.model.plans import observed_values
from bayes_scaling.questions.predict import pointwise_log_likelihood

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

__all__ = [
    "INTERPRETATION",
    "PARETO_K_THRESHOLD",
    "ComparisonWarning",
    "LawComparison",
    "compare_fits",
]

#: Pareto k above which a run's PSIS-LOO estimate is unreliable (Vehtari et al. 2024,
#: "Pareto smoothed importance sampling", JMLR 25).
PARETO_K_THRESHOLD = 0.7
#: Printed with every comparison.
INTERPRETATION = (
    "LOO measures interpolation; backtests (bayes-scaling backtest) measure extrapolation"
)


class ComparisonWarning(UserWarning):
    """A comparison is less reliable than usual: high Pareto k, or a fit failed its gate."""


@dataclass
class LawComparison:
    """Result of :func:`compare_fits`.

    Attributes
    ----------
    table : pd.DataFrame
        One row per fit (best first): ``elpd_loo``, ``se``, ``d_loo`` (difference to the best),
        ``dse`` (its standard error), ``weight`` (stacking), ``p_loo``, ``n_high_k`` and
        ``high_k_runs`` (run indices with k > threshold); with backtests also ``lfo_*`` columns.
    pareto_k : dict[str, np.ndarray]
        Pointwise Pareto k of each fit.
    warnings : list[str]
        Human-readable warnings (high Pareto k, failed diagnostics).
    """

    table: pd.DataFrame
    pareto_k: dict[str, np.ndarray]
    warnings: list[str] = field(default_factory=list)
    backtest: dict[str, dict[str, Any]] | None = None
    note: str = INTERPRETATION

    def to_dict(self) -> dict[str, Any]:
        """JSON-able result: rows of the table, warnings, the interpretation note."""
        rows = []
        for name, row in self.table.iterrows():
            entry: dict[str, Any] = {"name": str(name)}
            for col, value in row.items():
                if isinstance(value, list | tuple):
                    entry[col] = [int(v) for v in value]
                elif isinstance(value, bool | np.bool_):
                    entry[col] = bool(value)
                elif isinstance(value, int | np.integer):
                    entry[col] = int(value)
                else:
                    entry[col] = _float(value)
            rows.append(entry)
        return {
            "method": "PSIS-LOO (arviz_stats.loo / compare, stacking weights)",
            "scale": "log predictive density of log(loss)",
            "pareto_k_threshold": PARETO_K_THRESHOLD,
            "models": rows,
            "warnings": list(self.warnings),
            "backtest": self.backtest,
            "note": self.note,
        }


def _float(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if np.isfinite(x) else None


def loo_tree(fit: FitRecord) -> xr.DataTree:
    """DataTree with ``posterior``, ``log_likelihood`` and ``observed_data`` groups for ArviZ."""
    ll = pointwise_log_likelihood(fit)
    post = fit.posterior[list(fit.param_names)]
    name, values = observed_values(fit.law, fit.runs, fit.refs)
    observed = xr.Dataset({name: (("run",), values)})
    return xr.DataTree.from_dict(
        {"posterior": post, "log_likelihood": ll, "observed_data": observed}
    )


def check_same_runs(fits: Mapping[str, FitRecord]) -> None:
    """Raise QuestionError unless every fit was made on the same runs (inputs and losses)."""
    names = list(fits)
    first = fits[names[0]].runs
    for name in names[1:]:
        runs = fits[name].runs
        reason = None
        if runs.n_runs != first.n_runs:
            reason = f"{runs.n_runs} runs against {first.n_runs}"
        else:
            for col in ("loss", "N", "D", "C", "U"):
                if first.has(col) and runs.has(col):
                    a, b = first.column(col), runs.column(col)
                    bad = np.flatnonzero(~np.isclose(a, b, rtol=1e-9, atol=0.0))
                    if bad.size:
                        reason = (
                            f"column {col} differs at run(s) "
                            + ", ".join(str(i) for i in bad[:5])
                            + (f" and {bad.size - 5} more" if bad.size > 5 else "")
                            + f" (e.g. {a[bad[0]]:.6g} against {b[bad[0]]:.6g})"
                        )
                        break
        if reason:
            raise QuestionError(
                f"fits {names[0]!r} ({first.source}) and {name!r} ({runs.source}) were made on "
                f"different runs: {reason}. LOO can only compare laws fitted to the same runs; "
                "refit the laws on one runs table and compare those fits"
            )


def compare_fits(
    fits: Mapping[str, FitRecord] | Sequence[FitRecord],
    *,
    pareto_k_threshold: float = PARETO_K_THRESHOLD,
    backtest: bool = False,
    backtest_changes: Mapping[str, Any] | None = None,
) -> LawComparison:
    """Compare fits of different laws (or priors, likelihoods) to the same runs by PSIS-LOO.

    Parameters
    ----------
    fits : mapping of name -> FitRecord, or sequence of FitRecord
        At least two fits on identical runs. A sequence is named by law (made unique).
    pareto_k_threshold : float
        Runs with Pareto k above this are named in a warning (default 0.7).
    backtest : bool
        Also run a leave-future-out backtest per fit (refits on the smaller runs with the fit's
        law and its own settings, pooling included; default split) and add its scores as
        ``lfo_*`` columns.
    backtest_changes : mapping, optional
        :class:`FitSettings` fields changed for the backtests' refits (e.g. ``draws``, ``seed``).

    Returns
    -------
    LawComparison

    Raises
    ------
    QuestionError
        Fewer than two fits, or fits on different runs.
    """
    from arviz_stats import compare as az_compare
    from arviz_stats import loo

    fits = _named(fits)
    if len(fits) < 2:
        raise QuestionError("give at least two fits to compare (e.g. chinchilla.nc kaplan.nc)")
    check_same_runs(fits)
    results, pareto_k, messages = {}, {}, []
    for name, fit in fits.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results[name] = loo(loo_tree(fit), pointwise=True)
        k = np.asarray(results[name].pareto_k).ravel()
        pareto_k[name] = k
        high = np.flatnonzero(k > pareto_k_threshold)
        if high.size:
            shown = ", ".join(f"{i} (k={k[i]:.2f})" for i in high[:8])
            more = f" and {high.size - 8} more" if high.size > 8 else ""
            messages.append(
                f"{name}: {high.size} run(s) with Pareto k > {pareto_k_threshold:g}: "
                f"{shown}{more}; their LOO estimates are unreliable (influential or outlying "
                "runs) - check them, or rely on backtests for this law"
            )
        if not fit.diagnostics.ok:
            messages.append(f"{name}: the fit failed its diagnostics gate; LOO may be unreliable")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = az_compare(results, method="stacking", round_to="none")
    table = pd.DataFrame(
        {
            "elpd_loo": table["elpd"],
            "se": table["se"],
            "d_loo": table["elpd_diff"],
            "dse": table["dse"],
            "weight": table["weight"],
            "p_loo": table["p"],
        },
        index=table.index,
    )
    table["n_high_k"] = [int(np.sum(pareto_k[n] > pareto_k_threshold)) for n in table.index]
    table["high_k_runs"] = [
        np.flatnonzero(pareto_k[n] > pareto_k_threshold).tolist() for n in table.index
    ]
    table.index.name = "fit"
    lfo = None
    if backtest:
        lfo = _backtests(fits, backtest_changes or {})
        for key in ("log_score", "crps", "mare", "coverage_0.9"):
            table[f"lfo_{key}"] = [lfo[n].get(key) for n in table.index]
    for message in messages:
        warnings.warn(message, ComparisonWarning, stacklevel=2)
    return LawComparison(table=table, pareto_k=pareto_k, warnings=messages, backtest=lfo)


def _named(fits: Mapping[str, FitRecord] | Sequence[FitRecord]) -> dict[str, FitRecord]:
    if isinstance(fits, Mapping):
        return dict(fits)
    named: dict[str, FitRecord] = {}
    for fit in fits:
        name, i = fit.law.name, 2
        while name in named:
            name, i = f"{fit.law.name}_{i}", i + 1
        named[name] = fit
    return named


def _backtests(fits: Mapping[str, FitRecord], changes: Mapping[str, Any]) -> dict[str, dict]:
    """Leave-future-out scores of each fit's law on its runs (default split), same settings."""
    from bayes_scaling.evaluation.backtest import backtest

    out = {}
    for name, fit in fits.items():
        result = backtest(fit.runs, law=fit.law, settings=fit.settings.replace(**changes))
        scores = result.to_dict()["bayes"]
        out[name] = {
            "n_train": result.n_train,
            "n_test": result.n_test,
            "log_score": scores["log_score"],
            "crps": scores["crps"],
            "mare": scores["mare"],
            "coverage_0.9": scores["coverage"].get("0.9"),
        }
    return out
