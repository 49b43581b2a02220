"""Convergence statistics of MCMC draws: rank-normalised R-hat, bulk and tail ESS, and E-BFMI.

The definitions are those of Vehtari, Gelman, Simpson, Carpenter and Bürkner (2021), "Rank-
normalization, folding, and localization: an improved R-hat for assessing convergence of MCMC",
Bayesian Analysis 16(2), and Betancourt (2016) for E-BFMI. Tail ESS is the smaller ESS of the
indicators of the 5% and 95% quantiles, as in the paper.

They are computed here, in numpy, so that a fit does not import arviz-stats (whose import pulls
in scipy.stats: about 0.7 s of every fit's start-up). The tests check every statistic against
arviz-stats on chains with known autocorrelation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

#: The quantiles whose indicators define tail ESS (Vehtari et al. 2021, section 4.3).
TAIL_PROBS = (0.05, 0.95)
#: Fewest draws per chain any statistic is computed from; fewer gives NaN.
MIN_DRAWS = 4

# Wichura (1988), Algorithm AS 241 (PPND16), Applied Statistics 37(3): 477-484: the normal
# quantile to about 1e-16; coefficients from the paper, highest degree first.
_CENTRAL = (
    (2509.0809287301226727, 33430.575583588128105, 67265.770927008700853, 45921.953931549871457,
     13731.693765509461125, 1971.5909503065514427, 133.14166789178437745, 3.387132872796366608),
    (5226.495278852854561, 28729.085735721942674, 39307.89580009271061, 21213.794301586595867,
     5394.1960214247511077, 687.1870074920579083, 42.313330701600911252, 1.0),
)  # fmt: skip
_INTERMEDIATE = (
    (7.7454501427834140764e-4, 0.0227238449892691845833, 0.24178072517745061177,
     1.27045825245236838258, 3.64784832476320460504, 5.7694972214606914055,
     4.6303378461565452959, 1.42343711074968357734),
    (1.05075007164441684324e-9, 5.475938084995344946e-4, 0.0151986665636164571966,
     0.14810397642748007459, 0.68976733498510000455, 1.6763848301838038494,
     2.05319162663775882187, 1.0),
)  # fmt: skip
_FAR = (
    (2.01033439929228813265e-7, 2.71155556874348757815e-5, 0.0012426609473880784386,
     0.026532189526576123093, 0.29656057182850489123, 1.7848265399172913358,
     5.4637849111641143699, 6.6579046435011037772),
    (2.04426310338993978564e-15, 1.4215117583164458887e-7, 1.8463183175100546818e-5,
     7.868691311456132591e-4, 0.0148753612908506148525, 0.13692988092273580531,
     0.59983220655588793769, 1.0),
)  # fmt: skip


def normal_quantile(p: np.ndarray) -> np.ndarray:
    """The standard normal quantile of probabilities ``p`` in (0, 1) (Wichura's AS 241)."""
    p = np.asarray(p, dtype=float)
    q = p - 0.5
    central = np.abs(q) <= 0.425
    out = np.empty_like(p)
    r = 0.180625 - q[central] ** 2
    out[central] = q[central] * np.polyval(_CENTRAL[0], r) / np.polyval(_CENTRAL[1], r)
    tail = ~central
    r = np.sqrt(-np.log(np.where(q[tail] < 0, p[tail], 1.0 - p[tail])))
    near = r <= 5.0
    x = np.empty_like(r)
    x[near] = np.polyval(_INTERMEDIATE[0], r[near] - 1.6) / np.polyval(
        _INTERMEDIATE[1], r[near] - 1.6
    )
    x[~near] = np.polyval(_FAR[0], r[~near] - 5.0) / np.polyval(_FAR[1], r[~near] - 5.0)
    out[tail] = np.where(q[tail] < 0, -x, x)
    return out


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n of all of ``values`` (same shape), ties given their average rank."""
    values = np.asarray(values)
    flat = values.ravel()
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    first = np.r_[True, ordered[1:] != ordered[:-1]]
    starts = np.flatnonzero(first)
    ends = np.r_[starts[1:], flat.size]
    ranks = np.empty(flat.size)
    ranks[order] = ((starts + 1 + ends) / 2.0)[np.cumsum(first) - 1]
    return ranks.reshape(values.shape)


def _z_scale(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised draws: normal scores of the pooled ranks (Blom's offset 3/8)."""
    ranks = average_ranks(draws)
    return normal_quantile((ranks - 3 / 8) / (draws.size + 1 / 4))


def _split(draws: np.ndarray) -> np.ndarray:
    """Each chain's first and last halves as separate chains (the middle draw of an odd count
    is dropped)."""
    half = draws.shape[1] // 2
    return np.vstack((draws[:, :half], draws[:, -half:]))


def _valid(draws: np.ndarray, *, min_chains: int) -> bool:
    return bool(
        draws.shape[0] >= min_chains and draws.shape[1] >= MIN_DRAWS and np.isfinite(draws).all()
    )


def _rhat_of(draws: np.ndarray) -> float:
    n = draws.shape[1]
    within = np.mean(np.var(draws, axis=1, ddof=1))
    between = n * np.var(np.mean(draws, axis=1), ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sqrt((between / within + n - 1) / n))


def rhat(draws: np.ndarray) -> float:
    """Rank-normalised split R-hat of ``draws`` (chain, draw): the larger of bulk and folded.

    NaN with fewer than 2 chains, fewer than :data:`MIN_DRAWS` draws, non-finite draws, or
    constant draws.
    """
    draws = np.asarray(draws, dtype=float)
    if not _valid(draws, min_chains=2):
        return float("nan")
    split = _split(draws)
    folded = np.abs(split - np.median(split))
    return max(_rhat_of(_z_scale(split)), _rhat_of(_z_scale(folded)))


def _autocovariance(draws: np.ndarray) -> np.ndarray:
    """Each chain's autocovariance at lags 0..n-1 (biased, divided by n), by FFT."""
    n = draws.shape[1]
    size = 1 << int(2 * n - 1).bit_length()
    centred = draws - draws.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centred, n=size, axis=1)
    return np.fft.irfft(spectrum * np.conjugate(spectrum), n=size, axis=1)[:, :n] / n


def _ess_of(draws: np.ndarray) -> float:
    """ESS of (chain, draw) draws: Geyer's initial positive and monotone sequences."""
    n_chain, n = draws.shape
    if np.ptp(draws) < np.finfo(float).resolution:
        return float(draws.size)
    acov = _autocovariance(draws)
    mean_var = np.mean(acov[:, 0]) * n / (n - 1.0)
    var_plus = mean_var * (n - 1.0) / n
    if n_chain > 1:
        var_plus += np.var(draws.mean(axis=1), ddof=1)
    rho = np.zeros(n)
    even, odd = 1.0, 1.0 - (mean_var - np.mean(acov[:, 1])) / var_plus
    rho[0], rho[1] = even, odd
    t = 1
    while t < n - 3 and even + odd > 0.0:
        even = 1.0 - (mean_var - np.mean(acov[:, t + 1])) / var_plus
        odd = 1.0 - (mean_var - np.mean(acov[:, t + 2])) / var_plus
        if even + odd >= 0:
            rho[t + 1], rho[t + 2] = even, odd
        t += 2
    max_t = t - 2
    if even > 0:
        rho[max_t + 1] = even
    t = 1
    while t <= max_t - 2:
        if rho[t + 1] + rho[t + 2] > rho[t - 1] + rho[t]:
            rho[t + 1] = rho[t + 2] = (rho[t - 1] + rho[t]) / 2.0
        t += 2
    total = draws.size
    tau = -1.0 + 2.0 * np.sum(rho[: max_t + 1]) + np.sum(rho[max_t + 1 : max_t + 2])
    tau = max(tau, 1.0 / np.log10(total))
    return float("nan") if np.isnan(rho).any() else float(total / tau)


def ess_bulk(draws: np.ndarray) -> float:
    """Bulk ESS of ``draws`` (chain, draw): ESS of the rank-normalised split chains."""
    draws = np.asarray(draws, dtype=float)
    if not _valid(draws, min_chains=1):
        return float("nan")
    return _ess_of(_z_scale(_split(draws)))


def ess_tail(draws: np.ndarray) -> float:
    """Tail ESS of ``draws`` (chain, draw): the smaller ESS of the indicators of the
    :data:`TAIL_PROBS` quantiles, on split chains."""
    draws = np.asarray(draws, dtype=float)
    if not _valid(draws, min_chains=1):
        return float("nan")
    return min(_ess_of(_split((draws <= np.quantile(draws, p)).astype(float))) for p in TAIL_PROBS)


def bfmi(energy: np.ndarray) -> np.ndarray:
    """E-BFMI of each chain from the Hamiltonian ``energy`` (chain, draw) (Betancourt 2016)."""
    energy = np.atleast_2d(np.asarray(energy, dtype=float))
    return np.square(np.diff(energy, axis=1)).mean(axis=1) / np.var(energy, axis=1, ddof=1)


def per_variable(
    draws: xr.Dataset, statistic: Callable[[np.ndarray], float]
) -> dict[str, np.ndarray]:
    """``statistic`` of each element of each variable of ``draws`` (dims ``chain``, ``draw``
    and any others): ``{name: array of the variable's other dims' shape}``."""
    out = {}
    for name, da in draws.data_vars.items():
        rest = [d for d in da.dims if d not in ("chain", "draw")]
        values = np.asarray(da.transpose("chain", "draw", *rest).values, dtype=float)
        flat = values.reshape(values.shape[0], values.shape[1], -1)
        stats = [statistic(flat[:, :, k]) for k in range(flat.shape[2])]
        out[str(name)] = np.array(stats, dtype=float).reshape(values.shape[2:])
    return out
