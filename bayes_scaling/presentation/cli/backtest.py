"""``backtest``: fit the smaller runs, predict the held-out larger ones, score the intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bayes_scaling.core.constants import TUNE
from bayes_scaling.presentation.cli.common import (
    CColOption,
    ColOption,
    DColOption,
    DecimalOption,
    DiscrepancyOption,
    DropInvalidOption,
    FlopsPerTokenOption,
    LawOption,
    LikelihoodOption,
    LossColOption,
    NColOption,
    PriorOption,
    RunsArgument,
    SeedOption,
    UColOption,
    app,
    column_map,
    echo_warnings,
    err,
    fit_settings,
    handle_errors,
    interactive,
    json_float,
    null_status,
    out,
    print_json,
    read_runs,
)


@app.command()
@handle_errors
def backtest(
    runs: RunsArgument,
    law: LawOption = "chinchilla",
    n_col: NColOption = None,
    d_col: DColOption = None,
    c_col: CColOption = None,
    u_col: UColOption = None,
    loss_col: LossColOption = None,
    col: ColOption = None,
    flops_per_token: FlopsPerTokenOption = 6.0,
    decimal: DecimalOption = None,
    holdout_fraction: Annotated[
        float | None, typer.Option(help="Hold out this fraction of the largest runs (0.2).")
    ] = None,
    cutoff_compute: Annotated[
        str | None, typer.Option(help="Train on runs with C <= this (e.g. 1e21).")
    ] = None,
    by: Annotated[str, typer.Option(help="Order runs by this input for --holdout-fraction.")] = (
        "C"
    ),
    train_col: Annotated[
        str | None,
        typer.Option(help="Column of 1/0 (true/false) marking training runs (e.g. Training)."),
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also score the Huber + L-BFGS point fit with bootstrap.")
    ] = False,
    n_boot: Annotated[int, typer.Option(help="Bootstrap refits of the baseline.")] = 200,
    ci: Annotated[
        list[float] | None, typer.Option(help="Central interval to score (repeatable).")
    ] = None,
    prior: PriorOption = None,
    likelihood: LikelihoodOption = "student_t",
    discrepancy: DiscrepancyOption = "lfo",
    draws: Annotated[int, typer.Option(help="Posterior draws per chain.")] = 500,
    tune: Annotated[int, typer.Option(help="Warm-up steps per chain.")] = TUNE,
    chains: Annotated[int, typer.Option(help="Number of chains.")] = 2,
    seed: SeedOption = 0,
    drop_invalid: DropInvalidOption = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors and the result.")] = False,
) -> None:
    """Leave-future-out backtest: fit the smaller runs, score the forecasts of the larger ones.

    Coverage is the fraction of held-out runs inside each central interval of the predictive y
    (a new run's observed loss); width is the mean interval width relative to the median; MARE
    the median absolute relative error of the median; log score and CRPS are on log(loss).
    """
    import warnings

    from bayes_scaling.core.errors import BayesScalingError
    from bayes_scaling.evaluation.backtest import BACKTEST_CI
    from bayes_scaling.evaluation.backtest import backtest as run_backtest
    from bayes_scaling.presentation.cli.common import quantities

    rules = [
        option
        for option, value in (
            ("--train-col", train_col),
            ("--holdout-fraction", holdout_fraction),
            ("--cutoff-compute", cutoff_compute),
        )
        if value is not None
    ]
    if len(rules) > 1:
        raise BayesScalingError(
            f"give one split rule, not {' and '.join(rules)}: --train-col (a column marking the "
            "training runs), --holdout-fraction or --cutoff-compute"
        )
    settings = fit_settings(
        prior=prior,
        likelihood=likelihood,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        discrepancy=discrepancy,
    )
    mask = None
    if train_col:
        if str(runs) == "-":
            raise BayesScalingError("--train-col reads the table twice: give a file, not '-'")
        mask = _train_mask(runs, train_col, drop_invalid=drop_invalid)
    from bayes_scaling.inputs.laws import get_law

    chosen = get_law(law)
    fixed = {"N": n_col, "D": d_col, "C": c_col, "U": u_col, "loss": loss_col}
    table = read_runs(
        runs,
        columns=column_map(fixed, col),
        flops_per_token=flops_per_token,
        drop_invalid=drop_invalid,
        decimal=decimal,
        quiet=quiet or as_json,
        law=chosen,
    )
    if mask is not None and len(mask) != table.n_runs:
        raise BayesScalingError(
            f"{runs}: --train-col {train_col!r} cannot be combined with --drop-invalid when rows "
            "were dropped; clean the table first"
        )
    cutoff = quantities("cutoff-compute", [cutoff_compute])[0] if cutoff_compute else None
    status = (
        err.status("fitting the training runs...")
        if interactive(quiet or as_json)
        else null_status()
    )
    with status, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = run_backtest(
            table,
            law=chosen,
            holdout_fraction=holdout_fraction,
            cutoff_compute=cutoff,
            train_mask=mask,
            by=by,
            ci=tuple(ci) if ci else BACKTEST_CI,
            baseline=baseline,
            n_boot=n_boot,
            settings=settings,
        )
    echo_warnings(caught, quiet or as_json)
    payload = _clean(result.to_dict())
    if as_json:
        print_json(payload)
        return
    _print(payload)


def _train_mask(path: Path, column: str, *, drop_invalid: bool):
    import numpy as np

    from bayes_scaling.core.errors import DataError
    from bayes_scaling.inputs.readers import read_table

    frame, source = read_table(path)
    if column not in frame.columns:
        raise DataError(
            f"{source}: no column {column!r} for --train-col; the table has "
            f"{', '.join(map(str, frame.columns))}"
        )
    text = frame[column].astype(str).str.strip().str.lower()
    truth = {"1": True, "1.0": True, "true": True, "0": False, "0.0": False, "false": False}
    bad = ~text.isin(list(truth))
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad.to_numpy())[:8])
        raise DataError(
            f"{source}: column {column!r} must hold 1/0 or true/false; rows {rows} hold "
            f"{frame[column][bad].iloc[0]!r}"
        )
    return text.map(truth).to_numpy(dtype=bool)


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float):
        return json_float(obj)
    return obj


def _print(payload) -> None:
    from rich.table import Table

    cis = [f"{c:g}" for c in payload["ci"]]
    split = payload["split"]
    how = {
        "mask": "the given training mask",
        "cutoff": f"cut-off {split.get('by')} <= {split.get('cutoff', 0):.4g}",
        "holdout_fraction": f"largest {split.get('holdout_fraction', 0):.0%} by "
        f"{split.get('by')} held out, cut-off {split.get('cutoff', 0):.4g}",
    }[split["rule"]]
    table = Table(
        title=f"backtest of {payload['law']}: {payload['n_train']} training runs, "
        f"{payload['n_test']} held out ({how})"
    )
    table.add_column("method")
    for c in cis:
        table.add_column(f"coverage {float(c):.0%}", justify="right")
    table.add_column(f"width {float(cis[-1]):.0%}", justify="right")
    for col in ("MARE", "log score", "CRPS"):
        table.add_column(col, justify="right")
    for method in ("bayes", "baseline"):
        s = payload.get(method)
        if not s:
            continue
        table.add_row(
            method,
            *[f"{s['coverage'][c]:.2f}" for c in cis],
            f"{s['width']:.2%}",
            f"{s['mare']:.2%}",
            f"{s['log_score']:.2f}",
            f"{s['crps']:.4f}",
        )
    out.print(table)
    out.print(
        "coverage: share of held-out runs inside the central interval of y (a new run's "
        "observed loss); width relative to the median; log score (higher is better) and CRPS "
        "(lower is better) on log(loss)."
    )
