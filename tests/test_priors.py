"""Prior specs: parsing and printing, dicts, validation, and agreement with PyMC."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import special, stats

from bayes_scaling.core.errors import PriorError
from bayes_scaling.inputs.priors import FAMILIES, Prior, parse_priors

# One example per family, in canonical text, with parameters chosen so the first two moments
# exist and Monte-Carlo comparisons are stable.
EXAMPLES = {
    "Normal": "Normal(0.5, 2)",
    "HalfNormal": "HalfNormal(1.5)",
    "LogNormal": "LogNormal(-0.5, 0.4)",
    "Beta": "Beta(2, 5)",
    "Gamma": "Gamma(2, 4)",
    "Exponential": "Exponential(3)",
    "Uniform": "Uniform(-1, 2)",
    "StudentT": "StudentT(7, 1, 0.5)",
    "HalfStudentT": "HalfStudentT(7, 0.7)",
    "TruncatedNormal": "TruncatedNormal(0.3, 1, 0, 2)",
    "Fixed": "Fixed(1.5)",
}
SAMPLED = [f for f in FAMILIES if f != "Fixed"]


def test_every_family_has_an_example():
    assert set(EXAMPLES) == set(FAMILIES)
    assert FAMILIES["Gamma"] == ("alpha", "beta")
    assert FAMILIES["TruncatedNormal"] == ("mu", "sigma", "lower", "upper")


@pytest.mark.parametrize("family", list(FAMILIES))
def test_parse_str_round_trip(family):
    prior = Prior.parse(EXAMPLES[family])
    assert prior.family == family
    assert str(prior) == EXAMPLES[family]
    assert Prior.parse(str(prior)) == prior
    assert all(isinstance(p, float) for p in prior.params)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_keyword_form_and_case(family):
    prior = Prior.parse(EXAMPLES[family])
    kwargs = ", ".join(f"{k}={v!r}" for k, v in prior.to_dict()["params"].items())
    assert Prior.parse(f"{family.lower()}({kwargs})") == prior
    assert Prior.parse(f"  {family.upper()}( {kwargs} ) ") == prior


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Beta(2, 5)", Prior("Beta", (2.0, 5.0))),
        ("beta(2,5)", Prior("Beta", (2.0, 5.0))),
        ("Normal(mu=0, sigma=1)", Prior("Normal", (0.0, 1.0))),
        ("Normal(0, sigma=1)", Prior("Normal", (0.0, 1.0))),
        ("Normal(sigma=1, mu=-2)", Prior("Normal", (-2.0, 1.0))),
        ("LogNormal(-1.5, 1.5)", Prior("LogNormal", (-1.5, 1.5))),
        ("Gamma(alpha=2, beta=4)", Prior("Gamma", (2.0, 4.0))),
        ("TruncatedNormal(0, 1, lower=-1, upper=+3)", Prior("TruncatedNormal", (0, 1, -1, 3))),
        ("Fixed(0)", Prior("Fixed", (0.0,))),
        ("Fixed(value=-2.5)", Prior("Fixed", (-2.5,))),
    ],
)
def test_parse_forms(text, expected):
    assert Prior.parse(text) == expected


@pytest.mark.parametrize(
    "value", ["0", " -1.5 ", "2e-3", 0, 0.0, -1.5, np.float64(3.0), np.int64(2)]
)
def test_plain_number_is_fixed(value):
    prior = Prior.parse(value)
    assert prior.is_fixed
    assert prior.params == (float(str(value).strip()),)
    assert prior.family == "Fixed"


def test_parse_passes_priors_through():
    prior = Prior.parse("Beta(2, 5)")
    assert Prior.parse(prior) is prior


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Normal(0.0, 1.0)", "Normal(0, 1)"),
        ("Normal(1e-3, 2.50)", "Normal(0.001, 2.5)"),
        ("Normal(-0.0, 1e-05)", "Normal(0, 1e-05)"),
        ("HalfNormal(1e20)", "HalfNormal(1e+20)"),
        ("Fixed(0.1)", "Fixed(0.1)"),
        (0.30000000000000004, "Fixed(0.30000000000000004)"),
    ],
)
def test_canonical_numbers(text, canonical):
    prior = Prior.parse(text)
    assert str(prior) == canonical
    assert Prior.parse(str(prior)) == prior


@pytest.mark.parametrize("family", list(FAMILIES))
def test_dict_and_json_round_trip(family):
    prior = Prior.parse(EXAMPLES[family])
    d = prior.to_dict()
    assert d["family"] == family
    assert list(d["params"]) == list(FAMILIES[family])
    assert Prior.from_dict(json.loads(json.dumps(d))) == prior
    assert Prior.parse(d) == prior
    assert Prior.from_dict({"family": family, "params": list(prior.params)}) == prior


def test_to_dict_example():
    assert Prior.parse("Beta(2, 5)").to_dict() == {
        "family": "Beta",
        "params": {"alpha": 2.0, "beta": 5.0},
    }


def test_direct_construction_is_validated_and_canonical():
    assert Prior("beta", [2, 5]) == Prior("Beta", (2.0, 5.0))
    with pytest.raises(PriorError):
        Prior("Beta", (2.0,))
    with pytest.raises(PriorError):
        Prior("Beta", (2.0, -1.0))
    with pytest.raises(PriorError):
        Prior("Cauchy", (0.0, 1.0))
    assert hash(Prior.parse("Beta(2, 5)")) == hash(Prior("Beta", (2, 5)))


# ------------------------------------------------------------------ errors

ERRORS = [
    ("Cauchy(0, 1)", r"unknown family 'Cauchy'.*Normal, HalfNormal"),
    ("Cauchy(x)", r"unknown family 'Cauchy'"),
    ("Beta(2)", r"missing beta"),
    ("Beta(2, 3, 4)", r"3 parameters given"),
    ("Normal(0, scale=1)", r"unknown parameter 'scale'"),
    ("Normal(0, mu=1)", r"mu is given twice"),
    ("Normal(0, 0)", r"sigma must be > 0, got 0"),
    ("Normal(0, -1)", r"sigma must be > 0, got -1"),
    ("HalfNormal(-2)", r"sigma must be > 0"),
    ("LogNormal(0, 0)", r"sigma must be > 0"),
    ("Beta(0, 1)", r"alpha must be > 0"),
    ("Beta(1, -1)", r"beta must be > 0"),
    ("Gamma(2, 0)", r"beta must be > 0"),
    ("Exponential(0)", r"lam must be > 0"),
    ("StudentT(0, 0, 1)", r"nu must be > 0"),
    ("HalfStudentT(3, -1)", r"sigma must be > 0"),
    ("Uniform(1, 1)", r"lower must be < upper"),
    ("Uniform(2, 1)", r"lower must be < upper"),
    ("TruncatedNormal(0, 1, 3, 1)", r"lower must be < upper"),
    ("Normal(0, x)", r"'x' is not a number"),
    ("Normal(0, '1')", r"is not a number"),
    ("Normal(0, True)", r"'True' is not a number"),
    ("Normal(0, inf)", r"'inf' is not a number"),
    ("Normal(0, 1e999)", r"finite"),
    ("Normal(0, 1 + 1)", r"'1 \+ 1' is not a number"),
    ("Normal(0, *s)", r"is not a number"),
    ("Normal(**k)", r"'\*\*' arguments"),
    ("Normal(0, 1", r"does not parse"),
    ("a + b", r"not a distribution"),
    ("pm.Normal(0, 1)", r"not a distribution"),
    ("__import__('os')", r"unknown family '__import__'"),
    ("", r"does not parse"),
    ("True", r"not a distribution"),
]


@pytest.mark.parametrize(("text", "pattern"), ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_errors_quote_text_and_show_example(text, pattern):
    with pytest.raises(PriorError, match=pattern) as info:
        Prior.parse(text)
    message = str(info.value)
    assert repr(text) in message
    assert "e.g." in message


@pytest.mark.parametrize("value", [None, [1, 2], True, object()])
def test_parse_rejects_other_types(value):
    with pytest.raises(PriorError, match="e.g."):
        Prior.parse(value)


@pytest.mark.parametrize(
    "d",
    [
        {"family": "Beta"},
        {"params": {"alpha": 1}},
        {"family": "Beta", "params": "2, 5"},
        {"family": "Beta", "params": {"alpha": 2, "gamma": 5}},
        {"family": "Beta", "params": {"alpha": 2, "beta": "5"}},
        {"family": "Nope", "params": []},
        "Beta(2, 5)",
    ],
)
def test_from_dict_errors(d):
    with pytest.raises(PriorError):
        Prior.from_dict(d)


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize(
    ("text", "support"),
    [
        ("Normal(0, 1)", (-math.inf, math.inf)),
        ("StudentT(3, 0, 1)", (-math.inf, math.inf)),
        ("HalfNormal(1)", (0.0, math.inf)),
        ("LogNormal(0, 1)", (0.0, math.inf)),
        ("Gamma(2, 4)", (0.0, math.inf)),
        ("Exponential(1)", (0.0, math.inf)),
        ("HalfStudentT(3, 1)", (0.0, math.inf)),
        ("Beta(2, 5)", (0.0, 1.0)),
        ("Uniform(-1, 2)", (-1.0, 2.0)),
        ("TruncatedNormal(0, 1, 0.5, 3)", (0.5, 3.0)),
        ("Fixed(2)", (2.0, 2.0)),
    ],
)
def test_support(text, support):
    assert Prior.parse(text).support == support


def test_is_fixed():
    assert Prior.parse("Fixed(0)").is_fixed
    assert not Prior.parse("Normal(0, 1)").is_fixed


@pytest.mark.parametrize("family", list(FAMILIES))
def test_sample_shape_reproducibility_and_support(family):
    prior = Prior.parse(EXAMPLES[family])
    a = prior.sample(np.random.default_rng(3), (2, 500))
    b = prior.sample(np.random.default_rng(3), (2, 500))
    assert a.shape == (2, 500) and a.dtype == np.float64
    np.testing.assert_array_equal(a, b)
    lo, hi = prior.support
    assert np.all((a >= lo) & (a <= hi))
    assert np.all(np.isfinite(prior.logpdf(a)))


def test_logpdf_outside_support_and_fixed():
    assert Prior.parse("HalfNormal(1)").logpdf(-0.5) == -np.inf
    assert Prior.parse("HalfStudentT(3, 1)").logpdf([-0.5])[0] == -np.inf
    assert Prior.parse("Beta(2, 5)").logpdf(1.5) == -np.inf
    np.testing.assert_array_equal(Prior.parse("Fixed(1.5)").logpdf([1.5, 1.0]), [0.0, -np.inf])
    np.testing.assert_array_equal(
        Prior.parse("Fixed(1.5)").sample(np.random.default_rng(0), 3), 1.5
    )


def test_gamma_uses_rate():
    draws = Prior.parse("Gamma(2, 4)").sample(np.random.default_rng(0), 200_000)
    assert draws.mean() == pytest.approx(0.5, rel=0.01)


# ------------------------------------------------------------------ agreement with PyMC


@pytest.mark.model
@pytest.mark.filterwarnings("ignore:Numba will use object mode")
@pytest.mark.parametrize("family", SAMPLED)
def test_sample_matches_pymc_draws(family):
    import pymc as pm

    prior = Prior.parse(EXAMPLES[family])
    n = 20_000
    ours = prior.sample(np.random.default_rng(11), n)
    theirs = pm.draw(prior._pymc_dist(size=n), random_seed=12)
    # means agree within ~5 Monte-Carlo standard errors, standard deviations within ~10
    sd = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 5 * sd * math.sqrt(2 / n)
    assert abs(ours.std() - sd) < 5 * sd * math.sqrt(2 / n) * 2
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


@pytest.mark.model
@pytest.mark.parametrize("family", list(FAMILIES))
def test_logpdf_matches_pymc_logp(family):
    import pymc as pm

    prior = Prior.parse(EXAMPLES[family])
    x = np.array([0.05, 0.3, 0.9, 1.5, 1.9])
    expected = pm.logp(prior._pymc_dist(), x).eval()
    # PyMC's HalfStudentT and TruncatedNormal logp use a few float32 constants internally (errors
    # ~1e-8); ours are exact (see test_logpdf_exact_values).
    rtol = 1e-6 if family in ("HalfStudentT", "TruncatedNormal") else 1e-12
    np.testing.assert_allclose(prior.logpdf(x), expected, rtol=rtol, atol=1e-12)


def test_logpdf_exact_values():
    x = 0.05
    z = special.ndtr(2 - 0.3) - special.ndtr(-0.3)
    expected = -0.5 * (x - 0.3) ** 2 - 0.5 * math.log(2 * math.pi) - math.log(z)
    assert Prior.parse("TruncatedNormal(0.3, 1, 0, 2)").logpdf(x) == pytest.approx(expected, 1e-14)
    nu, s = 7.0, 0.7
    expected = (
        math.log(2)
        + special.gammaln((nu + 1) / 2)
        - special.gammaln(nu / 2)
        - math.log(math.sqrt(nu * math.pi) * s)
        - (nu + 1) / 2 * math.log1p((x / s) ** 2 / nu)
    )
    assert Prior.parse("HalfStudentT(7, 0.7)").logpdf(x) == pytest.approx(expected, 1e-14)


@pytest.mark.model
def test_to_pymc_creates_named_variables():
    import pymc as pm

    with pm.Model(coords={"k": ["a", "b", "c"]}) as model:
        alpha = Prior.parse("Beta(2, 5)").to_pymc("alpha")
        beta = Prior.parse("Gamma(2, 4)").to_pymc("beta", dims="k")
        e = Prior.parse("Fixed(0.5)").to_pymc("E")
        f = Prior.parse("Fixed(2)").to_pymc("F", dims=("k",))
    assert alpha.name == "alpha" and beta.name == "beta"
    assert {v.name for v in model.free_RVs} == {"alpha", "beta"}
    assert {v.name for v in model.deterministics} == {"E", "F"}
    assert model.named_vars_to_dims["beta"] == ("k",)
    assert model.named_vars_to_dims["F"] == ("k",)
    assert pm.draw(beta, random_seed=0).shape == (3,)
    assert float(e.eval()) == 0.5
    np.testing.assert_array_equal(f.eval(), [2.0, 2.0, 2.0])


@pytest.mark.model
@pytest.mark.parametrize("family", SAMPLED)
def test_to_pymc_every_family(family):
    import pymc as pm

    prior = Prior.parse(EXAMPLES[family])
    with pm.Model() as model:
        prior.to_pymc("theta")
    assert [v.name for v in model.free_RVs] == ["theta"]
    assert np.isfinite(model.compile_logp()(model.initial_point()))


# ------------------------------------------------------------------ parse_priors


def test_parse_priors_mapping_and_list_agree():
    from_map = parse_priors({"alpha": "Beta(2, 5)", "E": 0, "A": Prior.parse("LogNormal(0, 1)")})
    from_list = parse_priors(["alpha=Beta(2, 5)", "E=Fixed(0)", "A = 'LogNormal(0, 1)'"])
    assert from_map == from_list
    assert from_map["E"].is_fixed
    assert parse_priors(["alpha=Normal(mu=0, sigma=1)"])["alpha"] == Prior("Normal", (0, 1))
    assert parse_priors("alpha=Beta(2, 5)") == {"alpha": Prior("Beta", (2, 5))}
    assert parse_priors(None) == {} and parse_priors([]) == {} and parse_priors({}) == {}


def test_parse_priors_does_not_mutate():
    spec = {"alpha": "Beta(2, 5)"}
    items = ["E=0"]
    parse_priors(spec)
    parse_priors(items)
    assert spec == {"alpha": "Beta(2, 5)"} and items == ["E=0"]


@pytest.mark.parametrize(
    ("spec", "pattern"),
    [
        (["alpha"], r"not NAME=SPEC"),
        (["Beta(2, 5)"], r"not NAME=SPEC"),
        (["=Beta(2, 5)"], r"not a valid parameter name"),
        (["1a=Beta(2, 5)"], r"not a valid parameter name"),
        ({"lambda": 0}, r"not a valid parameter name"),
        ({"a b": 0}, r"not a valid parameter name"),
        (["a=Beta(2, 5)", "a=Beta(1, 1)"], r"given twice"),
        (["a=Beta(2)"], r"prior for a: .*missing beta"),
        ({"a": "Foo(1)"}, r"prior for a: .*unknown family"),
    ],
)
def test_parse_priors_errors(spec, pattern):
    with pytest.raises(PriorError, match=pattern):
        parse_priors(spec)
