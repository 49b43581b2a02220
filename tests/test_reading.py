"""Reading odd and bad runs tables as a new user writes them: decimal commas, grouped thousands,
spreadsheets, other encodings, empty cells, standard input, and C inconsistent with k N D.

Every case checks the values read, or the error type and that its message names the file,
column, row and value and says what to do; no input file is ever modified.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.runs import (
    DecimalCommaWarning,
    InconsistentComputeWarning,
    load_runs,
    parse_quantity,
)


def _load(path: Path, **options):
    """load_runs(path), asserting that the file's bytes are the same afterwards."""
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DecimalCommaWarning)
            warnings.simplefilter("error", InconsistentComputeWarning)
            return load_runs(path, **options)
    finally:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the input was modified"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ values read right
READ = [
    ("semicolon, decimal commas", "runs.csv", "N;D;loss\n70M;1,4B;3,109\n1B;20B;2,9\n", {},
     {"D": [1.4e9, 2e10], "loss": [3.109, 2.9]}),
    ("semicolon, explicit decimal", "runs.csv", "N;D;loss\n1e8;1e9;3,109\n2e8;2e9;2,987\n",
     {"decimal": ","}, {"loss": [3.109, 2.987]}),
    ("tab file, decimal commas", "runs.tsv", "N\tD\tloss\n1e8\t1e9\t0,5\n2e8\t2e9\t1,25\n", {},
     {"loss": [0.5, 1.25]}),
    ("semicolon, dot-grouped thousands and comma decimal", "runs.csv",
     "N;D;loss\n1.234.567,5;1e9;3,5\n2.000.000;2e9;2,5\n", {}, {"N": [1234567.5, 2e6]}),
    ("comma file, grouped thousands in quotes", "runs.csv",
     'N,D,loss\n"1,234,567",1e9,3.5\n"70,000,000",2e9,2.5\n', {}, {"N": [1234567, 7e7]}),
    ("semicolon, grouped thousands keep the dot", "runs.csv",
     "N;D;loss\n1,000,000;2,000,000,000;3.5\n2,000,000;1e9;2.5\n", {},
     {"N": [1e6, 2e6], "D": [2e9, 1e9], "loss": [3.5, 2.5]}),
    ("semicolon, plain dots", "runs.csv", "N;D;loss\n1e8;1e9;3.5\n2e8;2e9;2.5\n", {},
     {"loss": [3.5, 2.5]}),
    ("comma file, explicit decimal comma in quotes", "runs.csv", 'N,D,loss\n1e8,1e9,"3,5"\n',
     {"decimal": ","}, {"loss": [3.5]}),
    ("Excel sep= line", "runs.csv", "sep=;\nN;D;loss\n1e8;1e9;3,5\n", {}, {"loss": [3.5]}),
    ("UTF-8 byte-order mark", "runs.csv", "\ufeffN,D,loss\n1e8,1e9,3.5\n".encode(), {},
     {"N": [1e8]}),
    ("UTF-16 (Excel 'Unicode text')", "runs.txt",
     "N\tD\tloss\n1e8\t1e9\t3,5\n".encode("utf-16"), {}, {"loss": [3.5]}),
    ("gzip", "runs.csv.gz", gzip.compress(b"N,D,loss\n1e8,1e9,3.5\n"), {}, {"D": [1e9]}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "options", "expected"),
    [case[1:] for case in READ],
    ids=[case[0] for case in READ],
)
def test_values_are_read_right(tmp_path, name, content, options, expected):
    runs = _load(_write(tmp_path, name, content), **options)
    for column, values in expected.items():
        np.testing.assert_allclose(runs.column(column), values)


def test_ambiguous_decimal_comma_is_read_as_decimal_and_says_so(tmp_path):
    path = _write(tmp_path, "runs.csv", "N;D;loss\n1e8;1e9;3,109\n2e8;2e9;2,987\n")
    with pytest.warns(DecimalCommaWarning, match=r"runs\.csv.*'3,109' -> 3\.109.*decimal='\.'"):
        runs = load_runs(path)
    np.testing.assert_allclose(runs.column("loss"), [3.109, 2.987])


# ------------------------------------------------------------------------ bad input messages
LATIN1 = "N,D,loss,note\n1e8,1e9,3.5,ok\n2e8,2e9,2.5,café\n".encode("latin-1")
ERRORS = [
    ("comma not in groups of three", "runs.csv", 'N,D,loss\n1e8,1e9,3.5\n"1,5",2e9,2.5\n', {},
     [r"runs\.csv", r"column 'N'", r"row 2: '1,5'", r"write 1\.5", r"decimal=','",
      r"--decimal ,"]),
    ("semicolon, grouped thousands and a decimal comma", "runs.csv",
     "N;D;loss\n1,000,000;1e9;3.5\n2,000,000;2e9;2,5\n", {},
     [r"runs\.csv", r"column 'loss'", r"row 2: '2,5'", r"decimal=','"]),
    ("semicolon, decimal commas and a decimal point", "runs.csv",
     "N;D;loss\n1e8;1e9;0,5\n2e8;2e9;3.5\n", {},
     [r"runs\.csv", r"column 'loss'", r"row 2: '3\.5'", r"decimal='\.'", r"--decimal \.",
      r"from cells like '0,5'"]),
    ("explicit decimal comma, dotted value", "runs.csv", "N;D;loss\n1e8;1e9;3.5\n",
     {"decimal": ","}, [r"row 1: '3\.5'", r"decimal='\.'"]),
    ("xlsx", "runs.xlsx", b"PK\x03\x04 not really a workbook", {},
     [r"runs\.xlsx", r"save it as CSV", r"openpyxl"]),
    ("xls", "runs.xls", b"\xd0\xcf\x11\xe0 old workbook", {}, [r"runs\.xls", r"save it as CSV"]),
    ("workbook named .csv", "runs.csv", b"PK\x03\x04 zip container", {},
     [r"runs\.csv", r"workbook", r"save it as CSV"]),
    ("Latin-1", "runs.csv", LATIN1, {},
     [r"runs\.csv", r"not UTF-8", r"line 3", r"'é'", r"save it as UTF-8"]),
    ("empty cell", "runs.csv", "N,D,loss\n1e8,1e9,3.5\n2e8,,2.5\n", {},
     [r"runs\.csv", r"column 'D' \(D\) at row\(s\) 2 has empty", r"--drop-invalid"]),
    ("bad decimal option", "runs.csv", "N,D,loss\n1e8,1e9,3.5\n", {"decimal": ";"},
     [r"decimal must be '\.' or ','"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "content", "options", "fragments"),
    [case[1:] for case in ERRORS],
    ids=[case[0] for case in ERRORS],
)
def test_bad_input_says_where_and_what_to_do(tmp_path, name, content, options, fragments):
    path = _write(tmp_path, name, content)
    with pytest.raises(DataError) as caught:
        _load(path, **options)
    message = str(caught.value)
    for fragment in fragments:
        assert re.search(fragment, message), f"{fragment!r} not in: {message}"
    assert "nan" not in message.lower()


def test_empty_cells_in_a_dataframe_are_called_empty():
    table = pd.DataFrame({"N": [1e8, np.nan], "D": [1e9, 2e9], "loss": [3.0, None]})
    with pytest.raises(DataError, match=r"'N' \(N\) at row\(s\) 2 has empty \(NaN\)"):
        load_runs(table)
    text = pd.DataFrame({"N": ["1e8", ""], "D": ["1e9", "2e9"], "loss": ["3", "NA"]})
    with pytest.raises(DataError, match=r"'N' \(N\) at row\(s\) 2 has empty;.*has empty \('NA'\)"):
        load_runs(text)


# ------------------------------------------------------------------------------ quantities
@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("70M", ".", 7e7),
        ("1.3B", ".", 1.3e9),
        ("1.4T", ".", 1.4e12),
        ("1e21", ".", 1e21),
        ("1.5B", ".", 1.5e9),
        ("1,234,567", ".", 1234567),
        ("1,234.5", ".", 1234.5),
        ("-2,000k", ".", -2e6),
        ("1_000", ".", 1e3),
        ("1,5B", ",", 1.5e9),
        ("0,5", ",", 0.5),
        ("2,5E+21", ",", 2.5e21),
        ("1.234.567,5", ",", 1234567.5),
        ("70M", ",", 7e7),
    ],
)
def test_parse_quantity_reads(text, decimal, value):
    assert parse_quantity(text, decimal=decimal) == pytest.approx(value)


@pytest.mark.parametrize(
    ("text", "decimal", "fragments"),
    [
        ("1,5B", ".", ["not a number", "write 1.5B", "decimal=','", "--decimal ,"]),
        ("0,5", ".", ["write 0.5"]),
        ("12,34", ".", ["groups of three", "write 12.34"]),
        ("1,23,456", ".", ["groups of three", "decimal=','"]),
        ("1.234,5", ".", ["groups of three", "decimal=','"]),
        ("1.5B", ",", ["not a number", "decimal='.'", "--decimal ."]),
        ("1,2,3", ",", ["not a number"]),
        ("70X", ".", ["not a number", "70M"]),
    ],
)
def test_parse_quantity_refuses_misplaced_marks(text, decimal, fragments):
    with pytest.raises(ValueError) as caught:
        parse_quantity(text, decimal=decimal)
    for fragment in fragments:
        assert fragment in str(caught.value)


# ---------------------------------------------------------------------------- standard input
@pytest.mark.parametrize("source", ["-", Path("-")], ids=["str", "Path"])
def test_standard_input(monkeypatch, source):
    monkeypatch.setattr(sys, "stdin", io.StringIO("N;D;loss\n70M;1,4B;3,5\n1B;20B;2,9\n"))
    runs = load_runs(source)
    assert runs.source == "<stdin>" and runs.n_runs == 2
    np.testing.assert_allclose(runs.column("loss"), [3.5, 2.9])


def test_standard_input_problems(monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    with pytest.raises(DataError, match=r"<stdin>: standard input is empty"):
        load_runs("-")
    latin = io.TextIOWrapper(io.BytesIO(LATIN1), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", latin)
    with pytest.raises(DataError, match=r"<stdin>: is not UTF-8.*save it as UTF-8"):
        load_runs("-")

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    with pytest.raises(DataError, match=r"<stdin>: no table on standard input; pipe a CSV in"):
        load_runs("-")
    monkeypatch.setattr(sys, "stdin", io.StringIO('N,D,loss\n"1,5",1e9,3\n'))
    with pytest.raises(DataError, match=r"<stdin>: column 'N' \(N\).*row 1: '1,5'"):
        load_runs("-")


# ------------------------------------------------------------------------ C against k N D
def _compute_table(factors):
    n = np.geomspace(1e8, 1e9, len(factors))
    d = 20 * n
    return pd.DataFrame({"N": n, "D": d, "C": 6 * n * d * np.array(factors), "loss": 3.0})


def test_compute_far_from_6nd_names_rows_and_the_fix():
    table = _compute_table([1, 3, 1, 0.3, 1.5])
    with pytest.warns(InconsistentComputeWarning) as caught:
        runs = load_runs(table)
    message = str(caught[0].message)
    for fragment in ["<DataFrame>", "2 of 5 runs", "row(s) 2, 4", "k = 6", "flops_per_token=",
                     "--flops-per-token", "drop the C column"]:  # fmt: skip
        assert fragment in message, message
    assert issubclass(InconsistentComputeWarning, UserWarning)
    np.testing.assert_allclose(runs.column("C"), table["C"])  # warned, not changed


def test_compute_warning_lists_at_most_eight_rows_and_keeps_input_row_numbers(tmp_path):
    table = _compute_table([0, 1] + [4] * 10)  # row 1 has C = 0: dropped, rows keep numbers
    with pytest.warns(InconsistentComputeWarning, match=r"row\(s\) 3, 4, .*, 10 and 2 more"):
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*dropped")
            load_runs(table, drop_invalid=True)


def test_no_compute_warning_with_the_right_flops_per_token(tmp_path):
    table = _compute_table([1, 1, 1])
    table["C"] *= 20 / 6
    path = _write(tmp_path, "runs.csv", table.to_csv(index=False))
    with pytest.warns(InconsistentComputeWarning, match=r"implies k = 20"):
        load_runs(path)
    runs = _load(path, flops_per_token=20)  # _load turns the warning into an error
    assert runs.n_runs == 3


# ----------------------------------------------------------------------------------- groups
def test_n_groups():
    runs = load_runs({"N": [1e8, 2e8, 4e8], "D": [1e9] * 3, "loss": [3, 2.9, 2.8],
                      "group": ["a", "b", "a"]})  # fmt: skip
    assert runs.n_groups == 2 and runs.groups == ["a", "b"]
    assert load_runs({"N": [1e8], "D": [1e9], "loss": [3.0]}).n_groups == 0
