"""The law library: built-in TOML specs, binding one-input laws, custom formulas, bad specs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bayes_scaling.core.errors import FormulaError, LawError
from bayes_scaling.inputs.laws import Law, get_law, list_laws

BUILT_IN = [
    "broken_power_law",
    "chinchilla",
    "data_constrained",
    "farseer",
    "isoflop",
    "kaplan",
    "log_law",
    "lr_bs",
    "moe",
    "power_law",
    "rectified_ft",
    "vocab",
]


def test_library_lists_every_built_in_law():
    assert list_laws() == BUILT_IN


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_law_parses_describes_and_round_trips(name):
    law = get_law(name)
    text = law.describe()
    assert law.program.result.text in text and "reference:" in text
    for p in law.parameters:
        assert p.name in text and str(p.prior) in text
    again = Law.from_spec(json.loads(law.to_json()))
    assert again.param_names == law.param_names and again.input_map == law.input_map


def test_chinchilla_matches_hand_written_formula():
    law = get_law("chinchilla")
    params = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28}
    N, D = np.array([7e10, 1e9]), np.array([1.4e12, 2e10])
    expected = 1.69 + 406.4 / N**0.34 + 410.7 / D**0.28
    np.testing.assert_allclose(law.evaluate(params, {"N": N, "D": D}), expected, rtol=1e-12)
    assert law.optimum is not None and law.published["epoch2024"]["alpha"] == 0.348


def test_isoflop_is_a_parabola_in_log_n_with_its_minimum_on_the_power_law():
    law = get_law("isoflop")
    p = {"a": 0.5, "b": 0.15, "G": 0.09, "c": 0.2, "kappa": 500.0, "C0": 1e19, "Lr": 2.5, "S": 0.1}
    C = 1e20
    N_opt = 0.09 * C**0.5
    N = N_opt * np.array([0.25, 0.5, 1.0, 2.0, 4.0])
    L = law.evaluate(p, {"N": N, "C": np.full(5, C)})
    # the loss at the optimum is E + B / C^b with E = Lr - S / b and B = (S / b) C0^b
    E, B = 2.5 - 0.1 / 0.15, 0.1 / 0.15 * 1e19**0.15
    assert np.argmin(L) == 2 and L[2] == pytest.approx(E + B / C**0.15, rel=1e-12)
    np.testing.assert_allclose(L[[0, 1]], L[[4, 3]], rtol=1e-12)  # symmetric in log N
    curvature = 500.0 / C**0.2
    assert L[3] - L[2] == pytest.approx(curvature * np.log(2.0) ** 2, rel=1e-12)
    at_c0 = law.evaluate(p, {"N": 0.09 * 1e19**0.5, "C": 1e19})
    assert at_c0 == pytest.approx(2.5, rel=1e-12)
    assert law.optimum is not None and set(law.inputs) == {"N", "C"}


def test_kaplan_at_published_constants():
    law = get_law("kaplan")
    p = {"alpha_N": 0.076, "alpha_D": 0.095, "N_c": 8.8e13, "D_c": 5.4e13}
    N, D = 1e9, 1e10
    expected = ((8.8e13 / N) ** (0.076 / 0.095) + 5.4e13 / D) ** 0.095
    assert law.evaluate(p, {"N": N, "D": D}) == pytest.approx(expected, rel=1e-12)


def test_data_constrained_reduces_to_chinchilla_without_repetition():
    dc, ch = get_law("data_constrained"), get_law("chinchilla")
    p = {"E": 1.87, "A": 520.8, "B": 1487.7, "alpha": 0.3527, "beta": 0.3527}
    N, D = np.array([1e8, 5e8]), np.array([2e9, 1e10])
    # one epoch (U = D) and a model no larger than the data supports: no decay
    got = dc.evaluate({**p, "R_D_star": 15.4, "R_N_star": 5.3}, {"N": N, "D": D, "U": D * 10})
    np.testing.assert_allclose(got, ch.evaluate(p, {"N": N, "D": D}), rtol=1e-10)
    repeated = dc.evaluate({**p, "R_D_star": 15.4, "R_N_star": 5.3}, {"N": N, "D": D, "U": D / 20})
    assert np.all(repeated > got)  # 20 epochs are worth less than fresh data


@pytest.mark.parametrize("input_name", ["N", "D", "C"])
def test_one_input_law_binds_its_input(input_name):
    law = get_law(f"power_law:{input_name}")
    assert law.inputs == (input_name,)
    assert get_law("power_law").inputs == ("C",)  # default input


def test_unknown_law_lists_known():
    with pytest.raises(LawError, match=r"unknown law 'chinchila'.*chinchilla.*kaplan"):
        get_law("chinchila")


def test_bad_input_binding():
    with pytest.raises(LawError, match="cannot be bound"):
        get_law("chinchilla:N")
    with pytest.raises(LawError, match="needs its input named"):
        get_law("power_law:Q")


def test_custom_formula_law():
    law = Law.from_formula(
        "E + A * C**(-alpha)",
        priors={"E": "HalfNormal(3)", "A": "LogNormal(5, 3)", "alpha": "Gamma(2, 4)"},
    )
    assert set(law.param_names) == {"E", "A", "alpha"} and law.inputs == ("C",)
    assert law.evaluate({"E": 1, "A": 2, "alpha": 1}, {"C": 4.0}) == pytest.approx(1.5)


def test_custom_formula_needs_inputs():
    with pytest.raises(LawError, match="uses none of the inputs"):
        Law.from_formula("a + b", priors={"a": 1, "b": 2})
    with pytest.raises(LawError, match="does not use the declared input"):
        Law.from_formula("E + A * N**(-alpha)", inputs=["lr"])


def test_declared_inputs_in_a_formula_and_a_toml(tmp_path):
    law = Law.from_formula("E + A * N**(-alpha) + c * log(lr / lr_opt)**2", inputs=["lr"])
    assert law.inputs == ("N", "lr") and law.scale_axes == ("N",)
    assert law.input_spec("lr").scaling == "log" and not law.input_spec("lr").scale_axis
    again = Law.from_spec(json.loads(law.to_json()))
    assert again.inputs == law.inputs and again.scale_axes == law.scale_axes
    path = tmp_path / "ft.toml"
    path.write_text(
        'name = "ft"\nformula = "E + A / x**alpha"\ninputs = ["x"]\n'
        '[input.x]\nmeaning = "fine-tuning examples"\nscale_axis = true\n'
        '[target]\nname = "Lossu"\nsupport = "real"\n'
        '[parameters.alpha]\nprior = "Gamma(2, 4)"\n'
        '[parameters.E]\nprior = "Normal(0, 2)"\nfrom_scaled = "E * L_scale + L_mean"\n'
        '[parameters.A]\nprior = "LogNormal(0, 1)"\nfrom_scaled = "A * L_scale * x**alpha"\n'
    )
    law = get_law(path)
    assert law.inputs == ("x",) and law.scale_axes == ("x",)
    assert law.target.name == "Lossu" and not law.target.is_positive
    assert "fine-tuning examples" in law.describe() and "Lossu" in law.describe()
    with pytest.raises(LawError, match="unknown key"):
        Law.from_spec({**law.to_spec(), "input": {"x": {"scale": True}}})


def test_custom_formula_rejects_unsafe_code():
    with pytest.raises(FormulaError, match="__import__"):
        Law.from_formula("__import__('os').system('x') + C", priors={})


def test_toml_file_errors(tmp_path):
    with pytest.raises(LawError, match="does not exist"):
        get_law(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nformula = [")
    with pytest.raises(LawError, match="not valid TOML"):
        get_law(bad)
    incomplete = tmp_path / "incomplete.toml"
    incomplete.write_text("name = 'x'\nformula = 'E + A / N**alpha'\ninputs = ['N']\n")
    with pytest.raises(LawError, match="no 'parameters' entry"):
        get_law(incomplete)


def test_user_toml_law(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\nformula = "E + A / N**alpha"\ninputs = ["N"]\n'
        '[parameters.alpha]\nprior = "Gamma(2, 4)"\n'
        '[parameters.E]\nprior = "Beta(2, 2)"\nfrom_scaled = "E * L_min"\n'
        '[parameters.A]\nprior = "LogNormal(0, 1)"\nfrom_scaled = "A * L_min * N**alpha"\n'
    )
    law = get_law(path)
    assert law.name == "mine" and law.parameter("A").from_scaled is not None
