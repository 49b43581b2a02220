"""Build the PyMC model of a law fitted to runs.

The likelihood is on the target's scale (:mod:`bayes_scaling.model.target`; log(loss) for a
positive loss): ``log(loss_i) ~ StudentT(nu, log mu_i, sigma)`` (or Normal; see
:mod:`bayes_scaling.model.likelihood`), where ``mu_i`` is the law's curve at run i in the user's
units. Parameters enter as planned by :mod:`bayes_scaling.model.plans`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayes_scaling.inputs.declared import SCALE_REFERENCE
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.likelihood import get_likelihood
from bayes_scaling.model.log_inputs import LOG_PREFIX, log_input_values, powers_as_exp
from bayes_scaling.model.plans import (
    check_runs,
    plan_parameters,
    references,
    target_scale,
    user_values,
)
from bayes_scaling.model.pooling import GROUP_INDEX, PoolingSpec, group_tensor


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
    parameters it names vary by group (see :mod:`bayes_scaling.model.pooling`).

    Returns
    -------
    pm.Model
    """
    import pymc as pm
    import pytensor.tensor as pt

    plans = plan_parameters(law, priors, likelihood=likelihood)
    check_runs(law, runs, plans)
    refs = dict(refs) if refs is not None else references(law, runs)
    scale = target_scale(law, refs)
    coords = {"run": np.arange(runs.n_runs)}
    if pooling is not None:
        coords["group"] = list(pooling.groups)
    with pm.Model(coords=coords) as model:
        data = {col: pm.Data(col, runs.column(col), dims="run") for col in law.inputs}
        log_values = log_input_values(law, {c: runs.column(c) for c in law.inputs})
        logs = {
            data[name.removeprefix(LOG_PREFIX)]: pm.Data(name, value, dims="run")
            for name, value in log_values.items()
        }
        observed = pm.Data(
            scale.observed_name + "_data", scale.forward(runs.column("loss")), dims="run"
        )
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
        mu = powers_as_exp(mu, logs)
        noise_model = get_likelihood(likelihood)
        noise = {name: sampled[name] for name in noise_model.noise_params}
        noise_model.pymc_observed(
            scale.observed_name,
            scale.forward_pt(mu, ref_data.get(SCALE_REFERENCE)),
            noise,
            observed,
            dims="run",
        )
    return model


def model_data(
    law: Law, runs: Runs, refs: Mapping[str, float], pooling: PoolingSpec | None = None
) -> dict[str, np.ndarray]:
    """Values of every ``pm.Data`` container of :func:`build_model` for these runs."""
    values = {col: runs.column(col) for col in law.inputs}
    values.update(log_input_values(law, values))
    if pooling is not None:
        values[GROUP_INDEX] = pooling.index(runs.column("group"))
    scale = target_scale(law, refs)
    values[scale.observed_name + "_data"] = scale.forward(runs.column("loss"))
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
    noise_model = get_likelihood(likelihood)
    noise = {name: sampled[name][..., None] for name in noise_model.noise_params}
    loss = target_scale(law, refs).observe(mu, noise_model.draw(rng, noise, mu.shape))
    dims = ("chain", "draw")
    prior = xr.Dataset(
        {k: (dims, np.broadcast_to(v, (1, draws))) for k, v in {**sampled, **params}.items()}
    )
    pp = xr.Dataset({"mu": ((*dims, "run"), mu), "loss": ((*dims, "run"), loss)})
    return xr.DataTree.from_dict({"prior": prior, "prior_predictive": pp})
