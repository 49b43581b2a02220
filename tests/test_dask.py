"""fit_many on a real Dask LocalCluster: same draws as serial runs, one bad job reported."""

from __future__ import annotations

import os

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.evaluation.many import Job, fit_many, run_job

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed")

TINY = {"draws": 150, "tune": 200, "chains": 2, "discrepancy": None}
BAD = {"N": [1e8, 2e8, 4e8], "D": [1e9, 2e9, 4e9], "loss": [3.0, float("nan"), 2.5]}


@pytest.mark.model
def test_local_cluster_matches_serial_and_reports_bad_job():
    runs = bs.datasets.chinchilla_like(seed=0)
    jobs = [
        Job(runs, settings={**TINY, "seed": 10 + i, "max_compute": c}, name=f"cut{i}")
        for i, c in enumerate((3e19, 1e20, 3e20, 1e21))
    ]
    jobs.append(Job(BAD, name="bad"))
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        done = []
        results = fit_many(jobs, executor=client, progress=lambda d, n, r: done.append(r.name))
        workers = {r.worker for r in results if r.ok}
    assert sorted(done) == sorted(j.name for j in jobs)
    assert [r.name for r in results] == [j.name for j in jobs]
    bad = results[-1]
    assert not bad.ok and bad.error_type == "DataError" and "row" in bad.error
    assert all(r.ok for r in results[:4]), [r.error for r in results]
    assert workers and f":{os.getpid()}" not in " ".join(workers)  # ran in the workers
    for i, job in enumerate(jobs[:4]):
        serial = run_job(i, job)
        for name in ("alpha", "beta", "E", "sigma"):
            assert np.array_equal(
                serial.fit.posterior[name].values, results[i].fit.posterior[name].values
            ), (job.name, name)
