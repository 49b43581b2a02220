"""Training runs: load a table, map its columns to ``N``, ``D``, ``C``, ``U``, ``loss``, validate.

:func:`load_runs` accepts a CSV/TSV/parquet/JSON path, a pandas DataFrame, an xarray Dataset (dim
``run``) or a mapping of columns. Column names are matched to the canonical names through
:data:`ALIASES` (``params``, ``Model Size``, ``tokens``, ``Training FLOP``, ...) or an explicit
``columns=`` mapping; values may carry unit suffixes (``70M``, ``1.3B``, ``1.4T``) and, in ``;``-
or tab-separated files, decimal commas (see :mod:`bayes_scaling.inputs.quantities`). The missing
one of N, D, C is derived with ``C = k N D`` (``k = 6`` FLOPs per parameter per token by default);
when all three are given, runs whose C is more than a factor 2 from ``k N D`` are named in an
:class:`InconsistentComputeWarning`. Every problem is a
:class:`~bayes_scaling.core.errors.DataError` that names the source, column, rows and values and
says what to do.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import FLOPS_PER_TOKEN
from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.checks import (
    NUMERIC,
    check_values,
    compute_mismatch,
    derive,
)
from bayes_scaling.inputs.declared import Schema
from bayes_scaling.inputs.quantities import (
    DecimalCommaWarning,
    check_decimal,
    choose_decimal,
    parse_quantity,
    to_numbers,
)
from bayes_scaling.inputs.readers import SEP_KEY, read_table

__all__ = [
    "ALIASES",
    "DecimalCommaWarning",
    "InconsistentComputeWarning",
    "Runs",
    "load_runs",
    "parse_quantity",
]

#: Canonical column -> accepted names (compared after lower-casing and folding spaces, dashes and
#: dots to underscores). The canonical name itself always matches first.
ALIASES: dict[str, tuple[str, ...]] = {
    "N": ("params", "n_params", "num_params", "parameters", "model_size", "model_params",
          "n_parameters", "non_embedding_params"),
    "D": ("tokens", "n_tokens", "num_tokens", "training_tokens", "train_tokens", "dataset_size",
          "seen_examples", "token_num"),
    "C": ("flops", "compute", "training_flop", "training_flops", "train_flops", "flop"),
    "U": ("unique_tokens", "n_unique_tokens", "tokens_per_epoch"),
    "loss": ("val_loss", "final_loss", "eval_loss", "test_loss", "train_loss", "validation_loss"),
    "group": ("config", "configuration", "family", "model_family"),
    "seed": ("run_seed", "random_seed"),
}  # fmt: skip
_SCALE_WORDS = {"thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12}


class InconsistentComputeWarning(UserWarning):
    """N, D and C are all given and C is more than a factor 2 from ``k N D`` in some runs."""


def _fold(name: str) -> str:
    return re.sub(r"[\s\-.()/]+", "_", str(name).strip().lower()).strip("_")


@dataclass(frozen=True, eq=False)
class Runs:
    """A validated table of training runs with canonical columns.

    Attributes
    ----------
    table : pandas.DataFrame
        Columns among ``N``, ``D``, ``C``, ``U``, ``loss`` (floats, all finite and > 0),
        ``group`` (str) and ``seed``; one row per run, index 0..n-1.
    source : str
        Where the runs came from (a path or ``<DataFrame>``), used in messages.
    flops_per_token : float
        ``k`` in ``C = k N D``.
    mapping : dict
        Canonical column -> original column name (``"derived"`` for computed columns).
    n_dropped : int
        Rows dropped by ``drop_invalid``.
    unused : pandas.DataFrame or None
        The source's columns that were not read (as read, unvalidated): a law that declares one
        of them as an input reads it from here (:func:`load_runs` with its ``schema``).
    """

    table: pd.DataFrame
    source: str = "<runs>"
    flops_per_token: float = FLOPS_PER_TOKEN
    mapping: dict[str, str] = field(default_factory=dict)
    n_dropped: int = 0
    unused: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def unused_columns(self) -> tuple[str, ...]:
        """Names of the source's columns that were not read."""
        return () if self.unused is None else tuple(map(str, self.unused.columns))

    @property
    def n_runs(self) -> int:
        """Number of runs."""
        return len(self.table)

    def has(self, name: str) -> bool:
        """Whether the canonical column ``name`` is present."""
        return name in self.table.columns

    def column(self, name: str) -> np.ndarray:
        """A copy of a canonical column as a float array (``group`` as an array of str)."""
        if not self.has(name):
            raise DataError(
                f"{self.source}: no column {name!r}; the runs have {', '.join(self.table.columns)}"
            )
        if name == "group":
            return self.table[name].astype(str).to_numpy()
        return self.table[name].to_numpy(dtype=float, copy=True)

    @property
    def groups(self) -> list[str]:
        """Distinct group labels in order of appearance (empty without a group column)."""
        return list(dict.fromkeys(self.column("group"))) if self.has("group") else []

    @property
    def n_groups(self) -> int:
        """Number of distinct group labels (0 without a group column)."""
        return len(self.groups)

    def subset(self, mask: Any, *, source: str | None = None) -> Runs:
        """The runs where the boolean ``mask`` is true (a new object; this one is unchanged)."""
        mask = np.asarray(mask, dtype=bool)
        unused = None if self.unused is None else self.unused.loc[mask].reset_index(drop=True)
        return Runs(
            table=self.table.loc[mask].reset_index(drop=True),
            source=source or self.source,
            flops_per_token=self.flops_per_token,
            mapping=dict(self.mapping),
            unused=unused,
        )

    def to_metadata(self) -> dict[str, Any]:
        """JSON-able description of where the columns came from."""
        return {
            "source": self.source,
            "flops_per_token": self.flops_per_token,
            "mapping": dict(self.mapping),
            "n_runs": self.n_runs,
            "n_dropped": self.n_dropped,
        }

    def to_xarray(self) -> xr.Dataset:
        """The runs as a Dataset with dim ``run`` (attributes are netCDF-safe strings/numbers)."""
        data = {}
        for col in self.table.columns:
            values = self.table[col].to_numpy()
            if col == "group":
                values = values.astype(str)
            data[col] = (("run",), values)
        ds = xr.Dataset(data, coords={"run": np.arange(self.n_runs)})
        ds.attrs = {
            "source": self.source,
            "flops_per_token": float(self.flops_per_token),
            "mapping": json.dumps(self.mapping),
            "n_dropped": int(self.n_dropped),
        }
        return ds

    @classmethod
    def from_xarray(cls, ds: xr.Dataset) -> Runs:
        """Inverse of :meth:`to_xarray`."""
        table = pd.DataFrame({name: ds[name].values for name in ds.data_vars})
        if "group" in table:
            table["group"] = table["group"].astype(str)
        attrs = ds.attrs
        return cls(
            table=table,
            source=str(attrs.get("source", "<runs>")),
            flops_per_token=float(attrs.get("flops_per_token", FLOPS_PER_TOKEN)),
            mapping=json.loads(attrs.get("mapping", "{}")),
            n_dropped=int(attrs.get("n_dropped", 0)),
        )

    def __repr__(self) -> str:
        cols = ", ".join(self.table.columns)
        return f"<Runs {self.n_runs} runs from {self.source}: {cols}>"


def _match_columns(
    table: pd.DataFrame, columns: Mapping[str, str], source: str, schema: Schema
) -> dict[str, str]:
    """Canonical name -> column of ``table``: explicit mapping first, then names and aliases.

    The schema's declared inputs are matched like canonical names (their own name, then their
    aliases); a target declared with another name than ``loss`` is read from that column.
    """
    present = list(table.columns)
    aliases = {**ALIASES, **{i.name: i.aliases for i in schema.extra}}
    unknown = sorted(set(columns) - set(aliases))
    if unknown:
        raise DataError(
            f"{source}: cannot map {', '.join(unknown)}; the columns a runs table can map are "
            f"{', '.join(aliases)} (declare other inputs with the law: --input NAME)"
        )
    target = schema.target.name
    if "loss" not in columns and target != "loss" and target in present:
        columns = {**columns, "loss": target}
    mapping: dict[str, str] = {}
    for canon, col in columns.items():
        if col not in present:
            raise DataError(
                f"{source}: the column {col!r} given for {canon} is not in the table; its "
                f"columns are {', '.join(map(str, present))}"
            )
        mapping[canon] = col
    used = set(mapping.values())
    folded = {_fold(c): c for c in reversed(present)}
    for canon, names in aliases.items():
        if canon in mapping:
            continue
        for name in (canon, *names):
            col = present[present.index(name)] if name in present else folded.get(_fold(name))
            if col is not None and col not in used:
                mapping[canon] = col
                used.add(col)
                break
        else:  # scaled names such as params_millions, tokens (billions)
            for col in present:
                base, scale = _scaled_name(col)
                if scale and col not in used and base in (canon.lower(), *names):
                    mapping[canon] = col
                    used.add(col)
                    break
    return mapping


def _scaled_name(col: Any) -> tuple[str, float]:
    folded = _fold(col)
    for word, scale in _SCALE_WORDS.items():
        if folded.endswith("_" + word) or folded.endswith("_in_" + word):
            return folded.removesuffix("_" + word).removesuffix("_in"), scale
    return folded, 0.0


def load_runs(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    flops_per_token: float = FLOPS_PER_TOKEN,
    drop_invalid: bool = False,
    decimal: str | None = None,
    schema: Schema | None = None,
) -> Runs:
    """Load and validate a table of training runs.

    Parameters
    ----------
    source : path, ``"-"``, DataFrame, Dataset, mapping or Runs
        CSV/TSV (delimiter sniffed), parquet or JSON records, ``"-"`` for a CSV on standard
        input (shown as ``<stdin>``), or an in-memory table. It is never modified.
    columns : mapping, optional
        Explicit canonical -> column names, e.g. ``{"N": "n_params_total", "loss": "ppl_loss"}``.
    flops_per_token : float
        ``k`` in ``C = k N D``; used to derive the missing one of N, D, C.
    drop_invalid : bool
        Drop runs whose N, D, C, U or loss is missing, non-finite or <= 0 (a warning says how
        many) instead of raising.
    decimal : {None, ".", ","}
        Decimal mark of text cells. None detects it: ``","`` for a ``;``- or tab-separated file
        whose numeric cells are written with decimal commas (``3,109``, ``0,5``, ``1,5B``) and
        none with grouped thousands (``1,234,567``), else ``"."``. The other mark is accepted
        only as a thousands separator in groups of three (``1,234,567`` / ``1.234.567,5``).
    schema : Schema, optional
        A law's declared inputs and target (``law.schema``): its inputs other than N, D, C, U
        are read too (by name, alias or ``columns``) and checked against their declared sign; a
        target with ``support = "real"`` may be zero or negative. Default: N, D, C, U and a
        positive loss.

    Returns
    -------
    Runs

    Raises
    ------
    DataError
        Unreadable, empty or non-UTF-8 file or a spreadsheet, missing loss column, non-numeric
        values or misplaced decimal/thousands marks (rows named), invalid values without
        ``drop_invalid`` (rows named; empty cells shown as "empty"), or too little to derive N,
        D and C.

    Warns
    -----
    InconsistentComputeWarning
        N, D and C are all given and C differs from ``k N D`` by more than a factor 2 in some
        runs (up to 8 rows named).
    DecimalCommaWarning
        Commas were detected as decimal marks although every such cell also reads as thousands.

    Examples
    --------
    >>> runs = load_runs({"params": ["70M", "1B"], "tokens": ["1.4B", "20B"], "loss": [3.5, 2.9]})
    >>> runs.column("C")
    array([5.88e+17, 1.20e+20])
    """
    schema = schema or Schema()
    if isinstance(source, Runs):
        needs = [i.name for i in schema.extra if not source.has(i.name)]
        if columns or drop_invalid or flops_per_token != source.flops_per_token or needs:
            # re-read from the columns the user gave (a derived C used the old k)
            derived = [c for c, origin in source.mapping.items() if origin == "derived"]
            kept = source.table.drop(columns=derived)
            if source.unused is not None:
                kept = pd.concat([kept, source.unused], axis=1)
            source = kept
        else:
            return source
    k = float(flops_per_token)
    if not np.isfinite(k) or k <= 0:
        raise DataError(f"flops_per_token must be a finite number > 0, not {flops_per_token!r}")
    if decimal is not None:
        check_decimal(decimal)
    raw, name = read_table(source)
    if raw.empty or len(raw.columns) == 0:
        raise DataError(f"{name}: the table has no runs; it needs a header row and one row per run")
    mapping = _match_columns(raw, dict(columns or {}), name, schema)
    missing = [i.name for i in schema.extra if i.name not in mapping]
    if missing:
        raise DataError(
            f"{name}: the law takes the input {missing[0]!r}, but the table has no column of that "
            f"name; its columns are {', '.join(map(str, raw.columns))}. Map one explicitly "
            f"(--col {missing[0]}=COLUMN, columns={{{missing[0]!r}: COLUMN}})"
        )
    if "loss" not in mapping:
        raise DataError(
            f"{name}: no loss column; the columns are {', '.join(map(str, raw.columns))}. Name it "
            "'loss' (or val_loss, final_loss, ...) or map it explicitly (--loss-col NAME)"
        )
    numeric = [*NUMERIC, *(i.name for i in schema.extra)]
    cells = (v for c in numeric if c in mapping for v in raw[mapping[c]].to_numpy())
    mark, how = choose_decimal(cells, raw.attrs.get(SEP_KEY), name, decimal)
    table = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    empty: dict[str, dict[int, str]] = {}
    for canon, col in mapping.items():
        if canon == "group":
            table["group"] = raw[col].astype(str).to_numpy()
        elif canon == "seed":
            table["seed"] = raw[col].to_numpy()
        else:
            _, scale = _scaled_name(col)
            numbers, empty[canon] = to_numbers(
                raw[col], canon, str(col), name, decimal=mark, how=how
            )
            table[canon] = numbers * (scale or 1.0)
    signs = {i.name: i.sign for i in schema.extra}
    signs["loss"] = "positive" if schema.target.is_positive else "real"
    table, n_dropped = check_values(table, mapping, name, drop_invalid, empty, signs=signs)
    unused = raw.drop(columns=list(mapping.values())).iloc[table.index.to_numpy()]
    # a law whose inputs include none of N, D, C (e.g. fine-tuning examples only) needs none
    needs_size = not schema.inputs or any(i.name in ("N", "D", "C") for i in schema.inputs)
    table, derived = derive(table, k, name, raw.columns, required=needs_size)
    if not derived:
        message = compute_mismatch(table, k, name)
        if message:
            warnings.warn(message, InconsistentComputeWarning, stacklevel=2)
    mapping.update({c: "derived" for c in derived})
    extra = [i.name for i in schema.extra]
    order = [c for c in ("N", "D", "C", "U", *extra, "loss", "group", "seed") if c in table]
    return Runs(
        table=table[order].reset_index(drop=True),
        source=name,
        flops_per_token=k,
        mapping={c: str(mapping[c]) for c in order},
        n_dropped=n_dropped,
        unused=unused.reset_index(drop=True),
    )
