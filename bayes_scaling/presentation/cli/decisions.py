"""Decision commands: ``optimal`` (compute-optimal allocation) and ``budget`` (loss targets)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import BayesScalingError
from bayes_scaling.presentation.cli.common import (
    app,
    handle_errors,
    out,
    print_json,
    quantities,
)


def _interval(values, ci: float) -> dict[str, float]:
    """Median, central interval and share not reached, by the one interval rule."""
    from bayes_scaling.core.intervals import summarize

    iv = summarize(values, ci=ci)
    if any(math.isinf(iv[k]) for k in ("median", "lower", "upper")):
        iv["null_means"] = (
            "not reached: more than the tail share of the posterior draws never reach it "
            "(see share_not_reached)"
        )
    return iv


def _one(name: str, values: list[str] | None) -> float | None:
    parsed = quantities(name, values)
    return None if parsed is None else parsed[0]


def _span(name: str, iv: dict) -> str:
    """``median [lower – upper]`` in compact units (the unit goes in the row or column label)."""
    from bayes_scaling.presentation.formatting import flops, short

    def fmt(x):
        if x is None:
            return "n/a"
        if math.isinf(x):
            return "never"
        if name == "C":
            return flops(x)
        return short(x) if name in ("N", "D") else f"{x:.4g}"

    return f"{fmt(iv['median'])} [{fmt(iv['lower'])} – {fmt(iv['upper'])}]"


# ---------------------------------------------------------------------------------------- optimal
@app.command()
@handle_errors
def optimal(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    compute: Annotated[
        list[str], typer.Option("--compute", help="Training budget C in FLOPs (repeatable).")
    ],
    risk: Annotated[
        str | None,
        typer.Option(help="Also choose one N per budget minimising mean, var (VaR) or cvar."),
    ] = None,
    risk_level: Annotated[float, typer.Option(help="Level of VaR / CVaR.")] = 0.9,
    unique_tokens: Annotated[
        str | None, typer.Option(help="Unique tokens U (laws with U, e.g. data_constrained).")
    ] = None,
    ci: Annotated[float, typer.Option(help="Probability of the central interval.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compute-optimal N and D per budget, with credible intervals and allocation exponents."""
    from bayes_scaling.core.intervals import check_ci
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.questions.optimal import allocation_exponents, optimal_allocation

    check_ci(ci)
    budgets = quantities("compute", compute)
    U = _one("unique-tokens", [unique_tokens] if unique_tokens else None)
    result = load_fit(fit_file)
    ds = optimal_allocation(result, compute=budgets, unique_tokens=U)
    exps = allocation_exponents(result)
    keys = ("N_opt", "D_opt", "tokens_per_param", "loss")
    rows = [
        {"compute": float(c), **{k: _interval(ds[k].values[..., i], ci) for k in keys}}
        for i, c in enumerate(ds["compute"].values)
    ]
    payload = {
        "law": result.law.name,
        "ci": ci,
        "method": ds.attrs["method"],
        "flops_per_token": ds.attrs["flops_per_token"],
        "rows": rows,
        "exponents": {k: _interval(exps[k].values, ci) for k in ("a", "b")},
    }
    if U is not None:
        payload["unique_tokens"] = U
    if risk is not None:
        from bayes_scaling.questions.budget import risk_optimal_allocation

        ro = risk_optimal_allocation(
            result, compute=budgets, risk=risk, level=risk_level, unique_tokens=U
        )
        payload["risk"] = {
            "measure": risk,
            "level": risk_level,
            "rows": [
                {
                    "compute": float(c),
                    "N": float(ro["N_opt"][i]),
                    "D": float(ro["D_opt"][i]),
                    "tokens_per_param": float(ro["tokens_per_param"][i]),
                    "risk_value": float(ro["risk_value"][i]),
                    "N_mean_opt": float(ro["N_mean_opt"][i]),
                    "risk_value_mean_opt": float(ro["risk_value_mean_opt"][i]),
                    "loss": _interval(ro["loss"].values[..., i], ci),
                }
                for i, c in enumerate(ro["compute"].values)
            ],
        }
    if as_json:
        print_json(payload)
        return
    _print_optimal(payload)


def _print_optimal(payload: dict) -> None:
    from rich.table import Table

    from bayes_scaling.presentation.formatting import flops, short

    ci = payload["ci"]
    table = Table(
        title=f"compute-optimal allocation, {payload['law']} ({payload['method']}; median "
        f"[{ci:.0%} interval]; loss = expected loss mu at the optimum)"
    )
    cols = ("compute (FLOPs)", "N_opt (params)", "D_opt (tokens)", "tokens/param", "loss")
    for col in cols:
        table.add_column(col, justify="right")
    for row in payload["rows"]:
        table.add_row(
            flops(row["compute"]),
            _span("N", row["N_opt"]),
            _span("D", row["D_opt"]),
            _span("r", row["tokens_per_param"]),
            _span("L", row["loss"]),
        )
    out.print(table)
    a, b = payload["exponents"]["a"], payload["exponents"]["b"]
    out.print(
        f"N_opt ∝ C^a, D_opt ∝ C^b: a = {a['median']:.3f} [{a['lower']:.3f} – {a['upper']:.3f}], "
        f"b = {b['median']:.3f} [{b['lower']:.3f} – {b['upper']:.3f}]  "
        "(Kaplan 2020: 0.73 / 0.27; Chinchilla 2022: 0.46–0.50)"
    )
    if "risk" in payload:
        risk = payload["risk"]
        t = Table(
            title=f"one N per budget minimising the {risk['measure']} of the loss "
            f"(level {risk['level']:g})"
        )
        for col in ("compute (FLOPs)", "N", "D", "D/N", "risk", "mean-opt N", "its risk"):
            t.add_column(col, justify="right")
        for row in risk["rows"]:
            t.add_row(
                flops(row["compute"]),
                short(row["N"]),
                short(row["D"]),
                f"{row['tokens_per_param']:.3g}",
                f"{row['risk_value']:.4f}",
                short(row["N_mean_opt"]),
                f"{row['risk_value_mean_opt']:.4f}",
            )
        out.print(t)


# ---------------------------------------------------------------------------------------- budget
@app.command()
@handle_errors
def budget(
    fit_file: Annotated[Path, typer.Argument(help="Fit file written by `fit`.")],
    target_loss: Annotated[float, typer.Option(help="Target expected loss.")],
    probability: Annotated[
        float, typer.Option(help="Probability of reaching the target (0 < p < 1).")
    ] = 0.9,
    inference_tokens: Annotated[
        str | None, typer.Option(help="Lifetime inference tokens (inference-aware allocation).")
    ] = None,
    unique_tokens: Annotated[
        str | None, typer.Option(help="Unique tokens U available (laws with U).")
    ] = None,
    device_flops: Annotated[
        str | None, typer.Option(help="Peak FLOP/s of one accelerator, e.g. 9.89e14.")
    ] = None,
    utilization: Annotated[
        float | None, typer.Option(help="Achieved fraction of peak FLOP/s, e.g. 0.4.")
    ] = None,
    price_per_hour: Annotated[
        float | None, typer.Option(help="Price of one accelerator-hour.")
    ] = None,
    ci: Annotated[float, typer.Option(help="Probability of the central interval.")] = CI,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Compute needed to reach a target loss, the budget that reaches it with a probability,
    and optionally its cost and an inference-aware allocation."""
    from bayes_scaling.core.intervals import check_ci, check_probability
    from bayes_scaling.inference.storage import load_fit
    from bayes_scaling.questions.budget import (
        CostModel,
        compute_at_probability,
        inference_aware_allocation,
    )

    check_ci(ci)
    if not (math.isfinite(target_loss) and target_loss > 0):
        raise BayesScalingError(
            f"--target-loss must be a finite loss > 0 (e.g. 2.1, below the best run's loss), "
            f"not {target_loss!r}"
        )
    check_probability(probability, "--probability")
    cost_args = (device_flops, utilization, price_per_hour)
    cost = None
    if any(v is not None for v in cost_args):
        if any(v is None for v in cost_args):
            raise BayesScalingError(
                "costs need all three of --device-flops, --utilization and --price-per-hour"
            )
        cost = CostModel(_one("device-flops", [device_flops]), utilization, price_per_hour)
    U = _one("unique-tokens", [unique_tokens] if unique_tokens else None)
    T = _one("inference-tokens", [inference_tokens] if inference_tokens else None)
    result = load_fit(fit_file)
    cap = compute_at_probability(
        result, target=target_loss, probability=probability, unique_tokens=U
    )
    needed = cap["compute_needed"].values
    at_p = float(cap["compute"])
    payload: dict = {
        "law": result.law.name,
        "ci": ci,
        "target_loss": target_loss,
        "probability": probability,
        "p_reachable": float(cap["p_reachable"]),
        "compute_needed": _interval(needed, ci),
        "compute_at_probability": {
            "compute": at_p,
            "N": float(cap["N"]),
            "D": float(cap["D"]),
        },
    }
    if U is not None:
        payload["unique_tokens"] = U
    if cost is not None:
        payload["cost"] = {
            **cost.to_dict(),
            "hours_needed": _interval(cost.hours(needed), ci),
            "dollars_needed": _interval(cost.dollars(needed), ci),
            "hours_at_probability": cost.hours(at_p),
            "dollars_at_probability": cost.dollars(at_p),
        }
    if T is not None:
        ia = inference_aware_allocation(result, target=target_loss, inference_tokens=T)
        keys = ("N", "D", "training_compute", "inference_compute", "total_compute")
        keys += ("total_compute_optimal", "compute_saving")
        payload["inference"] = {
            "inference_tokens": T,
            **{k: _interval(ia[k].values, ci) for k in keys},
        }
    if as_json:
        print_json(payload)
        return
    _print_budget(payload)


def _print_budget(payload: dict) -> None:
    from rich.table import Table

    from bayes_scaling.presentation.formatting import quantity

    ci = payload["ci"]
    table = Table(
        title=f"budget for expected loss <= {payload['target_loss']:g}, {payload['law']} "
        f"(median [{ci:.0%} interval])",
        show_header=False,
    )
    table.add_column("question")
    table.add_column("answer", justify="right")
    table.add_row("P(target reachable at any budget)", f"{payload['p_reachable']:.1%}")
    table.add_row("compute needed, FLOPs", _span("C", payload["compute_needed"]))
    at = payload["compute_at_probability"]
    p = payload["probability"]
    if math.isinf(at["compute"]):
        table.add_row(f"compute for P = {p:g}", "never: the probability stays below it")
    else:
        table.add_row(f"compute for P = {p:g}", quantity("C", at["compute"]))
        table.add_row("  with N (median optimum)", quantity("N", at["N"]))
        table.add_row("  and D", quantity("D", at["D"]))
    if "cost" in payload:
        c = payload["cost"]
        if not math.isinf(at["compute"]):
            table.add_row(
                f"  cost at P = {p:g}",
                f"{c['hours_at_probability']:,.0f} device-hours, "
                f"{c['dollars_at_probability']:,.0f} (price units)",
            )
        h = c["hours_needed"]
        table.add_row(
            "device-hours needed",
            f"{h['median']:,.0f}  [{h['lower']:,.0f} – {h['upper']:,.0f}]",
        )
    if "inference" in payload:
        inf = payload["inference"]
        table.add_row(
            f"inference-aware, {quantity('D', inf['inference_tokens'])} served: N params",
            _span("N", inf["N"]),
        )
        table.add_row("  D tokens", _span("D", inf["D"]))
        table.add_row("  FLOPs, train + serve", _span("C", inf["total_compute"]))
        table.add_row("  saving vs compute-optimal", _span("r", inf["compute_saving"]))
    out.print(table)
