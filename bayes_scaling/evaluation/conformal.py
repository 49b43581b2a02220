"""Split-conformal intervals for extrapolations: the cheap baseline any reviewer asks about.

Calibration scores come from leave-future-out splits within the training runs, the same cut-offs
the extrapolation discrepancy learns from (:func:`~bayes_scaling.evaluation.discrepancy.
inner_splits`): each inner fit predicts the runs above its cut-off, and each such run gives a
log residual ``r_i = log(loss_i) - log(m_i)``, ``m_i`` the posterior median of the law's curve
``mu`` of the inner fit. Its score is ``s_i = |r_i| / g(d_i)``, ``d_i`` its extrapolation
distance in e-folds beyond the inner training range, with ``g(d) = 1 + d / d_ref`` when the
scores are scaled by distance (``d_ref`` in e-folds) and ``g = 1`` otherwise.

For a new point with centre ``m`` (the posterior median of ``mu`` of the fit on every training
run) at distance ``d``, the central ``c`` interval is ``m * exp(+-q_c g(d))``, with ``q_c`` the
``ceil((n + 1) c)``-th smallest of the ``n`` scores: the standard finite-sample split-conformal
quantile (Vovk et al. 2005; Lei et al. 2018, arXiv:1604.04173). When ``ceil((n + 1) c) > n``
the interval is infinite: ``n`` scores cannot support level ``c``.

The guarantee (coverage at least ``c``) needs calibration and test scores to be exchangeable.
Leave-future-out residuals are not exactly: the held-out runs of the outer split lie further out
than those of the inner cut-offs, and a run above several cut-offs gives several residuals. So
the coverage is approximate, and ``benchmarks/calibration.py`` measures it.

As a predictive distribution (so that the log score and CRPS are defined), the conformal
forecast is the empirical distribution of the rescaled signed residuals, ``m * exp(r_i g(d) /
g(d_i))``: :meth:`Conformal.draws` (one "draw" per calibration residual).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.core.intervals import check_ci
from bayes_scaling.evaluation.discrepancy import inner_splits
from bayes_scaling.evaluation.scores import LEVELS, crps, log_density, pit
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.questions.noise import extrapolation_distance, training_maxima
from bayes_scaling.questions.predict import predict

__all__ = [
    "CONFORMAL_HOLDOUTS",
    "Conformal",
    "calibrate_conformal",
    "conformal_quantile",
    "median_curve",
    "score_conformal",
]

#: Cut-offs of the calibration splits: the largest 20%, 30% and 40% of the training runs.
CONFORMAL_HOLDOUTS = (0.2, 0.3, 0.4)


def conformal_quantile(scores: np.ndarray, *, ci: float) -> float:
    """The ``ceil((n + 1) ci)``-th smallest of ``n`` scores; ``inf`` when that exceeds ``n``."""
    s = np.sort(np.asarray(scores, dtype=float))
    rank = math.ceil((s.size + 1) * check_ci(ci))
    return float(s[rank - 1]) if rank <= s.size else math.inf


@dataclasses.dataclass(frozen=True)
class Conformal:
    """Split-conformal calibration of a fit's extrapolations.

    Attributes
    ----------
    residuals : numpy.ndarray
        Signed log residuals ``log(loss) - log(median mu)`` of the inner held-out runs.
    distance : numpy.ndarray
        Their extrapolation distances beyond the inner training ranges (e-folds).
    maxima : dict
        Largest training value of each distance column of the fit (to place new points).
    d_ref : float or None
        Scores are divided by ``1 + d / d_ref``; None leaves them unscaled.
    """

    residuals: np.ndarray
    distance: np.ndarray
    maxima: dict[str, float]
    d_ref: float | None = 1.0

    @property
    def n(self) -> int:
        """Number of calibration scores."""
        return int(self.residuals.size)

    def scale(self, distance: np.ndarray) -> np.ndarray:
        """``g(d)``: 1 + d / d_ref, or 1 when unscaled."""
        d = np.asarray(distance, dtype=float)
        return np.ones_like(d) if self.d_ref is None else 1.0 + d / self.d_ref

    @property
    def scores(self) -> np.ndarray:
        """Conformity scores ``|r_i| / g(d_i)``."""
        return np.abs(self.residuals) / self.scale(self.distance)

    def distance_of(self, inputs: Mapping[str, Any]) -> np.ndarray:
        """Extrapolation distance of new points beyond the fit's training range."""
        return extrapolation_distance(inputs, self.maxima)

    def interval(
        self, centre: np.ndarray, distance: np.ndarray, *, ci: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Central ``ci`` interval of the loss at points with ``centre`` and ``distance``."""
        half = conformal_quantile(self.scores, ci=ci) * self.scale(distance)
        with np.errstate(over="ignore", invalid="ignore"):
            return np.asarray(centre) * np.exp(-half), np.asarray(centre) * np.exp(half)

    def draws(self, centre: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """The empirical predictive (n, P): ``centre * exp(r_i g(d) / g(d_i))``."""
        ratio = self.scale(distance)[None, :] / self.scale(self.distance)[:, None]
        return np.asarray(centre)[None, :] * np.exp(self.residuals[:, None] * ratio)


def median_curve(fit: FitRecord, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Posterior median of the law's curve ``mu`` at ``inputs`` (one value per point)."""
    mu = predict(fit, points=inputs)["mu"].transpose("chain", "draw", "point").values
    return np.median(mu.reshape(-1, mu.shape[-1]), axis=0)


def calibrate_conformal(
    result: FitRecord,
    *,
    refit: Callable[[Runs], FitRecord],
    holdout_fractions: float | Sequence[float] = CONFORMAL_HOLDOUTS,
    d_ref: float | None = 1.0,
) -> Conformal:
    """Leave-future-out conformity scores of ``result``'s training runs.

    Parameters
    ----------
    result : FitRecord
        The fit whose extrapolations are calibrated (its runs are the training runs).
    refit : callable
        Fits a law to a subset of the runs, e.g.
        :func:`~bayes_scaling.evaluation.discrepancy.inner_refit`.
    holdout_fractions : float or sequence of float
        Cut-offs of the calibration splits (default :data:`CONFORMAL_HOLDOUTS`).
    d_ref : float or None
        Distance scale of the scores in e-folds (None: unscaled).

    Raises
    ------
    BayesScalingError
        When no cut-off gives an inner fit.
    """
    law = result.law
    residuals, distances, reasons = [], [], []
    for split in inner_splits(result, refit=refit, holdout_fractions=holdout_fractions):
        if isinstance(split, str):
            reasons.append(split)
            continue
        test = split.test
        inputs = {c: test.column(c) for c in law.inputs}
        residuals.append(np.log(test.column("loss")) - np.log(median_curve(split.fit, inputs)))
        maxima = training_maxima(law, split.train)
        distances.append(
            extrapolation_distance({c: test.column(c) for c in maxima if test.has(c)}, maxima)
        )
    if not residuals:
        raise BayesScalingError(
            f"{result.runs.source}: no leave-future-out split to calibrate conformal intervals "
            f"({'; '.join(dict.fromkeys(reasons))})"
        )
    return Conformal(
        residuals=np.concatenate(residuals),
        distance=np.concatenate(distances),
        maxima=training_maxima(law, result.runs),
        d_ref=d_ref,
    )


def score_conformal(
    conformal: Conformal,
    centre: np.ndarray,
    distance: np.ndarray,
    observed: np.ndarray,
    *,
    ci: Sequence[float] = (0.5, 0.9),
) -> dict[str, Any]:
    """The scores of :func:`~bayes_scaling.evaluation.scores.score_draws` for conformal intervals.

    Coverage, relative widths and interval scores use the conformal intervals (infinite ones
    give coverage 1 and an infinite width and score); the log score, CRPS and PIT values use
    the empirical predictive :meth:`Conformal.draws`; ``mare`` uses ``centre``.
    """
    centre = np.asarray(centre, dtype=float)
    observed = np.asarray(observed, dtype=float)
    y = np.log(observed)
    cis = sorted(check_ci(c) for c in np.atleast_1d(ci))

    def inside(c: float) -> np.ndarray:
        lo, hi = conformal.interval(centre, distance, ci=c)
        return (observed >= lo) & (observed <= hi)

    def width(c: float) -> float:
        lo, hi = conformal.interval(centre, distance, ci=c)
        return float(np.mean((hi - lo) / centre))

    def interval_score(c: float) -> float:
        lo, hi = conformal.interval(centre, distance, ci=c)
        with np.errstate(divide="ignore"):
            lo, hi = np.log(lo), np.log(hi)
        a = 1.0 - c
        miss = np.maximum(lo - y, 0) + np.maximum(y - hi, 0)
        return float(np.mean((hi - lo) + (2 / a) * miss))

    draws = conformal.draws(centre, distance)
    widths = {c: width(c) for c in cis}
    return {
        "coverage": {c: float(np.mean(inside(c))) for c in cis},
        "widths": widths,
        "width": widths[cis[-1]],
        "mare": float(np.median(np.abs(centre - observed) / observed)),
        "log_score": float(np.mean(log_density(draws, observed))),
        "crps": float(np.mean(crps(draws, observed))),
        "interval_score": {c: interval_score(c) for c in cis},
        "calibration": {float(c): float(np.mean(inside(c))) for c in LEVELS},
        "pit": [float(v) for v in pit(draws, observed)],
        "n": int(observed.size),
        "n_calibration": conformal.n,
    }
