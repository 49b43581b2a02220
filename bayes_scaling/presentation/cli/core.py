"""Core commands: ``fit``, ``summary``, ``predict``, ``laws`` and ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_scaling.core.constants import CI, DRAWS, MAX_DRAWS, TUNE
from bayes_scaling.presentation.cli.common import (
    CColOption,
    ColOption,
    DColOption,
    DecimalOption,
    DiscrepancyOption,
    DropInvalidOption,
    FlopsPerTokenOption,
    InputOption,
    LawOption,
    LikelihoodOption,
    LossColOption,
    NColOption,
    PriorOption,
    RunsArgument,
    SeedOption,
    TargetOption,
    UColOption,
    app,
    column_map,
    echo_warnings,
    err,
    fit_settings,
    formula_law,
    handle_errors,
    interactive,
    json_float,
    null_status,
    out,
    output_folder,
    print_json,
    progress_of,
    quantities,
    read_runs,
)
from bayes_scaling.presentation.cli.optimize import point_rows as _points
from bayes_scaling.presentation.cli.optimize import print_points as _print_points
from bayes_scaling.presentation.cli.optimize import read_points


# ---------------------------------------------------------------------------------------- fit
@app.command()
@handle_errors
def fit(
    runs: RunsArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="Fit file to write (.nc).")],
    law: LawOption = "chinchilla",
    formula: Annotated[
        str | None,
        typer.Option(help="Custom law, e.g. 'E + A*C**(-alpha)' (default priors; see --prior)."),
    ] = None,
    input: InputOption = None,
    target_name: TargetOption = None,
    n_col: NColOption = None,
    d_col: DColOption = None,
    c_col: CColOption = None,
    u_col: UColOption = None,
    loss_col: LossColOption = None,
    col: ColOption = None,
    group_col: Annotated[
        str | None, typer.Option(help="Column holding the group label (for --vary).")
    ] = None,
    vary: Annotated[
        str | None, typer.Option(help="Parameters that vary by group, e.g. E,A,alpha.")
    ] = None,
    centered: Annotated[
        str, typer.Option(help="Group parameterisation: auto, centered or noncentered.")
    ] = "auto",
    flops_per_token: FlopsPerTokenOption = 6.0,
    decimal: DecimalOption = None,
    prior: PriorOption = None,
    likelihood: LikelihoodOption = "student_t",
    draws: Annotated[int, typer.Option(help="Posterior draws per chain.")] = DRAWS,
    tune: Annotated[int, typer.Option(help="Warm-up steps per chain.")] = TUNE,
    max_draws: Annotated[
        int,
        typer.Option(
            help="When the diagnostics gate fails on R-hat or effective draws alone, sample once "
            "more with enough draws per chain to pass, at most this many; 0: never."
        ),
    ] = MAX_DRAWS,
    chains: Annotated[int, typer.Option(help="Number of chains.")] = 4,
    seed: SeedOption = None,
    drop_invalid: DropInvalidOption = False,
    near_optimum: Annotated[
        int | None,
        typer.Option(
            help="IsoFLOP data: keep only the K model sizes on each side of each profile's "
            "lowest loss (per group and budget C), as Approach 2 does; e.g. 2."
        ),
    ] = None,
    discrepancy: DiscrepancyOption = "lfo",
    strict: Annotated[bool, typer.Option(help="Exit 3 when diagnostics fail.")] = False,
    force: Annotated[bool, typer.Option(help="Overwrite the output file.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Fit a scaling law to a table of runs and save the posterior to one netCDF file."""
    import warnings

    from bayes_scaling.core.errors import BayesScalingError
    from bayes_scaling.inference.storage import check_output, save_fit

    check_output(output, force=force)
    if near_optimum is not None and near_optimum < 1:
        raise BayesScalingError(
            f"--near-optimum must be a whole number >= 1, not {near_optimum}: it keeps that many "
            "model sizes on each side of each IsoFLOP minimum, and a parabola needs three points; "
            "e.g. --near-optimum 2"
        )
    settings = fit_settings(
        prior=prior,
        likelihood=likelihood,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        discrepancy=discrepancy,
        vary=vary,
        centered=centered,
        max_draws=max_draws,
    )
    from bayes_scaling.inputs.laws import get_law

    if formula is not None:
        chosen = formula_law(formula, priors=settings.priors, inputs=input, target=target_name)
    elif input or target_name:
        raise BayesScalingError(
            "--input and --target-name declare the inputs of --formula; a named law declares "
            "its own (see `bayes-scaling laws NAME`)"
        )
    else:
        chosen = get_law(law)
    fixed = {"N": n_col, "D": d_col, "C": c_col, "U": u_col, "loss": loss_col, "group": group_col}
    table = read_runs(
        runs,
        columns=column_map(fixed, col),
        flops_per_token=flops_per_token,
        drop_invalid=drop_invalid,
        decimal=decimal,
        quiet=quiet,
        law=chosen,
    )
    if near_optimum is not None:
        from bayes_scaling.inputs.isoflop import near_optimum as select

        kept = select(table, neighbours=near_optimum)
        if not quiet:
            out.print(f"near each IsoFLOP minimum: {kept.n_runs} of {table.n_runs} runs kept")
        table = kept
    from bayes_scaling.evaluation.fitting import fit as run_fit

    status = err.status("compiling and sampling...") if interactive(quiet) else null_status()
    with status, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_fit(
            table, law=chosen, settings=settings, strict=strict, progress=progress_of(status)
        )
    echo_warnings(caught, quiet)
    save_fit(result, output, force=force)
    if not quiet:
        _print_summary(result, ci=CI)
        out.print(f"saved {output}", markup=False)


def _print_summary(result, *, ci: float) -> None:
    from rich.markup import escape
    from rich.table import Table

    from bayes_scaling.presentation.formatting import number

    table = Table(
        title=f"{result.law.name}: {result.law.program.result.text}  "
        f"({result.runs.n_runs} runs, {ci:.0%} intervals)"
    )
    for col in ("parameter", "median", "lower", "upper", "r_hat", "ess_bulk"):
        table.add_column(col, justify="left" if col == "parameter" else "right")
    from bayes_scaling.presentation.summaries import discrepancy_note, fit_summary

    for name, row in fit_summary(result, ci=ci).iterrows():
        table.add_row(
            escape(name),
            number(row["median"]),
            number(row["lower"]),
            number(row["upper"]),
            f"{row['r_hat']:.3f}",
            f"{row['ess_bulk']:.0f}",
        )
    out.print(table)
    d = result.diagnostics
    colour = "green" if d.ok else "red"
    out.print(
        f"[{colour}]{d.message()}[/] (max R-hat {d.max_r_hat:.3f}, min ESS bulk "
        f"{d.min_ess_bulk:.0f}, tail {d.min_ess_tail:.0f}, {d.divergences} divergences)",
        markup=True,
    )
    note = discrepancy_note(result)
    if note is not None:
        colour = "green" if note["ok"] else "yellow"
        out.print(f"[{colour}]{escape(note['text'])}[/]", markup=True)


def _groups_payload(result, *, ci: float) -> dict:
    """Summary JSON of a pooled fit: per-group intervals under ``groups``."""
    if getattr(result, "pooling", None) is None:
        return {}
    from bayes_scaling.presentation.summaries import groups_json

    return {"vary": list(result.pooling.vary), "groups": groups_json(result, ci=ci)}


# ---------------------------------------------------------------------------------------- summary
@app.command()
@handle_errors
def summary(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    ci: Annotated[float, typer.Option(help="Probability of the central interval.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Posterior summary of a saved fit: parameters with intervals and the diagnostics gate."""
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.presentation.summaries import discrepancy_note, fit_summary

    result = load_fit(fit_file)
    table = fit_summary(result, ci=ci)
    if not as_json:
        _print_summary(result, ci=ci)
        return
    d = result.diagnostics.to_dict()
    payload = {
        "law": result.law.name,
        "ci": ci,
        "n_runs": result.runs.n_runs,
        "parameters": {
            name: {
                k: json_float(row[k]) for k in ("mean", "median", "lower", "upper", "sd", "r_hat")
            }
            for name, row in table.iterrows()
        },
        **_groups_payload(result, ci=ci),
        "diagnostics": {
            k: d[k]
            for k in ("ok", "max_r_hat", "min_ess_bulk", "min_ess_tail", "divergences", "min_bfmi")
        },
        "discrepancy": discrepancy_note(result),
    }
    print_json(payload)


# ---------------------------------------------------------------------------------------- predict
@app.command("predict")
@handle_errors
def predict_command(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    n: Annotated[list[str] | None, typer.Option("--n", help="Parameters N (repeatable).")] = None,
    d: Annotated[list[str] | None, typer.Option("--d", help="Tokens D (repeatable).")] = None,
    c: Annotated[list[str] | None, typer.Option("--c", help="FLOPs C (repeatable).")] = None,
    u: Annotated[list[str] | None, typer.Option("--u", help="Unique tokens U.")] = None,
    points_file: Annotated[
        Path | None,
        typer.Option(
            "--points",
            help="Table of points (CSV, parquet, ...): one row per point, a column per input "
            "of the law (N, D, C, lr, ...); combined with --n/--d/--c/--u by broadcasting.",
        ),
    ] = None,
    group: Annotated[
        str | None, typer.Option(help="Group of a pooled fit (default: a new, unseen group).")
    ] = None,
    ci: Annotated[float, typer.Option(help="Probability of the central interval.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Expected target (mu, the law's curve) and predicted observed target (y) at new points."""
    from bayes_scaling.core.intervals import check_ci
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.questions.predict import predict

    check_ci(ci)
    result = load_fit(fit_file)
    ds = predict(
        result,
        N=quantities("n", n),
        D=quantities("d", d),
        C=quantities("c", c),
        U=quantities("u", u),
        points=None if points_file is None else read_points(points_file, result.law),
        group=group,
    )
    inputs, points = _points(ds, ci=ci)
    if as_json:
        print_json({"law": result.law.name, "target": ds.attrs["target"], "ci": ci,
                    "points": points})  # fmt: skip
        return
    _print_points(points, inputs, ci, target=ds.attrs.get("target", "loss"))


# ---------------------------------------------------------------------------------------- laws
@app.command()
@handle_errors
def laws(
    name: Annotated[str | None, typer.Argument(help="Show one law in full.")] = None,
    formula: Annotated[
        str | None, typer.Option(help="Show the default priors a custom formula would get.")
    ] = None,
    input: InputOption = None,
    target_name: TargetOption = None,
) -> None:
    """List the built-in laws, or show one's formula, inputs and default priors."""
    from bayes_scaling.inputs.laws import get_law, list_laws

    if formula is not None:
        law = formula_law(formula, priors=None, inputs=input, target=target_name)
        out.print(law.describe(), markup=False)
        return
    if name:
        out.print(get_law(name).describe(), markup=False)
        return
    for law_name in list_laws():
        law = get_law(law_name)
        out.print(f"{law_name:<18} L = {law.program.result.text:<48} {law.title}")
    out.print("\n`bayes-scaling laws NAME` shows the priors; one-input laws take NAME:N|D|C.")


# ---------------------------------------------------------------------------------------- demo
@app.command()
@handle_errors
def demo(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o", help="Folder for outputs.")] = (
        Path("bayes-scaling-demo")
    ),
    seed: Annotated[int, typer.Option(help="Random seed.")] = 1,
    draws: Annotated[int, typer.Option(help="Posterior draws per chain.")] = DRAWS,
    force: Annotated[bool, typer.Option(help="Overwrite earlier demo outputs.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Fit the built-in Chinchilla-like data set, print the summary and a forecast.

    Writes runs.csv, fit.nc and report.html in the output folder (existing ones only with
    --force).
    """
    from bayes_scaling.evaluation.fitting import fit as run_fit
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.inference.storage import atomic_write, check_output, save_fit
    from bayes_scaling.inputs import datasets
    from bayes_scaling.questions.predict import predict

    settings = FitSettings(seed=seed, draws=draws)  # checked before anything is written
    if output_dir.is_dir():
        for name in ("runs.csv", "fit.nc", "report.html"):
            check_output(output_dir / name, force=force)
    output_folder(output_dir, create=False)
    runs = datasets.chinchilla_like(seed=seed)
    if not quiet:
        out.print(
            f"{runs.n_runs} simulated runs from Epoch AI's Chinchilla refit "
            f"(truth {datasets.CHINCHILLA_TRUTH}) -> {output_dir / 'runs.csv'}",
            markup=False,
        )
    status = err.status("compiling and sampling...") if interactive(quiet) else null_status()
    with status:
        result = run_fit(runs, law="chinchilla", settings=settings, progress=progress_of(status))
    output_folder(output_dir)  # created only now: an interrupted demo writes nothing
    atomic_write(output_dir / "runs.csv", lambda tmp: runs.table.to_csv(tmp, index=False))
    path = save_fit(result, output_dir / "fit.nc", force=True)
    from bayes_scaling.presentation.cli.report import write_demo_report

    status = err.status("writing the report...") if interactive(quiet) else null_status()
    with status:
        report_path = write_demo_report(result, output_dir / "report.html")
    if quiet:
        return
    _print_summary(result, ci=CI)
    inputs, points = _points(predict(result, N=[7e10, 4e11], D=[1.4e12, 8e12]), ci=CI)
    _print_points(points, inputs, CI)
    out.print(f"saved {path}", markup=False)
    out.print(f"report: {report_path}", markup=False)
