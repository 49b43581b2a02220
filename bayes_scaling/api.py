"""The user-facing facade: :func:`fit`, :func:`load` and :class:`ScalingFit`'s conveniences.

``ScalingFit`` is the fit record (:class:`~bayes_scaling.inference.record.FitRecord`) with
methods that forward to the question functions (``fit.predict(...)`` is
:func:`bayes_scaling.questions.predict.predict` of the record). Nothing inside the package imports
this module: internally every function takes the plain record, so the facade can never create an
import cycle.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import CI
from bayes_scaling.evaluation import fitting
from bayes_scaling.inference import storage
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.presentation.summaries import fit_summary
from bayes_scaling.questions.budget import compute_at_probability
from bayes_scaling.questions.optimal import optimal_allocation
from bayes_scaling.questions.optimize import optimize
from bayes_scaling.questions.predict import pointwise_log_likelihood, predict

__all__ = ["ScalingFit", "fit", "load"]


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class ScalingFit(FitRecord):
    """A fitted scaling law with convenience methods; see :class:`FitRecord` for the fields."""

    @classmethod
    def of(cls, record: FitRecord) -> ScalingFit:
        """The facade view of a record (the same fields, no copy of the draws)."""
        if isinstance(record, cls):
            return record
        fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(FitRecord)}
        return cls(**fields)

    def summary(self, *, ci: float = CI) -> pd.DataFrame:
        """Parameters with intervals, R-hat and ESS; see :func:`fit_summary`."""
        return fit_summary(self, ci=ci)

    def predict(
        self,
        *,
        N: Any = None,
        D: Any = None,
        C: Any = None,
        U: Any = None,
        points: Any = None,
        seed: int | None = None,
        group: str | None = None,
    ) -> xr.Dataset:
        """Expected target ``mu`` and predicted observation ``y``; see :func:`predict`."""
        return predict(self, N=N, D=D, C=C, U=U, points=points, seed=seed, group=group)

    def optimal(self, *, compute: Any, method: str = "auto") -> xr.Dataset:
        """Compute-optimal N, D, tokens per parameter and loss per draw at each budget."""
        return optimal_allocation(self, compute=compute, method=method)

    def optimize(
        self,
        *,
        over: Mapping[str, tuple[float, float]],
        at: Mapping[str, Any] | None = None,
        risk: str = "mean",
        level: float = 0.9,
        group: str | None = None,
    ) -> xr.Dataset:
        """Best setting of the ``over`` inputs, the others fixed ``at``; see :func:`optimize`."""
        return optimize(self, over=over, at=at, risk=risk, level=level, group=group)

    def rank_runs(
        self,
        candidates: Any,
        *,
        compute: Any = None,
        target: str = "loss",
        objective: str = "width",
        cost_power: float = 1.0,
        seed: int | None = None,
        ci: float = CI,
    ) -> xr.Dataset:
        """Candidate pilot runs ranked by how much they would narrow the target forecast per
        ``cost ** cost_power``; see :func:`bayes_scaling.questions.design.rank_candidates` and
        :class:`~bayes_scaling.questions.design_question.DesignQuestion` for the settings."""
        from bayes_scaling.questions.design import DesignQuestion, rank_candidates

        question = DesignQuestion(
            target=target, objective=objective, compute=compute, seed=seed, ci=ci
        )
        return rank_candidates(self, candidates, question, cost_power=cost_power)

    def runs_for_budget(
        self,
        candidates: Any,
        *,
        budget: float,
        compute: Any = None,
        target: str = "loss",
        ci: float = CI,
    ) -> xr.Dataset | None:
        """The batch of candidate runs within ``budget`` that leaves the target forecast
        narrowest; see :func:`bayes_scaling.questions.design_policy.budget_batch`."""
        from bayes_scaling.questions.design import DesignQuestion
        from bayes_scaling.questions.design_policy import budget_batch

        question = DesignQuestion(target=target, compute=compute, ci=ci)
        return budget_batch(self, candidates, question, budget=budget)

    def budget(self, *, target: float, probability: Any = 0.9) -> xr.Dataset:
        """Compute at which P(expected loss <= target) reaches ``probability``, with N and D."""
        return compute_at_probability(self, target=target, probability=probability)

    def log_likelihood(self) -> xr.Dataset:
        """Pointwise log-likelihood of each run (dims chain, draw, run), for LOO."""
        return pointwise_log_likelihood(self)

    def refit(self, runs: Runs | None = None, **changes: Any) -> ScalingFit:
        """Fit again with this fit's law and settings (changed by :class:`FitSettings` fields)."""
        return ScalingFit.of(fitting.refit(self, runs, **changes))

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the fit as one self-describing netCDF file (atomic)."""
        return storage.save_fit(self, path, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ScalingFit:
        """Read a fit written by :meth:`save`."""
        return cls.of(storage.load_fit(path))


def fit(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    settings: FitSettings | None = None,
    strict: bool = False,
    progress: bool = False,
    **options: Any,
) -> ScalingFit:
    """Fit a scaling law to training runs with NUTS.

    Parameters
    ----------
    runs : Runs, path, DataFrame or Dataset
        The training runs (anything :func:`bayes_scaling.load_runs` accepts).
    law : str or Law
        A built-in law name (``chinchilla``, ``kaplan``, ``power_law:C``, ...), a TOML path or a
        Law.
    settings : FitSettings, optional
        Priors, likelihood, sampler settings, discrepancy, pooling and seed.
    strict : bool
        Raise :class:`DiagnosticsError` instead of warning when the diagnostics gate fails.
    progress : bool
        Show nutpie's progress bar.
    **options
        Fields of :class:`FitSettings` (``seed=1``, ``draws=500``, ``vary=("E", "A")``, ...),
        applied on top of ``settings``. Any other name is an error listing the fields.

    Returns
    -------
    ScalingFit

    Examples
    --------
    >>> import bayes_scaling as bs
    >>> result = bs.fit(bs.datasets.chinchilla_like(), seed=1)  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
    """
    base = FitSettings() if settings is None else settings
    if options:
        merged = {**{k: getattr(base, k) for k in FitSettings.names()}, **options}
        base = FitSettings.from_mapping(merged, where="fit()")
    record = fitting.fit(runs, law=law, settings=base, strict=strict, progress=progress)
    return ScalingFit.of(record)


def load(path: str | os.PathLike) -> ScalingFit:
    """Read a fit saved by :meth:`ScalingFit.save` or ``bayes-scaling fit -o``."""
    return ScalingFit.load(path)
