"""Render the demo report and save a screenshot of its first screen to docs/report_first_screen.png.

Usage: ``python scripts/screenshot_report.py [REPORT.html]``. Without an argument it fits the
built-in Chinchilla-like data set (as ``bayes-scaling demo`` does), writes the report to a
temporary folder, and photographs it with headless Chromium (playwright + the system Chromium).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "report_first_screen.png"
VIEWPORT = {"width": 1280, "height": 800}


def demo_report(folder: Path) -> Path:
    """Fit the demo data (seed 1) and write its report into ``folder``."""
    import bayes_scaling as bs
    from bayes_scaling.presentation.report import build_report

    fit = bs.fit(bs.datasets.chinchilla_like(seed=1), law="chinchilla", seed=1)
    report = build_report(fit, command="bayes-scaling demo", source="fit.nc")
    return report.save(folder / "report.html", force=True)


def screenshot(html: Path, png: Path) -> Path:
    """Open ``html`` in headless Chromium and save the first screen (viewport) as PNG."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        page.goto(html.resolve().as_uri())
        page.wait_for_load_state("load")
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png))
        browser.close()
    return png


def main(argv: list[str]) -> None:
    if argv:
        html = Path(argv[0])
        print(screenshot(html, OUTPUT))
        return
    with tempfile.TemporaryDirectory() as tmp:
        html = demo_report(Path(tmp))
        print(screenshot(html, OUTPUT))


if __name__ == "__main__":
    main(sys.argv[1:])
