"""The text `bayes-scaling laws NAME` shows: formula, inputs, target, priors, reference."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bayes_scaling.inputs.laws import Law

__all__ = ["describe_law"]


def describe_law(law: Law) -> str:
    """Multi-line description of ``law``.

    Lists the formula and its named terms, every input with its meaning, unit and whether it is
    a scale axis, the target and its support, each parameter with its default prior (and the
    rule that maps a unit-free value to user units), the closed-form optimum and the reference.
    """
    lines = [f"{law.name}: {law.title}", f"  {law.target.name} = {law.program.result.text}"]
    for tname, term in law.program.terms:
        lines.append(f"    where {tname} = {term.text}")
    lines.append(f"  inputs ({law.direction} {law.target.name} is better):")
    for fname, col in law.input_map.items():
        spec = law.input_spec(col)
        bound = col if fname == col else f"{fname} = {col}"
        role = "scale axis" if spec.scale_axis else "setting (not a scale axis)"
        text = f", {spec.meaning}" if spec.meaning else ""
        unit = f" [{spec.unit}]" if spec.unit else ""
        lines.append(f"    {bound:<10} {role}{text}{unit}; {spec.scaling} scaling, {spec.sign}")
    support = (
        "positive, fitted on the log scale"
        if law.target.is_positive
        else "real, fitted on its own scale (in units of its spread L_scale)"
    )
    meaning = f", {law.target.meaning}" if law.target.meaning else ""
    lines.append(f"  target: {law.target.name}{meaning}; {support}")
    if law.description:
        lines.append(f"  {law.description}")
    lines.append("  parameters (default priors):")
    for p in law.parameters:
        line = f"    {p.name:<10} ~ {p.prior}"
        if p.from_scaled is not None:
            line += f"  on the scaled value; {p.name} = {p.from_scaled.text}"
        lines.append(line + (f"  -- {p.description}" if p.description else ""))
        if p.scaled_meaning:
            lines.append(f"    {'':<10}   scaled value: {p.scaled_meaning}")
    if law.optimum:
        lines.append(f"  compute-optimal allocation (closed form): N_opt = {law.optimum['N_opt']}")
    if law.reference:
        lines.append(f"  reference: {law.reference}")
    return "\n".join(lines)
