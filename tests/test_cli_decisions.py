"""The CLI contract of `optimal` and `budget`: JSON keys, human tables with units, exit code 1."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from bayes_scaling.presentation.cli import app
from bayes_scaling.questions import optimal as opt

pytestmark = pytest.mark.model
runner = CliRunner()
#: Every interval in the JSON: median, bounds and the share of draws that never reach the value
#: (an infinite bound is null and adds a ``null_means`` reason; the values here are all reached).
INTERVAL = {"median", "lower", "upper", "share_not_reached"}


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def fit_file(small_fit, tmp_path_factory):
    return small_fit.save(tmp_path_factory.mktemp("decisions") / "fit.nc")


def test_optimal_json_contract(fit_file, small_fit):
    result = invoke("optimal", fit_file, "--compute", "5.76e23", "--compute", "1e25", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ci"] == 0.9 and len(payload["rows"]) == 2
    for row in payload["rows"]:
        assert set(row) == {"compute", "N_opt", "D_opt", "tokens_per_param", "loss"}
        for key in ("N_opt", "D_opt", "tokens_per_param", "loss"):
            assert set(row[key]) == INTERVAL
            assert row[key]["lower"] <= row[key]["median"] <= row[key]["upper"]
            assert row[key]["share_not_reached"] == 0
    assert payload["rows"][0]["compute"] == 5.76e23
    want = opt.optimal_allocation(small_fit, compute=5.76e23)["N_opt"].median()
    assert payload["rows"][0]["N_opt"]["median"] == pytest.approx(float(want))
    assert set(payload["exponents"]) == {"a", "b"}
    assert 0 < payload["exponents"]["a"]["median"] < 1


def test_optimal_risk_and_ci(fit_file):
    result = invoke(
        "optimal", fit_file, "--compute", "1e24", "--risk", "cvar", "--ci", "0.5", "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ci"] == 0.5 and payload["risk"]["measure"] == "cvar"
    row = payload["risk"]["rows"][0]
    assert row["risk_value"] <= row["risk_value_mean_opt"] + 1e-12
    interval = payload["rows"][0]["N_opt"]
    assert interval["lower"] < interval["median"] < interval["upper"]


def test_optimal_human_table_has_units(fit_file):
    result = invoke("optimal", fit_file, "--compute", "5.76e23", "--risk", "mean")
    assert result.exit_code == 0, result.output
    assert "FLOPs" in result.stdout and "params" in result.stdout and "5.8e23" in result.stdout
    assert "B [" in result.stdout  # N in billions with its interval


def test_budget_json_contract_with_costs_and_inference(fit_file):
    result = invoke(
        "budget", fit_file, "--target-loss", "2.0", "--probability", "0.8",
        "--inference-tokens", "2T", "--device-flops", "1e15", "--utilization", "0.5",
        "--price-per-hour", "2", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["target_loss"] == 2.0 and payload["probability"] == 0.8
    assert 0 <= payload["p_reachable"] <= 1
    assert set(payload["compute_needed"]) == INTERVAL
    assert 0 <= payload["compute_needed"]["share_not_reached"] <= 0.05
    at = payload["compute_at_probability"]
    assert set(at) == {"compute", "N", "D"}
    assert at["compute"] == pytest.approx(6 * at["N"] * at["D"])
    assert at["compute"] >= payload["compute_needed"]["median"]
    cost = payload["cost"]
    assert cost["hours_at_probability"] == pytest.approx(at["compute"] / (1e15 * 0.5 * 3600))
    assert cost["dollars_at_probability"] == pytest.approx(2 * cost["hours_at_probability"])
    assert set(cost["dollars_needed"]) == INTERVAL
    assert payload["inference"]["inference_tokens"] == 2e12
    assert payload["inference"]["N"]["median"] > 0


def test_budget_human_output(fit_file):
    result = invoke("budget", fit_file, "--target-loss", "2.0")
    assert result.exit_code == 0, result.output
    assert "FLOPs" in result.stdout and "tokens" in result.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["optimal", "{fit}", "--compute", "-1e23"], "compute"),
        (["optimal", "{fit}", "--compute", "lots"], "compute"),
        (["optimal", "{fit}", "--compute", "1e23", "--risk", "worst"], "risk"),
        (["optimal", "{fit}", "--compute", "1e23", "--ci", "1.2"], "ci"),
        (["budget", "{fit}", "--target-loss", "0"], "target"),
        (["budget", "{fit}", "--target-loss", "2", "--probability", "1.5"], "probability"),
        (["budget", "{fit}", "--target-loss", "2", "--probability", "0"], "probability"),
        (["budget", "{fit}", "--target-loss", "2", "--device-flops", "1e15"], "utilization"),
        (["budget", "{fit}", "--target-loss", "2", "--unique-tokens", "1e9"], "unique"),
        (["budget", "missing.nc", "--target-loss", "2"], "missing.nc"),
    ],
)
def test_bad_input_exits_1_with_a_message(fit_file, args, message):
    result = invoke(*[a.replace("{fit}", str(fit_file)) for a in args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


def test_fixed_size_loss_on_a_real_fit(small_fit):
    ds = opt.fixed_size_loss(small_fit, compute=[1e21, 1e23], N=1e9)
    assert set(ds.data_vars) == {"mu", "y"} and ds["mu"].dims == ("chain", "draw", "compute")
    np.testing.assert_allclose(ds["D"].values, [1e21, 1e23] / (6 * 1e9 * np.ones(2)))
    frontier = opt.optimal_allocation(small_fit, compute=[1e21, 1e23])["loss"]
    assert (ds["mu"].values >= frontier.values - 1e-12).all()
