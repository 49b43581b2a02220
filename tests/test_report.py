"""The report: data first (Report object), one self-contained HTML page, CLI, failing gate."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_scaling.inference.diagnostics import Diagnostics
from bayes_scaling.presentation.cli import app
from bayes_scaling.presentation.report import build, build_report, default_compute, default_target

pytestmark = pytest.mark.model


def _passing(fit):
    """The fit with a passing diagnostics gate (the tiny test fit has too few draws to pass)."""
    d = fit.diagnostics
    ok = Diagnostics(
        max_r_hat=1.002,
        min_ess_bulk=900.0,
        min_ess_tail=800.0,
        divergences=0,
        min_bfmi=0.9,
        thresholds=d.thresholds,
    )
    return dataclasses.replace(fit, diagnostics=ok)


def _failing(fit):
    bad = Diagnostics(
        max_r_hat=1.2,
        min_ess_bulk=35.0,
        min_ess_tail=20.0,
        divergences=7,
        min_bfmi=0.9,
        thresholds=fit.diagnostics.thresholds,
    )
    return dataclasses.replace(fit, diagnostics=bad)


@pytest.fixture(scope="module")
def report(small_fit):
    return build_report(
        _passing(small_fit),
        compute=[1e22, 1e23],
        target_loss=2.1,
        command="bayes-scaling report fit.nc -o report.html",
    )


@pytest.fixture(scope="module")
def html(report):
    return report.to_html(dpi=50)


def test_report_is_data_first(report):
    assert set(report.headline) == {"forecast", "allocation", "target"}
    assert all(isinstance(t, pd.DataFrame) for t in report.tables.values())
    assert set(report.tables) == {"parameters", "fit_quality", "priors", "data"}
    assert len(report.figures) >= 4
    assert report.ci == 0.90 and report.compute == [1e22, 1e23] and report.target == 2.1
    forecast = report.headline["forecast"]
    assert len(forecast) == 2 and "expected loss (law) interval" in forecast
    assert "predicted run loss interval" in forecast
    target = report.headline["target"]
    assert list(target["probability"]) == ["50%", "90%"]
    assert "interval" in target.attrs["interval"]


def test_intervals_bracket_medians(report):
    for _, row in report.headline["forecast"].iterrows():
        lo, hi = (float(v) for v in row["expected loss (law) interval"].strip("[]").split(","))
        assert lo <= float(row["expected loss (law)"]) <= hi
        y_lo, y_hi = (float(v) for v in row["predicted run loss interval"].strip("[]").split(","))
        assert y_hi - y_lo >= hi - lo  # a new run's loss is more uncertain than the curve


def test_target_compute_grows_with_probability(small_fit):
    from bayes_scaling.questions.budget import compute_at_probability

    table = build.target_table(small_fit, 2.1, ci=0.9)
    exact = compute_at_probability(small_fit, target=2.1, probability=[0.5, 0.9])
    c50, c90 = (float(v) for v in exact["compute"].values)
    assert c50 < c90
    assert table["compute"][0].startswith(f"{c50:.2e}".replace("e+", "e")[:4])


def test_fit_quality_has_r2_rmse_and_loo(report):
    quality = report.tables["fit_quality"].set_index("measure")
    assert 0.9 < float(quality.loc["R² on log-loss", "value"]) <= 1
    assert 0 < float(quality.loc["RMSE on log-loss", "value"]) < 0.05
    assert "elpd_loo" in quality.index


def test_defaults(small_fit):
    compute = default_compute(small_fit)
    top = small_fit.runs.column("C").max()
    assert compute == pytest.approx([10 * top, 100 * top])
    target = default_target(small_fit)
    e_med = float(small_fit.posterior["E"].median())
    assert e_med < target < small_fit.runs.column("loss").min()


def test_html_is_self_contained(html, report):
    assert html.lstrip().startswith("<!DOCTYPE html>")
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith(("data:image/png;base64,", "#")) for s in sources)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count("<img ") >= len(report.figures) >= 4


def test_first_screen_answers_the_three_questions(html):
    first = html[: html.index('id="parameters"')]
    assert 'id="gate" data-ok="true"' in first
    for answer in ("answer-forecast", "answer-allocation", "answer-target"):
        assert f'id="{answer}"' in first
    assert first.count('class="int"') >= 6  # every headline number carries an interval
    assert "Expected loss (law)" in first and "predicted run loss" in first


def test_failed_gate_is_on_the_first_screen(small_fit, monkeypatch):
    monkeypatch.setattr(build, "make_figures", lambda fit, **kw: ({}, {}))
    page = build_report(_failing(small_fit), compute=[1e22]).to_html()
    first = page[: page.index('id="parameters"')]
    assert 'data-ok="false"' in first and "FAILED" in first
    assert "max R-hat" in first and "divergences" in first
    assert "do not rely" in first


def test_save_refuses_to_overwrite(report, tmp_path):
    from bayes_scaling.core.errors import FitFileError

    target = tmp_path / "r.html"
    target.write_text("keep me")
    with pytest.raises(FitFileError, match="--force"):
        report.save(target)
    assert target.read_text() == "keep me"


def test_cli_refuses_overwrite_and_missing_chromium(small_fit, tmp_path, monkeypatch):
    runner = CliRunner()
    fit_file = small_fit.save(tmp_path / "fit.nc")
    existing = tmp_path / "report.html"
    existing.write_text("keep me")
    result = runner.invoke(app, ["report", str(fit_file), "-o", str(existing)])
    assert result.exit_code == 1 and "--force" in result.output
    assert existing.read_text() == "keep me"
    monkeypatch.setattr("bayes_scaling.presentation.report.pdf.find_chromium", lambda: None)
    result = runner.invoke(
        app, ["report", str(fit_file), "-o", str(tmp_path / "new.html"), "--pdf"]
    )
    assert result.exit_code == 1 and "Chromium" in result.output
    assert not (tmp_path / "new.html").exists()


def test_higher_is_better_law_degrades_to_notes(small_fit, monkeypatch):
    monkeypatch.setattr(build, "make_figures", lambda fit, **kw: ({}, {}))
    higher = dataclasses.replace(small_fit.law, direction="higher")
    fit = dataclasses.replace(_passing(small_fit), law=higher)
    assert default_target(fit) is None
    report = build_report(fit)
    assert set(report.headline) == set()
    assert {"forecast", "allocation", "target"} <= set(report.notes)
    page = report.to_html()
    for answer in ("forecast", "allocation", "target"):
        assert f'id="answer-{answer}"' in page
    assert page.count("Not available") == 3


def test_report_shows_the_fits_own_leave_future_out_calibration(report, small_fit):
    check = small_fit.info["discrepancy"]["lfo_check"]
    n_test = small_fit.info["discrepancy"]["n_inner_test"]
    assert len(check["pit"]) == n_test and all(0 <= v <= 1 for v in check["pit"])
    assert set(check["calibration"]) == {
        "0.1",
        "0.2",
        "0.3",
        "0.4",
        "0.5",
        "0.6",
        "0.7",
        "0.8",
        "0.9",
        "0.95",
    }
    assert "Calibration on the fit's own held-out runs" in report.figures
