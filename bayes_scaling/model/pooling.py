"""Partial pooling across groups of runs (datasets, architectures, schedules, ...).

A :class:`PoolingSpec` says which law parameters vary by group; the others are shared. A varying
parameter varies on its *sampled* (unit-free) value, on an unconstrained link scale chosen from the
support of its prior (logit for Beta, log for positive priors, identity for Normal)::

    theta_pop           ~ prior of the parameter          (population-level sampled value)
    tau                 ~ HalfNormal(0.5)                 (population sd on the link scale)
    link(theta_g)       ~ Normal(link(theta_pop), tau)    (one value per group g)

so with a log link, ``tau = 0.5`` means groups typically differ by a factor ``exp(0.5) ~ 1.6``.
Each group's value is then turned into user units by the law's own scaling rule, exactly as for a
single fit. The group values are sampled either *centred* (``link(theta_g)`` directly) or
*non-centred* (``link(theta_g) = link(theta_pop) + tau * z_g`` with ``z_g ~ Normal(0, 1)``).
Well-identified groups (many runs spread over the inputs) sample well centred and badly
non-centred, weakly identified groups the other way round (Betancourt & Girolami 2015,
"Hamiltonian Monte Carlo for Hierarchical Models", arXiv:1312.0906): ``centered="auto"`` decides
with :func:`auto_centered`.

In the posterior, the law's parameter names (``E``, ``alpha``, ...) hold the population-level values
(the centre of the population, in user units), ``<name>_group`` the per-group values (dims
``chain``, ``draw``, ``group``; labels on ``group``) and ``<sampled>_sd`` the population sd on the
link scale. Predictions for a new, unseen group draw a new group value from the population per
posterior draw, and a view of one group answers every question unchanged: see
:mod:`bayes_scaling.questions.draws`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_scaling.core.errors import DataError, PriorError
from bayes_scaling.inputs.priors import Prior
from bayes_scaling.model.plans import ParameterPlan, user_values

if TYPE_CHECKING:
    import xarray as xr

    from bayes_scaling.inputs.laws import Law
    from bayes_scaling.inputs.runs import Runs

#: Default prior of the population sd of each varying parameter (on the link scale).
GROUP_SD_PRIOR = "HalfNormal(0.5)"
#: ``auto`` centres a parameter when every group has at least this many runs ...
CENTRED_MIN_RUNS = 10
#: ... and every law input spans at least this many decades inside every group.
CENTRED_MIN_DECADES = 0.5
#: Name of the ``pm.Data`` container holding each run's group index.
GROUP_INDEX = "group_index"


# ------------------------------------------------------------------------------------ links
def link_bounds(prior: Prior) -> tuple[float, float]:
    """Support of ``prior`` used to pick the link (``Fixed`` priors cannot vary)."""
    if prior.is_fixed:
        raise PriorError(f"a fixed parameter ({prior}) cannot vary by group")
    if prior.family == "HalfStudentT":
        return (0.0, math.inf)
    return prior.support


def to_link(x: Any, prior: Prior, xp: Any = np) -> Any:
    """Map a sampled value to the unconstrained link scale (``xp`` is numpy or pytensor.tensor)."""
    lo, hi = link_bounds(prior)
    if math.isfinite(lo) and math.isfinite(hi):
        u = (x - lo) / (hi - lo)
        return xp.log(u) - xp.log1p(-u)
    if math.isfinite(lo):
        return xp.log(x - lo)
    if math.isfinite(hi):
        return xp.log(hi - x)
    return x


def from_link(z: Any, prior: Prior, xp: Any = np) -> Any:
    """Inverse of :func:`to_link`."""
    lo, hi = link_bounds(prior)
    if math.isfinite(lo) and math.isfinite(hi):
        return lo + (hi - lo) / (1.0 + xp.exp(-z))
    if math.isfinite(lo):
        return lo + xp.exp(z)
    if math.isfinite(hi):
        return hi - xp.exp(z)
    return z


# ------------------------------------------------------------------------------------ spec
@dataclass(frozen=True)
class PoolingSpec:
    """Which parameters vary by group, how they are parameterised, and the group labels.

    Attributes
    ----------
    vary : tuple of str
        Law parameters that vary by group (the others are shared by all groups).
    centered : dict of str to bool
        Centred (True) or non-centred (False) parameterisation per varying parameter.
    groups : tuple of str
        Group labels in the order of the ``group`` dim.
    sd_prior : Prior
        Prior of the population sd on the link scale.
    reason : str
        Why ``auto`` chose what it chose (empty when the user decided).
    """

    vary: tuple[str, ...]
    centered: dict[str, bool]
    groups: tuple[str, ...]
    sd_prior: Prior = field(default_factory=lambda: Prior.parse(GROUP_SD_PRIOR))
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in fit files)."""
        return {
            "vary": list(self.vary),
            "centered": dict(self.centered),
            "groups": list(self.groups),
            "sd_prior": str(self.sd_prior),
            "reason": self.reason,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PoolingSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            vary=tuple(d["vary"]),
            centered={k: bool(v) for k, v in d["centered"].items()},
            groups=tuple(str(g) for g in d["groups"]),
            sd_prior=Prior.parse(d.get("sd_prior", GROUP_SD_PRIOR)),
            reason=str(d.get("reason", "")),
        )

    def cache_key(self) -> tuple:
        """What a compiled model depends on (labels do not matter, their number does)."""
        return (
            self.vary,
            tuple(sorted(self.centered.items())),
            str(self.sd_prior),
            len(self.groups),
        )

    def index(self, labels: Sequence[str]) -> np.ndarray:
        """Group index of each label."""
        where = {g: i for i, g in enumerate(self.groups)}
        return np.array([where[str(label)] for label in labels], dtype=np.int64)


def parse_vary(vary: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"E,A"`` or ``["E", "A"]`` -> ``("E", "A")``; None or empty -> ``()``."""
    if vary is None:
        return ()
    items = vary.split(",") if isinstance(vary, str) else list(vary)
    return tuple(dict.fromkeys(str(v).strip() for v in items if str(v).strip()))


def auto_centered(law: Law, runs: Runs) -> tuple[bool, str]:
    """Whether the groups identify their parameters well enough for the centred form.

    Centred when every group has at least :data:`CENTRED_MIN_RUNS` runs and every law input spans
    at least :data:`CENTRED_MIN_DECADES` decades inside every group; non-centred otherwise. With
    50 families of 20 points at 1% noise the non-centred form gave ESS ~ 22 and R-hat 1.14,
    the centred form passes the gate.

    Returns
    -------
    (bool, str)
        The decision and a one-line reason.
    """
    labels = runs.column("group")
    counts = {g: int(np.sum(labels == g)) for g in dict.fromkeys(labels)}
    fewest = min(counts.values())
    spans = []
    for col in law.inputs:
        logs = np.log10(runs.column(col))
        spans.append(min(float(np.ptp(logs[labels == g])) for g in counts))
    narrowest = min(spans)
    ok = fewest >= CENTRED_MIN_RUNS and narrowest >= CENTRED_MIN_DECADES
    reason = (
        f"{'centred' if ok else 'non-centred'}: the smallest group has {fewest} runs "
        f"(centred needs >= {CENTRED_MIN_RUNS}) and the narrowest input span inside a group is "
        f"{narrowest:.2f} decades (centred needs >= {CENTRED_MIN_DECADES})"
    )
    return ok, reason


def plan_pooling(
    law: Law,
    runs: Runs,
    plans: tuple[ParameterPlan, ...],
    *,
    vary: str | Sequence[str] | None,
    centered: bool | str | Mapping[str, bool | str] = "auto",
    sd_prior: str | Prior = GROUP_SD_PRIOR,
) -> PoolingSpec | None:
    """Validate the user's pooling choice against the law and runs; None when nothing varies."""
    names = parse_vary(vary)
    if not names:
        return None
    unknown = [n for n in names if n not in law.param_names]
    if unknown:
        raise PriorError(
            f"--vary names {', '.join(unknown)}, which law {law.name!r} does not have; "
            f"choose among {', '.join(law.param_names)}"
        )
    fixed = [p.name for p in plans if p.name in names and p.prior.is_fixed]
    if fixed:
        raise PriorError(
            f"{', '.join(fixed)} {'is' if len(fixed) == 1 else 'are'} fixed by a prior and cannot "
            "vary by group; drop it from --vary or give it a distribution"
        )
    if not runs.has("group"):
        raise DataError(
            f"{runs.source}: parameters vary by group ({', '.join(names)}) but the runs have no "
            "group column; map one with --group-col NAME (group_col= in Python) or load a table "
            "with a 'group' column"
        )
    groups = tuple(runs.groups)
    if len(groups) < 2:
        raise DataError(
            f"{runs.source}: the group column holds one group ({groups[0]!r}); partial pooling "
            "needs at least two groups; drop --vary to fit one law"
        )
    auto, reason = auto_centered(law, runs)
    choice: dict[str, bool] = {}
    given = centered if isinstance(centered, Mapping) else dict.fromkeys(names, centered)
    extra = sorted(set(given) - set(names))
    if extra:
        raise PriorError(f"centered= names {', '.join(extra)}, which do not vary by group")
    for name in names:
        value = given.get(name, "auto")
        if value == "auto":
            choice[name] = auto
        elif isinstance(value, bool | np.bool_):
            choice[name] = bool(value)
        else:
            raise PriorError(f"centered for {name} must be True, False or 'auto', not {value!r}")
    uses_auto = any(given.get(n, "auto") == "auto" for n in names)
    return PoolingSpec(
        vary=names,
        centered=choice,
        groups=groups,
        sd_prior=Prior.parse(sd_prior),
        reason=reason if uses_auto else "",
    )


# ------------------------------------------------------------------------------------ model
def pooled_names(plan: ParameterPlan) -> dict[str, str]:
    """Model variable names of a varying parameter: population value, sd, group values."""
    s = plan.sampled_name
    return {"pop": f"{s}_pop", "sd": f"{s}_sd", "link": f"{s}_link", "z": f"{s}_z"}


def group_tensor(plan: ParameterPlan, spec: PoolingSpec) -> Any:
    """Create the population and group variables of ``plan`` in the current model.

    Returns the group values on the sampled scale (a pytensor vector over dim ``group``).
    """
    import pymc as pm
    import pytensor.tensor as pt

    names = pooled_names(plan)
    pop = plan.prior.to_pymc(names["pop"])
    sd = spec.sd_prior.to_pymc(names["sd"])
    centre = to_link(pop, plan.prior, pt)
    if spec.centered[plan.name]:
        value = pm.Normal(names["link"], mu=centre, sigma=sd, dims="group")
    else:
        z = pm.Normal(names["z"], mu=0.0, sigma=1.0, dims="group")
        value = centre + sd * z
    return from_link(value, plan.prior, pt)


def sampled_var_names(plans: tuple[ParameterPlan, ...], spec: PoolingSpec) -> list[str]:
    """Posterior names of the population sds and group values (for diagnostics).

    The population value keeps the plain sampled name (``E_scaled``, ``alpha``) in a fit.
    """
    out = []
    for plan in plans:
        if plan.name in spec.vary:
            names = pooled_names(plan)
            key = "link" if spec.centered[plan.name] else "z"
            out += [names["sd"], names[key]]
    return out


def _population(post: xr.Dataset, plan: ParameterPlan) -> np.ndarray:
    """Population-level sampled value (``<sampled>_pop`` when sampling, ``<sampled>`` in a fit)."""
    name = pooled_names(plan)["pop"]
    return np.asarray(post[name if name in post else plan.sampled_name].values, dtype=float)


def group_link_values(post: xr.Dataset, plan: ParameterPlan, spec: PoolingSpec) -> np.ndarray:
    """Per-group values on the link scale, shape (chain, draw, group)."""
    names = pooled_names(plan)
    if spec.centered[plan.name]:
        return np.asarray(post[names["link"]].values, dtype=float)
    centre = to_link(_population(post, plan), plan.prior)
    sd = np.asarray(post[names["sd"]].values, float)
    return centre[..., None] + sd[..., None] * np.asarray(post[names["z"]].values, float)


def group_posterior(
    post: xr.Dataset, *, law: Law, plans: tuple[ParameterPlan, ...], spec: PoolingSpec, refs
) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Posterior variables of a pooled fit: population sds and ``<name>_group`` in user units."""
    dims = ("chain", "draw")
    shape = (post.sizes["chain"], post.sizes["draw"])
    sampled: dict[str, np.ndarray] = {}
    out: dict[str, tuple[tuple[str, ...], np.ndarray]] = {}
    for plan in plans:
        if plan.name in spec.vary:
            link = group_link_values(post, plan, spec)
            sampled[plan.sampled_name] = from_link(link, plan.prior)
            sd_name = pooled_names(plan)["sd"]
            out[sd_name] = (dims, np.asarray(post[sd_name].values, float))
        elif plan.prior.is_fixed:
            sampled[plan.sampled_name] = np.full((*shape, 1), float(plan.prior.params[0]))
        else:
            sampled[plan.sampled_name] = np.asarray(post[plan.sampled_name].values)[..., None]
    values = user_values(law, plans, sampled, refs)
    for name in spec.vary:
        out[f"{name}_group"] = ((*dims, "group"), np.asarray(values[name], dtype=float))
    return out
