"""The fence around the cached-callback compile: any failure of the private APIs it uses falls
back to nutpie's own compile (one warning, same draws: compared here with the vectorised loops
switched off, which only change rounding, see tests/test_vector_loop.py),
``BAYES_SCALING_NATIVE=0`` switches it off, and the cache key follows the dependency versions."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from bayes_scaling.model import native, vector_loop
from bayes_scaling.model import native_store as store


@pytest.fixture(autouse=True)
def _native_on(monkeypatch):
    monkeypatch.delenv(native.ENV_SWITCH, raising=False)


@pytest.fixture(scope="module")
def tiny():
    """Two free parameters and two data arrays (``pm.Data``), so the address table is used."""
    import pymc as pm

    rng = np.random.default_rng(0)
    x = np.linspace(0.0, 1.0, 20)
    y = 0.5 + 2.0 * x + rng.normal(0.0, 0.3, x.size)
    with pm.Model() as model:
        x_data = pm.Data("x", x)
        y_data = pm.Data("y", y)
        slope = pm.Normal("slope", 0.0, 5.0)
        sigma = pm.HalfNormal("sigma", 1.0)
        pm.Normal("obs", 0.5 + slope * x_data, sigma, observed=y_data)
    return model


@pytest.fixture(scope="module")
def fast(tiny):
    with pytest.MonkeyPatch.context() as patch, warnings.catch_warnings():
        patch.delenv(native.ENV_SWITCH, raising=False)
        patch.setenv(vector_loop.ENV_SWITCH, "0")  # nutpie's own compile has PyTensor's loops
        warnings.simplefilter("error", native.NativeCompileWarning)
        compiled = native.compile_model(tiny)
    assert isinstance(compiled, store.table_model_class())
    return compiled


def _compile(model):
    """``compile_model(model)`` and the NativeCompileWarnings it emitted."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled = native.compile_model(model)
    return compiled, [w for w in caught if issubclass(w.category, native.NativeCompileWarning)]


def _draws(compiled, seed=3):
    import nutpie

    tree = nutpie.sample(
        compiled, draws=50, tune=50, chains=2, cores=1, seed=seed, progress_bar=False
    )
    post = tree["posterior"]
    return np.stack([post[name].values for name in sorted(post.data_vars)])


def _is_nutpies_own(compiled):
    from nutpie.compile_pymc import CompiledPyMCModel

    return type(compiled) is CompiledPyMCModel


@pytest.mark.model
def test_a_changed_private_signature_falls_back_with_one_warning(tiny, monkeypatch):
    def changed(model):
        raise TypeError("changed signature")

    monkeypatch.setattr(native, "_compile_cached", changed)
    compiled, caught = _compile(tiny)
    assert _is_nutpies_own(compiled)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "TypeError: changed signature" in message
    assert "unaffected" in message and "slower" in message
    draws = _draws(compiled)
    assert draws.shape == (2, 2, 50) and np.all(np.isfinite(draws))


@pytest.mark.model
def test_a_new_required_argument_of_nutpies_private_function_falls_back(tiny, monkeypatch):
    """``_make_functions`` grows a required argument: nutpie passes it, the fast path cannot."""
    import nutpie.compile_pymc as npc

    original = npc._make_functions

    def changed(model, *, var_names, **kwargs):
        return original(model, var_names=var_names, **kwargs)

    monkeypatch.setattr(npc, "_make_functions", changed)
    compiled, caught = _compile(tiny)
    assert _is_nutpies_own(compiled)
    assert len(caught) == 1 and "TypeError" in str(caught[0].message)
    assert "var_names" in str(caught[0].message)


@pytest.mark.model
def test_the_switch_uses_nutpie_without_a_warning(tiny, monkeypatch):
    def unreachable(model):
        raise AssertionError("the fast path was tried")

    monkeypatch.setattr(native, "_compile_cached", unreachable)
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    assert not native.native_enabled()
    compiled, caught = _compile(tiny)
    assert _is_nutpies_own(compiled)
    assert caught == []


def test_the_switch_reads_the_environment(monkeypatch):
    assert native.native_enabled()
    for off in ("0", "false", "No", " off "):
        monkeypatch.setenv(native.ENV_SWITCH, off)
        assert not native.native_enabled()
    monkeypatch.setenv(native.ENV_SWITCH, "1")
    assert native.native_enabled()


def test_the_cache_key_follows_the_dependency_versions(monkeypatch):
    parts = ["logp-hash", "expand-hash", "0:<f8:1", "2:3"]
    real = store.metadata.version
    before = native._digest(parts)
    assert native._digest(parts) == before
    for package in ("nutpie", "numba", "pytensor"):
        bumped = {package: real(package) + ".post1"}
        with monkeypatch.context() as patch:
            patch.setattr(
                store.metadata, "version", lambda name, b=bumped: b.get(name) or real(name)
            )
            assert native._digest(parts) != before, package
    with monkeypatch.context() as patch:
        patch.setattr(native, "_TEMPLATE_VERSION", native._TEMPLATE_VERSION + "x")
        assert native._digest(parts) != before
    assert native._digest(parts) == before


@pytest.mark.model
def test_the_generated_sources_are_named_by_the_versioned_key(fast):
    names = {p.stem for p in native.cache_dir().glob("bs_*.py")}
    digests = {name.rsplit("_", 1)[1] for name in names}
    logp_file = fast.compiled_logp_func._pyfunc.__module__
    assert logp_file.startswith("bs_logp_") and logp_file.rsplit("_", 1)[1] in digests


@pytest.mark.model
def test_fast_path_and_fallback_give_the_same_draws(tiny, fast, monkeypatch):
    monkeypatch.setenv(native.ENV_SWITCH, "0")
    fallback, _ = _compile(tiny)
    assert _is_nutpies_own(fallback)
    assert np.array_equal(_draws(fast), _draws(fallback))
    half = {"x": np.linspace(0.0, 1.0, 10), "y": np.linspace(0.4, 2.6, 10)}
    assert np.array_equal(_draws(fast.with_data(**half)), _draws(fallback.with_data(**half)))


@pytest.mark.model
def test_with_data_failing_inside_raises_a_clear_error(fast, monkeypatch):
    def broken(*args):
        raise TypeError("table layout changed")

    monkeypatch.setattr(store, "address_table", broken)
    with pytest.raises(native.NativeModelError, match=native.ENV_SWITCH):
        fast.with_data(x=np.ones(20))
    with pytest.raises(ValueError, match="rank"):  # user errors stay as they were
        fast.with_data(x=np.ones((2, 2)))
    with pytest.raises(KeyError, match="Unknown shared variable"):
        fast.with_data(nonsense=np.ones(3))
