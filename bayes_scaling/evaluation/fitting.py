"""The complete fit: sample the posterior, then learn the extrapolation discrepancy.

:func:`fit` is what the CLI, the jobs of :mod:`.many`, backtests and comparisons call: the sampling
layer's :func:`~bayes_scaling.inference.sampling.sample` followed, unless the settings say
``discrepancy=None``, by :func:`~bayes_scaling.evaluation.discrepancy.add_discrepancy`, whose
inner leave-future-out refit calls the sampling layer with the settings of
:func:`~bayes_scaling.evaluation.discrepancy.inner_settings` (the fit's own, with half the draws).
"""

from __future__ import annotations

from typing import Any

from bayes_scaling.evaluation.discrepancy import add_discrepancy, inner_refit
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.sampling import Progress, sample
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import Runs

__all__ = ["fit", "refit"]


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
