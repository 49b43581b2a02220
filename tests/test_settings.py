"""One settings object: every field of FitSettings reaches every consumer.

Each consumer's next step is replaced by a probe that records what it was given and stops; the
probe's record must equal the settings the user gave (up to the documented changes: the
discrepancy's inner refit has no discrepancy of its own, and a job fits on one core).
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

import bayes_scaling as bs
from bayes_scaling.evaluation import backtest as backtest_module
from bayes_scaling.evaluation import compare, discrepancy, fitting, many, sbc
from bayes_scaling.inference import sampling
from bayes_scaling.inference.settings import FitSettings, SettingsError
from bayes_scaling.inputs.priors import Prior

#: A value other than the default for every field.
FULL = FitSettings(
    priors={"alpha": "Beta(2, 5)"},
    likelihood="normal",
    draws=17,
    tune=19,
    chains=3,
    cores=1,
    target_accept=0.85,
    adaptation="diag",
    retry_divergent=False,
    max_draws=1234,
    thresholds={"max_r_hat": 1.05},
    discrepancy="lfo",
    vary=("E",),
    centered=True,
    seed=123,
)


class Stop(Exception):
    """Raised by a probe once it has recorded what it was given."""


def _probe(seen: list):
    def probe(*args, settings=None, **kwargs):
        seen.append(settings)
        raise Stop

    return probe


def _grouped_runs():
    runs = bs.datasets.chinchilla_like(seed=0)
    table = runs.table.assign(group=np.where(np.arange(runs.n_runs) % 2, "a", "b"))
    return bs.load_runs(table)


def test_full_differs_from_the_defaults_in_every_field():
    default = FitSettings()
    same = [
        f.name
        for f in dataclasses.fields(FitSettings)
        if getattr(FULL, f.name) == getattr(default, f.name)
    ]
    assert same == ["discrepancy"]  # "lfo" is the default; None is checked on its own below


def test_round_trip_through_json_and_mappings():
    assert FitSettings.from_json(FULL.to_json()) == FULL
    assert FitSettings.from_mapping(FULL.to_dict()) == FULL
    assert FULL.priors["alpha"] == Prior.parse("Beta(2, 5)")
    with pytest.raises(SettingsError, match="unknown fit setting.*draw"):
        FitSettings.from_mapping({"draw": 10})
    for bad in (
        {"seed": -1},
        {"seed": 2**64},
        {"draws": 0},
        {"target_accept": 1.2},
        {"max_draws": 0},
        {"max_draws": 2.5},
    ):
        with pytest.raises(SettingsError):
            FitSettings.from_mapping(bad)


def test_fit_passes_settings_to_sampling(monkeypatch):
    seen: list = []
    monkeypatch.setattr(fitting, "sample", _probe(seen))
    with pytest.raises(Stop):
        fitting.fit(_grouped_runs(), law="chinchilla", settings=FULL)
    assert seen == [FULL]


def test_no_discrepancy_means_no_inner_refit(monkeypatch):
    calls: list = []

    def fake_sample(runs, *, law, settings, strict, progress):
        calls.append(settings)
        return SimpleNamespace(settings=settings)

    monkeypatch.setattr(fitting, "sample", fake_sample)
    monkeypatch.setattr(fitting, "add_discrepancy", _probe([]))
    record = fitting.fit(_grouped_runs(), law="chinchilla", settings=FULL.replace(discrepancy=None))
    assert calls == [FULL.replace(discrepancy=None)] and record.settings.discrepancy is None


def test_facade_options_make_the_same_settings(monkeypatch):
    seen: list = []
    monkeypatch.setattr(fitting, "sample", _probe(seen))
    with pytest.raises(Stop):
        bs.fit(_grouped_runs(), **{k: getattr(FULL, k) for k in FitSettings.names()})
    with pytest.raises(Stop):
        bs.fit(_grouped_runs(), settings=FULL.replace(seed=1), seed=123)
    assert seen == [FULL, FULL]
    with pytest.raises(SettingsError, match="unknown fit setting"):
        bs.fit(_grouped_runs(), draw=10)


def test_sampling_passes_every_field_on(monkeypatch):
    """Priors and likelihood to the model, pooling to the plan, sampler fields to nutpie."""
    import nutpie

    compiled: dict = {}

    def fake_compiled(law, runs, plans, priors, likelihood, refs, pooling=None):
        compiled.update(plans=plans, priors=priors, likelihood=likelihood, pooling=pooling)
        return object(), False

    calls: list = []

    def fake_nutpie(model, **kwargs):
        calls.append(kwargs)
        raise Stop

    monkeypatch.setattr(sampling, "compiled_model", fake_compiled)
    monkeypatch.setattr(nutpie, "sample", fake_nutpie)
    with pytest.raises(Stop):
        sampling.sample(_grouped_runs(), law="chinchilla", settings=FULL)
    assert compiled["priors"] == FULL.priors and compiled["likelihood"] == "normal"
    assert {p.name for p in compiled["plans"]} >= {"sigma"} and "nu" not in {
        p.name for p in compiled["plans"]
    }
    alpha = next(p for p in compiled["plans"] if p.name == "alpha")
    assert alpha.prior == FULL.priors["alpha"]
    assert compiled["pooling"].vary == ("E",) and compiled["pooling"].centered == {"E": True}
    kwargs = calls[0]
    assert (kwargs["draws"], kwargs["tune"], kwargs["chains"], kwargs["cores"]) == (17, 19, 3, 1)
    assert kwargs["seed"] == 123 and kwargs["target_accept"] == 0.85
    assert kwargs["adaptation"] == "diag"


def test_gate_thresholds_and_retry_reach_the_gate(monkeypatch):
    seen: dict = {}

    def fake_compute(tree, *, var_names, thresholds):
        seen["thresholds"] = thresholds
        raise Stop

    fake_tree = {"sample_stats": {"diverging": np.ones((3, 17), bool)}}
    runs_of_nutpie: list = []

    def fake_run(compiled, *, settings, adaptation, seed, progress):
        runs_of_nutpie.append(adaptation)
        return fake_tree

    monkeypatch.setattr(sampling, "compiled_model", lambda *a, **k: (object(), False))
    monkeypatch.setattr(sampling, "run_nutpie", fake_run)
    monkeypatch.setattr(sampling, "assemble_tree", lambda tree, **kw: tree)
    monkeypatch.setattr(sampling.diag, "compute", fake_compute)
    with pytest.raises(Stop):
        sampling.sample(_grouped_runs(), law="chinchilla", settings=FULL)
    assert seen["thresholds"] == {"max_r_hat": 1.05}
    assert runs_of_nutpie == ["diag"]  # retry_divergent=False: no second run despite divergences
    runs_of_nutpie.clear()
    with pytest.raises(Stop):
        sampling.sample(
            _grouped_runs(), law="chinchilla", settings=FULL.replace(retry_divergent=True)
        )
    assert runs_of_nutpie == ["diag", "low_rank"]


def test_inner_refit_keeps_every_setting_but_the_discrepancy(monkeypatch):
    seen: list = []
    monkeypatch.setattr(discrepancy, "sample", _probe(seen))
    refit = discrepancy.inner_refit(FULL, law=bs.get_law("chinchilla"))
    with pytest.raises(Stop):
        refit(_grouped_runs())
    assert seen == [discrepancy.inner_settings(FULL)]
    # every field but the discrepancy and the number of steps is the fit's own
    assert discrepancy.inner_settings(FULL) == FULL.replace(discrepancy=None)  # 17, 19 < 250
    big = FULL.replace(draws=1000, tune=1000)
    assert discrepancy.inner_settings(big) == big.replace(discrepancy=None, draws=500)


def test_backtest_and_compare_use_the_fits_own_settings(monkeypatch):
    seen: list = []
    monkeypatch.setattr(backtest_module, "fit", _probe(seen))
    with pytest.raises(Stop):
        backtest_module.backtest(_grouped_runs(), law="chinchilla", settings=FULL)
    assert seen == [FULL]
    # compare --backtest: a pooled fit's backtest is pooled (same vary, centred, priors...)
    record = type("R", (), {"runs": _grouped_runs(), "law": bs.get_law("chinchilla")})()
    record.settings = FULL
    seen.clear()
    with pytest.raises(Stop):
        compare._backtests({"a": record}, {})
    assert seen == [FULL]
    seen.clear()
    with pytest.raises(Stop):
        compare._backtests({"a": record}, {"draws": 5})
    assert seen == [FULL.replace(draws=5)]


def test_jobs_file_and_fit_many_carry_every_field(tmp_path, monkeypatch):
    (tmp_path / "runs.csv").write_text(_grouped_runs().table.to_csv(index=False))
    (tmp_path / "jobs.toml").write_text(
        "[defaults]\n"
        'priors = { alpha = "Beta(2, 5)" }\nlikelihood = "normal"\ndraws = 17\ntune = 19\n'
        'chains = 3\ncores = 1\ntarget_accept = 0.85\nadaptation = "diag"\n'
        "retry_divergent = false\nmax_draws = 1234\n"
        'thresholds = { max_r_hat = 1.05 }\ndiscrepancy = "lfo"\n'
        'vary = ["E"]\ncentered = true\nseed = 123\n'
        '[[job]]\nname = "one"\nruns = "runs.csv"\nmax_compute = 1e30\n'
    )
    (job,) = many.load_jobs(tmp_path / "jobs.toml")
    assert job.settings == FULL and job.load == {"max_compute": 1e30}
    seen: list = []
    monkeypatch.setattr(fitting, "fit", _probe(seen))
    result = many.run_job(0, job)
    assert not result.ok and seen == [FULL]  # the probe stopped the job after recording


def test_sbc_fits_with_the_settings(monkeypatch):
    seen: list = []
    compiled = type("C", (), {"shared_var_keys": {}, "with_data": lambda self, **k: self})()
    monkeypatch.setattr(sbc, "compiled_model", lambda *a, **k: (compiled, False))

    def fake_run(model, *, settings, adaptation, seed, progress):
        seen.append((settings, adaptation))
        raise Stop

    monkeypatch.setattr(sbc, "run_nutpie", fake_run)
    settings = FULL.replace(vary=(), centered="auto", priors={})
    with pytest.raises(Stop):
        sbc.run_sbc("chinchilla", n_sims=1, settings=settings)
    assert seen == [(settings, "diag")]


@pytest.mark.model
def test_saved_fit_reads_back_its_settings(small_fit, tmp_path):
    record = dataclasses.replace(small_fit, settings=small_fit.settings.replace(draws=17))
    path = bs.inference.storage.save_fit(record, tmp_path / "fit.nc")
    loaded = bs.load(path)
    assert loaded.settings == record.settings
    assert loaded.info["adaptation"] == small_fit.info["adaptation"]


def test_cli_fit_builds_the_settings(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from bayes_scaling.presentation.cli import app

    (tmp_path / "runs.csv").write_text(_grouped_runs().table.to_csv(index=False))
    seen: list = []

    def probe(runs, *, law, settings, strict=False, progress=False):
        seen.append(settings)
        raise bs.BayesScalingError("stopped by the probe")

    monkeypatch.setattr(fitting, "fit", probe)
    args = ["fit", str(tmp_path / "runs.csv"), "-o", str(tmp_path / "f.nc"), "--prior"]
    args += ["alpha=Beta(2, 5)", "--likelihood", "normal", "--draws", "17", "--tune", "19"]
    args += ["--chains", "3", "--seed", "123", "--vary", "E", "--centered", "centered"]
    args += ["--max-draws", "1234"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1 and "stopped by the probe" in result.output
    expected = FULL.replace(cores=None, target_accept=0.9, adaptation="low_rank")
    expected = expected.replace(retry_divergent=True, thresholds=None)
    assert seen == [expected]
