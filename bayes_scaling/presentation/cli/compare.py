"""``compare``: PSIS-LOO comparison of laws fitted to the same runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bayes_scaling.presentation.cli.common import (
    app,
    err,
    handle_errors,
    out,
    print_json,
)


@app.command()
@handle_errors
def compare(
    fit_files: Annotated[
        list[Path], typer.Argument(help="Two or more fit files (from `fit`) on the same runs.")
    ],
    backtest: Annotated[
        bool,
        typer.Option(
            help="Also score leave-future-out backtests (refits each law on the smaller runs)."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the backtest refits.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compare laws by LOO (elpd_loo, se, d_loo, stacking weight, p_loo, Pareto k warnings)."""
    import warnings

    from bayes_scaling.core.errors import QuestionError
    from bayes_scaling.evaluation.compare import INTERPRETATION, compare_fits
    from bayes_scaling.inference.storage import load_fit

    if len(fit_files) < 2:
        raise QuestionError("give at least two fit files to compare (e.g. a.nc b.nc)")
    resolved = [path.resolve() for path in fit_files]
    repeated = sorted(
        {str(p) for p, r in zip(fit_files, resolved, strict=True) if resolved.count(r) > 1}
    )
    if repeated:
        raise QuestionError(
            f"{', '.join(repeated)} given more than once; compare different fits of the same runs"
        )
    fits = {}
    for path in fit_files:
        name = path.stem
        while name in fits:
            name += "'"
        fits[name] = load_fit(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compare_fits(
            fits, backtest=backtest, backtest_changes={"seed": seed} if backtest else None
        )
    if as_json:
        payload = result.to_dict()
        payload["files"] = {name: str(path) for name, path in zip(fits, fit_files, strict=True)}
        payload["laws"] = {name: fit.law.name for name, fit in fits.items()}
        print_json(payload)
        return
    from rich.table import Table

    table = Table(title=f"LOO comparison ({next(iter(fits.values())).runs.n_runs} runs)")
    columns = ["fit", "law", "elpd_loo", "se", "d_loo", "dse", "weight", "p_loo", "k > 0.7"]
    if backtest:
        columns += ["LFO log score", "LFO 90% coverage"]
    for col in columns:
        table.add_column(col, justify="left" if col in ("fit", "law") else "right")
    for name, row in result.table.iterrows():
        cells = [
            str(name),
            fits[str(name)].law.name,
            f"{row['elpd_loo']:.1f}",
            f"{row['se']:.1f}",
            f"{row['d_loo']:.1f}",
            f"{row['dse']:.1f}",
            f"{row['weight']:.2f}",
            f"{row['p_loo']:.1f}",
            str(row["n_high_k"]),
        ]
        if backtest:
            cov = row["lfo_coverage_0.9"]
            cells += [f"{row['lfo_log_score']:.3f}", "-" if cov is None else f"{cov:.0%}"]
        table.add_row(*(escape(cell) for cell in cells))
    out.print(table)
    for message in result.warnings:
        err.print(f"[yellow]warning:[/] {escape(str(message))}", markup=True)
    out.print(f"Note: {INTERPRETATION}.")
    if not backtest:
        out.print("Add --backtest to score each law's leave-future-out extrapolation beside LOO.")
