"""Leave-future-out backtests: fit the small runs, predict the held-out larger ones, score them.

The question a planner asks of an extrapolation is whether its intervals are true. A backtest
answers it on the user's own runs: fit on the runs below a cut-off (by default, all but the
largest-compute 20%), predict the held-out larger runs, and score the predictive ``y`` (a new
run's observed loss) with the rules of :mod:`bayes_scaling.evaluation.scores`: coverage of central
intervals, mean relative width, median absolute relative error, log score and CRPS (the last two
on log(loss)). With ``baseline=True`` the classic point fit with bootstrap
(:mod:`bayes_scaling.evaluation.baseline`) is scored the same way on the same split.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from bayes_scaling.core.errors import DataError
from bayes_scaling.core.intervals import check_ci, quantiles
from bayes_scaling.evaluation.fitting import fit
from bayes_scaling.evaluation.scores import central_interval, covered, score_draws
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import Runs, load_runs
from bayes_scaling.model.plans import plan_parameters
from bayes_scaling.questions.noise import sort_column
from bayes_scaling.questions.predict import predict

#: Default fraction of runs held out (the largest ones).
HOLDOUT_FRACTION = 0.2
#: Default central intervals scored.
BACKTEST_CI = (0.5, 0.9)
#: Default settings of a backtest's fit: fewer draws than a fit (a backtest refits).
BACKTEST_SETTINGS = FitSettings(draws=500, tune=500, chains=2, seed=0)


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Scores and per-run predictions of one backtest.

    Attributes
    ----------
    law : Law
    train, test : Runs
        The runs fitted and the held-out runs.
    split : dict
        How the split was made (``by``, ``cutoff``, ``holdout_fraction`` or ``mask``).
    ci : tuple of float
        Central intervals scored.
    predictions : xr.Dataset
        The Bayesian fit's ``mu`` and ``y`` at the held-out runs (dims chain, draw, point) and
        the observed ``loss`` (dim point).
    scores : dict
        ``{"bayes": {...}, "baseline": {...}}``; see
        :func:`bayes_scaling.evaluation.scores.score_draws`.
    fit : FitRecord
    baseline_predictions : xr.Dataset or None
    """

    law: Law
    train: Runs
    test: Runs
    split: dict[str, Any]
    ci: tuple[float, ...]
    predictions: xr.Dataset
    scores: dict[str, dict[str, Any]]
    fit: Any
    baseline_predictions: xr.Dataset | None = None
    baseline_fit: Any = field(default=None)

    @property
    def n_train(self) -> int:
        return self.train.n_runs

    @property
    def n_test(self) -> int:
        return self.test.n_runs

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary: ``law``, ``n_train``, ``n_test``, ``split``, ``bayes``, ``baseline``.

        Interval probabilities are keys written as text (``"0.5"``, ``"0.9"``).
        """

        def method(scores: Mapping[str, Any] | None) -> dict[str, Any] | None:
            if scores is None:
                return None
            return {
                "coverage": {_key(c): v for c, v in scores["coverage"].items()},
                "width": scores["width"],
                "widths": {_key(c): v for c, v in scores["widths"].items()},
                "mare": scores["mare"],
                "log_score": scores["log_score"],
                "crps": scores["crps"],
                "interval_score": {_key(c): v for c, v in scores["interval_score"].items()},
                "calibration": {_key(c): v for c, v in scores["calibration"].items()},
                "pit": scores["pit"],
            }

        return {
            "law": self.law.name,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "split": {k: v for k, v in self.split.items() if k != "mask"},
            "ci": list(self.ci),
            "bayes": method(self.scores.get("bayes")),
            "baseline": method(self.scores.get("baseline")),
        }

    def table(self) -> pd.DataFrame:
        """One row per held-out run: inputs, observed loss, predictive median and intervals."""
        rows = {c: self.test.column(c) for c in self.test.table.columns if c in "NDCU"}
        frame = pd.DataFrame(rows)
        frame["loss"] = self.test.column("loss")
        methods = [("bayes", self.predictions)]
        if self.baseline_predictions is not None:
            methods.append(("baseline", self.baseline_predictions))
        for name, ds in methods:
            y = _draws(ds)
            frame[f"{name}_median"] = quantiles(y, 0.5, axis=0)
            for c in self.ci:
                lo, hi = central_interval(y, ci=c)
                frame[f"{name}_lower_{_key(c)}"] = lo
                frame[f"{name}_upper_{_key(c)}"] = hi
                frame[f"{name}_covered_{_key(c)}"] = covered(y, frame["loss"].to_numpy(), ci=c)
        return frame


def _key(c: float) -> str:
    return f"{c:g}"


def _draws(ds: xr.Dataset) -> np.ndarray:
    """Predictive draws of ``y`` as an (S, P) array."""
    y = ds["y"].transpose("chain", "draw", "point").values
    return y.reshape(-1, y.shape[-1])


def split_runs(
    runs: Runs,
    *,
    law: Law,
    holdout_fraction: float | None = HOLDOUT_FRACTION,
    cutoff_compute: float | None = None,
    train_mask: Sequence[bool] | np.ndarray | None = None,
    by: str = "C",
) -> tuple[np.ndarray, dict[str, Any]]:
    """Boolean training mask of a leave-future-out split and a description of it.

    Exactly one rule applies, in this order: an explicit ``train_mask``; ``cutoff_compute``
    (train on ``C <= cutoff``); ``holdout_fraction`` of the runs with the largest ``by`` (train on
    values at or below the ``1 - holdout_fraction`` quantile, so tied values stay together).
    When the runs have no ``by`` column and the law has one input, that input is used.

    Raises
    ------
    DataError
        When the split leaves no test run or too few training runs for the law.
    """
    if train_mask is not None:
        mask = np.asarray(train_mask, dtype=bool)
        if mask.shape != (runs.n_runs,):
            raise DataError(
                f"{runs.source}: the training mask has {mask.size} values for {runs.n_runs} runs; "
                "give one true/false value per run"
            )
        split: dict[str, Any] = {"rule": "mask"}
    elif cutoff_compute is not None:
        if not runs.has("C"):
            raise DataError(
                f"{runs.source}: --cutoff-compute needs training compute C, which the runs do "
                "not have; give N and D (C = 6 N D) or a compute column (--c-col)"
            )
        cutoff = float(cutoff_compute)
        mask = runs.column("C") <= cutoff
        split = {"rule": "cutoff", "by": "C", "cutoff": cutoff}
    else:
        frac = float(HOLDOUT_FRACTION if holdout_fraction is None else holdout_fraction)
        if not 0.0 < frac < 1.0:
            raise DataError(f"holdout fraction must be between 0 and 1 (e.g. 0.2), not {frac!r}")
        col = by
        if not runs.has(col):
            if by == "C" and runs.has(sort_column(law, runs)):
                col = sort_column(law, runs)  # the law's first scale axis
            else:
                raise DataError(
                    f"{runs.source}: cannot order runs by {by!r}, which the runs do not have "
                    f"(they have {', '.join(runs.table.columns)}); choose by= one of them"
                )
        values = runs.column(col)
        cutoff = float(np.quantile(values, 1.0 - frac))
        mask = values <= cutoff
        split = {"rule": "holdout_fraction", "by": col, "holdout_fraction": frac, "cutoff": cutoff}
    n_train, n_test = int(mask.sum()), int((~mask).sum())
    if n_test == 0:
        raise DataError(
            f"{runs.source}: the split leaves no held-out run to score ({n_train} runs all fall "
            f"in the training set{_where(split)}); lower the cut-off or raise the holdout fraction"
        )
    n_free = sum(not p.prior.is_fixed for p in plan_parameters(law))
    if n_train < n_free + 1:
        raise DataError(
            f"{runs.source}: the split leaves {n_train} training run(s){_where(split)}, too few "
            f"to fit law {law.name!r}, which has {n_free} free parameters (noise included); "
            f"at least {n_free + 1} training runs are needed: raise the cut-off or lower the "
            "holdout fraction"
        )
    split["n_train"], split["n_test"] = n_train, n_test
    split["mask"] = mask
    return mask, split


def _where(split: Mapping[str, Any]) -> str:
    if "cutoff" in split:
        return f" with cut-off {split['by']} <= {split['cutoff']:.4g}"
    return ""


def backtest(
    runs: Runs | Any,
    *,
    law: str | Law = "chinchilla",
    holdout_fraction: float | None = HOLDOUT_FRACTION,
    cutoff_compute: float | None = None,
    train_mask: Sequence[bool] | np.ndarray | None = None,
    by: str = "C",
    ci: Sequence[float] = BACKTEST_CI,
    baseline: bool = False,
    n_boot: int = 200,
    settings: FitSettings | None = None,
) -> BacktestResult:
    """Fit on the smaller runs, predict the held-out larger runs and score the predictions.

    Parameters
    ----------
    runs : Runs or anything :func:`load_runs` accepts
    law : str or Law
    holdout_fraction, cutoff_compute, train_mask, by
        The split; see :func:`split_runs` (default: hold out the largest-compute 20%).
    ci : sequence of float
        Central intervals to score (default 0.5 and 0.9).
    baseline : bool
        Also score the classic Huber + L-BFGS point fit with ``n_boot`` bootstrap refits.
    settings : FitSettings, optional
        Settings of the fit on the training runs (default :data:`BACKTEST_SETTINGS`: 2 chains x
        500 draws, seed 0). Its discrepancy is learned on the training runs only, so the
        held-out runs never inform the intervals they are scored on. A backtest of a saved fit
        passes ``fit.settings``, so it is pooled when the fit is.

    Returns
    -------
    BacktestResult

    Examples
    --------
    >>> result = backtest(runs, law="chinchilla", baseline=True)  # doctest: +SKIP
    >>> result.to_dict()["bayes"]["coverage"]  # share of held-out runs inside  # doctest: +SKIP
    """
    settings = BACKTEST_SETTINGS if settings is None else settings
    seed = settings.seed if settings.seed is not None else 0
    law = get_law(law)
    runs = load_runs(runs, schema=law.schema)
    cis = tuple(sorted({check_ci(c) for c in ci}))
    if not cis:
        raise DataError("give at least one interval probability to score (e.g. ci=(0.5, 0.9))")
    mask, split = split_runs(
        runs,
        law=law,
        holdout_fraction=holdout_fraction,
        cutoff_compute=cutoff_compute,
        train_mask=train_mask,
        by=by,
    )
    train = runs.subset(mask, source=f"{runs.source} (training runs)")
    test = runs.subset(~mask, source=f"{runs.source} (held-out runs)")
    result = fit(train, law=law, settings=settings.replace(seed=seed))
    inputs = {c: test.column(c) for c in law.inputs}
    if test.has("C"):
        inputs["C"] = test.column("C")
    observed = test.column("loss")
    predictions = predict(result, points=inputs, seed=seed + 1)
    predictions["loss"] = ("point", observed, {"long_name": "observed loss (held out)"})
    log = law.target.is_positive  # a real target is scored on its own scale
    scores = {"bayes": score_draws(_draws(predictions), observed, ci=cis, log=log)}
    base_pred, base_fit = None, None
    if baseline:
        from bayes_scaling.evaluation.baseline import fit_baseline

        base_fit = fit_baseline(train, law=law, n_boot=n_boot, seed=seed)
        base_pred = base_fit.predict(points=inputs, seed=seed + 1)
        scores["baseline"] = score_draws(_draws(base_pred), observed, ci=cis, log=log)
    split.pop("mask", None)
    return BacktestResult(
        law=law,
        train=train,
        test=test,
        split=split,
        ci=cis,
        predictions=predictions,
        scores=scores,
        fit=result,
        baseline_predictions=base_pred,
        baseline_fit=base_fit,
    )
