"""Many fits at once: backtests over cut-offs, sweeps, per-dataset laws.

:func:`fit_many` fits a list of :class:`Job` s on a local process pool (default), in this process
(``workers=1``), or on any ``concurrent.futures``-style executor, including a Dask
``distributed.Client``. Every worker keeps its compiled models and re-uses them when only the data
change (:func:`bayes_scaling.evaluation.fitting.fit` does this), so a batch of refits of one law
costs one
compilation per worker. Each job samples with nutpie on one core (``cores=1``): parallelism comes
from running jobs side by side. A job that fails (bad data, unknown law, ...) is reported in its
:class:`JobResult`; the other jobs complete.

Jobs files
----------
``bayes-scaling fit-many JOBS.toml -o DIR`` reads a TOML file: an optional ``[defaults]`` table of
settings shared by every job, and one ``[[job]]`` table per fit. Paths are relative to the TOML
file. Keys of a job (or of ``[defaults]``)::

    [defaults]
    law = "chinchilla"          # law name, name:INPUT, or a TOML law file
    draws = 500                 # any fit() setting: draws, tune, chains, seed, likelihood,
    chains = 2                  #   target_accept, adaptation, priors, vary, centered
    seed = 1

    [[job]]
    name = "cutoff-1e20"        # output DIR/cutoff-1e20.nc (default: job-<number>)
    runs = "runs.csv"           # the runs table (required)
    max_compute = 1e20          # keep only runs with C <= max_compute (backtest cut-offs)
    columns = { N = "params", loss = "val_loss", group = "family" }  # explicit column mapping
    flops_per_token = 6         # k in C = k N D
    drop_invalid = false
    priors = { alpha = "Beta(2, 5)" }
    vary = ["E", "A"]           # pooled fit by the 'group' column
    discrepancy = "none"        # no extrapolation discrepancy (TOML has no null)

``DIR/summary.json`` lists every job with its status, diagnostics or error.
"""

from __future__ import annotations

import dataclasses
import os
import time
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.core.machine import available_cores
from bayes_scaling.inference.settings import FitSettings

if TYPE_CHECKING:
    from bayes_scaling.inference.record import FitRecord

#: Keywords that say how to read a job's runs.
LOAD_SETTINGS = ("columns", "flops_per_token", "drop_invalid", "max_compute")


class JobsFileError(BayesScalingError, ValueError):
    """A jobs file is unreadable or holds an unknown key."""


@dataclass(frozen=True)
class Job:
    """One fit to run: the runs, the law and the :class:`FitSettings` of the fit.

    Attributes
    ----------
    runs : Runs, path, DataFrame or mapping
        Anything :func:`bayes_scaling.inputs.runs.load_runs` accepts; read inside the worker, so
        bad data fails this job only.
    law : str or Law
    settings : FitSettings or mapping
        The fit's settings. A mapping may mix :class:`FitSettings` fields with the loading keys
        of :data:`LOAD_SETTINGS` (``columns``, ``flops_per_token``, ``drop_invalid``,
        ``max_compute``), which move to ``load``; any other key is an error.
    name : str
        Label of the job (used for output files).
    load : mapping
        How to read the runs (:data:`LOAD_SETTINGS`).
    """

    runs: Any
    law: Any = "chinchilla"
    settings: FitSettings | Mapping[str, Any] = field(default_factory=FitSettings)
    name: str = ""
    load: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.settings, FitSettings):
            return
        values = dict(self.settings)
        load = {**self.load, **{k: values.pop(k) for k in LOAD_SETTINGS if k in values}}
        where = f"job {self.name or '<unnamed>'}"
        unknown = sorted(set(values) - set(FitSettings.names()))
        if unknown:
            raise JobsFileError(
                f"{where}: unknown setting(s) {', '.join(unknown)}; a job takes "
                f"{', '.join(FitSettings.names() + LOAD_SETTINGS)}"
            )
        object.__setattr__(self, "settings", FitSettings.from_mapping(values, where=where))
        object.__setattr__(self, "load", load)


@dataclass(frozen=True)
class JobResult:
    """Outcome of one job: the fit, or the error that stopped it.

    Attributes
    ----------
    index : int
        Position of the job in the input list.
    name : str
    fit : FitRecord or None
        None when the job failed.
    error : str or None
        One-paragraph message of the failure (the type is ``error_type``).
    error_type : str or None
    warnings : tuple of str
        Warnings raised while fitting (e.g. a failed diagnostics gate).
    seconds : float
        Wall time of the job in its worker.
    worker : str
        ``host:pid`` of the process that ran the job.
    """

    index: int
    name: str
    fit: FitRecord | None
    error: str | None = None
    error_type: str | None = None
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0
    worker: str = ""

    @property
    def ok(self) -> bool:
        """Whether the job produced a fit."""
        return self.fit is not None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able status (no draws): name, ok, error, warnings, seconds, diagnostics."""
        out: dict[str, Any] = {
            "index": self.index,
            "name": self.name,
            "ok": self.ok,
            "error": self.error,
            "error_type": self.error_type,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 3),
            "worker": self.worker,
        }
        if self.fit is not None:
            out["diagnostics"] = self.fit.diagnostics.to_dict()
            out["n_runs"] = self.fit.runs.n_runs
            out["compiled_model_reused"] = self.fit.info.get("compiled_model_reused")
        return out


def as_job(item: Job | Sequence[Any] | Mapping[str, Any], index: int) -> Job:
    """A :class:`Job` from a Job, a ``(runs, law, settings)`` tuple or a mapping."""
    if isinstance(item, Job):
        job = item
    elif isinstance(item, Mapping):
        item = dict(item)
        job = Job(
            runs=item.pop("runs", None),
            law=item.pop("law", "chinchilla"),
            name=str(item.pop("name", "")),
            settings=item,
        )
    elif isinstance(item, Sequence) and not isinstance(item, str) and 1 <= len(item) <= 3:
        runs, law, settings = (*item, None, None)[:3]
        job = Job(runs=runs, law=law or "chinchilla", settings=dict(settings or {}))
    else:
        raise BayesScalingError(
            f"job {index}: give a Job, a (runs, law, settings) tuple or a mapping, not "
            f"{type(item).__name__}"
        )
    if not job.name:
        job = dataclasses.replace(job, name=f"job-{index}")
    return job


def run_job(index: int, job: Job) -> JobResult:
    """Fit one job in this process, capturing any error (the worker function of fit_many)."""
    from bayes_scaling.evaluation.fitting import fit
    from bayes_scaling.inputs.runs import load_runs

    t0 = time.perf_counter()
    load = dict(job.load)
    max_compute = load.pop("max_compute", None)
    settings = job.settings
    if settings.cores is None:  # one core per job: the pool runs jobs side by side
        settings = settings.replace(cores=1)
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            runs = load_runs(job.runs, **load)
            if max_compute is not None:
                runs = runs.subset(runs.column("C") <= float(max_compute))
            result = fit(runs, law=job.law, settings=settings)
    except Exception as err:  # noqa: BLE001 - a job's failure must not stop the others
        text = str(err) if isinstance(err, BayesScalingError) else f"{type(err).__name__}: {err}"
        return JobResult(
            index,
            job.name,
            None,
            error=text,
            error_type=type(err).__name__,
            warnings=_texts(caught),
            seconds=_since(t0),
            worker=_worker(),
        )
    return JobResult(
        index, job.name, result, warnings=_texts(caught), seconds=_since(t0), worker=_worker()
    )


def _worker() -> str:
    import socket

    return f"{socket.gethostname()}:{os.getpid()}"


def _texts(caught) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(w.message) for w in caught or ()))


def _since(t0: float) -> float:
    return time.perf_counter() - t0


def _executor_of(executor: Any) -> Any:
    """A concurrent.futures-style executor (a Dask Client gives its own, with pure=False)."""
    if type(executor).__module__.startswith("distributed") and hasattr(executor, "get_executor"):
        return executor.get_executor(pure=False)
    return executor


def fit_many(
    jobs: Iterable[Job | Sequence[Any] | Mapping[str, Any]],
    *,
    executor: Any = None,
    workers: int | None = None,
    progress: bool | Callable[[int, int, JobResult], None] = False,
) -> list[JobResult]:
    """Fit many jobs; one failing job is reported and the others complete.

    Parameters
    ----------
    jobs : iterable
        :class:`Job` s, ``(runs, law, settings)`` tuples or mappings with keys ``runs``,
        ``law``, ``name`` and settings.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Where to run the jobs. A Dask client runs them on its workers (use one thread per worker).
        Default: a local process pool of ``workers`` processes, or this process when
        ``workers == 1`` (or there is one job).
    workers : int, optional
        Size of the default process pool (default: the number of CPUs, at most one per job).
    progress : bool or callable
        True prints nothing but is accepted for symmetry with the CLI; a callable is called as
        ``progress(done, total, result)`` after each finished job.

    Returns
    -------
    list of JobResult
        In the order of ``jobs``.

    Examples
    --------
    >>> from bayes_scaling import datasets
    >>> runs = datasets.chinchilla_like()
    >>> jobs = [Job(runs, settings={"max_compute": c, "seed": 1}) for c in (1e19, 1e20)]
    >>> results = fit_many(jobs, workers=2)  # doctest: +SKIP
    """
    jobs = [as_job(item, i) for i, item in enumerate(jobs)]
    total = len(jobs)
    report = progress if callable(progress) else None
    results: list[JobResult | None] = [None] * total
    if total == 0:
        return []
    if workers is not None and int(workers) < 1:
        raise BayesScalingError(f"workers must be a positive integer, not {workers!r}")
    own = None
    if executor is None:
        n = min(int(workers or available_cores()), total)
        if n == 1:
            for i, job in enumerate(jobs):
                results[i] = run_job(i, job)
                if report:
                    report(i + 1, total, results[i])
            return results  # type: ignore[return-value]
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        own = ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"))
        executor = own
    pool = _executor_of(executor)
    try:
        futures = {pool.submit(run_job, i, job): i for i, job in enumerate(jobs)}
        for done, future in enumerate(_completed(futures), start=1):
            i = futures[future]
            try:
                results[i] = future.result()
            except Exception as err:  # noqa: BLE001 - e.g. a worker process died
                results[i] = JobResult(
                    i, jobs[i].name, None, f"the worker failed: {type(err).__name__}: {err}",
                    type(err).__name__,
                )  # fmt: skip
            if report:
                report(done, total, results[i])
    finally:
        if own is not None:
            own.shutdown()
    if own is not None and all(
        r is not None and r.error_type == "BrokenProcessPool" for r in results
    ):
        raise BayesScalingError(
            "fit_many: the worker processes could not start, so no job ran. Workers start a "
            "fresh Python that imports your script again: guard the script's entry point with "
            '`if __name__ == "__main__":`, or pass workers=1 to fit in this process'
        )
    return results  # type: ignore[return-value]


def _completed(futures):
    """Futures as they finish (concurrent.futures), else in submission order."""
    from concurrent.futures import Future, as_completed

    if all(isinstance(f, Future) for f in futures):
        return as_completed(futures)
    return iter(futures)


# ------------------------------------------------------------------------------------ jobs file
def load_jobs(path: str | os.PathLike) -> list[Job]:
    """Read a jobs TOML file (format in the module docstring); paths are relative to it."""
    path = Path(path)
    if path.is_dir():
        raise JobsFileError(f"{path} is a folder; give a jobs TOML file")
    try:
        spec = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise JobsFileError(f"{path} does not exist; give a jobs TOML file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise JobsFileError(f"{path} is not valid TOML ({err}); fix the file") from None
    unknown = sorted(set(spec) - {"defaults", "job"})
    if unknown:
        raise JobsFileError(
            f"{path}: unknown table(s) {', '.join(unknown)}; a jobs file has [defaults] and "
            "[[job]] tables"
        )
    defaults = dict(spec.get("defaults", {}))
    entries = spec.get("job", [])
    if not isinstance(entries, list) or not entries:
        raise JobsFileError(f"{path}: no [[job]] tables; add one per fit (see fit-many --help)")
    jobs = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        merged = {**defaults, **entry}
        name = str(merged.pop("name", f"job-{i}"))
        if (
            name in names
            or not name
            or not name.isprintable()
            or any(c in name for c in '/\\:*?"<>|')
            or name.startswith(".")
        ):
            raise JobsFileError(
                f"{path}: job {i} has the name {name!r}, which is empty, repeated or not a plain "
                "file name; give every job a distinct name"
            )
        names.add(name)
        runs = merged.pop("runs", None)
        if runs is None:
            raise JobsFileError(f"{path}: job {name!r} has no 'runs' (the runs table to fit)")
        runs_path = Path(runs)
        if not runs_path.is_absolute():
            runs_path = path.parent / runs_path
        if merged.get("discrepancy") in ("none", False):  # TOML has no null
            merged["discrepancy"] = None
        law = merged.pop("law", "chinchilla")
        if isinstance(law, str) and law.endswith(".toml") and not Path(law).is_absolute():
            law = str(path.parent / law)
        try:
            jobs.append(Job(runs=runs_path, law=law, settings=merged, name=name))
        except BayesScalingError as error:
            raise JobsFileError(f"{path}: {error}") from None
    return jobs
