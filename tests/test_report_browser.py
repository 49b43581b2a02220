"""A real browser opens the report: no console errors, no network, every image decodes."""

from __future__ import annotations

import shutil

import pytest
from typer.testing import CliRunner

from bayes_scaling.presentation.cli import app

pytestmark = pytest.mark.model

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_file(small_fit, tmp_path_factory):
    """``bayes-scaling report`` run on the small fit (the command's happy path)."""
    folder = tmp_path_factory.mktemp("browser")
    fit_file = small_fit.save(folder / "fit.nc")
    html = folder / "report.html"
    result = CliRunner().invoke(
        app, ["report", str(fit_file), "-o", str(html), "--compute", "1e22", "--compute", "1e23"]
    )
    assert result.exit_code == 0, result.output
    assert "report written to" in result.output
    return html


def test_report_loads_cleanly_in_headless_chromium(report_file):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (the CI script installs it with apt)")
    sync_api = pytest.importorskip("playwright.sync_api")
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--no-first-run"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report_file.resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
        )
        gate_visible = page.locator("#gate").is_visible()
        headline_top = page.locator("#headline").bounding_box()["y"]
        answers = [page.locator(f"#answer-{k}").inner_text() for k in ("forecast", "target")]
        browser.close()
    assert errors == []
    external = [u for u in requests if not u.startswith(("file://", "data:"))]
    assert external == []
    assert [u for u in requests if u.startswith("file://")] == [report_file.resolve().as_uri()]
    assert len(images) >= 4
    assert all(complete and w > 0 and h > 0 for complete, w, h in images)
    assert gate_visible and headline_top < 800  # the answers start on the first screen
    assert "FLOPs" in answers[0] and "[" in answers[0]
    assert "50%" in answers[1] and "90%" in answers[1]


def test_report_prints_to_pdf(report_file, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (the CI script installs it with apt)")
    from bayes_scaling.presentation.report import print_pdf

    pdf = print_pdf(report_file, tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 50_000  # the figures made it into the PDF
