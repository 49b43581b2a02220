"""The complete fit: sample the posterior, then learn the extrapolation discrepancy.

:func:`fit` is what the CLI, the jobs of :mod:`.many`, backtests and comparisons call: the sampling
layer's :func:`~bayes_scaling.inference.sampling.sample` followed, unless the settings say
``discrepancy=None``, by :func:`~bayes_scaling.evaluation.discrepancy.add_discrepancy`, whose
inner leave-future-out refit calls the sampling layer with the settings of
:func:`~bayes_scaling.evaluation.discrepancy.inner_settings` (the fit's own, with half the draws).

Before sampling, :func:`fit` warns (:class:`IsoflopPoolingWarning`) when a law in N and D is
fitted to IsoFLOP profiles of several configurations (:func:`~bayes_scaling.inputs.isoflop.
is_isoflop`), and points to the ``isoflop`` law.
"""

from __future__ import annotations

import warnings
from typing import Any

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.evaluation.discrepancy import add_discrepancy, inner_refit
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.sampling import Progress, sample
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.isoflop import isoflop_design
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs

__all__ = ["IsoflopPoolingWarning", "fit", "refit"]


class IsoflopPoolingWarning(UserWarning):
    """A law in N and D is fitted to IsoFLOP profiles pooled across configurations."""


def fit(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    settings: FitSettings | None = None,
    strict: bool = False,
    progress: Progress = False,
) -> FitRecord:
    """Fit ``law`` to ``runs``: NUTS posterior plus the extrapolation discrepancy.

    Parameters
    ----------
    runs : Runs, path, DataFrame or Dataset
    law : str or Law
    settings : FitSettings, optional
        Default ``FitSettings()``: Student-t likelihood, 4 chains x 1000 draws, discrepancy
        ``"lfo"``, a random seed (recorded in the fit).
    strict : bool
        Raise instead of warning when the diagnostics gate fails.
    progress : bool or callable
        True: nutpie's progress bar; a callable gets a line of text about twice a second, the
        inner fit's prefixed with ``"leave-future-out fit, "``.

    Returns
    -------
    FitRecord
    """
    settings = FitSettings() if settings is None else settings
    law = get_law(law)
    runs = load_runs(runs, schema=law.schema)  # read once: the check and the sampler share it
    check_isoflop_pooling(runs, law=law, settings=settings)
    record = sample(runs, law=law, settings=settings, strict=strict, progress=progress)
    if record.settings.discrepancy is None:
        return record
    inner_progress = _prefixed(progress, "leave-future-out fit, ")
    refit_inner = inner_refit(record.settings, law=record.law, progress=inner_progress)
    return add_discrepancy(record, refit=refit_inner, method=record.settings.discrepancy)


def _prefixed(progress: Progress, prefix: str) -> Progress:
    """``progress`` with ``prefix`` before its text (a bool is kept as it is)."""
    if not callable(progress):
        return progress
    return lambda text: progress(prefix + text)


def refit(record: FitRecord, runs: Runs | None = None, **changes: Any) -> FitRecord:
    """Fit again with the record's own law and settings (pooling included), on ``runs``.

    ``changes`` are :class:`FitSettings` fields to change (e.g. ``draws=300``); an unknown name
    is an error, so no option is silently dropped.
    """
    settings = record.settings.replace(**changes) if changes else record.settings
    return fit(record.runs if runs is None else runs, law=record.law, settings=settings)


def check_isoflop_pooling(
    runs: Runs | Any, *, law: str | Law, settings: FitSettings | None = None
) -> bool:
    """Warn when a law in N and D is about to be fitted to IsoFLOP profiles of several groups.

    The runs qualify when they have a group column with at least two groups, most of them laid
    out as IsoFLOP profiles (:func:`~bayes_scaling.inputs.isoflop.isoflop_design`), and the law
    takes both N and D (Chinchilla's Approach 3, ``chinchilla``, ``kaplan``, ...). :func:`fit`
    passes the runs it has read; a table or path given here directly is read with warnings
    silenced (standard input is skipped).

    Returns
    -------
    bool
        Whether :class:`IsoflopPoolingWarning` was issued.
    """
    law = get_law(law)
    if not {"N", "D"} <= set(law.inputs):
        return False
    if not isinstance(runs, Runs):
        if isinstance(runs, str) and runs == "-":
            return False
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                runs = load_runs(runs)
        except (BayesScalingError, ValueError, OSError):
            return False  # sampling reports the problem
    if runs.n_groups < 2:
        return False
    design = isoflop_design(runs)
    if not len(design) or design["isoflop"].mean() <= 0.5:
        return False
    shaped = design[design["isoflop"]]
    pooled = "partially pooled" if settings is not None and settings.vary else "pooled"
    warnings.warn(
        f"{runs.source}: {len(shaped)} of {runs.n_groups} groups are IsoFLOP profiles (a median "
        f"of {shaped['budgets'].median():.0f} compute budgets with {shaped['sizes'].median():.0f} "
        f"model sizes each), {pooled} under law {law.name!r}, which takes N and D. Along an "
        "IsoFLOP profile N and D are tied (D = C / (6 N)), so the law's N and D terms are told "
        "apart only by each profile's curvature, and the far ends of the profiles, asymmetric "
        "and shaped differently from one configuration to the next (learning-rate schedules "
        "that have not decayed, parameters counted differently), are what that curvature is "
        "fitted to: the Student-t noise treats them as outliers and the posterior mixes poorly "
        "(on Porian et al. 2024's 15 configurations, R-hat exceeds 1.01 and only "
        "4-5 of 15 intervals contain the authors' exponent). To estimate the "
        "compute-optimal allocation, fit the 'isoflop' law to the runs near each profile's "
        "minimum: fit(near_optimum(runs), law='isoflop', vary=..., likelihood='normal') "
        "(bayes_scaling.inputs.isoflop.near_optimum; CLI: --law isoflop --near-optimum 2)",
        IsoflopPoolingWarning,
        stacklevel=3,
    )
    return True
