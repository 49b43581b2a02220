"""``optimize``: the best setting of some inputs (learning rate, batch size) with the others fixed;
its CLI command and ``predict --points``."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import load_runs

pytestmark = pytest.mark.model

LAW2 = "E + A*N**(-alpha) + c*log(lr/lr_opt)**2 + b*log(bs/bs_opt)**2"
AT = {"N": 7e9, "D": 2e12}


def lr_bs_table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """Runs of a known law with two bowls: lr_opt = 3e-3, bs_opt = 256."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(5e-2), n))
    bs = np.exp(rng.uniform(np.log(16), np.log(4096), n))
    loss = 1.8 + 300 * N**-0.3 + 0.05 * np.log(lr / 3e-3) ** 2 + 0.02 * np.log(bs / 256) ** 2
    loss = loss * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"N": N, "D": 20 * N, "lr": lr, "bs": bs, "loss": loss})


@pytest.fixture(scope="module")
def fit2():
    from bayes_scaling.api import fit

    law = Law.from_formula(LAW2, inputs=["lr", "bs"])
    runs = load_runs(lr_bs_table(), schema=law.schema)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(runs, law=law, draws=150, tune=200, chains=2, seed=3, discrepancy=None)


@pytest.fixture(scope="module")
def fit_file(fit2, tmp_path_factory):
    return fit2.save(tmp_path_factory.mktemp("optimize") / "fit.nc")


def cli(*args: str):
    from bayes_scaling.presentation.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def test_recovers_the_optimal_learning_rate(fit2):
    ds = fit2.optimize(over={"lr": (1e-5, 1e-1)}, at={**AT, "bs": 256})
    lr = ds["lr_argmin"].values
    lo, hi = np.quantile(lr, [0.05, 0.95])
    assert lo < 3e-3 < hi and lo < float(ds["lr_decision"]) < hi
    # each draw's argmin is that draw's lr_opt (the bowl's bottom), up to the zoomed grid
    np.testing.assert_allclose(lr, fit2.posterior["lr_opt"].values, rtol=5e-3)
    assert ds.attrs["question"] == "optimize" and ds.attrs["at_bound"] == {"lr": 0.0}
    assert (ds["loss_min"].values <= ds["loss"].values + 1e-12).all()
    assert "expected loss" in ds["loss"].attrs["long_name"]


def test_two_inputs_on_a_tensor_grid(fit2):
    ds = fit2.optimize(over={"lr": (1e-5, 1e-1), "bs": (8, 8192)}, at=AT, risk="cvar")
    assert ds["lr_argmin"].dims == ("chain", "draw") and ds["bs_decision"].dims == ()
    np.testing.assert_allclose(ds["bs_argmin"].values, fit2.posterior["bs_opt"].values, rtol=2e-2)
    lo, hi = np.quantile(ds["bs_argmin"].values, [0.05, 0.95])
    assert lo < 256 < hi and lo < float(ds["bs_decision"]) < hi
    assert ds.attrs["risk"] == "cvar" and ds.attrs["bounds"]["bs"] == [8.0, 8192.0]
    labels = [v.attrs["long_name"] for v in ds.data_vars.values()]
    assert len(labels) == len(set(labels))


def test_optimum_on_a_bound_warns(fit2):
    with pytest.warns(UserWarning, match=r"optimum of lr on a bound.*widen"):
        ds = fit2.optimize(over={"lr": (1e-2, 1e-1)}, at={**AT, "bs": 256})
    assert ds.attrs["at_bound"]["lr"] == 1.0
    np.testing.assert_allclose(ds["lr_argmin"].values, 1e-2)


@pytest.mark.parametrize(
    ("over", "at", "match"),
    [
        ({"wd": (1e-3, 1.0)}, {**AT, "bs": 256}, "no input 'wd'"),
        ({"lr": (1e-1, 1e-5)}, {**AT, "bs": 256}, "low < high"),
        ({"lr": (-1e-3, 1e-1)}, {**AT, "bs": 256}, "must be > 0"),
        ({"lr": (1e-5, 1e-1)}, AT, r"needs bs too.*--at bs="),
        ({"lr": (1e-5, 1e-1)}, {**AT, "lr": 1e-3, "bs": 256}, "both optimised"),
        ({}, AT, "over must map"),
    ],
)
def test_bad_inputs_are_question_errors(fit2, over, at, match):
    with pytest.raises(QuestionError, match=match):
        fit2.optimize(over=over, at=at)


def test_bad_risk_and_at_values(fit2):
    with pytest.raises(QuestionError, match="risk must be one of"):
        fit2.optimize(over={"lr": (1e-5, 1e-1)}, at={**AT, "bs": 256}, risk="worst")
    with pytest.raises(QuestionError, match="one number"):
        fit2.optimize(over={"lr": (1e-5, 1e-1)}, at={**AT, "bs": [64, 128]})


def test_saved_fit_keeps_declared_inputs(fit2, fit_file):
    from bayes_scaling.inference.storage import load_fit

    loaded = load_fit(fit_file)
    assert loaded.law.inputs == fit2.law.inputs == ("N", "lr", "bs")
    assert loaded.law.input_spec("lr") == fit2.law.input_spec("lr")


def test_cli_optimize_json(fit_file):
    r = cli("optimize", fit_file, "--over", "lr=1e-5:1e-1", "--over", "bs=8:8k",
            "--at", "N=7B", "--at", "D=2T", "--json")  # fmt: skip
    assert r.exit_code == 0, r.output
    payload = json.loads(r.stdout)
    assert {"law", "target", "at", "decision", "argmin", "loss", "ci", "risk", "at_bound"} <= set(
        payload
    )
    assert payload["target"] == "loss" and payload["at"] == {"N": 7e9, "D": 2e12}
    lr = payload["argmin"]["lr"]
    assert lr["lower"] < 3e-3 < lr["upper"] and set(payload["decision"]) == {"lr", "bs"}
    assert payload["loss"]["lower"] <= payload["loss"]["median"] <= payload["loss"]["upper"]


def test_cli_optimize_table_and_errors(fit_file):
    r = cli("optimize", fit_file, "--over", "lr=1e-5:1e-1", "--at", "N=7B", "--at", "bs=256")
    assert r.exit_code == 0, r.output
    assert "lr" in r.stdout and "decision" in r.stdout
    bad = cli("optimize", fit_file, "--over", "lr=1e-1", "--at", "N=7B", "--at", "bs=256")
    assert bad.exit_code == 1 and "NAME=LOW:HIGH" in bad.output
    missing = cli("optimize", fit_file, "--over", "lr=1e-5:1e-1", "--at", "N=7B")
    assert missing.exit_code == 1 and "needs bs" in missing.output


def test_cli_predict_points(fit_file, tmp_path):
    path = tmp_path / "points.csv"
    pd.DataFrame({"N": [1e8, 1e9, 7e9], "lr": [1e-3, 3e-3, 1e-2], "bs": [64, 256, 1024]}).to_csv(
        path, index=False
    )
    r = cli("predict", fit_file, "--points", path, "--json")
    assert r.exit_code == 0, r.output
    points = json.loads(r.stdout)["points"]
    assert len(points) == 3
    assert set(points[0]["inputs"]) >= {"N", "lr", "bs"}
    assert points[1]["inputs"]["lr"] == pytest.approx(3e-3)
    table = cli("predict", fit_file, "--points", path)
    assert table.exit_code == 0 and "lr" in table.stdout and "bs" in table.stdout
    # combined with an option by broadcasting; a column given twice is an error
    path2 = tmp_path / "settings.csv"
    pd.DataFrame({"lr": [1e-3, 3e-3], "bs": [64, 256]}).to_csv(path2, index=False)
    both = cli("predict", fit_file, "--points", path2, "--n", "1B", "--json")
    assert both.exit_code == 0 and len(json.loads(both.stdout)["points"]) == 2
    twice = cli("predict", fit_file, "--points", path, "--n", "1B")
    assert twice.exit_code == 1 and "given twice" in twice.output


def test_cli_predict_points_unknown_column(fit_file, tmp_path):
    path = tmp_path / "points.csv"
    pd.DataFrame({"N": [1e8], "lr": [1e-3], "bs": [64], "wd": [0.1]}).to_csv(path, index=False)
    r = cli("predict", fit_file, "--points", path, "--json")
    assert r.exit_code == 1
    assert "'wd' is not an input" in r.output and "drop or rename" in r.output
