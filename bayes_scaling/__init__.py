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

from typing import TYPE_CHECKING

#: Where each public name lives; imported on first use, so that ``import bayes_scaling`` (and so
#: every CLI start) stays fast and loads PyMC, pandas or matplotlib only when a name needs them.
_LAZY = {
    "BayesScalingError": "bayes_scaling.core.errors",
    "CI": "bayes_scaling.core.constants",
    "CostModel": "bayes_scaling.questions.budget",
    "DesignQuestion": "bayes_scaling.questions.design",
    "FitRecord": "bayes_scaling.inference.record",
    "FitSettings": "bayes_scaling.inference.settings",
    "Job": "bayes_scaling.evaluation.many",
    "Law": "bayes_scaling.inputs.laws",
    "Prior": "bayes_scaling.inputs.priors",
    "Runs": "bayes_scaling.inputs.runs",
    "ScalingFit": "bayes_scaling.api",
    "compute_at_probability": "bayes_scaling.questions.budget",
    "compute_for_target": "bayes_scaling.questions.budget",
    "datasets": "bayes_scaling.inputs",
    "fit": "bayes_scaling.api",
    "fit_many": "bayes_scaling.evaluation.many",
    "frontier": "bayes_scaling.questions.optimal",
    "get_law": "bayes_scaling.inputs.laws",
    "group_fit": "bayes_scaling.questions.draws",
    "interval_table": "bayes_scaling.presentation.summaries",
    "list_laws": "bayes_scaling.inputs.laws",
    "load": "bayes_scaling.api",
    "load_runs": "bayes_scaling.inputs.runs",
    "optimal_allocation": "bayes_scaling.questions.optimal",
    "optimize": "bayes_scaling.questions.optimize",
    "prior_predictive": "bayes_scaling.model.graph",
    "prob_below_target": "bayes_scaling.questions.budget",
    "risk_optimal_allocation": "bayes_scaling.questions.budget",
    "plots": "bayes_scaling.presentation",
    "report": "bayes_scaling.presentation",
}

if TYPE_CHECKING:  # for type checkers and IDEs; at run time see __getattr__
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
    from bayes_scaling.presentation import plots, report
    from bayes_scaling.presentation.summaries import interval_table
    from bayes_scaling.questions.budget import (
        CostModel,
        compute_at_probability,
        compute_for_target,
        prob_below_target,
        risk_optimal_allocation,
    )
    from bayes_scaling.questions.design import DesignQuestion
    from bayes_scaling.questions.draws import group_fit
    from bayes_scaling.questions.optimal import frontier, optimal_allocation
    from bayes_scaling.questions.optimize import optimize

__all__ = [
    "CI",
    "BayesScalingError",
    "CostModel",
    "DesignQuestion",
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
    "optimize",
    "plots",
    "prior_predictive",
    "prob_below_target",
    "report",
    "risk_optimal_allocation",
]


def __getattr__(name: str):
    """A public name, imported from its layer on first use (see :data:`_LAZY`)."""
    if name not in _LAZY:
        raise AttributeError(f"module 'bayes_scaling' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(_LAZY[name])
    try:
        value = getattr(module, name)
    except AttributeError:  # a sub-module (datasets, plots, report)
        value = importlib.import_module(f"{_LAZY[name]}.{name}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
