"""Build the PyMC model of a law fitted to runs.

The likelihood is on log(loss): ``log(loss_i) ~ StudentT(nu, log mu_i, sigma)`` (or Normal), where
``mu_i`` is the law's curve at run i in the user's units. Parameters with a ``from_scaled`` rule
are sampled as unit-free ``<name>_scaled`` variables (see :mod:`bayes_scaling.laws`), which is
what makes NUTS efficient whatever the units of N, D and C.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_scaling.data import Runs
from bayes_scaling.errors import DataError, PriorError
from bayes_scaling.formula import Formula
from bayes_scaling.laws import LOSS_REFERENCE, Law
from bayes_scaling.pooling import GROUP_INDEX, PoolingSpec, group_tensor
from bayes_scaling.priors import Prior, parse_priors

#: Likelihood families on log(loss).
LIKELIHOODS = ("student_t", "normal")
#: Default priors of the noise parameters (unit-free: sigma is on the log scale).
#: nu ~ Gamma(2, 0.1) is the Juarez & Steel (2010) prior for Student-t degrees of freedom.
NOISE_PRIORS = {"sigma": "HalfNormal(0.1)", "nu": "Gamma(2, 0.1)"}
#: Name of the observed variable (log of the observed loss).
OBSERVED = "log_loss"


@dataclass(frozen=True)
class ParameterPlan:
    """How one law parameter enters the model.

    ``scaled`` parameters are sampled as ``<name>_scaled`` and mapped to user units by ``rule``;
    the others are sampled (or fixed) directly in user units.
    """

    name: str
    prior: Prior
    scaled: bool
    rule: Formula | None

    @property
    def sampled_name(self) -> str:
        """Name of the variable the sampler sees."""
        return f"{self.name}_scaled" if self.scaled else self.name


def plan_parameters(
    law: Law, priors: Mapping[str, Any] | None = None, *, likelihood: str = "student_t"
) -> tuple[ParameterPlan, ...]:
    """Combine a law's default priors with the user's overrides.

    A key ``name`` sets the prior of that parameter in user units (its scaling rule is dropped);
    ``name_scaled`` replaces the default prior on the scaled value. ``sigma`` and ``nu`` set the
    noise priors.
    """
    check_likelihood(likelihood)
    given = parse_priors(priors)
    noise = ["sigma"] + (["nu"] if likelihood == "student_t" else [])
    valid = set(law.param_names) | set(noise)
    valid |= {f"{p.name}_scaled" for p in law.parameters if p.from_scaled is not None}
    unknown = sorted(set(given) - valid)
    if unknown:
        raise PriorError(
            f"prior given for {', '.join(unknown)}, which law {law.name!r} does not have; "
            f"priors can be set for {', '.join(sorted(valid))}"
        )
    plans = []
    for p in law.parameters:
        if p.name in given:
            plans.append(ParameterPlan(p.name, given[p.name], scaled=False, rule=None))
        elif p.from_scaled is not None:
            prior = given.get(f"{p.name}_scaled", p.prior)
            plans.append(ParameterPlan(p.name, prior, scaled=True, rule=p.from_scaled))
        else:
            plans.append(ParameterPlan(p.name, p.prior, scaled=False, rule=None))
    for name in noise:
        plans.append(
            ParameterPlan(name, given.get(name, Prior.parse(NOISE_PRIORS[name])), False, None)
        )
    return tuple(plans)


def check_likelihood(likelihood: str) -> None:
    """Raise PriorError for an unknown likelihood name."""
    if likelihood not in LIKELIHOODS:
        raise PriorError(
            f"unknown likelihood {likelihood!r}; choose one of {', '.join(LIKELIHOODS)}"
        )


def references(law: Law, runs: Runs) -> dict[str, float]:
    """Reference values: geometric mean of each input column and the smallest observed loss."""
    refs = {col: float(np.exp(np.mean(np.log(runs.column(col))))) for col in law.inputs}
    refs[LOSS_REFERENCE] = float(np.min(runs.column("loss")))
    return refs


def user_values(
    law: Law,
    plans: tuple[ParameterPlan, ...],
    sampled: Mapping[str, Any],
    refs: Mapping[str, float],
    *,
    backend: str = "numpy",
) -> dict[str, Any]:
    """Law parameters in user units from sampled values (numpy arrays or pytensor tensors)."""
    names = {fname: refs[col] for fname, col in law.input_map.items()}
    names[LOSS_REFERENCE] = refs[LOSS_REFERENCE]
    out: dict[str, Any] = {}
    for plan in plans:
        if plan.name not in law.param_names:
            continue
        value = sampled[plan.sampled_name]
        if plan.rule is not None:
            env = {**names, **out, plan.name: value}
            value = plan.rule.pytensor(env) if backend == "pytensor" else plan.rule.numpy(env)
        out[plan.name] = value
    return out


def check_runs(law: Law, runs: Runs, plans: tuple[ParameterPlan, ...]) -> None:
    """Check that the runs can identify the law: inputs present and varying, enough runs."""
    missing = [c for c in law.inputs if not runs.has(c)]
    if missing:
        raise DataError(
            f"{runs.source}: law {law.name!r} needs the input(s) {', '.join(missing)}, but the "
            "runs "
            f"have only {', '.join(runs.table.columns)}; map a column explicitly "
            f"(e.g. --{missing[0].lower()}-col NAME)"
        )
    n_free = sum(not p.prior.is_fixed for p in plans)
    if runs.n_runs < n_free + 1:
        raise DataError(
            f"{runs.source}: {runs.n_runs} runs are too few for law {law.name!r}, which has "
            f"{n_free} free parameters (noise included); give at least {n_free + 1} runs or fix "
            "some parameters with a prior such as E=0"
        )
    for col in law.inputs:
        values = runs.column(col)
        if np.ptp(np.log(values)) == 0.0:
            raise DataError(
                f"{runs.source}: input {col} has the same value ({values[0]:.4g}) in every run, "
                f"so law {law.name!r} cannot learn how loss depends on it; add runs that vary "
                f"{col} "
                "or use a law without it (e.g. power_law:C)"
            )


def build_model(
    law: Law,
    runs: Runs,
    *,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "student_t",
    refs: Mapping[str, float] | None = None,
    pooling: PoolingSpec | None = None,
):
    """PyMC model of ``law`` fitted to ``runs``.

    Inputs, the observed log-loss and the reference values are ``pm.Data`` containers (see
    :func:`model_data`), so a compiled model can be reused with new runs. With ``pooling``, the
    parameters it names vary by group (see :mod:`bayes_scaling.pooling`).

    Returns
    -------
    pm.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    plans = plan_parameters(law, priors, likelihood=likelihood)
    check_runs(law, runs, plans)
    refs = dict(refs) if refs is not None else references(law, runs)
    coords = {"run": np.arange(runs.n_runs)}
    if pooling is not None:
        coords["group"] = list(pooling.groups)
    with pm.Model(coords=coords) as model:
        data = {col: pm.Data(col, runs.column(col), dims="run") for col in law.inputs}
        observed = pm.Data(OBSERVED + "_data", np.log(runs.column("loss")), dims="run")
        ref_data = {name: pm.Data(f"ref_{name}", value) for name, value in refs.items()}
        if pooling is not None:
            index = pm.Data(GROUP_INDEX, pooling.index(runs.column("group")), dims="run")
        sampled = {}
        for plan in plans:
            if plan.prior.is_fixed:
                sampled[plan.sampled_name] = pt.constant(float(plan.prior.params[0]))
            elif pooling is not None and plan.name in pooling.vary:
                sampled[plan.sampled_name] = group_tensor(plan, pooling)[index]
            else:
                sampled[plan.sampled_name] = plan.prior.to_pymc(plan.sampled_name)
        params = user_values(law, plans, sampled, ref_data, backend="pytensor")
        mu = law.program.pytensor({**params, **law.formula_values(data)})
        log_mu = pt.log(mu)
        if likelihood == "student_t":
            pm.StudentT(
                OBSERVED,
                nu=sampled["nu"],
                mu=log_mu,
                sigma=sampled["sigma"],
                observed=observed,
                dims="run",
            )
        else:
            pm.Normal(OBSERVED, mu=log_mu, sigma=sampled["sigma"], observed=observed, dims="run")
    return model


def model_data(
    law: Law, runs: Runs, refs: Mapping[str, float], pooling: PoolingSpec | None = None
) -> dict[str, np.ndarray]:
    """Values of every ``pm.Data`` container of :func:`build_model` for these runs."""
    values = {col: runs.column(col) for col in law.inputs}
    if pooling is not None:
        values[GROUP_INDEX] = pooling.index(runs.column("group"))
    values[OBSERVED + "_data"] = np.log(runs.column("loss"))
    values.update({f"ref_{name}": np.asarray(value) for name, value in refs.items()})
    return values


def prior_predictive(
    law: Law,
    runs: Runs,
    *,
    priors: Mapping[str, Any] | None = None,
    likelihood: str = "student_t",
    draws: int = 500,
    seed: int | None = None,
):
    """Draws of parameters and of the observed loss from the prior, at the runs' inputs.

    Returns
    -------
    xr.DataTree
        Groups ``prior`` (parameters in user units and sampled values) and ``prior_predictive``
        (``loss`` with dims ``chain``, ``draw``, ``run``).
    """
    import xarray as xr

    plans = plan_parameters(law, priors, likelihood=likelihood)
    check_runs(law, runs, plans)
    refs = references(law, runs)
    rng = np.random.default_rng(seed)
    sampled = {p.sampled_name: p.prior.sample(rng, (1, draws)) for p in plans}
    params = user_values(law, plans, sampled, refs)
    inputs = {c: runs.column(c)[None, None, :] for c in law.inputs}
    mu = law.evaluate({k: np.asarray(v)[..., None] for k, v in params.items()}, inputs)
    sigma = sampled["sigma"][..., None]
    noise = rng.standard_normal(mu.shape)
    if likelihood == "student_t":
        noise = rng.standard_t(sampled["nu"][..., None], size=mu.shape)
    loss = mu * np.exp(sigma * noise)
    dims = ("chain", "draw")
    prior = xr.Dataset(
        {k: (dims, np.broadcast_to(v, (1, draws))) for k, v in {**sampled, **params}.items()}
    )
    pp = xr.Dataset({"mu": ((*dims, "run"), mu), "loss": ((*dims, "run"), loss)})
    return xr.DataTree.from_dict({"prior": prior, "prior_predictive": pp})
