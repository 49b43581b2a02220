"""Tidy tables of question answers: ``ds.scaling.summary(ci=)`` and :func:`interval_table`.

Every question returns an ``xarray.Dataset`` with draws on dims ``chain`` and ``draw``;
``ds.scaling.summary(ci=0.9)`` (or :func:`interval_table`) turns it into a DataFrame whose ``ci``
column states the interval probability. The ``scaling`` accessor is registered when this module
is imported, which the questions package does, so every answer has it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import (
    SAMPLE_DIMS,
    check_ci,
    equal_tailed,
    share_not_reached,
    share_undefined,
)

__all__ = ["ScalingAccessor", "interval_table"]


def _interval_stats(da: xr.DataArray, *, ci: float) -> xr.Dataset:
    """mean, median, lower, upper and the share not reached, by the one interval rule."""
    rest = [d for d in da.dims if d not in SAMPLE_DIMS]
    values = da.transpose(*SAMPLE_DIMS, *rest).values
    lower, median, upper = equal_tailed(values, ci=ci, axis=(0, 1))
    with np.errstate(invalid="ignore"):
        mean = np.nanmean(values, axis=(0, 1))  # NaN draws are undefined: left out
    coords = {k: v for k, v in da.coords.items() if not set(v.dims) & set(SAMPLE_DIMS)}
    stats = {"mean": mean, "median": median, "lower": lower, "upper": upper}
    not_reached = share_not_reached(values, axis=(0, 1))
    if np.any(not_reached > 0):
        stats["share_not_reached"] = not_reached
    undefined = share_undefined(values, axis=(0, 1))
    if np.any(undefined > 0):
        stats["share_undefined"] = undefined
    return xr.Dataset({k: (rest, np.asarray(v)) for k, v in stats.items()}, coords=coords)


def interval_table(ds: xr.Dataset | xr.DataArray, *, ci: float = CI) -> pd.DataFrame:
    """Summarise draws: one row per variable and query coordinate.

    Columns: ``variable``, the query dims (e.g. ``point``, ``compute``) and their coordinates,
    ``mean``, ``median``, ``lower``, ``upper``, ``ci`` and, when some draws are ``inf`` ("not
    reached") or NaN ("undefined"), ``share_not_reached`` or ``share_undefined``. Intervals
    follow the one rule of :mod:`bayes_scaling.core.intervals`. ``df.attrs["ci"]`` holds ``ci`` too.
    """
    ci = check_ci(ci)
    if isinstance(ds, xr.DataArray):
        ds = ds.to_dataset(name=ds.name or "value")
    frames = []
    for name, da in ds.data_vars.items():
        if not all(d in da.dims for d in SAMPLE_DIMS):
            continue
        stats = _interval_stats(da, ci=ci)
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
                stats = _interval_stats(da, ci=ci)
                out[f"{name}_median"] = stats["median"]
                out[f"{name}_lower"] = stats["lower"]
                out[f"{name}_upper"] = stats["upper"]
        result = xr.Dataset(out)
        result.attrs["ci"] = check_ci(ci)
        return result
