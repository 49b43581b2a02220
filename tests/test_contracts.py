"""Contract tests: the shape of every answer the package gives (DESIGN.md, "Contracts").

* Every question returns an ``xarray.Dataset``. A variable holding posterior draws has dims
  ``("chain", "draw", *query_dims)`` with the fit's chain and draw sizes; its query dims are named
  after what the user asked (``point``, ``compute``, ``target``, ``probability``, ...). Summaries
  over draws (probabilities, quantile budgets, reachability) have query dims only.
* The coordinates carry the user's inputs (``compute``, ``target``, N, D, ...).
* Expected loss (``mu``, the law's curve) and a new run's observed loss (``y``) are labelled as
  such in ``long_name``, and no two variables of one answer share a label.
* ``ds.scaling.summary(ci=)`` is a tidy DataFrame with ``variable, mean, median, lower, upper, ci``
  and ``df.attrs["ci"]``; the default interval is ``core.constants.CI`` (0.9); ``ci`` is
  keyword-only everywhere.

``CONTRACTS`` gives the exact variables and dims of each question: a new public question without
an entry fails :func:`test_every_question_has_a_contract`. The public API is pinned by
``tests/api_snapshot.json``; after a deliberate change regenerate it with
``BAYES_SCALING_UPDATE_SNAPSHOT=1 pytest tests/test_contracts.py -k snapshot`` (or
``python tests/test_contracts.py``).
"""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import os
import types
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr

import bayes_scaling
from bayes_scaling.core.constants import CI
from bayes_scaling.questions.design import DesignQuestion

SNAPSHOT = Path(__file__).with_name("api_snapshot.json")
UPDATE_ENV = "BAYES_SCALING_UPDATE_SNAPSHOT"
SAMPLE = ("chain", "draw")
QUESTION_MODULES = tuple(
    f"bayes_scaling.questions.{m}"
    for m in (
        "predict",
        "optimal",
        "budget",
        "risk",
        "draws",
        "optimize",
        "design",
        "design_tools",
        "design_policy",
    )
)
#: Public names of the question modules that are helpers, not questions (no Dataset answer).
HELPERS = {
    "CostModel",
    "complete_inputs",
    "compute_needed_draws",
    "group_fit",
    "law_draws",
    "split_points",
}
HELPERS |= {"pooled_law_draws", "risk_measure", "run_law_draws"}
HELPERS |= {"candidate_inputs", "isoflop_grid", "prior_fit", "cost_weight", "DesignQuestion"}
#: Keyword arguments that must come back as coordinates of the same name.
USER_COORDS = {"N", "D", "C", "U", "compute", "target", "probability", "inference_tokens"}
USER_COORDS |= {"unique_tokens"}
#: Known package violations {(check, case): reason}, strict xfails so that a fix is noticed.
KNOWN: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Contract:
    """One question's answer. Variable specs read ``"a b: dim1 dim2; c:"`` (``c`` has no dims)."""

    func: str  # the question's name in QUESTION_MODULES
    kwargs: dict  # the call's keyword arguments; TARGETS / TARGET stand for the fit's targets
    draws: str  # variables with draws -> their query dims after ("chain", "draw")
    other: str = ""  # variables without draws (summaries over draws) -> their exact dims
    labels: dict[str, str] = field(default_factory=dict)  # variable -> text in its long_name
    derived: Callable[[Any, dict], dict] | None = None  # coordinates derived from the inputs
    variant: str = ""  # tells several contracts of one question apart
    fit: str = "small"  # "small": the session fit; "data_constrained": a fake posterior

    @property
    def case(self) -> str:
        return f"{self.func}[{self.variant}]" if self.variant else self.func


def parse(spec: str) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        names, _, dims = part.partition(":")
        out.update(dict.fromkeys(names.split(), tuple(dims.split())))
    return out


def _k(fit) -> float:
    return fit.runs.flops_per_token


#: Two target losses between the fit's median E and its best observed loss, and the first.
TARGETS, TARGET = "<targets>", "<target>"
C2, NK = {"compute": [1e21, 1e22]}, {"compute": [1e21, 1e22], "N": 1e9}
EXP, MU_Y = "expected loss", {"mu": "expected loss", "y": "predicted observed loss"}
OPT, NEEDED = "N_opt D_opt tokens_per_param loss: compute", "compute_needed N_opt D_opt"
INFERENCE = "N D tokens_per_param training_compute inference_compute total_compute "
INFERENCE += "N_compute_optimal D_compute_optimal total_compute_optimal compute_saving"
RISK = "N_opt D_opt tokens_per_param risk_value N_mean_opt risk_value_mean_opt: compute"
MIS = "extra_loss compute_equivalent compute_efficiency extra_compute N_opt: compute"
DC = "epochs loss_unconstrained N_unconstrained extra_loss: compute"
FRONTIER = {"compute_min": 1e20, "compute_max": 1e22, "n": 5}
CANDS = {"candidates": {"N": [1e8, 1e9, 4e9], "D": [2e9, 2e10, 8e10]}}
ASKED = {**CANDS, "question": DesignQuestion(compute=1e22)}
REGRET = {**CANDS, "question": DesignQuestion(compute=1e22, objective="regret")}
ASKED_C = {"derived": lambda f, kw: {"compute": kw["question"].compute}}  # the budget asked
RANKED = "score reduction expected_width_after expected_variance_after ess ess_min: candidate"
BATCH = "score expected_width_after expected_variance_after cumulative_cost ess: pick"
# fmt: off
CONTRACTS: dict[str, Contract] = {
    c.case: c
    for c in (
        Contract("predict", {"N": [1e8, 1e9], "D": [2e9, 2e10]}, "mu y: point", labels=MU_Y,
                 derived=lambda f, kw: {"C": _k(f) * np.multiply(kw["N"], kw["D"])}),
        Contract("pointwise_log_likelihood", {}, "log_loss: run"),
        Contract("optimal_allocation", C2, OPT, labels={"loss": EXP}),
        Contract("frontier", FRONTIER, OPT, labels={"loss": EXP},
                 derived=lambda f, kw: {"compute": np.geomspace(1e20, 1e22, 5)}),
        Contract("allocation_exponents", C2, "a b: compute"),
        Contract("allocation_exponents", {}, "a b:", variant="default",
                 derived=lambda f, kw: {"compute": np.max(f.runs.column("C"))}),
        Contract("fixed_size_loss", NK, "mu y: compute", labels=MU_Y,
                 derived=lambda f, kw: {"D": np.divide(kw["compute"], _k(f) * kw["N"])}),
        Contract("misallocation", NK, MIS, labels={"extra_loss": EXP}),
        Contract("compute_for_target", {"target": TARGETS}, f"{NEEDED}: target",
                 "p_reachable: target"),
        Contract("compute_for_target", {"target": TARGET}, f"{NEEDED}:", "p_reachable:",
                 variant="scalar"),
        Contract("prob_below_target", {"target": TARGETS, **C2}, "loss: compute",
                 "probability: compute target", {"loss": EXP, "probability": "expected loss mu"}),
        Contract("prob_below_target", {"target": TARGET, **NK, "predictive": True},
                 "loss: compute", "probability: compute", variant="fixed N, predictive",
                 labels={"loss": EXP, "probability": "observed loss y"}),
        Contract("compute_at_probability", {"target": TARGET, "probability": [0.5, 0.9]},
                 "N_opt: probability; compute_needed:",
                 "compute N D: probability; p_reachable:; curve_probability: curve_compute"),
        Contract("risk_optimal_allocation", {**C2, "risk": "cvar", "level": 0.9},
                 "loss loss_mean_opt: compute", RISK, {"loss": EXP, "loss_mean_opt": EXP}),
        Contract("inference_aware_allocation", {"target": TARGET, "inference_tokens": [0, 1e12]},
                 f"{INFERENCE}: inference_tokens", "p_reachable:"),
        Contract("data_constrained_allocation", {**C2, "unique_tokens": 2e10}, f"{OPT}; {DC}",
                 labels={"loss": EXP, "loss_unconstrained": EXP, "extra_loss": EXP},
                 fit="data_constrained"),
        Contract("optimize", {"over": {"N": (1e8, 1e12)}, "at": {"C": 1e21}},
                 "N_argmin loss loss_min:", "N_decision risk_value:",
                 {"loss": EXP, "loss_min": EXP}, derived=lambda f, kw: {"C": 1e21}),
        Contract("rank_candidates", ASKED, "value:", RANKED, {"value": "expected loss mu"},
                 **ASKED_C),
        Contract("rank_candidates", REGRET, "value:",
                 RANKED.replace(":", " expected_regret_after:"), variant="regret", **ASKED_C),
        Contract("choose_batch", {**ASKED, "k": 2}, "value:", BATCH, **ASKED_C),
        Contract("batch_in_order", {**ASKED, "order": [2, 0, 1], "k": 2}, "value:", BATCH,
                 **ASKED_C),
        Contract("budget_batch", {**ASKED, "budget": 1e21, "k": 2}, "value:", BATCH, **ASKED_C),
    )
}
# fmt: on


def public_objects(module) -> dict[str, Any]:
    """``__all__``, else the public functions and classes defined in the module itself."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            n
            for n, o in vars(module).items()
            if not n.startswith("_")
            and (inspect.isfunction(o) or inspect.isclass(o))
            and o.__module__ == module.__name__
        ]
    return {n: getattr(module, n) for n in names}


def question_modules_api() -> dict[str, Any]:
    found = [public_objects(importlib.import_module(m)) for m in QUESTION_MODULES]
    return {k: v for objects in found for k, v in objects.items()}


@pytest.fixture(scope="module")
def ask(small_fit):
    """``ask(case)`` -> (fit, kwargs, answer), computed once per case."""
    E, best = float(small_fit.posterior["E"].median()), float(small_fit.runs.column("loss").min())
    targets = [E + 0.4 * (best - E), E + 0.7 * (best - E)]
    context = {TARGETS: targets, TARGET: targets[0]}

    @functools.cache
    def answer(case: str):
        con, fit = CONTRACTS[case], small_fit
        if con.fit == "data_constrained":
            from tests.decision_fakes import EPOCH, fake_fit

            fit = fake_fit(con.fit, center={**EPOCH, "R_D_star": 15.4, "R_N_star": 5.3}, draws=40)
        kwargs = {k: context.get(v, v) if isinstance(v, str) else v for k, v in con.kwargs.items()}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit, kwargs, question_modules_api()[con.func](fit, **kwargs)

    return answer


def check_dims(ds, con: Contract, fit, kwargs) -> None:
    draws, other = parse(con.draws), parse(con.other)
    assert isinstance(ds, xr.Dataset), type(ds)
    assert set(ds.data_vars) == set(draws) | set(other)
    for name, dims in draws.items():
        assert ds[name].dims == (*SAMPLE, *dims), name
    for name, dims in other.items():
        assert ds[name].dims == dims, name
    sizes = fit.posterior.sizes if hasattr(fit, "posterior") else fit.draws().sizes
    assert {d: ds.sizes[d] for d in SAMPLE} == {d: sizes[d] for d in SAMPLE}
    for dim in {d for dims in [*draws.values(), *other.values()] for d in dims} - {"run"}:
        assert any(dim in c.dims for c in ds.coords.values()), f"no coordinate along {dim}"


def check_coords(ds, con: Contract, fit, kwargs) -> None:
    expected = {k: v for k, v in kwargs.items() if k in USER_COORDS}
    expected |= con.derived(fit, kwargs) if con.derived else {}
    for name, value in expected.items():
        assert name in ds.coords, f"input {name} is not a coordinate"
        np.testing.assert_allclose(ds[name].values, np.broadcast_to(value, ds[name].shape))


def check_summary(ds, con: Contract, fit, kwargs) -> None:
    draws = parse(con.draws)
    df = ds.scaling.summary(ci=0.8)
    assert {"variable", "mean", "median", "lower", "upper", "ci"} <= set(df.columns)
    assert (df["ci"] == 0.8).all() and df.attrs["ci"] == 0.8
    assert set(df["variable"]) == set(draws)
    assert len(df) == sum(int(np.prod([ds.sizes[d] for d in dims])) for dims in draws.values())
    assert {d for dims in draws.values() for d in dims} <= set(df.columns)
    for a, b in (("lower", "median"), ("median", "upper")):
        lo, hi = df[a].to_numpy(float), df[b].to_numpy(float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        assert (lo[ok] <= hi[ok] + 1e-12 * np.abs(hi[ok])).all(), f"{a} > {b}"
    assert ds.scaling.summary().attrs["ci"] == CI


def check_labels(ds, con: Contract, fit, kwargs) -> None:
    for name, text in con.labels.items():
        assert text in ds[name].attrs.get("long_name", ""), (name, ds[name].attrs)
    labels = [da.attrs["long_name"] for da in ds.data_vars.values() if "long_name" in da.attrs]
    assert len(labels) == len(set(labels)), f"variables share a long_name: {sorted(labels)}"


CHECKS = {c.__name__[6:]: c for c in (check_dims, check_coords, check_summary, check_labels)}


# ---------------------------------------------------------------------------- questions
def test_every_question_has_a_contract():
    public, known = set(question_modules_api()), {c.func for c in CONTRACTS.values()} | HELPERS
    assert public == known, f"no contract: {public - known}; not public: {known - public}"
    pkg = Path(importlib.import_module("bayes_scaling.questions").__file__).parent
    for path in pkg.glob("[!_]*.py"):  # a Dataset-returning public function is a question
        module = importlib.import_module(f"bayes_scaling.questions.{path.stem}")
        for name, obj in public_objects(module).items():
            returns = str(inspect.signature(obj).return_annotation) if callable(obj) else ""
            assert "Dataset" not in returns or name in public - HELPERS, f"{path.stem}.{name}"


@pytest.mark.model
@pytest.mark.parametrize("case", CONTRACTS)
@pytest.mark.parametrize("check", CHECKS)
def test_contract(ask, check, case, request):
    if (check, case) in KNOWN:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN[check, case]))
    fit, kwargs, ds = ask(case)
    CHECKS[check](ds, CONTRACTS[case], fit, kwargs)


@pytest.mark.model
def test_facade_methods_answer_like_the_questions(small_fit, ask):
    for method, case in (("predict", "predict"), ("optimal", "optimal_allocation")):
        _, kwargs, expected = ask(case)
        xr.testing.assert_identical(getattr(small_fit, method)(**kwargs), expected)
    xr.testing.assert_identical(small_fit.log_likelihood(), ask("pointwise_log_likelihood")[2])
    budget = small_fit.budget(target=ask("compute_at_probability")[1]["target"], probability=0.9)
    assert budget["compute_needed"].dims == SAMPLE and budget["compute"].dims == ()


def test_baseline_predict_follows_the_predict_contract():
    from bayes_scaling.evaluation.baseline import fit_baseline

    runs = bayes_scaling.datasets.chinchilla_like(seed=0)
    base = fit_baseline(runs, law="chinchilla", n_boot=20, seed=0)
    con = CONTRACTS["predict"]
    ds = base.predict(**con.kwargs)
    assert ds.sizes["draw"] == 20
    for check in CHECKS.values():
        check(ds, con, base, con.kwargs)


def test_default_interval_and_keyword_only_ci():
    from bayes_scaling.core.tables import ScalingAccessor
    from bayes_scaling.presentation.summaries import fit_summary, interval_table

    assert CI == 0.9
    for func in (interval_table, ScalingAccessor.summary, fit_summary):
        param = inspect.signature(func).parameters["ci"]
        assert param.kind is param.KEYWORD_ONLY and param.default == CI, func
    for key, func in api_callables():  # every public ci= in the package, but validators
        params = inspect.signature(func).parameters
        param = params.get("ci")
        if param is not None and len(params) > 1:
            assert param.kind is param.KEYWORD_ONLY, key
            levels = param.default if isinstance(param.default, tuple) else (param.default,)
            assert param.default is param.empty or CI in levels, key


# ---------------------------------------------------------------------------- API snapshot
SUBPACKAGES = ("core", "inputs", "model", "inference", "questions", "evaluation", "presentation")


def api_modules() -> list[str]:
    root = Path(bayes_scaling.__file__).parent
    names = ["bayes_scaling.api"]
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        if not parts or parts[0] not in SUBPACKAGES or parts[:2] == ("presentation", "cli"):
            continue
        if not any(p.startswith("_") for p in parts):
            names.append(".".join(("bayes_scaling", *parts)))
    return sorted(names)


def api_objects():
    """(key, object) of ``bayes_scaling.__all__`` and each public module's public names."""
    yield from ((f"bayes_scaling.{n}", getattr(bayes_scaling, n)) for n in bayes_scaling.__all__)
    for name in api_modules():
        for attr, obj in public_objects(importlib.import_module(name)).items():
            yield f"{name}.{attr}", obj


def api_callables():
    """(key, function) of every public function and public method of a public class."""
    for key, obj in api_objects():
        if inspect.isroutine(obj):
            yield key, obj
        for name, member in vars(obj).items() if inspect.isclass(obj) else ():
            if name.startswith("_"):
                continue
            if isinstance(member, (classmethod, staticmethod)) or inspect.isfunction(member):
                yield f"{key}.{name}", getattr(obj, name)


class _Shown(str):
    """A default value shown as the given text."""

    __repr__ = str.__str__


def signature_text(obj) -> str:
    """``inspect.signature`` with machine-independent default values."""
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    params = []
    for p in sig.parameters.values():
        if p.default is not p.empty:
            d = p.default
            text = repr(sorted(map(repr, d))) if isinstance(d, (set, frozenset)) else repr(d)
            if isinstance(d, types.ModuleType):  # its repr holds this machine's path
                text = f"<module {d.__name__}>"
            p = p.replace(default=_Shown(f"<{type(d).__name__}>" if " at 0x" in text else text))
        params.append(p)
    return str(sig.replace(parameters=params))


def api_snapshot() -> dict[str, str]:
    out = {}
    for key, obj in api_objects():
        if inspect.isclass(obj):
            bases = ", ".join(b.__name__ for b in obj.__bases__)
            out[key] = f"class({bases}) {signature_text(obj)}"
            for name, member in vars(obj).items():
                if not name.startswith("_") and isinstance(member, property):
                    out[f"{key}.{name}"] = "property"
        elif not inspect.isroutine(obj):
            out[key] = "module" if inspect.ismodule(obj) else f"<{type(obj).__name__}>"
    out.update((key, signature_text(func)) for key, func in api_callables())
    return dict(sorted(out.items()))


def write_snapshot() -> None:
    SNAPSHOT.write_text(json.dumps(api_snapshot(), indent=1, sort_keys=True) + "\n")


def test_api_snapshot():
    if os.environ.get(UPDATE_ENV) == "1":
        write_snapshot()
    current, saved = api_snapshot(), json.loads(SNAPSHOT.read_text())
    lines = [f"+ {k}: {current[k]}" for k in sorted(current.keys() - saved.keys())]
    lines += [f"- {k}: {saved[k]}" for k in sorted(saved.keys() - current.keys())]
    lines += [
        f"~ {k}:\n    was {saved[k]}\n    now {current[k]}"
        for k in sorted(current.keys() & saved.keys())
        if current[k] != saved[k]
    ]
    if lines:
        pytest.fail(
            "the public API differs from tests/api_snapshot.json (+ added, - removed, ~ changed):\n"
            + "\n".join(lines)
            + f"\nIf the change is deliberate, regenerate with {UPDATE_ENV}=1 pytest "
            "tests/test_contracts.py -k snapshot",
            pytrace=False,
        )


if __name__ == "__main__":  # the generator: python tests/test_contracts.py
    write_snapshot()
    print(f"wrote {SNAPSHOT}")


@pytest.mark.model
def test_loo_works_on_a_saved_and_reloaded_fit(small_fit, tmp_path):
    """The saved fit carries a log_likelihood group that ArviZ reads directly."""
    import arviz as az

    path = bayes_scaling.inference.storage.save_fit(small_fit, tmp_path / "fit.nc")
    loaded = bayes_scaling.load(path)
    assert "log_likelihood" in loaded.tree.children
    result = az.loo(loaded.tree)
    assert np.isfinite(float(result.elpd)) and int(result.n_data_points) == loaded.runs.n_runs
    # the stored pointwise values are those of the likelihood object (float32 in the file)
    direct = loaded.log_likelihood()["log_loss"].values
    stored = loaded.tree["log_likelihood"]["log_loss"].values
    np.testing.assert_allclose(stored, direct, rtol=1e-5, atol=1e-5)


def test_readme_exit_codes_match_the_cli_help():
    import re

    from bayes_scaling.presentation.cli.common import HELP

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = dict(re.findall(r"^\| (\d+) \| ([^|]+) \|$", readme, flags=re.MULTILINE))
    in_help = dict(re.findall(r"(\d+) ([^;.]+)", HELP.split("Exit codes:")[1]))
    assert set(table) == set(in_help) == {"0", "1", "2", "3", "130"}
    for code in table:
        first = in_help[code].split()[0].lower()
        assert first in table[code].lower(), (code, table[code], in_help[code])
