"""Tidy tables of posterior draws: mean, median and central (equal-tailed) credible intervals.

Every question returns an ``xarray.Dataset`` with draws on dims ``chain`` and ``draw``;
``ds.scaling.summary(ci=0.9)`` (or :func:`interval_table`) turns it into a DataFrame whose ``ci``
column states the interval probability.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import CI
from bayes_scaling.core.tables import interval_table
from bayes_scaling.inference import convergence
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.model.pooling import pooled_names


def parameter_table(params: xr.Dataset, *, ci: float = CI) -> pd.DataFrame:
    """Parameter summary indexed by name: mean, sd, median, lower, upper, ci, r_hat, ESS."""
    table = interval_table(params, ci=ci).set_index("variable")
    table.index.name = "parameter"
    table.insert(1, "sd", [float(params[v].std()) for v in table.index])
    varying = params[[v for v in params.data_vars if float(params[v].std()) > 0]]
    for column, statistic in (
        ("r_hat", convergence.rhat),
        ("ess_bulk", convergence.ess_bulk),
        ("ess_tail", convergence.ess_tail),
    ):
        values = convergence.per_variable(varying, statistic)
        table[column] = [float(values[v]) if v in values else np.nan for v in table.index]
    table.attrs["ci"] = ci
    return table


def fit_summary(fit: FitRecord, *, ci: float = CI) -> pd.DataFrame:
    """Parameters in user units: mean, sd, median, central ``ci`` interval, R-hat, ESS.

    Fixed parameters show their value with zero width and no convergence statistics. A pooled
    fit adds the population sd of each varying parameter (``<sampled>_sd``, link scale) and one
    row per group (``<name>[label]``); the plain names hold the population values.
    """
    table = parameter_table(fit.parameters(), ci=ci)
    if fit.pooling is not None:
        table = pd.concat([table, group_table(fit, ci=ci)])
        table.attrs["ci"] = ci
    return table


def discrepancy_note(fit: FitRecord) -> dict[str, Any] | None:
    """How the fit's extrapolation discrepancy was learned, for summary and report; None if none.

    ``{"ok": bool, "text": str}``: not ok when tau kept its prior or the inner leave-future-out
    fit failed its diagnostics gate.
    """
    info = fit.info.get("discrepancy")
    if not info:
        return None
    if info.get("method") == "prior":
        return {
            "ok": False,
            "text": f"extrapolation discrepancy: tau kept its prior ({info.get('reason', '')})",
        }
    gate = info.get("inner_gate", {"ok": True, "failed": []})
    status = "passed" if gate["ok"] else f"FAILED ({', '.join(gate['failed'])})"
    return {
        "ok": bool(gate["ok"]),
        "text": (
            f"extrapolation discrepancy: tau {info.get('tau_median', float('nan')):.3g} and "
            f"drift {info.get('drift_median', 0.0):+.3g} per e-fold, "
            f"learned by leave-future-out (inner fit on {info.get('n_inner_train', '?')} runs"
            f"{_thinned(info)}, "
            f"predicting {info.get('n_inner_test', '?')}); the inner fit's gate {status}"
        ),
    }


def _thinned(info: dict[str, Any]) -> str:
    """`` of N below the cut-off`` when the inner training runs were thinned, else ``""``."""
    below, used = info.get("n_inner_below_cutoff"), info.get("n_inner_train")
    return f" of {below} below the cut-off" if below and used and below > used else ""


def group_table(fit: FitRecord, *, ci: float) -> pd.DataFrame:
    """Rows ``<name>_sd`` and ``<name>[label]`` (per-group values) for a pooled fit's summary."""
    post = fit.posterior
    spec = fit.pooling
    flat = {}
    for plan in fit.plans:
        if plan.name in spec.vary:
            sd = pooled_names(plan)["sd"]
            flat[sd] = post[sd]
    for name in spec.vary:
        for label in spec.groups:
            flat[f"{name}[{label}]"] = post[f"{name}_group"].sel(group=label, drop=True)
    return parameter_table(xr.Dataset(flat), ci=ci)


def groups_json(fit: FitRecord, *, ci: float) -> dict[str, dict[str, dict[str, float]]]:
    """``{label: {param: {mean, median, lower, upper}}}`` for a pooled fit (CLI JSON)."""
    post = fit.posterior
    table = interval_table(post[[f"{n}_group" for n in fit.pooling.vary]], ci=ci)
    out: dict[str, dict[str, dict[str, float]]] = {g: {} for g in fit.pooling.groups}
    for row in table.itertuples(index=False):
        name = str(row.variable).removesuffix("_group")
        out[str(row.group)][name] = {
            k: float(getattr(row, k)) for k in ("mean", "median", "lower", "upper")
        }
    return out
