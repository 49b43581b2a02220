"""The CLI contract of the core commands: fit, summary, predict, laws, demo; exit codes 0/1/2."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import bayes_scaling as bs
from bayes_scaling.presentation.cli import app

pytestmark = pytest.mark.model
runner = CliRunner()
SMALL = ["--draws", "200", "--tune", "300", "--chains", "2", "--seed", "3", "--quiet"]


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def runs_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "runs.csv"
    table = bs.datasets.chinchilla_like(seed=4).table
    out = table.rename(columns={"N": "params", "D": "tokens"}).drop(columns="C")
    out.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fit_file(runs_csv):
    output = runs_csv.parent / "fit.nc"
    result = invoke("fit", runs_csv, "--law", "chinchilla", "-o", output, *SMALL)
    assert result.exit_code == 0, result.output
    return output


def test_fit_writes_a_loadable_file(fit_file):
    loaded = bs.load(fit_file)
    assert loaded.law.name == "chinchilla" and loaded.settings.seed == 3
    assert loaded.runs.mapping["N"] == "params"


def test_summary_json_contract(fit_file):
    result = invoke("summary", fit_file, "--json", "--ci", "0.8")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["law"] == "chinchilla" and payload["ci"] == 0.8
    assert set(payload["parameters"]) >= {"alpha", "beta", "E", "A", "B", "sigma"}
    for entry in payload["parameters"].values():
        assert {"mean", "median", "lower", "upper"} <= set(entry)
        assert entry["lower"] <= entry["median"] <= entry["upper"]
    diag = payload["diagnostics"]
    assert {"ok", "max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences"} <= set(diag)


def test_summary_human_table(fit_file):
    result = invoke("summary", fit_file)
    assert result.exit_code == 0 and "alpha" in result.stdout and "90%" in result.stdout


def test_predict_json_contract(fit_file):
    result = invoke("predict", fit_file, "--n", "70B", "--d", "1.4T", "--n", "4e11", "--d", "8e12",
                    "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["ci"] == 0.9 and len(payload["points"]) == 2
    point = payload["points"][0]
    assert point["inputs"]["N"] == 7e10 and point["inputs"]["D"] == 1.4e12
    for var in ("mu", "y"):
        assert point[var]["lower"] < point[var]["median"] < point[var]["upper"]
    assert point["y"]["upper"] - point["y"]["lower"] > point["mu"]["upper"] - point["mu"]["lower"]


def test_predict_from_compute(fit_file):
    result = invoke("predict", fit_file, "--n", "1B", "--c", "1e21", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["points"][0]["inputs"]["D"] == pytest.approx(1e21 / 6e9)


def assert_user_error(result, *fragments: str, code: int = 1):
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    text = " ".join(result.output.split())
    for fragment in fragments:
        assert fragment in text, text


def test_existing_output_needs_force(runs_csv, fit_file):
    before = fit_file.read_bytes()
    result = invoke("fit", runs_csv, "-o", fit_file, *SMALL)
    assert_user_error(result, "already exists", "--force")
    assert fit_file.read_bytes() == before


def test_bad_inputs_exit_1(tmp_path, runs_csv):
    out = tmp_path / "f.nc"
    missing = tmp_path / "nothing.csv"
    assert_user_error(invoke("fit", missing, "-o", out), "no such file")
    bad = tmp_path / "bad.csv"
    bad.write_text("N,D,loss\n1e8,1e9,3\n2e8,2e9,-1\n")
    assert_user_error(invoke("fit", bad, "-o", out), "row(s) 2", "--drop-invalid")
    assert_user_error(invoke("fit", runs_csv, "-o", out, "--law", "chinchila"), "unknown law")
    assert_user_error(
        invoke("fit", runs_csv, "-o", out, "--prior", "alpha=Beta(2,"), "prior for alpha"
    )
    assert_user_error(
        invoke("fit", runs_csv, "-o", out, "--formula", "__import__('os') + N"), "__import__"
    )
    assert_user_error(invoke("fit", runs_csv, "-o", out, "--loss-col", "nope"), "'nope'")
    assert not out.exists()
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_text("not netcdf")
    assert_user_error(invoke("summary", corrupt), "could not be read as netCDF")
    assert_user_error(invoke("laws", "nope"), "unknown law")


def test_predict_bad_values(fit_file):
    assert_user_error(invoke("predict", fit_file, "--n", "abc", "--d", "1e9"), "not a number")
    assert_user_error(invoke("predict", fit_file, "--n", "-5", "--d", "1e9"), "> 0")
    assert_user_error(invoke("predict", fit_file, "--n", "1e9", "--ci", "2"), "ci must be")


def test_drop_invalid_reports_count(tmp_path, runs_csv):
    text = runs_csv.read_text().splitlines()
    text.append("1e8,-1,3.0")  # params,tokens,loss order of the written table
    path = tmp_path / "with_bad.csv"
    path.write_text("\n".join(text) + "\n")
    out = tmp_path / "f.nc"
    result = invoke("fit", path, "-o", out, "--drop-invalid", *SMALL[:-1])
    assert result.exit_code == 0, result.output
    assert "dropped 1 of" in " ".join(result.output.split())


def test_strict_gate_failure_exits_3(runs_csv, tmp_path):
    out = tmp_path / "strict.nc"
    args = ["--draws", "30", "--tune", "300", "--chains", "2", "--seed", "1", "--quiet"]
    result = invoke("fit", runs_csv, "-o", out, "--strict", "--max-draws", "0", *args)
    assert_user_error(result, "diagnostics gate failed", "min_ess_bulk", code=3)
    assert not out.exists()


def test_custom_formula_fit(runs_csv, tmp_path):
    out = tmp_path / "custom.nc"
    result = invoke(
        "fit", runs_csv, "-o", out, "--formula", "E + A * C**(-alpha)",
        "--prior", "E=HalfNormal(2)", "--prior", "A=LogNormal(8, 3)",
        "--prior", "alpha=Gamma(2, 8)",
        *SMALL,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert bs.load(out).law.inputs == ("C",)


def test_laws_listing_and_detail():
    listing = invoke("laws")
    assert listing.exit_code == 0
    for name in bs.list_laws():
        assert name in listing.stdout
    detail = invoke("laws", "chinchilla")
    assert "Gamma(2, 4)" in detail.stdout and "Hoffmann" in detail.stdout


def test_demo_writes_runs_and_fit(tmp_path):
    result = invoke("demo", "-o", tmp_path / "demo", "--draws", "200")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo" / "runs.csv").exists() and (tmp_path / "demo" / "fit.nc").exists()
    assert "loss forecast" in result.stdout
    report = tmp_path / "demo" / "report.html"
    assert report.exists() and f"report: {report}" in result.stdout.replace("\n", "")


def test_discrepancy_switch(runs_csv, fit_file, tmp_path):
    loaded = bs.load(fit_file)  # on by default
    assert loaded.settings.discrepancy == "lfo" and "discrepancy" in loaded.info
    out = tmp_path / "plain.nc"
    result = invoke("fit", runs_csv, "-o", out, "--discrepancy", "none", *SMALL)
    assert result.exit_code == 0, result.output
    plain = bs.load(out)
    assert plain.settings.discrepancy is None and "discrepancy" not in plain.info
    bad = invoke("fit", runs_csv, "-o", tmp_path / "x.nc", "--discrepancy", "huge", *SMALL)
    assert_user_error(bad, "discrepancy must be")
