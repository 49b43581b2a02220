"""Sample a law's posterior with NUTS (nutpie) and assemble the fit record.

Only this module samples. :func:`sample` takes the runs, a law and one :class:`FitSettings` and
returns a :class:`~bayes_scaling.inference.record.FitRecord` (without the extrapolation
discrepancy, which :mod:`bayes_scaling.evaluation.fitting` adds). Compiled models are kept per
process and reused when only the data change (``with_data``).
"""

from __future__ import annotations

import time
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.interrupts import interrupts_kept
from bayes_scaling.core.machine import available_cores
from bayes_scaling.inference import diagnostics as diag
from bayes_scaling.inference.record import LOG_LIKELIHOOD_MAX_VALUES, FitRecord, log_likelihood
from bayes_scaling.inference.settings import ADAPTATIONS, SEED_MAX, FitSettings
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model import native_store as store
from bayes_scaling.model.graph import build_model, model_data
from bayes_scaling.model.native import compile_model
from bayes_scaling.model.nutpie_import import import_nutpie
from bayes_scaling.model.plans import (
    check_fixed_priors,
    check_runs,
    observed_values,
    plan_parameters,
    references,
    user_values,
)
from bayes_scaling.model.pooling import (
    PoolingSpec,
    group_posterior,
    plan_pooling,
    pooled_names,
    sampled_var_names,
)

__all__ = [
    "Progress",
    "assemble_tree",
    "compiled_model",
    "prepare",
    "run_nutpie",
    "sample",
]

_COMPILED: OrderedDict[tuple, Any] = OrderedDict()
_COMPILED_MAX = 16


def compiled_model(law, runs, plans, priors, likelihood, refs, pooling=None):
    """A nutpie-compiled model, re-used (with new data) when only the data change.

    Within a process the compiled model is kept (``_COMPILED``). Across processes, a model
    without pooling is built from its on-disk entry (:mod:`bayes_scaling.model.native_store`,
    keyed by everything in ``key`` below, the data layout, the package's sources and the
    dependency versions) without PyMC; otherwise its sampler callbacks come from numba's
    on-disk cache (:mod:`bayes_scaling.model.native`).
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
    # a fit without pooling has no labels in its graph: its key describes it completely
    store_key = None if pooling is not None else store.entry_key(repr(key), data)
    with interrupts_kept():  # a Ctrl-C during a compile must not be lost (core/interrupts.py)
        compiled = store.load_model(store_key, data) if store_key is not None else None
        if compiled is None:
            model = build_model(
                law, runs, priors=priors, likelihood=likelihood, refs=refs, pooling=pooling
            )
            compiled = compile_model(model, store_key=store_key, data=data)
    _COMPILED[key] = compiled
    while len(_COMPILED) > _COMPILED_MAX:
        _COMPILED.popitem(last=False)
    return compiled, False


#: A progress report: ``True`` shows nutpie's progress bar; a callable gets a short text about
#: twice a second (e.g. ``"sampling: 3200/8000 draws, 0 divergences"``), from another thread.
Progress = bool | Callable[[str], Any]


def run_nutpie(compiled, *, settings: FitSettings, adaptation: str, seed: int, progress: Progress):
    """One nutpie run of a compiled model with the sampler settings of ``settings``.

    Chains run in parallel on ``settings.cores`` cores (default: every available core, up to
    the number of chains). ``progress``: see :data:`Progress`.

    Ctrl-C cancels the run and raises KeyboardInterrupt: nutpie's own handler would return the
    partial trace, which must never become a fit.
    """
    nutpie = import_nutpie()
    chains = settings.chains
    cores = settings.cores or min(chains, available_cores())
    report: dict[str, Any] = {"progress_bar": bool(progress) and not callable(progress)}
    if callable(progress):
        report.update(progress_callback=_progress_text(progress), progress_rate=500)
    sampler = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=chains,
        cores=int(cores),
        seed=seed,
        adaptation=adaptation,
        target_accept=settings.target_accept,
        save_warmup=False,
        blocking=False,
        **report,
    )
    try:
        return sampler.wait()
    except KeyboardInterrupt:
        sampler.cancel()
        raise


def _progress_text(progress: Callable[[str], Any]) -> Callable[[list], None]:
    """nutpie's per-chain progress callback, reported to ``progress`` as one line of text."""

    def callback(chains: list) -> None:
        done = sum(int(c.finished_draws) for c in chains)
        total = sum(int(c.total_draws) for c in chains)
        divergent = sum(int(c.divergences) for c in chains)
        phase = "warm-up" if any(c.tuning for c in chains) else "sampling"
        progress(f"{phase}: {done}/{total} draws, {divergent} divergences")

    return callback


def _n_divergent(tree) -> int:
    return int(np.asarray(tree["sample_stats"]["diverging"]).sum())


def prepare(runs: Runs | Any, *, law: str | Law, settings: FitSettings):
    """Check everything checkable before compiling: runs, law, priors, pooling; fill the seed.

    Returns
    -------
    runs, law, settings, plans, pooling, refs
    """
    law = get_law(law)
    runs = load_runs(runs, schema=law.schema)
    plans = plan_parameters(law, settings.priors, likelihood=settings.likelihood)
    check_runs(law, runs, plans)
    pooling = plan_pooling(
        law, runs, plans, vary=settings.vary or None, centered=settings.centered_spec
    )
    if pooling is None and runs.n_groups > 1:
        warnings.warn(
            f"{runs.source}: the runs have a group column with {runs.n_groups} groups but no "
            "parameter varies by group, so one law is fitted to all groups together; to let "
            "parameters differ by group, name them with vary= (CLI --vary E,A)",
            UserWarning,
            stacklevel=3,
        )
    refs = references(law, runs)
    check_fixed_priors(law, runs, plans, refs)
    if settings.seed is None:
        settings = settings.replace(seed=int(np.random.SeedSequence().entropy % (2**31)))
    return runs, law, settings, plans, pooling, refs


def sample(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    settings: FitSettings | None = None,
    strict: bool = False,
    progress: Progress = False,
    pointwise: bool = True,
) -> FitRecord:
    """Sample the posterior of ``law`` given ``runs`` with NUTS; no discrepancy.

    Parameters
    ----------
    runs : Runs, path, DataFrame or Dataset
        The training runs (anything :func:`bayes_scaling.inputs.runs.load_runs` accepts).
    law : str or Law
        A built-in law name, a TOML path or a Law.
    settings : FitSettings, optional
        Priors, likelihood, sampler settings, pooling and seed (defaults: ``FitSettings()``).
    strict : bool
        Raise :class:`DiagnosticsError` instead of warning when the diagnostics gate fails.
    progress : bool or callable
        True: nutpie's progress bar; a callable gets a line of text about twice a second
        (:data:`Progress`).
    pointwise : bool
        Store the pointwise ``log_likelihood`` group (for LOO; only when draws x runs is at most
        ``LOG_LIKELIHOOD_MAX_VALUES``). False skips it, for fits only used for their posterior
        (the discrepancy's inner fit).

    Returns
    -------
    FitRecord
    """
    settings = FitSettings() if settings is None else settings
    runs, law, settings, plans, pooling, refs = prepare(runs, law=law, settings=settings)
    t0 = time.perf_counter()
    compiled, reused = compiled_model(
        law, runs, plans, settings.priors, settings.likelihood, refs, pooling
    )
    t1 = time.perf_counter()
    seed = int(settings.seed)
    tree = run_nutpie(
        compiled, settings=settings, adaptation=settings.adaptation, seed=seed, progress=progress
    )
    used, tried = settings.adaptation, [settings.adaptation]
    if settings.retry_divergent and _n_divergent(tree) > 0:
        other = ADAPTATIONS[1 - ADAPTATIONS.index(settings.adaptation)]
        retry = run_nutpie(
            compiled, settings=settings, adaptation=other, seed=seed, progress=progress
        )
        tried.append(other)
        if _n_divergent(retry) < _n_divergent(tree):
            tree, used = retry, other
    sampled_names = [p.sampled_name for p in plans if not p.prior.is_fixed]
    if pooling is not None:
        sampled_names += sampled_var_names(plans, pooling)
    tree, draws = _longer_if_slow(compiled, tree, settings, used, sampled_names, progress)
    t2 = time.perf_counter()
    info: dict[str, Any] = {
        "sampler": "nutpie",
        "adaptation": used,
        "adaptations_tried": tried,
        "draws_per_chain": draws,
        "compile_seconds": round(t1 - t0, 3),
        "compiled_model_reused": reused,
        "sample_seconds": round(t2 - t1, 3),
    }
    if draws != settings.draws:
        info["draws_reason"] = (
            f"{settings.draws} draws per chain missed the diagnostics gate on R-hat or effective "
            f"draws only; sampled again with {draws} (max_draws={settings.max_draws})"
        )
    if pooling is not None:
        info["pooling_reason"] = pooling.reason
    tree = assemble_tree(
        tree,
        law=law,
        runs=runs,
        plans=plans,
        refs=refs,
        pooling=pooling,
        likelihood=settings.likelihood,
        pointwise=pointwise,
    )
    diagnostics = diag.compute(tree, var_names=sampled_names, thresholds=settings.thresholds)
    diag.gate(diagnostics, strict=strict)
    return FitRecord(
        tree=tree,
        law=law,
        runs=runs,
        settings=settings,
        refs=refs,
        diagnostics=diagnostics,
        plans=plans,
        pooling=pooling,
        info=info,
    )


def _longer_run_draws(tree, settings: FitSettings, sampled_names: list[str]) -> int | None:
    try:
        first = diag.compute(tree, var_names=sampled_names, thresholds=settings.thresholds)
    except Exception:  # noqa: BLE001 - no longer run when the raw draws cannot be diagnosed
        return None
    return diag.draws_for_gate(first, settings.draws, settings.max_draws)


def _longer_if_slow(compiled, tree, settings, adaptation, sampled_names, progress):
    """``(tree, draws per chain)``: ``tree``, or a longer run when the gate asks for one
    (:func:`~bayes_scaling.inference.diagnostics.draws_for_gate`); same adaptation, next seed.
    The longer run replaces the first unless it diverges more often (then the first stays)."""
    draws = _longer_run_draws(tree, settings, sampled_names)
    if draws is None:
        return tree, settings.draws
    longer = settings.replace(draws=draws)
    seed = (int(settings.seed) + 1) % (SEED_MAX + 1)
    run = run_nutpie(compiled, settings=longer, adaptation=adaptation, seed=seed, progress=progress)
    if _n_divergent(run) > _n_divergent(tree):
        return tree, settings.draws
    return run, draws


def assemble_tree(
    sampled_tree,
    *,
    law: Law,
    runs: Runs,
    plans,
    refs,
    pooling: PoolingSpec | None = None,
    likelihood: str = "student_t",
    pointwise: bool = True,
) -> xr.DataTree:
    """The fit's DataTree: user-unit parameters added to the posterior, runs and observations.

    For a pooled fit the law's parameter names hold the population values, ``<name>_group`` the
    per-group values (dim ``group``) and ``<sampled>_sd`` the population sds. The
    ``log_likelihood`` group is added when ``pointwise`` and draws x runs is at most
    ``LOG_LIKELIHOOD_MAX_VALUES``.
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
    name, values = observed_values(law, runs, refs)
    observed = xr.Dataset({name: (("run",), values)})
    groups = {
        "posterior": posterior,
        "sample_stats": stats,
        "observed_data": observed,
        "constant_data": runs.to_xarray(),
    }
    n_values = posterior.sizes["chain"] * posterior.sizes["draw"] * runs.n_runs
    if pointwise and n_values <= LOG_LIKELIHOOD_MAX_VALUES:
        ll = log_likelihood(law, runs, posterior, likelihood=likelihood, pooling=pooling, refs=refs)
        groups["log_likelihood"] = ll.astype("float32")
    return xr.DataTree.from_dict(groups)
