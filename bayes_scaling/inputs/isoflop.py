"""IsoFLOP profiles: the runs near each profile's minimum, and the classic two-step estimate.

Approach 2 of Hoffmann et al. 2022 (arXiv:2203.15556) trains several model sizes at each of a
few compute budgets C (an IsoFLOP profile), locates each profile's minimum in log N and fits
``N_opt = G C^a`` through the minima. Near its minimum a profile is a parabola in log N; far
from it, profiles are asymmetric and their curvature changes with C, so a parabola through the
whole profile moves the vertex (on Porian et al. 2024's Kaplan-like configurations the fitted
exponent moves from 0.83 to 1.2). The ``isoflop`` law therefore fits the runs near each minimum,
which :func:`near_optimum` selects, and :func:`two_step_exponent` is the point estimate it is
compared with (a parabola per profile, then least squares through the vertices).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.runs import Runs

__all__ = ["near_optimum", "profiles", "two_step_exponent"]


def profiles(runs: Runs) -> pd.core.groupby.DataFrameGroupBy:
    """The runs grouped by IsoFLOP profile: (group, C) with a group column, else C."""
    for name in ("N", "C", "loss"):
        if not runs.has(name):
            raise DataError(
                f"{runs.source}: IsoFLOP profiles need columns N, C and loss; "
                f"the runs have {', '.join(runs.table.columns)}"
            )
    keys = ["group", "C"] if runs.has("group") else ["C"]
    return runs.table.groupby(keys, sort=False)


def near_optimum(runs: Runs, *, neighbours: int = 2, min_points: int = 3) -> Runs:
    """The runs of each IsoFLOP profile closest (in N) to its lowest loss.

    Parameters
    ----------
    runs : Runs
        Runs with ``N``, ``C`` and ``loss`` (and optionally ``group``); each distinct C of a
        group is one profile.
    neighbours : int
        Model sizes kept on each side of the lowest-loss size (default 2: five runs per
        profile when the minimum is inside the grid).
    min_points : int
        Profiles left with fewer runs are dropped: a parabola needs three.

    Returns
    -------
    Runs
        A new Runs object; ``runs`` is unchanged.
    """
    if int(neighbours) < 1 or int(min_points) < 3:
        raise DataError("neighbours must be >= 1 and min_points >= 3 (a parabola needs three)")
    keep = np.zeros(runs.n_runs, dtype=bool)
    for _, profile in profiles(runs):
        ordered = profile.sort_values("N")
        i = int(np.argmin(ordered["loss"].to_numpy()))
        window = ordered.index[max(0, i - neighbours) : i + neighbours + 1]
        if len(window) >= min_points:
            keep[window] = True
    if not keep.any():
        raise DataError(
            f"{runs.source}: no IsoFLOP profile has {min_points} runs around its minimum"
        )
    return runs.subset(keep, source=f"{runs.source} (near each IsoFLOP minimum)")


def two_step_exponent(runs: Runs, *, neighbours: int = 2) -> pd.DataFrame:
    """Approach 2 as two least-squares steps, per group: vertices, then ``log N_opt`` on ``log C``.

    Parameters
    ----------
    runs : Runs
        Runs with ``N``, ``C`` and ``loss`` (and optionally ``group``).
    neighbours : int
        Runs used on each side of a profile's lowest loss (see :func:`near_optimum`).

    Returns
    -------
    pandas.DataFrame
        One row per group (index ``group``, or ``all``): ``a``, ``log_G`` and ``profiles``, the
        number of vertices used. A profile whose parabola opens downwards is skipped.
    """
    near = near_optimum(runs, neighbours=neighbours)
    vertices: dict[str, list[tuple[float, float]]] = {}
    for key, profile in profiles(near):
        group = key[0] if isinstance(key, tuple) and len(key) == 2 else "all"
        x, y = np.log(profile["N"].to_numpy()), profile["loss"].to_numpy()
        curvature, slope, _ = np.polyfit(x, y, 2)
        if curvature > 0:
            vertices.setdefault(str(group), []).append(
                (float(np.log(profile["C"].iloc[0])), -slope / (2 * curvature))
            )
    rows = {}
    for group, points in vertices.items():
        if len(points) < 2:
            continue
        log_c, log_n = np.array(points).T
        a, log_g = np.polyfit(log_c, log_n, 1)
        rows[group] = {"a": a, "log_G": log_g, "profiles": len(points)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("group")
