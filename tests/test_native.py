"""Cacheable sampler callbacks: nutpie's draws (with PyTensor's loops; with the vectorised
loops, the same posterior), and a cache that a new process hits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from bayes_scaling.inputs import datasets
from bayes_scaling.inputs.laws import get_law
from bayes_scaling.model import vector_loop
from bayes_scaling.model.graph import build_model, model_data
from bayes_scaling.model.native import cache_dir, compile_model
from bayes_scaling.model.plans import references

LAW = "power_law:N"


@pytest.fixture(scope="module")
def setup():
    import nutpie

    runs = datasets.kaplan_like(seed=0)
    law = get_law(LAW)
    refs = references(law, runs)
    model = build_model(law, runs, likelihood="student_t", refs=refs)
    data = model_data(law, runs, refs, None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(vector_loop.ENV_SWITCH, "0")  # nutpie compiles with PyTensor's loops
        ours = compile_model(model)
    return {
        "ours": ours,
        "vector": compile_model(model),
        "nutpie": nutpie.compile_pymc_model(model),
        "data": data,
    }


def _draws(compiled, seed=5):
    import nutpie

    tree = nutpie.sample(
        compiled, draws=60, tune=80, chains=2, cores=1, seed=seed, progress_bar=False
    )
    post = tree["posterior"]
    return np.stack([post[name].values for name in sorted(post.data_vars)])


def test_same_draws_as_nutpies_own_compile(setup):
    assert np.array_equal(_draws(setup["ours"]), _draws(setup["nutpie"]))


def test_vectorised_loops_give_nutpies_log_density_and_gradient(setup):
    """Rounding differs (so individual draws may too); the sampled density is the same."""
    vector, theirs = setup["vector"], setup["nutpie"]
    ops = [type(node.op).__name__ for node in vector.logp_func.maker.fgraph.toposort()]
    assert "VectorLoop" in ops
    rng = np.random.default_rng(2)
    for _ in range(5):
        x = rng.normal(0.0, 0.5, vector.n_dim)
        for got, want in zip(vector.logp_func(x), theirs.logp_func(x), strict=True):
            assert np.allclose(got, want, rtol=1e-11, atol=1e-11)


def test_with_data_matches_nutpie_and_leaves_the_original_alone(setup):
    half = {k: (v[::2] if np.ndim(v) else v) for k, v in setup["data"].items()}
    half = {
        k: v for k, v in half.items() if k in {var.name for var in setup["ours"].shared_var_keys}
    }
    ours = setup["ours"].with_data(**half)
    assert np.array_equal(_draws(ours), _draws(setup["nutpie"].with_data(**half)))
    sizes = {np.asarray(v).size for v in setup["ours"].shared_data.values()}
    assert max(sizes) == max(np.size(v) for v in setup["data"].values())


def test_with_data_rejects_unknown_names_and_ranks(setup):
    with pytest.raises(KeyError, match="Unknown shared variable"):
        setup["ours"].with_data(nonsense=np.ones(3))
    name = next(var.name for var in setup["ours"].shared_var_keys if var.ndim == 1)
    with pytest.raises(ValueError, match="rank"):
        setup["ours"].with_data(**{name: np.ones((2, 2))})


def test_a_new_process_loads_the_callbacks_from_the_cache(setup):
    """The point of the module: the second process does not compile the callbacks again."""
    script = textwrap.dedent(
        f"""
        from bayes_scaling.inputs import datasets
        from bayes_scaling.inputs.laws import get_law
        from bayes_scaling.model.graph import build_model
        from bayes_scaling.model.plans import references
        from bayes_scaling.model.native import compile_model
        runs = datasets.kaplan_like(seed=0)
        law = get_law({LAW!r})
        model = build_model(law, runs, likelihood="student_t", refs=references(law, runs))
        compile_model(model)
        """
    )
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    loaded = [line for line in out.stdout.splitlines() if "data loaded" in line]
    ours = [line for line in loaded if str(cache_dir()) in line]
    assert len(ours) == 2, out.stdout[-2000:]  # the log-density and the expansion callbacks
    assert "compiling with nutpie" not in out.stderr
