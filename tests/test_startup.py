"""Start-up of the command line: commands that do not fit import no sampler and no plotting.

A fresh interpreter (a module imported by an earlier test would hide an import) invokes the typer
app with CliRunner for each command in turn and lists, after each, the heavy modules in
``sys.modules``: a command that imports one is named.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Modules only fitting needs.
SAMPLER = ("pymc", "pytensor", "nutpie")
#: Modules only plots and the report need (``arviz`` imports ``arviz_plots`` and matplotlib;
#: ``arviz_stats`` alone does not).
PLOTTING = ("arviz", "matplotlib")
#: Commands that need neither.
LIGHT_COMMANDS = (["--help"], ["laws"], ["laws", "chinchilla"], ["fit", "--help"])

_SCRIPT = """
import json, sys
from typer.testing import CliRunner
from bayes_scaling.presentation.cli import app
seen = {}
for args in json.loads(sys.argv[1]):
    result = CliRunner().invoke(app, args)
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[2])))
    seen[" ".join(args)] = {"exit_code": result.exit_code, "heavy": heavy}
print(json.dumps(seen))
"""


def _imported(commands, heavy) -> dict[str, list[str]]:
    """Heavy modules loaded after each command (all commands must succeed)."""
    commands = [[str(a) for a in args] for args in commands]
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(commands), json.dumps(list(heavy))],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert {k: v["exit_code"] for k, v in seen.items()} == {" ".join(a): 0 for a in commands}
    return {k: v["heavy"] for k, v in seen.items() if v["heavy"]}


def test_commands_that_do_not_fit_import_no_sampler_or_plotting():
    imported = _imported(LIGHT_COMMANDS, SAMPLER + PLOTTING)
    assert not imported, f"commands imported heavy modules: {imported}"


@pytest.fixture(scope="module")
def fit_file(small_fit, tmp_path_factory):
    from bayes_scaling.inference.storage import save_fit

    return save_fit(small_fit, tmp_path_factory.mktemp("startup") / "fit.nc")


@pytest.mark.model
def test_summary_and_predict_import_no_sampler(fit_file):
    predict = ["predict", fit_file, "--n", "70B", "--d", "1.4T"]
    commands = [predict, ["summary", fit_file], ["summary", fit_file, "--json"]]
    imported = _imported(commands, SAMPLER)
    assert not imported, f"commands imported the sampler: {imported}"
    assert not _imported([predict], PLOTTING), "predict imported plotting modules"


@pytest.mark.model
def test_summary_imports_no_plotting(fit_file):
    assert not _imported([["summary", fit_file]], PLOTTING)


def test_the_command_line_sets_its_collector_thresholds_and_the_api_does_not():
    script = (
        "import gc, sys\n"
        "before = gc.get_threshold()\n"
        "import bayes_scaling\n"
        "from bayes_scaling.presentation.cli import GC_THRESHOLDS, main\n"
        "api = gc.get_threshold()\n"
        "sys.argv = ['bayes-scaling', 'laws']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps([before == api, list(gc.get_threshold()) == list(GC_THRESHOLDS)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", "import json\n" + script],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [True, True]
