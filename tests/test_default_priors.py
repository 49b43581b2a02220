"""Unit-free default priors for custom formulas: roles read from the syntax, rules, order."""

from __future__ import annotations

import numpy as np
import pytest

from bayes_scaling.core.errors import LawError
from bayes_scaling.inputs.default_priors import (
    MEAN_REFERENCE,
    MIN_REFERENCE,
    REFERENCE_NAMES,
    SCALE_REFERENCE,
)
from bayes_scaling.inputs.laws import LOSS_REFERENCE, Law, get_law
from bayes_scaling.inputs.priors import Prior

LR_LAW = "E + A*N**(-alpha) + B*D**(-beta) + c*log(lr/lr_opt)**2"
#: Reference values standing in for the runs' (geometric means, smallest loss, spread, mean).
REFS = {"N": 3e8, "D": 6e9, "C": 1e19, "U": 2e9, "lr": 2e-3, "x": 5.0}
REFS |= {MIN_REFERENCE: 2.1, SCALE_REFERENCE: 0.3, MEAN_REFERENCE: -0.7}


def user_values(law: Law, scaled: dict[str, float]) -> dict[str, float]:
    """Apply the rules in the law's order, as the model does."""
    out: dict[str, float] = {}
    for p in law.parameters:
        value = scaled[p.name]
        if p.from_scaled is not None:
            value = float(p.from_scaled.numpy({**REFS, **out, p.name: value}))
        out[p.name] = value
    return out


def test_reference_names_match_the_law_library():
    assert MIN_REFERENCE == LOSS_REFERENCE
    assert REFERENCE_NAMES == ("L_min", "L_scale", "L_mean")


def test_chinchilla_formula_gets_the_built_in_defaults():
    law = Law.from_formula("E + A/N**alpha + B/D**beta")
    built_in = get_law("chinchilla")
    assert law.param_names == ("E", "alpha", "beta", "A", "B")  # exponents before coefficients
    for p in built_in.parameters:
        mine = law.parameter(p.name)
        assert mine.prior == p.prior
        assert (mine.from_scaled and mine.from_scaled.text) == (
            p.from_scaled and p.from_scaled.text
        )
        assert mine.description
    assert str(law.parameter("alpha").prior) == "Gamma(2, 4)"
    assert law.parameter("E").from_scaled.text == "E * L_min * 1.25"
    assert law.parameter("A").from_scaled.text == "A * L_min * N**alpha"


def test_learning_rate_law_gets_a_location_and_a_scaled_coefficient():
    law = Law.from_formula(LR_LAW, inputs=["lr"])
    assert law.inputs == ("N", "D", "lr")
    order = law.param_names
    assert order.index("alpha") < order.index("A") and order.index("beta") < order.index("B")
    lr_opt, c = law.parameter("lr_opt"), law.parameter("c")
    assert str(lr_opt.prior) == "Normal(0, 1.5)"
    assert lr_opt.from_scaled.text == "lr * exp(lr_opt)"
    assert "lr" in lr_opt.description
    assert str(c.prior) == "Normal(0, 1)" and c.from_scaled.text == "c * L_min"
    assert str(law.parameter("E").prior) == "Beta(2, 2)"
    for name in ("A", "B"):
        assert str(law.parameter(name).prior) == "LogNormal(-1.5, 1.5)"
    assert law.parameter("A").from_scaled.text == "A * L_min / N**(-alpha)"
    assert "location on the lr axis" in law.describe()
    # the spec round-trips (rules validated again against the allowed names)
    assert Law.from_spec(law.to_spec()).param_names == order


def test_rules_make_each_term_a_fraction_of_the_reference_loss():
    law = Law.from_formula("E + A*N**(-alpha)*D**(-gamma) + 0.5*B/C**beta + (N_c/N)**kappa")
    scaled = {"E": 0.5, "A": 0.3, "alpha": 0.3, "gamma": 0.4, "B": 0.2, "beta": 0.5}
    scaled |= {"N_c": 0.1, "kappa": 0.2}
    v = user_values(law, scaled)
    n, d, c, lmin = REFS["N"], REFS["D"], REFS["C"], REFS[MIN_REFERENCE]
    assert law.parameter("A").from_scaled.text == "A * L_min / (N**(-alpha) * D**(-gamma))"
    assert v["A"] * n ** -v["alpha"] * d ** -v["gamma"] == pytest.approx(0.3 * lmin)
    assert 0.5 * v["B"] / c ** v["beta"] == pytest.approx(0.2 * lmin)
    assert (v["N_c"] / n) ** v["kappa"] == pytest.approx(0.1 * lmin)
    assert v["E"] == pytest.approx(0.5 * 1.25 * lmin)
    assert str(law.parameter("kappa").prior) == "Gamma(2, 4)"


def test_location_rule_puts_the_optimum_at_the_reference_input():
    law = Law.from_formula(LR_LAW, inputs=["lr"])
    scaled = dict.fromkeys(law.param_names, 0.5) | {"lr_opt": 0.0, "c": 1.0}
    v = user_values(law, scaled)
    assert v["lr_opt"] == pytest.approx(REFS["lr"])
    assert v["c"] == pytest.approx(REFS[MIN_REFERENCE])


@pytest.mark.parametrize(
    "formula",
    ["E + A*N**(-alpha)", "E + A*N**-alpha", "E + 1/N**alpha", "E + A/N**alpha",
     "E + A*N**(-0.5*alpha)", "E + A/(N**alpha + 1)", "E + (N_c/N)**alpha",
     "E + A*(N/1e9)**(-alpha)", "E + log(1 + A*N**(-alpha))"],
)  # fmt: skip
def test_decay_exponents_get_a_gamma_prior(formula):
    assert str(Law.from_formula(formula).parameter("alpha").prior) == "Gamma(2, 4)"


@pytest.mark.parametrize(
    "formula",
    ["E + A*N**alpha", "E + A/N**(-alpha)", "E + A*N**(alpha*beta)", "E + A*N**(alpha + beta)",
     "E + A*exp(-N)**alpha", "E + A*log(lr/lr_opt)**alpha"],
)  # fmt: skip
def test_exponents_of_unknown_sign_get_a_normal_prior(formula):
    law = Law.from_formula(formula, inputs=["lr"] if "lr" in formula else None)
    alpha = law.parameter("alpha")
    assert str(alpha.prior) == "Normal(0, 1)" and alpha.from_scaled is None
    assert "sign" in alpha.description


def test_log_difference_and_linear_inputs_give_locations():
    law = Law.from_formula(
        "E + A*N**(-alpha) + c*(log(lr) - log(lr_opt))**2 + d*(x - x0)**2",
        inputs=["lr", "x:linear"],
    )
    assert law.parameter("lr_opt").from_scaled.text == "lr * exp(lr_opt)"
    x0 = law.parameter("x0")
    assert str(x0.prior) == "Normal(0, 1)" and x0.from_scaled is None
    assert "give a prior" in x0.description
    assert law.parameter("d").from_scaled.text == "d * L_min"


def test_unrecognised_parameters_get_a_normal_prior_and_a_hint():
    law = Law.from_formula("E + A*N**(-alpha) + k*exp(-m*D) + a*b*D**(-beta)")
    for name in ("m", "a", "b"):
        p = law.parameter(name)
        assert str(p.prior) == "Normal(0, 1)" and p.from_scaled is None
        assert "no role recognised; give a prior" in p.description
    assert law.parameter("k").from_scaled.text == "k * L_min"


def test_without_rules_the_order_is_that_of_appearance():
    priors = {"E": "HalfNormal(3)", "A": "LogNormal(5, 3)", "alpha": "Gamma(2, 4)"}
    assert Law.from_formula("E + A * C**(-alpha)", priors=priors).param_names == ("E", "A", "alpha")
    assert Law.from_formula("E + A * C**(-alpha)").param_names == ("E", "alpha", "A")


def test_user_priors_override_defaults_and_drop_the_rule():
    law = Law.from_formula(
        "E + A/N**alpha + B/D**beta",
        priors={"A": "LogNormal(5, 2)", "alpha": 0.3, "B_scaled": "LogNormal(0, 1)"},
    )
    a = law.parameter("A")
    assert a.prior == Prior.parse("LogNormal(5, 2)") and a.from_scaled is None
    assert "user units" in a.description
    assert law.parameter("alpha").prior.is_fixed
    b = law.parameter("B")
    assert str(b.prior) == "LogNormal(0, 1)" and b.from_scaled.text == "B * L_min * D**beta"
    assert law.parameter("E").from_scaled.text == "E * L_min * 1.25"


def test_real_target_uses_the_spread_and_mean_of_the_target():
    law = Law.from_formula("-E + A/N**alpha", target={"name": "Lossu", "support": "real"})
    e, a = law.parameter("E"), law.parameter("A")
    assert str(e.prior) == "Normal(0, 2)"
    assert e.from_scaled.text == "E * L_scale - L_mean"
    assert a.from_scaled.text == "A * L_scale * N**alpha"
    v = user_values(law, {"E": 0.0, "A": 1.0, "alpha": 0.3})
    assert -v["E"] == pytest.approx(REFS[MEAN_REFERENCE])  # the constant term sits at the mean
    added = Law.from_formula("E + A/N**alpha", target={"support": "real"})
    assert added.parameter("E").from_scaled.text == "E * L_scale + L_mean"


@pytest.mark.parametrize(
    "formula",
    [LR_LAW, "E + A/N**alpha + B/D**beta", "(N/N_c)**(-alpha)", "E + N**(-alpha)/A",
     "E + A*(N/N0)**(-alpha) + B*D**(-beta)*U**(-gamma)", "-E - A*N**(-alpha) + B*N**(-beta)"],
)  # fmt: skip
def test_every_rule_uses_only_earlier_parameters(formula):
    law = Law.from_formula(formula, inputs=["lr"] if "lr" in formula else None)
    allowed = set(law.inputs) | set(REFERENCE_NAMES)
    for p in law.parameters:
        if p.from_scaled is not None:
            assert p.from_scaled.names <= allowed | {p.name}
        allowed.add(p.name)
    scaled = {p.name: 0.5 for p in law.parameters}
    values = user_values(law, scaled)
    mu = law.evaluate(values, {k: np.asarray([REFS[k]]) for k in law.inputs})
    assert np.all(np.isfinite(mu))


def test_a_parameter_named_like_a_reference_is_refused():
    with pytest.raises(LawError, match="L_scale"):
        Law.from_formula("L_scale + A/N**alpha")
