"""Checks of a parsed runs table: valid values, the missing one of N, D, C, and C against k N D.

Used by :func:`bayes_scaling.inputs.runs.load_runs`; every message names the source, columns and
1-based data rows (the row numbers of the input table, also after rows were dropped).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import DataError

__all__: list[str] = []  # helpers of load_runs, not public API

#: Numeric canonical columns (``group`` is a label; ``seed`` is kept as is).
NUMERIC = ("N", "D", "C", "U", "loss")


def rows_text(index: np.ndarray, limit: int = 8) -> str:
    """Row numbers (1-based data rows) for a message, shortened after ``limit``."""
    rows = [str(int(i) + 1) for i in index[:limit]]
    more = f" and {len(index) - limit} more" if len(index) > limit else ""
    return ", ".join(rows) + more


def compute_mismatch(table: pd.DataFrame, k: float, source: str) -> str | None:
    """A message naming the runs whose given C is more than a factor 2 from k N D, or None."""
    if not {"N", "D", "C"} <= set(table.columns) or table.empty:
        return None
    expected = k * table["N"].to_numpy(float) * table["D"].to_numpy(float)
    ratio = table["C"].to_numpy(float) / expected
    far = np.flatnonzero((ratio > 2) | (ratio < 0.5))
    if far.size == 0:
        return None
    rows = table.index.to_numpy()[far]
    first = far[0]
    implied = float(np.median(ratio)) * k
    return (
        f"{source}: the C column differs from k*N*D (k = {k:g} FLOPs per parameter per token) by "
        f"more than a factor 2 in {far.size} of {len(table)} runs (row(s) {rows_text(rows)}; e.g. "
        f"row {rows[0] + 1}: C = {table['C'].iloc[first]:.3g} but k*N*D = {expected[first]:.3g}"
        f"); the table's C implies k = {implied:.3g} in the median. Pass the right FLOPs per "
        "token (flops_per_token= / --flops-per-token), check that the N and D columns are the "
        "ones meant, or drop the C column so that it is derived as k*N*D"
    )


def check_values(
    table: pd.DataFrame,
    mapping: Mapping[str, str],
    source: str,
    drop_invalid: bool,
    empty: Mapping[str, Mapping[int, str]],
    *,
    signs: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Raise naming the rows with a missing, non-finite or out-of-range value (or drop them).

    ``empty`` maps canonical column -> row -> how an empty cell is shown ("empty"). ``signs``
    maps a column to ``positive`` (the default: N, D, C, U, loss), ``nonnegative`` or ``real``;
    columns named there beyond N, D, C, U, loss are declared inputs.
    """
    signs = dict(signs or {})
    numeric = [c for c in (*NUMERIC, *signs) if c in table]
    numeric = list(dict.fromkeys(numeric))
    values = table[numeric].to_numpy(dtype=float)
    invalid = ~np.isfinite(values)
    for j, col in enumerate(numeric):
        sign = signs.get(col, "positive")
        if sign == "positive":
            invalid[:, j] |= values[:, j] <= 0
        elif sign == "nonnegative":
            invalid[:, j] |= values[:, j] < 0
    bad_rows = np.flatnonzero(invalid.any(axis=1))
    if bad_rows.size == 0:
        return table, 0
    if drop_invalid:
        kept = table.drop(index=table.index[bad_rows])
        if kept.empty:
            raise DataError(f"{source}: every run has an invalid value; nothing is left to fit")
        warnings.warn(
            f"{source}: dropped {bad_rows.size} of {len(table)} runs with a missing, non-finite or "
            f"out-of-range value (rows {rows_text(bad_rows)})",
            UserWarning,
            stacklevel=3,
        )
        return kept, int(bad_rows.size)
    details = []
    for j, canon in enumerate(numeric):
        rows = np.flatnonzero(invalid[:, j])
        if rows.size:
            shown = ", ".join(empty[canon].get(i) or f"{values[i, j]:g}" for i in rows[:5])
            details.append(
                f"column {mapping[canon]!r} ({canon}) at row(s) {rows_text(rows)} has {shown}"
            )
    rules = {"positive": "> 0", "nonnegative": ">= 0", "real": "finite"}
    rule = "; ".join(f"{c} {rules[signs.get(c, 'positive')]}" for c in numeric)
    raise DataError(
        f"{source}: each value must be finite and in range ({rule}), but "
        + "; ".join(details)
        + ". Fix or remove those runs, or pass --drop-invalid (drop_invalid=True) to drop them."
    )


def derive(
    table: pd.DataFrame, k: float, source: str, present: Any, *, required: bool = True
) -> tuple[pd.DataFrame, list[str]]:
    """Fill in the missing one of N, D, C from the other two with C = k N D.

    With none of them, DataError when ``required`` (the law takes N, D or C).
    """
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
    elif not have and required:
        raise DataError(
            f"{source}: no column for N (parameters), D (tokens) or C (FLOPs); the columns are "
            f"{', '.join(map(str, present))}. Rename them (e.g. params, tokens, flops) or map "
            "them explicitly (--n-col, --d-col, --c-col)"
        )
    return table, derived
