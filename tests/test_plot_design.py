"""The which-run-next figure and its place in the report."""

from __future__ import annotations

import pytest

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.datasets import chinchilla_like


@pytest.fixture(scope="module")
def small_fit():
    from bayes_scaling.api import fit

    return fit(chinchilla_like(), draws=150, tune=200, chains=2, seed=2, discrepancy=None)


@pytest.mark.model
def test_design_figure_marks_the_chosen_runs(small_fit):
    from bayes_scaling.presentation.plots import plot_design

    fig = plot_design(small_fit, compute=1e24, k=2, n_per_budget=4)
    left, right = fig.axes[:2]
    labels = [text.get_text() for text in left.get_legend().get_texts()]
    assert "chosen (2)" in labels and "width now" in labels
    assert right.get_xscale() == "log" and len(right.lines) >= 2
    with pytest.raises(QuestionError, match="ci"):
        plot_design(small_fit, compute=1e24, ci=1.5)
    half = plot_design(small_fit, compute=1e24, k=2, n_per_budget=4, ci=0.5)
    assert "50%" in half.axes[0].get_ylabel()


@pytest.mark.model
def test_report_has_the_design_figure(small_fit):
    from bayes_scaling.presentation.report import build_report

    report = build_report(small_fit)
    assert "Which run next" in report.figures


@pytest.mark.model
def test_the_facade_ranks_runs_and_fills_a_budget(small_fit):
    from bayes_scaling.api import ScalingFit
    from bayes_scaling.questions.design_tools import isoflop_grid

    fit = ScalingFit.of(small_fit)
    grid = isoflop_grid(fit, [1e20, 1e21], 4)
    ranked = fit.rank_runs(grid, compute=1e24, seed=0)
    assert ranked.sizes["candidate"] == len(grid)
    batch = fit.runs_for_budget(grid, budget=2e21, compute=1e24)
    assert batch is not None and float(batch["cumulative_cost"].values[-1]) <= 2e21 * (1 + 1e-9)


@pytest.mark.model
def test_plan_spends_a_budget_as_a_knapsack(small_fit, tmp_path):
    import json

    from typer.testing import CliRunner

    from bayes_scaling.inference.storage import save_fit
    from bayes_scaling.presentation.cli import app

    path = tmp_path / "fit.nc"
    save_fit(small_fit, path)
    args = ["plan", str(path), "--grid", "1e19,1e20,1e21:4", "--target-compute", "1e24"]
    result = CliRunner().invoke(app, [*args, "--budget", "3e20", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["policy"].startswith("budget knapsack")
    assert payload["chosen"] and payload["chosen"][-1]["cumulative_cost"] <= 3e20 * (1 + 1e-9)
    poor = CliRunner().invoke(app, [*args, "--budget", "1e10"])
    assert poor.exit_code == 1 and "no candidate fits in the budget" in poor.output
    per_run = CliRunner().invoke(app, [*args, "--cost-power", "0", "--json"])
    assert "cost ** 0" in json.loads(per_run.stdout)["policy"]
