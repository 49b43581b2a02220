"""Probability that a new run's observed loss falls below a target, from the fitted noise.

``y = mu * exp(sigma * eps + delta)`` (on the target's likelihood scale, see
:mod:`bayes_scaling.model.target`): ``eps`` the fitted Normal or Student-t noise on log loss,
``delta ~ Normal(b d, (tau d)^2)`` the extrapolation discrepancy when the fit has one
(:mod:`bayes_scaling.evaluation.discrepancy`).
Used by :func:`bayes_scaling.questions.budget.prob_below_target` with ``predictive=True``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.likelihood import Normal

#: Posterior variable holding the per-draw discrepancy scale.
VARIABLE = "discrepancy_tau"
#: Posterior variable holding the per-draw discrepancy drift (fits saved before it: none).
DRIFT_VARIABLE = "discrepancy_drift"

#: Noise draws per posterior draw for the Student-t predictive probability.
PREDICTIVE_REPLICATES = 16


def drift_per_draw(post) -> np.ndarray | float:
    """The discrepancy's drift per draw (chain, draw, 1); 0 for a fit saved before it existed."""
    return post[DRIFT_VARIABLE].values[..., None] if DRIFT_VARIABLE in post else 0.0


def discrepancy_moments(fit, inputs) -> tuple[np.ndarray, np.ndarray] | None:
    """``(tau * d, b * d)`` (chain, draw, m): the discrepancy's sd and mean per draw, else None.

    ``d`` is the distance beyond the training range, ``tau`` the learned discrepancy per e-fold
    and ``b`` its drift (0 for fits saved before the drift existed; see
    :mod:`bayes_scaling.evaluation.discrepancy`); a fit without a discrepancy gives None.
    """
    info = getattr(fit, "info", {}).get("discrepancy")
    if not info:
        return None
    post = fit.posterior
    if VARIABLE not in post:
        return None
    C = np.asarray(inputs["C"], dtype=float)[None, None, :]
    d = extrapolation_distance({**inputs, "C": C}, info["maxima"])
    return post[VARIABLE].values[..., None] * d, drift_per_draw(post) * d


def probability_per_draw(fit, mu: np.ndarray, t: Any, *, extra=None) -> np.ndarray:
    """Per posterior draw, P(y <= t) for a new run with expected loss ``mu`` (chain, draw, ...).

    ``y = mu * exp(sigma * eps + delta)``; ``delta ~ Normal(shift, sd^2)`` is the extrapolation
    discrepancy when the fit has one: ``extra = (sd, shift)``, broadcastable to ``mu`` (from
    :func:`discrepancy_moments`). Normal noise is integrated exactly (its CDF); Student-t noise
    with :data:`PREDICTIVE_REPLICATES` noise draws per posterior draw from the fit's seed, shared
    by every point and target so the probability stays monotone in the target. NaN where ``mu``
    or ``t`` is undefined.
    """
    post = fit.posterior
    target_scale = fit.target_scale
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.asarray(target_scale.forward(t) - target_scale.forward(mu), dtype=float)
    chains_draws = post["sigma"].shape
    trailing = (1,) * (gap.ndim - len(chains_draws))
    sigma = post["sigma"].values.reshape(chains_draws + trailing)
    sd = None
    if extra is not None:
        sd, shift = (np.asarray(e, dtype=float) for e in extra)
        gap = gap - shift
    if isinstance(fit.noise, Normal):  # integrated exactly
        from scipy import special

        spread = sigma if sd is None else np.sqrt(sigma**2 + sd**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            cdf = special.ndtr(gap / spread)
        return np.where(np.isnan(gap), np.nan, cdf)
    rng = np.random.default_rng(fit.seed + 2)
    noise = {k: v[..., None] for k, v in fit.noise_draws(extra_dims=0).items()}
    reps = PREDICTIVE_REPLICATES
    shape = (*chains_draws, reps)
    eps = fit.noise.draw(rng, noise, shape).reshape(chains_draws + trailing + (reps,))
    normal = rng.standard_normal(shape).reshape(chains_draws + trailing + (reps,))
    count = np.zeros(gap.shape)
    for r in range(reps):
        noise_r = eps[..., r] if sd is None else eps[..., r] + sd * normal[..., r]
        count += noise_r <= gap
    return np.where(np.isnan(gap), np.nan, count / reps)


def predictive_probability(fit, mu: np.ndarray, t: np.ndarray, *, extra=None) -> np.ndarray:
    """P(y <= t) averaged over draws; ``mu`` (chain, draw, m, 1), ``t`` broadcastable.

    ``extra = (sd, shift)`` (chain, draw, m) from :func:`discrepancy_moments`; see
    :func:`probability_per_draw`, of which this is the mean over the draws.
    """
    if extra is not None:
        extra = tuple(np.asarray(e, dtype=float)[..., None] for e in extra)
    return np.nanmean(probability_per_draw(fit, mu, t, extra=extra), axis=(0, 1))


def distance_inputs(law, runs: Runs) -> tuple[str, ...]:
    """Columns that define the training range: the law's scale axes, and C when the runs have it.

    Declared inputs that are not scale axes (a learning rate, a batch size) never count: a
    setting outside its training range is not an extrapolation in scale.
    """
    cols = list(law.scale_axes)
    if runs.has("C") and "C" not in cols:
        cols.append("C")
    return tuple(cols)


def training_maxima(law, runs: Runs) -> dict[str, float]:
    """Largest training value of each column of :func:`distance_inputs`."""
    return {c: float(np.max(runs.column(c))) for c in distance_inputs(law, runs)}


def extrapolation_distance(inputs: Mapping[str, Any], maxima: Mapping[str, float]) -> np.ndarray:
    """e-folds beyond the training range: ``max_k max(0, log(x_k / max_k))`` (0 inside it).

    Columns of ``maxima`` missing from ``inputs`` are ignored; with none left (a law without
    scale axes), every point is inside the range (distance 0).
    """
    parts = []
    for c, m in maxima.items():
        if c in inputs:
            with np.errstate(divide="ignore", invalid="ignore"):
                part = np.log(np.asarray(inputs[c], float) / m)
            parts.append(np.maximum(np.nan_to_num(part, nan=0.0, neginf=0.0), 0.0))
    if not parts:
        shapes = [np.shape(v) for v in inputs.values()]
        return np.zeros(np.broadcast_shapes(*shapes) if shapes else ())
    return np.max(np.stack(np.broadcast_arrays(*parts)), axis=0)


def sort_column(law, runs: Runs) -> str:
    """Column that orders runs from small to large: C when present, else the first scale axis.

    A law without any scale axis (every input a setting) falls back to its first input.
    """
    if runs.has("C"):
        return "C"
    return (law.scale_axes or law.inputs)[0]


def extrapolation_noise(
    result: Any,
    inputs: Mapping[str, np.ndarray],
    shape: tuple[int, ...],
    rng: np.random.Generator,
) -> np.ndarray | None:
    """Draws of ``delta`` (chain, draw, point) for a fit with a discrepancy, else None."""
    post = result.posterior
    info = getattr(result, "info", {}).get("discrepancy")
    if VARIABLE not in post or not info:
        return None
    d = extrapolation_distance(inputs, info["maxima"])
    tau = post[VARIABLE].values[..., None]
    return (drift_per_draw(post) + tau * rng.standard_normal(shape)) * d[None, None, :]
