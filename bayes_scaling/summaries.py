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

from bayes_scaling.constants import CI
from bayes_scaling.errors import QuestionError

SAMPLE_DIMS = ("chain", "draw")


def check_probability(value: Any, name: str = "probability") -> np.ndarray:
    """A probability (or 1-D list of them) strictly inside (0, 1); QuestionError otherwise."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise QuestionError(f"{name} must be a number in (0, 1), not {value!r}") from None
    if arr.ndim > 1 or arr.size == 0:
        raise QuestionError(f"{name} must be a number in (0, 1) or a 1-D list of them")
    flat = np.atleast_1d(arr)
    bad = ~((flat > 0) & (flat < 1))
    if bad.any():
        raise QuestionError(
            f"{name} must be strictly between 0 and 1 (e.g. 0.9); got {flat[bad].tolist()}"
        )
    return arr


def check_ci(ci: float) -> float:
    """Validate one interval probability in (0, 1)."""
    arr = check_probability(ci, "ci")
    if arr.ndim != 0:
        raise QuestionError(f"ci must be one number in (0, 1), not {ci!r}")
    return float(arr)


def interval_bounds(draws: xr.DataArray, *, ci: float = CI) -> tuple[xr.DataArray, xr.DataArray]:
    """Lower and upper bounds of the central ``ci`` interval over chain and draw."""
    ci = check_ci(ci)
    dims = [d for d in SAMPLE_DIMS if d in draws.dims]
    q = draws.quantile([(1 - ci) / 2, (1 + ci) / 2], dim=dims)
    return q.isel(quantile=0, drop=True), q.isel(quantile=1, drop=True)


def interval_table(ds: xr.Dataset | xr.DataArray, *, ci: float = CI) -> pd.DataFrame:
    """Summarise draws: one row per variable and query coordinate.

    Columns: ``variable``, the query dims (e.g. ``point``, ``compute``) and their coordinates,
    ``mean``, ``median``, ``lower``, ``upper``, ``ci``. ``df.attrs["ci"]`` holds ``ci`` too.
    """
    ci = check_ci(ci)
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "value")
    frames = []
    for name, da in ds.data_vars.items():
        if not all(d in da.dims for d in SAMPLE_DIMS):
            continue
        lower, upper = interval_bounds(da, ci=ci)
        stats = xr.Dataset(
            {
                "mean": da.mean(SAMPLE_DIMS),
                "median": da.median(SAMPLE_DIMS),
                "lower": lower,
                "upper": upper,
            }
        )
        frame = (
            stats.to_dataframe().reset_index()
            if stats["mean"].ndim
            else pd.DataFrame({k: [float(v)] for k, v in stats.items()})
        )
        frame = frame.drop(columns=[c for c in ("quantile",) if c in frame.columns])
        frame.insert(0, "variable", name)
        frame["ci"] = ci
        frames.append(frame)
    if not frames:
        raise QuestionError("nothing to summarise: no variable has dims ('chain', 'draw')")
    out = pd.concat(frames, ignore_index=True)
    out.attrs["ci"] = ci
    return out


def parameter_table(params: xr.Dataset, *, ci: float = CI) -> pd.DataFrame:
    """Parameter summary indexed by name: mean, sd, median, lower, upper, ci, r_hat, ESS."""
    import arviz as az

    table = interval_table(params, ci=ci).set_index("variable")
    table.index.name = "parameter"
    table.insert(1, "sd", [float(params[v].std()) for v in table.index])
    varying = [v for v in params.data_vars if float(params[v].std()) > 0]
    rhat = az.rhat(params[varying]) if varying else xr.Dataset()
    ess_bulk = az.ess(params[varying], method="bulk") if varying else xr.Dataset()
    ess_tail = az.ess(params[varying], method="tail") if varying else xr.Dataset()
    table["r_hat"] = [float(rhat[v]) if v in rhat else np.nan for v in table.index]
    table["ess_bulk"] = [float(ess_bulk[v]) if v in ess_bulk else np.nan for v in table.index]
    table["ess_tail"] = [float(ess_tail[v]) if v in ess_tail else np.nan for v in table.index]
    table.attrs["ci"] = ci
    return table


@xr.register_dataset_accessor("scaling")
class ScalingAccessor:
    """``ds.scaling.summary(ci=...)``: the tidy table of a question's answer."""

    def __init__(self, ds: xr.Dataset) -> None:
        self._ds = ds

    def summary(self, *, ci: float = CI) -> pd.DataFrame:
        """See :func:`interval_table`."""
        return interval_table(self._ds, ci=ci)

    def interval(self, *, ci: float = CI) -> xr.Dataset:
        """Dataset of ``median``, ``lower`` and ``upper`` per variable (query dims kept)."""
        out = {}
        for name, da in self._ds.data_vars.items():
            if all(d in da.dims for d in SAMPLE_DIMS):
                lower, upper = interval_bounds(da, ci=ci)
                out[f"{name}_median"] = da.median(SAMPLE_DIMS)
                out[f"{name}_lower"] = lower
                out[f"{name}_upper"] = upper
        result = xr.Dataset(out)
        result.attrs["ci"] = check_ci(ci)
        return result
