"""fit_many: job parsing, jobs files, serial batches with compiled-model reuse, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.evaluation.many import Job, JobsFileError, as_job, fit_many, load_jobs
from bayes_scaling.inference.settings import FitSettings

TINY = {"draws": 150, "tune": 200, "chains": 2, "seed": 5, "discrepancy": None}
BAD = {"N": [1e8, 2e8, 4e8], "D": [1e9, 2e9, 4e9], "loss": [3.0, -1.0, 2.5]}


# ------------------------------------------------------------------------------ fast unit tests
def test_as_job_accepts_tuples_mappings_and_jobs():
    runs = bs.datasets.chinchilla_like(seed=0)
    assert as_job((runs,), 0).law == "chinchilla" and as_job((runs,), 0).name == "job-0"
    job = as_job((runs, "kaplan", {"seed": 1}), 3)
    assert job.law == "kaplan" and job.settings == FitSettings(seed=1) and job.name == "job-3"
    job = as_job({"runs": runs, "name": "x", "draws": 10}, 1)
    assert job.name == "x" and job.settings == FitSettings(draws=10) and job.load == {}
    with pytest.raises(JobsFileError, match="unknown setting"):
        Job(runs, settings={"draw": 10})
    with pytest.raises(bs.BayesScalingError, match="tuple"):
        as_job(42, 0)


def test_load_jobs_merges_defaults_and_resolves_paths(tmp_path):
    (tmp_path / "sub").mkdir()
    spec = tmp_path / "sub" / "jobs.toml"
    spec.write_text(
        '[defaults]\nlaw = "chinchilla"\ndraws = 100\n\n'
        '[[job]]\nname = "a"\nruns = "runs.csv"\nmax_compute = 1e20\n\n'
        '[[job]]\nruns = "/abs/runs.csv"\ndraws = 7\nvary = ["E"]\n'
    )
    jobs = load_jobs(spec)
    assert [j.name for j in jobs] == ["a", "job-1"]
    assert jobs[0].runs == tmp_path / "sub" / "runs.csv"
    assert jobs[0].settings == FitSettings(draws=100) and jobs[0].load == {"max_compute": 1e20}
    assert jobs[1].settings.draws == 7 and str(jobs[1].runs) == "/abs/runs.csv"
    assert jobs[1].settings.vary == ("E",) and jobs[1].load == {}
    assert jobs[0].settings.discrepancy == "lfo"  # not set in the file: the default


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[[job]]\nname = 'a'\n", "no 'runs'"),
        ("[defaults]\ndraws = 1\n", "no \\[\\[job\\]\\]"),
        ("[[job]]\nruns = 'r.csv'\nname = 'a'\n[[job]]\nruns = 'r.csv'\nname = 'a'\n", "distinct"),
        ("[[job]]\nruns = 'r.csv'\ncolour = 1\n", "unknown setting"),
        ("[jobs]\n", "unknown table"),
        ("[[job]\n", "not valid TOML"),
    ],
)
def test_bad_jobs_files_are_reported(tmp_path, text, match):
    spec = tmp_path / "jobs.toml"
    spec.write_text(text)
    with pytest.raises(JobsFileError, match=match):
        load_jobs(spec)


# ------------------------------------------------------------------------------ serial batch
@pytest.fixture(scope="module")
def batch():
    runs = bs.datasets.chinchilla_like(seed=0)
    cutoffs = (3e19, 1e20, 1e21)
    jobs = [Job(runs, settings={**TINY, "max_compute": c}, name=f"c{c:.0e}") for c in cutoffs]
    jobs.insert(1, Job(BAD, name="bad"))
    calls = []
    results = fit_many(jobs, workers=1, progress=lambda d, n, r: calls.append((d, n, r.name)))
    return jobs, results, calls


@pytest.mark.model
def test_serial_batch_reuses_compiled_model_and_reports_bad_job(batch):
    jobs, results, calls = batch
    assert [r.name for r in results] == [j.name for j in jobs]
    assert calls == [(i + 1, 4, j.name) for i, j in enumerate(jobs)]
    bad = results[1]
    assert not bad.ok and bad.error_type == "DataError" and "'loss'" in bad.error
    good = [r for r in results if r.ok]
    assert len(good) == 3
    assert [r.fit.runs.n_runs for r in good] == sorted(r.fit.runs.n_runs for r in good)
    assert all(r.fit.info["compiled_model_reused"] for r in good[1:])
    assert all(r.fit.settings.cores == 1 for r in good)
    status = bad.to_dict()
    assert status["ok"] is False and json.dumps(status)


@pytest.mark.model
def test_batch_matches_a_direct_fit(batch):
    jobs, results, _ = batch
    runs = bs.datasets.chinchilla_like(seed=0)
    subset = runs.subset(runs.column("C") <= 1e21)
    direct = bs.fit(subset, law="chinchilla", cores=1, **TINY)
    assert np.array_equal(
        direct.posterior["alpha"].values, results[3].fit.posterior["alpha"].values
    )


@pytest.mark.model
def test_cli_fit_many_saves_good_jobs_and_exits_1(tmp_path):
    from typer.testing import CliRunner

    from bayes_scaling.presentation.cli import app

    bs.datasets.chinchilla_like(seed=0).table.to_csv(tmp_path / "runs.csv", index=False)
    (tmp_path / "bad.csv").write_text("N,D,loss\n1e8,1e9,3\n2e8,2e9,oops\n")
    (tmp_path / "jobs.toml").write_text(
        '[defaults]\ndraws = 150\ntune = 200\nchains = 2\nseed = 5\ndiscrepancy = "none"\n\n'
        '[[job]]\nname = "early"\nruns = "runs.csv"\nmax_compute = 1e20\n\n'
        '[[job]]\nname = "broken"\nruns = "bad.csv"\n'
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["fit-many", str(tmp_path / "jobs.toml"), "-o", str(out), "--workers", "1"]
    )
    assert result.exit_code == 1, result.output
    assert "broken" in result.output and "oops" in result.output
    summary = json.loads((out / "summary.json").read_text())["jobs"]
    assert [j["ok"] for j in summary] == [True, False]
    assert summary[0]["file"] == "early.nc" and not (out / "broken.nc").exists()
    assert bs.load(out / "early.nc").runs.n_runs == summary[0]["n_runs"]
    again = CliRunner().invoke(
        app, ["fit-many", str(tmp_path / "jobs.toml"), "-o", str(out), "--workers", "1"]
    )
    assert again.exit_code == 1 and "already exists" in again.output
