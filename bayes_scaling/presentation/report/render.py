"""Render a :class:`~bayes_scaling.presentation.report.build.Report` to one self-contained HTML
page.

Figures become base64 PNG ``data:`` URIs and the CSS is inline, so the page needs no network and
no other file.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pandas as pd

from bayes_scaling.presentation.report.pngs import figure_pngs

TEMPLATE = "template.html.j2"


def png_uri(png: bytes) -> str:
    """PNG bytes as a base64 ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def table_html(frame: pd.DataFrame, *, classes: str = "") -> str:
    """A DataFrame as an escaped HTML table without its index."""
    return frame.to_html(index=False, escape=True, border=0, classes=classes or None, na_rep="")


def headline_html(frame: pd.DataFrame) -> str:
    """A headline table: each ``X`` column shown bold with its ``X interval`` column beside it."""
    from markupsafe import escape

    columns = [c for c in frame.columns if not str(c).endswith(" interval")]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for _, row in frame.iterrows():
        cells = []
        for c in columns:
            interval = f"{c} interval"
            if interval in frame.columns:
                cells.append(
                    f'<td><b>{escape(row[c])}</b> <span class="int">{escape(row[interval])}'
                    "</span></td>"
                )
            else:
                cells.append(f"<td>{escape(row[c])}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table class="headline"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(body)
        + "</tbody></table>"
    )


def render_html(report: Any, *, dpi: int = 100) -> str:
    """The report (a :class:`~bayes_scaling.presentation.report.build.Report`, which calls this
    function; it is not imported here, so the two modules form no circle) as an HTML string."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    ahead = getattr(report, "draw_ahead", None)
    shown = list(report.figures.values())
    pngs = ahead.pngs(shown, dpi=dpi) if ahead is not None else figure_pngs(shown, dpi=dpi)
    figures = [
        {
            "title": title,
            "src": png_uri(png),
            "note": getattr(fig, "bayes_scaling_note", ""),
            "id": f"fig-{i}",
            "wide": fig.get_figwidth() > 7.5,
        }
        for i, ((title, fig), png) in enumerate(zip(report.figures.items(), pngs, strict=True))
    ]
    tables = {name: table_html(frame) for name, frame in report.tables.items()}
    headline = {name: headline_html(frame) for name, frame in report.headline.items()}
    gate = dict(report.gate)
    gate["checks_html"] = table_html(gate["checks"], classes="checks")
    return env.get_template(TEMPLATE).render(
        report=report,
        facts=report.facts,
        gate=gate,
        headline=headline,
        quality_line=" · ".join(
            f"{row.measure}: {row.value}" for row in report.tables["fit_quality"].itertuples()
        ),
        forecast_how=report.headline["forecast"].attrs.get("how", "")
        if "forecast" in report.headline
        else "",
        target_note=report.headline["target"].attrs.get("interval", "")
        if "target" in report.headline
        else "",
        tables=tables,
        figures=figures,
        notes=report.notes,
        ci=f"{report.ci:.0%}",
    )
