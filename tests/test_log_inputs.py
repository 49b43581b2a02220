"""Powers of positive inputs as exp(e * log x): same log-density, no pow of data left."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.inputs import datasets
from bayes_scaling.inputs.laws import Law, get_law
from bayes_scaling.inputs.runs import load_runs
from bayes_scaling.model import log_inputs
from bayes_scaling.model.graph import build_model, model_data
from bayes_scaling.model.plans import references


def _runs(n=40, seed=0):
    rng = np.random.default_rng(seed)
    N = np.exp(rng.uniform(np.log(1e7), np.log(1e10), n))
    D = N * np.exp(rng.uniform(np.log(5.0), np.log(100.0), n))
    return datasets.simulate(
        "chinchilla", datasets.CHINCHILLA_TRUTH, {"N": N, "D": D}, sigma=0.01, seed=seed
    )


def _logp_and_grad(model):
    import pytensor

    value_vars = model.value_vars
    logp = model.logp()
    fn = pytensor.function(value_vars, [logp, *pytensor.grad(logp, value_vars)])
    point = model.initial_point()
    rng = np.random.default_rng(3)
    args = [point[v.name] + 0.2 * rng.standard_normal(np.shape(point[v.name])) for v in value_vars]
    return [np.asarray(x) for x in fn(*args)]


def _pow_nodes_on_data(model, names):
    from pytensor.graph.traversal import applys_between
    from pytensor.scalar.basic import Pow
    from pytensor.tensor.elemwise import Elemwise

    (observed,) = model.observed_RVs
    found = []
    for node in applys_between([], [observed]):
        if isinstance(node.op, Elemwise) and isinstance(node.op.scalar_op, Pow):
            base = node.inputs[0]
            if getattr(base, "name", None) in names:
                found.append(base.name)
    return found


@pytest.mark.parametrize("law_name", ["chinchilla", "power_law:N"])
def test_same_log_density_and_gradient_as_the_powers(law_name, monkeypatch):
    runs = _runs()
    law = get_law(law_name)
    refs = references(law, runs)
    rewritten = build_model(law, runs, refs=refs)
    assert _pow_nodes_on_data(rewritten, set(law.inputs)) == []
    monkeypatch.setattr(log_inputs, "_replace_powers", lambda expression, logs: expression)
    plain = build_model(law, runs, refs=refs)
    assert _pow_nodes_on_data(plain, set(law.inputs))  # the rewrite had something to replace
    for got, want in zip(_logp_and_grad(rewritten), _logp_and_grad(plain), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_a_failing_rewrite_falls_back_to_the_same_graph(monkeypatch):
    def broken(expression, logs):
        raise AttributeError("changed PyTensor internals")

    monkeypatch.setattr(log_inputs, "_replace_powers", broken)
    sentinel = object()
    assert log_inputs.powers_as_exp(sentinel, {"x": "log_x"}) is sentinel


def test_model_data_holds_the_logs_of_positive_inputs_only():
    law = Law.from_formula("E + A * N**(-alpha) + c * lr**2", inputs=["lr:linear,real"])
    assert log_inputs.log_input_columns(law) == ("N",)
    N = np.geomspace(1e8, 1e10, 8)
    table = {"N": N, "lr": np.linspace(-1.0, 2.0, 8), "loss": np.linspace(3.0, 2.7, 8)}
    runs = load_runs(table, schema=law.schema)
    data = model_data(law, runs, references(law, runs))
    np.testing.assert_allclose(data["log_N"], np.log(N))
    assert "log_lr" not in data
    model = build_model(law, runs, priors={"c": "Normal(0, 1)"})
    assert _pow_nodes_on_data(model, {"N"}) == []
    assert _pow_nodes_on_data(model, {"lr"}) == ["lr"]  # a real input keeps its power
