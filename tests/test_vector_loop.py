"""The loop over runs as vectorisable numba code: the same log-density and gradient as
PyTensor's own loop, for every likelihood and for laws of other inputs; loops it cannot take are
left to PyTensor; any failure keeps PyTensor's loop."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.inference.sampling import prepare
from bayes_scaling.inference.settings import FitSettings
from bayes_scaling.inputs import datasets
from bayes_scaling.model import vector_loop
from bayes_scaling.model.graph import build_model

pytestmark = pytest.mark.model


def _functions(model):
    import pytensor

    logp = model.logp()
    outputs = [logp, *pytensor.grad(logp, model.value_vars)]
    plain = pytensor.function(model.value_vars, outputs, mode="NUMBA")
    vector = pytensor.function(model.value_vars, outputs, mode=vector_loop.numba_mode())
    return plain, vector


def _points(model, n=4):
    """The initial point (finite log-density), then ``n - 1`` points around it."""
    point = model.initial_point()
    rng = np.random.default_rng(7)
    for i in range(n):
        yield [
            point[v.name] + (0.3 if i else 0.0) * rng.standard_normal(np.shape(point[v.name]))
            for v in model.value_vars
        ]


def _assert_agree(model, plain, vector, n=4):
    for i, args in enumerate(_points(model, n)):
        want = plain(*args)
        assert i or np.isfinite(want[0])  # the initial point has a finite log-density
        for got, expected in zip(vector(*args), want, strict=True):
            assert np.allclose(got, expected, rtol=1e-11, atol=1e-11, equal_nan=True)


def _op_names(fn):
    return [type(node.op).__name__ for node in fn.maker.fgraph.toposort()]


def _model(runs, law, **settings):
    runs, law, settings, plans, pooling, refs = prepare(
        runs, law=law, settings=FitSettings(**settings)
    )
    return build_model(
        law,
        runs,
        priors=settings.priors,
        likelihood=settings.likelihood,
        refs=refs,
        pooling=pooling,
    )


CASES = {
    "chinchilla, Student-t": (lambda: datasets.chinchilla_like(seed=0), "chinchilla", {}),
    "chinchilla, normal": (
        lambda: datasets.chinchilla_like(seed=1),
        "chinchilla",
        {"likelihood": "normal"},
    ),
    "power law in N": (lambda: datasets.kaplan_like(seed=0), "power_law:N", {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_same_log_density_and_gradient_as_pytensors_loop(case):
    make_runs, law, settings = CASES[case]
    model = _model(make_runs(), law, **settings)
    plain, vector = _functions(model)
    assert "VectorLoop" in _op_names(vector)
    assert "VectorLoop" not in _op_names(plain)
    _assert_agree(model, plain, vector)


def test_a_law_with_a_data_power_and_a_log():
    rng = np.random.default_rng(0)
    n = 60
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e9), n))
    lr = np.exp(rng.uniform(np.log(1e-4), np.log(1e-2), n))
    loss = 2.0 + 300 * N**-0.3 + 0.05 * np.log(lr / 1e-3) ** 2
    loss = loss * np.exp(0.01 * rng.standard_normal(n))
    import pandas as pd

    from bayes_scaling.inputs.laws import Law

    law = Law.from_formula("E + A * N**(-alpha) + c * log(lr / lr_opt)**2", inputs=["lr"])
    model = _model(pd.DataFrame({"N": N, "lr": lr, "loss": loss}), law)
    plain, vector = _functions(model)
    assert "VectorLoop" in _op_names(vector)
    _assert_agree(model, plain, vector)


def test_a_pooled_model_keeps_pytensors_indexed_loop_and_its_values():
    from tests.test_pooling import grouped_runs

    runs, _ = grouped_runs(n_groups=3, n_per=8)
    model = _model(runs, "chinchilla", vary=("E",))
    plain, vector = _functions(model)
    _assert_agree(model, plain, vector, n=2)


def test_any_failure_keeps_pytensors_loop(monkeypatch):
    def broken(node):
        raise RuntimeError("changed internals")

    monkeypatch.setattr(vector_loop, "_plan", broken)
    model = _model(datasets.kaplan_like(seed=0), "power_law:N")
    plain, vector = _functions(model)
    assert "VectorLoop" not in _op_names(vector)
    args = next(_points(model))
    assert all(np.array_equal(a, b) for a, b in zip(vector(*args), plain(*args), strict=True))


def test_mode_falls_back_to_plain_numba_when_registration_fails(monkeypatch):
    def broken():
        raise ImportError("no such PyTensor module")

    monkeypatch.setattr(vector_loop, "_register", broken)
    assert vector_loop.numba_mode() == "NUMBA"


def test_unsupported_operations_are_not_vectorised():
    import pytensor.scalar as ps

    x, y = ps.float64("x"), ps.float64("y")
    assert vector_loop.body_lines(ps.Composite([x, y], [ps.exp(x) * y + 2.0])) is not None
    assert vector_loop.body_lines(ps.Composite([x, y], [ps.tanh(x) + y])) is None
    assert vector_loop.body_lines(ps.Composite([x, y], [ps.sigmoid(x) * y])) is None


def test_generated_loop_reads_scalars_broadcasts_and_checks_lengths():
    import numba

    plan = {
        "reads": ["scalar", "0d", "broadcast", "run", "run"],
        "writes": ["run", "scalar", "0d"],
        "body": (["t0 = (x0 * x3 + x1 * x4 + x2)", "t1 = vm_exp(t0)"], ["t1", "t0", "x3"]),
    }
    source = vector_loop.loop_source(plan)
    namespace = {"np": np, "vm_exp": np.exp}
    exec(compile(source, "<test>", "exec"), namespace)  # noqa: S102
    fn = numba.njit(namespace["vector_loop"])
    a, b = np.linspace(0, 1, 5), np.linspace(1, 2, 5)
    run, total, total_a = fn(2.0, np.array(0.5), np.array([1.5]), a, b)
    t0 = 2.0 * a + 0.5 * b + 1.5
    assert np.allclose(run, np.exp(t0)) and np.isclose(total, t0.sum())
    assert total_a.shape == () and np.isclose(total_a[()], a.sum())
    with pytest.raises(ValueError, match="runs differ"):
        fn(2.0, np.array(0.5), np.array([1.5]), a, b[:3])
