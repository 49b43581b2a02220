"""Model entries on disk: a later process builds the compiled model without PyMC, with the same
draws; an entry is written only when it reproduces the model, and a bad one is ignored."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bayes_scaling.inference import sampling
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs import datasets
from bayes_scaling.model import native, native_store, vector_loop
from bayes_scaling.model.graph import build_model

LAW = "chinchilla"


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv(native_store.ENV_SWITCH, raising=False)


def _prepared(seed: int = 0):
    runs = datasets.chinchilla_like(seed=seed)
    return sampling.prepare(runs, law=LAW, settings=FitSettings(seed=1))


def _recipe(prepared):
    runs, law, settings, plans, pooling, refs = prepared
    model = build_model(
        law, runs, priors=settings.priors, likelihood=settings.likelihood, refs=refs
    )
    data = sampling.model_data(law, runs, refs, pooling)
    return model, data


def _draws(compiled, seed=4):
    import nutpie

    tree = nutpie.sample(
        compiled, draws=40, tune=60, chains=2, cores=1, seed=seed, progress_bar=False
    )
    post = tree["posterior"]
    return np.stack([post[name].values for name in sorted(post.data_vars)])


@pytest.mark.model
def test_an_entry_rebuilds_the_model_with_nutpies_draws(monkeypatch):
    monkeypatch.setenv(vector_loop.ENV_SWITCH, "0")  # nutpie compiles with PyTensor's loops
    import nutpie

    model, data = _recipe(_prepared())
    key = native_store.entry_key("test-entry-rebuild", data)
    compiled = native.compile_model(model, store_key=key, data=data)
    loaded = native_store.load_model(key, data)
    assert loaded is not None and loaded.logp_func is None  # built without PyTensor's functions
    own = nutpie.compile_pymc_model(model)
    assert np.array_equal(_draws(loaded), _draws(own))
    assert np.array_equal(_draws(loaded), _draws(compiled))
    for seed in (0, 5, 2**40 + 3):  # the starting points are PyMC's, jitter included
        assert np.array_equal(loaded.initial_point_func(seed), own.initial_point_func(seed))
    half = {k: (v[::2] if np.ndim(v) else v) for k, v in data.items()}
    half = {k: v for k, v in half.items() if k in {v.name for v in loaded.shared_var_keys}}
    assert np.array_equal(_draws(loaded.with_data(**half)), _draws(own.with_data(**half)))


@pytest.mark.model
def test_no_entry_when_the_data_are_not_the_compiled_arrays():
    model, data = _recipe(_prepared())
    other = {k: (np.asarray(v) * 1.5 if np.ndim(v) else v) for k, v in data.items()}
    key = native_store.entry_key("test-entry-mismatch", other)
    native.compile_model(model, store_key=key, data=other)
    assert native_store.load_model(key, other) is None


def test_a_bad_or_foreign_entry_is_ignored(tmp_path, monkeypatch):
    monkeypatch.setenv(native_store.CACHE_ENV, str(tmp_path))
    data = {"x": np.ones(3)}
    key = native_store.entry_key("test-bad-entry", data)
    assert native_store.load_model(key, data) is None  # no entry
    native_store.save_entry(key, {"digest": "0" * 24})  # callbacks missing, fields missing
    assert native_store.load_model(key, data) is None
    path = native_store.cache_dir() / f"bs_model_{key}.json"
    path.write_text("{not json")
    assert native_store.load_model(key, data) is None
    path.write_text(json.dumps({"version": "0"}))
    assert native_store.load_model(key, data) is None


def test_the_entry_key_follows_recipe_data_layout_and_versions(monkeypatch):
    data = {"N": np.ones(4), "loss": np.ones(4)}
    key = native_store.entry_key("recipe", data)
    assert native_store.entry_key("recipe", dict(data)) == key
    assert native_store.entry_key("recipe2", data) != key
    assert native_store.entry_key("recipe", {"N": np.ones(5), "loss": np.ones(5)}) != key
    assert native_store.entry_key("recipe", {"N": np.ones(4, "f4"), "loss": np.ones(4)}) != key
    assert native_store.entry_key("recipe", {"N": 2 * np.ones(4), "loss": np.ones(4)}) == key
    real = native_store.metadata.version
    for package in ("pymc", "nutpie", "numba"):
        with monkeypatch.context() as patch:
            patch.setattr(
                native_store.metadata,
                "version",
                lambda name, p=package: real(name) + (".post1" if name == p else ""),
            )
            assert native_store.entry_key("recipe", data) != key, package


def test_the_jittered_start_draws_one_stream_per_variable_in_the_given_order():
    start = native_store.JitteredStart((0.0, 1.0, 2.0), (1, 2), (1, 0))
    draws = start.jitter(7)
    assert [d.size for d in draws] == [2, 1]  # stream 0 feeds the second variable (2 values)
    x = start(7)
    assert np.array_equal(x, np.array([0.0, 1.0, 2.0]) + np.concatenate([draws[1], draws[0]]))
    assert np.all(np.abs(x - np.array([0.0, 1.0, 2.0])) <= 1.0)
    assert native_store.stream_order((0.0, 1.0, 2.0), (1, 2), x, 7) == (1, 0)
    with pytest.raises(ValueError, match="no jitter stream"):
        native_store.stream_order((0.0, 1.0, 2.0), (1, 2), x + 1e-9, 7)


@pytest.mark.model
def test_a_new_process_fits_from_the_entry_without_pymc_scipy_stats_or_plotting():
    runs, law, settings, plans, pooling, refs = _prepared(seed=3)
    sampling.compiled_model(law, runs, plans, settings.priors, settings.likelihood, refs, pooling)
    script = textwrap.dedent(
        f"""
        import sys
        from bayes_scaling.inference import diagnostics, sampling
        from bayes_scaling.inference.settings import FitSettings
        from bayes_scaling.inputs import datasets
        runs, law, settings, plans, pooling, refs = sampling.prepare(
            datasets.chinchilla_like(seed=3), law={LAW!r}, settings=FitSettings(seed=1)
        )
        compiled, reused = sampling.compiled_model(
            law, runs, plans, settings.priors, settings.likelihood, refs, pooling
        )
        small = FitSettings(seed=1, draws=100, tune=100, chains=2)
        tree = sampling.run_nutpie(
            compiled, settings=small, adaptation="low_rank", seed=1, progress=False
        )
        checks = diagnostics.compute(tree, var_names=list(tree["posterior"].data_vars))
        heavy = ("pymc", "arviz_stats", "arviz_plots", "matplotlib", "scipy.stats")
        print(type(compiled).__name__, compiled.logp_func is None, checks.min_ess_bulk > 0,
              *sorted(m for m in heavy if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["_TableModel", "True", "True"], out.stderr[-2000:]


def test_no_cache_folder_means_no_entry(monkeypatch):
    def nowhere():
        raise RuntimeError("no home folder")

    monkeypatch.setattr(native_store, "cache_dir", nowhere)
    assert native_store.load_model("any", {"x": np.ones(2)}) is None


def test_only_the_most_recently_used_entries_are_kept(tmp_path, monkeypatch):
    import os

    monkeypatch.setenv(native_store.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(native_store, "MAX_ENTRIES", 2)
    for i, key in enumerate(("first", "second", "third")):
        native_store.save_entry(key, {"digest": key})
        path = native_store.cache_dir() / f"bs_model_{key}.json"
        os.utime(path, (1_000_000 + i, 1_000_000 + i))  # distinct ages, oldest first
    kept = sorted(p.stem for p in native_store.cache_dir().glob("bs_model_*.json"))
    assert kept == ["bs_model_second", "bs_model_third"]
