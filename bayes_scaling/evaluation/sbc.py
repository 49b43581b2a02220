"""Simulation-based calibration (Talts et al. 2018, arXiv:1804.06788) of the built-in laws.

For one law: draw every parameter from its prior, simulate runs at a fixed design, fit them with
NUTS, and record the rank of each true value among (thinned) posterior draws. If the model, its
priors and the sampler are right, each rank is uniform on ``0..L``; a chi-square test on binned
ranks checks that, at a Bonferroni-adjusted level across parameters (and laws).

References. The model scales its parameters by reference values: geometric means of the inputs
and ``L_min``, the smallest observed loss. Because ``L_min`` depends on the observed losses, the
prior is data-dependent and the model is not a proper generative model on its own; SBC is exact
only with the references held fixed. ``refs="fixed"`` (the default) uses the design's geometric
means and ``L_min = 1`` both to simulate and to fit, which checks the likelihood, the priors, the
user-unit mapping and the sampler. ``refs="data"`` fits with references computed from each
simulated data set, as :func:`bayes_scaling.inference.sampling` does; deviations from uniformity
there measure
the effect of the data-dependent scaling. Measured: chinchilla passes, power_law:C does not, as
its E prior is bounded by the smallest observed loss, which noise pushes below the true E when
the runs reach the plateau.

Prior draws that give a law that is not positive and finite at every design point (e.g. a
logarithmic law that goes negative) are redrawn and counted: the model's likelihood gives such
parameters zero density anyway, so the truncation keeps SBC exact.

The compiled model is built once per law and reused for every simulation with new data
(``compiled.with_data``), as :func:`bayes_scaling.inference.sampling` does.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.inference.sampling import compiled_model, run_nutpie
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.declared import MEAN_REFERENCE, SCALE_REFERENCE
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model.graph import model_data
from bayes_scaling.model.likelihood import get_likelihood
from bayes_scaling.model.plans import plan_parameters, references, target_scale, user_values

__all__ = ["DESIGNS", "SBCResult", "design_runs", "rank_pvalue", "run_sbc"]

#: Settings of every SBC fit: few draws (thinned), since SBC fits each law 100 times.
SBC_SETTINGS = FitSettings(draws=150, tune=150, chains=2, seed=0, discrepancy=None)
#: Laws checked by default, with the input bound for one-input laws.
BUILT_IN = ("power_law:C", "log_law:C", "broken_power_law:C", "chinchilla", "kaplan",
            "data_constrained", "isoflop", "lr_bs", "vocab", "moe", "rectified_ft",
            "farseer")  # fmt: skip


def _grid_nd() -> dict[str, np.ndarray]:
    n, d = np.meshgrid(np.geomspace(7e7, 7e9, 5), np.geomspace(1e9, 1e11, 5))
    return {"N": n.ravel(), "D": d.ravel()}


def _grid_ndu() -> dict[str, np.ndarray]:
    n, u, epochs = np.meshgrid(
        np.geomspace(1e8, 3e9, 3), np.geomspace(1e9, 1e11, 3), np.array([1.0, 3.0, 10.0, 40.0])
    )
    return {"N": n.ravel(), "U": u.ravel(), "D": (u * epochs).ravel()}


def _grid_isoflop() -> dict[str, np.ndarray]:
    """6 IsoFLOP profiles of 9 sizes, centred on a Chinchilla-like guess N = 0.09 C^0.5."""
    c, factor = np.meshgrid(np.geomspace(1e18, 1e21, 6), np.geomspace(1 / 8, 8, 9))
    return {"N": (0.09 * c**0.5 * factor).ravel(), "C": c.ravel()}


def _grid(**axes: np.ndarray) -> dict[str, np.ndarray]:
    """Every combination of the given input values, one run each."""
    mesh = np.meshgrid(*axes.values(), indexing="ij")
    return {name: m.ravel() for name, m in zip(axes, mesh, strict=True)}


#: Fixed simulation design of each law: input columns (C = 6 N D is derived).
DESIGNS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "power_law": lambda: {"C": np.geomspace(1e18, 1e22, 16)},
    "log_law": lambda: {"C": np.geomspace(1e18, 1e22, 16)},
    "broken_power_law": lambda: {"C": np.geomspace(1e16, 1e22, 30)},
    "chinchilla": _grid_nd,
    "kaplan": _grid_nd,
    "data_constrained": _grid_ndu,
    "isoflop": _grid_isoflop,
    "farseer": _grid_nd,
    "lr_bs": lambda: _grid(
        N=np.geomspace(1e8, 1e9, 3),
        D=np.geomspace(4e9, 1e11, 3),
        lr=np.geomspace(1e-4, 1e-2, 4),
        bs=np.geomspace(64, 1024, 3),
    ),
    "moe": lambda: _grid(N=np.geomspace(1.5e7, 1.3e9, 5), experts=np.array([1, 8, 32, 128, 512.0])),
    "rectified_ft": lambda: {"data_size": np.geomspace(200, 1.6e6, 14)},
    "vocab": lambda: _grid(
        Nnv=np.geomspace(3e7, 1e9, 3),
        V=np.geomspace(4096, 65536, 3),
        d_embed=np.array([512.0, 1024.0]),
        H=np.geomspace(1e9, 1e11, 3),
    ),
}


def design_runs(law: Law, inputs: Mapping[str, np.ndarray] | None = None) -> Runs:
    """The design as Runs (with a placeholder loss of 1), for a law's inputs."""
    if inputs is None:
        if law.name not in DESIGNS:
            raise BayesScalingError(
                f"no built-in SBC design for law {law.name!r}; pass design= with its inputs"
            )
        inputs = DESIGNS[law.name]()
    table = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in inputs.items()})
    table["loss"] = 1.0
    return load_runs(table, schema=law.schema)


@dataclass
class SBCResult:
    """Ranks of the true parameters of ``n_sims`` simulations of one law.

    Attributes
    ----------
    law : str
    ranks : dict[str, np.ndarray]
        Per parameter (user units, noise included): rank of the truth among ``n_draws`` draws.
    n_draws : int
        Thinned posterior draws per simulation (ranks run from 0 to ``n_draws``).
    n_rejected : int
        Prior draws redrawn because the law was not positive and finite at the design.
    n_divergent : int
        Simulations whose fit had at least one divergent transition (kept, not hidden).
    """

    law: str
    ranks: dict[str, np.ndarray]
    n_draws: int
    n_sims: int
    n_rejected: int = 0
    n_divergent: int = 0
    max_rhat: float = float("nan")
    refs: str = "fixed"
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def pvalues(self, *, bins: int = 10, seed: int = 0) -> dict[str, float]:
        """Chi-square uniformity p-value of each parameter's ranks (see :func:`rank_pvalue`)."""
        return {
            k: rank_pvalue(r, self.n_draws, bins=bins, seed=seed) for k, r in self.ranks.items()
        }

    def passed(self, *, alpha: float = 0.01, n_tests: int | None = None) -> dict[str, bool]:
        """Whether each parameter passes at level ``alpha / n_tests`` (Bonferroni)."""
        n_tests = n_tests or len(self.ranks)
        return {k: p >= alpha / n_tests for k, p in self.pvalues().items()}

    def to_dict(self, *, alpha: float = 0.01, n_tests: int | None = None) -> dict[str, Any]:
        """JSON-able summary: p-values, pass/fail, rank histograms, counts and timings."""
        hist = {
            k: np.histogram(r, bins=10, range=(0, self.n_draws + 1))[0].tolist()
            for k, r in self.ranks.items()
        }
        return {
            "law": self.law,
            "refs": self.refs,
            "n_sims": self.n_sims,
            "n_draws": self.n_draws,
            "n_rejected_prior_draws": self.n_rejected,
            "n_sims_with_divergences": self.n_divergent,
            "max_rhat": self.max_rhat,
            "pvalues": self.pvalues(),
            "passed": self.passed(alpha=alpha, n_tests=n_tests),
            "rank_histograms": hist,
            "settings": self.settings,
            "seconds": self.seconds,
        }


def rank_pvalue(ranks: np.ndarray, n_draws: int, *, bins: int = 10, seed: int = 0) -> float:
    """Chi-square p-value that ranks on ``0..n_draws`` are uniform.

    Ranks are made continuous by adding a uniform jitter, ``u = (rank + U(0, 1)) / (L + 1)``,
    which is exactly uniform on (0, 1) under calibration, then counted in ``bins`` equal bins.
    """
    ranks = np.asarray(ranks, dtype=float)
    rng = np.random.default_rng(seed)
    u = (ranks + rng.uniform(size=ranks.shape)) / (n_draws + 1)
    counts = np.histogram(u, bins=bins, range=(0.0, 1.0))[0]
    return float(stats.chisquare(counts).pvalue)


def _simulate(law, plans, refs, inputs, rng, noise_model, max_tries=1000):
    """One prior draw (sampled values and user-unit parameters) and its simulated targets."""
    scale = target_scale(law, refs)
    for tries in range(1, max_tries + 1):
        sampled = {p.sampled_name: float(p.prior.sample(rng, 1)[0]) for p in plans}
        params = user_values(law, plans, sampled, refs)
        with np.errstate(all="ignore"):
            mu = law.evaluate(params, inputs)
        if not np.all(scale.valid_curve(mu)):
            continue
        noise = {n: sampled[n] for n in noise_model.noise_params}
        with np.errstate(all="ignore"):
            loss = scale.observe(mu, noise_model.draw(rng, noise, mu.shape))
        if np.all(scale.valid_curve(loss)):
            truth = {**{k: float(v) for k, v in params.items()}, **noise}
            return truth, loss, tries - 1
    raise BayesScalingError(
        f"SBC for law {law.name!r}: {max_tries} prior draws in a row gave a law that is not "
        f"a valid {law.target.name} at the design; the priors do not suit this design"
    )


def run_sbc(
    law: str | Law,
    *,
    n_sims: int = 100,
    design: Mapping[str, np.ndarray] | None = None,
    thin: int = 3,
    refs: str = "fixed",
    settings: FitSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SBCResult:
    """Simulation-based calibration of one law (module docstring).

    Parameters
    ----------
    law : str or Law
        A built-in law (``power_law:C`` binds the input) or any Law with a ``design``.
    n_sims : int
        Number of simulated data sets.
    design : mapping, optional
        Input columns of the simulated runs (default: :data:`DESIGNS` for the law).
    thin : int
        Every ``thin``-th draw is kept, giving ``chains * draws // thin`` roughly independent
        draws.
    refs : {"fixed", "data"}
        Reference values held fixed (exact SBC) or recomputed from each data set (as a fit
        does).
    settings : FitSettings, optional
        Priors, likelihood, sampler settings and seed of every fit (default
        :data:`SBC_SETTINGS`: 2 chains x 150 draws after 150 warm-up steps, seed 0); the seed
        also drives the prior draws and the noise.
    progress : callable, optional
        Called as ``progress(i, n_sims)`` after each simulation.

    Returns
    -------
    SBCResult
    """
    if refs not in ("fixed", "data"):
        raise BayesScalingError(f"refs must be 'fixed' or 'data', not {refs!r}")
    settings = SBC_SETTINGS if settings is None else settings
    seed = settings.seed if settings.seed is not None else 0
    noise_model = get_likelihood(settings.likelihood)
    law = get_law(law)
    plans = plan_parameters(law, settings.priors, likelihood=settings.likelihood)
    runs = design_runs(law, design)
    inputs = {c: runs.column(c) for c in law.inputs}
    # fixed references: the smallest target 1 and, for a real target, spread 1 around 0
    fixed_refs = {**references(law, runs), LOSS_REFERENCE: 1.0, SCALE_REFERENCE: 1.0,
                  MEAN_REFERENCE: 0.0}  # fmt: skip
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    compiled, reused = compiled_model(
        law, runs, plans, settings.priors, settings.likelihood, fixed_refs
    )
    known = {var.name for var in compiled.shared_var_keys}  # unused references are dropped
    t1 = time.perf_counter()
    fixed = {p.name for p in plans if p.prior.is_fixed}  # a constant has no rank to test
    names = [*(n for n in law.param_names if n not in fixed), *noise_model.noise_params]
    ranks = {k: np.empty(n_sims, dtype=int) for k in names}
    n_rejected = n_divergent = 0
    max_rhat = 0.0
    n_draws = settings.chains * len(range(0, settings.draws, thin))
    for i in range(n_sims):
        truth, loss, rejected = _simulate(law, plans, fixed_refs, inputs, rng, noise_model)
        n_rejected += rejected
        sim = Runs(table=runs.table.assign(loss=loss), source=f"<SBC {law.name} #{i}>")
        sim_refs = fixed_refs if refs == "fixed" else references(law, sim)
        data = {k: v for k, v in model_data(law, sim, sim_refs).items() if k in known}
        tree = run_nutpie(
            compiled.with_data(**data),
            settings=settings,
            adaptation=settings.adaptation,
            seed=int(rng.integers(2**31)),
            progress=False,
        )
        post = tree["posterior"]
        sampled = {p.sampled_name: _draws(post, p) for p in plans}
        values = user_values(law, plans, sampled, sim_refs)
        values.update({n: sampled[n] for n in noise_model.noise_params})
        for k in names:
            kept = np.asarray(values[k])[:, ::thin]
            ranks[k][i] = int(np.sum(kept < truth[k]))
        n_divergent += bool(np.asarray(tree["sample_stats"]["diverging"]).any())
        max_rhat = max(max_rhat, _max_rhat(post, plans))
        if progress is not None:
            progress(i + 1, n_sims)
    t2 = time.perf_counter()
    return SBCResult(
        law=law.name,
        ranks=ranks,
        n_draws=n_draws,
        n_sims=n_sims,
        n_rejected=n_rejected,
        n_divergent=n_divergent,
        max_rhat=float(max_rhat),
        refs=refs,
        settings={
            **settings.replace(seed=seed).to_dict(),
            "thin": thin,
            "n_runs": runs.n_runs,
            "compiled_once": True,
            "compiled_model_reused": reused,
        },  # fmt: skip
        seconds={"compile": round(t1 - t0, 2), "sample": round(t2 - t1, 2)},
    )


def _draws(post, plan) -> np.ndarray:
    if plan.prior.is_fixed:
        shape = (post.sizes["chain"], post.sizes["draw"])
        return np.full(shape, float(plan.prior.params[0]))
    return np.asarray(post[plan.sampled_name].values, dtype=float)


def _max_rhat(post, plans) -> float:
    import arviz as az

    names = [p.sampled_name for p in plans if not p.prior.is_fixed]
    rhat = az.rhat(post.to_dataset()[names])
    return float(max(float(rhat[n]) for n in names))
