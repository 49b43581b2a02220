"""The notebooks run top to bottom (jupytext + nbclient) with ``BAYES_SCALING_FAST=1``.

They share one kernel, with the user namespace wiped (``%reset -f``) before each notebook, so a
notebook cannot lean on another's variables while compiled models are reused across notebooks
(compilation dominates a fast run).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.model

NAMES = (
    "01_quickstart",
    "02_compute_optimal",
    "03_risk_aware_budget",
    "04_your_own_law",
    "05_chinchilla_reanalysis",
    "06_porian_pooled",
    "07_laws_of_any_inputs",
)
NOTEBOOKS = [ROOT / "notebooks" / f"{name}.py" for name in NAMES]


def test_every_notebook_is_tested():
    present = sorted(p.name for p in (ROOT / "notebooks").glob("*.py"))
    assert present == sorted(f"{n}.py" for n in NAMES)


@pytest.fixture(scope="module")
def kernel():
    """One IPython kernel running this interpreter (the project's venv) in notebooks/."""
    pytest.importorskip("jupytext")
    pytest.importorskip("nbclient")
    from jupyter_client import AsyncKernelManager
    from nbclient.util import run_sync

    with pytest.MonkeyPatch.context() as mp:
        # the kernel spec runs `python`: make it this interpreter
        mp.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        mp.setenv("BAYES_SCALING_FAST", "1")
        mp.setenv("MPLBACKEND", "Agg")
        km = AsyncKernelManager(kernel_name="python3")
        run_sync(km.start_kernel)(cwd=str(ROOT / "notebooks"))
    try:
        yield km
    finally:
        run_sync(km.shutdown_kernel)(now=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, kernel):
    import jupytext
    import nbclient
    import nbformat

    notebook = jupytext.read(path)
    notebook.cells.insert(0, nbformat.v4.new_code_cell("%reset -f"))
    client = nbclient.NotebookClient(
        notebook, km=kernel, timeout=240, resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any(o.output_type in ("display_data", "execute_result") for o in outputs)
