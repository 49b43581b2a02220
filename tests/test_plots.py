"""Every plot function renders headless (Agg), returns its Figure, and labels mu and y apart."""

from __future__ import annotations

import io
import types

import numpy as np
import pytest
from matplotlib.figure import Figure

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.laws import get_law
from bayes_scaling.presentation import plots
from bayes_scaling.presentation.plots import MU_LABEL, Y_LABEL

pytestmark = pytest.mark.model


def _texts(fig: Figure) -> str:
    """All legend labels, titles and the figure note of a figure, joined."""
    parts = [getattr(fig, "bayes_scaling_note", "")]
    for ax in fig.axes:
        parts.append(ax.get_title())
        parts.append(ax.get_xlabel())
        parts.append(ax.get_ylabel())
        if ax.get_legend():
            parts.extend(t.get_text() for t in ax.get_legend().get_texts())
    parts.extend(t.get_text() for legend in fig.legends for t in legend.get_texts())
    return "\n".join(parts)


def _renders(fig: Figure) -> bytes:
    assert isinstance(fig, Figure)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    data = buffer.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000
    return data


def test_loss_vs_compute_labels_mu_and_y_and_extrapolates(small_fit):
    c_max = 1e24
    fig = plots.plot_loss_vs_compute(small_fit, compute_max=c_max, compute=[1e23])
    _renders(fig)
    text = _texts(fig)
    assert MU_LABEL in text and Y_LABEL in text
    assert "observed runs" in text
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlim()[1] >= 0.9 * c_max  # extrapolated past the data
    assert small_fit.runs.column("C").max() < c_max


def test_isoflop_profiles_in_n_and_d(small_fit):
    for x in ("N", "D"):
        fig = plots.plot_isoflop_profiles(small_fit, x=x, compute=[1e20, 1e22])
        _renders(fig)
        text = _texts(fig)
        assert "1.0e22" in text and MU_LABEL in text and Y_LABEL in text
        assert fig.axes[0].get_xlabel().endswith(x)


def test_isoflop_profiles_reject_unknown_axis(small_fit):
    with pytest.raises(QuestionError, match="'N' or 'D'"):
        plots.plot_isoflop_profiles(small_fit, x="C")


def test_isoloss_draws_frontier_band_and_isoflop_lines(small_fit):
    fig = plots.plot_isoloss(small_fit, compute=[1e19, 1e21, 1e23], n=40)
    _renders(fig)
    text = _texts(fig)
    assert "compute-optimal frontier" in text and "90% interval" in text
    ax = fig.axes[0]
    dashed = [ln for ln in ax.get_lines() if ln.get_linestyle() == "--"]
    assert len(dashed) == 3  # one IsoFLOP line per budget
    # an IsoFLOP line satisfies C = k N D
    n, d = dashed[1].get_data()
    assert np.allclose(6 * np.asarray(n) * np.asarray(d), 1e21)


def test_parameters_mark_and_cite_published_values(small_fit):
    fig = plots.plot_parameters(small_fit)
    _renders(fig)
    text = _texts(fig)
    assert "Hoffmann 2022" in text and "Epoch AI 2024" in text
    assert "Besiroglu et al. 2024" in fig.bayes_scaling_note
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == len(small_fit.law.param_names)


def test_parameters_unknown_name(small_fit):
    with pytest.raises(QuestionError, match="unknown parameter"):
        plots.plot_parameters(small_fit, params=["gamma"])


def test_probability_curve_rises_with_compute(small_fit):
    l_min = float(small_fit.runs.column("loss").min())
    fig = plots.plot_probability(small_fit, target=l_min - 0.05, compute_max=1e25)
    _renders(fig)
    _, p = fig.axes[0].get_lines()[0].get_data()
    p = np.asarray(p)
    assert np.all(np.diff(p) >= -1e-12)
    assert p[0] < 0.5 < p[-1]


def test_probability_rejects_bad_target(small_fit):
    with pytest.raises(QuestionError, match="target"):
        plots.plot_probability(small_fit, target=-1)


def test_loss_quantiles_are_ordered(small_fit):
    fig = plots.plot_loss_quantiles(small_fit, target=2.0, compute=[1e22])
    _renders(fig)
    text = _texts(fig)
    assert MU_LABEL in text and Y_LABEL in text and "target 2" in text
    dashed = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == "--"]
    low, high = (np.asarray(ln.get_ydata()) for ln in dashed[:2])
    assert np.all(low < high)


def test_diagnostic_plots(small_fit):
    rank = plots.plot_rank(small_fit)
    _renders(rank)
    sampled = [p for p in small_fit.param_names if float(small_fit.posterior[p].std()) > 0]
    assert len([ax for ax in rank.axes if ax.get_visible()]) == len(sampled)
    energy = plots.plot_energy(small_fit)
    _renders(energy)
    assert "E-BFMI" in energy.axes[0].get_title()
    residuals = plots.plot_residuals(small_fit)
    _renders(residuals)
    assert "of runs fall inside" in residuals.bayes_scaling_note


def test_contours_refuse_a_law_without_n_and_d():
    fake = types.SimpleNamespace(law=get_law("power_law:C"))
    with pytest.raises(QuestionError, match="N, D"):
        plots.plot_isoloss(fake)


def test_runs_are_coloured_by_group():
    import pandas as pd

    from bayes_scaling.inputs.runs import load_runs
    from bayes_scaling.presentation.plots._common import new_figure, scatter_runs

    table = pd.DataFrame(
        {
            "N": [1e8, 2e8, 1e8, 2e8],
            "D": [1e9, 1e9, 2e9, 2e9],
            "loss": [3.0, 2.9, 2.95, 2.8],
            "group": ["a", "a", "b", "b"],
        }
    )
    fake = types.SimpleNamespace(runs=load_runs(table))
    fig, axes = new_figure()
    scatter_runs(axes[0, 0], fake, x="N")
    collections = axes[0, 0].collections
    assert [c.get_label() for c in collections] == ["runs: a", "runs: b"]
    colours = [tuple(c.get_facecolor()[0]) for c in collections]
    assert colours[0] != colours[1]


def test_calibration_figure_shows_curve_and_pit():
    import numpy as np

    from bayes_scaling.core.errors import QuestionError
    from bayes_scaling.evaluation.scores import score_draws
    from bayes_scaling.presentation.plots import plot_calibration

    rng = np.random.default_rng(0)
    centre = np.exp(rng.uniform(0.5, 1.5, size=60))
    draws = centre * np.exp(0.05 * rng.standard_normal((1000, 60)))
    observed = centre * np.exp(0.05 * rng.standard_normal(60))
    fig = plot_calibration(score_draws(draws, observed), title="calibrated")
    curve, hist = fig.axes[:2]
    x, y = curve.get_lines()[-1].get_data()
    assert len(x) == 10 and np.all(np.abs(np.asarray(y) - np.asarray(x)) < 0.25)
    assert sum(p.get_height() for p in hist.patches) == 60
    assert "60 held-out runs" in fig.bayes_scaling_note
    with pytest.raises(QuestionError, match="calibration"):
        plot_calibration({"coverage": {}})
