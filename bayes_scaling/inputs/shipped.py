"""Public data sets shipped inside the package (``bayes_scaling/data/<name>/``), loadable by name.

Each data set's folder holds byte-identical copies of the published files and a ``PROVENANCE.md``
(source repository, commit, licence, columns and units). :func:`load` returns the run-shaped sets
as validated :class:`~bayes_scaling.inputs.runs.Runs`; :func:`path` gives any shipped file, for
the sets that need their own reading logic (the revisiting benchmark's train/test split, SLDBench,
the reference tables).

Examples
--------
>>> from bayes_scaling.inputs import shipped
>>> shipped.load("epoch_chinchilla").n_runs
245
>>> shipped.path("porian2024_isoflops", "published_fit_results.csv").name
'published_fit_results.csv'
"""

from __future__ import annotations

import dataclasses
from importlib.resources import files
from pathlib import Path

import pandas as pd

from bayes_scaling.core.errors import DataError
from bayes_scaling.inputs.runs import Runs, load_runs

__all__ = [
    "DATASETS",
    "PORIAN_KEYS",
    "Dataset",
    "load",
    "names",
    "path",
    "porian_labels",
    "porian_runs",
]


@dataclasses.dataclass(frozen=True)
class Dataset:
    """One shipped data set.

    Attributes
    ----------
    description : str
        What the runs are, in one sentence.
    citation : str
        The study and the repository the files come from (details in ``PROVENANCE.md``).
    files : tuple of str
        The shipped files, the one :func:`load` reads first.
    runs : bool
        Whether :func:`load` returns it as ``Runs`` (otherwise read its files with :func:`path`).
    """

    description: str
    citation: str
    files: tuple[str, ...]
    runs: bool = True


#: Shipped data sets by name (the folder name under ``bayes_scaling/data``).
DATASETS: dict[str, Dataset] = {
    "epoch_chinchilla": Dataset(
        "Chinchilla's 245 runs (Fig. 4) reconstructed by Epoch AI: N, C, final loss; D = C / (6N)",
        "Besiroglu et al. 2024 (arXiv:2404.10102), epoch-research/analyzing-chinchilla; "
        "Hoffmann et al. 2022",
        ("svg_extracted_data.csv",),
    ),
    "porian2024_isoflops": Dataset(
        "1,745 IsoFLOP points in 15 configurations (group = dataset/hparams/warmup/decay/"
        "param_count/loss_split), with the authors' per-configuration fits",
        "Porian et al. 2024 (arXiv:2406.19146), formll/resolving-scaling-law-discrepancies (MIT)",
        ("isoflop_points.csv", "published_fit_results.csv", "isoflop_optimal_pairs.csv"),
    ),
    "datablations": Dataset(
        "296 final C4 validation losses of data-constrained runs: N, D, unique tokens U, loss",
        "Muennighoff et al. 2023 (arXiv:2305.16264), huggingface/datablations (Apache-2.0); "
        "code-mix curves from IBM/ColPret (MIT)",
        ("final_val_losses.csv", "code_mix_training_curves_colpret.csv"),
    ),
    "revisiting_scaling_laws": Dataset(
        "Learning-curve extrapolation benchmark (92 curves, with a Training=1/0 split); "
        "read with path(): de-duplicate rows and keep the split",
        "Alabdulmohsin et al. 2022 (arXiv:2209.06640), google-research/google-research",
        ("benchmark.lang.csv", "benchmark.vision.csv"),
        runs=False,
    ),
    "sldbench_2025": Dataset(
        "SLDBench tasks beyond N and D (learning rate and batch size, experts, vocabulary, "
        "fine-tuning data, domain mixture) with the benchmark's train/test split",
        "Lin et al. 2025 (arXiv:2507.21184), linhaowei1/SLD (MIT)",
        (
            "lr_bsz.csv",
            "moe.csv",
            "rectified_finetune.csv",
            "vocab_train.csv",
            "domain_mixture.json",
        ),
        runs=False,
    ),
    "small_reference_tables": Dataset(
        "BNSL's 4-digit addition curve and Chinchilla's Table A9 model configurations",
        "Caballero et al. 2023 (ethancaballero/broken_neural_scaling_laws); Hoffmann et al. "
        "2022 via TeaPearce/Reconciling_Kaplan_Chinchilla_Scaling_Laws",
        ("bnsl_4digit_addition.csv", "chinchilla_tableA9_model_configs.csv"),
        runs=False,
    ),
}

#: Columns whose values, joined by ``/``, label a Porian et al. configuration.
PORIAN_KEYS = ("dataset", "hparams", "warmup", "decay", "param_count", "loss_split")


def names(*, runs_only: bool = False) -> list[str]:
    """Names of the shipped data sets (only those :func:`load` reads with ``runs_only``)."""
    return [name for name, spec in DATASETS.items() if spec.runs or not runs_only]


def _root() -> Path:
    """The package's ``data`` folder (importlib.resources first, then next to this module)."""
    try:
        root = files("bayes_scaling") / "data"
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - unusual import machinery
        root = None
    if isinstance(root, Path) and root.is_dir():
        return root
    return Path(__file__).resolve().parents[1] / "data"


def _spec(name: str) -> Dataset:
    if name not in DATASETS:
        raise DataError(
            f"no shipped data set {name!r}; the available ones are {', '.join(DATASETS)}"
        )
    return DATASETS[name]


def path(name: str, file: str | None = None) -> Path:
    """The path of a shipped data set's folder, or of one of its files.

    Parameters
    ----------
    name : str
        A data set name (see :func:`names`).
    file : str, optional
        One of the set's files (``DATASETS[name].files``, or ``"PROVENANCE.md"``); without it,
        the folder.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    DataError
        Unknown name (the message lists the available ones), unknown file, or a file missing from
        the installation.
    """
    spec = _spec(name)
    folder = _root() / name
    if file is None:
        return folder
    if file not in (*spec.files, "PROVENANCE.md"):
        raise DataError(
            f"the shipped data set {name!r} has no file {file!r}; its files are "
            f"{', '.join(spec.files)} and PROVENANCE.md"
        )
    target = folder / file
    if not target.is_file():
        raise DataError(f"{target}: the shipped file is missing; reinstall bayes-scaling")
    return target


def porian_labels(table: pd.DataFrame) -> pd.Series:
    """Configuration labels ``dataset/hparams/warmup/decay/param_count/loss_split`` per row."""
    return table[list(PORIAN_KEYS)].astype(str).agg("/".join, axis=1)


def porian_runs(folder: Path | str | None = None) -> tuple[Runs, pd.DataFrame]:
    """Porian et al. 2024's IsoFLOP points and the authors' fits, both labelled by configuration.

    Parameters
    ----------
    folder : path, optional
        A folder with ``isoflop_points.csv`` and ``published_fit_results.csv``; the shipped one
        by default.

    Returns
    -------
    runs : Runs
        Every IsoFLOP point (N, D, C, loss) with ``group`` = its configuration label.
    published : pandas.DataFrame
        The authors' per-configuration fits (``a_n_exponent``, bootstrap percentiles, ...)
        indexed by the same labels.
    """
    base = Path(folder) if folder is not None else path("porian2024_isoflops")
    points = pd.read_csv(base / "isoflop_points.csv")
    published = pd.read_csv(base / "published_fit_results.csv")
    for table in (points, published):
        table["config"] = porian_labels(table)
    runs = load_runs(
        points[["n_params", "tokens", "flops", "loss", "config"]],
        columns={"N": "n_params", "D": "tokens", "C": "flops", "group": "config"},
    )
    runs = dataclasses.replace(runs, source=str(base / "isoflop_points.csv"))
    return runs, published.set_index("config")


def load(name: str) -> Runs:
    """Load a shipped data set as validated runs.

    Parameters
    ----------
    name : str
        ``epoch_chinchilla`` (245 runs: N = ``Model Size``, C = ``Training FLOP``, loss; D
        derived as C / (6N)), ``porian2024_isoflops`` (1,745 points: N, D, C, loss, group = the
        configuration label) or ``datablations`` (296 runs: N, D, U, loss; C = 6ND).

    Returns
    -------
    Runs

    Raises
    ------
    DataError
        Unknown name (the message lists the available ones), or a set without a runs shape
        (``revisiting_scaling_laws``, ``sldbench_2025``, ``small_reference_tables``: read their
        files with :func:`path`).
    """
    spec = _spec(name)
    if not spec.runs:
        raise DataError(
            f"the shipped data set {name!r} is not a single runs table ({spec.description}); "
            f"read its files ({', '.join(spec.files)}) with path({name!r}, file). Loadable by "
            f"name: {', '.join(names(runs_only=True))}"
        )
    if name == "porian2024_isoflops":
        return porian_runs()[0]
    if name == "epoch_chinchilla":
        columns = {"N": "Model Size", "C": "Training FLOP", "loss": "loss"}
    else:  # datablations
        columns = {"N": "n_params", "D": "tokens", "U": "unique_tokens", "loss": "val_loss"}
    return load_runs(path(name, spec.files[0]), columns=columns)
