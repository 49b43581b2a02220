"""Many fits at once: ``fit-many JOBS.toml -o DIR`` (local process pool or a Dask scheduler)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from bayes_scaling.presentation.cli.common import (
    app,
    err,
    handle_errors,
    interactive,
    out,
    output_folder,
)


@app.command("fit-many")
@handle_errors
def fit_many(
    jobs_file: Annotated[Path, typer.Argument(help="Jobs TOML file ([defaults] + [[job]]).")],
    output_dir: Annotated[
        Path, typer.Option("--output-dir", "-o", help="Folder for NAME.nc and summary.json.")
    ],
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: one per CPU).")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); needs bayes-scaling[dask]."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing fit files.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Fit every job of a jobs file; failed jobs are reported, the others are saved.

    Jobs file (paths relative to it):

    \b
        [defaults]
        law = "chinchilla"
        draws = 500
        seed = 1
        [[job]]
        name = "cutoff-1e20"
        runs = "runs.csv"
        max_compute = 1e20

    Writes DIR/NAME.nc per fitted job and DIR/summary.json; exits 1 when any job failed.
    """
    from rich.markup import escape

    from bayes_scaling.core.errors import BayesScalingError
    from bayes_scaling.evaluation.many import fit_many as run_many
    from bayes_scaling.evaluation.many import load_jobs
    from bayes_scaling.inference.storage import atomic_write, check_output, save_fit

    jobs = load_jobs(jobs_file)
    if workers is not None and workers < 1:
        raise BayesScalingError(f"--workers must be a whole number >= 1, not {workers}")
    output_folder(output_dir, create=False)
    if output_dir.is_dir():
        for job in jobs:
            check_output(output_dir / f"{job.name}.nc", force=force)
        check_output(output_dir / "summary.json", force=force)
    client = None
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise BayesScalingError(
                "--scheduler needs Dask distributed: install bayes-scaling[dask]"
            ) from None
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as e:
            raise BayesScalingError(
                f"cannot reach the Dask scheduler at {scheduler} ({e}); check the address and "
                "that the scheduler is running"
            ) from None
    try:
        results = _run(run_many, jobs, client=client, workers=workers, quiet=quiet)
    finally:
        if client is not None:
            client.close()
    output_folder(output_dir)  # created only now: an interrupted run writes nothing
    summary = []
    for result in results:
        entry = result.to_dict()
        if result.ok:
            path = save_fit(result.fit, output_dir / f"{result.name}.nc", force=force)
            entry["file"] = path.name
        summary.append(entry)
    text = json.dumps({"jobs": summary}, indent=2)
    atomic_write(output_dir / "summary.json", lambda tmp: tmp.write_text(text, encoding="utf-8"))
    failed = [r for r in results if not r.ok]
    if not quiet:
        _print_results(results)
        out.print(
            f"saved {len(results) - len(failed)} fit(s) and summary.json in {output_dir}",
            markup=False,
        )
    for r in failed:
        err.print(
            f"[bold red]job {escape(r.name)} failed:[/] {escape(str(r.error))}",
            markup=True,
            soft_wrap=True,
        )
    if failed:
        raise typer.Exit(1)


def _run(run_many, jobs, *, client, workers, quiet):
    if not interactive(quiet):
        return run_many(jobs, executor=client, workers=workers)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar:
        task = bar.add_task("fitting jobs", total=len(jobs))

        def advance(done, total, result):
            bar.update(task, completed=done, description=f"done {result.name}")

        return run_many(jobs, executor=client, workers=workers, progress=advance)


def _print_results(results) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="fit-many")
    for col in ("job", "status", "runs", "max R-hat", "min ESS", "seconds"):
        table.add_column(col, justify="left" if col in ("job", "status") else "right")
    for r in results:
        if r.ok:
            d = r.fit.diagnostics
            status = "[green]ok[/]" if d.ok else "[yellow]gate failed[/]"
            cells = (str(r.fit.runs.n_runs), f"{d.max_r_hat:.3f}", f"{d.min_ess_bulk:.0f}")
        else:
            status, cells = "[red]failed[/]", ("", "", "")
        table.add_row(escape(r.name), status, *cells, f"{r.seconds:.1f}")
    out.print(table)
