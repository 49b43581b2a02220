"""Training runs: load a table, map its columns to ``N``, ``D``, ``C``, ``U``, ``loss``, validate.

:func:`load_runs` accepts a CSV/TSV/parquet/JSON path, a pandas DataFrame, an xarray Dataset (dim
``run``) or a mapping of columns. Column names are matched to the canonical names through
:data:`ALIASES` (``params``, ``Model Size``, ``tokens``, ``Training FLOP``, ...) or an explicit
``columns=`` mapping; values may carry unit suffixes (``70M``, ``1.3B``, ``1.4T``). The missing
one of N, D, C is derived with ``C = k N D`` (``k = 6`` FLOPs per parameter per token by default).
Every problem is a :class:`~bayes_scaling.core.errors.DataError` that names the source, column,
rows and
values and says what to do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import FLOPS_PER_TOKEN
from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.readers import read_table

__all__ = ["ALIASES", "Runs", "load_runs", "parse_quantity"]

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
#: Numeric canonical columns (``group`` is a label; ``seed`` is kept as is).
NUMERIC = ("N", "D", "C", "U", "loss")
_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([kKmMbBgGtTpP]?)\s*$")
_SCALE_WORDS = {"thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12}


def parse_quantity(value: Any) -> float:
    """A number, possibly with a unit suffix: ``"70M"`` -> 7e7, ``"1.4T"`` -> 1.4e12.

    Suffixes (case-insensitive): k (1e3), M (1e6), B or G (1e9), T (1e12), P (1e15). Commas and
    underscores between digits are ignored (``1,000``).

    Raises
    ------
    ValueError
        If the text is not a number of this form.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float | np.number):
        return float(value)
    text = str(value).replace(",", "").replace("_", "")
    if text.strip().lower() in ("inf", "+inf", "-inf", "infinity", "-infinity", "nan"):
        return float(text)  # a number, rejected later as non-finite with its row named
    match = _QUANTITY.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a number (e.g. 70M, 1.3B, 1.4e12)")
    number, suffix = match.groups()
    return float(number) * (_SUFFIX[suffix.lower()] if suffix else 1.0)


def _fold(name: str) -> str:
    return re.sub(r"[\s\-.()/]+", "_", str(name).strip().lower()).strip("_")


def _rows(index: np.ndarray, limit: int = 8) -> str:
    """Row numbers (1-based data rows) for a message, shortened after ``limit``."""
    rows = [str(int(i) + 1) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(rows) + more


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
    """

    table: pd.DataFrame
    source: str = "<runs>"
    flops_per_token: float = FLOPS_PER_TOKEN
    mapping: dict[str, str] = field(default_factory=dict)
    n_dropped: int = 0

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

    def subset(self, mask: Any, *, source: str | None = None) -> Runs:
        """The runs where the boolean ``mask`` is true (a new object; this one is unchanged)."""
        mask = np.asarray(mask, dtype=bool)
        return Runs(
            table=self.table.loc[mask].reset_index(drop=True),
            source=source or self.source,
            flops_per_token=self.flops_per_token,
            mapping=dict(self.mapping),
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


def _match_columns(table: pd.DataFrame, columns: Mapping[str, str], source: str) -> dict[str, str]:
    """Canonical name -> column of ``table``: explicit mapping first, then names and aliases."""
    present = list(table.columns)
    unknown = sorted(set(columns) - set(ALIASES))
    if unknown:
        raise DataError(
            f"{source}: cannot map {', '.join(unknown)}; the canonical columns are "
            f"{', '.join(ALIASES)}"
        )
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
    for canon, aliases in ALIASES.items():
        if canon in mapping:
            continue
        for name in (canon, *aliases):
            col = present[present.index(name)] if name in present else folded.get(_fold(name))
            if col is not None and col not in used:
                mapping[canon] = col
                used.add(col)
                break
        else:  # scaled names such as params_millions, tokens (billions)
            for col in present:
                base, scale = _scaled_name(col)
                if scale and col not in used and base in (canon.lower(), *aliases):
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


def _to_numbers(values: pd.Series, canon: str, col: str, source: str) -> np.ndarray:
    """Parse a column to floats (unit suffixes allowed); name the rows that are not numbers."""
    out = np.empty(len(values))
    bad = []
    for i, v in enumerate(values.to_numpy()):
        if v is None or (isinstance(v, str) and v.strip() in ("", "nan", "NaN", "NA", "null")):
            out[i] = np.nan
            continue
        try:
            out[i] = parse_quantity(v)
        except ValueError:
            bad.append((i, v))
    if bad:
        shown = "; ".join(f"row {i + 1}: {v!r}" for i, v in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise DataError(
            f"{source}: column {col!r} ({canon}) holds values that are not numbers: {shown}{more}; "
            "write plain numbers or numbers with a suffix such as 70M, 1.3B, 1.4T"
        )
    return out


def load_runs(
    source: Any,
    *,
    columns: Mapping[str, str] | None = None,
    flops_per_token: float = FLOPS_PER_TOKEN,
    drop_invalid: bool = False,
) -> Runs:
    """Load and validate a table of training runs.

    Parameters
    ----------
    source : path, DataFrame, Dataset, mapping or Runs
        CSV/TSV (delimiter sniffed), parquet or JSON records; or an in-memory table. It is never
        modified.
    columns : mapping, optional
        Explicit canonical -> column names, e.g. ``{"N": "n_params_total", "loss": "ppl_loss"}``.
    flops_per_token : float
        ``k`` in ``C = k N D``; used to derive the missing one of N, D, C.
    drop_invalid : bool
        Drop runs whose N, D, C, U or loss is missing, non-finite or <= 0 (a warning says how
        many) instead of raising.

    Returns
    -------
    Runs

    Raises
    ------
    DataError
        Unreadable or empty file, missing loss column, non-numeric values (rows named), invalid
        values without ``drop_invalid`` (rows named), or too little to derive N, D and C.

    Examples
    --------
    >>> runs = load_runs({"params": ["70M", "1B"], "tokens": ["1.4B", "20B"], "loss": [3.5, 2.9]})
    >>> runs.column("C")
    array([5.88e+17, 1.20e+20])
    """
    if isinstance(source, Runs):
        if columns or drop_invalid or flops_per_token != source.flops_per_token:
            # re-derive from the columns the user gave (a derived C used the old k)
            derived = [c for c, origin in source.mapping.items() if origin == "derived"]
            source = source.table.drop(columns=derived)
        else:
            return source
    k = float(flops_per_token)
    if not np.isfinite(k) or k <= 0:
        raise DataError(f"flops_per_token must be a finite number > 0, not {flops_per_token!r}")
    raw, name = read_table(source)
    if raw.empty or len(raw.columns) == 0:
        raise DataError(f"{name}: the table has no runs; it needs a header row and one row per run")
    mapping = _match_columns(raw, dict(columns or {}), name)
    if "loss" not in mapping:
        raise DataError(
            f"{name}: no loss column; the columns are {', '.join(map(str, raw.columns))}. Name it "
            "'loss' (or val_loss, final_loss, ...) or map it explicitly (--loss-col NAME)"
        )
    table = pd.DataFrame(index=pd.RangeIndex(len(raw)))
    for canon, col in mapping.items():
        if canon == "group":
            table["group"] = raw[col].astype(str).to_numpy()
        elif canon == "seed":
            table["seed"] = raw[col].to_numpy()
        else:
            _, scale = _scaled_name(col)
            table[canon] = _to_numbers(raw[col], canon, str(col), name) * (scale or 1.0)
    table, n_dropped = _check_values(table, mapping, name, drop_invalid)
    table, derived = _derive(table, k, name, raw.columns)
    mapping.update({c: "derived" for c in derived})
    order = [c for c in ("N", "D", "C", "U", "loss", "group", "seed") if c in table]
    return Runs(
        table=table[order].reset_index(drop=True),
        source=name,
        flops_per_token=k,
        mapping={c: str(mapping[c]) for c in order},
        n_dropped=n_dropped,
    )


def _check_values(
    table: pd.DataFrame, mapping: Mapping[str, str], source: str, drop_invalid: bool
) -> tuple[pd.DataFrame, int]:
    numeric = [c for c in NUMERIC if c in table]
    values = table[numeric].to_numpy(dtype=float)
    invalid = ~np.isfinite(values) | (values <= 0)
    bad_rows = np.flatnonzero(invalid.any(axis=1))
    if bad_rows.size == 0:
        return table, 0
    if drop_invalid:
        import warnings

        kept = table.drop(index=table.index[bad_rows])
        if kept.empty:
            raise DataError(f"{source}: every run has an invalid value; nothing is left to fit")
        warnings.warn(
            f"{source}: dropped {bad_rows.size} of {len(table)} runs with a missing, non-finite or "
            f"non-positive value (rows {_rows(bad_rows)})",
            UserWarning,
            stacklevel=3,
        )
        return kept, int(bad_rows.size)
    details = []
    for j, canon in enumerate(numeric):
        rows = np.flatnonzero(invalid[:, j])
        if rows.size:
            shown = ", ".join(f"{values[i, j]:g}" for i in rows[:5])
            details.append(
                f"column {mapping[canon]!r} ({canon}) at row(s) {_rows(rows)} has {shown}"
            )
    raise DataError(
        f"{source}: N, D, C, U and loss must be finite and > 0, but "
        + "; ".join(details)
        + ". Fix or remove those runs, or pass --drop-invalid (drop_invalid=True) to drop them."
    )


def _derive(
    table: pd.DataFrame, k: float, source: str, present: Any
) -> tuple[pd.DataFrame, list[str]]:
    """Fill in the missing one of N, D, C from the other two with C = k N D."""
    table = table.copy()
    have = {c for c in ("N", "D", "C") if c in table}
    derived = []
    if have == {"N", "D"}:
        table["C"] = k * table["N"] * table["D"]
        derived.append("C")
    elif have == {"N", "C"}:
        table["D"] = table["C"] / (k * table["N"])
        derived.append("D")
    elif have == {"D", "C"}:
        table["N"] = table["C"] / (k * table["D"])
        derived.append("N")
    elif not have:
        raise DataError(
            f"{source}: no column for N (parameters), D (tokens) or C (FLOPs); the columns are "
            f"{', '.join(map(str, present))}. Rename them (e.g. params, tokens, flops) or map "
            "them explicitly (--n-col, --d-col, --c-col)"
        )
    return table, derived
