"""Shareable report of a fit: headline answers first, then evidence, as one HTML file.

The report is data first (:class:`Report`, built by :func:`build_report`: tables and figures)
and HTML second (:meth:`Report.to_html`, a single self-contained page). :func:`print_pdf` prints
the HTML to PDF with headless Chromium when it is installed.
"""

from __future__ import annotations

from bayes_scaling.presentation.report.build import (
    Report,
    build_report,
    default_compute,
    default_target,
)
from bayes_scaling.presentation.report.pdf import find_chromium, print_pdf

__all__ = [
    "Report",
    "build_report",
    "default_compute",
    "default_target",
    "find_chromium",
    "print_pdf",
]
