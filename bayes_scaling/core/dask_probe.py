"""Keep xarray from importing dask before anything uses dask.

When dask is installed (the ``dask`` extra), xarray imports ``dask.array`` the first time it
builds any variable, only to ask whether the data are a dask array: about 0.9 s of a report's
start-up, for a package that never makes dask arrays itself. :func:`defer_dask_probe` puts a
record of dask in xarray's cache of array modules that answers that question without the
import: no object can be a dask array while ``dask.array`` is not imported, so the answer is
"no array type" until it is, and the real one from then on. Every other attribute (module,
version, availability) imports dask as xarray would.

This uses xarray's private ``xarray.namedarray.pycompat._cached_duck_array_modules`` and
``DuckArrayModule``; xarray has an upper bound in ``pyproject.toml``, and any failure leaves
xarray as it is (the tests check both the premise and the fallback).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["defer_dask_probe"]

_DASK_ARRAY = "dask.array"


class _DeferredDask:
    """xarray's record of dask, resolved only when needed (see the module docstring)."""

    def __init__(self, cache: dict, record_type: type) -> None:
        self._cache, self._record_type = cache, record_type

    def _resolve(self) -> Any:
        record = self._record_type("dask")
        if self._cache.get("dask") is self:
            self._cache["dask"] = record
        return record

    @property
    def type(self) -> tuple[type, ...]:
        if _DASK_ARRAY not in sys.modules:
            return ()
        return self._resolve().type

    def __getattr__(self, name: str) -> Any:  # module, version, available
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._resolve(), name)


def defer_dask_probe() -> bool:
    """Install the deferred record of dask in xarray's cache; whether it was installed.

    Does nothing when ``dask.array`` is already imported or xarray already holds its record.
    """
    if _DASK_ARRAY in sys.modules:
        return False
    try:
        from xarray.namedarray import pycompat

        cache = pycompat._cached_duck_array_modules
        if not isinstance(cache, dict) or "dask" in cache:
            return False
        record_type = pycompat.DuckArrayModule
        if not callable(getattr(pycompat, "array_type", None)):
            return False
        cache["dask"] = _DeferredDask(cache, record_type)
        return True
    except Exception:  # noqa: BLE001 - xarray changed: leave it as it is
        return False
