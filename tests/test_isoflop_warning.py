"""IsoFLOP-shaped runs are recognised, and a law in N and D fitted to IsoFLOP profiles of several
configurations is told, before sampling, why that is a poor model and which law to use."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import bayes_scaling as bs
from bayes_scaling.evaluation import fitting
from bayes_scaling.evaluation.fitting import IsoflopPoolingWarning, check_isoflop_pooling
from bayes_scaling.inputs.isoflop import is_isoflop, isoflop_design
from tests.conftest import porian_runs


class Stop(Exception):
    """Raised by the fake sampler: the warning must come before sampling."""


def _stop(*args, **kwargs):
    raise Stop


def _two_configs(runs):
    """Two of Porian et al.'s configurations: IsoFLOP profiles pooled across configurations."""
    keep = np.isin(runs.column("group"), runs.groups[:2])
    return runs.subset(keep)


def test_porian_configurations_are_each_an_isoflop_design():
    runs, _ = porian_runs()
    design = isoflop_design(runs)
    assert len(design) == 15 and design["isoflop"].all()
    assert (design["budgets"] >= 11).all() and (design["sizes"] >= 8).all()
    assert is_isoflop(runs)


def test_simulated_isoflop_runs_are_recognised_and_grids_and_curves_are_not():
    assert is_isoflop(bs.datasets.chinchilla_like(seed=0))
    # a regular N x D grid: its diagonals share a compute value, but D is a coarse ladder
    grid = bs.datasets.kaplan_like(seed=0)
    assert isoflop_design(grid)["profiles"].iloc[0] >= 2 and not is_isoflop(grid)
    # ...while a fixed ladder of sizes at budgets as far apart is an IsoFLOP design
    C, N = np.repeat(2.0 ** np.arange(8) * 1e18, 8), np.tile(2.0 ** np.arange(8) * 1e7, 8)
    ladder = pd.DataFrame({"N": N, "C": C, "D": C / (6 * N), "loss": 3.0})
    assert is_isoflop(bs.load_runs(ladder))
    # a learning curve (one N, many D) and scattered runs have no profiles at all
    curve = bs.load_runs(pd.DataFrame({"N": 1e8, "D": np.geomspace(1e9, 1e11, 20), "loss": 3.0}))
    assert isoflop_design(curve)["profiles"].iloc[0] == 0 and not is_isoflop(curve)
    rng = np.random.default_rng(0)
    scattered = pd.DataFrame(
        {"N": 10 ** rng.uniform(7, 9, 60), "D": 10 ** rng.uniform(9, 11, 60), "loss": 3.0}
    )
    assert not is_isoflop(bs.load_runs(scattered))
    # runs without N (or without C and D) cannot be IsoFLOP profiles
    only_c = bs.load_runs(pd.DataFrame({"C": [1e18, 2e18, 4e18], "loss": [3.0, 2.9, 2.8]}))
    assert isoflop_design(only_c).empty and not is_isoflop(only_c)


def test_budgets_agree_within_the_tolerance():
    runs = bs.datasets.chinchilla_like(seed=0)
    jitter = np.random.default_rng(1).uniform(0.995, 1.005, runs.n_runs)
    table = runs.table.assign(C=runs.column("C") * jitter)
    loose = bs.load_runs(table.drop(columns="D"))
    assert isoflop_design(loose)["budgets"].iloc[0] == 9  # the 9 budgets, not 71 values
    assert isoflop_design(loose, tolerance=1e-4)["profiles"].iloc[0] == 0


def test_fit_warns_before_sampling_for_a_chinchilla_law_on_pooled_isoflop_profiles(monkeypatch):
    runs, _ = porian_runs()
    two = _two_configs(runs)
    monkeypatch.setattr(fitting, "sample", _stop)
    with pytest.warns(IsoflopPoolingWarning) as caught, pytest.raises(Stop):
        fitting.fit(two, law="chinchilla", settings=bs.FitSettings(vary=("E", "alpha")))
    text = " ".join(str(caught[0].message).split())
    assert "2 of 2 groups are IsoFLOP profiles" in text and "partially pooled" in text
    assert "law 'chinchilla', which takes N and D" in text
    assert "law='isoflop'" in text and "near_optimum" in text and "--near-optimum" in text
    assert issubclass(IsoflopPoolingWarning, UserWarning)
    # the same runs given as a table are inspected too
    with pytest.warns(IsoflopPoolingWarning, match="pooled under law 'kaplan'"):
        assert check_isoflop_pooling(two.table, law="kaplan")


def test_no_warning_for_the_isoflop_law_one_configuration_or_other_designs(monkeypatch):
    runs, _ = porian_runs()
    two = _two_configs(runs)
    one = runs.subset(runs.column("group") == runs.groups[0])
    grid = bs.datasets.kaplan_like(seed=0)
    grid = bs.load_runs(grid.table.assign(group=np.where(np.arange(grid.n_runs) % 2, "a", "b")))
    monkeypatch.setattr(fitting, "sample", _stop)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IsoflopPoolingWarning)
        for data, law in ((two, "isoflop"), (one, "chinchilla"), (grid, "chinchilla")):
            with pytest.raises(Stop):
                fitting.fit(data, law=law)
        assert not check_isoflop_pooling("-", law="chinchilla")  # standard input is not re-read
        assert not check_isoflop_pooling(two, law="power_law")
