"""Save and load fits as one self-describing netCDF file.

The file holds every DataTree group of the fit (``log_likelihood`` included, so ArviZ's LOO works
on a loaded fit) and, as JSON-string attributes of the root, the law spec, the settings
(:class:`FitSettings`: priors, likelihood, sampler, discrepancy, pooling, seed), the run facts, the
data mapping, reference values, diagnostics and the package version, so :func:`load_fit` needs
nothing else. Writes go to a
temporary file in the same folder and are renamed into place: a crash never leaves a half-written
file under the target name.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import BayesScalingError, FitFileError
from bayes_scaling.inference.diagnostics import Diagnostics
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.priors import Prior
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.pooling import PoolingSpec

FORMAT = "bayes-scaling fit"
FORMAT_VERSION = 2
_JSON_ATTRS = ("law", "data", "refs", "settings", "diagnostics")


def package_version() -> str:
    """Installed version of bayes-scaling."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bayes-scaling")
    except PackageNotFoundError:
        return "unknown"


def check_output(path: str | os.PathLike, *, force: bool, example: str = "fit.nc") -> Path:
    """Refuse to overwrite an existing file unless ``force``; check the folder is writable.

    ``example`` is the file name the messages suggest (``fit.nc``, ``report.html``, ...).
    """
    path = Path(path)
    if str(path) == "-":
        raise FitFileError(
            f"the output is a file, not a stream: give a file name, e.g. -o {example}"
        )
    if path.is_dir():
        raise FitFileError(f"{path} is a folder; give a file name inside it, e.g. {path / example}")
    if path.exists() and not force:
        raise FitFileError(
            f"{path} already exists; choose another output name or pass --force "
            "(force=True) to overwrite it"
        )
    if not path.parent.exists():
        raise FitFileError(f"cannot write {path}: the folder {path.parent} does not exist")
    if not path.parent.is_dir():
        raise FitFileError(f"cannot write {path}: {path.parent} is a file, not a folder")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise FitFileError(
            f"cannot write {path}: no permission to write there; choose another place"
        )
    return path


def atomic_write(path: Path, write) -> Path:
    """Call ``write(tmp_path)`` then rename the temporary file to ``path``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def save_fit(fit: FitRecord, path: str | os.PathLike, *, force: bool = False) -> Path:
    """Write ``fit`` to ``path`` (netCDF4). Refuses to overwrite unless ``force``."""
    path = check_output(path, force=force)
    tree = fit.tree.copy()
    tree.attrs = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "bayes_scaling_version": package_version(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "law_name": fit.law.name,
        "law": fit.law.to_json(),
        "likelihood": fit.likelihood,
        "data": json.dumps(fit.runs.to_metadata()),
        "refs": json.dumps(fit.refs),
        "settings": fit.settings.to_json(),
        # also on their own, as every fit file has them (read back from the settings)
        "priors": json.dumps({k: v.to_dict() for k, v in fit.priors.items()}),
        "info": json.dumps(fit.info, default=_jsonable),
        "diagnostics": fit.diagnostics.to_json(),
    }
    if fit.pooling is not None:
        tree.attrs["pooling"] = json.dumps(fit.pooling.to_dict())
    return atomic_write(path, lambda tmp: tree.to_netcdf(tmp, engine="netcdf4"))


def load_fit(path: str | os.PathLike) -> FitRecord:
    """Read a fit written by :func:`save_fit`.

    Raises
    ------
    FitFileError
        The file is missing, not netCDF, or not a bayes-scaling fit.
    """
    path = Path(path)
    if path.is_dir():
        raise FitFileError(f"{path} is a folder; give the .nc file written by bayes-scaling fit")
    if not path.is_file():
        raise FitFileError(f"{path} does not exist; give the .nc file written by bayes-scaling fit")
    try:
        with xr.open_datatree(path, engine="netcdf4") as opened:
            tree = opened.load()
    except Exception as err:  # netCDF4/HDF5 raise many types for corrupt files
        raise FitFileError(
            f"{path} could not be read as netCDF ({type(err).__name__}: {err}); it is corrupt or "
            "not a fit file: refit with bayes-scaling fit"
        ) from None
    attrs = dict(tree.attrs)
    if attrs.get("format") != FORMAT:
        raise FitFileError(
            f"{path} is a netCDF file but not a bayes-scaling fit (no 'format = {FORMAT}' "
            "attribute); give a file written by bayes-scaling fit"
        )
    missing = [k for k in _JSON_ATTRS if k not in attrs]
    groups = [g for g in ("posterior", "sample_stats", "constant_data") if g not in tree.children]
    if missing or groups:
        raise FitFileError(f"{path} is an incomplete fit file (missing {missing + groups}); refit")
    try:
        meta = {k: json.loads(attrs[k]) for k in _JSON_ATTRS}
        law = Law.from_spec(meta["law"])
        runs = Runs.from_xarray(tree["constant_data"].to_dataset())
        settings, info = _settings(meta["settings"], attrs)
        diagnostics = Diagnostics.from_dict(meta["diagnostics"])
        pooling = None
        if "pooling" in attrs:
            pooling = PoolingSpec.from_dict(json.loads(attrs["pooling"]))
    except (BayesScalingError, ValueError, KeyError, TypeError) as err:
        raise FitFileError(f"{path}: the fit's metadata is damaged ({err}); refit") from None
    tree.attrs = {}
    return FitRecord(
        tree=tree,
        law=law,
        runs=runs,
        settings=settings,
        refs={k: float(v) for k, v in meta["refs"].items()},
        diagnostics=diagnostics,
        pooling=pooling,
        info=info,
    )


def _jsonable(value: Any) -> Any:
    """numpy scalars and arrays in the fit's facts as plain JSON values."""
    if isinstance(value, np.generic | np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a fit file")


def _settings(saved: dict[str, Any], attrs: dict[str, Any]) -> tuple[FitSettings, dict[str, Any]]:
    """The settings and run facts of a file; format 1 kept both in one ``settings`` dict."""
    if "info" in attrs:
        return FitSettings.from_json(saved), json.loads(attrs["info"])
    info = dict(saved)  # format 1
    priors = {k: Prior.from_dict(v) for k, v in json.loads(attrs.get("priors", "{}")).items()}
    fields = {k: info[k] for k in ("draws", "tune", "chains", "cores", "seed", "target_accept")}
    settings = FitSettings(
        priors=priors,
        likelihood=str(attrs.get("likelihood", "student_t")),
        discrepancy="lfo" if info.get("discrepancy") else None,
        **{k: v for k, v in fields.items() if v is not None},
    )
    return settings, info
