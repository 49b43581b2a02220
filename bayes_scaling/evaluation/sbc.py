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
simulated data set, as :func:`bayes_scaling.inference.sampling` does; deviations from uniformity there measure
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
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model.graph import model_data
from bayes_scaling.model.plans import plan_parameters, references, user_values

__all__ = ["DESIGNS", "SBCResult", "design_runs", "rank_pvalue", "run_sbc"]

#: Laws checked by default, with the input bound for one-input laws.
BUILT_IN = ("power_law:C", "log_law:C", "broken_power_law:C", "chinchilla", "kaplan",
            "data_constrained", "isoflop")  # fmt: skip


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


#: Fixed simulation design of each law: canonical input columns (C = 6 N D is derived).
DESIGNS: dict[str, Callable[[], dict[str, np.ndarray]]] = {
    "power_law": lambda: {"C": np.geomspace(1e18, 1e22, 16)},
    "log_law": lambda: {"C": np.geomspace(1e18, 1e22, 16)},
    "broken_power_law": lambda: {"C": np.geomspace(1e16, 1e22, 30)},
    "chinchilla": _grid_nd,
    "kaplan": _grid_nd,
    "data_constrained": _grid_ndu,
    "isoflop": _grid_isoflop,
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
    return load_runs(table)


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


def _simulate(law, plans, refs, inputs, rng, likelihood, max_tries=1000):
    """One prior draw (sampled values and user-unit parameters) and its simulated losses."""
    for tries in range(1, max_tries + 1):
        sampled = {p.sampled_name: float(p.prior.sample(rng, 1)[0]) for p in plans}
        params = user_values(law, plans, sampled, refs)
        with np.errstate(all="ignore"):
            mu = law.evaluate(params, inputs)
        if not np.all(np.isfinite(mu) & (mu > 0)):
            continue
        if likelihood == "student_t":
            eps = rng.standard_t(sampled["nu"], size=mu.shape)
        else:
            eps = rng.standard_normal(mu.shape)
        with np.errstate(all="ignore"):
            loss = mu * np.exp(sampled["sigma"] * eps)
        if np.all(np.isfinite(loss) & (loss > 0)):
            truth = {**{k: float(v) for k, v in params.items()}, "sigma": sampled["sigma"]}
            if likelihood == "student_t":
                truth["nu"] = sampled["nu"]
            return truth, loss, tries - 1
    raise BayesScalingError(
        f"SBC for law {law.name!r}: {max_tries} prior draws in a row gave a law that is not "
        "positive and finite at the design; the priors do not suit this design"
    )


def run_sbc(
    law: str | Law,
    *,
    n_sims: int = 100,
    design: Mapping[str, np.ndarray] | None = None,
    draws: int = 150,
    tune: int = 150,
    chains: int = 2,
    thin: int = 3,
    seed: int = 0,
    refs: str = "fixed",
    likelihood: str = "student_t",
    target_accept: float = 0.9,
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
    draws, tune, chains, thin : int
        NUTS settings of each fit; every ``thin``-th draw is kept, giving
        ``chains * draws // thin`` roughly independent draws.
    seed : int
        Seed of the prior draws, the noise and the sampler.
    refs : {"fixed", "data"}
        Reference values held fixed (exact SBC) or recomputed from each data set (as in
        :func:`bayes_scaling.inference.sampling`).
    likelihood : {"student_t", "normal"}
    progress : callable, optional
        Called as ``progress(i, n_sims)`` after each simulation.

    Returns
    -------
    SBCResult
    """
    if refs not in ("fixed", "data"):
        raise BayesScalingError(f"refs must be 'fixed' or 'data', not {refs!r}")
    import nutpie

    law = get_law(law)
    plans = plan_parameters(law, likelihood=likelihood)
    runs = design_runs(law, design)
    inputs = {c: runs.column(c) for c in law.inputs}
    fixed_refs = {**references(law, runs), LOSS_REFERENCE: 1.0}
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    compiled, reused = _compiled(law, runs, plans, likelihood, fixed_refs)
    known = {var.name for var in compiled.shared_var_keys}  # unused references are dropped
    t1 = time.perf_counter()
    fixed = {p.name for p in plans if p.prior.is_fixed}  # a constant has no rank to test
    names = [*(n for n in law.param_names if n not in fixed), "sigma"]
    names += ["nu"] if likelihood == "student_t" else []
    ranks = {k: np.empty(n_sims, dtype=int) for k in names}
    n_rejected = n_divergent = 0
    max_rhat = 0.0
    n_draws = chains * len(range(0, draws, thin))
    for i in range(n_sims):
        truth, loss, rejected = _simulate(law, plans, fixed_refs, inputs, rng, likelihood)
        n_rejected += rejected
        sim = Runs(table=runs.table.assign(loss=loss), source=f"<SBC {law.name} #{i}>")
        sim_refs = fixed_refs if refs == "fixed" else references(law, sim)
        tree = nutpie.sample(
            compiled.with_data(
                **{k: v for k, v in model_data(law, sim, sim_refs).items() if k in known}
            ),
            draws=draws,
            tune=tune,
            chains=chains,
            cores=chains,
            seed=int(rng.integers(2**31)),
            target_accept=target_accept,
            progress_bar=False,
        )
        post = tree["posterior"]
        sampled = {p.sampled_name: _draws(post, p) for p in plans}
        values = {**user_values(law, plans, sampled, sim_refs), "sigma": sampled["sigma"]}
        if "nu" in names:
            values["nu"] = sampled["nu"]
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
            "draws": draws,
            "tune": tune,
            "chains": chains,
            "thin": thin,
            "seed": seed,
            "likelihood": likelihood,
            "target_accept": target_accept,
            "n_runs": runs.n_runs,
            "compiled_once": True,
            "compiled_model_reused": reused,
        },  # fmt: skip
        seconds={"compile": round(t1 - t0, 2), "sample": round(t2 - t1, 2)},
    )


def _compiled(law, runs, plans, likelihood, refs):
    """The nutpie-compiled model, from (and kept in) :func:`bayes_scaling.inference.sampling`'s cache."""
    from bayes_scaling.inference.sampling import compiled_model as _compiled_model

    return _compiled_model(law, runs, plans, {}, likelihood, refs)


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
