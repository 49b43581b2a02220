"""The safe formula compiler: numpy and pytensor results, programs of terms, and rejections."""

from __future__ import annotations

import copy
import pickle
import re
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from bayes_scaling.core.errors import FormulaError
from bayes_scaling.inputs.formula import (
    ALLOWED_FUNCTIONS,
    Formula,
    Program,
    parse_formula,
    parse_program,
)

MODELS = Path(__file__).resolve().parents[1] / "models"


@pytest.fixture
def values() -> dict[str, np.ndarray | float]:
    rng = np.random.default_rng(0)
    return {
        "N": 10 ** rng.uniform(6, 10, size=40),
        "D": 10 ** rng.uniform(8, 12, size=40),
        "U": 10 ** rng.uniform(8, 11, size=40),
        "M": 10 ** rng.uniform(6, 10, size=40),
        "E": 1.7,
        "A": 400.0,
        "B": 410.0,
        "alpha": 0.34,
        "beta": 0.28,
        "R": 15.0,
        "a": 2.0,
        "b": -3.0,
    }


def pytensor_value(expr, values):
    """Evaluate a Formula/Program with pytensor (fast-compile mode keeps the tests quick)."""
    import pytensor

    out = expr.pytensor(values)
    return pytensor.function([], out, mode="FAST_COMPILE")()


# (text, hand-written numpy version)
CASES = [
    (
        "E + A / N**alpha + B / D**beta",
        lambda v: v["E"] + v["A"] / v["N"] ** v["alpha"] + v["B"] / v["D"] ** v["beta"],
    ),
    ("where(D > U, a, b)", lambda v: np.where(v["D"] > v["U"], v["a"], v["b"])),
    ("where(D >= U, D, U)", lambda v: np.where(v["D"] >= v["U"], v["D"], v["U"])),
    (
        "where(D < U, 1, 0) + where(N <= M, 2, 0)",
        lambda v: (v["D"] < v["U"]) + 2 * (v["N"] <= v["M"]),
    ),
    ("min(N, M)", lambda v: np.minimum(v["N"], v["M"])),
    ("max(N, M, D / 100)", lambda v: np.maximum(np.maximum(v["N"], v["M"]), v["D"] / 100)),
    (
        "minimum(N, 1e8) + maximum(M, 1e8)",
        lambda v: np.minimum(v["N"], 1e8) + np.maximum(v["M"], 1e8),
    ),
    (
        "exp(-alpha * log(N)) * sqrt(D)",
        lambda v: np.exp(-v["alpha"] * np.log(v["N"])) * np.sqrt(v["D"]),
    ),
    ("log10(N) - abs(b) + +a", lambda v: np.log10(v["N"]) - abs(v["b"]) + v["a"]),
    ("-a**2", lambda v: -(v["a"] ** 2)),
    ("2**-alpha**2", lambda v: 2.0 ** -(v["alpha"] ** 2)),
    ("(N / M)**(1 / 3) - 7", lambda v: np.cbrt(v["N"] / v["M"]) - 7),
    ("3", lambda v: 3.0),
]


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_numpy_matches_hand_written(text, expected, values):
    result = parse_formula(text).numpy(values)
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, expected(values), rtol=1e-12)


@pytest.mark.parametrize(("text", "expected"), CASES, ids=[c[0] for c in CASES])
def test_pytensor_matches_numpy(text, expected, values):
    formula = parse_formula(text)
    np.testing.assert_allclose(pytensor_value(formula, values), formula.numpy(values), rtol=1e-10)


def test_free_names_exclude_functions():
    formula = parse_formula("E + A * exp(-alpha * log(N)) + where(D > U, 0, min(a, b))")
    assert formula.names == {"E", "A", "alpha", "N", "D", "U", "a", "b"}
    assert formula.text == "E + A * exp(-alpha * log(N)) + where(D > U, 0, min(a, b))"


def test_broadcasting_and_integer_inputs():
    formula = parse_formula("E + A / N**alpha")
    n = np.array([1, 10, 100])  # integers: negative powers must still work
    alpha = np.array([[0.5], [1.0]])
    out = formula.numpy({"E": 1, "A": 2, "N": n, "alpha": alpha})
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, 1 + 2 / n.astype(float) ** alpha)
    assert parse_formula("N**-1").numpy({"N": n}).tolist() == [1.0, 0.1, 0.01]


def test_numpy_ignores_floating_point_warnings():
    with np.errstate(all="raise"):
        out = parse_formula("log(x) + 1 / x + sqrt(-1 - x) + exp(1000 * x)").numpy({"x": 0.0})
    assert np.isnan(out)


def test_inputs_are_not_mutated(values):
    before = {k: np.copy(v) for k, v in values.items()}
    keys = list(values)
    parse_formula("E + A / N**alpha").numpy(values)
    parse_program("D_eff", terms={"D_eff": "U * R"}).numpy(values)
    assert list(values) == keys
    for k, v in values.items():
        np.testing.assert_array_equal(v, before[k])


def test_pytensor_with_symbolic_inputs():
    import pytensor
    import pytensor.tensor as pt

    n = pt.vector("n")
    k = pt.lvector("k")  # integer input is cast to float
    out = parse_formula("2 / N**alpha + K**-1").pytensor({"N": n, "alpha": 0.5, "K": k})
    fn = pytensor.function([n, k], out, mode="FAST_COMPILE")
    np.testing.assert_allclose(fn([1.0, 4.0], [2, 4]), [2.5, 1.25])
    assert isinstance(parse_formula("3").pytensor({}), pt.TensorVariable)


# ------------------------------------------------------------------ programs


def data_constrained_terms() -> dict[str, str]:
    return {"R_D": "maximum(D / U - 1, 0)", "D_eff": "U + U * R * (1 - exp(-R_D / R))"}


def test_program_matches_hand_written(values):
    program = parse_program("E + A / N**alpha + B / D_eff**beta", terms=data_constrained_terms())
    v = values
    r_d = np.maximum(v["D"] / v["U"] - 1, 0)
    d_eff = v["U"] + v["U"] * v["R"] * (1 - np.exp(-r_d / v["R"]))
    expected = v["E"] + v["A"] / v["N"] ** v["alpha"] + v["B"] / d_eff ** v["beta"]
    np.testing.assert_allclose(program.numpy(values), expected, rtol=1e-12)
    np.testing.assert_allclose(pytensor_value(program, values), expected, rtol=1e-10)
    assert program.names == {"E", "A", "N", "alpha", "B", "beta", "D", "U", "R"}
    assert [name for name, _ in program.terms] == ["R_D", "D_eff"]
    assert isinstance(program.result, Formula)
    assert isinstance(program, Program)


def test_program_without_terms_and_allowed_names(values):
    program = parse_program("a * b", allowed_names=["a", "b", "c"])
    assert program.terms == ()
    assert program.numpy(values) == pytest.approx(-6.0)


def test_program_allowed_names_include_earlier_terms():
    allowed = ["D", "U", "R", "E", "A", "N", "alpha", "B", "beta"]
    program = parse_program(
        "E + B / D_eff**beta", terms=data_constrained_terms(), allowed_names=allowed
    )
    assert program.names == {"E", "B", "beta", "D", "U", "R"}
    with pytest.raises(FormulaError, match=r"term D_eff.*unknown name\(s\) Q"):
        parse_program("D_eff", terms={"R_D": "D / U", "D_eff": "Q * R_D"}, allowed_names=allowed)


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ({"X": "Y + 1", "Y": "a"}, r"term X.*uses Y.*not defined before"),
        ({"X": "X + 1"}, r"term X.*uses X"),
        ({"exp": "a"}, r"shadows the function"),
        ({"1x": "a"}, r"not a valid identifier"),
        ({"lambda": "a"}, r"not a valid identifier"),
        ({"a": "b + 1"}, r"shadows an input or parameter"),
        ({"X": "a.b"}, r"term X.*attribute access"),
    ],
)
def test_program_term_errors(terms, message):
    with pytest.raises(FormulaError, match=message):
        parse_program("a", terms=terms, allowed_names=["a", "b"])


def test_program_missing_value():
    program = parse_program("X * c", terms={"X": "a + b"})
    with pytest.raises(FormulaError, match=r"needs a value for b, c"):
        program.numpy({"a": 1.0})


def test_builtin_law_formulas_parse():
    specs = [tomllib.loads(p.read_text()) for p in sorted(MODELS.glob("*.toml"))]
    if not specs:
        pytest.skip("no models/*.toml")
    for spec in specs:
        program = parse_program(spec["formula"], terms=spec.get("terms") or None)
        assert program.names


def test_large_arrays_are_fast():
    rng = np.random.default_rng(1)
    shape_draws, shape_points = (4000, 1), (1, 200)
    values = {
        "E": rng.uniform(1, 2, shape_draws),
        "A": rng.uniform(100, 500, shape_draws),
        "B": rng.uniform(100, 500, shape_draws),
        "alpha": rng.uniform(0.2, 0.4, shape_draws),
        "beta": rng.uniform(0.2, 0.4, shape_draws),
        "R": rng.uniform(5, 20, shape_draws),
        "N": 10 ** rng.uniform(6, 10, shape_points),
        "D": 10 ** rng.uniform(8, 12, shape_points),
        "U": 10 ** rng.uniform(8, 11, shape_points),
    }
    program = parse_program("E + A / N**alpha + B / D_eff**beta", terms=data_constrained_terms())
    start = time.perf_counter()
    out = program.numpy(values)
    assert out.shape == (4000, 200)
    assert time.perf_counter() - start < 2.0


def test_pickle_and_copy_keep_behaviour(values):
    formula = parse_formula("E + A / N**alpha")
    program = parse_program("E + B / D_eff**beta", terms=data_constrained_terms())
    for obj in (formula, program):
        for clone in (pickle.loads(pickle.dumps(obj)), copy.deepcopy(obj)):
            assert clone == obj
            np.testing.assert_array_equal(clone.numpy(values), obj.numpy(values))
    assert hash(formula) == hash(parse_formula("E + A / N**alpha"))


# ------------------------------------------------------------------ rejections

REJECTED = [
    ("__import__('os')", "__import__('os')", "unknown function"),
    ("__import__('os').system('ls')", "__import__('os').system('ls')", "call of something"),
    ("a.b", "a.b", "attribute access"),
    ("x[0]", "x[0]", "indexing"),
    ("lambda: 1", "lambda: 1", "lambda"),
    ("'s'", "'s'", "string"),
    ("a + 's'", "'s'", "string"),
    ("a if b else c", "a if b else c", "conditional expression"),
    ("a ^ b", "a ^ b", r"\*\*"),
    ("a // b", "a // b", "'//'"),
    ("a % b", "a % b", "'%'"),
    ("a & b", "a & b", "'&'"),
    ("~a", "~a", "'~'"),
    ("a and b", "a and b", "boolean"),
    ("not a", "not a", "'not'"),
    ("f(x)", "f(x)", "unknown function 'f'"),
    ("exp(x=1)", "exp(x=1)", "keyword"),
    ("exp(*a)", "*a", "unpacking"),
    ("[x for x in a]", "[x for x in a]", "comprehension"),
    ("(a, b)", "(a, b)", "tuple"),
    ("True + a", "True", "constant True"),
    ("1j * a", "1j", "constant 1j"),
    ("a < b", "a < b", "comparison outside"),
    ("where(a == b, 1, 2)", "a == b", "'=='"),
    ("where(0 < a < 1, 1, 2)", "0 < a < 1", "chained"),
    ("exp + 1", "exp", "function name 'exp'"),
    ("log(a, b)", "log(a, b)", "takes 1"),
    ("min(a)", "min(a)", "at least 2"),
    ("maximum(a, b, c)", "maximum(a, b, c)", "takes 2"),
    ("where(a, b)", "where(a, b)", "takes 3"),
    ("(x := 1)", "x := 1", "assignment"),
    ("1e999 * a", "1e999", "too large"),
]


@pytest.mark.parametrize(("text", "segment", "reason"), REJECTED, ids=[r[0] for r in REJECTED])
def test_disallowed_constructs_are_rejected(text, segment, reason):
    with pytest.raises(FormulaError) as info:
        parse_formula(text)
    message = str(info.value)
    assert repr(text) in message  # the full text
    assert repr(segment) in message  # the offending part
    assert "allowed are" in message and "exp" in message
    assert re.search(reason, message)


def test_caret_suggests_power():
    with pytest.raises(FormulaError, match=r"write powers as a \*\* b"):
        parse_formula("N ^ alpha")


@pytest.mark.parametrize(
    ("text", "where"),
    [("a +", "at the end"), ("a b", "at column 3"), ("(a", "column 1"), ("  a + * b", "column 7")],
)
def test_syntax_errors_quote_text_and_position(text, where):
    with pytest.raises(FormulaError, match="does not parse") as info:
        parse_formula(text)
    assert repr(text) in str(info.value)
    assert where in str(info.value)


@pytest.mark.parametrize("text", ["", "   ", None, 3])
def test_empty_or_non_string(text):
    with pytest.raises(FormulaError):
        parse_formula(text)


def test_unknown_names_are_listed():
    with pytest.raises(FormulaError) as info:
        parse_formula("E + A / N**a + Q", allowed_names=["E", "A", "N", "alpha"])
    message = str(info.value)
    assert "unknown name(s) Q, a" in message
    assert "allowed names: E, A, N, alpha" in message
    assert parse_formula("E * N", allowed_names=("E", "N", "D")).names == {"E", "N"}


def test_missing_value_is_named():
    formula = parse_formula("E + A / N**alpha")
    with pytest.raises(FormulaError, match=r"needs a value for A, alpha"):
        formula.numpy({"E": 1.0, "N": 2.0})
    with pytest.raises(FormulaError, match=r"needs a value for A, alpha"):
        formula.pytensor({"E": 1.0, "N": 2.0})


def test_non_numeric_value():
    with pytest.raises(FormulaError, match="'x' is not numeric"):
        parse_formula("x + 1").numpy({"x": "abc"})


def test_allowed_functions_constant():
    assert set(ALLOWED_FUNCTIONS) == {
        "exp", "log", "log10", "sqrt", "min", "max", "minimum", "maximum", "where", "abs",
        "boxcox",
    }  # fmt: skip


@pytest.mark.parametrize("g", [-1.3, -0.2, 0.05, 0.7, 2.0])
def test_boxcox_matches_its_definition(g):
    x = np.geomspace(1e-3, 1e3, 13)
    got = parse_formula("boxcox(x, g)").numpy({"x": x, "g": g})
    np.testing.assert_allclose(got, (x**g - 1) / g, rtol=1e-12)


def test_boxcox_is_log_at_zero_and_smooth_across_it():
    x = np.geomspace(1e-3, 1e3, 12)  # not 1, where the reference below is 0 / 0
    formula = parse_formula("boxcox(x, g)")
    np.testing.assert_allclose(formula.numpy({"x": x, "g": 0.0}), np.log(x), rtol=1e-15)
    # the series and the closed form agree on both sides of the switch (|g log x| = 1e-6)
    for g in (1e-6 / np.log(1e3) * 0.999, 1e-6 / np.log(1e3) * 1.001, -1e-9, 1e-3):
        want = np.log(x) * np.array([np.expm1(g * v) / (g * v) for v in np.log(x)])
        np.testing.assert_allclose(formula.numpy({"x": x, "g": g}), want, rtol=1e-14)


def test_boxcox_pytensor_value_and_gradient_at_zero():
    import pytensor
    import pytensor.tensor as pt

    g = pt.dscalar("g")
    x = np.array([0.01, 0.5, 2.0, 300.0])
    out = parse_formula("boxcox(x, g)").pytensor({"x": x, "g": g})
    grad = pytensor.grad(out.sum(), g)
    fn = pytensor.function([g], [out, grad])
    value, slope = fn(0.0)
    np.testing.assert_allclose(value, np.log(x), rtol=1e-15)
    # d/dg (x**g - 1) / g at g = 0 is log(x)**2 / 2
    assert np.isfinite(slope)
    np.testing.assert_allclose(slope, np.sum(np.log(x) ** 2) / 2, rtol=1e-12)
    value, slope = fn(0.4)
    np.testing.assert_allclose(value, (x**0.4 - 1) / 0.4, rtol=1e-12)
    want = np.sum((x**0.4 * np.log(x) * 0.4 - (x**0.4 - 1)) / 0.4**2)
    np.testing.assert_allclose(slope, want, rtol=1e-10)
