"""Print an HTML report to PDF with headless Chromium (when it is installed)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bayes_scaling.core.errors import BayesScalingError

#: Executable names tried in order.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


class ChromiumMissingError(BayesScalingError):
    """No Chromium or Chrome executable was found to print a PDF."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable on PATH, or None."""
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def print_pdf(html: str | Path, pdf: str | Path, *, timeout: float = 120.0) -> Path:
    """Print ``html`` to ``pdf`` with headless Chromium.

    Raises
    ------
    ChromiumMissingError
        When no Chromium is installed (install it, e.g. ``apt-get install chromium``).
    BayesScalingError
        When Chromium fails or writes no file.
    """
    html, pdf = Path(html).resolve(), Path(pdf).resolve()
    exe = find_chromium()
    if exe is None:
        raise ChromiumMissingError(
            f"cannot print {pdf.name}: no Chromium found on PATH (tried "
            f"{', '.join(CHROMIUM_NAMES)}); install it (e.g. apt-get install chromium) or open "
            f"{html} in a browser and print it to PDF"
        )
    args = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf}",
        html.as_uri(),
    ]
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise BayesScalingError(
            f"Chromium did not finish printing {pdf} in {timeout:g} s"
        ) from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise BayesScalingError(
            f"Chromium could not print {pdf} (exit {done.returncode}): {' / '.join(tail)}"
        )
    return pdf
