"""Built-in data sets simulated from published laws, so that the truth is known.

* :func:`chinchilla_like` — an IsoFLOP design (model sizes 70M–16B at 9 budgets 6e18–3e21 FLOPs)
  drawn from Epoch AI's refit of the Chinchilla law (Besiroglu et al. 2024: E = 1.82, A = 482,
  B = 2085, alpha = 0.348, beta = 0.366).
* :func:`kaplan_like` — a grid of N and D drawn from Kaplan et al. 2020, eq. 1.5
  (alpha_N = 0.076, alpha_D = 0.095, N_c = 8.8e13, D_c = 5.4e13).
* :func:`simulate` — any law at any design, for recovery tests and what-if studies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import pandas as pd

from bayes_scaling.core.constants import FLOPS_PER_TOKEN
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs

#: Epoch AI's refit of the Chinchilla law (Besiroglu et al. 2024, arXiv:2404.10102).
CHINCHILLA_TRUTH = {"E": 1.82, "A": 482.0, "B": 2085.0, "alpha": 0.348, "beta": 0.366}
#: Kaplan et al. 2020, eq. 1.5 and Table 2 (arXiv:2001.08361).
KAPLAN_TRUTH = {"alpha_N": 0.076, "alpha_D": 0.095, "N_c": 8.8e13, "D_c": 5.4e13}


def simulate(
    law: str | Law,
    params: Mapping[str, float],
    inputs: Mapping[str, np.ndarray],
    *,
    sigma: float = 0.01,
    nu: float | None = None,
    seed: int = 0,
    name: str = "simulated",
) -> Runs:
    """Runs drawn from a law: ``loss = mu * exp(sigma * eps)``, eps Normal (Student-t with ``nu``).

    Parameters
    ----------
    law : str or Law
    params : mapping
        True parameter values in user units.
    inputs : mapping
        Input columns (N, D, C, U, any the law declares, group) as equal-length arrays;
        C = 6 N D is added when N and D are given.
    sigma, nu : float
        Noise scale on log(loss) (for a real target: in units of the target's spread across
        the runs, additive), and Student-t degrees of freedom (None: Normal noise).
    seed : int
    name : str
        Source name shown in messages.
    """
    law = get_law(law)
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({k: np.asarray(v) for k, v in inputs.items()})
    if "C" not in table and {"N", "D"} <= set(table):
        table["C"] = FLOPS_PER_TOKEN * table["N"] * table["D"]
    mu = law.evaluate(dict(params), {c: table[c].to_numpy(float) for c in law.inputs})
    eps = rng.standard_normal(len(table)) if nu is None else rng.standard_t(nu, len(table))
    if law.target.is_positive:
        table["loss"] = mu * np.exp(sigma * eps)
    else:  # the fit's own scale of a real target (see bayes_scaling.model.target)
        spread = float(np.std(mu)) or float(np.max(np.abs(mu))) or 1.0
        table["loss"] = mu + sigma * spread * eps
    runs = load_runs(table, schema=law.schema)
    return dataclasses.replace(runs, source=f"<built-in {name}>")


def chinchilla_like(*, seed: int = 0, sigma: float = 0.01, sizes_per_budget: int = 9) -> Runs:
    """IsoFLOP runs from Epoch AI's Chinchilla refit (model sizes 70M–16B, budgets 6e18–3e21)."""
    budgets = np.geomspace(6e18, 3e21, 9)
    N, C = [], []
    for budget in budgets:
        # sizes centred (in log) on a ~20 tokens-per-parameter optimum, within 70M-16B
        n_opt = np.sqrt(budget / (FLOPS_PER_TOKEN * 20.0))
        sizes = n_opt * np.geomspace(1 / 8, 8, sizes_per_budget)
        sizes = sizes[(sizes >= 7e7) & (sizes <= 1.6e10)]
        N.extend(sizes)
        C.extend([budget] * len(sizes))
    N, C = np.array(N), np.array(C)
    D = C / (FLOPS_PER_TOKEN * N)
    return simulate(
        "chinchilla",
        CHINCHILLA_TRUTH,
        {"N": N, "D": D, "C": C},
        sigma=sigma,
        seed=seed,
        name="chinchilla_like",
    )


def kaplan_like(*, seed: int = 0, sigma: float = 0.01) -> Runs:
    """A grid of non-embedding sizes 1e6–1e9 and token counts 2e7–2e10 from Kaplan's eq. 1.5."""
    n, d = np.meshgrid(np.geomspace(1e6, 1e9, 7), np.geomspace(2e7, 2e10, 7))
    return simulate(
        "kaplan",
        KAPLAN_TRUTH,
        {"N": n.ravel(), "D": d.ravel()},
        sigma=sigma,
        seed=seed,
        name="kaplan_like",
    )


#: Built-in data sets by name (used by the CLI's ``demo`` and ``--dataset``).
DATASETS = {"chinchilla_like": chinchilla_like, "kaplan_like": kaplan_like}

# The public data sets shipped in bayes_scaling/data, by name: datasets.load("epoch_chinchilla").
from bayes_scaling.inputs.shipped import load, names, path  # noqa: E402, F401
