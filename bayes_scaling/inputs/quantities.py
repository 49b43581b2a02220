"""Numbers as people type them: unit suffixes, decimal marks and thousands separators.

``70M``, ``1.3B``, ``1.4T``, ``1e21`` and ``1,234,567`` read as expected. The decimal mark is
``.`` unless ``decimal=","`` is given (or :func:`detect_decimal` finds a ``;``- or tab-separated
file written with decimal commas, ``3,109`` / ``0,5`` / ``1,5B``). The other mark is accepted
only as a thousands separator in proper groups of three (``1,234,567.5`` or ``1.234.567,5``);
anything else, such as ``1,5B`` with ``.`` as the decimal mark, is an error that says how to
write it, never a silent ``15B``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import DataError

__all__ = ["DecimalCommaWarning", "parse_quantity"]

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_SHAPE = re.compile(r"^([-+]?)([\d.,]+)(?:[eE]([-+]?\d+))?\s*([kmbgtp]?)$", re.IGNORECASE)
_PLAIN = re.compile(r"\d+\.?\d*|\.\d+")
_TAIL = r"(?:[eE][-+]?\d+)?\s*[kKmMbBgGtTpP]?"
#: A cell written with a decimal comma: ``3,109``, ``0,5``, ``1,5B``, ``1.234,5``, ``2,5E+21``.
_COMMA_CELL = re.compile(rf"^[-+]?(?:[1-9]\d{{0,2}}(?:\.\d{{3}})+|\d*),\d+{_TAIL}$")
#: Unmistakably grouped thousands with a ``.`` decimal: ``1,234,567``, ``1,234.5``.
_GROUPED_CELL = re.compile(
    rf"^[-+]?[1-9]\d{{0,2}}(?:(?:,\d{{3}}){{2,}}(?:\.\d*)?|(?:,\d{{3}})+\.\d*){_TAIL}$"
)
#: Either way: one comma (or dot) then exactly three digits, ``3,109`` or ``3.109``.
_EITHER = re.compile(r"^[-+]?[1-9]\d{0,2}[.,]\d{3}\s*[kKmMbBgGtTpP]?$")
#: A cell written with a decimal point: ``3.5``, ``5.76e23``, ``.5`` (``3.109`` is either).
_DOT_CELL = re.compile(rf"^[-+]?\d*\.\d+{_TAIL}$")
#: Cells that mean "no value" in a text table.
MISSING_TEXT = ("", "nan", "NaN", "NA", "N/A", "null", "None")


class DecimalCommaWarning(UserWarning):
    """Commas were read as decimal marks although every such cell could also be a thousands
    separator (``3,109``); the message says how to get the other reading."""


class _MarkError(ValueError):
    """A decimal mark or thousands separator in the wrong place; ``advice`` says what to do."""

    def __init__(self, value: Any, advice: str) -> None:
        super().__init__(f"{value!r} is not a number: {advice}")
        self.advice = advice


def check_decimal(decimal: str) -> str:
    """``decimal`` itself if it is ``"."`` or ``","``; else a DataError."""
    if decimal not in (".", ","):
        raise DataError(f"decimal must be '.' or ',' (or None to detect it), not {decimal!r}")
    return decimal


def _mantissa(text: str, value: Any, decimal: str, *, in_table: bool = True) -> str:
    """Digits and marks -> a plain ``123.45`` string, or a ValueError saying how to write it."""
    group = "," if decimal == "." else "."
    if group in text:
        grouped = rf"[1-9]\d{{0,2}}(?:{re.escape(group)}\d{{3}})+(?:{re.escape(decimal)}\d*)?"
        if not re.fullmatch(grouped, text):
            if decimal == "." and text.count(",") == 1 and "." not in text:
                fixed = str(value).strip().replace(",", ".")
                raise _MarkError(
                    value,
                    "a comma is only read as a thousands separator in groups of three "
                    f"(1,234,567); write {fixed}"
                    + (
                        ", or pass decimal=',' (--decimal ,) if ',' is the decimal mark"
                        if in_table
                        else " (with a decimal point)"
                    ),
                )
            if decimal == ".":
                raise _MarkError(
                    value,
                    "a comma is only read as a thousands separator in groups of three "
                    "(1,234,567.5); pass decimal=',' (--decimal ,) if ',' is the decimal mark "
                    "(1.234.567,5)",
                )
            raise _MarkError(
                value,
                "with ',' as the decimal mark a '.' is only read as a thousands separator in "
                "groups of three (1.234.567,5); write it with ',' (e.g. 1,5), or pass "
                "decimal='.' (--decimal .) if '.' is the decimal mark",
            )
        text = text.replace(group, "")
    text = text.replace(decimal, ".")
    if not _PLAIN.fullmatch(text):
        raise ValueError(f"{value!r} is not a number (e.g. 70M, 1.3B, 1.4e12)")
    return text


def parse_quantity(value: Any, *, decimal: str = ".", in_table: bool = True) -> float:
    """A number, possibly with a unit suffix: ``"70M"`` -> 7e7, ``"1.4T"`` -> 1.4e12.

    Parameters
    ----------
    value : str or number
        Suffixes (case-insensitive): k (1e3), M (1e6), B or G (1e9), T (1e12), P (1e15).
        Underscores between digits are ignored (``1_000``), so are thousands separators in
        proper groups of three (``1,234,567`` or, with ``decimal=","``, ``1.234.567``).
    decimal : {".", ","}
        The decimal mark. With ``","``, ``"1,5B"`` is 1.5e9; with ``"."`` it is an error
        (a comma that is not a thousands separator is never dropped silently).
    in_table : bool
        Whether the value comes from a table, whose decimal mark can be chosen (the error then
        suggests ``decimal=','``); a command-line number is told to use a decimal point.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If the text is not a number of this form; the message says how to write it.

    Examples
    --------
    >>> parse_quantity("1,5B", decimal=",")
    1500000000.0
    """
    check_decimal(decimal)
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    if isinstance(value, int | float | np.number):
        return float(value)
    text = re.sub(r"(?<=\d)_(?=\d)", "", str(value).strip())
    if text.lower() in ("inf", "+inf", "-inf", "infinity", "-infinity", "nan"):
        return float(text)  # a number, rejected later as non-finite with its row named
    match = _SHAPE.match(text)
    if not match:
        raise ValueError(f"{value!r} is not a number (e.g. 70M, 1.3B, 1.4e12)")
    sign, digits, exponent, suffix = match.groups()
    mantissa = _mantissa(digits, value, decimal, in_table=in_table)
    number = float(sign + mantissa + (f"e{exponent}" if exponent else ""))
    return number * (_SUFFIX[suffix.lower()] if suffix else 1.0)


def detect_decimal(cells: Iterable[Any], sep: str | None) -> tuple[str, str | None, bool]:
    """The decimal mark of a text table's numeric cells.

    Parameters
    ----------
    cells : iterable
        The cells of the numeric columns (text; other values are ignored).
    sep : str or None
        The file's column separator (None for in-memory tables).

    Returns
    -------
    decimal : {".", ","}
        ``","`` only for a ``;``- or tab-separated file with cells written with a decimal comma
        (``3,109``, ``0,5``, ``1,5B``) and none with unmistakably grouped thousands
        (``1,234,567``, ``1,234.5``). Cells then written with a decimal point (``3.5``) fail
        to parse with a message naming them and the ``decimal=`` option (never a silent guess).
    example : str or None
        A cell that decided it.
    ambiguous : bool
        ``","`` was chosen although every comma cell could also read as thousands (``3,109``)
        and no cell contradicts it.
    """
    if sep not in (";", "\t"):
        return ".", None, False
    text = [c.strip() for c in cells if isinstance(c, str)]
    commas = [c for c in text if _COMMA_CELL.match(c)]
    if not commas or any(_GROUPED_CELL.match(c) for c in text):
        return ".", None, False
    clear = [c for c in commas if not _EITHER.match(c)]
    if clear:
        return ",", clear[0], False
    # every comma cell reads either way (3,109); cells such as 3.5 will then fail with a message
    # naming them, so only warn when nothing contradicts the decimal-comma reading
    dots = any(_DOT_CELL.match(c) and not _EITHER.match(c) for c in text)
    return ",", commas[0], not dots


def choose_decimal(
    cells: Iterable[Any], sep: str | None, source: str, decimal: str | None
) -> tuple[str, str]:
    """The decimal mark of a table's numeric cells: ``decimal`` if given, else detected.

    Returns
    -------
    decimal : {".", ","}
    how : str
        How ``","`` was detected (for messages), or ``""``.

    Warns
    -----
    DecimalCommaWarning
        ``","`` was detected although every comma cell also reads as thousands (``3,109``).
    """
    if decimal is not None:
        return check_decimal(decimal), ""
    mark, example, ambiguous = detect_decimal(cells, sep)
    if mark == ".":
        return ".", ""
    kind = "tab" if sep == "\t" else f"{sep!r}"
    how = f"',' was taken as the decimal mark of this {kind}-separated file from cells like "
    how += repr(example)
    if ambiguous:
        warnings.warn(
            f"{source}: read ',' as the decimal mark ({example!r} -> "
            f"{parse_quantity(example, decimal=','):g}) because the file is {kind}-separated; if "
            "the commas separate thousands pass decimal='.' (--decimal .), or decimal=',' "
            "(--decimal ,) to confirm",
            DecimalCommaWarning,
            stacklevel=4,
        )
    return ",", how


def _missing(value: Any) -> str | None:
    """How a cell without a value is shown in messages ("empty"), or None for a value."""
    if value is None or value is pd.NA or value is pd.NaT:
        return "empty"
    if isinstance(value, str) and value.strip() in MISSING_TEXT and value.strip().lower() != "nan":
        return "empty" if not value.strip() else f"empty ({value.strip()!r})"
    if isinstance(value, float | np.floating) and np.isnan(value):
        return "empty (NaN)"
    return None


def to_numbers(
    values: pd.Series, canon: str, col: str, source: str, *, decimal: str, how: str = ""
) -> tuple[np.ndarray, dict[int, str]]:
    """Parse a column to floats; name the rows whose text is not a number.

    Returns
    -------
    numbers : numpy.ndarray
        NaN where the cell is empty.
    empty : dict
        Row position -> how the empty cell is shown in messages (``"empty"``).

    Raises
    ------
    DataError
        Naming the source, column, rows and values and saying how to write them; ``how`` says
        how the decimal mark was chosen.
    """
    out = np.empty(len(values))
    empty: dict[int, str] = {}
    bad = []
    for i, v in enumerate(values.to_numpy()):
        shown = _missing(v)
        if shown is not None:
            out[i], empty[i] = np.nan, shown
            continue
        try:
            out[i] = parse_quantity(v, decimal=decimal)
        except ValueError as err:
            bad.append((i, v, getattr(err, "advice", "")))
    if not bad:
        return out, empty
    listed = "; ".join(f"row {i + 1}: {v!r}" for i, v, _ in bad[:5])
    more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
    marks = [advice for _, _, advice in bad if advice]
    advice = "write plain numbers or numbers with a suffix such as 70M, 1.3B, 1.4T"
    if marks:
        others = f"; {advice} for the others" if len(marks) < len(bad) else ""
        advice = marks[0] + (f" ({how})" if how else "") + others
    raise DataError(
        f"{source}: column {col!r} ({canon}) holds values that are not numbers: {listed}{more}; "
        + advice
    )
