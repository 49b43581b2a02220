"""Shared fixtures: paths to the shipped public data sets and one small fit used across modules."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
#: Folder names of the former sibling data checkout -> names of the sets shipped in the package.
RENAMED = {
    "epoch_chinchilla": "epoch_chinchilla",
    "datablations": "datablations",
    "revisiting_scaling_laws": "revisiting_scaling_laws",
}


def shipped_file(*parts: str) -> Path:
    """Path of a public data file shipped in ``bayes_scaling/data`` (set folder, then file)."""
    from bayes_scaling.inputs.shipped import path

    folder, *rest = parts
    return path(RENAMED.get(folder, folder), *rest)


def porian_runs():
    """Porian et al. 2024's IsoFLOP points as Runs (group = configuration), and the authors'
    per-configuration fits indexed by the same labels."""
    from bayes_scaling.inputs.shipped import porian_runs as load

    return load()


@pytest.fixture(scope="session")
def epoch_csv() -> Path:
    """Epoch AI's reconstruction of the 245 Chinchilla runs."""
    return shipped_file("epoch_chinchilla", "svg_extracted_data.csv")


@pytest.fixture(scope="session")
def small_fit():
    """A quick chinchilla fit of the built-in simulated set (2 chains x 300 draws, seed 1)."""
    from bayes_scaling.api import fit
    from bayes_scaling.inputs import datasets

    runs = datasets.chinchilla_like(seed=0)
    return fit(runs, law="chinchilla", draws=300, tune=400, chains=2, seed=1)
