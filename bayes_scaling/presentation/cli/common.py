"""Shared pieces of the command line: the typer app, consoles, error handling, number parsing.

Exit codes: 0 success, 1 bad input or a failed job, 2 usage error (typer), 3 a failed
diagnostics gate under ``--strict``, 130 interrupted (Ctrl-C; nothing is written). Errors caused
by the user's input print one paragraph without a traceback; user text inside messages is
escaped, never read as markup.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from bayes_scaling.core.errors import BayesScalingError, DiagnosticsError

#: Exit code of a failed diagnostics gate under ``--strict``.
EXIT_GATE = 3
#: Exit code of an interrupted command (128 + SIGINT), which writes nothing.
EXIT_INTERRUPTED = 130

app = typer.Typer(
    name="bayes-scaling",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _version(value: bool) -> None:
    if value:
        from bayes_scaling.inference.storage import package_version

        out.print(f"bayes-scaling {package_version()}", markup=False)
        raise typer.Exit(0)


#: Help of the command line; the exit codes here and in the README are the same.
HELP = (
    "Fit neural scaling laws as Bayesian models and answer questions with credible intervals.\n\n"
    "Exit codes: 0 success; 1 bad input or a failed job; 2 usage error; "
    "3 failed diagnostics gate under --strict; 130 interrupted (nothing written)."
)


@app.callback(help=HELP)
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The command line's options before any command (see :data:`HELP`)."""


def handle_errors(command):
    """Turn user errors into a message and an exit code (1; 3 for a strict diagnostics failure)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DiagnosticsError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, soft_wrap=True)
            raise typer.Exit(EXIT_GATE) from None
        except BayesScalingError as e:
            err.print(f"[bold red]error:[/] {escape(str(e))}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err.print("interrupted: nothing was written", soft_wrap=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


def interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def quantities(name: str, values: list[str] | None, *, decimal: str = ".") -> list[float] | None:
    """Numbers given on the command line (``70M``, ``1.4T``, ``1e21``); None when none."""
    from bayes_scaling.inputs.quantities import parse_quantity

    if not values:
        return None
    parsed = []
    for v in values:
        try:
            parsed.append(parse_quantity(v, decimal=decimal, in_table=False))
        except ValueError as error:
            text = str(error)
            example = "" if "e.g." in text else " (e.g. 70B, 1.4e12)"
            raise BayesScalingError(f"--{name}: {text}{example}") from None
    return parsed


def output_folder(path: Path, option: str = "--output-dir", *, create: bool = True) -> Path:
    """Check (and with ``create``, make) the output folder ``path`` and its parents; a
    BayesScalingError naming ``option`` when it is a file, lies under a file or cannot be made.

    Commands check first and create the folder only when they write, so that a failed or
    interrupted command leaves no new folder behind.
    """
    import os

    if path.exists() and not path.is_dir():
        raise BayesScalingError(f"{path} is a file; {option} needs a folder (created if missing)")
    ancestor = next((p for p in (path, *path.parents) if p.exists()), Path("."))
    if not ancestor.is_dir():
        raise BayesScalingError(
            f"cannot create the folder {path} for {option}: {ancestor} is a file; choose another "
            "folder"
        )
    if not path.exists() and not os.access(ancestor, os.W_OK):
        raise BayesScalingError(
            f"cannot create the folder {path} for {option}: no permission to write in "
            f"{ancestor}; choose another folder"
        )
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise BayesScalingError(
            f"cannot create the folder {path} for {option} ({reason}); choose another folder"
        ) from None
    return path


def progress_of(status):
    """Sampling progress for a status line: a callable updating it, or False without a TTY."""
    if isinstance(status, null_status):
        return False
    return lambda text: status.update(f"sampling: {escape(text)}")


class null_status:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def echo_warnings(caught, quiet: bool) -> None:
    from bayes_scaling.inference.diagnostics import DiagnosticsWarning

    for w in caught:
        if issubclass(w.category, DiagnosticsWarning) or not quiet:
            if issubclass(w.category, (UserWarning, DiagnosticsWarning)):
                err.print(f"[yellow]warning:[/] {escape(str(w.message))}", markup=True)


def json_float(x) -> float | None:
    """A finite float, or None for NaN and infinities (JSON has no such literals)."""
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None


def jsonable(obj: Any) -> Any:
    """``obj`` with every non-finite number replaced by None (strict JSON), numpy made plain."""
    import numpy as np

    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return jsonable(obj.tolist())
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        return json_float(obj)
    return obj


def print_json(payload: Any) -> None:
    """Print ``payload`` as strict JSON (no NaN or Infinity literals: null instead)."""
    import json

    out.print_json(json.dumps(jsonable(payload), allow_nan=False))


# ------------------------------------------------------------------ fit settings from options
# The options that make a FitSettings, declared once and shared by every command that fits.
PriorOption = Annotated[
    list[str] | None, typer.Option(help="Prior override NAME=SPEC, e.g. alpha='Beta(2, 5)'.")
]
LikelihoodOption = Annotated[str, typer.Option(help="student_t or normal.")]
SeedOption = Annotated[
    int | None, typer.Option(help="Random seed, 0 to 2**63-1 (recorded in the file).")
]
DiscrepancyOption = Annotated[
    str,
    typer.Option(
        help="Extrapolation discrepancy of predictions: lfo (learned from the runs by "
        "leave-future-out) or none (parameter uncertainty and noise only)."
    ),
]
CENTERED_CHOICES: dict[str, Any] = {"auto": "auto", "centered": True, "noncentered": False}
DecimalOption = Annotated[
    str | None,
    typer.Option(
        help="Decimal mark of the table's numbers: '.' or ',' (default: detected; ',' for "
        "';'-separated files written with decimal commas)."
    ),
]


def fit_settings(
    *,
    prior: list[str] | None,
    likelihood: str,
    draws: int,
    tune: int,
    chains: int,
    seed: int | None,
    discrepancy: str,
    vary: str | None = None,
    centered: str = "auto",
    max_draws: int | None = None,
):
    """The :class:`FitSettings` of a command's options (validated before anything is fitted).

    ``max_draws``: None keeps the default, 0 turns the longer second run off."""
    from bayes_scaling.inference.settings import FitSettings
    from bayes_scaling.inputs.priors import parse_priors

    if discrepancy.lower() not in ("lfo", "none"):
        raise BayesScalingError(f"--discrepancy must be lfo or none, not {discrepancy!r}")
    if centered not in CENTERED_CHOICES:
        raise BayesScalingError(
            f"--centered must be one of {', '.join(CENTERED_CHOICES)}, not {centered!r}"
        )
    return FitSettings(
        priors=parse_priors(prior or []),
        likelihood=likelihood,
        draws=draws,
        tune=tune,
        chains=chains,
        seed=seed,
        discrepancy=None if discrepancy.lower() == "none" else "lfo",
        vary=vary or (),
        centered=CENTERED_CHOICES[centered],
        **({} if max_draws is None else {"max_draws": max_draws or None}),
    )


# ------------------------------------------------------------------ runs tables from options
# The options that read a runs table, declared once for every command that reads one.
RunsArgument = Annotated[
    Path, typer.Argument(help="Runs table: CSV, TSV, parquet or JSON records; - for stdin.")
]
LawOption = Annotated[str, typer.Option(help="Law name (see `laws`), name:INPUT, or TOML file.")]
NColOption = Annotated[str | None, typer.Option(help="Column holding N (parameters).")]
DColOption = Annotated[str | None, typer.Option(help="Column holding D (training tokens).")]
CColOption = Annotated[str | None, typer.Option(help="Column holding C (training FLOPs).")]
UColOption = Annotated[str | None, typer.Option(help="Column holding U (unique tokens).")]
LossColOption = Annotated[str | None, typer.Option(help="Column holding the loss.")]
FlopsPerTokenOption = Annotated[float, typer.Option(help="k in C = k N D.")]
DropInvalidOption = Annotated[bool, typer.Option(help="Drop runs with invalid values.")]
ColOption = Annotated[
    list[str] | None,
    typer.Option(
        "--col",
        help="Column of any input or of the target, NAME=COLUMN (repeatable), e.g. "
        "--col lr=learning_rate --col loss='smooth loss'.",
    ),
]
InputOption = Annotated[
    list[str] | None,
    typer.Option(
        "--input",
        help="Declare an input of --formula beyond N, D, C, U: NAME[:options] (repeatable); "
        "options scale (a scale axis), linear, nonnegative, real; e.g. --input lr "
        "--input data_size:scale.",
    ),
]
TargetOption = Annotated[
    str | None,
    typer.Option(
        "--target-name",
        help="Name of the --formula's target, NAME[:real] for a target that can be negative "
        "(fitted on its own scale), e.g. Lossu:real. Default: loss, positive.",
    ),
]


def column_map(fixed: dict[str, str | None], col: list[str] | None) -> dict[str, str]:
    """Explicit columns from the --x-col options and the repeatable --col NAME=COLUMN."""
    from bayes_scaling.core.errors import DataError

    columns = {k: v for k, v in fixed.items() if v}
    for text in col or []:
        name, sep, column = str(text).partition("=")
        name, column = name.strip(), column.strip()
        if not sep or not name or not column:
            raise DataError(f"--col {text!r}: write NAME=COLUMN, e.g. --col lr=learning_rate")
        if name in columns and columns[name] != column:
            raise DataError(f"--col {text!r}: {name} is already mapped to {columns[name]!r}")
        columns[name] = column
    return columns


def formula_law(formula: str, *, priors, inputs: list[str] | None, target: str | None):
    """The law of --formula with its declared --input and --target-name."""
    from bayes_scaling.inputs.declared import TargetSpec
    from bayes_scaling.inputs.laws import Law

    spec = None
    if target:
        name, _, support = target.partition(":")
        spec = TargetSpec(name=name.strip(), support=(support.strip() or "positive"))
    return Law.from_formula(formula, priors=priors, inputs=inputs or None, target=spec)


def read_runs(
    path: Path,
    *,
    columns: dict[str, str | None],
    flops_per_token: float,
    drop_invalid: bool,
    decimal: str | None,
    quiet: bool,
    law=None,
):
    """The runs of a command's table options (unset columns are matched by their aliases);
    the law's declared inputs and target are read too; the reader's warnings are printed
    unless ``quiet``."""
    import warnings

    from bayes_scaling.inputs.runs import load_runs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = load_runs(
            path,
            columns={k: v for k, v in columns.items() if v},
            flops_per_token=flops_per_token,
            drop_invalid=drop_invalid,
            decimal=decimal,
            schema=None if law is None else law.schema,
        )
    echo_warnings(caught, quiet)
    return table
