"""Probability that a new run's observed loss falls below a target, from the fitted noise.

``y = mu * exp(sigma * eps + delta)``: ``eps`` the fitted Normal or Student-t noise on log loss,
``delta`` the extrapolation discrepancy when the fit has one (:mod:`bayes_scaling.discrepancy`).
Used by :func:`bayes_scaling.budget.prob_below_target` with ``predictive=True``.
"""

from __future__ import annotations

import numpy as np

#: Noise draws per posterior draw for the Student-t predictive probability.
PREDICTIVE_REPLICATES = 16


def discrepancy_scale(fit, inputs) -> np.ndarray | None:
    """``tau * d`` (chain, draw, m) for a fit with an extrapolation discrepancy, else None.

    ``d`` is the distance beyond the training range and ``tau`` the learned discrepancy per
    e-fold (see :mod:`bayes_scaling.discrepancy`); without one, None.
    """
    settings = getattr(fit, "settings", None)
    info = settings.get("discrepancy") if isinstance(settings, dict) else None
    if not info:
        return None
    try:
        from bayes_scaling.discrepancy import VARIABLE, extrapolation_distance
    except ImportError:  # pragma: no cover - optional module
        return None
    post = fit.posterior
    if VARIABLE not in post:
        return None
    C = np.asarray(inputs["C"], dtype=float)[None, None, :]
    d = extrapolation_distance({**inputs, "C": C}, info["maxima"])
    return post[VARIABLE].values[..., None] * d


def predictive_probability(fit, mu: np.ndarray, t: np.ndarray, *, extra=None) -> np.ndarray:
    """P(y <= t), y = mu * exp(sigma * eps + delta), averaged over draws; mu (chain, draw, m, 1).

    ``delta ~ Normal(0, extra^2)`` is the extrapolation discrepancy when the fit has one.
    Normal noise is integrated exactly (its CDF); Student-t noise with
    :data:`PREDICTIVE_REPLICATES` noise draws per posterior draw from the fit's seed, shared by
    every budget and target so the probability stays monotone in the target.
    """
    from scipy import special

    post = fit.posterior
    sigma = post["sigma"].values[..., None, None]
    extra = None if extra is None else np.asarray(extra, dtype=float)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.log(t) - np.log(mu)
    if fit.likelihood != "student_t":
        scale = sigma if extra is None else np.sqrt(sigma**2 + extra**2)
        with np.errstate(divide="ignore", invalid="ignore"):
            cdf = special.ndtr(gap / scale)
        return np.nanmean(np.where(np.isnan(mu), np.nan, cdf), axis=(0, 1))
    rng = np.random.default_rng(int(fit.settings.get("seed", 0)) + 2)
    nu = post["nu"].values
    reps = PREDICTIVE_REPLICATES
    eps = (
        rng.standard_t(nu[..., None], size=(*nu.shape, reps))[..., None, None, :] * sigma[..., None]
    )
    normal = rng.standard_normal((*nu.shape, reps))[..., None, None, :]
    count = np.zeros(gap.shape)
    for r in range(reps):
        noise = eps[..., r] if extra is None else eps[..., r] + extra * normal[..., r]
        count += noise <= gap
    frac = count / reps
    return np.nanmean(np.where(np.isnan(gap), np.nan, frac), axis=(0, 1))
