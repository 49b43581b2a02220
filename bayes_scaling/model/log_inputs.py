"""Powers of positive inputs as exponentials of precomputed logarithms.

Scaling laws are sums of power laws, ``A * N**(-alpha)``. In the sampled graph a power of a data
column costs a ``pow`` per run and per gradient evaluation, and its derivative in the exponent a
``log`` of the same column, again per run and per evaluation. For an input declared positive,
``N**e == exp(e * log N)`` exactly in real arithmetic, and ``log N`` does not depend on the
parameters: it is computed once, stored as a data container ``log_N`` beside ``N``, and the
graph uses ``exp(e * log_N)``. The gradient then needs no logarithm of the data at all. A power
in a denominator, ``A / N**alpha``, becomes ``A * exp(-alpha * log_N)``: a division per run
costs about as much as the exponential.

The values agree with ``pow`` to rounding (a few ulp of ``e * log N``);
``benchmarks/bench_scale.py`` records the time of the log-density and its gradient with and
without the rewrite.

Only inputs declared ``sign = "positive"`` are rewritten (a negative base with an integer
exponent has a real power but no real logarithm); the runs reader has already checked the sign.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from bayes_scaling.inputs.laws import Law

__all__ = ["LOG_PREFIX", "log_input_columns", "log_input_values", "powers_as_exp"]

#: Name prefix of the data container holding the log of a positive input.
LOG_PREFIX = "log_"


def log_input_columns(law: Law) -> tuple[str, ...]:
    """Columns of ``law`` declared positive, whose logarithms may replace their powers."""
    return tuple(col for col in law.inputs if law.input_spec(col).sign == "positive")


def log_input_values(law: Law, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``{"log_" + col: log(values)}`` for each positive input column of ``law``.

    The runs reader has checked that these columns are > 0; the same containers exist for every
    table, so a compiled model reused with new runs always gets its logarithms updated too.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            LOG_PREFIX + col: np.log(np.asarray(columns[col], dtype=float))
            for col in log_input_columns(law)
        }


def powers_as_exp(expression: Any, logs: Mapping[Any, Any]) -> Any:
    """``expression`` with every ``pow(x, e)`` whose base ``x`` is a key of ``logs`` replaced
    by ``exp(e * logs[x])``.

    Parameters
    ----------
    expression : pytensor.tensor.TensorVariable
        A graph (the law's curve ``mu``).
    logs : mapping of TensorVariable to TensorVariable
        Data variable -> the data variable of its logarithm (same shape).

    Returns
    -------
    pytensor.tensor.TensorVariable
        The rewritten graph; ``expression`` itself when no power matches, or when the rewrite
        fails for any reason (it walks PyTensor's graph types: a changed API falls back to the
        unrewritten graph, which has the same values).
    """
    if not logs:
        return expression
    try:
        return _replace_powers(expression, logs)
    except Exception:  # noqa: BLE001 - PyTensor internals changed: same values, only slower
        return expression


def _replace_powers(expression: Any, logs: Mapping[Any, Any]) -> Any:
    import pytensor.tensor as pt
    from pytensor.graph.replace import graph_replace
    from pytensor.graph.traversal import applys_between
    from pytensor.scalar.basic import Pow, TrueDiv
    from pytensor.tensor.elemwise import Elemwise

    def scalar_op(node: Any) -> Any:
        return node.op.scalar_op if isinstance(node.op, Elemwise) else None

    nodes = list(applys_between(list(logs), [expression]))
    exponents = {}  # output of pow(x, e) -> e * log(x)
    for node in nodes:
        base, *_ = node.inputs
        if isinstance(scalar_op(node), Pow) and base in logs:
            exponents[node.outputs[0]] = node.inputs[1] * logs[base]
    replace = {out: pt.exp(log_power) for out, log_power in exponents.items()}
    for node in nodes:  # a / x**e -> a * exp(-e log x): a division costs more than an exp
        if isinstance(scalar_op(node), TrueDiv) and node.inputs[1] in exponents:
            numerator, denominator = node.inputs
            replace[node.outputs[0]] = numerator * pt.exp(-exponents[denominator])
    if not replace:
        return expression
    replace = {old: new.astype(old.dtype) for old, new in replace.items()}
    return graph_replace(expression, replace, strict=False)
