"""``plan``: which runs to train next so that the forecast at a target budget tightens fastest."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.presentation.cli.common import (
    app,
    echo_warnings,
    handle_errors,
    out,
    print_json,
    quantities,
)


def _read_candidates(path: Path):
    """The candidates CSV as a DataFrame; numbers may carry unit suffixes (70M, 1.4T)."""
    import pandas as pd

    from bayes_scaling.inputs.quantities import parse_quantity

    if not path.exists():
        raise BayesScalingError(f"--candidates: {path} does not exist")
    if path.is_dir():
        raise BayesScalingError(f"--candidates: {path} is a folder; give a CSV file")
    try:
        table = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as error:
        raise BayesScalingError(f"--candidates: {path} is not a readable CSV ({error})") from None
    table.columns = [c if c in ("cost",) or len(c) > 1 else c.upper() for c in map(str, table)]
    for col in table.columns:
        numeric = pd.api.types.is_numeric_dtype(table[col])
        if not numeric and col not in ("group", "name"):
            try:
                table[col] = [parse_quantity(str(v), in_table=True) for v in table[col]]
            except ValueError as error:
                raise BayesScalingError(f"--candidates: column {col!r}: {error}") from None
    return table


def _grid(fit, text: str):
    from bayes_scaling.questions.design_tools import isoflop_grid

    budgets, sep, per = text.rpartition(":")
    if not sep or not budgets:
        raise BayesScalingError(
            f"--grid must read BUDGETS:NPER, e.g. 1e19,1e20,1e21:8; not {text!r}"
        )
    try:
        n = int(per)
    except ValueError:
        raise BayesScalingError(f"--grid: NPER must be a whole number, not {per!r}") from None
    return isoflop_grid(fit, quantities("grid", budgets.split(",")), n)


def _row(ds, i: int, names) -> dict:
    return {name: float(ds[name].values[i]) for name in names if name in ds.variables}


#: Most runs a --budget batch holds when --k is not given.
MAX_BUDGET_RUNS = 32


@app.command()
@handle_errors
def plan(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    target_compute: Annotated[
        str, typer.Option(help="The target budget C in FLOPs whose forecast should tighten.")
    ],
    candidates: Annotated[
        Path | None,
        typer.Option(help="CSV of candidate runs: N and D (or C), optionally a cost column."),
    ] = None,
    grid: Annotated[
        str | None,
        typer.Option(help="IsoFLOP candidates BUDGETS:NPER around each budget's N_opt."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="loss (at the optimum), optimal (N_opt) or probability.")
    ] = "loss",
    loss_target: Annotated[float | None, typer.Option(help="Loss of --target probability.")] = None,
    objective: Annotated[str, typer.Option(help="width, variance or regret.")] = "width",
    k: Annotated[
        int | None,
        typer.Option(
            "--k",
            help="Runs to choose (greedy batch; with --budget or --in-order: at most). "
            "Default 1; with --budget 32, with --in-order every candidate.",
        ),
    ] = None,
    in_order: Annotated[
        bool,
        typer.Option(
            "--in-order",
            help="Do not choose: take the candidates in the file's order (a sweep already "
            "planned), skipping runs that no longer fit --budget, and show the expected "
            "width after each.",
        ),
    ] = False,
    budget: Annotated[
        str | None,
        typer.Option(
            help="Total cost the chosen runs may spend (FLOPs): the batch that leaves the "
            "narrowest forecast within it (best of greedy per run, per sqrt cost, per cost)."
        ),
    ] = None,
    cost_power: Annotated[
        float, typer.Option(help="Score = reduction / cost ** POWER: 1 per FLOP, 0 per run.")
    ] = 1.0,
    fantasies: Annotated[int, typer.Option(help="Fantasised outcomes per candidate.")] = 32,
    seed: Annotated[int | None, typer.Option(help="Seed of the fantasies.")] = None,
    top: Annotated[int, typer.Option(help="Candidates shown in the table.")] = 15,
    ci: Annotated[float, typer.Option(help="Probability of the interval whose width counts.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rank candidate runs by how much they shrink the target's 90% interval per FLOP."""
    import warnings

    from bayes_scaling.core.intervals import summarize
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.questions.design import (
        DesignQuestion,
        batch_in_order,
        choose_batch,
        rank_candidates,
    )
    from bayes_scaling.questions.design_policy import budget_batch

    if (candidates is None) == (grid is None):
        raise BayesScalingError("give exactly one of --candidates CANDS.csv or --grid BUDGETS:NPER")
    C = quantities("target-compute", [target_compute])[0]
    spend = None if budget is None else quantities("budget", [budget])[0]
    question = DesignQuestion(
        target=target,
        objective=objective,
        compute=C,
        loss_target=loss_target,
        n_fantasies=fantasies,
        seed=seed,
        ci=ci,
    )
    fit = load_fit(fit_file)
    table = _read_candidates(candidates) if candidates is not None else _grid(fit, grid)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ranked = rank_candidates(fit, table, question, cost_power=cost_power)
        batch, policy = None, f"the best score (reduction / cost ** {cost_power:g})"
        if in_order:
            rows = len(table)
            batch = batch_in_order(
                fit, table, question, order=range(rows), k=rows if k is None else k, budget=spend
            )
            policy = "the candidates in the file's order (--in-order)"
        elif spend is not None:
            most = k if k is not None else MAX_BUDGET_RUNS
            batch = budget_batch(fit, table, question, budget=spend, k=most)
            if batch is None:
                raise BayesScalingError(
                    f"no candidate fits in the budget: none costs at most --budget {spend:.3g}; "
                    "raise the budget or give cheaper candidates"
                )
            policy = f"budget knapsack (won by cost power {batch.attrs['cost_power']:g})"
        elif k is not None and k != 1:
            batch = choose_batch(fit, table, question, k=k, cost_power=cost_power)
            policy = f"greedy batch of {k} (reduction / cost ** {cost_power:g})"
    echo_warnings(caught, quiet=as_json)
    value = ranked["value"].values
    now: dict = {"kind": target, "compute": C, "width_now": ranked.attrs["width_now"]}
    if target == "optimal":
        now["N_opt"] = summarize(math.e**value, ci=ci)
        now["D_opt"] = summarize(ranked["D_opt"].values, ci=ci)
    else:
        now["value"] = summarize(value, ci=ci)
    now["ci"] = ci
    if loss_target is not None:
        now["loss_target"] = loss_target
    inputs = [c for c in ("N", "D", "C", "U") if c in ranked.coords]
    keys = ("score", "expected_width_after", "expected_variance_after", "ess")
    ranked_rows = [
        {**_row(ranked, i, [*inputs, "cost"]), **_row(ranked, i, keys)}
        for i in range(ranked.sizes["candidate"])
    ]
    if batch is None:
        chosen = ranked_rows[:1]
    else:
        names = [*inputs, "cost", "score", "expected_width_after", "cumulative_cost"]
        chosen = [_row(batch, i, names) for i in range(batch.sizes["pick"])]
    payload = {"law": fit.law.name, "target": now, "objective": objective, "chosen": chosen}
    payload["policy"] = policy
    payload["candidates"] = ranked_rows
    if as_json:
        print_json(payload)
        return
    _print_plan(payload, top)


def _print_plan(payload: dict, top: int) -> None:
    from rich.table import Table

    from bayes_scaling.presentation.formatting import flops, short

    now = payload["target"]
    shown = now.get("value") or now.get("N_opt")
    out.print(
        f"target: {now['kind']} at {flops(now['compute'])} FLOPs: median {shown['median']:.4g} "
        f"[{now['ci']:.0%} interval {shown['lower']:.4g} – {shown['upper']:.4g}], width "
        f"{now['width_now']:.4g}"
    )
    table = Table(
        title=f"candidate runs, best first (score: {payload['objective']} reduction/cost)"
    )
    for col in ("#", "N", "D", "C (FLOPs)", "score", "width after", "ESS"):
        table.add_column(col, justify="right")
    for i, row in enumerate(payload["candidates"][:top], 1):
        table.add_row(
            str(i),
            short(row.get("N", math.nan)),
            short(row.get("D", math.nan)),
            flops(row.get("C", math.nan)),
            f"{row['score']:.3g}",
            f"{row['expected_width_after']:.4g}",
            f"{row['ess']:.0f}",
        )
    out.print(table)
    picks = ", ".join(
        f"N={short(r.get('N', math.nan))} D={short(r.get('D', math.nan))}"
        for r in payload["chosen"]
    )
    out.print(f"train next: {picks}")
    if len(payload["chosen"]) > 1:
        widths = " -> ".join(f"{r['expected_width_after']:.4g}" for r in payload["chosen"])
        out.print(f"expected width after each ({payload['policy']}): {widths}")
