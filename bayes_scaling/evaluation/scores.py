"""Scoring rules for probabilistic forecasts of held-out runs, computed from predictive draws.

Every function takes ``draws`` of shape ``(S, P)`` (S predictive draws of the observed loss ``y``
at P held-out points) and the observed losses ``observed`` of shape ``(P,)``; the scores are
functions of the draws only, so a Bayesian posterior predictive and a bootstrap baseline are scored
in exactly the same way.

Scale: the interval scores (coverage, relative width) and the median absolute relative error are
invariant to monotone transforms and are stated on the loss itself. The log score and CRPS are
computed on **log(loss)** (scale-free, like the likelihood of the fit): the log score is the log
predictive density of log(loss) in nats (higher is better), estimated with a Gaussian kernel
density of the draws; CRPS is in units of log(loss) (lower is better), estimated with the energy
form ``E|X - y| - E|X - X'| / 2`` (Gneiting & Raftery 2007, eq. 21).

Calibration at every level, not one: the PIT value of a held-out run is the predictive
probability of a loss at or below the observed one (uniform on (0, 1) for a calibrated
forecast); the calibration curve is the coverage of central intervals at the nominal levels of
:data:`LEVELS`; the interval score (Gneiting & Raftery 2007, eq. 43) rewards narrow intervals and
penalises misses, on log(loss).
"""

from __future__ import annotations

import numpy as np

from bayes_scaling.core.constants import CI
from bayes_scaling.core.intervals import check_ci, equal_tailed

#: |log(loss)| beyond which draws are clipped (a Student-t draw with tiny nu can overflow exp).
_LOG_LIMIT = 700.0
#: Nominal levels of the calibration curve.
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def _as_arrays(draws, observed) -> tuple[np.ndarray, np.ndarray]:
    draws = np.asarray(draws, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if draws.ndim == 1:
        draws = draws[:, None]
    if draws.ndim != 2 or observed.shape != (draws.shape[1],):
        raise ValueError(
            f"draws must have shape (S, P) and observed (P,); got {draws.shape} and "
            f"{observed.shape}"
        )
    return draws, observed


def central_interval(draws, *, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed ``ci`` interval of each column of ``draws`` (S, P)."""
    lower, _, upper = equal_tailed(draws, ci=ci, axis=0)
    return lower, upper


def coverage_band(n: int, levels, *, prob: float = CI) -> tuple[np.ndarray, np.ndarray]:
    """The central ``prob`` range of the coverage a calibrated forecast shows on ``n`` runs.

    At nominal level ``c`` the number of runs inside is Binomial(n, c) when the forecast is
    calibrated and the runs are independent; the band is its ``(1 - prob) / 2`` and
    ``(1 + prob) / 2`` quantiles (the smallest k whose distribution function reaches the
    probability, as ``scipy.stats.binom.ppf``) divided by ``n``.

    Returns
    -------
    lower, upper : numpy.ndarray
        Coverage fractions, one per level.
    """
    levels = np.asarray(levels, dtype=float)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    k = np.arange(n + 1)
    log_factorial = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1)))])
    log_choose = log_factorial[n] - log_factorial - log_factorial[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = np.where(k > 0, k * np.log(levels)[:, None], 0.0)
        outside = np.where(k < n, (n - k) * np.log1p(-levels)[:, None], 0.0)
    cdf = np.cumsum(np.exp(log_choose + inside + outside), axis=1)
    tails = ((1 - check_ci(prob)) / 2, (1 + prob) / 2)
    lower, upper = ((cdf >= q).argmax(axis=1) / n for q in tails)
    return lower, upper


def covered(draws, observed, *, ci: float) -> np.ndarray:
    """Whether each observation lies inside its central ``ci`` interval (bool, shape (P,))."""
    draws, observed = _as_arrays(draws, observed)
    lower, upper = central_interval(draws, ci=ci)
    return (observed >= lower) & (observed <= upper)


def coverage(draws, observed, *, ci: float) -> float:
    """Fraction of observations inside their central ``ci`` interval (nominal: ``ci``)."""
    return float(np.mean(covered(draws, observed, ci=ci)))


def relative_width(draws, *, ci: float) -> np.ndarray:
    """Width of the central ``ci`` interval divided by the median, per point."""
    draws = np.asarray(draws, float)
    lower, upper = central_interval(draws, ci=ci)
    return (upper - lower) / np.abs(np.median(draws, axis=0))


def relative_error(draws, observed) -> np.ndarray:
    """``|median - observed| / observed`` per point."""
    draws, observed = _as_arrays(draws, observed)
    return np.abs(np.median(draws, axis=0) - observed) / np.abs(observed)


def _log_draws(draws: np.ndarray, log: bool = True) -> np.ndarray:
    """log of the draws (``log=False``: the draws, for a real target), clipped at overflow
    (inf) and underflow (0) of heavy-tailed draws."""
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.log(draws) if log else np.asarray(draws, float)
    return np.clip(
        np.nan_to_num(x, nan=0.0, posinf=_LOG_LIMIT, neginf=-_LOG_LIMIT), -_LOG_LIMIT, _LOG_LIMIT
    )


def log_density(draws, observed, *, log: bool = True) -> np.ndarray:
    """Log predictive density of log(observed), per point, from a Gaussian KDE of log(draws).

    ``log=False`` scores the values themselves (a real target, which can be negative).

    The bandwidth follows Silverman's rule with the robust spread ``min(sd, IQR / 1.349)``,
    floored at 1e-6 so that a degenerate predictive (a point fit without noise) gives a finite,
    very poor score instead of ``-inf`` or ``nan``.
    """
    draws, observed = _as_arrays(draws, observed)
    x = _log_draws(draws, log)
    y = np.log(observed) if log else observed
    s = x.shape[0]
    sd = x.std(axis=0, ddof=1) if s > 1 else np.zeros(x.shape[1])
    q75, q25 = np.quantile(x, [0.75, 0.25], axis=0)
    spread = np.minimum(sd, (q75 - q25) / 1.349)
    spread = np.where(spread > 0, spread, sd)
    h = np.maximum(0.9 * spread * s ** (-0.2), 1e-6)
    z = (y[None, :] - x) / h[None, :]
    log_k = -0.5 * z**2 - np.log(h)[None, :] - 0.5 * np.log(2 * np.pi)
    top = log_k.max(axis=0)
    return top + np.log(np.mean(np.exp(log_k - top[None, :]), axis=0))


def crps(draws, observed, *, log: bool = True) -> np.ndarray:
    """Continuous ranked probability score on log(loss), energy form, per point (lower is better).

    ``log=False``: on the values themselves (a real target).

    ``E|X - y| - E|X - X'| / 2`` with the expectation over draws; ``E|X - X'|`` is computed in
    O(S log S) from the sorted draws.
    """
    draws, observed = _as_arrays(draws, observed)
    x = np.sort(_log_draws(draws, log), axis=0)
    y = np.log(observed) if log else observed
    s = x.shape[0]
    term1 = np.mean(np.abs(x - y[None, :]), axis=0)
    weights = (2 * np.arange(1, s + 1) - s - 1)[:, None]
    term2 = 2 * np.sum(weights * x, axis=0) / s**2
    return term1 - 0.5 * term2


def pit(draws, observed) -> np.ndarray:
    """PIT value per point: P(y <= observed) under the draws, ties split evenly (mid-rank)."""
    draws, observed = _as_arrays(draws, observed)
    below = np.mean(draws < observed[None, :], axis=0)
    equal = np.mean(draws == observed[None, :], axis=0)
    return below + 0.5 * equal


def calibration_curve(draws, observed, *, levels=LEVELS) -> dict[float, float]:
    """Coverage of the central interval at each nominal level (the calibration curve)."""
    return {float(c): coverage(draws, observed, ci=c) for c in levels}


def interval_score(draws, observed, *, ci: float, log: bool = True) -> np.ndarray:
    """Interval score of the central ``ci`` interval on log(loss), per point (lower is better).

    ``(u - l) + (2 / a) (l - y) [y < l] + (2 / a) (y - u) [y > u]`` with ``a = 1 - ci``
    (Gneiting & Raftery 2007, eq. 43).
    """
    draws, observed = _as_arrays(draws, observed)
    lower, upper = central_interval(_log_draws(draws, log), ci=ci)
    y = np.log(observed) if log else observed
    a = 1.0 - check_ci(ci)
    return (upper - lower) + (2 / a) * np.maximum(lower - y, 0) + (2 / a) * np.maximum(y - upper, 0)


def score_draws(draws, observed, *, ci=(0.5, 0.9), log: bool = True) -> dict:
    """All scores of one method on one set of held-out points.

    ``log=False`` computes the log score, CRPS and interval score on the values themselves (a
    real target such as a normalised loss) instead of on log(loss).

    Returns
    -------
    dict
        ``coverage`` {ci: fraction}, ``widths`` {ci: mean relative width}, ``width`` (the mean
        relative width of the widest requested interval), ``mare`` (median absolute relative
        error of the predictive median), ``log_score`` (mean log density of log(loss), nats),
        ``crps`` (mean CRPS on log(loss)), ``interval_score`` {ci: mean interval score on
        log(loss)}, ``calibration`` {level: coverage} at :data:`LEVELS`, ``pit`` (PIT value of
        each point, in order), ``n`` (number of points).
    """
    draws, observed = _as_arrays(draws, observed)
    cis = sorted(check_ci(c) for c in np.atleast_1d(ci))
    widths = {c: float(np.mean(relative_width(draws, ci=c))) for c in cis}
    return {
        "coverage": {c: coverage(draws, observed, ci=c) for c in cis},
        "widths": widths,
        "width": widths[cis[-1]],
        "mare": float(np.median(relative_error(draws, observed))),
        "log_score": float(np.mean(log_density(draws, observed, log=log))),
        "crps": float(np.mean(crps(draws, observed, log=log))),
        "interval_score": {
            c: float(np.mean(interval_score(draws, observed, ci=c, log=log))) for c in cis
        },
        "calibration": calibration_curve(draws, observed),
        "pit": [float(v) for v in pit(draws, observed)],
        "n": int(observed.size),
    }
