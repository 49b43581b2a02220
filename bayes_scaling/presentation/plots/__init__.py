"""Figures of a fit. Every function takes the fit, keyword-only options, and returns the Figure.

Figures are built with :class:`matplotlib.figure.Figure` directly (no pyplot state), so they work
headless and never leak. The law's curve ``mu`` is labelled "expected loss (law)" and a new run's
observed loss ``y`` "predicted run loss" everywhere.

=========================  ===========================================================
:func:`plot_loss_vs_compute`  data, compute-optimal frontier and fixed-N curves vs C
:func:`plot_isoflop_profiles` IsoFLOP profiles: loss vs N or D at fixed compute
:func:`plot_isoloss`          iso-loss contours in (N, D), frontier and its band, IsoFLOPs
:func:`plot_parameters`       parameter posteriors with published reference values
:func:`plot_probability`      P(loss <= target) vs compute
:func:`plot_loss_quantiles`   loss quantiles vs compute
:func:`plot_rank`             rank histograms per chain
:func:`plot_energy`           energy / E-BFMI
:func:`plot_residuals`        posterior predictive check of residuals
:func:`plot_calibration`      calibration curve and PIT histogram of held-out runs
:func:`plot_response`         the target along one input (lr, batch size, ...) at fixed others
:func:`plot_design`           which run next: candidates' expected forecast width after them
=========================  ===========================================================
"""

from __future__ import annotations

from bayes_scaling.presentation.plots._common import MU_LABEL, Y_LABEL
from bayes_scaling.presentation.plots.budget import plot_loss_quantiles, plot_probability
from bayes_scaling.presentation.plots.calibration import plot_calibration
from bayes_scaling.presentation.plots.contours import plot_isoloss
from bayes_scaling.presentation.plots.curves import plot_isoflop_profiles, plot_loss_vs_compute
from bayes_scaling.presentation.plots.design import plot_design
from bayes_scaling.presentation.plots.diagnostics import plot_energy, plot_rank, plot_residuals
from bayes_scaling.presentation.plots.parameters import plot_parameters
from bayes_scaling.presentation.plots.response import plot_response

__all__ = [
    "MU_LABEL",
    "Y_LABEL",
    "plot_calibration",
    "plot_design",
    "plot_energy",
    "plot_isoflop_profiles",
    "plot_isoloss",
    "plot_loss_quantiles",
    "plot_loss_vs_compute",
    "plot_parameters",
    "plot_response",
    "plot_probability",
    "plot_rank",
    "plot_residuals",
]
