"""One interval rule: the same draws give the same numbers through every door.

The draws below hold 20% ``inf`` ("not reached"), more than the 5% upper tail of a 90% interval,
so the rule says: the upper bound is ``inf``, the median counts every draw, nothing is dropped,
and the share not reached is reported.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from bayes_scaling.core.intervals import (
    equal_tailed,
    quantiles,
    share_not_reached,
    share_undefined,
    summarize,
)
from bayes_scaling.evaluation.scores import central_interval
from bayes_scaling.presentation.cli import app
from bayes_scaling.presentation.cli.decisions import _interval as cli_interval
from bayes_scaling.presentation.plots._common import quantiles as plot_quantiles
from bayes_scaling.presentation.report.tables import _q as report_interval
from bayes_scaling.presentation.summaries import interval_table


def _draws(share_inf: float = 0.2, *, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    draws = np.exp(rng.normal(np.log(5e21), 1.0, size=(4, 500)))
    draws.ravel()[rng.permutation(draws.size)[: int(share_inf * draws.size)]] = np.inf
    return draws


def test_finite_draws_match_numpy():
    x = np.random.default_rng(1).normal(size=(3, 400, 5))
    lo, med, hi = equal_tailed(x, ci=0.9, axis=(0, 1))
    expected = np.quantile(x.reshape(-1, 5), [0.05, 0.5, 0.95], axis=0)
    np.testing.assert_allclose(np.stack([lo, med, hi]), expected, rtol=1e-12)


def test_inf_rule():
    draws = _draws(0.2)
    iv = summarize(draws, ci=0.9)
    assert iv["upper"] == np.inf  # 20% > 5% tail share
    assert np.isfinite(iv["lower"]) and np.isfinite(iv["median"])
    assert iv["share_not_reached"] == pytest.approx(0.2)
    # the median counts every draw: it sits at the 50% point of all draws, inf included
    finite = np.sort(draws[np.isfinite(draws)])
    assert iv["median"] > np.median(finite)
    # below the tail share the upper bound stays finite
    assert np.isfinite(summarize(_draws(0.03), ci=0.9)["upper"])
    # more than half not reached: the median is inf too
    assert summarize(_draws(0.6), ci=0.9)["median"] == np.inf


def test_nan_draws_are_undefined_and_reported():
    x = np.array([1.0, 2.0, 3.0, np.nan])
    assert share_undefined(x) == 0.25
    assert quantiles(x, 0.5) == 2.0
    assert np.isnan(quantiles(np.full(4, np.nan), 0.5))
    assert share_not_reached(np.array([1.0, np.inf])) == 0.5


def test_every_door_prints_the_same_interval():
    draws = _draws(0.2)
    ci = 0.9
    truth = summarize(draws, ci=ci)
    ds = xr.Dataset({"compute_needed": (("chain", "draw"), draws)})
    table = interval_table(ds, ci=ci).iloc[0]
    doors = {
        "summary": (table["lower"], table["median"], table["upper"]),
        "cli": tuple(cli_interval(draws, ci)[k] for k in ("lower", "median", "upper")),
        "report": report_interval(draws, ci),
        "plots": tuple(float(v[0]) for v in plot_quantiles(draws[..., None], ci=ci)),
        "scores": (
            float(central_interval(draws.reshape(-1, 1), ci=ci)[0][0]),
            truth["median"],
            float(central_interval(draws.reshape(-1, 1), ci=ci)[1][0]),
        ),
    }
    expected = (truth["lower"], truth["median"], truth["upper"])
    for door, numbers in doors.items():
        assert tuple(map(float, numbers)) == expected, door
    assert table["share_not_reached"] == pytest.approx(0.2)


@pytest.mark.model
def test_cli_json_and_summary_agree_on_a_real_fit(small_fit, tmp_path):
    """A target 20% of the draws never reach: CLI JSON (strict, null + reason) = summary."""
    from bayes_scaling.inference.storage import save_fit
    from bayes_scaling.questions.budget import compute_for_target

    target = float(np.quantile(small_fit.posterior["E"].values, 0.8))
    path = save_fit(small_fit, tmp_path / "fit.nc")
    result = CliRunner().invoke(
        app, ["budget", str(path), "--target-loss", repr(target), "--probability", "0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)  # strict JSON: no Infinity literal
    needed = payload["compute_needed"]
    assert needed["upper"] is None and "not reached" in needed["null_means"]
    table = compute_for_target(small_fit, target=target).scaling.summary(ci=payload["ci"])
    row = table[table["variable"] == "compute_needed"].iloc[0]
    assert row["upper"] == np.inf
    assert needed["lower"] == pytest.approx(row["lower"], rel=1e-12)
    assert needed["median"] == pytest.approx(row["median"], rel=1e-12)
    assert needed["share_not_reached"] == pytest.approx(row["share_not_reached"], abs=1e-12)
    assert 0.1 < needed["share_not_reached"] < 0.3
