"""Laws of any inputs: declared inputs, scale axes, column mapping, real targets, end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bayes_scaling.core.errors import DataError, LawError, QuestionError
from bayes_scaling.inputs.declared import InputSpec, Schema, TargetSpec
from bayes_scaling.inputs.laws import Law
from bayes_scaling.inputs.runs import load_runs
from bayes_scaling.model.plans import check_runs, plan_parameters, references
from bayes_scaling.questions.noise import distance_inputs, extrapolation_distance, sort_column

LR_LAW = "E + A*N**(-alpha) + c*log(lr/lr_opt)**2"


def lr_table(n: int = 60, seed: int = 0) -> pd.DataFrame:
    """Runs of a known law with a learning-rate bowl: L = 1.8 + 300 N^-0.3 + 0.05 log(lr/3e-3)^2."""
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(5e-2), n))
    loss = 1.8 + 300 * N**-0.3 + 0.05 * np.log(lr / 3e-3) ** 2
    loss = loss * np.exp(0.01 * rng.standard_normal(n))
    return pd.DataFrame({"params": N, "learning_rate": lr, "tokens": 20 * N, "val_loss": loss})


def test_input_spec_parsing_and_checks():
    assert InputSpec.parse("N").scale_axis and InputSpec.parse("lr").scale_axis is False
    spec = InputSpec.parse("share:real")
    assert spec.sign == "real" and spec.scaling == "linear"
    with pytest.raises(LawError, match="unknown option"):
        InputSpec.parse("lr:fast")
    with pytest.raises(LawError, match="must be positive"):
        InputSpec("x", scaling="log", sign="real")
    with pytest.raises(LawError, match="support"):
        TargetSpec(support="bounded")


def test_declared_input_is_read_by_name_alias_or_mapping():
    law = Law.from_formula(LR_LAW, inputs=["lr"])
    with pytest.raises(DataError, match="takes the input 'lr'.*--col lr="):
        load_runs(lr_table(), schema=law.schema)
    runs = load_runs(lr_table(), columns={"lr": "learning_rate"}, schema=law.schema)
    assert runs.has("lr") and runs.mapping["lr"] == "learning_rate"
    aliased = InputSpec("lr", aliases=("learning_rate",))
    runs2 = load_runs(lr_table(), schema=Schema(inputs=(aliased,)))
    np.testing.assert_array_equal(runs.column("lr"), runs2.column("lr"))
    # a Runs loaded without the schema keeps the column aside and reads it on demand
    plain = load_runs(lr_table())
    assert "learning_rate" in plain.unused_columns and not plain.has("lr")
    again = load_runs(plain, columns={"lr": "learning_rate"}, schema=law.schema)
    np.testing.assert_array_equal(again.column("lr"), runs.column("lr"))


def test_declared_input_sign_is_checked():
    table = lr_table()
    table.loc[3, "learning_rate"] = -1e-3
    law = Law.from_formula(LR_LAW, inputs=["lr"])
    with pytest.raises(DataError, match="'learning_rate' \\(lr\\) at row\\(s\\) 4"):
        load_runs(table, columns={"lr": "learning_rate"}, schema=law.schema)


def test_a_parameter_named_like_an_unread_column_is_an_undeclared_input():
    table = lr_table().rename(columns={"learning_rate": "lr"})
    law = Law.from_formula(LR_LAW)  # lr not declared: a parameter
    runs = load_runs(table)
    with pytest.raises(LawError, match="'lr' is a column.*--input lr"):
        check_runs(law, runs, plan_parameters(law))


def test_scale_axes_set_distance_and_ordering():
    law = Law.from_formula(LR_LAW, inputs=["lr"])
    runs = load_runs(lr_table(), columns={"lr": "learning_rate"}, schema=law.schema)
    assert law.scale_axes == ("N",) and "lr" not in distance_inputs(law, runs)
    maxima = {"N": 1e9}
    # a learning rate far outside the training range is not an extrapolation in scale
    d = extrapolation_distance(
        {"N": np.array([1e8, np.e * 1e9]), "lr": np.array([1.0, 1.0])}, maxima
    )
    np.testing.assert_allclose(d, [0.0, 1.0])
    assert extrapolation_distance({"lr": np.ones(3)}, {}).tolist() == [0.0, 0.0, 0.0]
    only_settings = Law.from_formula("E + c*log(lr/lr_opt)**2", inputs=["lr"])
    bare = load_runs(
        lr_table().drop(columns=["tokens"]),
        columns={"lr": "learning_rate"},
        schema=only_settings.schema,
    )
    assert sort_column(only_settings, bare) in ("C", "lr")


def test_real_target_is_read_signed_and_scaled():
    table = lr_table()
    table["Lossu"] = -table["val_loss"]
    law = Law.from_formula("E + A*N**(-alpha)", target=TargetSpec(name="Lossu", support="real"))
    with pytest.raises(DataError, match="loss > 0"):
        load_runs(table.drop(columns=["val_loss"]), columns={"loss": "Lossu"})
    runs = load_runs(table.drop(columns=["val_loss"]), schema=law.schema)
    assert (runs.column("loss") < 0).all() and runs.mapping["loss"] == "Lossu"
    refs = references(law, runs)
    assert refs["L_scale"] == pytest.approx(np.std(runs.column("loss")))


def test_predict_takes_points_with_declared_inputs(fitted_lr):
    fit = fitted_lr
    points = pd.DataFrame({"N": [1e8, 1e8], "lr": [3e-3, 3e-2]})
    pred = fit.predict(points=points)
    assert pred.sizes["point"] == 2 and "lr" in pred.coords
    med = pred["mu"].median(("chain", "draw")).values
    assert med[0] < med[1]  # the bowl: 10x the optimum costs loss
    with pytest.raises(QuestionError, match="no input 'bs'"):
        fit.predict(points={"N": [1e8], "lr": [1e-3], "bs": [64]})
    with pytest.raises(QuestionError, match="given twice"):
        fit.predict(N=1e8, points={"N": [1e8], "lr": [1e-3]})


@pytest.fixture(scope="module")
def fitted_lr():
    from bayes_scaling.api import fit

    law = Law.from_formula(LR_LAW, inputs=["lr"])
    runs = load_runs(lr_table(), columns={"lr": "learning_rate"}, schema=law.schema)
    return fit(runs, law=law, draws=150, tune=200, chains=2, seed=3, discrepancy=None)


def test_fit_recovers_the_optimal_learning_rate(fitted_lr):
    lr_opt = fitted_lr.posterior["lr_opt"].values
    lo, hi = np.quantile(lr_opt, [0.01, 0.99])
    assert lo < 3e-3 < hi and hi / lo < 2.0


def test_response_plot_shows_the_bowl_along_a_declared_input(fitted_lr):
    from bayes_scaling.presentation.plots import plot_response

    fig = plot_response(fitted_lr, x="lr", at={"N": 1e8})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "loss" and "lr" in ax.get_xlabel()
    with pytest.raises(QuestionError, match="no input 'bs'"):
        plot_response(fitted_lr, x="bs")


def test_cli_laws_shows_the_default_priors_of_a_formula():
    from typer.testing import CliRunner

    from bayes_scaling.presentation.cli import app

    result = CliRunner().invoke(
        app, ["laws", "--formula", "E + A*N**(-alpha) + c*log(lr/lr_opt)**2", "--input", "lr"]
    )
    assert result.exit_code == 0, result.output
    assert "setting (not a scale axis)" in result.output
    assert "lr_opt = lr * exp(lr_opt)" in result.output


def test_simulate_reads_declared_inputs_and_real_targets():
    from bayes_scaling.inputs.datasets import simulate

    truth = {"E": 5.0, "A1": 10.0, "a1": 0.4, "A2": 20.0, "a2": 0.6, "A3": 30.0, "a3": 0.4}
    design = {
        "Nnv": np.geomspace(1e8, 1e9, 6),
        "V": np.geomspace(4096, 65536, 6),
        "d_embed": np.full(6, 768.0),
        "H": np.geomspace(1e9, 1e11, 6),
    }
    runs = simulate("vocab", truth, design, sigma=0.01, seed=2)
    assert runs.has("V") and (runs.column("loss") < 0).all()


def test_scores_of_a_real_target_are_on_its_own_scale():
    from bayes_scaling.evaluation.scores import score_draws

    rng = np.random.default_rng(0)
    observed = np.array([-4.0, -3.5, -3.0])
    draws = observed[None, :] + 0.1 * rng.standard_normal((2000, 3))
    scores = score_draws(draws, observed, log=False)
    assert np.isfinite(scores["log_score"]) and np.isfinite(scores["crps"])
    assert scores["crps"] < 0.1 and scores["coverage"][0.9] == 1.0


@pytest.mark.model
def test_a_real_target_fits_with_its_discrepancy_and_reports(tmp_path):
    from bayes_scaling.api import fit
    from bayes_scaling.inputs.datasets import simulate
    from bayes_scaling.presentation.report import build_report

    rng = np.random.default_rng(4)
    n = 40
    truth = {"E": 5.0, "A1": 10.0, "a1": 0.4, "A2": 20.0, "a2": 0.6, "A3": 30.0, "a3": 0.4}
    design = {
        "Nnv": np.exp(rng.uniform(np.log(3e7), np.log(1e9), n)),
        "V": np.exp(rng.uniform(np.log(4096), np.log(65536), n)),
        "d_embed": rng.choice([512.0, 1024.0], n),
        "H": np.exp(rng.uniform(np.log(1e9), np.log(1e11), n)),
    }
    runs = simulate("vocab", truth, design, sigma=0.01, seed=5)
    result = fit(runs, law="vocab", draws=150, tune=200, chains=2, seed=1)
    assert result.target_scale.observed_name == "scaled_target"
    assert "discrepancy_tau" in result.posterior
    y = result.predict(points={k: v[:3] for k, v in design.items()})["y"].values
    assert np.isfinite(y).all() and (np.median(y, axis=(0, 1)) < 0).all()
    report = build_report(result)
    assert any(title.startswith("Lossu vs") for title in report.figures)


def test_the_point_fit_of_a_many_parameter_law_samples_its_start_grid():
    from bayes_scaling.evaluation.baseline_problem import MAX_STARTS, HuberProblem, start_grid
    from bayes_scaling.inputs.laws import get_law

    law = get_law("lr_bs")  # 12 parameters: 3^12 = 531441 grid points in full
    table = lr_table().rename(columns={"learning_rate": "lr"})
    table["bs"] = np.random.default_rng(1).choice([64.0, 256.0, 1024.0], len(table))
    runs = load_runs(table, schema=law.schema)
    theta = start_grid(HuberProblem(law, runs, delta=1e-3), law, None)
    assert 0 < theta.shape[0] <= MAX_STARTS and theta.shape[1] == len(law.param_names)
