"""Model, fit, predictions and saved files (tiny draws, fixed seeds, one fit reused per module)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest
import xarray as xr

import bayes_scaling as bs
from bayes_scaling.core.errors import (
    DataError,
    DiagnosticsError,
    FitFileError,
    PriorError,
    QuestionError,
)
from bayes_scaling.inference.diagnostics import Diagnostics, DiagnosticsWarning, gate
from bayes_scaling.model.graph import build_model
from bayes_scaling.model.plans import plan_parameters

pytestmark = pytest.mark.model
SETTINGS = {"draws": 200, "tune": 300, "chains": 2}


def test_model_structure_uses_scaled_parameters():
    runs = bs.datasets.chinchilla_like()
    model = build_model(bs.get_law("chinchilla"), runs)
    names = {v.name for v in model.free_RVs}
    assert names == {"alpha", "beta", "E_scaled", "A_scaled", "B_scaled", "sigma", "nu"}
    normal = build_model(bs.get_law("chinchilla"), runs, likelihood="normal", priors={"E": 0})
    assert "nu" not in {v.name for v in normal.free_RVs}
    assert "E_scaled" not in {v.name for v in normal.free_RVs}


def test_prior_overrides_checked():
    law = bs.get_law("chinchilla")
    plans = {
        p.name: p for p in plan_parameters(law, {"alpha": "Beta(2, 5)", "E_scaled": "Beta(5, 2)"})
    }
    assert str(plans["alpha"].prior) == "Beta(2, 5)" and not plans["alpha"].scaled
    assert str(plans["E"].prior) == "Beta(5, 2)" and plans["E"].scaled
    with pytest.raises(PriorError, match=r"prior given for gamma.*priors can be set for"):
        plan_parameters(law, {"gamma": "Normal(0, 1)"})
    with pytest.raises(PriorError, match="does not parse|not a distribution"):
        plan_parameters(law, {"alpha": "Beta(2,"})


def test_prior_predictive_shapes_and_positivity():
    runs = bs.datasets.chinchilla_like()
    tree = bs.prior_predictive(bs.get_law("chinchilla"), runs, draws=50, seed=3)
    loss = tree["prior_predictive"]["loss"]
    assert loss.dims == ("chain", "draw", "run") and loss.shape == (1, 50, runs.n_runs)
    assert np.all(loss.values > 0)
    e = tree["prior"]["E"].values
    # E below 1.25 x the smallest loss: noise can put runs below a plateau
    assert np.all((e > 0) & (e < 1.25 * runs.column("loss").min()))
    assert np.any(e > runs.column("loss").min())  # the margin is used by the prior


@pytest.fixture(scope="module")
def fitted():
    runs = bs.datasets.chinchilla_like(seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiagnosticsWarning)
        first = bs.fit(runs, law="chinchilla", seed=7, **SETTINGS)
        second = bs.fit(runs, law="chinchilla", seed=7, **SETTINGS)
    return first, second


def test_same_seed_identical_draws_and_compiled_model_reused(fitted):
    first, second = fitted
    xr.testing.assert_equal(first.posterior, second.posterior)  # attrs hold timestamps
    assert second.info["compiled_model_reused"] is True
    assert first.settings.seed == 7


def test_posterior_in_user_units_near_truth(fitted):
    table = fitted[0].summary()
    assert list(table.index[:5]) == ["alpha", "beta", "E", "A", "B"]
    assert {"mean", "median", "lower", "upper", "ci", "r_hat", "ess_bulk"} <= set(table.columns)
    assert table["ci"].eq(bs.CI).all() and table.attrs["ci"] == bs.CI
    truth = bs.datasets.CHINCHILLA_TRUTH
    for name in ("E", "alpha", "beta"):
        assert abs(table.loc[name, "median"] - truth[name]) / truth[name] < 0.1


def test_predict_contract_mu_and_y(fitted):
    fit = fitted[0]
    ds = fit.predict(N=[7e10, 4e11], D=[1.4e12, 8e12])
    assert set(ds.data_vars) == {"mu", "y"}
    assert ds["mu"].dims == ("chain", "draw", "point") and ds.sizes["point"] == 2
    np.testing.assert_allclose(ds["C"].values, 6 * ds["N"].values * ds["D"].values)
    assert "expected" in ds["mu"].attrs["long_name"] and "observed" in ds["y"].attrs["long_name"]
    bounds = ds.scaling.interval(ci=0.9)
    mu_width = bounds["mu_upper"] - bounds["mu_lower"]
    y_width = bounds["y_upper"] - bounds["y_lower"]
    assert np.all(y_width.values > mu_width.values)  # the noise widens the predictive interval
    table = ds.scaling.summary(ci=0.5)
    assert set(table["variable"]) == {"mu", "y"} and table["ci"].eq(0.5).all()
    wider = ds.scaling.summary(ci=0.95)
    assert np.all(wider["upper"].values - wider["lower"].values > table["upper"] - table["lower"])


def test_predict_from_compute_and_size(fitted):
    ds = fitted[0].predict(N=1e9, C=[1e21, 1e22])
    np.testing.assert_allclose(ds["D"].values, [1e21 / 6e9, 1e22 / 6e9])
    mu = ds["mu"].median(("chain", "draw")).values
    assert mu[1] < mu[0]


def test_predict_bad_input(fitted):
    with pytest.raises(QuestionError, match="finite and > 0"):
        fitted[0].predict(N=-1, D=1e9)
    with pytest.raises(QuestionError, match="could not be derived"):
        fitted[0].predict(N=1e9)
    with pytest.raises(QuestionError, match="ci must be strictly between"):
        fitted[0].predict(N=1e9, D=1e10).scaling.summary(ci=1.5)


def test_save_load_round_trip(fitted, tmp_path):
    fit = fitted[0]
    path = fit.save(tmp_path / "fit.nc")
    assert [p.name for p in tmp_path.iterdir()] == ["fit.nc"]  # no temporary file left behind
    loaded = bs.load(path)
    xr.testing.assert_allclose(loaded.posterior, fit.posterior)
    assert loaded.law.param_names == fit.law.param_names
    assert loaded.settings == fit.settings and loaded.refs == fit.refs
    assert loaded.diagnostics == fit.diagnostics
    xr.testing.assert_allclose(
        loaded.predict(N=7e10, D=1.4e12)["mu"], fit.predict(N=7e10, D=1.4e12)["mu"]
    )
    import netCDF4

    with netCDF4.Dataset(path) as nc:
        attrs = nc.__dict__
    for key in ("law", "likelihood", "data", "settings", "info", "diagnostics", "refs"):
        assert key in attrs
    assert "bayes_scaling_version" in attrs and int(attrs["format_version"]) == 2
    assert "priors" in json.loads(attrs["settings"])  # the priors travel in the settings
    assert "log_likelihood" in loaded.tree.children


def test_save_refuses_overwrite_and_keeps_file(fitted, tmp_path):
    target = tmp_path / "fit.nc"
    target.write_text("precious")
    with pytest.raises(FitFileError, match="already exists.*--force"):
        fitted[0].save(target)
    assert target.read_text() == "precious"
    fitted[0].save(target, force=True)
    assert bs.load(target).law.name == "chinchilla"


def test_load_rejects_corrupt_and_foreign_files(tmp_path):
    corrupt = tmp_path / "corrupt.nc"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n garbage")
    with pytest.raises(FitFileError, match="could not be read as netCDF"):
        bs.load(corrupt)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"x": ("i", [1.0, 2.0])}).to_netcdf(foreign)
    with pytest.raises(FitFileError, match="not a bayes-scaling fit"):
        bs.load(foreign)
    with pytest.raises(FitFileError, match="does not exist"):
        bs.load(tmp_path / "missing.nc")


def test_gate_warns_and_strict_raises(fitted):
    failing = dataclasses.replace(
        fitted[0].diagnostics,
        divergences=3,
        max_r_hat=1.05,
        min_ess_bulk=50.0,
        min_ess_tail=1e4,
        min_bfmi=1.0,
    )
    assert failing.failed == ("max_r_hat", "min_ess_bulk", "divergences")
    with pytest.warns(DiagnosticsWarning, match=r"divergences = 3 \(needs <= 0; .*target_accept"):
        gate(failing)
    with pytest.raises(DiagnosticsError, match="max_r_hat = 1.05"):
        gate(failing, strict=True)
    assert Diagnostics.from_dict(failing.to_dict()) == failing


def test_strict_fit_fails_on_tiny_run():
    runs = bs.datasets.chinchilla_like(seed=2)
    with pytest.raises(DiagnosticsError, match="min_ess_bulk"):
        bs.fit(
            runs, law="chinchilla", draws=30, tune=300, chains=2, seed=1, max_draws=None,
            strict=True,
        )  # fmt: skip


def test_fit_bad_input():
    runs = bs.datasets.chinchilla_like()
    few = runs.subset(np.arange(runs.n_runs) < 5)
    with pytest.raises(DataError, match="5 runs are too few for law 'chinchilla'"):
        bs.fit(few, law="chinchilla")
    same_n = bs.load_runs(
        {"N": [1e8] * 8, "D": np.geomspace(1e9, 1e11, 8), "loss": np.linspace(3, 2, 8)}
    )
    with pytest.raises(DataError, match="input N has the same value"):
        bs.fit(same_n, law="chinchilla")
    only_c = bs.load_runs({"C": np.geomspace(1e18, 1e21, 8), "loss": np.linspace(3, 2, 8)})
    with pytest.raises(DataError, match="needs the input"):
        bs.fit(only_c, law="chinchilla")
    with pytest.raises(bs.BayesScalingError, match="unknown law"):
        bs.fit(runs, law="nope")
    with pytest.raises(PriorError, match="unknown likelihood"):
        bs.fit(runs, likelihood="cauchy")
