"""Posterior draws of the law's parameters for a question: one fit, one group, or a new group.

Every question evaluates the law on draws shaped (chain, draw, 1) from :func:`law_draws`. For a
fit pooled by group (:mod:`bayes_scaling.model.pooling`), ``group`` picks one group's values and
None draws a new, unseen group from the population per posterior draw (the population
predictive). :func:`group_fit` gives an unpooled view of one group (or a new group) on which
every question works unchanged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.model.plans import user_values
from bayes_scaling.model.pooling import (
    _population,
    from_link,
    group_link_values,
    pooled_names,
    to_link,
)

__all__ = ["group_fit", "law_draws", "pooled_law_draws", "run_law_draws"]


def law_draws(fit: FitRecord, group: str | None = None) -> dict[str, np.ndarray]:
    """Law parameters as arrays of shape (chain, draw, 1), ready to broadcast over points.

    For a pooled fit, ``group`` picks one group's values; None draws a new, unseen group from the
    population (see :func:`bayes_scaling.model.pooling.pooled_law_draws`).
    """
    if getattr(fit, "pooling", None) is not None:
        return pooled_law_draws(fit, group)
    if group is not None:
        raise QuestionError(
            f"group={group!r} was given but the fit is not pooled by group; refit with a group "
            "column and vary= (CLI --group-col, --vary), or drop the group"
        )
    post = fit.posterior
    return {p: post[p].values[..., None] for p in fit.law.param_names}


def _sampled_draws(fit: FitRecord, extra: int, rng: np.random.Generator | None, index=None):
    """Sampled values shaped (chain, draw, extra) for each plan."""
    post = fit.posterior
    spec = fit.pooling
    sampled = {}
    for plan in fit.plans:
        if plan.name not in fit.law.param_names:
            continue
        if plan.prior.is_fixed:
            sampled[plan.sampled_name] = np.full((1, 1, 1), float(plan.prior.params[0]))
        elif plan.name not in spec.vary:
            sampled[plan.sampled_name] = np.asarray(post[plan.sampled_name].values)[..., None]
        elif rng is not None:  # a new group from the population
            names = pooled_names(plan)
            centre = to_link(_population(post, plan), plan.prior)[..., None]
            sd = np.asarray(post[names["sd"]].values, float)[..., None]
            z = rng.standard_normal((*centre.shape[:2], extra))
            sampled[plan.sampled_name] = from_link(centre + sd * z, plan.prior)
        else:
            link = group_link_values(post, plan, spec)
            sampled[plan.sampled_name] = from_link(link[..., index], plan.prior)
    return sampled


def pooled_law_draws(
    fit: FitRecord, group: str | None = None, *, seed: int | None = None
) -> dict[str, np.ndarray]:
    """Law parameters in user units, shape (chain, draw, 1), for one group or a new group.

    Parameters
    ----------
    fit : FitRecord
        A pooled fit.
    group : str, optional
        A group label of the fit; None draws a new, unseen group from the population (one new
        group value per posterior draw: the population predictive).
    seed : int, optional
        Seed of the new-group draws (default: derived from the fit's seed, so repeated questions
        agree).
    """
    spec = fit.pooling
    if group is None:
        if seed is None:
            seed = fit.seed + 2
        sampled = _sampled_draws(fit, 1, np.random.default_rng(seed))
    else:
        if str(group) not in spec.groups:
            raise QuestionError(
                f"group {group!r} is not in the fit; its groups are {', '.join(spec.groups)} "
                "(or give no group for a new, unseen one)"
            )
        sampled = _sampled_draws(fit, 1, None, index=spec.index([group]))
    values = user_values(fit.law, fit.plans, sampled, fit.refs)
    shape = (fit.posterior.sizes["chain"], fit.posterior.sizes["draw"], 1)
    return {p: np.broadcast_to(values[p], shape).copy() for p in fit.law.param_names}


def run_law_draws(fit: FitRecord) -> dict[str, np.ndarray]:
    """Law parameters of each observed run's own group, shape (chain, draw, run)."""
    index = fit.pooling.index(fit.runs.column("group"))
    sampled = _sampled_draws(fit, 1, None, index=index)
    return user_values(fit.law, fit.plans, sampled, fit.refs)


def group_fit(fit: FitRecord, group: str | None = None, *, seed: int | None = None) -> FitRecord:
    """An unpooled view of a pooled fit for one group, or for a new, unseen group.

    The view's law parameters (``E``, ``alpha``, ...) hold that group's draws (for ``group=None``,
    a new group drawn from the population per draw) and its runs are that group's runs (all runs
    for a new group), so every question (predict, optimal allocation, budgets, ...) answers for
    the group without knowing about pooling.

    Examples
    --------
    >>> from bayes_scaling.questions.optimal import optimal_allocation
    >>> optimal_allocation(group_fit(fit, "rw/tuned"), compute=1e21)  # doctest: +SKIP
    """
    if fit.pooling is None:
        raise QuestionError("group_fit needs a fit pooled by group (fit(..., vary=...))")
    draws = pooled_law_draws(fit, group, seed=seed)
    post = fit.posterior.copy()
    for name, value in draws.items():
        post[name] = (("chain", "draw"), value[..., 0])
    children = {
        name: fit.tree[name].to_dataset()
        for name in fit.tree.children
        if name != "log_likelihood"  # the pooled fit's runs, not the view's
    }
    children["posterior"] = post.drop_dims("group")
    tree = xr.DataTree.from_dict(children)
    runs = fit.runs
    if group is not None:
        runs = runs.subset(runs.column("group") == str(group))
    info = {**fit.info, "group": "<new group>" if group is None else str(group)}
    return dataclasses.replace(fit, tree=tree, runs=runs, info=info, pooling=None)
