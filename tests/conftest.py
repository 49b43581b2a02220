"""Shared fixtures: paths to the public data sets and one small fit reused across modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def shared_file(*parts: str) -> Path:
    """Path of a shared public data file; skips the test with a reason when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data sets not available: {path} is missing (it sits next to the repo)")
    return path


def porian_runs():
    """Porian et al. 2024's IsoFLOP points as Runs (group = configuration), and the authors'
    per-configuration fits indexed by the same labels; skips when the data are absent."""
    from benchmarks.bench_porian import porian_runs as load

    return load(shared_file("porian2024_isoflops", "isoflop_points.csv").parent)


@pytest.fixture(scope="session")
def epoch_csv() -> Path:
    """Epoch AI's reconstruction of the 245 Chinchilla runs."""
    return shared_file("epoch_chinchilla_fig4", "svg_extracted_data.csv")


@pytest.fixture(scope="session")
def small_fit():
    """A quick chinchilla fit of the built-in simulated set (2 chains x 300 draws, seed 1)."""
    from bayes_scaling import datasets, fit

    runs = datasets.chinchilla_like(seed=0)
    return fit(runs, law="chinchilla", draws=300, tune=400, chains=2, seed=1)
