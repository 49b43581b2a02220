"""xarray does not import dask before dask is used, and the fallback when xarray changes.

The import checks run in a fresh interpreter: an import by an earlier test would hide the effect.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest

from bayes_scaling.core import dask_probe

HAS_DASK = importlib.util.find_spec("dask") is not None


def _run(body: str) -> dict:
    script = "import json, sys\n" + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_premise_xarray_keeps_a_cache_of_array_modules():
    from xarray.namedarray import pycompat

    assert isinstance(pycompat._cached_duck_array_modules, dict)
    assert callable(pycompat.DuckArrayModule) and callable(pycompat.array_type)


@pytest.mark.skipif(not HAS_DASK, reason="dask is not installed")
def test_xarray_work_does_not_import_dask_and_dask_arrays_still_work():
    seen = _run(
        """
        import numpy as np
        import bayes_scaling.inference.record  # installs the deferred record
        import xarray as xr
        ds = xr.Dataset({"a": ("x", np.arange(5.0))}, coords={"x": np.arange(5)})
        med = float(ds["a"].median())
        before = "dask.array" in sys.modules
        import dask.array as da
        from xarray.namedarray.pycompat import array_type
        arr = xr.DataArray(da.ones(6, chunks=3), dims="y")
        print(json.dumps({
            "dask_before": before,
            "median": med,
            "chunked": arr.chunks is not None,
            "sum": float((arr * 2).sum().compute()),
            "type_is_dask": array_type("dask") == (da.Array,),
        }))
        """
    )
    assert seen == {
        "dask_before": False,
        "median": 2.0,
        "chunked": True,
        "sum": 12.0,
        "type_is_dask": True,
    }


def test_deferred_record_answers_without_dask_and_resolves_once_imported(monkeypatch):
    class Real:
        type = (bytes,)
        version = "9"

        def __init__(self, mod):
            assert mod == "dask"

    cache: dict = {}
    deferred = dask_probe._DeferredDask(cache, Real)
    cache["dask"] = deferred
    monkeypatch.delitem(sys.modules, "dask.array", raising=False)
    assert deferred.type == ()
    assert cache["dask"] is deferred  # nothing resolved yet
    monkeypatch.setitem(sys.modules, "dask.array", object())
    assert deferred.type == (bytes,)
    assert isinstance(cache["dask"], Real)  # xarray's cache now holds the real record
    assert deferred.version == "9"


def test_other_attributes_resolve_the_real_record():
    cache: dict = {}

    class Real:
        available = True

        def __init__(self, mod):
            pass

    deferred = dask_probe._DeferredDask(cache, Real)
    cache["dask"] = deferred
    assert deferred.available is True
    with pytest.raises(AttributeError):
        deferred._hidden  # noqa: B018


def test_fallback_when_xarray_changed(monkeypatch):
    from xarray.namedarray import pycompat

    monkeypatch.delitem(sys.modules, "dask.array", raising=False)
    monkeypatch.setattr(pycompat, "_cached_duck_array_modules", None)
    assert dask_probe.defer_dask_probe() is False  # no error, nothing installed
    monkeypatch.delattr(pycompat, "_cached_duck_array_modules")
    assert dask_probe.defer_dask_probe() is False
    monkeypatch.setattr(
        pycompat, "_cached_duck_array_modules", {"dask": "xarray's own"}, raising=False
    )
    assert dask_probe.defer_dask_probe() is False  # xarray already holds its record
    fresh: dict = {}
    monkeypatch.setattr(pycompat, "_cached_duck_array_modules", fresh, raising=False)
    assert dask_probe.defer_dask_probe() is True
    assert isinstance(fresh["dask"], dask_probe._DeferredDask)
    monkeypatch.setitem(sys.modules, "dask.array", object())
    assert dask_probe.defer_dask_probe() is False  # dask.array already imported
