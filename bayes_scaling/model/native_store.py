"""The on-disk store of compiled sampler callbacks, loadable without PyMC or PyTensor.

:mod:`bayes_scaling.model.native` compiles a model's two callbacks (log-density with gradient,
and the expansion into named variables) into generated source files that numba caches. That
compile needs the PyMC model and PyTensor's graph rewriting, about 1.5-3 s per process even when
every piece is cached. This module keeps, next to the generated sources, one small JSON *entry*
per model recipe: which callbacks, the layout of the data table, the variables' names and shapes,
and the sampler's starting point. A later process with the same recipe builds nutpie's model
from the entry and numba's cache alone, without importing PyMC or building a graph.

The recipe key (:func:`entry_key`) is the caller's description of the model (law, parameter
plans, likelihood, references: everything that shapes the graph), the names, dtypes and shapes
of the data, a hash of this package's source files, the Python version and the installed
versions of nutpie, numba, llvmlite, pytensor, pymc and numpy. An entry is written only after
the compile has checked that the entry reproduces the compiled model (data layout and starting
points), and any failure to load one means compiling as before (same draws).

Environment variable ``BAYES_SCALING_CACHE_DIR`` moves the folder (default:
``$XDG_CACHE_HOME/bayes_scaling`` or ``~/.cache/bayes_scaling``).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from bayes_scaling.core.machine import switched_on
from bayes_scaling.model import vector_loop
from bayes_scaling.model.nutpie_import import import_nutpie

__all__ = [
    "CACHE_ENV",
    "ENV_SWITCH",
    "JitteredStart",
    "MAX_ENTRIES",
    "NativeModelError",
    "SharedName",
    "address_table",
    "cache_dir",
    "check_entry_layout",
    "compile_callback",
    "entry_key",
    "frozen_copy",
    "load_model",
    "load_source",
    "native_enabled",
    "save_entry",
    "signatures",
    "stream_order",
    "table_model_class",
    "version",
]

CACHE_ENV = "BAYES_SCALING_CACHE_DIR"
ENV_SWITCH = "BAYES_SCALING_NATIVE"
# Version of the entry format; bump it when the entry or its reading changes.
_ENTRY_VERSION = "2"
#: At most this many model entries are kept (a few kB each; one per law, priors and data shape).
MAX_ENTRIES = 256
# Packages whose versions go into an entry's key (their internals shape the cached model).
_ENTRY_VERSIONED = ("nutpie", "numba", "llvmlite", "pytensor", "pymc", "numpy")


class NativeModelError(RuntimeError):
    """A model from the cached-callback compile could not be used as asked."""


def native_enabled() -> bool:
    """False when the environment variable ``BAYES_SCALING_NATIVE`` turns the fast path off."""
    return switched_on(ENV_SWITCH)


def cache_dir() -> Path:
    """Folder of the generated callback sources and the model entries."""
    root = os.environ.get(CACHE_ENV)
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(base) / "bayes_scaling")
    return Path(root) / "callbacks"


def version(name: str) -> str:
    """Installed version of ``name`` (its ``__version__`` when it has no distribution)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return str(importlib.import_module(name).__version__)


@functools.cache
def _source_hash() -> str:
    """Hash of this package's Python sources and law files: any edit makes new entries."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted([*root.rglob("*.py"), *root.rglob("*.toml")]):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def entry_key(recipe: str, data: Mapping[str, Any]) -> str:
    """Key of a model entry: ``recipe`` (what shapes the graph), the data's names, dtypes and
    shapes, the package's sources, the loop setting (:mod:`~bayes_scaling.model.vector_loop`),
    the Python version and the versions of the dependencies."""
    layout = [f"{name}:{np.asarray(v).dtype.str}:{np.shape(v)}" for name, v in data.items()]
    versions = [f"{name}={version(name)}" for name in _ENTRY_VERSIONED]
    python = ".".join(map(str, sys.version_info[:3]))
    parts = [
        f"entry={_ENTRY_VERSION}",
        f"python={python}",
        _source_hash(),
        vector_loop.setting(),
        *versions,
        recipe,
    ]
    key = "\n".join([*parts, *layout])
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _entry_path(key: str) -> Path:
    return cache_dir() / f"bs_model_{key}.json"


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def load_source(name: str, source: str | None = None) -> Any:
    """Import a generated source from the cache folder; ``source`` (re)writes it first when the
    file is missing or differs, None imports the file as it is."""
    import_nutpie()  # the sources import nutpie.compile_pymc
    path = cache_dir() / f"{name}.py"
    if source is not None and (not path.exists() or path.read_text() != source):
        _write_atomically(path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signatures() -> dict[str, Any]:
    """numba signatures of the two callbacks, in nutpie's calling convention."""
    import numba

    u64, f64p = numba.types.uint64, numba.types.CPointer(numba.types.double)
    return {
        "logp": numba.types.int64(u64, f64p, f64p, f64p, numba.types.voidptr),
        "expand": numba.types.int64(u64, u64, f64p, f64p, numba.types.voidptr),
    }


def compile_callback(name: str, digest: str, source: str | None, inner: Any) -> Any:
    """The numba C callback ``name`` ("logp" or "expand") of generated source ``digest``.

    ``inner`` is PyTensor's numba function the callback calls. When it is None (a model built
    from an entry), the callback must come from numba's cache; compiling it would fail.
    """
    import numba

    # Cached code refers to the globals of numba's nameless module ('<dynamic>', where
    # generated functions live); make it importable so numba can re-attach them on load.
    sys.modules.setdefault(numba.core.utils._dynamic_modname, numba.core.utils._dynamic_module)
    module = load_source(f"bs_{name}_{digest}", source)
    module.INNER = inner
    return numba.cfunc(signatures()[name], cache=True)(getattr(module, name))


def address_table(shared_data: Mapping[str, np.ndarray], n_table: int) -> np.ndarray:
    """The address table: for each array (in order) its address, then its shape."""
    needed = sum(1 + value.ndim for value in shared_data.values())
    if needed > n_table:
        raise ValueError(f"address table has {n_table} slots, the data need {needed}")
    table = np.zeros(n_table, dtype=np.uint64)
    o = 0
    for value in shared_data.values():
        table[o] = value.ctypes.data
        table[o + 1 : o + 1 + value.ndim] = value.shape
        o += 1 + value.ndim
    return table


def frozen_copy(value: Any, dtype: Any) -> np.ndarray:
    """A C-ordered, read-only copy of ``value`` as ``dtype`` (what the table points at)."""
    array = np.array(value, dtype=dtype, order="C", copy=True)
    array.flags.writeable = False
    return array


@dataclasses.dataclass(frozen=True)
class SharedName:
    """A data array of a model built from an entry (stands in for PyTensor's shared variable)."""

    name: str
    ndim: int


@dataclasses.dataclass(frozen=True)
class JitteredStart:
    """The sampler's starting point: the support point plus U(-1, 1) jitter per variable.

    The same numbers as PyMC's ``make_initial_point_fn(jitter_rvs=all free variables)``: one
    PCG64 stream per variable from ``SeedSequence(seed).spawn``; variable ``i`` draws from
    stream ``streams[i]`` (PyTensor's order of the random generators in the graph). The compile
    finds that order and checks the equality before an entry is written.
    """

    support: tuple[float, ...]
    sizes: tuple[int, ...]
    streams: tuple[int, ...]

    def jitter(self, seed: int) -> list[np.ndarray]:
        """The U(-1, 1) draws of each stream (in stream order) for ``seed``."""
        spawned = np.random.SeedSequence(seed).spawn(len(self.sizes))
        size = {stream: n for stream, n in zip(self.streams, self.sizes, strict=True)}
        return [
            np.random.Generator(np.random.PCG64(spawned[j])).uniform(-1.0, 1.0, size=size[j])
            for j in range(len(spawned))
        ]

    def __call__(self, seed: int) -> np.ndarray:
        draws = self.jitter(seed)
        jitter = np.concatenate([draws[j] for j in self.streams])
        return np.asarray(self.support, dtype=float) + jitter


def stream_order(
    support: Sequence[float], sizes: Sequence[int], start: np.ndarray, seed: int
) -> tuple[int, ...]:
    """Which jitter stream each variable of PyMC's starting point ``start`` (for ``seed``) drew
    from; ValueError when no order reproduces it exactly."""
    bounds = np.cumsum([0, *sizes])
    support, order = np.asarray(support, dtype=float), []
    for i, n in enumerate(sizes):
        part = slice(bounds[i], bounds[i + 1])
        for j in range(len(sizes)):
            if j in order:
                continue
            draw = np.random.Generator(
                np.random.PCG64(np.random.SeedSequence(seed).spawn(len(sizes))[j])
            ).uniform(-1.0, 1.0, size=n)
            if np.array_equal(support[part] + draw, start[part]):
                order.append(j)
                break
        else:
            raise ValueError(f"no jitter stream reproduces variable {i} of the starting point")
    return tuple(order)


def save_entry(key: str, entry: Mapping[str, Any]) -> None:
    """Write a model entry (JSON) for :func:`load_model`; then keep at most
    :data:`MAX_ENTRIES`, dropping the least recently used (a load counts as a use)."""
    path = _entry_path(key)
    _write_atomically(path, json.dumps({"version": _ENTRY_VERSION, **entry}))
    entries = []
    for other in path.parent.glob("bs_model_*.json"):
        try:
            entries.append((other.stat().st_mtime, other))
        except OSError:  # removed meanwhile by another process
            continue
    for _, old in sorted(entries)[: max(len(entries) - MAX_ENTRIES, 0)]:
        old.unlink(missing_ok=True)


def load_model(key: str, data: Mapping[str, Any]) -> Any | None:
    """nutpie's compiled model from entry ``key`` with ``data``; None when there is no entry
    or it cannot be used (then compile as usual)."""
    if not native_enabled():
        return None
    try:
        path = _entry_path(key)
        if not path.exists():
            return None
        model = _from_entry(json.loads(path.read_text()), data)
        os.utime(path)  # used now: pruning keeps it
        return model
    except Exception:  # noqa: BLE001 - no usable entry (or no cache folder) means: compile
        return None


def _from_entry(entry: dict[str, Any], data: Mapping[str, Any]) -> Any:
    if entry.get("version") != _ENTRY_VERSION:
        raise ValueError("entry of another format")
    import pandas as pd

    digest = entry["digest"]
    cfuncs = {name: compile_callback(name, digest, None, None) for name in ("logp", "expand")}
    shared_data, keys = {}, {}
    for i, (name, dtype, ndim) in enumerate(entry["layout"]):
        value = frozen_copy(data[name], dtype)
        if value.ndim != ndim:
            raise ValueError(f"{name} has rank {value.ndim}, the entry {ndim}")
        shared_data[f"s{i}"] = value
        keys[SharedName(name, ndim)] = f"s{i}"
    info = entry["shape_info"]
    shape_info = (
        list(info["names"]),
        [slice(a, b) for a, b in info["slices"]],
        [tuple(s) for s in info["shapes"]],
    )
    start = entry["start"]
    initial = JitteredStart(tuple(start["support"]), tuple(start["sizes"]), tuple(start["streams"]))
    return table_model_class()(
        _n_dim=entry["n_dim"],
        dims={k: tuple(v) for k, v in entry["dims"].items()},
        _coords={k: pd.Index(v) for k, v in entry["coords"].items()},  # as nutpie's own
        _shapes={name: shape for name, _, shape in zip(*shape_info, strict=True)},
        compiled_logp_func=cfuncs["logp"],
        compiled_expand_func=cfuncs["expand"],
        initial_point_func=initial,
        shared_data=shared_data,
        shared_var_keys=keys,
        user_data=address_table(shared_data, entry["n_table"]),
        n_expanded=entry["n_expanded"],
        shape_info=shape_info,
        logp_func=None,
        expand_func=None,
        reparameterized_names=entry["reparameterized"],
    )


@functools.cache
def table_model_class() -> type:
    """nutpie's model class with a ``with_data`` for the address table (built lazily)."""
    import_nutpie()
    from nutpie.compile_pymc import CompiledPyMCModel

    @dataclasses.dataclass(frozen=True)
    class _TableModel(CompiledPyMCModel):
        """nutpie's compiled model whose callbacks read data through an address table."""

        def with_data(self, **updates: Any) -> Any:
            by_name: dict[str, str | None] = {}
            for var, key in self.shared_var_keys.items():
                by_name[var.name] = None if var.name in by_name else key
            shared_data = dict(self.shared_data)
            for name, value in updates.items():
                if name not in by_name:
                    raise KeyError(f"Unknown shared variable: {name}")
                if by_name[name] is None:
                    raise ValueError(f"Name of shared variable {name} is not unique")
                old = shared_data[by_name[name]]
                new = frozen_copy(value, old.dtype)
                if new.ndim != old.ndim:
                    raise ValueError(f"Shared variable {name} must have rank {old.ndim}")
                shared_data[by_name[name]] = new
            try:
                table = address_table(shared_data, self.user_data.size)
                return dataclasses.replace(self, shared_data=shared_data, user_data=table)
            except Exception as error:
                raise NativeModelError(
                    f"with_data failed on the cached-callback model ({type(error).__name__}: "
                    f"{error}); set {ENV_SWITCH}=0 to compile with nutpie instead"
                ) from error

    return _TableModel


def check_entry_layout(
    arrays: Sequence[tuple[str, np.ndarray]], data: Mapping[str, Any]
) -> list[list[Any]]:
    """The entry's ``layout`` ([name, dtype, ndim] per array of the compiled model, in table
    order), or ValueError when an array is not the caller's data array of that name (then an
    entry could not rebuild the model)."""
    out = []
    for name, value in arrays:
        if name not in data or not np.array_equal(np.asarray(data[name]), value):
            raise ValueError(f"compiled array {name!r} is not the data of that name")
        out.append([name, value.dtype.str, int(value.ndim)])
    return out
