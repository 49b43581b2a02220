"""The optimisation problem behind :func:`~bayes_scaling.evaluation.baseline.fit_baseline`.

:class:`HuberProblem` is the Huber objective of a law on runs, vectorised over a batch of
parameter vectors, with finite-difference gradients, L-BFGS-B and the learned-scale variant;
:func:`start_grid` gives its starting points (:data:`CHINCHILLA_GRID` or prior quantiles);
:func:`bootstrap` refits it on resampled runs, warm-started; :func:`one_blas_thread` keeps BLAS
single-threaded while L-BFGS-B runs. The method is described in
:mod:`bayes_scaling.evaluation.baseline`.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr
from scipy import optimize, special

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import Runs
from bayes_scaling.model.plans import (
    check_runs,
    plan_parameters,
    references,
    target_scale,
    user_values,
)

__all__ = [
    "CHINCHILLA_GRID",
    "PENALTY",
    "HuberProblem",
    "bootstrap",
    "one_blas_thread",
    "start_grid",
]

#: Hoffmann et al. 2022 (appendix D.2) grid of starts, reused by Besiroglu et al. 2024,
#: in user units (A = exp(a), B = exp(b), E = exp(e)).
CHINCHILLA_GRID: dict[str, tuple[float, ...]] = {
    "alpha": (0.0, 0.5, 1.0, 1.5, 2.0),
    "beta": (0.0, 0.5, 1.0, 1.5, 2.0),
    "E": tuple(float(np.exp(e)) for e in (-1.0, -0.5, 0.0, 0.5, 1.0)),
    "A": tuple(float(np.exp(a)) for a in (0, 5, 10, 15, 20, 25)),
    "B": tuple(float(np.exp(b)) for b in (0, 5, 10, 15, 20, 25)),
}
_QUANTILES = (0.1, 0.5, 0.9)
#: Objective where the law is not positive and finite.
PENALTY = 1e6
_STEP = 1e-6  # finite-difference step on the optimiser's scale
_SMALL = 1e-3  # replaces a non-positive start of a positive parameter
_SCALE_ITERATIONS = 30


# ---------------------------------------------------------------------------------- objective
class HuberProblem:
    """The Huber objective of a law on runs, vectorised over a batch of parameter vectors."""

    def __init__(self, law: Law, runs: Runs, *, delta: float, learn_scale: bool = False) -> None:
        plans = plan_parameters(law)
        check_runs(law, runs, plans)
        self.law = law
        self.delta = float(delta)
        self.learn_scale = bool(learn_scale)
        self.n = runs.n_runs
        self.refs = references(law, runs)
        self.plans = [p for p in plans if p.name in law.param_names]
        self.fixed = {p.name: float(p.prior.params[0]) for p in self.plans if p.prior.is_fixed}
        self.free = [p.name for p in self.plans if not p.prior.is_fixed]
        self.log_scale = np.array([_positive(law, name) for name in self.free])
        self.inputs = {c: runs.column(c)[None, :] for c in law.inputs}
        self.scale = target_scale(law, self.refs)  # log for a positive loss
        self.log_loss = self.scale.forward(runs.column("loss"))[None, :]

    # theta (optimiser scale) <-> user units
    def to_theta(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        cols = []
        for name, log in zip(self.free, self.log_scale, strict=True):
            v = np.asarray(values[name], dtype=float)
            cols.append(np.log(np.maximum(v, _SMALL)) if log else v)
        return np.stack(cols, axis=-1)

    def to_params(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        theta = np.atleast_2d(theta)
        out = {}
        for j, (name, log) in enumerate(zip(self.free, self.log_scale, strict=True)):
            out[name] = np.exp(theta[:, j]) if log else theta[:, j]
        out.update({k: np.full(theta.shape[0], v) for k, v in self.fixed.items()})
        return out

    def residuals(self, theta: np.ndarray) -> np.ndarray:
        """Residuals ``log mu - log loss`` (on the target's likelihood scale), shape (K, n).

        NaN where the law is invalid.
        """
        params = {k: v[:, None] for k, v in self.to_params(theta).items()}
        with np.errstate(all="ignore"):
            log_mu = self.scale.forward(self.law.evaluate(params, self.inputs))
        return np.broadcast_to(log_mu - self.log_loss, (np.atleast_2d(theta).shape[0], self.n))

    def values(
        self, theta: np.ndarray, weights: np.ndarray | None = None, delta: float | None = None
    ) -> np.ndarray:
        """Mean Huber loss (divided by delta) of each row of ``theta`` (shape (K, p))."""
        delta = self.delta if delta is None else delta
        with np.errstate(all="ignore"):
            h = special.huber(delta, self.residuals(theta)) / delta
        h = np.where(np.isfinite(h), h, PENALTY)
        if weights is None:
            return h.mean(axis=1)
        return h @ weights / weights.sum()

    def value_and_grad(
        self, theta: np.ndarray, weights: np.ndarray | None, delta: float
    ) -> tuple[float, np.ndarray]:
        p = theta.size
        steps = _STEP * np.maximum(1.0, np.abs(theta))
        batch = np.vstack([theta, theta + np.diag(steps), theta - np.diag(steps)])
        f = self.values(batch, weights, delta)
        grad = (f[1 : p + 1] - f[p + 1 :]) / (2 * steps)
        return float(f[0]), grad

    def minimise(
        self, theta0: np.ndarray, weights: np.ndarray | None = None, delta: float | None = None
    ):
        """L-BFGS-B from ``theta0`` on the Huber loss with threshold ``delta``."""
        return optimize.minimize(
            self.value_and_grad,
            theta0,
            args=(weights, self.delta if delta is None else delta),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-9, "maxcor": 20},
        )

    def best_scale(self, theta: np.ndarray, weights: np.ndarray | None = None) -> float:
        """Scale s minimising the Huber negative log-likelihood ``mean huber(r/s) + log s``."""
        r = self.residuals(theta)[0]
        w = np.ones(self.n) if weights is None else weights

        def nll(u: float) -> float:
            return float(special.huber(self.delta, r / np.exp(u)) @ w / w.sum() + u)

        res = optimize.minimize_scalar(nll, bounds=(np.log(1e-12), np.log(10.0)), method="bounded")
        return float(np.exp(res.x))

    def fit(self, theta0: np.ndarray, weights: np.ndarray | None = None):
        """Minimise from ``theta0``: fixed threshold, or the learned scale if ``learn_scale``."""
        res = self.minimise(theta0, weights)
        if not self.learn_scale:
            return res, 1.0
        # continuation: the threshold delta * s falls at most 10x per step, so that L-BFGS-B
        # follows the optimum into the nearly non-smooth (least-absolute-deviation) regime
        threshold = self.delta
        scale = self.best_scale(res.x, weights)
        for _ in range(_SCALE_ITERATIONS):
            threshold = max(self.delta * scale, threshold / 10.0)
            res = self.minimise(res.x, weights, threshold)
            new = self.best_scale(res.x, weights)
            done = threshold <= self.delta * new and abs(np.log(new / scale)) < 1e-3
            scale = new
            if done:
                break
        return res, scale


def _positive(law: Law, name: str) -> bool:
    """Whether a parameter is optimised on the log scale (its default prior is positive)."""
    return law.parameter(name).prior.support[0] >= 0.0


def start_grid(
    problem: HuberProblem, law: Law, grid: Mapping[str, Sequence[float]] | None
) -> np.ndarray:
    """Starting points on the optimiser's scale, shape (K, p)."""
    if grid is None and law.name == "chinchilla" and set(problem.free) == set(CHINCHILLA_GRID):
        grid = CHINCHILLA_GRID
    if grid is not None:
        missing = [p for p in problem.free if p not in grid]
        unknown = [p for p in grid if p not in law.param_names]
        if missing or unknown:
            raise BayesScalingError(
                f"the grid of starts must give values for each free parameter of law "
                f"{law.name!r} ({', '.join(problem.free)}); missing {missing}, unknown {unknown}"
            )
        combos = itertools.product(*(np.asarray(grid[p], dtype=float) for p in problem.free))
        values = np.array(list(combos), dtype=float)
        return problem.to_theta({p: values[:, j] for j, p in enumerate(problem.free)})
    plans = plan_parameters(law)
    levels = {
        p.sampled_name: (
            np.full(1, p.prior.params[0])
            if p.prior.is_fixed
            else np.asarray(p.prior._scipy().ppf(_QUANTILES), dtype=float)
        )
        for p in plans
        if p.name in law.param_names
    }
    names = list(levels)
    total = int(np.prod([levels[n].size for n in names], dtype=float))
    if total <= MAX_STARTS:
        combos = np.array(list(itertools.product(*(levels[n] for n in names))), dtype=float)
    else:  # the full grid grows as 3^p: a fixed random subset of its points instead
        rng = np.random.default_rng(0)
        combos = np.column_stack(
            [levels[n][rng.integers(0, levels[n].size, MAX_STARTS)] for n in names]
        )
    sampled = {n: combos[:, j] for j, n in enumerate(names)}
    with np.errstate(all="ignore"):
        user = user_values(law, tuple(plans), sampled, problem.refs)
    theta = problem.to_theta({k: np.broadcast_to(v, combos.shape[:1]) for k, v in user.items()})
    return theta[np.all(np.isfinite(theta), axis=1)]


#: Most prior-quantile starting points (a law with many parameters samples its grid instead).
MAX_STARTS = 2048


@contextlib.contextmanager
def one_blas_thread():
    """Limit BLAS to one thread: L-BFGS-B's small linear algebra is ~7x slower when threaded."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with PyMC
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def bootstrap(
    problem: HuberProblem, theta: np.ndarray, n_runs: int, n_boot: int, seed: int
) -> tuple[xr.Dataset, int]:
    """Refit on ``n_boot`` resamples of the runs (as multiplicity weights), warm-started."""
    rng = np.random.default_rng(seed)
    thetas = np.empty((n_boot, theta.size))
    n_failed = 0
    for b in range(n_boot):
        weights = np.bincount(rng.integers(0, n_runs, n_runs), minlength=n_runs).astype(float)
        res, _ = problem.fit(theta, weights)
        thetas[b] = res.x
        # L-BFGS-B often ends "abnormally" in the nearly non-smooth learned-scale regime although
        # it has converged; a replicate fails only when no valid parameters were found
        n_failed += not (np.all(np.isfinite(res.x)) and res.fun < PENALTY)
    params = problem.to_params(thetas)
    ds = xr.Dataset(
        {p: (("chain", "draw"), params[p][None, :]) for p in problem.law.param_names},
        coords={"chain": [0], "draw": np.arange(n_boot)},
    )
    ds.attrs.update(method="bootstrap", n_failed=n_failed, seed=seed)
    return ds, n_failed
