"""IsoFLOP profiles: the runs near each profile's minimum, and the classic two-step estimate.

Approach 2 of Hoffmann et al. 2022 (arXiv:2203.15556) trains several model sizes at each of a
few compute budgets C (an IsoFLOP profile), locates each profile's minimum in log N and fits
``N_opt = G C^a`` through the minima. Near its minimum a profile is a parabola in log N; far
from it, profiles are asymmetric and their curvature changes with C, so a parabola through the
whole profile moves the vertex (on Porian et al. 2024's Kaplan-like configurations the fitted
exponent moves from 0.83 to 1.2). The ``isoflop`` law therefore fits the runs near each minimum,
which :func:`near_optimum` selects, and :func:`two_step_exponent` is the point estimate it is
compared with (a parabola per profile, then least squares through the vertices).

:func:`isoflop_design` recognises runs laid out as IsoFLOP profiles (a few compute budgets, several
model sizes at each), so that a fit can say before sampling when a law in N and D is asked to
describe them across configurations.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.runs import Runs

__all__ = ["is_isoflop", "isoflop_design", "near_optimum", "profiles", "two_step_exponent"]

#: Compute values within this relative distance of each other are one budget.
BUDGET_TOLERANCE = 0.02
#: A budget is a profile when it holds at least this many distinct model sizes.
MIN_SIZES = 3
#: Runs are IsoFLOP-shaped when at least this share of them lies on profiles...
MIN_SHARE = 0.8
#: ...of which there are at least this many.
MIN_PROFILES = 2


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


def _budgets(compute: np.ndarray, tolerance: float) -> np.ndarray:
    """Budget label of each run: sorted log C split wherever the gap exceeds the tolerance."""
    log_c = np.log(compute)
    order = np.argsort(log_c, kind="stable")
    new = np.diff(log_c[order]) > np.log1p(tolerance)
    labels = np.empty(compute.size, dtype=int)
    labels[order] = np.concatenate([[0], np.cumsum(new)])
    return labels


def isoflop_design(
    runs: Runs,
    *,
    tolerance: float = BUDGET_TOLERANCE,
    min_sizes: int = MIN_SIZES,
    min_share: float = MIN_SHARE,
    min_profiles: int = MIN_PROFILES,
) -> pd.DataFrame:
    """How far the runs of each group are laid out as IsoFLOP profiles.

    A budget is a set of runs whose compute C agrees within ``tolerance`` (relative); it is a
    profile when it holds at least ``min_sizes`` distinct model sizes N. A group is
    IsoFLOP-shaped when at least ``min_profiles`` profiles hold at least ``min_share`` of its
    runs and it is not a regular N x D grid. The diagonals of such a grid share a compute value
    too, but there D takes no more distinct values than N, and N fewer than half the runs; in
    an IsoFLOP design D = C / (k N) changes with the budget at a fixed size, so D takes more
    distinct values than N.

    Parameters
    ----------
    runs : Runs
        Runs with N and C, or N and D (C is then ``flops_per_token N D``); a ``group`` column
        is examined group by group.

    Returns
    -------
    pandas.DataFrame
        One row per group (index ``group``; ``all`` without a group column): ``runs``,
        ``budgets``, ``profiles``, ``share`` (of the runs on profiles), ``sizes`` (median
        distinct N per profile) and ``isoflop`` (bool). Empty when the runs have no N, or
        neither C nor D.
    """
    columns = ["runs", "budgets", "profiles", "share", "sizes", "isoflop"]
    if not runs.has("N") or not (runs.has("C") or runs.has("D")):
        return pd.DataFrame(columns=columns).rename_axis("group")
    n = runs.column("N")
    c = runs.column("C") if runs.has("C") else runs.flops_per_token * n * runs.column("D")
    d = runs.column("D") if runs.has("D") else c / (runs.flops_per_token * n)
    groups = runs.column("group") if runs.has("group") else np.full(runs.n_runs, "all")
    rows = {}
    for group in dict.fromkeys(groups):
        mask = (groups == group) & np.isfinite(c) & (c > 0)
        budget = _budgets(c[mask], tolerance)
        table = pd.DataFrame({"budget": budget, "N": n[mask], "D": d[mask]})
        sizes = table.groupby("budget")["N"].nunique()
        on = sizes[sizes >= min_sizes]
        share = float(table["budget"].isin(on.index).mean()) if len(table) else 0.0
        n_sizes = _distinct(table["N"], tolerance)
        grid = _distinct(table["D"], tolerance) <= n_sizes <= len(table) / 2
        rows[str(group)] = {
            "runs": int(mask.sum()),
            "budgets": int(sizes.size),
            "profiles": int(on.size),
            "share": share,
            "sizes": float(on.median()) if on.size else 0.0,
            "isoflop": bool(on.size >= min_profiles and share >= min_share and not grid),
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("group")


def _distinct(values: pd.Series, tolerance: float) -> int:
    """Number of distinct values up to the relative ``tolerance``."""
    return int(_budgets(values.to_numpy(float), tolerance).max() + 1) if len(values) else 0


def is_isoflop(runs: Runs, **options) -> bool:
    """Whether most groups of ``runs`` (more than half; the runs themselves without a group
    column) are IsoFLOP-shaped. ``options`` are those of :func:`isoflop_design`.
    """
    design = isoflop_design(runs, **options)
    return bool(len(design)) and bool(design["isoflop"].mean() > 0.5)
