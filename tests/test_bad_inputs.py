"""A corpus of bad input for every command: what a new user types, and what they must see.

The contract (README "exit code" table, ``bayes_scaling/presentation/cli/common.py``):

* bad input exits 1 with one ``error:`` paragraph on stderr that names the culprit (file,
  column, row(s), value or option) and says what to do, never a Python traceback;
* usage errors (unknown option, missing argument, text for a number option) exit 2 (typer);
* a failed diagnostics gate under ``--strict`` exits 3; Ctrl-C exits 130 and writes nothing;
* nothing the user gave is modified and no existing file is overwritten without ``--force``.

Each :class:`Case` runs in its own folder (holding ``runs.csv``, 71 simulated runs, plus what its
``setup`` writes) and asserts the exit code, the fragments that name the culprit, no
"Traceback", and that every file there before is unchanged (sha256); new files are allowed only
when the case succeeds or lists them in ``creates``. Most cases run in-process (CliRunner); those
with ``stdin`` or ``subprocess`` run ``.venv/bin/bayes-scaling``. A case whose root cause lies
outside the CLI is a strict xfail whose reason names the file and line to fix. The cases on
saved fit files (summary, predict, optimal, budget, compare, report) are in
``test_bad_inputs_fit_files.py``, which shares this module's machinery.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

import bayes_scaling as bs
from bayes_scaling.presentation.cli import app

pytestmark = pytest.mark.model
#: A quick fit without the discrepancy's inner refit.
FAST = "--draws 100 --tune 100 --chains 2 --discrepancy none --quiet"
CLI = Path(sys.executable).with_name("bayes-scaling")
Setup = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One command line, what it must exit with and say, and the files it may write."""

    name: str
    args: str  # split with shlex; paths are relative to the case's folder
    code: int
    fragments: tuple[str, ...] = ()  # all must appear in the output (whitespace-normalised)
    setup: Setup | tuple[Setup, ...] = ()  # write the case's files into its folder
    absent: tuple[str, ...] = ()  # none may appear in the output
    creates: tuple[str, ...] = ()  # new files a failing case must write (and no others)
    check: Callable[[Path, str], None] | None = None  # more checks: (root, stdout)
    xfail: str | None = None  # "<file:line> <what>" of a bug outside the CLI
    stdin: str | None = None  # a file of the folder piped to a real process
    subprocess: bool = False  # run the installed script (warnings reach stderr as printed)
    max_seconds: float | None = None


def params(cases: list[Case]) -> list:
    names = [c.name for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    return [
        pytest.param(
            c, id=c.name, marks=[pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else []
        )
        for c in cases
    ]


# ------------------------------------------------------------------------------- case files
@functools.cache
def base_table():
    """The 71 simulated runs (columns N, D, C, loss) every case folder holds as runs.csv."""
    return bs.datasets.chinchilla_like(seed=0).table


def write(name: str, content: str | bytes) -> Setup:
    def setup(root: Path) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def table(name: str, cells: dict | None = None, rename: dict | None = None, **columns) -> Setup:
    """runs.csv with some cells set ({(row index, column): value}), renamed or added columns."""

    def setup(root: Path) -> None:
        frame = base_table().astype(object)
        for (row, column), value in (cells or {}).items():
            frame.loc[row, column] = value
        frame = frame.assign(**columns).rename(columns=rename or {})
        frame.to_csv(root / name, index=False)

    return setup


def folder(name: str) -> Setup:
    return lambda root: (root / name).mkdir(parents=True, exist_ok=True)


def semicolon_decimal_comma(root: Path) -> None:
    """Excel in a decimal-comma locale: ';'-separated, N and D whole, losses like 3,103."""
    rows = [
        f"{int(r.N)};{int(r.D)};{r.loss:.3f}".replace(".", ",") for r in base_table().itertuples()
    ]
    (root / "semi.csv").write_text("N;D;loss\n" + "\n".join(rows) + "\n", encoding="utf-8")


def read_semicolon_fit(root: Path, stdout: str) -> None:
    runs = bs.load(root / "out.nc").runs
    assert runs.n_runs == 71
    assert runs.table["loss"].iloc[0] == pytest.approx(round(base_table()["loss"].iloc[0], 3))


def read_stdin_fit(root: Path, stdout: str) -> None:
    assert bs.load(root / "out.nc").runs.n_runs == 71


def jobs(*entries: str, defaults: str = "draws = 50\ntune = 50\nchains = 2\nseed = 1\n") -> Setup:
    body = "".join(f"\n[[job]]\n{entry}\n" for entry in entries)
    return write("jobs.toml", f'[defaults]\n{defaults}discrepancy = "none"\n{body}')


def backtest_json(root: Path, stdout: str) -> None:
    payload = json.loads(stdout)
    assert payload["split"]["rule"] == "mask" and payload["n_train"] + payload["n_test"] == 71


def train_column(root: Path) -> None:
    frame = base_table()
    frame.assign(Training=(frame["C"] <= frame["C"].quantile(0.8)).astype(int)).to_csv(
        root / "train.csv", index=False
    )


LATIN1 = "N,D,C,lossé\n1e8,1e10,6e18,3.1\n".encode("latin-1")
XLSX = b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 40
JOB_A = 'name = "a"\nruns = "runs.csv"'
BAD_RUN = 'name = "bad"\nruns = "bad.csv"\ncolumns = { loss = "lo[/x]ss" }'

# ------------------------------------------------------------------------------------ cases
# fmt: off
CASES = [
    # --- the runs file
    Case("fit_missing_file", f"fit missing.csv -o out.nc {FAST}", 1,
         ("missing.csv", "no such file")),
    Case("fit_folder_as_runs", f"fit runs_dir -o out.nc {FAST}", 1, ("runs_dir", "folder"),
         folder("runs_dir")),
    Case("fit_empty_file", f"fit empty.csv -o out.nc {FAST}", 1, ("empty.csv", "empty", "header"),
         write("empty.csv", "")),
    Case("fit_whitespace_only", f"fit blank.csv -o out.nc {FAST}", 1, ("blank.csv", "empty"),
         write("blank.csv", "  \n\n \n")),
    Case("fit_header_only", f"fit header.csv -o out.nc {FAST}", 1, ("header.csv", "no runs"),
         write("header.csv", "N,D,C,loss\n")),
    Case("fit_xlsx", f"fit runs.xlsx -o out.nc {FAST}", 1, ("runs.xlsx", "spreadsheet", "CSV"),
         write("runs.xlsx", XLSX)),
    Case("fit_xlsx_bytes_named_csv", f"fit sheet.csv -o out.nc {FAST}", 1,
         ("sheet.csv", "workbook", "CSV"), write("sheet.csv", XLSX)),
    Case("fit_latin1", f"fit latin1.csv -o out.nc {FAST}", 1,
         ("latin1.csv", "not UTF-8", "line 1", "0xe9", "'é'", "iconv"),
         write("latin1.csv", LATIN1)),
    Case("fit_bad_json", f"fit runs.json -o out.nc {FAST}", 1, ("runs.json", "json", "CSV"),
         write("runs.json", '{"N": [1, 2')),
    Case("fit_semicolon_decimal_comma", f"fit semi.csv -o out.nc {FAST.replace(' --quiet', '')}",
         0, ("'3,103' -> 3.103", "--decimal", "saved out.nc"), semicolon_decimal_comma,
         check=read_semicolon_fit),
    Case("fit_ambiguous_thousands", f"fit t.csv -o out.nc {FAST}", 1,
         ("t.csv", "'loss'", "row 4", "'1,23'", "write 1.23"),
         table("t.csv", {(3, "loss"): "1,23"})),
    Case("fit_non_numeric_cell", f"fit t.csv -o out.nc {FAST}", 1,
         ("t.csv", "'loss'", "row 5", "'abc'", "70M"), table("t.csv", {(4, "loss"): "abc"})),
    Case("fit_negative_loss", f"fit t.csv -o out.nc {FAST}", 1,
         ("t.csv", "'loss'", "row(s) 3", "-1", "--drop-invalid"),
         table("t.csv", {(2, "loss"): -1})),
    Case("fit_zero_loss", f"fit t.csv -o out.nc {FAST}", 1, ("'loss'", "row(s) 3", "has 0"),
         table("t.csv", {(2, "loss"): 0})),
    Case("fit_empty_cell", f"fit t.csv -o out.nc {FAST}", 1, ("'loss'", "row(s) 6", "empty"),
         table("t.csv", {(5, "loss"): float("nan")})),
    Case("fit_infinite_loss", f"fit t.csv -o out.nc {FAST}", 1, ("'loss'", "row(s) 2", "inf"),
         table("t.csv", {(1, "loss"): float("inf")})),
    Case("fit_two_bad_columns_one_row", f"fit t.csv -o out.nc {FAST}", 1,
         ("'N'", "-3", "'D'", "empty", "row(s) 3"), table("t.csv", {(2, "N"): -3, (2, "D"): ""})),
    Case("fit_markup_column_name", f"fit t.csv -o out.nc {FAST}", 1,
         ("lo[/x]ss[red]", "--loss-col"), table("t.csv", rename={"loss": "lo[/x]ss[red]"})),
    Case("fit_markup_file_name", f"fit '[red]runs.csv' -o out.nc {FAST} --loss-col nope", 1,
         ("[red]runs.csv", "'nope'", "N, D, C, loss"), table("[red]runs.csv")),
    Case("fit_missing_input_column", f"fit t.csv -o out.nc {FAST}", 1,
         ("t.csv", "needs the input(s) D", "--d-col"),
         table("t.csv", rename={"D": "xd", "C": "xc"})),
    Case("fit_unknown_n_col", f"fit runs.csv -o out.nc {FAST} --n-col params", 1,
         ("'params'", "N", "its columns are N, D, C, loss")),
    Case("fit_duplicate_column", f"fit t.csv -o out.nc {FAST}", 1, ("t.csv", "'N'", "twice"),
         table("t.csv", rename={"D": "N"})),
    # --- fit options: all checked before compiling
    Case("fit_seed_negative", f"fit runs.csv -o out.nc {FAST} --seed -1", 1,
         ("seed", "2**63 - 1", "-1"), max_seconds=20),
    Case("fit_seed_2_pow_64", f"fit runs.csv -o out.nc {FAST} --seed 18446744073709551616", 1,
         ("seed", "18446744073709551616"), max_seconds=20),
    Case("fit_draws_zero", f"fit runs.csv -o out.nc {FAST} --draws 0", 1, ("draws", "not 0")),
    Case("fit_max_draws_negative", f"fit runs.csv -o out.nc {FAST} --max-draws -5", 1,
         ("max_draws", "-5")),
    Case("fit_max_draws_text", "fit runs.csv -o out.nc --max-draws lots", 2, ("--max-draws",)),
    Case("fit_chains_zero", f"fit runs.csv -o out.nc {FAST} --chains 0", 1, ("chains", "not 0")),
    Case("fit_likelihood_cauchy", f"fit runs.csv -o out.nc {FAST} --likelihood cauchy", 1,
         ("'cauchy'", "student_t, normal")),
    Case("fit_law_unknown", f"fit runs.csv -o out.nc {FAST} --law nope", 1,
         ("'nope'", "chinchilla", "TOML")),
    Case("fit_law_bad_toml", f"fit runs.csv -o out.nc {FAST} --law law.toml", 1,
         ("law.toml", "not valid TOML", "line 1"), write("law.toml", "this is = not [valid")),
    Case("fit_law_bad_input", f"fit runs.csv -o out.nc {FAST} --law power_law:Q", 1,
         ("power_law", "'Q'", "power_law:C")),
    Case("fit_formula_empty", f"fit runs.csv -o out.nc {FAST} --formula ''", 1,
         ("empty formula",), absent=("saved",)),
    Case("fit_formula_import", f"""fit runs.csv -o out.nc {FAST} --formula '__import__("os")'""",
         1, ("'__import__'", "not allowed")),
    Case("fit_formula_undeclared_input",
         f"fit runs.csv -o out.nc {FAST} --formula 'E + A*N**(-alpha) + c*log(lr)**2'",
         1, ("'lr' is a column of runs.csv", "--input lr"), table("runs.csv", lr=0.001)),
    Case("fit_col_unknown_input", f"fit runs.csv -o out.nc {FAST} --col lr=learning_rate", 1,
         ("cannot map lr", "--input")),
    Case("fit_input_missing_column",
         f"fit runs.csv -o out.nc {FAST} --formula 'E + A*N**(-alpha) + c*log(lr)**2' --input lr",
         1, ("takes the input 'lr'", "--col lr=")),
    Case("fit_formula_syntax", f"fit runs.csv -o out.nc {FAST} --formula 'E +* A'", 1,
         ("'E +* A'", "column 4")),
    Case("fit_prior_sigma_zero", f"fit runs.csv -o out.nc {FAST} --prior sigma=0", 1,
         ("sigma=0", "> 0")),
    Case("fit_prior_E_negative", f"fit runs.csv -o out.nc {FAST} --prior E=-10", 1,
         ("E=-10", "the data allow")),
    Case("fit_prior_nu_zero", f"fit runs.csv -o out.nc {FAST} --prior nu=0", 1, ("nu=0", "> 0")),
    Case("fit_prior_bad_syntax", f"fit runs.csv -o out.nc {FAST} --prior 'alpha=Beta(2'", 1,
         ("alpha", "'Beta(2'", "does not parse", "Beta(alpha=2, beta=5)")),
    Case("fit_prior_unknown_parameter", f"fit runs.csv -o out.nc {FAST} --prior 'zzz=Normal(0,1)'",
         1, ("zzz", "does not have", "alpha")),
    Case("fit_prior_not_name_spec", f"fit runs.csv -o out.nc {FAST} --prior alpha", 1,
         ("'alpha'", "NAME=SPEC")),
    Case("fit_prior_bad_parameter", f"fit runs.csv -o out.nc {FAST} --prior 'alpha=Beta(0,1)'", 1,
         ("alpha", "must be > 0", "Beta(2, 5)")),
    Case("fit_vary_unknown", f"fit runs.csv -o out.nc {FAST} --vary nope", 1, ("--vary", "nope")),
    Case("fit_vary_without_group", f"fit runs.csv -o out.nc {FAST} --vary E", 1,
         ("runs.csv", "no group column", "--group-col")),
    Case("fit_vary_one_group", f"fit g.csv -o out.nc {FAST} --vary E --group-col family", 1,
         ("g.csv", "one group", "'a'", "drop --vary"), table("g.csv", family="a")),
    Case("fit_centered_maybe", f"fit runs.csv -o out.nc {FAST} --centered maybe", 1,
         ("--centered", "'maybe'", "noncentered")),
    Case("fit_discrepancy_maybe", f"fit runs.csv -o out.nc {FAST} --discrepancy maybe", 1,
         ("--discrepancy", "'maybe'", "lfo or none")),
    Case("fit_decimal_semicolon", f"fit runs.csv -o out.nc {FAST} --decimal ';'", 1,
         ("decimal", "';'")),
    Case("fit_near_optimum_zero", f"fit runs.csv -o out.nc {FAST} --near-optimum 0", 1,
         ("--near-optimum", "not 0")),
    Case("fit_flops_per_token_zero", f"fit runs.csv -o out.nc {FAST} --flops-per-token 0", 1,
         ("flops_per_token", "0.0")),
    # --- where the fit goes
    Case("fit_output_stdout", f"fit runs.csv -o - {FAST}", 1, ("not a stream", "-o fit.nc")),
    Case("fit_output_folder", f"fit runs.csv -o outdir {FAST}", 1,
         ("outdir is a folder", "outdir/fit.nc"), folder("outdir")),
    Case("fit_output_exists", f"fit runs.csv -o old.nc {FAST}", 1,
         ("old.nc already exists", "--force"), write("old.nc", "precious")),
    Case("fit_output_missing_folder", f"fit runs.csv -o nofolder/x.nc {FAST}", 1,
         ("nofolder/x.nc", "nofolder does not exist")),
    Case("fit_output_under_a_file", f"fit runs.csv -o runs.csv/x.nc {FAST}", 1,
         ("runs.csv", "file")),
    Case("fit_output_markup_name", f"fit runs.csv -o '[red]out.nc' {FAST.replace(' --quiet', '')}",
         0, ("saved [red]out.nc",)),
    # --- usage errors are typer's: exit 2
    Case("fit_no_arguments", "fit", 2, ("Missing argument",)),
    Case("fit_no_output", "fit runs.csv", 2, ("Missing option", "--output")),
    Case("fit_unknown_option", f"fit runs.csv -o out.nc {FAST} --bogus", 2, ("--bogus",)),
    Case("fit_draws_text", "fit runs.csv -o out.nc --draws many", 2, ("--draws",)),
    # --- laws, demo
    Case("laws_unknown", "laws nope", 1, ("'nope'", "chinchilla")),
    Case("laws_markup_name", "laws '[red]'", 1, ("'[red]'",)),
    Case("laws_bad_input", "laws chinchilla:X", 1, ("chinchilla", "N, D", "'X'")),
    Case("demo_output_is_a_file", "demo -o runs.csv --quiet", 1, ("runs.csv is a file",
                                                                   "--output-dir")),
    Case("demo_output_under_a_file", "demo -o runs.csv/sub --quiet", 1,
         ("runs.csv/sub", "runs.csv is a file")),
    Case("demo_runs_csv_exists", "demo -o mine --quiet", 1,
         ("mine/runs.csv already exists", "--force"), write("mine/runs.csv", "my own runs")),
    Case("demo_seed_negative", "demo -o new --seed -1 --quiet", 1, ("seed", "-1"), max_seconds=20),
    Case("demo_draws_zero", "demo -o new --draws 0 --quiet", 1, ("draws", "not 0")),
    Case("demo_draws_text", "demo --draws x", 2, ("--draws",)),
    # --- fit-many
    Case("fit_many_missing_jobs", "fit-many nojobs.toml -o out", 1,
         ("nojobs.toml", "does not exist")),
    Case("fit_many_jobs_folder", "fit-many jobsdir -o out", 1, ("jobsdir", "folder"),
         folder("jobsdir")),
    Case("fit_many_invalid_toml", "fit-many jobs.toml -o out", 1,
         ("jobs.toml", "not valid TOML", "fix the file"), write("jobs.toml", "job = [\n")),
    Case("fit_many_unknown_key", "fit-many jobs.toml -o out", 1,
         ("job a", "unknown setting(s) bogus", "draws"), jobs(JOB_A + "\nbogus = 3")),
    Case("fit_many_unknown_key_names_file", "fit-many jobs.toml -o out", 1, ("jobs.toml", "bogus"),
         jobs(JOB_A + "\nbogus = 3")),
    Case("fit_many_unprintable_name", "fit-many jobs.toml -o out", 1,
         ("jobs.toml", "job 0", r"'a\x07b'", "plain file name"),
         jobs('name = "a\\u0007b"\nruns = "runs.csv"')),
    Case("fit_many_slash_in_name", "fit-many jobs.toml -o out", 1,
         ("jobs.toml", "'a/b'", "plain file name"), jobs('name = "a/b"\nruns = "runs.csv"')),
    Case("fit_many_summary_exists", "fit-many jobs.toml -o out", 1,
         ("out/summary.json already exists", "--force"),
         (jobs(JOB_A), write("out/summary.json", '{"mine": 1}'))),
    Case("fit_many_output_is_a_file", "fit-many jobs.toml -o runs.csv", 1,
         ("runs.csv is a file", "--output-dir"), jobs(JOB_A)),
    Case("fit_many_workers_zero", "fit-many jobs.toml -o out --workers 0", 1, ("--workers", "0"),
         jobs(JOB_A)),
    Case("fit_many_one_bad_job", "fit-many jobs.toml -o out --workers 1 --quiet", 1,
         ("job bad failed", "bad.csv", "'lo[/x]ss'", "row 5", "'abc'"),
         (jobs('name = "good"\nruns = "runs.csv"', BAD_RUN),
          table("bad.csv", {(4, "loss"): "abc"}, rename={"loss": "lo[/x]ss"})),
         creates=("out/good.nc", "out/summary.json")),
    Case("fit_many_no_output", "fit-many jobs.toml", 2, ("--output-dir",)),
    # --- backtest
    Case("backtest_train_col", f"backtest train.csv --train-col Training {FAST} --json", 0,
         setup=train_column, check=backtest_json),
    Case("backtest_train_col_missing", "backtest runs.csv --train-col Training", 1,
         ("runs.csv", "'Training'", "--train-col", "N, D, C, loss")),
    Case("backtest_train_col_values", "backtest t.csv --train-col Training", 1,
         ("t.csv", "'Training'", "1/0 or true/false", "'yes'"), table("t.csv", Training="yes")),
    Case("backtest_holdout_and_cutoff", "backtest runs.csv --holdout-fraction 0.2 "
         "--cutoff-compute 1e20", 1, ("--holdout-fraction", "--cutoff-compute")),
    Case("backtest_train_col_and_holdout", "backtest train.csv --train-col Training "
         "--holdout-fraction 0.2", 1, ("--train-col", "--holdout-fraction"), train_column),
    Case("backtest_holdout_too_big", "backtest runs.csv --holdout-fraction 1.5", 1,
         ("holdout fraction", "1.5", "0.2")),
    Case("backtest_cutoff_text", "backtest runs.csv --cutoff-compute abc", 1,
         ("--cutoff-compute", "'abc'"), absent=(") (e.g.",)),
    Case("backtest_cutoff_too_low", "backtest runs.csv --cutoff-compute 1", 1,
         ("0 training run(s)", "C <= 1", "raise the cut-off")),
    Case("backtest_by_unknown", "backtest runs.csv --by nope", 1, ("'nope'", "N, D, C, loss")),
    Case("backtest_seed_negative", "backtest runs.csv --seed -1", 1, ("seed", "-1")),
    # --- standard input, through the installed script
    Case("fit_stdin", f"fit - -o out.nc {FAST}", 0, stdin="runs.csv", check=read_stdin_fit),
    Case("fit_stdin_empty", f"fit - -o out.nc {FAST}", 1, ("<stdin>", "empty"), write("e.csv", ""),
         stdin="e.csv"),
    Case("fit_stdin_latin1", f"fit - -o out.nc {FAST}", 1, ("<stdin>", "not UTF-8", "0xe9"),
         write("l.csv", LATIN1), stdin="l.csv"),
    Case("fit_stdin_xlsx", f"fit - -o out.nc {FAST}", 1, ("<stdin>", "spreadsheet"),
         write("s.xlsx", XLSX), stdin="s.xlsx"),
    Case("backtest_stdin_train_col", "backtest - --train-col Training", 1,
         ("--train-col", "reads the table twice", "not '-'"), stdin="runs.csv"),
]
# fmt: on


# --------------------------------------------------------------------------------- machinery
def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` ("dir" for folders), by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(root.rglob("*"))
    }


def invoke(case: Case, root: Path) -> tuple[int, str, str]:
    """Exit code, stdout and stdout+stderr of the case's command run in ``root``."""
    args = shlex.split(case.args)
    if case.stdin or case.subprocess:
        with open(root / case.stdin if case.stdin else os.devnull, "rb") as stream:
            done = subprocess.run(
                [str(CLI), *args], cwd=root, stdin=stream, capture_output=True, text=True,
                timeout=300, env={**os.environ, "COLUMNS": "100"},
            )  # fmt: skip
        return done.returncode, done.stdout, done.stdout + done.stderr
    result = CliRunner().invoke(app, args)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"uncaught {result.exception!r} (a traceback for the user)") from (
            result.exception
        )
    return result.exit_code, result.stdout, result.output


def run_case(case: Case, root: Path, monkeypatch) -> None:
    """Run ``case`` in ``root`` and check the contract (module docstring)."""
    monkeypatch.chdir(root)
    before = snapshot(root)
    start = time.perf_counter()
    code, stdout, output = invoke(case, root)
    seconds = time.perf_counter() - start
    flat = " ".join(output.split())
    assert code == case.code, f"exit {code}, expected {case.code}:\n{output}"
    assert "Traceback" not in output, output
    for fragment in case.fragments:
        assert " ".join(fragment.split()) in flat, f"{fragment!r} missing from:\n{output}"
    for fragment in case.absent:
        assert fragment not in flat, f"{fragment!r} should not be in:\n{output}"
    if case.code == 1 and "failed:" not in flat:
        errors = [line for line in output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, f"one error paragraph expected:\n{output}"
    if case.code == 2:
        assert "Usage:" in output, output
    after = snapshot(root)
    changed = sorted(p for p in before if after.get(p) != before[p])
    assert not changed, f"files the user gave were changed or removed: {changed}"
    new = {p for p in set(after) - set(before) if after[p] != "dir"}
    if case.code != 0:
        assert new == set(case.creates), f"new files {sorted(new)}, expected {case.creates}"
        parents = {str(q) for p in case.creates for q in Path(p).parents if str(q) != "."}
        stray = {p for p in set(after) - set(before) if after[p] == "dir"} - parents
        assert not stray, f"a failed command left new folders: {sorted(stray)}"
    if case.check is not None:
        case.check(root, stdout)
    if case.max_seconds is not None:
        assert seconds < case.max_seconds, f"took {seconds:.1f} s (checked after compiling?)"


def prepare(case: Case, root: Path) -> None:
    base_table().to_csv(root / "runs.csv", index=False)
    for setup in case.setup if isinstance(case.setup, tuple) else (case.setup,):
        setup(root)


@pytest.mark.parametrize("case", params(CASES))
def test_bad_input(case: Case, tmp_path: Path, monkeypatch) -> None:
    prepare(case, tmp_path)
    run_case(case, tmp_path, monkeypatch)


# ----------------------------------------------------------------------------- special cases
LONG_FIT = "fit runs.csv -o out.nc --draws 3000000 --chains 2 --discrepancy none --seed 1"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "cold", "wait"),
    [
        (LONG_FIT, False, 15),
        ("demo -o demo --draws 3000000 --quiet", False, 15),
        (LONG_FIT, True, 8),
    ],
    ids=["fit", "demo", "fit_during_first_compile"],
)
def test_ctrl_c_writes_nothing(args: str, cold: bool, wait: float, tmp_path: Path) -> None:
    """SIGINT during a long sampling run: exit 130, "nothing was written", no new file.

    ``cold``: an empty compile cache, so the SIGINT lands in imports, the model's first compile
    or the sampling after it, depending on the machine; inside LLVM's code generation it used to
    be lost (``tests/test_interrupts.py`` checks that case deterministically)."""
    base_table().to_csv(tmp_path / "runs.csv", index=False)
    before = snapshot(tmp_path)
    env = dict(os.environ)
    if cold:
        env["PYTENSOR_FLAGS"] = f"base_compiledir={tmp_path.parent / (tmp_path.name + '_cache')}"
    # A suite started in the background by a non-interactive shell ignores SIGINT, and so would
    # the CLI it starts: reset SIGINT to the default, then exec the CLI (thread-safe, unlike
    # preexec_fn), so that the CLI sees Ctrl-C as from a terminal.
    reset = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    reset += "os.execv(sys.argv[1], sys.argv[1:])"
    process = subprocess.Popen(
        [sys.executable, "-c", reset, str(CLI), *args.split()], cwd=tmp_path,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        time.sleep(wait)
        assert process.poll() is None, "the fit ended before it could be interrupted"
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "nothing was written" in stderr and "Traceback" not in stderr, stderr
    assert snapshot(tmp_path) == before, "an interrupted command left files behind"


@pytest.mark.parametrize(
    "args",
    [
        f"fit runs.csv -o locked/out.nc {FAST}",
        "fit-many jobs.toml -o locked/out",
        "demo -o locked/demo --quiet",
    ],
    ids=["fit", "fit-many", "demo"],
)
def test_unwritable_output_folder(args: str, tmp_path: Path, monkeypatch) -> None:
    """An output folder the user may not write to is named, before anything is fitted. (Root
    may write anywhere: then ``os.access``, which the CLI asks, is told the truth for others.)"""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            access = os.access
            monkeypatch.setattr(
                os, "access", lambda p, mode: mode != os.W_OK and access(p, mode)
                if Path(p).absolute() == locked else access(p, mode),
            )  # fmt: skip
        case = Case("unwritable", args, 1, ("locked", "permission"),
                    jobs(JOB_A), max_seconds=20)  # fmt: skip
        prepare(case, tmp_path)
        run_case(case, tmp_path, monkeypatch)
    finally:
        locked.chmod(0o700)


def test_the_corpus_covers_every_command() -> None:
    """At least 60 cases, and every command of the CLI has some."""
    from tests.test_bad_inputs_fit_files import CASES as FIT_FILE_CASES

    cases = CASES + FIT_FILE_CASES
    commands = {shlex.split(c.args)[0] for c in cases}
    registered = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert len(cases) >= 60
    assert registered <= commands, registered - commands
    assert shutil.which(str(CLI)), f"{CLI} is not installed"
