"""How each law parameter enters the model: its prior, whether it is sampled unit-free, and the
reference values that make it so.

Parameters with a ``from_scaled`` rule are sampled as unit-free ``<name>_scaled`` variables (see
:mod:`bayes_scaling.inputs.laws`) and mapped to user units by :func:`user_values`, with numpy or
pytensor, which is what makes NUTS efficient whatever the units of N, D and C.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from bayes_scaling.core.errors import DataError, PriorError
from bayes_scaling.inputs.formula import Formula
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law
from bayes_scaling.inputs.priors import Prior, parse_priors
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.likelihood import LIKELIHOODS, get_likelihood

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
    noise_model = get_likelihood(likelihood)
    given = parse_priors(priors)
    noise = list(noise_model.noise_params)
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
            ParameterPlan(
                name, given.get(name, Prior.parse(noise_model.default_priors[name])), False, None
            )
        )
    return tuple(plans)


def check_likelihood(likelihood: str) -> None:
    """Raise PriorError for an unknown likelihood name (see :mod:`.likelihood`)."""
    get_likelihood(likelihood)


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


__all__ = [
    "LIKELIHOODS",
    "OBSERVED",
    "ParameterPlan",
    "check_likelihood",
    "check_runs",
    "plan_parameters",
    "references",
    "user_values",
]
