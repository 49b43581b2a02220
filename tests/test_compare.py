"""LOO comparison of laws fitted to the same runs (compare_fits and `bayes-scaling compare`)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from bayes_scaling.core.errors import QuestionError
from bayes_scaling.evaluation.compare import (
    INTERPRETATION,
    ComparisonWarning,
    compare_fits,
    loo_tree,
)
from bayes_scaling.inputs import datasets
from bayes_scaling.presentation.cli import app

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def kaplan_fit():
    """Kaplan's law (no irreducible term) on the same simulated Chinchilla runs as small_fit."""
    from bayes_scaling.api import fit

    runs = datasets.chinchilla_like(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(runs, law="kaplan", draws=250, tune=300, chains=2, seed=1, discrepancy=None)


@pytest.fixture(scope="module")
def comparison(small_fit, kaplan_fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compare_fits({"chin": small_fit, "kap": kaplan_fit})


def test_loo_tree_has_the_groups_arviz_needs(small_fit):
    tree = loo_tree(small_fit)
    assert {"posterior", "log_likelihood", "observed_data"} <= set(tree.children)
    ll = tree["log_likelihood"]["log_loss"]
    assert ll.dims == ("chain", "draw", "run")
    assert ll.sizes["run"] == small_fit.runs.n_runs


def test_table_ranks_the_true_law_first(comparison):
    table = comparison.table
    assert list(table.columns[:6]) == ["elpd_loo", "se", "d_loo", "dse", "weight", "p_loo"]
    assert list(table.index) == ["chin", "kap"]  # data simulated from the Chinchilla law
    assert table.loc["chin", "d_loo"] == 0.0
    assert table.loc["kap", "d_loo"] < 0
    assert table["weight"].sum() == pytest.approx(1.0)
    assert (table["se"] > 0).all()
    # p_loo is near the number of free parameters (5 law + sigma + nu for chinchilla)
    assert 3 < table.loc["chin", "p_loo"] < 12
    d = comparison.to_dict()
    assert d["note"] == INTERPRETATION
    assert [m["name"] for m in d["models"]] == ["chin", "kap"]
    json.dumps(d)  # JSON-able


def test_high_pareto_k_warning_names_runs(small_fit, kaplan_fit):
    with pytest.warns(ComparisonWarning, match=r"run\(s\) with Pareto k > -1"):
        result = compare_fits([small_fit, kaplan_fit], pareto_k_threshold=-1.0)
    assert set(result.table.index) == {"chinchilla", "kaplan"}
    assert (result.table["n_high_k"] == small_fit.runs.n_runs).all()
    assert result.table["high_k_runs"].iloc[0][:3] == [0, 1, 2]


def _other_runs(fit):
    table = fit.runs.table.copy()
    table.loc[3, "loss"] *= 1.01
    return dataclasses.replace(fit.runs, table=table, source="<edited runs>")


def _on_other_runs(fit):
    """The same fit, claiming slightly different runs (as a fit file would record them)."""
    runs = _other_runs(fit)
    tree = fit.tree.copy()
    tree["constant_data"] = xr.DataTree(runs.to_xarray())
    return dataclasses.replace(fit, runs=runs, tree=tree)


def test_fits_on_different_runs_are_refused(small_fit, kaplan_fit):
    other = _on_other_runs(kaplan_fit)
    with pytest.raises(QuestionError, match=r"different runs: column loss differs at run\(s\) 3"):
        compare_fits([small_fit, other])
    with pytest.raises(QuestionError, match="at least two"):
        compare_fits([small_fit])


def test_cli_compare_table_json_and_errors(tmp_path, small_fit, kaplan_fit):
    a = small_fit.save(tmp_path / "chin.nc")
    b = kaplan_fit.save(tmp_path / "kap.nc")
    runner = CliRunner()
    res = runner.invoke(app, ["compare", str(a), str(b)])
    assert res.exit_code == 0, res.output
    assert "elpd_loo" in res.output and "kap" in res.output
    assert INTERPRETATION in " ".join(res.output.split())
    res = runner.invoke(app, ["compare", str(a), str(b), "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["models"][0]["name"] == "chin"
    assert payload["laws"] == {"chin": "chinchilla", "kap": "kaplan"}
    assert np.isfinite(payload["models"][1]["d_loo"])
    c = _on_other_runs(kaplan_fit).save(tmp_path / "other.nc")
    res = runner.invoke(app, ["compare", str(a), str(c)])
    assert res.exit_code == 1
    assert "different runs" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["compare", str(a)])
    assert res.exit_code == 1


def test_backtest_scores_sit_beside_loo(monkeypatch, small_fit, kaplan_fit):
    import bayes_scaling.evaluation.backtest as bt

    calls = []

    class FakeResult:
        n_train, n_test = 40, 10

        def __init__(self, law):
            self.law = law

        def to_dict(self):
            score = -1.0 if self.law == "chinchilla" else -3.0
            return {
                "bayes": {"log_score": score, "crps": 0.1, "mare": 0.01, "coverage": {"0.9": 0.9}}
            }

    def fake_backtest(runs, *, law, settings):
        calls.append((law.name, runs, settings))
        return FakeResult(law.name)

    monkeypatch.setattr(bt, "backtest", fake_backtest)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = compare_fits(
            {"chin": small_fit, "kap": kaplan_fit}, backtest=True, backtest_changes={"seed": 3}
        )
    assert [c[0] for c in calls] == ["chinchilla", "kaplan"]
    # each backtest refits with its own fit's settings, changed only by backtest_changes
    for (_, runs, settings), fit in zip(calls, (small_fit, kaplan_fit), strict=True):
        assert runs is fit.runs
        assert settings.seed == 3
        assert settings == fit.settings.replace(seed=3)
        assert settings.likelihood == fit.likelihood and settings.priors == fit.priors
    assert result.table.loc["chin", "lfo_log_score"] == -1.0
    assert result.table.loc["kap", "lfo_log_score"] == -3.0
    assert result.to_dict()["backtest"]["kap"]["n_test"] == 10
