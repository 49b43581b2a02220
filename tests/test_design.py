"""Run design (which run next): ranking, batches, prior-only ranking, the ``plan`` command."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import bayes_scaling as bs
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import equal_tailed, weighted_interval
from bayes_scaling.questions.design import (
    DesignQuestion,
    batch_in_order,
    choose_batch,
    rank_candidates,
)
from bayes_scaling.questions.design_tools import isoflop_grid, prior_fit

TARGET_C = 3e21  # the largest budget of chinchilla_like, held out of the small fit
AT_C = DesignQuestion(compute=TARGET_C)
SEEDED = DesignQuestion(compute=TARGET_C, seed=0)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Chinchilla fit of the cheap half of the simulated sweep (C <= 1.2e20), 2 x 200 draws."""
    runs = bs.datasets.chinchilla_like(seed=0)
    cheap = runs.subset(runs.column("C") <= 1.2e20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = bs.fit(cheap, seed=3, draws=200, tune=300, chains=2, discrepancy=None)
    path = tmp_path_factory.mktemp("design") / "fit.nc"
    fit.save(path)
    return fit, path


def test_weighted_interval_with_equal_weights_is_the_one_rule():
    x = np.sort(np.random.default_rng(0).normal(size=501))
    lo, hi = weighted_interval(x, np.full((2, x.size), 1 / x.size))
    ref_lo, _, ref_hi = equal_tailed(x)
    np.testing.assert_allclose([lo[0], hi[0]], [ref_lo, ref_hi], rtol=1e-12)
    w = np.zeros(x.size)
    w[100:201] = 1 / 101  # weight on a slice: the interval lies inside it
    lo, hi = weighted_interval(x, w)
    assert x[100] <= lo < hi <= x[200]


@pytest.mark.model
def test_a_run_at_the_target_scale_beats_a_tiny_one_per_run(small):
    fit, _ = small
    cands = pd.DataFrame({"N": [1e8, 4e9], "D": [2e9, 1.2e11]})
    question = DesignQuestion(compute=TARGET_C, n_fantasies=32, seed=0)
    ds = rank_candidates(fit, cands, question).sortby("candidate")
    width = ds["expected_width_after"].values
    assert width[1] < 0.85 * width[0] and width[1] < ds.attrs["width_now"]
    assert set(ds.coords) >= {"candidate", "N", "D", "C", "cost", "compute"}
    np.testing.assert_allclose(ds["cost"], 6 * cands["N"] * cands["D"])
    # per FLOP the cheap run can still win: the score divides by the cost
    np.testing.assert_allclose(ds["score"], ds["reduction"] / ds["cost"])


@pytest.mark.model
def test_a_run_already_in_the_data_changes_the_weights_little(small):
    fit, _ = small
    runs = fit.runs.table
    smallest = runs.loc[[runs["C"].idxmin()], ["N", "D"]]
    big = pd.DataFrame({"N": [4e9], "D": [1.2e11]})
    ds = rank_candidates(fit, pd.concat([smallest, big]), DesignQuestion(compute=TARGET_C, seed=1))
    ds = ds.sortby("candidate")
    n_draws = fit.posterior.sizes["chain"] * fit.posterior.sizes["draw"]
    assert ds["ess"].values[0] > max(0.6 * n_draws, ds["ess"].values[1])
    assert ds["reduction"].values[0] < 0.3 * ds["reduction"].values[1]


@pytest.mark.model
def test_targets_and_objectives_answer(small):
    fit, _ = small
    cands = {"N": [1e8, 1e9, 4e9], "D": [2e9, 2e10, 1.2e11], "cost": [1.0, 2.0, 3.0]}
    opt = rank_candidates(fit, cands, DesignQuestion(target="optimal", compute=TARGET_C, seed=0))
    assert "D_opt" in opt and opt.attrs["width_now"] > 0
    np.testing.assert_allclose(np.sort(opt["cost"].values), [1.0, 2.0, 3.0])
    E = float(fit.posterior["E"].median())
    probability = DesignQuestion(target="probability", compute=TARGET_C, loss_target=E + 0.3)
    prob = rank_candidates(fit, cands, probability)
    assert ((prob["value"] >= 0) & (prob["value"] <= 1)).all()
    reg = rank_candidates(fit, cands, DesignQuestion(objective="regret", compute=TARGET_C, seed=0))
    assert (reg["expected_regret_after"] >= 0).all() and reg.attrs["regret_now"] >= 0
    at_point = rank_candidates(fit, cands, DesignQuestion(N=2e10, D=4e11, seed=0))
    assert at_point.attrs["target_N"] == 2e10


def _assert_narrows(widths):
    """More runs, narrower. The widths are importance-weighted estimates over the draws of a
    short fit, so one step may widen by Monte Carlo error (2% seen, depending on the machine's
    rounding of the draws); the batch as a whole must narrow."""
    assert widths[-1] < widths[0]
    assert np.all(np.diff(widths) <= 0.1 * widths[:-1])


@pytest.mark.model
def test_choose_batch_respects_k_and_budget(small):
    fit, _ = small
    grid = isoflop_grid(fit, [1e19, 1e20, 1e21], 4)
    assert len(grid) == 12 and np.allclose(grid["C"], 6 * grid["N"] * grid["D"])
    batch = choose_batch(fit, grid, SEEDED, k=3)
    assert batch.sizes["pick"] == 3 and len(set(batch["candidate"].values)) == 3
    _assert_narrows(batch["expected_width_after"].values)
    capped = choose_batch(fit, grid, SEEDED, k=5, budget=2.5e20)
    assert capped["cumulative_cost"].values[-1] <= 2.5e20
    assert capped.sizes["pick"] <= 5
    ranked = rank_candidates(fit, grid, SEEDED)
    assert batch["candidate"].values[0] == ranked["candidate"].values[0]


@pytest.mark.model
def test_prior_only_ranking_works():
    cands = {"N": [1e8, 1e9, 1e10], "D": [2e9, 2e10, 2e11]}
    prior = prior_fit("chinchilla", candidates=cands, draws=400, seed=0)
    assert prior.runs.n_runs == 0 and prior.info["prior_only"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = rank_candidates(prior, cands, DesignQuestion(compute=1e22, seed=0))
    assert ds.sizes["candidate"] == 3 and np.isfinite(ds["expected_width_after"]).all()
    assert (ds["expected_width_after"] < ds.attrs["width_now"]).all()


@pytest.mark.model
@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"target": "nope"}, "target must be one of"),
        ({"objective": "nope"}, "objective must be one of"),
        ({"compute": None}, "give compute="),
        ({"target": "probability"}, "loss_target"),
        ({"n_fantasies": 1}, "n_fantasies"),
        ({"candidates": {"N": []}}, "candidates is empty"),
        ({"candidates": [1, 2]}, "candidates must be a table"),
        ({"candidates": {"N": [1e9], "D": [1e10], "cost": [-1]}}, "'cost' column"),
        ({"candidates": {"N": [1e9]}}, "could not be derived"),
        ({"compute": -1.0}, "compute must be"),
    ],
)
def test_bad_inputs_raise_question_errors(small, kwargs, fragment):
    fit, _ = small
    options = {"candidates": {"N": [1e9], "D": [2e10]}, "compute": TARGET_C, **kwargs}
    candidates = options.pop("candidates")
    with pytest.raises(QuestionError, match=fragment):
        rank_candidates(fit, candidates, DesignQuestion(**options))


@pytest.mark.model
def test_batch_bad_inputs(small):
    fit, _ = small
    cands = {"N": [1e9], "D": [2e10]}
    with pytest.raises(QuestionError, match="k must be"):
        choose_batch(fit, cands, AT_C, k=0)
    with pytest.raises(QuestionError, match="no candidate fits in the budget"):
        choose_batch(fit, cands, AT_C, k=1, budget=1.0)


def _plan_cli(path, tmp_path, csv_text: str):
    """The CLI runner, the app and ``plan``'s arguments for a candidates file of ``csv_text``."""
    from typer.testing import CliRunner

    from bayes_scaling.presentation.cli import app

    cands = tmp_path / "cands.csv"
    cands.write_text(csv_text, encoding="utf-8")
    args = ["plan", str(path), "--candidates", str(cands), "--target-compute", "3e21"]
    return CliRunner(), app, args


@pytest.mark.model
def test_plan_json_has_the_keys(small, tmp_path):
    _, path = small
    runner, app, args = _plan_cli(path, tmp_path, "N,D\n70M,1.4B\n1B,20B\n4B,120B\n")
    args = [*args, "--json"]
    result = runner.invoke(app, [*args, "--k", "2"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"target", "chosen", "candidates"} <= set(payload)
    assert len(payload["chosen"]) == 2 and len(payload["candidates"]) == 3
    row = payload["candidates"][0]
    assert {"N", "D", "C", "cost", "score", "expected_width_after"} <= set(row)
    scores = [r["score"] for r in payload["candidates"]]
    assert scores == sorted(scores, reverse=True)
    grid = runner.invoke(
        app,
        [
            "plan",
            str(path),
            "--grid",
            "1e19,1e20:3",
            "--target-compute",
            "3e21",
            "--target",
            "optimal",
        ],
    )
    assert grid.exit_code == 0, grid.output
    assert "train next" in grid.stdout


@pytest.mark.model
def test_plan_in_order_scores_the_file_as_planned(small, tmp_path):
    fit, path = small
    runner, app, args = _plan_cli(path, tmp_path, "N,D\n4B,120B\n70M,1.4B\n1B,20B\n")
    result = runner.invoke(app, [*args, "--in-order", "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    chosen = payload["chosen"]
    assert [r["N"] for r in chosen] == [4e9, 7e7, 1e9]  # every row, in the file's order
    assert "in-order" in payload["policy"]
    widths = [r["expected_width_after"] for r in chosen]
    assert widths[-1] <= widths[0] <= payload["target"]["width_now"]
    want = batch_in_order(
        fit, pd.DataFrame({"N": [4e9, 7e7, 1e9], "D": [1.2e11, 1.4e9, 2e10]}),
        DesignQuestion(target="loss", compute=3e21, seed=3), order=[0, 1, 2], k=3,
    )  # fmt: skip
    np.testing.assert_allclose(widths, want["expected_width_after"].values, rtol=1e-9)
    # --budget skips the runs that no longer fit; --k stops early
    cost_first = chosen[0]["cost"]
    budget = runner.invoke(
        app, [*args, "--in-order", "--budget", f"{cost_first * 1.0001:.6g}", "--json"]
    )
    assert budget.exit_code == 0, budget.output
    assert [r["N"] for r in json.loads(budget.stdout)["chosen"]] == [4e9]
    zero = runner.invoke(app, [*args, "--in-order", "--k", "0"])  # an error, never "every row"
    assert zero.exit_code != 0 and "k must be" in zero.output
    first_two = runner.invoke(app, [*args, "--in-order", "--k", "2"])
    assert first_two.exit_code == 0, first_two.output
    assert "expected width after each" in first_two.stdout


@pytest.mark.model
def test_cost_power_zero_scores_per_run(small):
    fit, _ = small
    cands = pd.DataFrame({"N": [1e8, 4e9], "D": [2e9, 1.2e11]})
    per_run = rank_candidates(fit, cands, SEEDED, cost_power=0.0)
    np.testing.assert_allclose(per_run["score"], per_run["reduction"])
    assert per_run["candidate"].values[0] == 1  # the big run shrinks the width more
    per_flop = rank_candidates(fit, cands, SEEDED)
    assert per_flop.attrs["cost_power"] == 1.0 and per_run.attrs["cost_power"] == 0.0
    np.testing.assert_allclose(  # same fantasies: only the divisor changes
        per_flop.sortby("candidate")["reduction"], per_run.sortby("candidate")["reduction"]
    )
    with pytest.raises(QuestionError, match="cost_power"):
        rank_candidates(fit, cands, AT_C, cost_power=-1.0)


@pytest.mark.model
def test_budget_batch_stays_within_the_budget_and_picks_the_best_power(small):
    from bayes_scaling.questions.design_policy import budget_batch

    fit, _ = small
    grid = isoflop_grid(fit, [1e19, 1e20, 1e21], 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = budget_batch(fit, grid, SEEDED, budget=1.5e21)
        per_flop = budget_batch(fit, grid, SEEDED, budget=1.5e21, cost_powers=[1.0])
    assert ds["cumulative_cost"].values[-1] <= 1.5e21
    assert ds.attrs["cost_power"] in (0.0, 0.5, 1.0) and "p=0.5" in ds.attrs["alternatives"]
    last = ds["expected_width_after"].values[-1]
    assert last <= per_flop["expected_width_after"].values[-1] + 1e-12
    assert budget_batch(fit, grid, AT_C, budget=1e10) is None  # nothing fits


def test_the_width_is_of_the_requested_interval(small):
    fit, _ = small
    grid = isoflop_grid(fit, [1e19, 1e20], 3)
    wide = rank_candidates(fit, grid, SEEDED)
    narrow = rank_candidates(fit, grid, DesignQuestion(compute=TARGET_C, seed=0, ci=0.5))
    assert narrow.attrs["ci"] == 0.5 and wide.attrs["ci"] == 0.9
    assert narrow.attrs["width_now"] < wide.attrs["width_now"]
    assert (narrow["expected_width_after"] < wide["expected_width_after"]).all()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"target": "nope"}, "target must be one of"),
        ({"objective": "nope"}, "objective must be one of"),
        ({"n_fantasies": 1}, "n_fantasies must be a whole number >= 2"),
        ({"n_fantasies": 2.5}, "n_fantasies must be a whole number >= 2"),
        ({"ci": 1.5}, "ci"),
        ({"ci": [0.5, 0.9]}, "ci"),
        ({"compute": 0.0}, "compute must be one finite number > 0"),
        ({"N": -1.0}, "N must be one finite number > 0"),
        ({"loss_target": float("nan")}, "loss_target must be one finite number > 0"),
        ({"seed": -1}, "seed must be a whole number >= 0"),
    ],
)
def test_design_question_rejects_bad_settings(kwargs, fragment):
    with pytest.raises(QuestionError, match=fragment):
        DesignQuestion(**kwargs)


def test_design_question_is_frozen_and_compares_by_value():
    question = DesignQuestion(objective="variance", compute=1e23, n_fantasies=16.0, ci=0.8)
    assert question == DesignQuestion(objective="variance", compute=1e23, n_fantasies=16, ci=0.8)
    assert isinstance(question.n_fantasies, int) and question.ci == 0.8
    assert DesignQuestion() == DesignQuestion(target="loss", objective="width", n_fantasies=32)
    assert DesignQuestion.of(None) == DesignQuestion() and DesignQuestion.of(question) is question
    with pytest.raises(QuestionError, match="question must be a DesignQuestion"):
        DesignQuestion.of({"compute": 1e23})
    with pytest.raises(AttributeError):
        question.target = "optimal"  # type: ignore[misc]


@pytest.mark.model
def test_an_equal_question_gives_the_same_ranking(small):
    fit, _ = small
    grid = isoflop_grid(fit, [1e19, 1e20], 3)
    asked = {"objective": "variance", "compute": TARGET_C, "seed": 0}
    first = rank_candidates(fit, grid, DesignQuestion(**asked))
    again = rank_candidates(fit, grid, DesignQuestion(**asked))
    xr.testing.assert_identical(first, again)
    assert first.attrs["objective"] == "variance"
    with pytest.raises(QuestionError, match="question must be a DesignQuestion"):
        rank_candidates(fit, grid, asked)  # type: ignore[arg-type]


@pytest.mark.model
def test_batch_in_order_takes_the_runs_that_fit_in_order(small):
    fit, _ = small
    grid = isoflop_grid(fit, [1e19, 1e20, 1e21], 3)
    cost = grid["C"].to_numpy()
    largest = np.argsort(-cost, kind="stable")
    budget = cost.max() * 0.99  # no run of the largest budget fits
    ds = batch_in_order(fit, grid, SEEDED, order=largest, k=4, budget=budget)
    expected, left = [], budget  # the next row of the order that fits what is left
    for row in largest:
        if len(expected) < 4 and cost[row] <= left:
            expected.append(int(row))
            left -= cost[row]
    assert list(ds["candidate"].values) == expected and cost[expected[0]] < cost.max()
    picks = ds["candidate"].values
    assert ds["cumulative_cost"].values[-1] <= budget and "cost_power" not in ds.attrs
    # its first pick is scored with the same fantasies as rank_candidates
    ranked = rank_candidates(fit, grid, SEEDED).set_index(candidate="candidate")
    first = ranked["expected_width_after"].sel(candidate=picks[0])
    np.testing.assert_allclose(ds["expected_width_after"].values[0], first, rtol=1e-6)
    _assert_narrows(ds["expected_width_after"].values)
    with pytest.raises(QuestionError, match="order must hold rows"):
        batch_in_order(fit, grid, SEEDED, order=[0, cost.size], k=2)
