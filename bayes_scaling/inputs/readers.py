"""Reading a runs table from a file, standard input or an in-memory object into a DataFrame.

CSV (delimiter taken from the header: comma, semicolon, tab or pipe; an Excel ``sep=;`` first
line is honoured), TSV, parquet and JSON records are read as text columns so that values with unit
suffixes (``70M``) and decimal commas (``3,109``) survive to :mod:`bayes_scaling.inputs.quantities`.
``"-"`` reads a CSV from standard input. Text must be UTF-8 (a byte-order mark, also UTF-16's, is
accepted); ``.gz``, ``.bz2`` and ``.xz`` files are decompressed. Spreadsheets and files in other
encodings are refused with a message saying how to save them. Files are only ever read; pandas
DataFrames, xarray Datasets and mappings of columns are copied, never modified.
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import io
import lzma
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.errors import DataError

__all__ = ["read_table"]

#: ``DataFrame.attrs`` key holding the column separator of a table read from text.
SEP_KEY = "bayes_scaling.sep"
#: The source name that reads standard input, and how it is shown in messages.
STDIN = "-"
_SPREADSHEETS = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".numbers")
_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")  # zip (xlsx, ods) and OLE2 (xls) containers
_COMPRESSED = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
_SEPARATORS = (",", ";", "\t", "|")


def read_table(source: Any) -> tuple[pd.DataFrame, str]:
    """Read anything :func:`~bayes_scaling.inputs.runs.load_runs` accepts into a DataFrame.

    Parameters
    ----------
    source : path, ``"-"``, DataFrame, Dataset or mapping
        A CSV/TSV/parquet/JSON path (optionally ``.gz``/``.bz2``/``.xz``), ``"-"`` (or
        ``Path("-")``) for a CSV on standard input, or an in-memory table. It is never modified.

    Returns
    -------
    table : pandas.DataFrame
        Text columns for text files; ``table.attrs[SEP_KEY]`` is the separator of a delimited file.
    name : str
        The source as shown in messages (the path, ``<stdin>``, ``<DataFrame>``, ...).

    Raises
    ------
    DataError
        Missing, empty, unreadable or non-UTF-8 file, a spreadsheet, or an unsupported object.
    """
    if isinstance(source, pd.DataFrame):
        table = source.copy()
        table.attrs.pop(SEP_KEY, None)
        return table, "<DataFrame>"
    if isinstance(source, xr.Dataset):
        return source.to_dataframe().reset_index(drop=True), "<Dataset>"
    if isinstance(source, Mapping):
        try:
            return pd.DataFrame({k: np.asarray(v) for k, v in source.items()}), "<mapping>"
        except ValueError as err:
            raise DataError(f"<mapping>: the columns do not form a table ({err})") from None
    if not isinstance(source, str | os.PathLike):
        raise DataError(
            f"cannot read runs from {type(source).__name__}; give a CSV/TSV/parquet/JSON path, "
            "'-' for a CSV on standard input, a pandas DataFrame, an xarray Dataset or a dict of "
            "columns"
        )
    if os.fspath(source) == STDIN:  # also Path("-"), as a CLI argument arrives
        return _read_stdin(), "<stdin>"
    path = Path(source)
    if path.is_dir():
        raise DataError(f"{path} is a folder; give the path of a CSV, TSV, parquet or JSON table")
    if not path.is_file():
        raise DataError(f"{path}: no such file; give the path of a CSV, TSV, parquet or JSON table")
    suffix = path.suffix.lower()
    if suffix in _SPREADSHEETS:
        raise _spreadsheet(path, f"a spreadsheet ({suffix})")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), str(path)
        data = path.read_bytes()
        if suffix in _COMPRESSED:
            data = _decompress(data, suffix, path)
            suffix = Path(path.stem).suffix.lower()
        if data.startswith(_MAGIC):
            raise _spreadsheet(path, "an Excel/OpenDocument workbook, not text")
        table = _parse(_decode(data, str(path)), suffix, str(path))
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{path}: the file is empty; it needs a header row and one row per run"
        ) from None
    except (ValueError, OSError, pd.errors.ParserError) as err:
        if isinstance(err, DataError):
            raise
        raise DataError(
            f"{path}: could not be read as a {suffix.lstrip('.') or 'CSV'} table ({err}); save it "
            "as CSV with a header row"
        ) from None
    return table, str(path)


def _spreadsheet(path: Path, what: str) -> DataError:
    return DataError(
        f"{path}: is {what}, which is not read directly; save it as CSV (in Excel: File > Save As "
        "> 'CSV UTF-8') and load that file (or install openpyxl and read it with pandas: "
        f"load_runs(pandas.read_excel({str(path)!r})))"
    )


def _decompress(data: bytes, suffix: str, path: Path) -> bytes:
    try:
        return _COMPRESSED[suffix](data)
    except (OSError, EOFError, lzma.LZMAError) as err:
        raise DataError(f"{path}: could not be decompressed as {suffix} ({err})") from None


def _decode(data: bytes, name: str) -> str:
    """UTF-8 text (a UTF-8 or UTF-16 byte-order mark is honoured); else say to save as UTF-8."""
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16")
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        byte = data[err.start : err.start + 1]
        guess = byte.decode("cp1252", errors="replace")
        raise DataError(
            f"{name}: is not UTF-8 text (line {line} has the byte 0x{byte.hex()}, which is "
            f"{guess!r} in Latin-1/Windows-1252); save it as UTF-8 (in Excel: Save As > 'CSV "
            "UTF-8'; or iconv -f latin1 -t utf-8) and load it again"
        ) from None
    if "\x00" in text:
        raise DataError(
            f"{name}: holds NUL bytes, so it is binary or UTF-16 without a byte-order mark; save "
            "it as UTF-8 CSV and load it again"
        )
    return text


def _parse(text: str, suffix: str, name: str = "<stdin>") -> pd.DataFrame:
    """A table from decoded text: JSON records, or delimited text read as str columns."""
    if suffix == ".json":
        return pd.read_json(io.StringIO(text), orient="records", dtype=False)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    skip = 0
    if suffix in (".tsv", ".tab"):
        sep = "\t"
    elif first.lower().startswith("sep=") and len(first) == 5:
        sep, skip = first[4], lines.index(first) + 1  # Excel's "sep=;" hint line
    else:
        counts = {s: first.count(s) for s in _SEPARATORS}
        sep = max(counts, key=counts.get) if any(counts.values()) else ","
    table = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, skiprows=skip)
    header = next(csv.reader([lines[skip] if skip < len(lines) else first], delimiter=sep), [])
    repeated = sorted(
        {h.strip() for h in header if [x.strip() for x in header].count(h.strip()) > 1}
    )
    if repeated:
        raise DataError(
            f"{name}: the header names {', '.join(repr(h) for h in repeated)} twice or more; "
            "give every column its own name"
        )
    table.attrs[SEP_KEY] = sep
    return table


def _read_stdin() -> pd.DataFrame:
    """A CSV (separator sniffed) from standard input, read as text columns."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        raise DataError(
            "<stdin>: no table on standard input; pipe a CSV in (e.g. cat runs.csv | "
            "bayes-scaling fit -) or give the path of a file"
        )
    buffer = getattr(stream, "buffer", None)
    raw = buffer.read() if buffer is not None else stream.read().encode()
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise DataError(
            "<stdin>: a spreadsheet was piped in; save it as CSV (or read it with pandas and "
            "pass the DataFrame)"
        )
    text = _decode(raw, "<stdin>")
    try:
        return _parse(text, ".csv")
    except pd.errors.EmptyDataError:
        raise DataError(
            "<stdin>: standard input is empty; it needs a header row and one row per run"
        ) from None
    except (ValueError, pd.errors.ParserError) as err:
        raise DataError(
            f"<stdin>: could not be read as a CSV table ({err}); send CSV with a header row"
        ) from None
