"""The ``report`` command: one self-contained HTML file (optionally a PDF) from a saved fit."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bayes_scaling.core.constants import CI
from bayes_scaling.presentation.cli.common import (
    app,
    err,
    handle_errors,
    interactive,
    null_status,
    out,
)


def _command_line() -> str:
    """The command line as typed (program name shortened to ``bayes-scaling``)."""
    return shlex.join(["bayes-scaling", *sys.argv[1:]])


@app.command()
@handle_errors
def report(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="HTML file to write.")] = Path(
        "report.html"
    ),
    target_loss: Annotated[
        float | None,
        typer.Option(help="Target loss (default: a quarter of the way from the best run to E)."),
    ] = None,
    compute: Annotated[
        list[str] | None,
        typer.Option(help="Forecast budget in FLOPs, repeatable (default: 10x, 100x the data)."),
    ] = None,
    ci: Annotated[float, typer.Option(help="Probability of every interval.")] = CI,
    pdf: Annotated[bool, typer.Option(help="Also print a PDF next to the HTML (Chromium).")] = (
        False
    ),
    force: Annotated[bool, typer.Option(help="Overwrite existing output files.")] = False,
    quiet: Annotated[bool, typer.Option(help="Print nothing but errors.")] = False,
) -> None:
    """Write a shareable HTML report of a fit: headline answers, diagnostics, figures, data."""
    from bayes_scaling.inference.storage import check_output, load_fit
    from bayes_scaling.presentation.cli.common import quantities
    from bayes_scaling.presentation.report import build_report, print_pdf
    from bayes_scaling.presentation.report.build import HTML_DPI
    from bayes_scaling.presentation.report.pdf import (
        CHROMIUM_NAMES,
        ChromiumMissingError,
        find_chromium,
    )

    check_output(output, force=force, example="report.html")
    pdf_path = output.with_suffix(".pdf")
    if pdf:
        check_output(pdf_path, force=force, example="report.pdf")
        if find_chromium() is None:
            raise ChromiumMissingError(
                "--pdf needs headless Chromium, which is not installed (tried "
                f"{', '.join(CHROMIUM_NAMES)} on PATH); install it (e.g. apt-get install "
                "chromium) or drop --pdf and print the HTML from a browser"
            )
    result = load_fit(fit_file)
    status = err.status("building the report...") if interactive(quiet) else null_status()
    with status:
        built = build_report(
            result,
            compute=quantities("compute", compute),
            target_loss=target_loss,
            ci=ci,
            command=_command_line(),
            source=str(fit_file),
            draw_ahead=HTML_DPI,
        )
        path = built.save(output, force=force)
    if not built.gate["ok"]:
        err.print(f"[yellow]warning:[/] {escape(built.gate['message'])}", markup=True)
    if not quiet:
        out.print(f"report written to {path} ({len(built.figures)} figures)", markup=False)
    if pdf:
        printed = print_pdf(path, pdf_path)
        if not quiet:
            out.print(f"PDF written to {printed}", markup=False)


def write_demo_report(result, path: Path) -> Path:
    """The demo's report next to its fit file (the demo checked the name before fitting)."""
    from bayes_scaling.presentation.report import build_report
    from bayes_scaling.presentation.report.build import HTML_DPI

    built = build_report(
        result,
        command=_command_line(),
        source=str(path.with_name("fit.nc")),
        draw_ahead=HTML_DPI,
    )
    return built.save(path, force=True)
