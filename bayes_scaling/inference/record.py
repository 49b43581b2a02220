"""The fit record: posterior draws plus everything needed to answer questions about them.

:class:`FitRecord` is a plain frozen record, low in the layers: the questions, evaluation and
presentation layers take it as an argument; it knows nothing of them. The user-facing
conveniences (``fit.predict(...)``, ``fit.optimal(...)``) live in :mod:`bayes_scaling.api`, which
nothing inside the package imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.dask_probe import defer_dask_probe
from bayes_scaling.inference.diagnostics import Diagnostics
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.priors import Prior
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.likelihood import Likelihood, get_likelihood
from bayes_scaling.model.plans import (
    ParameterPlan,
    observed_values,
    plan_parameters,
    target_scale,
)
from bayes_scaling.model.pooling import PoolingSpec
from bayes_scaling.model.target import TargetScale

defer_dask_probe()  # xarray need not import dask until dask is used (core/dask_probe.py)

__all__ = ["FitRecord", "LOG_LIKELIHOOD_MAX_VALUES", "log_likelihood"]

#: The ``log_likelihood`` group is stored when draws x runs is at most this (about 20 MB as
#: float32).
LOG_LIKELIHOOD_MAX_VALUES = 5_000_000


@dataclass(frozen=True, eq=False)
class FitRecord:
    """A fitted scaling law.

    Attributes
    ----------
    tree : xr.DataTree
        Groups ``posterior`` (law parameters in user units, noise, and sampled ``*_scaled``
        values), ``sample_stats``, ``observed_data`` (``log_loss``), ``constant_data`` (runs) and,
        unless the fit is very large, ``log_likelihood`` (so ``az.loo(fit.tree)`` works).
    law : Law
    runs : Runs
    settings : FitSettings
        The settings the fit was made with (seed filled in).
    refs : dict[str, float]
        Reference values used to scale the inputs.
    diagnostics : Diagnostics
    plans : tuple of ParameterPlan
        How each parameter entered the model (derived from law and settings if empty).
    pooling : PoolingSpec or None
        Which parameters vary by group, for a hierarchical fit.
    info : dict
        Facts of the run: adaptation used, timings, compiled-model reuse, the discrepancy's
        calibration, the group of a group view.
    """

    tree: xr.DataTree
    law: Law
    runs: Runs
    settings: FitSettings
    refs: dict[str, float]
    diagnostics: Diagnostics
    plans: tuple[ParameterPlan, ...] = field(default=())
    pooling: PoolingSpec | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.plans:
            plans = plan_parameters(
                self.law, self.settings.priors, likelihood=self.settings.likelihood
            )
            object.__setattr__(self, "plans", plans)

    @property
    def priors(self) -> dict[str, Prior]:
        """The user's prior overrides (defaults come from the law)."""
        return dict(self.settings.priors)

    @property
    def likelihood(self) -> str:
        """Name of the likelihood family."""
        return self.settings.likelihood

    @property
    def noise(self) -> Likelihood:
        """The likelihood object (:mod:`bayes_scaling.model.likelihood`)."""
        return get_likelihood(self.settings.likelihood)

    @property
    def seed(self) -> int:
        """The fit's seed; questions derive their own seeds from it."""
        return int(self.settings.seed or 0)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group as a Dataset (dims ``chain``, ``draw``)."""
        return self.tree["posterior"].to_dataset()

    @property
    def param_names(self) -> tuple[str, ...]:
        """Law parameters followed by noise parameters, all in user units."""
        noise = tuple(p.name for p in self.plans if p.name not in self.law.param_names)
        return self.law.param_names + noise

    def parameters(self) -> xr.Dataset:
        """Posterior draws of the law and noise parameters in user units."""
        return self.posterior[list(self.param_names)]

    @property
    def target_scale(self) -> TargetScale:
        """The scale on which the likelihood sees the target (log for a positive loss)."""
        return target_scale(self.law, self.refs)

    def noise_draws(self, *, extra_dims: int = 1) -> dict[str, np.ndarray]:
        """Noise parameters' draws shaped (chain, draw, 1, ...) for broadcasting."""
        post = self.posterior
        pad = (None,) * extra_dims
        return {n: post[n].values[(..., *pad)] for n in self.noise.noise_params}

    def __repr__(self) -> str:
        d = self.diagnostics
        gate = "passed" if d.ok else f"FAILED ({', '.join(d.failed)})"
        sizes = self.tree["posterior"].sizes  # after any longer run
        return (
            f"<{type(self).__name__} law={self.law.name} runs={self.runs.n_runs} "
            f"draws={sizes['chain']}x{sizes['draw']} gate {gate}>"
        )


def log_likelihood(
    law: Law,
    runs: Runs,
    posterior: xr.Dataset,
    *,
    likelihood: str | Likelihood,
    pooling: PoolingSpec | None = None,
    refs: Mapping[str, float] | None = None,
) -> xr.Dataset:
    """Pointwise log-likelihood of each run under each draw (dims chain, draw, run).

    The same likelihood object that fitted the model evaluates it (numpy), on the target's
    likelihood scale (log(loss) for a positive loss; ``refs`` give a real target's scale); for
    a pooled fit each run uses its own group's parameters.
    """
    noise_model = get_likelihood(likelihood)
    inputs = {c: runs.column(c)[None, None, :] for c in law.inputs}
    if pooling is not None:
        index = pooling.index(runs.column("group"))
        params = {
            name: (
                posterior[f"{name}_group"].values[..., index]
                if name in pooling.vary
                else posterior[name].values[..., None]
            )
            for name in law.param_names
        }
    else:
        params = {name: posterior[name].values[..., None] for name in law.param_names}
    scale = target_scale(law, refs)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_mu = scale.forward(law.evaluate(params, inputs))
    name, observed = observed_values(law, runs, refs or {})
    noise = {n: posterior[n].values[..., None] for n in noise_model.noise_params}
    ll = noise_model.logpdf(observed[None, None, :], log_mu, noise)
    return xr.Dataset(
        {name: (("chain", "draw", "run"), ll)},
        coords={"chain": posterior["chain"], "draw": posterior["draw"]},
    )
