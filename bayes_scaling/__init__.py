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

from bayes_scaling import datasets
from bayes_scaling.budget import (
    CostModel,
    compute_at_probability,
    compute_for_target,
    prob_below_target,
    risk_optimal_allocation,
)
from bayes_scaling.constants import CI
from bayes_scaling.data import Runs, load_runs
from bayes_scaling.errors import BayesScalingError
from bayes_scaling.fit import ScalingFit, fit
from bayes_scaling.laws import Law, get_law, list_laws
from bayes_scaling.many import Job, fit_many
from bayes_scaling.model import prior_predictive
from bayes_scaling.optimal import frontier, optimal_allocation
from bayes_scaling.pooling import group_fit
from bayes_scaling.priors import Prior
from bayes_scaling.storage import load_fit as load
from bayes_scaling.summaries import interval_table

__all__ = [
    "CI",
    "BayesScalingError",
    "CostModel",
    "Job",
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
    "prior_predictive",
    "prob_below_target",
    "risk_optimal_allocation",
]
