"""Fit a law to runs with NUTS (nutpie) and hold the result as a :class:`ScalingFit`.

Only this module (and modules that call :func:`fit`) samples; every question asked of a fit is a
numpy function of its posterior draws.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling import diagnostics as diag
from bayes_scaling.constants import CI
from bayes_scaling.data import Runs, load_runs
from bayes_scaling.errors import BayesScalingError
from bayes_scaling.laws import Law, get_law
from bayes_scaling.model import (
    OBSERVED,
    ParameterPlan,
    build_model,
    check_likelihood,
    check_runs,
    model_data,
    plan_parameters,
    references,
    user_values,
)
from bayes_scaling.native import compile_model
from bayes_scaling.pooling import (
    PoolingSpec,
    group_posterior,
    plan_pooling,
    pooled_names,
    sampled_var_names,
)
from bayes_scaling.priors import Prior, parse_priors

#: Adaptations of nutpie's mass matrix; a diverging fit is retried with the other one.
ADAPTATIONS = ("low_rank", "diag")
_COMPILED: OrderedDict[tuple, Any] = OrderedDict()
_COMPILED_MAX = 16


@dataclass(frozen=True, eq=False)
class ScalingFit:
    """A fitted scaling law: posterior draws plus everything needed to answer questions.

    Attributes
    ----------
    tree : xr.DataTree
        Groups ``posterior`` (law parameters in user units, noise, and sampled ``*_scaled``
        values), ``sample_stats``, ``observed_data`` (``log_loss``) and ``constant_data`` (runs).
    law : Law
    runs : Runs
    priors : dict[str, Prior]
        The user's prior overrides (defaults come from the law).
    likelihood : str
    refs : dict[str, float]
        Reference values used to scale the inputs.
    settings : dict
        Sampler settings, seed, adaptation used and timings.
    diagnostics : Diagnostics
    plans : tuple of ParameterPlan
        How each parameter entered the model (derived from law, priors and likelihood if empty).
    pooling : PoolingSpec or None
        Which parameters vary by group, for a hierarchical fit (see :mod:`bayes_scaling.pooling`).
    """

    tree: xr.DataTree
    law: Law
    runs: Runs
    priors: dict[str, Prior]
    likelihood: str
    refs: dict[str, float]
    settings: dict[str, Any]
    diagnostics: diag.Diagnostics
    plans: tuple[ParameterPlan, ...] = field(default=())
    pooling: PoolingSpec | None = None

    def __post_init__(self) -> None:
        if not self.plans:
            plans = plan_parameters(self.law, self.priors, likelihood=self.likelihood)
            object.__setattr__(self, "plans", plans)

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

    def summary(self, *, ci: float = CI) -> pd.DataFrame:
        """Parameters in user units: mean, sd, median, central ``ci`` interval, R-hat, ESS.

        Fixed parameters show their value with zero width and no convergence statistics. A pooled
        fit adds the population sd of each varying parameter (``<sampled>_sd``, link scale) and
        one row per group (``<name>[label]``); the plain names hold the population values.
        """
        from bayes_scaling.summaries import parameter_table

        table = parameter_table(self.parameters(), ci=ci)
        if self.pooling is not None:
            from bayes_scaling.pooling import group_table

            table = pd.concat([table, group_table(self, ci=ci)])
            table.attrs["ci"] = ci
        return table

    def predict(
        self,
        *,
        N: Any = None,
        D: Any = None,
        C: Any = None,
        U: Any = None,
        seed: int | None = None,
        group: str | None = None,
    ) -> xr.Dataset:
        """Expected loss ``mu`` and predicted observed loss ``y`` at new points.

        See :func:`bayes_scaling.predict.predict`; for a pooled fit ``group`` names the group
        (None: a new, unseen group drawn from the population).
        """
        from bayes_scaling.predict import predict

        return predict(self, N=N, D=D, C=C, U=U, seed=seed, group=group)

    def optimal(self, *, compute: Any, method: str = "auto") -> xr.Dataset:
        """Compute-optimal N, D, tokens per parameter and loss per draw at each budget.

        See :func:`bayes_scaling.optimal.optimal_allocation`.
        """
        from bayes_scaling.optimal import optimal_allocation

        return optimal_allocation(self, compute=compute, method=method)

    def budget(self, *, target: float, probability: Any = 0.9) -> xr.Dataset:
        """Compute at which P(expected loss <= target) reaches ``probability``, with N and D.

        See :func:`bayes_scaling.budget.compute_at_probability`.
        """
        from bayes_scaling.budget import compute_at_probability

        return compute_at_probability(self, target=target, probability=probability)

    def log_likelihood(self) -> xr.Dataset:
        """Pointwise log-likelihood of each run (dims chain, draw, run), for LOO."""
        from bayes_scaling.predict import pointwise_log_likelihood

        return pointwise_log_likelihood(self)

    def save(self, path: str | os.PathLike, *, force: bool = False) -> Path:
        """Write the fit as one self-describing netCDF file (atomic); see :mod:`storage`."""
        from bayes_scaling.storage import save_fit

        return save_fit(self, path, force=force)

    @classmethod
    def load(cls, path: str | os.PathLike) -> ScalingFit:
        """Read a fit written by :meth:`save`."""
        from bayes_scaling.storage import load_fit

        return load_fit(path)

    def __repr__(self) -> str:
        d = self.diagnostics
        gate = "passed" if d.ok else f"FAILED ({', '.join(d.failed)})"
        return (
            f"<ScalingFit law={self.law.name} runs={self.runs.n_runs} "
            f"draws={self.settings.get('chains')}x{self.settings.get('draws')} gate {gate}>"
        )


def _compiled_model(law, runs, plans, priors, likelihood, refs, pooling=None):
    """A nutpie-compiled model, re-used (with new data) when only the data change.

    Within a process the compiled model is kept (``_COMPILED``); across processes the sampler
    callbacks come from numba's on-disk cache (:mod:`bayes_scaling.native`).
    """
    key = (
        law.to_json(),
        tuple((p.name, str(p.prior), p.scaled) for p in plans),
        likelihood,
        tuple(sorted(refs)),
        pooling.cache_key() if pooling is not None else None,
    )
    data = model_data(law, runs, refs, pooling)
    if key in _COMPILED:
        _COMPILED.move_to_end(key)
        compiled = _COMPILED[key]
        # containers the law does not use (e.g. a reference without a scaling rule) are not
        # shared variables of the compiled graph
        known = {var.name for var in getattr(compiled, "shared_var_keys", {})}
        data = {k: v for k, v in data.items() if not known or k in known}
        return compiled.with_data(**data), True
    model = build_model(law, runs, priors=priors, likelihood=likelihood, refs=refs, pooling=pooling)
    compiled = compile_model(model)
    _COMPILED[key] = compiled
    while len(_COMPILED) > _COMPILED_MAX:
        _COMPILED.popitem(last=False)
    return compiled, False


def _sample(compiled, *, settings: Mapping[str, Any], adaptation: str, seed: int, progress: bool):
    import nutpie

    chains = int(settings["chains"])
    cores = settings.get("cores") or min(chains, os.cpu_count() or 1)
    return nutpie.sample(
        compiled,
        draws=int(settings["draws"]),
        tune=int(settings["tune"]),
        chains=chains,
        cores=int(cores),
        seed=seed,
        adaptation=adaptation,
        target_accept=float(settings["target_accept"]),
        save_warmup=False,
        progress_bar=progress,
    )


def _n_divergent(tree) -> int:
    return int(np.asarray(tree["sample_stats"]["diverging"]).sum())


def fit(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    priors: Mapping[str, str | float | Prior] | None = None,
    likelihood: str = "student_t",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: int | None = None,
    target_accept: float = 0.9,
    adaptation: str = "low_rank",
    cores: int | None = None,
    retry_divergent: bool = True,
    strict: bool = False,
    thresholds: Mapping[str, float] | None = None,
    progress: bool = False,
    discrepancy: str | None = "lfo",
    vary: str | Sequence[str] | None = None,
    centered: bool | str | Mapping[str, bool | str] = "auto",
) -> ScalingFit:
    """Fit a scaling law to training runs with NUTS.

    Parameters
    ----------
    runs : Runs, path, DataFrame or Dataset
        The training runs (anything :func:`bayes_scaling.data.load_runs` accepts).
    law : str or Law
        A built-in law name (``chinchilla``, ``kaplan``, ``power_law:C``, ...), a TOML path or a
        Law.
    priors : mapping, optional
        Prior overrides, e.g. ``{"alpha": "Beta(2, 5)", "E": 0}``; see :func:`plan_parameters`.
    likelihood : {"student_t", "normal"}
        Noise model of log(loss).
    draws, tune, chains : int
        Posterior draws and warm-up steps per chain, and number of chains.
    seed : int, optional
        Random seed; the same seed gives identical draws. Drawn at random (and recorded) if None.
    target_accept, adaptation : float, str
        NUTS settings; ``adaptation`` is nutpie's mass-matrix adaptation (``low_rank`` or ``diag``).
    retry_divergent : bool
        When the fit diverges, sample again with the other adaptation and keep the better fit.
    strict : bool
        Raise :class:`DiagnosticsError` instead of warning when the diagnostics gate fails.
    thresholds : mapping, optional
        Overrides of :data:`bayes_scaling.diagnostics.THRESHOLDS`.
    progress : bool
        Show nutpie's progress bar.
    vary : str or sequence of str, optional
        Law parameters that vary by the runs' ``group`` column (e.g. ``("E", "A")`` or
        ``"E,A"``), partially pooled around population values; the others are shared. See
        :mod:`bayes_scaling.pooling`.
    centered : bool, "auto" or mapping
        Centred or non-centred parameterisation of the varying parameters, for all or per
        parameter; ``"auto"`` decides by how well the groups identify them.
    discrepancy : {"lfo", None}
        Extrapolation discrepancy added to the predictive ``y`` (never to ``mu``): ``"lfo"``
        (default) learns its scale by leave-future-out within the runs (one extra fit on the
        smaller 80% of the runs); see :mod:`bayes_scaling.discrepancy`. None: parameter
        uncertainty and noise only (intervals on extrapolations then under-cover: 75% instead
        of 90% on the shared public data sets, against 89% with ``"lfo"``).

    Returns
    -------
    ScalingFit

    Examples
    --------
    >>> from bayes_scaling import datasets, fit
    >>> result = fit(datasets.chinchilla_like(), law="chinchilla", seed=1)  # doctest: +SKIP
    >>> result.summary()  # doctest: +SKIP
    """
    if not isinstance(runs, Runs):
        runs = load_runs(runs)
    law = get_law(law)
    check_likelihood(likelihood)
    if adaptation not in ADAPTATIONS:
        raise BayesScalingError(f"adaptation must be one of {ADAPTATIONS}, not {adaptation!r}")
    if discrepancy not in (None, "lfo"):
        raise BayesScalingError(f"discrepancy must be 'lfo' or None, not {discrepancy!r}")
    for name, value in (("draws", draws), ("tune", tune), ("chains", chains)):
        if int(value) < 1:
            raise BayesScalingError(f"{name} must be a positive integer, not {value!r}")
    user_priors = parse_priors(priors)
    plans = plan_parameters(law, user_priors, likelihood=likelihood)
    check_runs(law, runs, plans)
    pooling = plan_pooling(law, runs, plans, vary=vary, centered=centered)
    refs = references(law, runs)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    settings: dict[str, Any] = {
        "sampler": "nutpie",
        "draws": int(draws),
        "tune": int(tune),
        "chains": int(chains),
        "cores": cores,
        "seed": int(seed),
        "target_accept": float(target_accept),
    }
    t0 = time.perf_counter()
    compiled, reused = _compiled_model(law, runs, plans, user_priors, likelihood, refs, pooling)
    t1 = time.perf_counter()
    tree = _sample(compiled, settings=settings, adaptation=adaptation, seed=seed, progress=progress)
    used, tried = adaptation, [adaptation]
    if retry_divergent and _n_divergent(tree) > 0:
        other = ADAPTATIONS[1 - ADAPTATIONS.index(adaptation)]
        retry = _sample(compiled, settings=settings, adaptation=other, seed=seed, progress=progress)
        tried.append(other)
        if _n_divergent(retry) < _n_divergent(tree):
            tree, used = retry, other
    t2 = time.perf_counter()
    settings.update(
        adaptation=used,
        adaptations_tried=tried,
        compile_seconds=round(t1 - t0, 3),
        compiled_model_reused=reused,
        sample_seconds=round(t2 - t1, 3),
    )
    sampled_names = [p.sampled_name for p in plans if not p.prior.is_fixed]
    if pooling is not None:
        sampled_names += sampled_var_names(plans, pooling)
        settings["pooling_reason"] = pooling.reason
    tree = assemble_tree(tree, law=law, runs=runs, plans=plans, refs=refs, pooling=pooling)
    diagnostics = diag.compute(tree, var_names=sampled_names, thresholds=thresholds)
    diag.gate(diagnostics, strict=strict)
    result = ScalingFit(
        tree=tree,
        law=law,
        runs=runs,
        priors=user_priors,
        likelihood=likelihood,
        refs=refs,
        settings=settings,
        diagnostics=diagnostics,
        plans=plans,
        pooling=pooling,
    )
    if discrepancy is None:
        return result
    from bayes_scaling.discrepancy import add_discrepancy

    def refit(inner: Runs) -> ScalingFit:
        return fit(
            inner,
            law=law,
            priors=user_priors,
            likelihood=likelihood,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            target_accept=target_accept,
            adaptation=adaptation,
            cores=cores,
            retry_divergent=retry_divergent,
            thresholds=thresholds,
            vary=vary,
            centered=centered,
            discrepancy=None,
        )

    return add_discrepancy(result, refit=refit, method=discrepancy)


def assemble_tree(
    sampled_tree, *, law: Law, runs: Runs, plans, refs, pooling: PoolingSpec | None = None
) -> xr.DataTree:
    """The fit's DataTree: user-unit parameters added to the posterior, runs and observations.

    For a pooled fit the law's parameter names hold the population values, ``<name>_group`` the
    per-group values (dim ``group``) and ``<sampled>_sd`` the population sds.
    """
    post = sampled_tree["posterior"].to_dataset()
    shape = (post.sizes["chain"], post.sizes["draw"])
    sampled = {}
    for plan in plans:
        if plan.prior.is_fixed:
            sampled[plan.sampled_name] = np.full(shape, float(plan.prior.params[0]))
        elif pooling is not None and plan.name in pooling.vary:
            sampled[plan.sampled_name] = post[pooled_names(plan)["pop"]].values
        else:
            sampled[plan.sampled_name] = post[plan.sampled_name].values
    values = user_values(law, plans, sampled, refs)
    noise = {p.name: sampled[p.name] for p in plans if p.name not in law.param_names}
    dims = ("chain", "draw")
    variables = {
        name: (dims, np.asarray(v, dtype=float)) for name, v in {**values, **noise}.items()
    }
    for plan in plans:
        if plan.scaled:
            variables[plan.sampled_name] = (dims, np.asarray(sampled[plan.sampled_name], float))
    coords = {"chain": post["chain"], "draw": post["draw"]}
    if pooling is not None:
        coords["group"] = list(pooling.groups)
        variables.update(group_posterior(post, law=law, plans=plans, spec=pooling, refs=refs))
        for plan in plans:
            if plan.name in pooling.vary:
                names = pooled_names(plan)
                key = "link" if pooling.centered[plan.name] else "z"
                variables[names[key]] = (("chain", "draw", "group"), post[names[key]].values)
    posterior = xr.Dataset(variables, coords=coords)
    for p in law.parameters:
        posterior[p.name].attrs["description"] = p.description
    posterior.attrs = dict(post.attrs)
    stats = sampled_tree["sample_stats"].to_dataset()
    stats = stats.drop_vars([v for v in stats.data_vars if stats[v].dtype == object])
    observed = xr.Dataset({OBSERVED: (("run",), np.log(runs.column("loss")))})
    return xr.DataTree.from_dict(
        {
            "posterior": posterior,
            "sample_stats": stats,
            "observed_data": observed,
            "constant_data": runs.to_xarray(),
        }
    )
