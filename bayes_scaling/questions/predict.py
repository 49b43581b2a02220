"""Loss at new points: the law's expected curve ``mu`` and the predicted observation ``y``.

``mu`` is the law evaluated with each posterior draw (parameter uncertainty only); ``y`` adds the
fitted noise on log(loss) (Student-t or Normal), i.e. what a new training run would measure.
Both are numpy functions of the draws: no PyMC, milliseconds per call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inference.record import FitRecord, log_likelihood
from bayes_scaling.questions.draws import law_draws
from bayes_scaling.questions.noise import extrapolation_noise

_RULES = {"positive": "finite and > 0", "nonnegative": "finite and >= 0", "real": "finite"}


def _checked(name: str, value: Any, sign: str = "positive") -> np.ndarray | None:
    if value is None:
        return None
    try:
        arr = np.atleast_1d(np.asarray(value, dtype=float))
    except (TypeError, ValueError):
        raise QuestionError(f"{name} must be numbers, not {value!r}") from None
    if arr.ndim != 1:
        raise QuestionError(f"{name} must be a number or a 1-D list of numbers")
    bad = ~np.isfinite(arr)
    if sign == "positive":
        bad |= arr <= 0
    elif sign == "nonnegative":
        bad |= arr < 0
    if bad.any():
        raise QuestionError(f"{name} must be {_RULES[sign]}; got {arr[bad].tolist()}")
    return arr


def split_points(
    points: Any, *, N: Any = None, D: Any = None, C: Any = None, U: Any = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Canonical inputs (N, D, C, U) and declared ones from keywords and a table of points.

    ``points``: a mapping of input name -> values or a pandas DataFrame (one row per point).
    An input given both as a keyword and in ``points`` is a QuestionError.
    """
    canonical = {"N": N, "D": D, "C": C, "U": U}
    extra: dict[str, Any] = {}
    if points is None:
        return canonical, extra
    if hasattr(points, "to_dict") and hasattr(points, "columns"):  # a DataFrame
        points = {str(c): points[c].to_numpy() for c in points.columns}
    if not isinstance(points, Mapping):
        raise QuestionError(
            f"points must be a mapping of input name -> values or a DataFrame, not "
            f"{type(points).__name__}"
        )
    for name, values in points.items():
        if name in canonical:
            if canonical[name] is not None:
                raise QuestionError(f"{name} was given twice: as a keyword and in points")
            canonical[name] = values
        else:
            extra[str(name)] = values
    return canonical, extra


def complete_inputs(
    needed: tuple[str, ...],
    *,
    flops_per_token: float,
    law: str = "the law",
    N: Any = None,
    D: Any = None,
    C: Any = None,
    U: Any = None,
    extra: Mapping[str, Any] | None = None,
    signs: Mapping[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Broadcast the given inputs to one 1-D array each and derive the missing ones.

    ``C = k N D`` fills in whichever of N, D, C is missing when the other two are given.
    ``extra`` holds values of the law's declared inputs beyond N, D, C, U, checked against
    their ``signs`` (default positive). Raises QuestionError naming what the law ``needed`` and
    what is missing, or an input the law does not take.
    """
    extra = dict(extra or {})
    unknown = [k for k in extra if k not in needed]
    if unknown:
        raise QuestionError(f"{law} has no input {unknown[0]!r}; it takes {', '.join(needed)}")
    signs = dict(signs or {})
    given = {k: _checked(k, v) for k, v in {"N": N, "D": D, "C": C, "U": U}.items()}
    given.update({k: _checked(k, v, signs.get(k, "positive")) for k, v in extra.items()})
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
    points: Any = None,
    seed: int | None = None,
    group: str | None = None,
) -> xr.Dataset:
    """Posterior of the target at new points.

    Parameters
    ----------
    fit : FitRecord
    N, D, C, U : float or sequence of float, optional
        Inputs in the user's units; missing ones among N, D, C are derived with the fit's
        FLOPs-per-token rule. Scalars broadcast against sequences.
    points : mapping or pandas.DataFrame, optional
        Any of the law's inputs by name (``{"N": ..., "lr": [...], "bs": [...]}``), e.g. a table
        read from a CSV with one row per point; the way to give declared inputs beyond N, D, C,
        U.
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
    canonical, extra = split_points(points, N=N, D=D, C=C, U=U)
    inputs = complete_inputs(
        law.inputs,
        flops_per_token=fit.runs.flops_per_token,
        law=f"law {law.name!r}",
        extra=extra,
        signs={c: law.input_spec(c).sign for c in law.inputs},
        **canonical,
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
    y = fit.target_scale.observe(mu, log_ratio)
    dims = ("chain", "draw", "point")
    name = law.target.name
    coords = {col: ("point", arr) for col, arr in inputs.items()}
    ds = xr.Dataset(
        {
            "mu": (dims, mu, {"long_name": f"expected {name} (the law's curve)"}),
            "y": (dims, y, {"long_name": f"predicted observed {name} (with noise)"}),
        },
        coords={"chain": fit.posterior["chain"], "draw": fit.posterior["draw"], **coords},
    )
    ds.attrs.update(law=law.name, question="predict", target=name)
    if getattr(fit, "pooling", None) is not None:
        ds.attrs["group"] = "<new group>" if group is None else str(group)
    return ds


def pointwise_log_likelihood(fit: FitRecord) -> xr.Dataset:
    """Log-likelihood of each observed run under each draw (dims chain, draw, run), float64.

    Evaluated by the fit's own likelihood object, as stored in the ``log_likelihood`` group.
    """
    return log_likelihood(
        fit.law, fit.runs, fit.posterior, likelihood=fit.noise, pooling=fit.pooling, refs=fit.refs
    )
