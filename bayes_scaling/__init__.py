"""bayes-scaling: neural scaling laws as Bayesian models.

Fit a law to a table of training runs with NUTS, then ask the posterior for extrapolated loss,
compute-optimal allocations and budgets, each with a credible interval.

Examples
--------
>>> import bayes_scaling as bs
>>> runs = bs.datasets.chinchilla_like()
>>> result = bs.fit(runs, law="chinchilla", seed=1)  # doctest: +SKIP
>>> result.predict(N=70e9, D=1.4e12).scaling.summary()  # doctest: +SKIP
"""

from __future__ import annotations

from bayes_scaling.api import ScalingFit, fit, load
from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.evaluation.many import Job, fit_many
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs import datasets
from bayes_scaling.inputs.laws import Law, get_law, list_laws
from bayes_scaling.inputs.priors import Prior
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model.graph import prior_predictive
from bayes_scaling.presentation.summaries import interval_table
from bayes_scaling.questions.budget import (
    CostModel,
    compute_at_probability,
    compute_for_target,
    prob_below_target,
    risk_optimal_allocation,
)
from bayes_scaling.questions.draws import group_fit
from bayes_scaling.questions.optimal import frontier, optimal_allocation

__all__ = [
    "CI",
    "BayesScalingError",
    "CostModel",
    "Job",
    "FitRecord",
    "FitSettings",
    "Law",
    "Prior",
    "Runs",
    "ScalingFit",
    "compute_at_probability",
    "compute_for_target",
    "datasets",
    "fit",
    "fit_many",
    "frontier",
    "get_law",
    "group_fit",
    "interval_table",
    "list_laws",
    "load",
    "load_runs",
    "optimal_allocation",
    "plots",
    "prior_predictive",
    "prob_below_target",
    "report",
    "risk_optimal_allocation",
]


def __getattr__(name: str):
    """``bs.plots`` and ``bs.report``, imported on first use (matplotlib is slow to import)."""
    if name in ("plots", "report"):
        import importlib

        return importlib.import_module(f"bayes_scaling.presentation.{name}")
    raise AttributeError(f"module 'bayes_scaling' has no attribute {name!r}")
