"""The public data sets shipped in ``bayes_scaling/data``: every name loads, rows match the files,
provenance is documented, and nothing reads the old sibling data folder any more."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs import shipped

ROOT = Path(__file__).resolve().parents[1]
#: Rows (without the header) of each run-shaped set's source file, as its PROVENANCE.md states.
ROWS = {"epoch_chinchilla": 245, "porian2024_isoflops": 1745, "datablations": 296}


def _data_rows(path: Path) -> int:
    return len(pd.read_csv(path))


@pytest.mark.parametrize("name", shipped.names(runs_only=True))
def test_every_runs_set_loads_with_the_rows_of_its_file(name):
    runs = shipped.load(name)
    spec = shipped.DATASETS[name]
    assert runs.n_runs == ROWS[name] == _data_rows(shipped.path(name, spec.files[0]))
    assert runs.n_dropped == 0
    for column in ("N", "D", "C", "loss"):
        assert np.all(runs.column(column) > 0)


def test_names_cover_the_folders_and_loadable_ones_are_the_run_sets():
    folders = {p.name for p in shipped.path("epoch_chinchilla").parent.iterdir() if p.is_dir()}
    assert set(shipped.names()) == folders
    assert shipped.names(runs_only=True) == list(ROWS)


def test_epoch_columns_and_derived_tokens():
    runs = shipped.load("epoch_chinchilla")
    assert runs.mapping["N"] == "Model Size" and runs.mapping["C"] == "Training FLOP"
    assert runs.mapping["D"] == "derived"
    np.testing.assert_allclose(runs.column("C"), 6 * runs.column("N") * runs.column("D"))


def test_porian_groups_are_the_authors_configurations():
    runs, published = shipped.porian_runs()
    assert len(runs.groups) == len(published) == 15
    assert set(runs.groups) == set(published.index)
    assert runs.groups[0] == "rw/base/long/kaplan/kaplan/train"
    assert shipped.load("porian2024_isoflops").groups == runs.groups


def test_datablations_has_unique_tokens():
    runs = shipped.load("datablations")
    assert runs.mapping["U"] == "unique_tokens" and runs.mapping["loss"] == "val_loss"
    assert (runs.column("D") >= runs.column("U")).all()


def test_datasets_module_reexports_the_loader():
    from bayes_scaling.inputs import datasets

    assert datasets.load is shipped.load and datasets.path is shipped.path
    assert datasets.names() == shipped.names()


def test_every_shipped_file_exists_and_row_counts_of_the_other_sets():
    for name, spec in shipped.DATASETS.items():
        for file in spec.files:
            assert shipped.path(name, file).is_file(), (name, file)
    lang = shipped.path("revisiting_scaling_laws", "benchmark.lang.csv")
    vision = shipped.path("revisiting_scaling_laws", "benchmark.vision.csv")
    assert (_data_rows(lang), _data_rows(vision)) == (1399, 18883)
    assert _data_rows(shipped.path("sldbench_2025", "lr_bsz.csv")) == 1847


def test_unknown_name_lists_the_available_ones():
    for function in (shipped.load, shipped.path):
        with pytest.raises(DataError, match="no shipped data set 'nope'") as info:
            function("nope")
        for name in shipped.names():
            assert name in str(info.value)


def test_unknown_file_and_file_only_sets_explain_themselves():
    with pytest.raises(DataError, match="final_val_losses.csv"):
        shipped.path("datablations", "training_curves_colpret.csv")
    with pytest.raises(DataError, match=r"path\('sldbench_2025', file\)"):
        shipped.load("sldbench_2025")


@pytest.mark.parametrize("name", list(shipped.DATASETS))
def test_every_set_has_provenance_with_a_licence_line(name):
    text = shipped.path(name, "PROVENANCE.md").read_text(encoding="utf-8")
    assert text.startswith("> Shipped with bayes_scaling:")
    assert re.search(r"^.*licen[cs]e.*$", text, flags=re.IGNORECASE | re.MULTILINE)
    assert "commit" in text.lower()


def test_data_folder_is_not_a_python_package():
    assert not (shipped.path("epoch_chinchilla").parent / "__init__.py").exists()


def test_nothing_reads_outside_the_repository():
    """Tests, notebooks, benchmarks and scripts find every file inside the checkout: no path
    climbs above the repository root, and every shipped set lies inside it (a new user has only
    the repository)."""
    climbs = re.compile(r"ROOT\.parent|\.parent\.parent|parents\[[2-9]\]|['\"]\.\./")
    hits = [
        f"{path.relative_to(ROOT)}:{number}"
        for folder in ("tests", "notebooks", "benchmarks", "scripts")
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path.name != "test_shipped.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if climbs.search(line)
    ]
    assert not hits, hits
    for name in shipped.names():
        assert ROOT in shipped.path(name).resolve().parents
