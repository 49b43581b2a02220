"""The classic point fit of a scaling law, kept as a first-class reference for the Bayesian fit.

Method (Hoffmann et al. 2022, Approach 3, arXiv:2203.15556; Besiroglu et al. 2024,
arXiv:2404.10102): minimise the Huber loss (``delta = 1e-3``) between ``log mu`` and
``log loss`` with L-BFGS-B from a grid of starting points and keep the best optimum. Positive
parameters are optimised on the log scale, so for the Chinchilla law the optimiser works on
``a = log A``, ``b = log B``, ``e = log E``, ``alpha``, ``beta`` (up to the log of the exponents),
as in Epoch AI's log-sum-exp parameterisation. Any built-in law or custom formula works: the law's
numpy formula is evaluated for a whole batch of parameter vectors at once, and gradients are
central finite differences computed in that same vectorised call.

Intervals come from a nonparametric bootstrap over runs; each replicate is refitted from the
point estimate (a warm start, not the whole grid), so 1000 replicates take seconds to minutes.

Grid. For ``chinchilla`` the default grid is the one of Hoffmann et al. 2022 (appendix D.2) that
Epoch AI reused: alpha, beta in {0, 0.5, ..., 2}, e in {-1, -0.5, ..., 1}, a, b in {0, 5, ..., 25}
(4500 starts; a start at 0 for a positive parameter is moved to 1e-3). For other laws the grid
is the product of the 10%, 50% and 90% quantiles of each parameter's default prior (on the
scaled value, mapped to user units with the runs' reference values). The objective is evaluated
at every grid point in one vectorised call and L-BFGS-B is run from the ``max_starts`` best of
them (all of them with ``max_starts=None``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import BayesScalingError, QuestionError
from bayes_scaling.core.intervals import check_ci, equal_tailed
from bayes_scaling.evaluation.baseline_problem import (
    CHINCHILLA_GRID,
    PENALTY,
    HuberProblem,
    bootstrap,
    one_blas_thread,
    start_grid,
)
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model.plans import references, target_scale
from bayes_scaling.model.target import TargetScale

__all__ = ["CHINCHILLA_GRID", "BaselineFit", "fit_baseline"]


@dataclass(frozen=True, eq=False)
class BaselineFit:
    """A point fit (Huber on log-loss, multi-start L-BFGS-B) with optional bootstrap draws.

    Attributes
    ----------
    law : Law
    runs : Runs
    params : dict[str, float]
        Point estimate in user units.
    boot : xr.Dataset or None
        Bootstrap estimates, dims ``chain`` (1) and ``draw`` (replicates), like a posterior.
    residual_sd : float
        Standard deviation of the log residuals ``log loss - log mu`` at the point fit.
    settings : dict
        Method settings, objective value, number of starts and timings.
    """

    law: Law
    runs: Runs
    params: dict[str, float]
    boot: xr.Dataset | None
    residual_sd: float
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def target_scale(self) -> TargetScale:
        """The scale of the residuals (log for a positive loss), as in the Bayesian fit."""
        return target_scale(self.law, references(self.law, self.runs))

    @property
    def residuals(self) -> np.ndarray:
        """Residuals ``log loss - log mu`` of the runs at the point fit (target's scale)."""
        inputs = {c: self.runs.column(c) for c in self.law.inputs}
        mu = self.law.evaluate(self.params, inputs)
        scale = self.target_scale
        return scale.forward(self.runs.column("loss")) - scale.forward(mu)

    def draws(self) -> xr.Dataset:
        """Parameter draws (the bootstrap, or the point estimate as a single draw)."""
        if self.boot is not None:
            return self.boot
        return xr.Dataset({k: (("chain", "draw"), [[v]]) for k, v in self.params.items()})

    def predict(
        self,
        *,
        N: Any = None,
        D: Any = None,
        C: Any = None,
        U: Any = None,
        points: Any = None,
        seed: int | None = None,
        noise: str = "resample",
    ) -> xr.Dataset:
        """Expected loss ``mu`` and predicted observed loss ``y`` at new points.

        Same contract as :func:`bayes_scaling.questions.predict.predict`: ``mu`` is the law at each
        bootstrap draw; ``y`` is ``mu`` times ``exp`` of a log residual drawn per draw and point,
        resampled from the fit's residuals (``noise="resample"``) or Normal with sd
        :attr:`residual_sd` (``noise="normal"``). Without a bootstrap, ``mu`` is the point fit
        repeated over 1000 draws (no parameter uncertainty) and only ``y`` varies.

        Returns
        -------
        xr.Dataset
            ``mu`` and ``y`` with dims ``chain``, ``draw``, ``point``; coordinates N, D, C, U.
        """
        from bayes_scaling.questions.predict import complete_inputs, split_points

        if noise not in ("resample", "normal"):
            raise QuestionError(f"noise must be 'resample' or 'normal', not {noise!r}")
        law = self.law
        canonical, extra = split_points(points, N=N, D=D, C=C, U=U)
        inputs = complete_inputs(
            law.inputs,
            flops_per_token=self.runs.flops_per_token,
            extra=extra,
            signs={c: law.input_spec(c).sign for c in law.inputs},
            **canonical,
        )
        draws = self.draws()
        if self.boot is None:
            draws = draws.isel(draw=np.zeros(1000, dtype=int))
        params = {p: draws[p].values[..., None] for p in law.param_names}
        with np.errstate(all="ignore"):
            mu = law.evaluate(params, {c: inputs[c][None, None, :] for c in law.inputs})
        mu = np.broadcast_to(mu, (*draws[law.param_names[0]].shape, len(inputs[law.inputs[0]])))
        rng = np.random.default_rng(self.settings.get("seed", 0) + 1 if seed is None else seed)
        if noise == "resample":
            eps = rng.choice(self.residuals, size=mu.shape)
        else:
            eps = self.residual_sd * rng.standard_normal(mu.shape)
        dims = ("chain", "draw", "point")
        ds = xr.Dataset(
            {
                "mu": (dims, np.array(mu), {"long_name": "expected loss (the law's curve)"}),
                "y": (
                    dims,
                    self.target_scale.observe(mu, eps),
                    {"long_name": "predicted observed loss (with noise)"},
                ),
            },
            coords={
                "chain": np.arange(mu.shape[0]),
                "draw": np.arange(mu.shape[1]),
                **{name: ("point", arr) for name, arr in inputs.items()},
            },
        )
        ds.attrs.update(law=law.name, question="predict", method="baseline")
        return ds

    def summary(self, *, ci: float = CI) -> pd.DataFrame:
        """Point estimate and bootstrap mean, sd, median and central ``ci`` interval per parameter.

        Without a bootstrap the interval columns are NaN.
        """
        ci = check_ci(ci)
        rows = []
        for name in self.law.param_names:
            row = {"parameter": name, "point": self.params[name]}
            if self.boot is not None:
                draws = self.boot[name].values.ravel()
                lo, med, hi = equal_tailed(draws, ci=ci)  # the one interval rule
                values = draws[np.isfinite(draws)]
                row.update(
                    mean=values.mean(), sd=values.std(ddof=1), median=med, lower=lo, upper=hi
                )
            else:
                row.update(mean=np.nan, sd=np.nan, median=np.nan, lower=np.nan, upper=np.nan)
            row["ci"] = ci
            rows.append(row)
        table = pd.DataFrame(rows).set_index("parameter")
        table.attrs["ci"] = ci
        return table

    def __repr__(self) -> str:
        boot = 0 if self.boot is None else self.boot.sizes["draw"]
        return f"<BaselineFit law={self.law.name} runs={self.runs.n_runs} bootstrap={boot}>"


def fit_baseline(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    delta: float = 1e-3,
    n_boot: int = 0,
    seed: int = 0,
    grid: Mapping[str, Sequence[float]] | None = None,
    max_starts: int | None = 32,
    scale: str = "fixed",
) -> BaselineFit:
    """Fit a law by minimising the Huber loss of log residuals, with bootstrap intervals.

    Parameters
    ----------
    runs : Runs, path, DataFrame or Dataset
    law : str or Law
        Built-in law name (``power_law:N`` binds the input), TOML path or :class:`Law`. Fixed
        priors (e.g. ``E = 0`` in a custom law) stay fixed.
    delta : float
        Huber threshold on log residuals (1e-3 as in Hoffmann et al. 2022).
    n_boot : int
        Bootstrap replicates (runs resampled with replacement, each refitted warm-started from
        the point estimate); 0 for none.
    seed : int
        Seed of the bootstrap resampling.
    grid : mapping, optional
        Starting values per free parameter in user units; their product is the grid. Default:
        :data:`CHINCHILLA_GRID` for ``chinchilla``, prior quantiles otherwise (module docstring).
    max_starts : int or None
        Run L-BFGS-B from this many best grid points (by objective value); None runs all.
    scale : {"fixed", "learned"}
        ``fixed``: the Huber loss with threshold ``delta`` (Hoffmann et al. 2022). ``learned``:
        the Huber loss as a likelihood of the residuals divided by a fitted scale s, i.e.
        ``mean huber(r / s, delta) + log s``, which is how Epoch AI's published refit was
        computed (Besiroglu et al. 2024, ``data_analysis.ipynb``). The fitted s is tiny
        (~1e-5), so this is in effect a least-absolute-deviation fit; it is solved by
        alternating the scale and an L-BFGS-B fit with threshold ``delta * s``.

    Returns
    -------
    BaselineFit

    Examples
    --------
    >>> from bayes_scaling import datasets
    >>> base = fit_baseline(datasets.chinchilla_like(), n_boot=200)  # doctest: +SKIP
    >>> base.summary()  # doctest: +SKIP
    """
    law = get_law(law)
    runs = load_runs(runs, schema=law.schema)
    if not (np.isfinite(delta) and delta > 0):
        raise BayesScalingError(f"delta must be a finite number > 0, not {delta!r}")
    if int(n_boot) < 0:
        raise BayesScalingError(f"n_boot must be >= 0, not {n_boot!r}")
    if scale not in ("fixed", "learned"):
        raise BayesScalingError(f"scale must be 'fixed' or 'learned', not {scale!r}")
    t0 = time.perf_counter()
    problem = HuberProblem(law, runs, delta=delta, learn_scale=scale == "learned")
    starts = start_grid(problem, law, grid)
    if len(starts) == 0:
        raise BayesScalingError(f"no valid starting point for law {law.name!r} on {runs.source}")
    order = np.argsort(problem.values(starts), kind="stable")
    if max_starts is not None:
        order = order[: max(1, int(max_starts))]
    with one_blas_thread():
        best = None
        for i in order:
            res = problem.minimise(starts[i])
            if best is None or res.fun < best.fun:
                best = res
        if not np.isfinite(best.fun) or best.fun >= PENALTY:
            raise BayesScalingError(
                f"the baseline fit of law {law.name!r} to {runs.source} found no parameters "
                "where the law is positive and finite at every run; check the law and the runs"
            )
        best, fitted_scale = problem.fit(best.x)
        t1 = time.perf_counter()
        boot, n_failed = None, 0
        if n_boot:
            boot, n_failed = bootstrap(problem, best.x, runs.n_runs, int(n_boot), seed)
    t2 = time.perf_counter()
    params = {k: float(v[0]) for k, v in problem.to_params(best.x).items()}
    params = {p: params[p] for p in law.param_names}
    residuals = -problem.residuals(best.x)[0]
    settings = {
        "method": "huber_lbfgsb",
        "delta": float(delta),
        "scale": scale,
        "fitted_scale": float(fitted_scale) if scale == "learned" else None,
        "n_grid": int(len(starts)),
        "n_starts": int(len(order)),
        "objective": float(problem.values(best.x[None])[0]),
        "converged": bool(best.success),
        "n_boot": int(n_boot),
        "n_boot_failed": int(n_failed),
        "seed": int(seed),
        "fit_seconds": round(t1 - t0, 4),
        "boot_seconds": round(t2 - t1, 4),
    }
    return BaselineFit(
        law=law,
        runs=runs,
        params=params,
        boot=boot,
        residual_sd=float(np.std(residuals, ddof=1)),
        settings=settings,
    )
