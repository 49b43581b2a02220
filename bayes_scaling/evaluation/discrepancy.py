"""Extrapolation discrepancy: predictive uncertainty that grows beyond the fitted range.

A scaling law is only approximately right, so the error of an extrapolation is larger than its
parameter uncertainty and run-to-run noise, and grows with the distance from the runs it was
fitted to. This module adds that error to the predictive side only:

    log y = log mu + noise + delta,        delta ~ Normal(b * d, (tau * d)^2),

where ``mu`` is the law's curve (unchanged: the discrepancy never enters ``mu``), ``noise`` the
fitted run-to-run noise, and ``d`` the **extrapolation distance** of the new point, in e-folds
beyond the training range: ``d = max_k max(0, log(x_k / max_train(x_k)))`` over the law's inputs
and compute ``C`` (when the runs have it). Inside the training range ``d = 0``, so fitted runs and
interpolations are unaffected.

``tau`` (relative error of the loss per e-fold of extrapolation) is learned from the user's own
runs by **leave-future-out within the training set**: the law is refitted on the training runs
below the 80% quantile of compute (or of the law's first scale axis; at most
:data:`INNER_MAX_TRAIN` of them, evenly spaced), the held-out upper runs are
predicted (at most :data:`INNER_MAX_TEST`, evenly spaced), and the posterior of ``tau`` is
computed on a grid: the likelihood of each held-out log(loss) is the inner fit's predictive
density (parameter uncertainty and the fitted noise) convolved with ``Normal(0, (tau * d_i)^2)``,
``d_i`` the inner extrapolation distance (:func:`tau_loglik`); several cut-offs can be pooled
(``holdout_fractions``; one by default, see ``benchmarks/results/calibration.md``, ``lfo3``).
Prior ``tau ~ HalfNormal(0.05)``, weakly informative: published extrapolations of language-model
loss are typically off by a few percent over one to two decades of compute (e.g. Hoffmann et al.
2022 vs Besiroglu et al. 2024, arXiv:2404.10102), i.e. ``tau`` of order 0.01. Each posterior
draw gets its own ``tau`` draw (variable ``discrepancy_tau``), so its uncertainty widens ``y``.
The drift ``b`` (variable ``discrepancy_drift``) is the side the law errs on beyond its runs,
learned from the same held-out runs (:mod:`bayes_scaling.evaluation.discrepancy_grid`).

The inner fit's settings are the fit's own with two documented changes, made in one place
(:func:`inner_settings`): no discrepancy of its own, and half the draws per chain (never fewer
than :data:`INNER_MIN_STEPS`, nor more than the fit's own; the warm-up is the fit's). It is only
used for the predictive of the held-out runs, which enter a one-dimensional grid posterior; half
the draws leave its min ESS far above the gate's 400 on the shipped data sets, and tau's median
moves by less than its seed-to-seed spread, a few percent of tau's posterior sd
(``benchmarks/results/bench_fit.json``, ``tau``).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.evaluation.discrepancy_grid import (
    DRIFT_GRID,
    DRIFT_PRIOR_SCALE,
    TAU_GRID,
    TAU_PRIOR_SCALE,
    draw_drift,
    drift_posterior,
    grid_posterior,
    tau_loglik,
)
from bayes_scaling.evaluation.scores import LEVELS, covered, pit
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.inference.sampling import Progress, sample
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.questions.noise import (
    DRIFT_VARIABLE,
    VARIABLE,
    extrapolation_distance,
    sort_column,
    training_maxima,
)
from bayes_scaling.questions.predict import predict

#: Methods accepted by ``FitSettings(discrepancy=)``.
METHODS = ("lfo",)
#: Fractions of the training runs held out by the inner leave-future-out fits, one fit each.
INNER_HOLDOUTS = (0.2,)
#: ``predictive(fit, inputs, seed)``: draws (S, P) of a new run's loss at ``inputs``.
Predictive = Callable[[FitRecord, dict[str, np.ndarray], int], np.ndarray]
#: At most this many held-out runs (evenly spaced in the sort column) enter tau's likelihood: the
#: kernel sums cost held-out runs x draws x grid points, and a thousand runs already pin tau
#: down far more tightly than the law's extrapolation can be trusted to be stationary.
INNER_MAX_TEST = 1000
#: At most this many inner training runs (evenly spaced in the sort column, smallest and largest
#: kept) are refitted; tables with groups are never thinned. Beyond ten thousand runs the inner
#: fit's parameter uncertainty is far below the run-to-run noise that its predictive adds to
#: every held-out run, so more runs barely change tau, while the inner fit's cost grows with them
#: (100,000 simulated runs: ``benchmarks/results/bench_scale.json``, ``inner_cap``).
INNER_MAX_TRAIN = 10_000
#: The inner fit samples this share of the fit's draws per chain...
INNER_SHARE = 0.5
#: ...but never fewer than this many (unless the fit itself has fewer).
INNER_MIN_STEPS = 250


def calibrate(
    result: FitRecord,
    *,
    refit: Callable[[Runs], FitRecord],
    holdout_fractions: float | Sequence[float] = INNER_HOLDOUTS,
    prior_scale: float = TAU_PRIOR_SCALE,
    predictive: Predictive | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray] | None, dict[str, Any]]:
    """Leave-future-out residuals of the training runs and the grid posterior of tau.

    One inner fit per cut-off of ``holdout_fractions`` (:func:`inner_splits`); the cut-offs'
    log-likelihoods of tau (:func:`tau_loglik`) are averaged, so residuals at several distances
    count like one split's evidence (a run above several cut-offs is not counted several times).
    ``predictive(fit, inputs, seed)`` gives the (S, P) draws of a new run's loss at ``inputs``
    (default :func:`predictive_draws`: ``predict(fit)["y"]``).

    Returns ``((grid, probabilities, drift), info)``: tau's grid posterior and the drift's
    (see :mod:`bayes_scaling.evaluation.discrepancy_grid`). When no cut-off gives an inner
    fit, the first item is None and tau and the drift keep their priors
    (``info["method"] == "prior"``).
    """
    law = result.law
    draw = predictive_draws if predictive is None else predictive
    col = sort_column(law, result.runs)
    scale = result.target_scale  # tau lives on the likelihood's scale of the target
    info: dict[str, Any] = {"method": "lfo", "sort_by": col, "prior_scale": prior_scale}
    loglik = np.zeros(TAU_GRID.size)
    held: list[tuple[InnerSplit, np.ndarray, np.ndarray, np.ndarray]] = []
    reasons: list[str] = []
    splits = inner_splits(result, refit=refit, holdout_fractions=holdout_fractions)
    for k, split in enumerate(splits):
        if isinstance(split, str):
            reasons.append(split)
            continue
        train, test, inner_fit = split.train, split.test, split.fit
        inputs = {c: test.column(c) for c in law.inputs}
        y = np.asarray(draw(inner_fit, inputs, result.seed + 7 + k), float)
        log_y = scale.forward(y.reshape(-1, test.n_runs))  # log(y) for a positive loss
        log_y = np.clip(np.nan_to_num(log_y, nan=0.0, posinf=700.0, neginf=-700.0), -700, 700)
        maxima = training_maxima(law, train)
        distance = extrapolation_distance(
            {c: test.column(c) for c in maxima if test.has(c)}, maxima
        )
        observed = test.column("loss")
        loglik += tau_loglik(log_y, scale.forward(observed), distance)
        held.append((split, log_y, observed, distance))
    if not held:
        info.update(method="prior", reason="; ".join(dict.fromkeys(reasons)))
        return None, info
    grid, prob = grid_posterior(loglik / len(held), prior_scale=prior_scale)
    _, tau_prior = grid_posterior(np.zeros(grid.size), prior_scale=prior_scale)
    drift = drift_posterior([(y, scale.forward(o), d) for _, y, o, d in held], grid, tau_prior)
    info["drift_prior_scale"] = DRIFT_PRIOR_SCALE
    cutoffs = [h[0] for h in held]
    gates = [c.fit.diagnostics for c in cutoffs]
    failed = list(dict.fromkeys(f for g in gates for f in g.failed))
    info.update(
        inner_gate={"ok": all(bool(g.ok) for g in gates), "failed": failed},
        holdout_fractions=[c.fraction for c in cutoffs],
        n_inner_train=cutoffs[0].train.n_runs,
        n_inner_below_cutoff=cutoffs[0].n_below,
        n_inner_test=sum(c.test.n_runs for c in cutoffs),
        n_inner_held_out=sum(c.n_held_out for c in cutoffs),
        inner_max_distance=max(float(h[3].max()) for h in held),
        tau_median=float(grid[np.searchsorted(np.cumsum(prob), 0.5)]),
        drift_median=float(DRIFT_GRID[np.searchsorted(np.cumsum(drift), 0.5)]),
        lfo_check=_lfo_check(held, (grid, prob), drift, result.seed, scale=scale),
    )
    return (grid, prob, drift), info


class InnerSplit(NamedTuple):
    """One inner cut-off: the ``fraction`` of the training runs held out (the largest by the
    sort column), the inner ``train`` runs (at most :data:`INNER_MAX_TRAIN`, evenly spaced), the
    ``test`` runs predicted (at most :data:`INNER_MAX_TEST`, evenly spaced), ``n_held_out``
    before that cap, the inner ``fit``, and ``n_below``: the runs below the cut-off before the
    training cap."""

    fraction: float
    train: Runs
    test: Runs
    n_held_out: int
    fit: FitRecord
    n_below: int


def inner_splits(
    result: FitRecord,
    *,
    refit: Callable[[Runs], FitRecord],
    holdout_fractions: float | Sequence[float] = INNER_HOLDOUTS,
) -> Iterator[InnerSplit | str]:
    """The inner leave-future-out fits of ``result``'s training runs, one per cut-off.

    For each ``f`` of ``holdout_fractions`` (smallest first) the runs at or below the ``1 - f``
    quantile of the sort column (C when the runs have it, else the law's first input) are
    refitted with ``refit``; when that quantile is the largest value (runs at a few sizes, more
    than ``f`` of them at the largest), the runs below the largest value are. Yields an
    :class:`InnerSplit`, or a text saying why a cut-off gave none (no run on one side, or the
    inner fit failed); a cut-off selecting the same inner runs as an earlier one is skipped.
    """
    runs = result.runs
    col = sort_column(result.law, runs)
    values = runs.column(col)
    fractions = sorted({float(f) for f in np.atleast_1d(holdout_fractions)})
    if not fractions or not all(0.0 < f < 1.0 for f in fractions):
        raise BayesScalingError(f"holdout fractions must lie in (0, 1), not {fractions}")
    seen: list[np.ndarray] = []
    for frac in fractions:
        inner = values <= np.quantile(values, 1.0 - frac)
        if inner.all():  # ties at the top (runs at a few sizes): hold out the largest size
            inner = values < values.max()
        if inner.all() or not inner.any():
            yield "training runs do not span enough values of " + col
            continue
        if any(np.array_equal(inner, m) for m in seen):
            continue
        seen.append(inner)
        train = runs.subset(inner, source=f"{runs.source} (inner training runs)")
        below = train.n_runs
        if below > INNER_MAX_TRAIN and runs.n_groups <= 1:
            thinned = _evenly_spaced(train.column(col), INNER_MAX_TRAIN)
            train = train.subset(thinned, source=train.source)
        test = runs.subset(~inner)
        held_out = test.n_runs
        if held_out > INNER_MAX_TEST:
            test = test.subset(_evenly_spaced(test.column(col), INNER_MAX_TEST))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                inner_fit = refit(train)
        except (BayesScalingError, ValueError, FloatingPointError) as e:
            yield f"the inner fit failed: {e}"
            continue
        yield InnerSplit(frac, train, test, int(held_out), inner_fit, int(below))


def predictive_draws(fit: FitRecord, inputs: dict[str, np.ndarray], seed: int) -> np.ndarray:
    """Draws (S, P) of a new run's loss at ``inputs``: ``predict(fit)["y"]`` (the default)."""
    y = predict(fit, points=inputs, seed=seed)["y"].transpose("chain", "draw", "point").values
    return y.reshape(-1, y.shape[-1])


def _lfo_check(held, tau_post, drift, seed: int, *, scale) -> dict[str, Any]:
    """Calibration of the inner fits' forecasts of their held-out runs, discrepancy included.

    The held-out runs also taught tau, so this check is somewhat optimistic; the report shows it
    as the fit's own leave-future-out calibration (PIT values and the calibration curve, pooled
    over the cut-offs).
    """
    rng = np.random.default_rng(seed + 13)
    pits: list[float] = []
    hits: dict[float, list[np.ndarray]] = {}
    grid, prob = tau_post
    for _, log_y, observed, distance in held:
        tau = rng.choice(grid, size=log_y.shape[0], p=prob)[:, None]
        b = draw_drift(rng, drift, log_y.shape[0])[:, None]
        noise = (b + tau * rng.standard_normal(log_y.shape)) * distance[None, :]
        draws = scale.inverse(log_y + noise)
        pits += [float(v) for v in pit(draws, observed)]
        for c in LEVELS:
            hits.setdefault(c, []).append(covered(draws, observed, ci=c))
    return {
        "pit": pits,
        "calibration": {f"{c:g}": float(np.mean(np.concatenate(h))) for c, h in hits.items()},
    }


def _evenly_spaced(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of ``k`` of ``values`` evenly spaced in their sorted order (smallest and largest in)."""
    order = np.argsort(values, kind="stable")
    mask = np.zeros(values.size, dtype=bool)
    mask[order[np.unique(np.linspace(0, values.size - 1, k).round().astype(int))]] = True
    return mask


def add_discrepancy(
    result: FitRecord,
    *,
    refit: Callable[[Runs], FitRecord],
    method: str = "lfo",
    prior_scale: float = TAU_PRIOR_SCALE,
    holdout_fractions: float | Sequence[float] = INNER_HOLDOUTS,
    predictive: Predictive | None = None,
) -> FitRecord:
    """A copy of ``result`` whose predictive ``y`` includes the extrapolation discrepancy.

    Adds the posterior variables ``discrepancy_tau`` and ``discrepancy_drift`` (dims chain,
    draw) and
    ``info["discrepancy"]`` (method, training maxima, calibration details); ``mu`` and the
    fitted parameters are unchanged.
    """
    import xarray as xr

    if method not in METHODS:
        raise BayesScalingError(
            f"unknown discrepancy method {method!r}; choose one of {', '.join(METHODS)} or None"
        )
    posteriors, info = calibrate(
        result,
        refit=refit,
        holdout_fractions=holdout_fractions,
        prior_scale=prior_scale,
        predictive=predictive,
    )
    post = result.posterior
    shape = (post.sizes["chain"], post.sizes["draw"])
    rng = np.random.default_rng(result.seed + 11)
    if posteriors is None:
        warnings.warn(
            f"{result.runs.source}: the extrapolation discrepancy could not be learned by "
            f"leave-future-out ({info['reason']}); its scale tau keeps its prior "
            f"HalfNormal({prior_scale:g}) per e-fold beyond the training range, so intervals on "
            "extrapolations may be too wide or too narrow; add runs, or fit with "
            "discrepancy=None to leave it out",
            UserWarning,
            stacklevel=3,
        )
        tau = np.abs(rng.normal(0.0, prior_scale, size=shape))
        b = rng.normal(0.0, DRIFT_PRIOR_SCALE, size=shape)
    else:
        grid, prob, drift = posteriors
        inner = info.get("inner_gate", {})
        if not inner.get("ok", True):
            warnings.warn(
                f"{result.runs.source}: the extrapolation discrepancy's inner leave-future-out "
                f"fit failed its diagnostics gate ({', '.join(inner['failed'])}), so its scale "
                "tau may be unreliable; fit with more draws, or with discrepancy=None",
                UserWarning,
                stacklevel=3,
            )
        tau = rng.choice(grid, size=shape, p=prob)
        # jitter within the grid cell so draws are continuous
        tau = tau * np.exp(rng.uniform(-0.5, 0.5, size=shape) * np.log(TAU_GRID[2] / TAU_GRID[1]))
        b = draw_drift(rng, drift, shape)
    info["maxima"] = training_maxima(result.law, result.runs)
    info["tau_mean"] = float(tau.mean())
    info["drift_mean"] = float(b.mean())
    posterior = post.assign(
        {
            VARIABLE: xr.DataArray(
                tau,
                dims=("chain", "draw"),
                attrs={
                    "description": "extrapolation discrepancy: sd of log(loss) per e-fold "
                    "beyond the training range (enters y, never mu)"
                },
            ),
            DRIFT_VARIABLE: xr.DataArray(
                b,
                dims=("chain", "draw"),
                attrs={
                    "description": "extrapolation discrepancy: mean of log(loss) per e-fold "
                    "beyond the training range (enters y, never mu)"
                },
            ),
        }
    )
    children = {name: result.tree[name].to_dataset() for name in result.tree.children}
    children["posterior"] = posterior
    tree = xr.DataTree.from_dict(children)
    return dataclasses.replace(result, tree=tree, info={**result.info, "discrepancy": info})


def inner_settings(settings: FitSettings) -> FitSettings:
    """The settings of the leave-future-out inner fit, derived from the fit's own (the one place).

    Everything is kept (priors, likelihood, chains, cores, adaptation, thresholds, pooling, seed,
    warm-up steps) except: no discrepancy of its own, and :data:`INNER_SHARE` of the draws per
    chain, but at least :data:`INNER_MIN_STEPS` (or the fit's own number, if smaller). The
    warm-up is not shortened: at the 300-step default a shorter one adapts worse and costs more
    than it saves on large tables (80,000 runs, seeds 1 and 2: 250 warm-up steps took 19.0 and
    10.0 leapfrog steps per draw and 76 and 39 s, 300 took 12.9 and 7.0 and 55 and 27 s).
    """
    draws = min(settings.draws, max(math.ceil(INNER_SHARE * settings.draws), INNER_MIN_STEPS))
    return settings.replace(discrepancy=None, draws=draws)


def inner_refit(
    settings: FitSettings, *, law, progress: Progress = False
) -> Callable[[Runs], FitRecord]:
    """The leave-future-out refit: the sampling layer with :func:`inner_settings`."""
    inner = inner_settings(settings)

    def refit(runs: Runs) -> FitRecord:
        return sample(runs, law=law, settings=inner, progress=progress, pointwise=False)

    return refit
