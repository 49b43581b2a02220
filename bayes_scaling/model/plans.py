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

from bayes_scaling.core.errors import DataError, LawError, PriorError
from bayes_scaling.inputs.formula import Formula
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law
from bayes_scaling.inputs.priors import Prior, parse_priors
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.likelihood import LIKELIHOODS, get_likelihood
from bayes_scaling.model.target import TargetScale, target_references

#: Name of the observed variable of a positive target (log of the observed loss); a real target's
#: is ``TargetScale.observed_name`` (see :mod:`bayes_scaling.model.target`).
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
    """Reference values of the runs, the names a ``from_scaled`` rule may use.

    Each input: its geometric mean (log-scaled inputs) or mean (linear ones); ``L_min``: the
    smallest observed target; ``L_scale`` and ``L_mean``: the target's spread (1 for a positive
    target) and mean (see :mod:`bayes_scaling.model.target`).
    """
    refs = {}
    for col in law.inputs:
        values = runs.column(col)
        log = law.input_spec(col).scaling == "log"
        refs[col] = float(np.exp(np.mean(np.log(values)))) if log else float(np.mean(values))
    y = runs.column("loss")
    refs[LOSS_REFERENCE] = float(np.min(y))
    refs.update(target_references(law.target, y))
    return refs


def target_scale(law: Law, refs: Mapping[str, float] | None) -> TargetScale:
    """The likelihood's scale of ``law``'s target with the fit's reference values."""
    return TargetScale.of(law.target, refs)


def observed_values(law: Law, runs: Runs, refs: Mapping[str, float]) -> tuple[str, np.ndarray]:
    """Name and values of the observed variable: the runs' target on the likelihood's scale."""
    scale = target_scale(law, refs)
    return scale.observed_name, scale.forward(runs.column("loss"))


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
    names.update({k: v for k, v in refs.items() if k not in law.input_map.values()})
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
    """Check that the runs can identify the law: inputs present and varying, enough runs.

    A parameter named like a column the runs table has but did not read is almost surely an
    input the law forgot to declare: LawError saying so.
    """
    columns = {c: c for c in runs.unused_columns}
    clash = [p for p in law.param_names if p in columns]
    if clash:
        raise LawError(
            f"{clash[0]!r} is a column of {runs.source}, but law {law.name!r} treats it as a "
            f"parameter; declare it as an input (--input {clash[0]}, "
            f"Law.from_formula(..., inputs=[{clash[0]!r}]), or an [input.{clash[0]}] table)"
        )
    missing = [c for c in law.inputs if not runs.has(c)]
    if missing:
        flag = (
            f"--{missing[0].lower()}-col NAME"
            if missing[0] in "NDCU"
            else (f"--col {missing[0]}=NAME")
        )
        raise DataError(
            f"{runs.source}: law {law.name!r} needs the input(s) {', '.join(missing)}, but the "
            f"runs have only {', '.join(runs.table.columns)}; map a column explicitly "
            f"(e.g. {flag})"
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
        if np.ptp(values) == 0.0:
            raise DataError(
                f"{runs.source}: input {col} has the same value ({values[0]:.4g}) in every run, "
                f"so law {law.name!r} cannot learn how loss depends on it; add runs that vary "
                f"{col} "
                "or use a law without it (e.g. power_law:C)"
            )


def check_fixed_priors(
    law: Law, runs: Runs, plans: tuple[ParameterPlan, ...], refs: Mapping[str, float]
) -> None:
    """Fixed priors must leave the model a valid starting point; PriorError naming them if not.

    A fixed value must lie in the support of the parameter's default prior (in user units: a
    positive scaling rule keeps the sign, so e.g. a default Beta on ``E / L_min`` admits E >= 0);
    noise parameters must be > 0; and with every free parameter at its prior median the law must
    be positive and finite at every run.
    """
    defaults = {p.name: p for p in law.parameters}
    bad = []
    for plan in plans:
        if not plan.prior.is_fixed:
            continue
        value = float(plan.prior.params[0])
        if plan.name not in defaults:  # noise: sigma, nu
            if not value > 0:
                bad.append(f"{plan.name}={value:g} (must be > 0)")
            continue
        if plan.scaled:  # fixed on the unit-free scale: the default prior's own bounds
            lower, upper = defaults[plan.name].prior.support
        else:
            lower, upper = _user_bounds(law, defaults[plan.name], refs)
        if not lower <= value <= upper:
            text = f"{plan.name}={value:g} (the data allow [{lower:.4g}, {upper:.4g}]"
            below = np.flatnonzero(runs.column("loss") < value)
            if value > upper and below.size:
                rows = ", ".join(str(i + 1) for i in below[:8])
                more = f" and {below.size - 8} more" if below.size > 8 else ""
                text += f": runs {rows}{more} have a loss below it"
            bad.append(text + ")")
    if bad:
        raise PriorError(
            f"fixed prior(s) {'; '.join(bad)} contradict the runs of {runs.source} or leave the "
            "model no valid value; give values inside those bounds, or a distribution instead of "
            "a number"
        )
    fixed = [p.name for p in plans if p.prior.is_fixed and p.name in law.param_names]
    if not fixed:
        return
    rng = np.random.default_rng(0)  # a fresh stream: the same check gives the same answer
    medians = {}
    for plan in plans:
        kw = plan.prior
        medians[plan.sampled_name] = (
            float(kw.params[0]) if kw.is_fixed else float(np.median(kw.sample(rng, 2001)))
        )
    params = user_values(law, plans, medians, refs)
    inputs = {c: runs.column(c) for c in law.inputs}
    with np.errstate(all="ignore"):
        mu = np.asarray(law.evaluate(params, inputs), dtype=float)
    wrong = np.flatnonzero(~target_scale(law, refs).valid_curve(mu))
    if wrong.size:
        rows = ", ".join(str(i + 1) for i in wrong[:8])
        given = ", ".join(f"{n}={_fixed_value(plans, n):g}" for n in fixed)
        raise PriorError(
            f"with the fixed prior(s) {given} "
            f"law {law.name!r} is not a valid {law.target.name} at run(s) {rows} of "
            f"{runs.source} (e.g. {mu[wrong[0]]:.4g}); the model has no valid value there: fix "
            "them to values the data allow, or give them a distribution"
        )


def _user_bounds(law: Law, param: Any, refs: Mapping[str, float]) -> tuple[float, float]:
    """Support of a parameter's default prior in user units.

    A scaling rule that needs only reference values (e.g. ``E * L_min * 1.25``: the irreducible
    loss as a fraction of 1.25 x the smallest observed loss) maps the bounds. Other rules keep the
    sign only.
    """
    lower, upper = param.prior.support
    if param.from_scaled is None:
        return lower, upper
    env = {fname: refs[col] for fname, col in law.input_map.items() if col in refs}
    env[LOSS_REFERENCE] = refs[LOSS_REFERENCE]
    try:
        with np.errstate(all="ignore"):
            lo = float(param.from_scaled.numpy({**env, param.name: lower}))
            hi = float(param.from_scaled.numpy({**env, param.name: upper}))
    except Exception:  # noqa: BLE001 - the rule needs other parameters: keep the sign
        return (0.0 if lower >= 0 else -np.inf), np.inf
    lo, hi = min(lo, hi), max(lo, hi)
    return lo, hi


def _fixed_value(plans: tuple[ParameterPlan, ...], name: str) -> float:
    """The fixed value of parameter ``name``."""
    return float(next(p for p in plans if p.name == name).prior.params[0])


__all__ = [
    "LIKELIHOODS",
    "OBSERVED",
    "ParameterPlan",
    "check_fixed_priors",
    "check_likelihood",
    "check_runs",
    "plan_parameters",
    "observed_values",
    "references",
    "target_scale",
    "user_values",
]
