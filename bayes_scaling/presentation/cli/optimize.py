"""Settings of a law's inputs on the command line: the ``optimize`` command (best setting of
some inputs, the others fixed), the parsing of ``--over NAME=LOW:HIGH``, ``--at NAME=VALUE`` and
``--points FILE``, and the table of points that ``predict`` (and ``demo``) print."""

from __future__ import annotations

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


def _name_value(option: str, text: str) -> tuple[str, str]:
    name, sep, value = str(text).partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not name or not value:
        example = "lr=1e-5:1e-1" if option == "over" else "N=7B"
        raise BayesScalingError(f"--{option} {text!r}: write NAME=VALUE, e.g. --{option} {example}")
    return name, value


def fixed_values(texts: list[str] | None) -> dict[str, float]:
    """``--at NAME=VALUE`` options (values with unit suffixes, ``7B``) as a mapping."""
    values: dict[str, float] = {}
    for text in texts or []:
        name, value = _name_value("at", text)
        if name in values:
            raise BayesScalingError(f"--at {name} was given twice; give it once")
        values[name] = quantities(f"at {name}", [value])[0]
    return values


def search_bounds(texts: list[str]) -> dict[str, tuple[float, float]]:
    """``--over NAME=LOW:HIGH`` options as a mapping of (low, high) bounds."""
    bounds: dict[str, tuple[float, float]] = {}
    for text in texts:
        name, value = _name_value("over", text)
        low, sep, high = value.partition(":")
        if not sep or not low.strip() or not high.strip():
            raise BayesScalingError(
                f"--over {text!r}: write NAME=LOW:HIGH, e.g. --over lr=1e-5:1e-1"
            )
        if name in bounds:
            raise BayesScalingError(f"--over {name} was given twice; give it once")
        lo, hi = quantities(f"over {name}", [low.strip(), high.strip()])
        bounds[name] = (lo, hi)
    return bounds


def read_points(path: Path, law) -> dict:
    """The ``--points`` table: one row per point, a column per input of ``law``, as numbers.

    A column that is not an input of the law, or an empty or non-numeric cell, is an error
    naming the file and the column.
    """
    from bayes_scaling.core.errors import DataError
    from bayes_scaling.inputs.quantities import to_numbers
    from bayes_scaling.inputs.readers import read_table

    table, source = read_table(path)
    takes = set(law.inputs) | {"N", "D", "C"} | ({"U"} if "U" in law.inputs else set())
    unknown = [str(c) for c in table.columns if str(c) not in takes]
    if unknown:
        raise DataError(
            f"--points {source}: column {unknown[0]!r} is not an input of law {law.name!r}, "
            f"which takes {', '.join(law.inputs)}; drop or rename the column"
        )
    if len(table) == 0:
        raise DataError(f"--points {source} has no rows; give one row per point")
    points = {}
    for col in table.columns:
        numbers, empty = to_numbers(table[col], str(col), str(col), source, decimal=".")
        if empty:
            row = min(empty) + 1
            raise DataError(f"--points {source}: column {col!r} is empty at row {row}; fill it")
        points[str(col)] = numbers
    return points


def point_rows(ds, *, ci: float) -> tuple[list[str], list[dict]]:
    """Input names and one JSON-able row per prediction point (mu and y intervals)."""
    bounds = ds.scaling.interval(ci=ci)
    given = [k for k, v in ds.coords.items() if v.dims == ("point",)]
    inputs = [k for k in ("N", "D", "C", "U") if k in given] + [
        k for k in given if k not in ("N", "D", "C", "U")
    ]
    points = []
    for i in range(ds.sizes["point"]):
        row = {"inputs": {k: float(ds[k][i]) for k in inputs}}
        for var in ("mu", "y"):
            row[var] = {s: float(bounds[f"{var}_{s}"][i]) for s in ("median", "lower", "upper")}
        points.append(row)
    return inputs, points


def print_points(points, inputs, ci, *, target: str = "loss") -> None:
    from rich.markup import escape
    from rich.table import Table

    from bayes_scaling.presentation.formatting import quantity

    table = Table(
        title=escape(
            f"{target} forecast ({ci:.0%} intervals; mu = expected {target} on the "
            f"law's curve, y = a new run's observed {target})"
        )
    )
    for k in inputs:
        table.add_column(escape(k), justify="right")
    table.add_column("mu median", justify="right")
    table.add_column("mu interval", justify="right")
    table.add_column("y interval", justify="right")
    for p in points:
        mu, y = p["mu"], p["y"]
        table.add_row(
            *[quantity(k, p["inputs"][k]) for k in inputs],
            f"{mu['median']:.4f}",
            f"{mu['lower']:.4f} – {mu['upper']:.4f}",
            f"{y['lower']:.4f} – {y['upper']:.4f}",
        )
    out.print(table)


@app.command("optimize")
@handle_errors
def optimize_command(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    over: Annotated[
        list[str],
        typer.Option(help="Input to optimise and its bounds, NAME=LOW:HIGH (repeatable, <= 3)."),
    ],
    at: Annotated[
        list[str] | None,
        typer.Option(help="Value of another input, NAME=VALUE (repeatable), e.g. N=7B."),
    ] = None,
    risk: Annotated[
        str, typer.Option(help="Risk measure the decision minimises: mean, var or cvar.")
    ] = "mean",
    level: Annotated[float, typer.Option(help="Level of var / cvar.")] = 0.9,
    group: Annotated[
        str | None, typer.Option(help="Group of a pooled fit (default: a new, unseen group).")
    ] = None,
    ci: Annotated[float, typer.Option(help="Probability of the central interval.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Best setting of some inputs (learning rate, batch size, ...) with the others fixed.

    Prints the decision (one setting minimising the risk measure of the expected target over
    the posterior), the interval of each draw's own optimum, and the expected target there.
    """
    import warnings

    from bayes_scaling.core.intervals import check_ci, summarize
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.questions.optimize import optimize

    check_ci(ci)
    bounds, fixed = search_bounds(over), fixed_values(at)
    result = load_fit(fit_file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = optimize(result, over=bounds, at=fixed, risk=risk, level=level, group=group)
    echo_warnings(caught, quiet=False)

    def interval(values) -> dict:
        iv = summarize(values, ci=ci)
        return {k: iv[k] for k in ("median", "lower", "upper")}

    payload = {
        "law": result.law.name,
        "target": result.law.target.name,
        "direction": result.law.direction,
        "at": fixed,
        "bounds": {k: list(v) for k, v in bounds.items()},
        "decision": {k: float(ds[f"{k}_decision"]) for k in bounds},
        "argmin": {k: interval(ds[f"{k}_argmin"].values) for k in bounds},
        "loss": interval(ds["loss"].values),
        "loss_min": interval(ds["loss_min"].values),
        "risk_value": float(ds["risk_value"]),
        "ci": ci,
        "risk": risk,
        "level": level,
        "at_bound": ds.attrs["at_bound"],
    }
    if as_json:
        print_json(payload)
        return
    _print_optimum(result.law, payload)


def _print_optimum(law, payload: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    from bayes_scaling.presentation.formatting import quantity

    at = ", ".join(f"{k} = {quantity(k, v)}" for k, v in payload["at"].items()) or "nothing"
    target = payload["target"]
    table = Table(
        title=f"best setting at {at} ({payload['risk']}-optimal decision; "
        f"{payload['ci']:.0%} intervals of each draw's own optimum)"
    )
    for col in ("input", "decision", "per-draw optimum", "interval", "at a bound"):
        table.add_column(col, justify="left" if col == "input" else "right")
    for k, value in payload["decision"].items():
        iv = payload["argmin"][k]
        table.add_row(
            escape(law.input_spec(k).label),
            f"{value:.4g}",
            f"{iv['median']:.4g}",
            f"{iv['lower']:.4g} – {iv['upper']:.4g}",
            f"{payload['at_bound'][k]:.0%}",
        )
    out.print(table)
    loss = payload["loss"]
    out.print(
        f"expected {target} at the decision: {loss['median']:.4f} "
        f"[{loss['lower']:.4f} – {loss['upper']:.4f}]",
        markup=False,
    )
