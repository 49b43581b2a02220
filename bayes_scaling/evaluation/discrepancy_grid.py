"""Grid posteriors of the extrapolation discrepancy: its scale ``tau`` and its drift ``b``.

:mod:`bayes_scaling.evaluation.discrepancy` runs the leave-future-out fits; this module turns
their held-out runs into the two one-dimensional grid posteriors.

**Scale.** The predictive density of each held-out log(loss) given ``tau`` is the inner fit's
predictive draws convolved with ``Normal(0, (tau * d_i)^2)`` (:func:`tau_loglik`); prior
``tau ~ HalfNormal(TAU_PRIOR_SCALE)``.

**Drift.** A law that bends differently from the runs (an image-classification curve that
saturates earlier than a power law allows, a sweep whose loss falls faster than the fitted
exponent) errs on one side, more the farther it extrapolates. The held-out runs show that side:
they sit mostly above or mostly below the inner forecast. The discrepancy then gets a mean as
well as a spread, ``delta ~ Normal(b * d, (tau * d)^2)``, ``b`` in log(loss) per e-fold, prior
``b ~ Normal(0, DRIFT_PRIOR_SCALE)``. Its posterior (:func:`drift_posterior`) uses the same
held-out runs, each summarised by the median and robust spread of the inner predictive (a
Gaussian approximation: only the side and size of the miss matter here), with ``tau``
integrated out under its prior. ``tau`` itself keeps the posterior it has without a drift, so
the spread still holds the whole miss: the drift moves the centre of a forecast without being
taken as certain.

Both were chosen by proper scores on the shipped public data sets (``benchmarks/calibration.py``;
the drift: methods ``drift``, ``drift+tau:<sd>`` and ``lfo1+nodrift``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "DRIFT_GRID",
    "DRIFT_PRIOR_SCALE",
    "TAU_GRID",
    "TAU_PRIOR_SCALE",
    "draw_drift",
    "drift_posterior",
    "grid_posterior",
    "tau_loglik",
    "tau_posterior",
]

#: Scale of the half-normal prior of tau (relative loss error per e-fold of extrapolation).
TAU_PRIOR_SCALE = 0.05
#: Grid rows per block of the kernel sum in :func:`tau_posterior` (keeps the block in cache).
_BLOCK = 64
#: Grid of tau's posterior: 0 and 400 log-spaced values from 1e-4 to 1.
TAU_GRID = np.concatenate([[0.0], np.geomspace(1e-4, 1.0, 400)])

#: Prior sd of the drift b (log(loss) per e-fold of extrapolation).
DRIFT_PRIOR_SCALE = 0.02
#: Grid of the drift's posterior: +-7.5 prior sd in steps of 0.0025.
DRIFT_GRID = np.linspace(-0.15, 0.15, 121)


def drift_posterior(
    held: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    tau_grid: np.ndarray,
    tau_prior: np.ndarray,
    *,
    prior_scale: float = DRIFT_PRIOR_SCALE,
) -> np.ndarray:
    """Normalised grid posterior of the drift over :data:`DRIFT_GRID`.

    Parameters
    ----------
    held : sequence of (log_draws, log_observed, distance)
        One entry per leave-future-out cut-off: the inner predictive draws (S, P) of the held-out
        runs on the likelihood's scale, their observed values (P,) and distances (P,). The
        cut-offs' log-likelihoods are averaged, as for ``tau``.
    tau_grid, tau_prior : ndarray
        Grid of ``tau`` and its prior mass on it (integrated out).
    prior_scale : float
        Prior sd of the drift.
    """
    loglik = np.zeros((DRIFT_GRID.size, tau_grid.size))
    for log_draws, log_observed, distance in held:
        x = np.asarray(log_draws, float)
        centre = np.median(x, axis=0)
        q75, q25 = np.quantile(x, [0.75, 0.25], axis=0)
        spread = np.maximum((q75 - q25) / 1.349, 1e-9)
        d = np.asarray(distance, float)
        miss = np.asarray(log_observed, float) - centre  # (P,)
        var = spread[None, :] ** 2 + (tau_grid[:, None] * d[None, :]) ** 2  # (T, P)
        norm = -0.5 * np.log(2 * np.pi * var).sum(axis=1)  # (T,)
        for j, b in enumerate(DRIFT_GRID):
            loglik[j] += norm - 0.5 * ((miss - b * d) ** 2 / var).sum(axis=1)
    logp = loglik / max(len(held), 1) + np.log(np.maximum(tau_prior, 1e-300))[None, :]
    top = logp.max(axis=1, keepdims=True)  # log-sum-exp over tau, row by row
    marginal = top[:, 0] + np.log(np.exp(logp - top).sum(axis=1))
    marginal -= 0.5 * (DRIFT_GRID / prior_scale) ** 2
    p = np.exp(marginal - marginal.max())
    return p / p.sum()


def draw_drift(rng: np.random.Generator, drift: np.ndarray, size: Any) -> np.ndarray:
    """Draws from the drift's grid posterior ``drift``, jittered uniformly within a grid cell."""
    step = DRIFT_GRID[1] - DRIFT_GRID[0]
    return rng.choice(DRIFT_GRID, size=size, p=drift) + rng.uniform(-step, step, size) / 2


def tau_loglik(log_draws: np.ndarray, log_observed: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """Log-likelihood of tau at every point of the grid, from one set of held-out runs.

    The predictive density of each held-out log(loss) given tau is the fit's predictive draws
    ``log_draws`` (S, P) -- parameter uncertainty and the new-run noise -- convolved with
    ``Normal(0, (tau * d_i)^2)``; it is estimated as a Gaussian kernel density whose kernel
    variance is ``h_i^2 + tau^2 d_i^2`` (``h_i``: Silverman's bandwidth). So tau only grows when
    the residuals are larger than the fit's own predictive explains.
    """
    x = np.asarray(log_draws, float)
    y = np.asarray(log_observed, float)
    d = np.asarray(distance, float)
    s = x.shape[0]
    h = np.maximum(0.9 * _robust_spread(x) * s ** (-0.2), 1e-6)
    var = h[None, :] ** 2 + (TAU_GRID[:, None] * d[None, :]) ** 2  # (G, P)
    # log mean_s N(y_i - x_si; 0, var) = log mean_s exp(-(r2_si - min_s r2_si) / (2 var))
    #   - min_s r2_si / (2 var) - log(2 pi var) / 2: the shifted kernels lie in (0, 1] and at
    # least one is 1, so they are summed in float32 (4x faster exp) without under- or overflow
    r2 = (y[None, :] - x) ** 2  # (S, P)
    r2_min = r2.min(axis=0)
    shifted = np.ascontiguousarray((r2 - r2_min).T, dtype=np.float32)  # (P, S)
    coef = (-0.5 / var).astype(np.float32)
    sums = np.empty(var.shape)
    block = np.empty((min(_BLOCK, TAU_GRID.size), s), np.float32)
    for i in range(y.size):
        for a in range(0, TAU_GRID.size, _BLOCK):
            b = min(a + _BLOCK, TAU_GRID.size)
            work = block[: b - a]
            np.multiply(coef[a:b, i, None], shifted[i][None, :], out=work)
            np.exp(work, out=work)
            sums[a:b, i] = work.sum(axis=1, dtype=np.float64)
    log_k = np.log(sums / s) - 0.5 * r2_min / var - 0.5 * np.log(2 * np.pi * var)
    return log_k.sum(axis=1)


def grid_posterior(
    loglik: np.ndarray, *, prior_scale: float = TAU_PRIOR_SCALE
) -> tuple[np.ndarray, np.ndarray]:
    """Normalised grid posterior of tau from its log-likelihood; tau ~ HalfNormal(prior_scale)."""
    logp = loglik - 0.5 * (TAU_GRID / prior_scale) ** 2 + np.log(np.gradient(TAU_GRID))
    p = np.exp(logp - logp.max())
    return TAU_GRID.copy(), p / p.sum()


def tau_posterior(
    log_draws: np.ndarray,
    log_observed: np.ndarray,
    distance: np.ndarray,
    *,
    prior_scale: float = TAU_PRIOR_SCALE,
) -> tuple[np.ndarray, np.ndarray]:
    """Grid posterior of tau from one set of held-out runs (:func:`tau_loglik`): the grid and
    its normalised probabilities."""
    return grid_posterior(tau_loglik(log_draws, log_observed, distance), prior_scale=prior_scale)


def _robust_spread(x: np.ndarray) -> np.ndarray:
    q75, q25 = np.quantile(x, [0.75, 0.25], axis=0)
    return np.maximum(np.minimum(x.std(axis=0), (q75 - q25) / 1.349), 1e-9)
