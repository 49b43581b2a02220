"""Loss at new points: the law's expected curve ``mu`` and the predicted observation ``y``.

``mu`` is the law evaluated with each posterior draw (parameter uncertainty only); ``y`` adds the
fitted noise on log(loss) (Student-t or Normal), i.e. what a new training run would measure.
Both are numpy functions of the draws: no PyMC, milliseconds per call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inference.record import FitRecord, log_likelihood
from bayes_scaling.questions.draws import law_draws
from bayes_scaling.questions.noise import extrapolation_noise


def _positive(name: str, value: Any) -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise QuestionError(f"{name} must be numbers, not {value!r}") from None
    if arr.ndim != 1:
        raise QuestionError(f"{name} must be a number or a 1-D list of numbers")
    bad = ~np.isfinite(arr) | (arr <= 0)
    if bad.any():
        raise QuestionError(f"{name} must be finite and > 0; got {arr[bad].tolist()}")
    return arr


def complete_inputs(
    needed: tuple[str, ...],
    *,
    flops_per_token: float,
    law: str = "the law",
    N: Any = None,
    D: Any = None,
    C: Any = None,
    U: Any = None,
) -> dict[str, np.ndarray]:
    """Broadcast the given inputs to one 1-D array each and derive the missing ones.

    ``C = k N D`` fills in whichever of N, D, C is missing when the other two are given.
    Raises QuestionError naming what the law ``needed`` and what is missing.
    """
    given = {k: _positive(k, v) for k, v in {"N": N, "D": D, "C": C, "U": U}.items()}
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        raise QuestionError(f"give the inputs of the law: {', '.join(needed)}")
    if "U" in given and "U" not in needed:
        raise QuestionError(
            f"U (unique tokens) was given but {law} takes only {', '.join(needed)}; drop it, "
            "or fit a law with unique tokens (data_constrained)"
        )
    try:
        arrays = np.broadcast_arrays(*given.values())
    except ValueError:
        sizes = {k: len(v) for k, v in given.items()}
        raise QuestionError(f"inputs must have equal lengths (or length 1); got {sizes}") from None
    values = dict(zip(given, (np.array(a, dtype=float) for a in arrays), strict=True))
    k = float(flops_per_token)
    with np.errstate(over="ignore", under="ignore"):
        if "C" not in values and {"N", "D"} <= set(values):
            values["C"] = k * values["N"] * values["D"]
        if "D" not in values and {"N", "C"} <= set(values):
            values["D"] = values["C"] / (k * values["N"])
        if "N" not in values and {"D", "C"} <= set(values):
            values["N"] = values["C"] / (k * values["D"])
    for name in needed:  # a derived coordinate the law does not use may overflow to inf
        arr = values.get(name)
        if arr is not None and not np.all(np.isfinite(arr) & (arr > 0)):
            raise QuestionError(
                f"{name} = C / ({k:g} x the other input) cannot be represented for the given "
                "inputs (it overflows); give values within about 1e150"
            )
    missing = [c for c in needed if c not in values]
    if missing:
        raise QuestionError(
            f"the law needs {', '.join(needed)}; {', '.join(missing)} could not be derived from "
            f"the given {', '.join(given)} (C = {k:g} N D relates N, D and C)"
        )
    return values


def predict(
    fit: FitRecord,
    *,
    N: Any = None,
    D: Any = None,
    C: Any = None,
    U: Any = None,
    seed: int | None = None,
    group: str | None = None,
) -> xr.Dataset:
    """Posterior of the loss at new points.

    Parameters
    ----------
    fit : FitRecord
    N, D, C, U : float or sequence of float, optional
        Inputs in the user's units; missing ones among N, D, C are derived with the fit's
        FLOPs-per-token rule. Scalars broadcast against sequences.
    seed : int, optional
        Seed of the noise draws of ``y`` (default: derived from the fit's seed).
    group : str, optional
        For a pooled fit: the group to predict for; None predicts for a new, unseen group
        (population predictive). Must be None for an unpooled fit.

    Returns
    -------
    xr.Dataset
        ``mu`` (expected loss, the law's curve) and ``y`` (predicted observed loss, with noise
        and, when the fit has one, the extrapolation discrepancy of
        :mod:`bayes_scaling.evaluation.discrepancy`; ``mu`` never includes it), dims ``chain``,
        ``draw``,
        ``point``; coordinates N, D, C, U on ``point``.
        ``.scaling.summary(ci=0.9)`` gives the tidy table.

    Examples
    --------
    >>> fit.predict(N=70e9, D=1.4e12).scaling.summary()  # doctest: +SKIP
    """
    law = fit.law
    inputs = complete_inputs(
        law.inputs, flops_per_token=fit.runs.flops_per_token, law=law.name, N=N, D=D, C=C, U=U
    )
    mu = law.evaluate(law_draws(fit, group), {c: inputs[c][None, None, :] for c in law.inputs})
    if seed is None:
        seed = fit.seed + 1
    rng = np.random.default_rng(seed)
    log_ratio = fit.noise.draw(rng, fit.noise_draws(), mu.shape)
    delta = extrapolation_noise(fit, inputs, mu.shape, rng)
    if delta is not None:
        log_ratio = log_ratio + delta
    # Student-t noise with small nu has very heavy tails: a rare draw can overflow to inf, an honest
    # draw of a distribution without a mean; medians and intervals are unaffected.
    with np.errstate(over="ignore"):
        y = mu * np.exp(log_ratio)
    dims = ("chain", "draw", "point")
    coords = {name: ("point", arr) for name, arr in inputs.items()}
    ds = xr.Dataset(
        {
            "mu": (dims, mu, {"long_name": "expected loss (the law's curve)"}),
            "y": (dims, y, {"long_name": "predicted observed loss (with noise)"}),
        },
        coords={"chain": fit.posterior["chain"], "draw": fit.posterior["draw"], **coords},
    )
    ds.attrs.update(law=law.name, question="predict")
    if getattr(fit, "pooling", None) is not None:
        ds.attrs["group"] = "<new group>" if group is None else str(group)
    return ds


def pointwise_log_likelihood(fit: FitRecord) -> xr.Dataset:
    """Log-likelihood of each observed run under each draw (dims chain, draw, run), float64.

    Evaluated by the fit's own likelihood object, as stored in the ``log_likelihood`` group.
    """
    return log_likelihood(
        fit.law, fit.runs, fit.posterior, likelihood=fit.noise, pooling=fit.pooling
    )
