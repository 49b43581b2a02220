"""Reading a runs table from a file or an in-memory object into a pandas DataFrame.

CSV (delimiter taken from the header: comma, semicolon, tab or pipe), TSV, parquet and JSON
records are read as text columns so that values with unit suffixes (``70M``) survive; pandas
DataFrames, xarray Datasets and mappings of columns are copied, never modified.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.errors import DataError

__all__ = ["read_table"]


def read_table(source: Any) -> tuple[pd.DataFrame, str]:
    """Read anything :func:`load_runs` accepts into a DataFrame (never modifying the input)."""
    if isinstance(source, pd.DataFrame):
        return source.copy(), "<DataFrame>"
    if isinstance(source, xr.Dataset):
        return source.to_dataframe().reset_index(drop=True), "<Dataset>"
    if isinstance(source, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in source.items()}), "<mapping>"
        except ValueError as err:
            raise DataError(f"<mapping>: the columns do not form a table ({err})") from None
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"cannot read runs from {type(source).__name__}; give a CSV/TSV/parquet/JSON path, a "
            "pandas DataFrame, an xarray Dataset or a dict of columns"
        )
    path = Path(source)
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of a CSV, TSV, parquet or JSON table")
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            table = pd.read_parquet(path)
        elif suffix == ".json":
            table = pd.read_json(path, orient="records", dtype=False)
        elif suffix in (".tsv", ".tab"):
            table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        else:
            table = _read_delimited(path)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; it needs a header row and one row per run"
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        raise DataError(
            f"{path}: could not be read as a {suffix.lstrip('.') or 'CSV'} table ({err}); save it "
            "as CSV with a header row"
        ) from None
    return table, str(path)


def _read_delimited(path: Path) -> pd.DataFrame:
    """CSV with the delimiter sniffed from the header (comma, semicolon, tab or pipe)."""
    with path.open(encoding="utf-8", errors="replace") as handle:
        header = handle.readline()
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    sep = max(counts, key=counts.get) if any(counts.values()) else ","
    return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False)
