"""Shared pieces of the command line: the typer app, consoles, error handling, number parsing.

Errors caused by the user's input print one paragraph without a traceback and exit 1; a failed
diagnostics gate under ``--strict`` exits 2.
"""

from __future__ import annotations

import functools
import sys

import typer
from rich.console import Console

from bayes_scaling.core.errors import BayesScalingError, DiagnosticsError

app = typer.Typer(
    name="bayes-scaling",
    help="Fit neural scaling laws as Bayesian models and answer questions with credible intervals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def handle_errors(command):
    """Turn user errors into a message and an exit code (1; 2 for a strict diagnostics failure)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except DiagnosticsError as e:
            err.print(f"[bold red]error:[/] {e}", markup=True, soft_wrap=True)
            raise typer.Exit(2) from None
        except BayesScalingError as e:
            err.print(f"[bold red]error:[/] {e}", markup=True, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def interactive(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()


def quantities(name: str, values: list[str] | None) -> list[float] | None:
    from bayes_scaling.inputs.runs import parse_quantity

    if not values:
        return None
    parsed = []
    for v in values:
        try:
            parsed.append(parse_quantity(v))
        except ValueError:
            raise BayesScalingError(f"--{name} {v!r} is not a number (e.g. 70B, 1.4e12)") from None
    return parsed


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
                err.print(f"[yellow]warning:[/] {w.message}", markup=True)


def json_float(x) -> float | None:
    x = float(x)
    return x if x == x and abs(x) != float("inf") else None
