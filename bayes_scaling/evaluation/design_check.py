"""Check run design against real refits: is ``expected_width_after`` what a refit gives?

:func:`bayes_scaling.questions.design.rank_candidates` predicts, without refitting, the width of
the target's 90% interval after one more run, by importance reweighting of the current draws.
:func:`check_design` adds, for each candidate, a few simulated outcomes drawn from the posterior
predictive (one posterior draw as the truth, the fitted noise), refits each time with the record's
own law and settings (:func:`bayes_scaling.evaluation.fitting.refit`, no discrepancy), measures
the width by the one interval rule and compares: the ratio of predicted to refitted width per
candidate, and the rank correlation of the two across candidates.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import equal_tailed
from bayes_scaling.evaluation.fitting import refit
from bayes_scaling.inference.record import FitRecord
from bayes_scaling.questions.allocation import params_of
from bayes_scaling.questions.design import DesignQuestion, rank_candidates
from bayes_scaling.questions.design_tools import candidate_inputs, target_values

__all__ = ["check_design"]


def _width(fit: FitRecord, q: DesignQuestion) -> float:
    values, _ = target_values(fit, q.target, q.compute, q.N, q.D, q.loss_target)
    lower, _, upper = equal_tailed(values.reshape(-1), ci=q.ci)
    return float(upper - lower)


def check_design(
    record: FitRecord,
    candidates: Any,
    *,
    target: str = "loss",
    compute: float | None = None,
    N: float | None = None,
    D: float | None = None,
    loss_target: float | None = None,
    n_outcomes: int = 3,
    n_fantasies: int = 32,
    draws: int = 300,
    seed: int = 0,
) -> pd.DataFrame:
    """Predicted width after one more run vs the width after adding it and refitting.

    Parameters
    ----------
    record : FitRecord
        The current fit (unpooled).
    candidates : pandas.DataFrame or mapping
        A few candidate runs (each costs ``n_outcomes`` refits).
    target, compute, N, D, loss_target, n_fantasies
        As for :class:`~bayes_scaling.questions.design_question.DesignQuestion` (the width is
        of its default 90% interval).
    n_outcomes : int
        Simulated outcomes (refits) per candidate.
    draws : int
        Draws per chain of each refit (the record's chains; tuning as the record's).
    seed : int
        Seed of the simulated outcomes and of the refits.

    Returns
    -------
    pandas.DataFrame
        One row per candidate (table order): its inputs, ``expected_width_after`` (predicted),
        ``refit_width_after`` (mean over outcomes), ``refit_width_sd``, ``ratio`` (predicted /
        refitted) and ``ess``. ``attrs``: ``width_now`` (the record's own width),
        ``spearman`` (rank correlation of predicted and refitted widths), ``median_ratio``,
        ``n_outcomes``, ``draws``.
    """
    from scipy import stats

    if int(n_outcomes) < 1:
        raise QuestionError(f"n_outcomes must be >= 1, not {n_outcomes!r}")
    question = DesignQuestion(
        target=target,
        compute=compute,
        N=N,
        D=D,
        loss_target=loss_target,
        n_fantasies=n_fantasies,
        seed=seed,
    )
    ranked = rank_candidates(record, candidates, question).sortby("candidate")
    law = record.law
    inputs, _ = candidate_inputs(law, candidates, flops_per_token=record.runs.flops_per_token)
    m = len(next(iter(inputs.values())))
    params = {p: v.reshape(-1) for p, v in params_of(record).items()}
    noise = {n: v.reshape(-1) for n, v in record.noise_draws(extra_dims=0).items()}
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(m):
        point = {c: inputs[c][i] for c in law.inputs}
        widths = []
        for r in range(int(n_outcomes)):
            s = int(rng.integers(params[law.param_names[0]].size))
            mu = law.evaluate({p: v[s] for p, v in params.items()}, point)
            eps = record.noise.draw(rng, {n: v[s] for n, v in noise.items()}, ())
            y = float(record.target_scale.observe(mu, eps))
            row = {c: float(inputs[c][i]) for c in inputs if c in ("N", "D", "C", "U")}
            table = pd.concat([record.runs.table, pd.DataFrame([{**row, "loss": y}])])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                new = refit(
                    record,
                    table.reset_index(drop=True),
                    draws=int(draws),
                    discrepancy=None,
                    seed=seed + 1000 * i + r,
                )
            widths.append(_width(new, question))
        rows.append(
            {
                **{c: float(inputs[c][i]) for c in inputs},
                "expected_width_after": float(ranked["expected_width_after"].values[i]),
                "refit_width_after": float(np.mean(widths)),
                "refit_width_sd": float(np.std(widths)),
                "ess": float(ranked["ess"].values[i]),
            }
        )
    out = pd.DataFrame(rows)
    out["ratio"] = out["expected_width_after"] / out["refit_width_after"]
    rho = stats.spearmanr(out["expected_width_after"], out["refit_width_after"]).statistic
    out.attrs.update(
        width_now=float(ranked.attrs["width_now"]),
        spearman=float(rho),
        median_ratio=float(out["ratio"].median()),
        n_outcomes=int(n_outcomes),
        draws=int(draws),
    )
    return out
