"""Loading runs: aliases, unit suffixes, derived columns, round trips, bad-input messages."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.runs import Runs, load_runs, parse_quantity
from tests.conftest import shipped_file


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("70M", 7e7),
        ("1.3B", 1.3e9),
        ("1.4T", 1.4e12),
        ("2k", 2e3),
        ("5.76e23", 5.76e23),
        ("1,000", 1e3),
        (" 16b ", 1.6e10),
        ("1e21", 1e21),
        (3, 3.0),
    ],
)
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["70X", "abc", "", "1.2.3B", "B"])
def test_parse_quantity_rejects(text):
    with pytest.raises(ValueError, match="not a number"):
        parse_quantity(text)


def test_aliases_suffixes_and_derived_compute(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,val_loss\n70M,1.4B,3.5\n1B,20B,2.9\n")
    runs = load_runs(path)
    assert runs.mapping == {"N": "params", "D": "tokens", "C": "derived", "loss": "val_loss"}
    np.testing.assert_allclose(runs.column("N"), [7e7, 1e9])
    np.testing.assert_allclose(runs.column("C"), 6 * np.array([7e7 * 1.4e9, 1e9 * 20e9]))


def test_tokens_derived_from_compute_with_custom_rule():
    table = pd.DataFrame(
        {"Model Size": [1e8, 1e9], "Training FLOP": [1e19, 1e20], "loss": [3, 2.5]}
    )
    runs = load_runs(table, flops_per_token=8)
    np.testing.assert_allclose(runs.column("D"), [1e19 / (8 * 1e8), 1e20 / (8 * 1e9)])
    assert runs.mapping["D"] == "derived" and runs.flops_per_token == 8


def test_reloading_runs_with_another_flops_rule_rederives_compute():
    runs = load_runs({"N": [1e8, 1e9], "D": [1e9, 2e10], "loss": [3.0, 2.5]})
    again = load_runs(runs, flops_per_token=8)
    np.testing.assert_allclose(again.column("C"), 8 * runs.column("N") * runs.column("D"))
    assert load_runs(runs) is runs  # nothing asked: the same validated object


def test_scaled_column_name_and_explicit_mapping():
    table = pd.DataFrame({"params_millions": [70, 400], "my_tokens": [1e9, 8e9], "L": [3.1, 2.8]})
    runs = load_runs(table, columns={"D": "my_tokens", "loss": "L"})
    np.testing.assert_allclose(runs.column("N"), [7e7, 4e8])
    assert runs.mapping["D"] == "my_tokens"


def test_group_unique_tokens_and_input_left_unchanged():
    table = pd.DataFrame(
        {
            "N": [1e8, 2e8, 4e8],
            "D": [1e9, 2e9, 4e9],
            "unique_tokens": [1e9, 1e9, 1e9],
            "loss": [3.0, 2.8, 2.6],
            "group": ["a", "b", "a"],
        }
    )
    before = table.copy()
    runs = load_runs(table)
    pd.testing.assert_frame_equal(table, before)
    assert runs.groups == ["a", "b"]
    assert runs.has("U") and not runs.has("seed")


def test_xarray_round_trip_and_dataset_input():
    runs = load_runs({"N": [1e8, 2e8], "D": [1e9, 3e9], "loss": [3.0, 2.7], "group": ["x", "y"]})
    ds = runs.to_xarray()
    assert ds.sizes == {"run": 2} and set(ds.data_vars) == {"N", "D", "C", "loss", "group"}
    back = Runs.from_xarray(ds)
    pd.testing.assert_frame_equal(back.table, runs.table)
    assert back.mapping == runs.mapping and back.flops_per_token == runs.flops_per_token
    again = load_runs(xr.Dataset({k: ("run", v) for k, v in runs.table.items()}))
    np.testing.assert_allclose(again.column("C"), runs.column("C"))


def test_subset_and_parquet(tmp_path):
    runs = load_runs({"N": [1e8, 2e8, 4e8], "D": [1e9, 2e9, 4e9], "loss": [3, 2.8, 2.6]})
    small = runs.subset(runs.column("N") < 3e8)
    assert small.n_runs == 2 and runs.n_runs == 3
    path = tmp_path / "runs.parquet"
    runs.table.to_parquet(path)
    assert load_runs(path).n_runs == 3


def test_epoch_points_load():
    runs = load_runs(shipped_file("epoch_chinchilla", "svg_extracted_data.csv"))
    assert runs.n_runs == 245
    assert runs.mapping["N"] == "Model Size" and runs.mapping["C"] == "Training FLOP"
    np.testing.assert_allclose(runs.column("C"), 6 * runs.column("N") * runs.column("D"))


# ------------------------------------------------------------------------------- bad input
def test_missing_loss_column_lists_columns(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("params,tokens,score\n1e8,1e9,3\n")
    with pytest.raises(DataError, match=r"no loss column.*params, tokens, score.*--loss-col"):
        load_runs(path)


def test_missing_inputs(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("width,loss\n1,3\n")
    with pytest.raises(DataError, match=r"runs\.csv: no column for N .*width, loss"):
        load_runs(path)


def test_explicit_column_not_present():
    with pytest.raises(DataError, match=r"'nparams' given for N is not in the table.*params"):
        load_runs({"params": [1e8], "loss": [3.0]}, columns={"N": "nparams"})


def test_non_numeric_value_names_row_and_value(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n1e8,1e9,3.0\n2e8,lots,2.9\n")
    with pytest.raises(DataError, match=r"runs\.csv: column 'D' \(D\).*row 2: 'lots'"):
        load_runs(path)


@pytest.mark.parametrize("bad", ["0", "-1", "nan", "inf", ""])
def test_invalid_values_listed_by_row(tmp_path, bad):
    path = tmp_path / "runs.csv"
    path.write_text(f"N,D,loss\n1e8,1e9,3.0\n2e8,2e9,{bad}\n4e8,4e9,2.5\n")
    with pytest.raises(DataError, match=r"column 'loss' \(loss\) at row\(s\) 2 .*--drop-invalid"):
        load_runs(path)


def test_drop_invalid_warns_with_count(tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("N,D,loss\n1e8,1e9,3.0\n-2e8,2e9,2.9\n4e8,4e9,0\n8e8,8e9,2.4\n")
    with pytest.warns(UserWarning, match="dropped 2 of 4 runs"):
        runs = load_runs(path, drop_invalid=True)
    assert runs.n_runs == 2 and runs.n_dropped == 2


def test_empty_file_and_header_only(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match=r"empty\.csv: the file is empty"):
        load_runs(empty)
    header = tmp_path / "header.csv"
    header.write_text("N,D,loss\n")
    with pytest.raises(DataError, match="has no runs"):
        load_runs(header)


def test_missing_file_and_wrong_type():
    with pytest.raises(DataError, match="no such file"):
        load_runs("does-not-exist.csv")
    with pytest.raises(DataError, match="cannot read runs from int"):
        load_runs(3)


def test_bad_flops_per_token():
    with pytest.raises(DataError, match="flops_per_token"):
        load_runs({"N": [1e8], "D": [1e9], "loss": [3.0]}, flops_per_token=0)


def test_no_warning_for_clean_table():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        load_runs({"N": [1e8], "D": [1e9], "loss": [3.0]})
