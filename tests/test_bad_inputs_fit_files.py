"""Bad input for the commands that read a saved fit: summary, predict, optimal, budget, plan,
compare and report. The contract and the machinery are those of ``test_bad_inputs.py``; every case's
folder also holds ``fit.nc``, a copy of one small real fit made once per test session."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import bayes_scaling as bs
from tests.test_bad_inputs import Case, folder, params, prepare, run_case, write

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def saved_fit(tmp_path_factory) -> Path:
    """A chinchilla fit of the 71 simulated runs (2 x 200 draws, no discrepancy)."""
    path = tmp_path_factory.mktemp("bad_inputs") / "fit.nc"
    runs = bs.datasets.chinchilla_like(seed=0)
    bs.fit(runs, seed=1, draws=200, tune=200, chains=2, discrepancy=None).save(path)
    return path


def strict_json(root: Path, stdout: str) -> None:
    """The JSON parses as strict JSON: no NaN or Infinity literals (null instead)."""
    assert "Infinity" not in stdout and "NaN" not in stdout, stdout
    json.loads(stdout, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))


def unreachable_json(root: Path, stdout: str) -> None:
    strict_json(root, stdout)
    payload = json.loads(stdout)
    assert payload["p_reachable"] == 0 and payload["compute_needed"]["median"] is None
    assert (
        payload["compute_needed"]["share_not_reached"] == 1
        and "null_means" in (payload["compute_needed"])
    )


PREDICT = "predict fit.nc --d 1T"
# fmt: off
CASES = [
    # --- summary
    Case("summary_folder", "summary fits", 1, ("fits is a folder", "bayes-scaling fit"),
         folder("fits")),
    Case("summary_not_netcdf", "summary notnc.nc", 1, ("notnc.nc", "netCDF", "refit"),
         write("notnc.nc", "not a netCDF file")),
    Case("summary_empty_file", "summary empty.nc", 1, ("empty.nc", "netCDF"),
         write("empty.nc", "")),
    Case("summary_of_runs_csv", "summary runs.csv", 1, ("runs.csv", "netCDF", "not a fit file")),
    Case("summary_missing", "summary missing.nc", 1, ("missing.nc does not exist",)),
    Case("summary_ci_two", "summary fit.nc --ci 2", 1, ("ci", "between 0 and 1", "2.0")),
    Case("summary_no_arguments", "summary", 2, ("Missing argument",)),
    # --- optimize
    Case("optimize_unknown_input", "optimize fit.nc --over lr=1e-5:1e-1 --at N=7B --at D=2T", 1,
         ("no input 'lr'",)),
    Case("optimize_reversed_bounds", "optimize fit.nc --over N=1e12:1e8 --at C=1e21", 1,
         ("low < high",)),
    Case("optimize_no_colon", "optimize fit.nc --over N=1e8 --at C=1e21", 1,
         ("NAME=LOW:HIGH",)),
    # --- predict
    Case("predict_n_decimal_comma", f"{PREDICT} --n 1,5B", 1, ("--n", "'1,5B'", "write 1.5B")),
    Case("predict_n_decimal_comma_hint", f"{PREDICT} --n 1,5B", 1, ("write 1.5B",),
         absent=("--decimal",)),
    Case("predict_n_text", f"{PREDICT} --n abc", 1, ("--n", "'abc'", "70M"),
         absent=(") (e.g.",)),
    Case("predict_n_markup", f"{PREDICT} --n '[red]x'", 1, ("--n", "'[red]x'"),
         absent=("\\[red]",)),
    Case("predict_n_negative", f"{PREDICT} --n -5", 1, ("N", "> 0", "-5")),
    Case("predict_n_huge_json", f"{PREDICT} --n 1e300 --json", 0, check=strict_json),
    Case("predict_n_huge_no_noise", f"{PREDICT} --n 1e300 --json", 0, absent=("RuntimeWarning",),
         subprocess=True),
    Case("predict_ci_above_one", f"{PREDICT} --n 1B --ci 1.5", 1, ("ci", "1.5")),
    Case("predict_ci_zero", f"{PREDICT} --n 1B --ci 0", 1, ("ci", "0.0")),
    Case("predict_ci_text", f"{PREDICT} --n 1B --ci wide", 2, ("--ci",)),
    Case("predict_group_unpooled", f"{PREDICT} --n 1B --group x", 1,
         ("group='x'", "not pooled", "--group-col")),
    Case("predict_no_inputs", "predict fit.nc", 1, ("give the inputs", "N, D")),
    Case("predict_only_n", "predict fit.nc --n 1B", 1, ("D could not be derived", "C = 6 N D")),
    Case("predict_unequal_lengths", f"{PREDICT} --d 2T --d 3T --n 1B --n 2B", 1,
         ("equal lengths", "'N': 2", "'D': 3")),
    Case("predict_u_for_a_law_without_u", f"{PREDICT} --n 1B --u 1", 1, ("U", "chinchilla")),
    Case("predict_missing_fit", "predict missing.nc --n 1B --d 1T", 1,
         ("missing.nc does not exist",)),
    # --- optimal
    Case("optimal_compute_zero", "optimal fit.nc --compute 0", 1, ("compute", "> 0", "0.0")),
    Case("optimal_compute_text", "optimal fit.nc --compute abc", 1, ("--compute", "'abc'")),
    Case("optimal_no_compute", "optimal fit.nc", 2, ("--compute",)),
    Case("optimal_risk_unknown", "optimal fit.nc --compute 1e21 --risk nope", 1,
         ("risk", "'nope'", "mean, var, cvar")),
    Case("optimal_risk_level_two", "optimal fit.nc --compute 1e21 --risk cvar --risk-level 2", 1,
         ("level", "2.0")),
    Case("optimal_unique_tokens_chinchilla", "optimal fit.nc --compute 1e21 --unique-tokens 1e9",
         1, ("unique_tokens", "U input", "data_constrained")),
    Case("optimal_compute_huge_json", "optimal fit.nc --compute 1e300 --json", 0,
         check=strict_json),
    # --- budget
    Case("budget_target_negative", "budget fit.nc --target-loss -1", 1, ("--target-loss", "-1"),
         absent=("5.76e23",)),
    Case("budget_target_nan", "budget fit.nc --target-loss nan", 1, ("--target-loss", "nan")),
    Case("budget_no_target", "budget fit.nc", 2, ("--target-loss",)),
    Case("budget_probability_two", "budget fit.nc --target-loss 2.2 --probability 2", 1,
         ("--probability", "2.0")),
    Case("budget_cost_incomplete", "budget fit.nc --target-loss 2.2 --device-flops 1e15", 1,
         ("--device-flops", "--utilization", "--price-per-hour")),
    Case("budget_utilization_two", "budget fit.nc --target-loss 2.2 --device-flops 1e15 "
         "--utilization 2 --price-per-hour 1", 1, ("utilization", "2.0")),
    Case("budget_inference_tokens_text", "budget fit.nc --target-loss 2.2 --inference-tokens x",
         1, ("--inference-tokens", "'x'")),
    Case("budget_unreachable_json", "budget fit.nc --target-loss 0.5 --json", 0,
         check=unreachable_json),
    # --- plan
    Case("plan_no_candidates", "plan fit.nc --target-compute 1e22", 1,
         ("exactly one of --candidates", "--grid")),
    Case("plan_missing_candidates", "plan fit.nc --candidates c.csv --target-compute 1e22", 1,
         ("c.csv does not exist",)),
    Case("plan_grid_no_colon", "plan fit.nc --grid 1e20 --target-compute 1e22", 1,
         ("BUDGETS:NPER",)),
    Case("plan_candidates_text", "plan fit.nc --candidates c.csv --target-compute 1e22", 1,
         ("column 'D'", "'abc'"), write("c.csv", "N,D\n1B,abc\n")),
    Case("plan_probability_no_loss", "plan fit.nc --grid 1e20:2 --target-compute 1e22 "
         "--target probability", 1, ("--loss-target",)),
    Case("plan_unknown_target", "plan fit.nc --grid 1e20:2 --target-compute 1e22 --target x", 1,
         ("target must be one of",)),
    Case("plan_compute_text", "plan fit.nc --grid 1e20:2 --target-compute abc", 1,
         ("--target-compute", "'abc'")),
    Case("plan_budget_too_small", "plan fit.nc --grid 1e20:2 --target-compute 1e22 --budget 1",
         1, ("no candidate fits in the budget",)),
    Case("plan_json_strict", "plan fit.nc --grid 1e19,1e20:3 --target-compute 1e22 --k 2 --json",
         0, check=strict_json),
    # --- compare
    Case("compare_same_file_twice", "compare fit.nc ./fit.nc", 1,
         ("fit.nc given more than once", "different fits")),
    Case("compare_one_file", "compare fit.nc", 1, ("at least two fit files",)),
    Case("compare_missing_file", "compare fit.nc missing.nc", 1, ("missing.nc does not exist",)),
    Case("compare_runs_csv", "compare fit.nc runs.csv", 1, ("runs.csv", "netCDF")),
    Case("compare_no_arguments", "compare", 2, ("Missing argument",)),
    # --- report
    Case("report_output_exists", "report fit.nc -o mine.html", 1,
         ("mine.html already exists", "--force"), write("mine.html", "<p>mine</p>")),
    Case("report_pdf_exists", "report fit.nc -o r.html --pdf", 1,
         ("r.pdf already exists", "--force"), write("r.pdf", "mine")),
    Case("report_target_nan", "report fit.nc -o r.html --target-loss nan", 1,
         ("--target-loss", "nan")),
    Case("report_ci_three", "report fit.nc -o r.html --ci 3", 1, ("ci", "3.0")),
    Case("report_compute_text", "report fit.nc -o r.html --compute abc", 1,
         ("--compute", "'abc'")),
    Case("report_compute_zero", "report fit.nc -o r.html --compute 0", 1, ("compute", "0.0")),
    Case("report_output_missing_folder", "report fit.nc -o nofolder/r.html", 1,
         ("nofolder", "does not exist")),
    Case("report_output_folder", "report fit.nc -o reports", 1,
         ("reports is a folder", "reports/report.html"), folder("reports")),
    Case("report_missing_fit", "report missing.nc -o r.html", 1, ("missing.nc does not exist",)),
    Case("report_markup_output_name", "report fit.nc -o '[red]r.html'", 0,
         ("report written to [red]r.html",)),
]
# fmt: on


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input_on_a_fit_file(case: Case, saved_fit: Path, tmp_path: Path, monkeypatch):
    shutil.copy(saved_fit, tmp_path / "fit.nc")
    prepare(case, tmp_path)
    run_case(case, tmp_path, monkeypatch)
