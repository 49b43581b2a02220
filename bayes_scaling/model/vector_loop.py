"""The log-density's loop over runs as plain numba code that LLVM vectorises.

PyTensor fuses the per-run part of the log-density and its gradient into one loop
(``FusedElemwise``: the law's curve, the likelihood, and one running sum per gradient entry).
Its numba backend evaluates the loop body through the C library's scalar ``exp`` and ``log``,
so the loop runs one run at a time. At 245 runs that loop is most of a gradient evaluation; at
100,000 runs it is all of it.

:func:`numba_mode` is PyTensor's ``NUMBA`` mode plus one rewrite, :func:`vectorise_loops`: a
fused loop over 0-d and 1-d float64 (and bool) arrays whose body uses only the operations of
``_EXPRESSIONS`` becomes a :class:`VectorLoop`. Its numba code is generated from the same scalar
graph, line by line, as a ``for`` loop over contiguous arrays, with ``exp``, ``log`` and
``log1p`` from :mod:`bayes_scaling.model.vector_math`; LLVM then computes four runs at a time
(AVX2). Any other loop (indexed reads for pooling, other dtypes, other operations) is left to
PyTensor. The values agree with PyTensor's to rounding: the functions are within 2 ulp and the
running sums are reassociated, as PyTensor's own fast-math setting allows
(``tests/test_vector_loop.py`` compares log-density and gradient).

This uses PyTensor's internals (the ``FusedElemwise`` fields, the numba dispatch and its cache
key); the rewrite is in a ``try`` that leaves the loop untouched on any error, and
:mod:`bayes_scaling.model.native` falls back to nutpie's own compile if the mode itself fails.
The generated source is part of the cache key (with a version), so a change recompiles.
``BAYES_SCALING_VECTOR_LOOP=0`` keeps PyTensor's loops (:data:`ENV_SWITCH`).
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

import numpy as np

from bayes_scaling.core.machine import switched_on

__all__ = ["ENV_SWITCH", "TAG", "VectorLoop", "enabled", "numba_mode", "vectorise_loops"]

#: Set it to ``0`` (or ``false``/``no``/``off``) to keep PyTensor's own loops; read at every
#: compile, and part of the key of stored models.
ENV_SWITCH = "BAYES_SCALING_VECTOR_LOOP"

#: The rewrite's tag in PyTensor's rewrite database (not in any default mode).
TAG = "bayes_scaling_vector_loop"
#: Version of the generated source; part of the cache key.
_VERSION = "1"
#: Fast-math flags of the loop: PyTensor's numba defaults without "afn" (the functions of
#: vector_math are compiled without fast-math and keep their exact operation order).
FASTMATH = frozenset({"reassoc", "contract", "nsz", "arcp"})

# Scalar operation name -> Python expression of its inputs {0}, {1}, ... (all float64).
_EXPRESSIONS = {
    "Add": None,  # n-ary: joined with " + "
    "Mul": None,  # n-ary: joined with " * "
    "Sub": "({0} - {1})",
    "TrueDiv": "({0} / {1})",
    "Neg": "(-{0})",
    "Sqr": "({0} * {0})",
    "Sqrt": "np.sqrt({0})",
    "Abs": "abs({0})",
    "Reciprocal": "(1.0 / {0})",
    "Identity": "{0}",
    "Exp": "vm_exp({0})",
    "Log": "vm_log({0})",
    "Log1p": "vm_log1p({0})",
    "Pow": "({0} ** {1})",
    # PyMC turns parameter checks into switch(condition, logp, -inf)
    "Switch": "({1} if {0} else {2})",
    "GT": "({0} > {1})",
    "GE": "({0} >= {1})",
    "LT": "({0} < {1})",
    "LE": "({0} <= {1})",
    "EQ": "({0} == {1})",
    "NEQ": "({0} != {1})",
    "AND": "({0} & {1})",
    "OR": "({0} | {1})",
    "Invert": "(not {0})",
}
#: dtypes a loop may read, compute and write (bool: conditions of switches)
_DTYPES = ("float64", "bool")
_JOINED = {"Add": " + ", "Mul": " * "}


def _scalar_op_name(node: Any) -> str:
    return type(node.op).__name__


def _literal(value: Any) -> str:
    if np.asarray(value).dtype == bool:
        return repr(bool(value))
    value = float(value)
    if np.isnan(value):
        return "np.nan"
    if np.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    return repr(value)


def body_lines(composite: Any) -> tuple[list[str], list[str]] | None:
    """Python lines computing ``composite``'s outputs from ``x0, x1, ...`` (its inputs), and
    the names of its outputs; None when an operation or a dtype is not supported."""
    fgraph = composite.fgraph
    names = {var: f"x{i}" for i, var in enumerate(fgraph.inputs)}
    lines = []
    for n, node in enumerate(fgraph.toposort()):
        op_name = _scalar_op_name(node)
        if op_name not in _EXPRESSIONS or len(node.outputs) != 1:
            return None
        args = []
        for var in node.inputs:
            if var in names:
                args.append(names[var])
            elif getattr(var, "data", None) is not None and np.ndim(var.data) == 0:
                args.append(_literal(var.data))  # a constant of any real dtype, exactly
                continue
            else:
                return None
            if str(var.type.dtype) not in _DTYPES:
                return None
        if str(node.outputs[0].type.dtype) not in _DTYPES:
            return None
        template = _EXPRESSIONS[op_name]
        expression = (
            "(" + _JOINED[op_name].join(args) + ")" if template is None else template.format(*args)
        )
        names[node.outputs[0]] = f"t{n}"
        lines.append(f"t{n} = {expression}")
    outputs = []
    for var in fgraph.outputs:
        if var in names:
            outputs.append(names[var])
        elif getattr(var, "data", None) is not None:
            outputs.append(_literal(var.data))
        else:
            return None
    return lines, outputs


def _plan(node: Any) -> dict | None:
    """What the loop of a ``FusedElemwise`` node reads and writes, or None when it is not a
    plain loop over 0-d and 1-d float64 (or bool) arrays with sums over the runs."""
    from pytensor.scalar.basic import Add, Composite, ScalarType
    from pytensor.tensor.elemwise import Elemwise
    from pytensor.tensor.rewriting.fused_elemwise import FusedElemwise

    op = node.op
    if type(op) is not FusedElemwise:
        return None
    if any(e is not None for e in op.indexed_inputs) or any(
        e is not None for e in op.indexed_outputs
    ):
        return None
    elemwise = [n for n in op.fgraph.apply_nodes if isinstance(n.op, Elemwise)]
    if len(elemwise) != 1 or not isinstance(elemwise[0].op.scalar_op, Composite):
        return None
    (elemwise,) = elemwise
    if len(elemwise.inputs) != len(node.inputs) or elemwise.outputs[0].ndim != 1:
        return None
    reads = []
    for outer, inner in zip(node.inputs, elemwise.inputs, strict=True):
        if str(outer.type.dtype) not in _DTYPES:
            return None
        if isinstance(outer.type, ScalarType):
            reads.append("scalar")
        elif outer.type.ndim == 0:
            reads.append("0d")
        elif outer.type.ndim == 1:
            reads.append("broadcast" if inner.type.broadcastable[0] else "run")
        else:
            return None
    if "run" not in reads:
        return None
    reduced = op.reduced_outputs or (None,) * len(node.outputs)
    writes = []
    for outer, spec in zip(node.outputs, reduced, strict=True):
        if str(outer.type.dtype) != "float64":
            return None
        if spec is None:
            if getattr(outer.type, "ndim", None) != 1:
                return None
            writes.append("run")
            continue
        reduce_op, axes, identity, acc_dtype = spec
        if not isinstance(reduce_op, Add) or tuple(axes) != (0,) or str(acc_dtype) != "float64":
            return None
        if float(identity) != 0.0:
            return None
        writes.append("scalar" if isinstance(outer.type, ScalarType) else "0d")
    body = body_lines(elemwise.op.scalar_op)
    if body is None:
        return None
    return {"reads": reads, "writes": writes, "body": body}


def loop_source(plan: dict) -> str:
    """Source of ``vector_loop(i0, i1, ...)`` for a plan of :func:`_plan`."""
    reads, writes = plan["reads"], plan["writes"]
    lines, outputs = plan["body"]
    args = [f"i{i}" for i in range(len(reads))]
    first = reads.index("run")
    src = [f"def vector_loop({', '.join(args)}):", f"    n = i{first}.shape[0]"]
    for i, kind in enumerate(reads):
        if kind == "run" and i != first:
            src += [f"    if i{i}.shape[0] != n:", "        raise ValueError('runs differ')"]
    loads = {}
    for i, kind in enumerate(reads):
        if kind == "scalar":
            src.append(f"    x{i} = i{i}")
        elif kind == "0d":
            src.append(f"    x{i} = i{i}[()]")
        elif kind == "broadcast":
            src.append(f"    x{i} = i{i}[0]")
        else:
            loads[i] = f"        x{i} = i{i}[k]"
    for j, kind in enumerate(writes):
        src.append(f"    o{j} = np.empty(n)" if kind == "run" else f"    o{j} = 0.0")
    src.append("    for k in range(n):")
    src += list(loads.values())
    src += [f"        {line}" for line in lines]
    for j, kind in enumerate(writes):
        step = "[k] =" if kind == "run" else " +="
        src.append(f"        o{j}{step} {outputs[j]}")
    results = []
    for j, kind in enumerate(writes):
        if kind == "0d":
            src += [f"    r{j} = np.empty(())", f"    r{j}[()] = o{j}"]
            results.append(f"r{j}")
        else:
            results.append(f"o{j}")
    returned = results[0] if len(results) == 1 else f"({', '.join(results)},)"
    src.append(f"    return {returned}")
    return "\n".join(src) + "\n"


def _vector_loop_class() -> type:
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    class _VectorLoop(Op):
        """A fused loop over runs compiled from generated source (see the module docstring).

        ``original`` is the ``FusedElemwise`` it replaces: it gives the output types and
        evaluates the loop outside numba.
        """

        __props__ = ("original", "source")

        def __init__(self, original: Any, source: str):
            self.original = original
            self.source = source

        def make_node(self, *inputs):
            template = self.original.make_node(*inputs)
            return Apply(self, list(inputs), [out.type() for out in template.outputs])

        def perform(self, node, inputs, output_storage):
            results = self.original.fn(*inputs)
            for storage, value in zip(output_storage, results, strict=True):
                storage[0] = value

        def cache_key(self) -> str:
            text = f"{_VERSION}|{sorted(FASTMATH)}|{_math_digest()}|{self.source}"
            return hashlib.sha256(text.encode()).hexdigest()

    _VectorLoop.__name__ = _VectorLoop.__qualname__ = "VectorLoop"
    return _VectorLoop


@functools.cache
def _math_digest() -> str:
    """Hash of vector_math's source: the compiled loop contains its functions."""
    from pathlib import Path

    from bayes_scaling.model import vector_math

    return hashlib.sha256(Path(vector_math.__file__).read_bytes()).hexdigest()[:16]


_CLASS: list[type] = []  # the VectorLoop class, once registered with PyTensor


def VectorLoop(original: Any, source: str) -> Any:  # noqa: N802 - builds the Op lazily
    """A :class:`VectorLoop` Op (its class is made on first use, so that importing this module
    does not import PyTensor)."""
    _register()
    return _CLASS[0](original, source)


def _funcify(op: Any, node: Any, **kwargs: Any) -> tuple[Any, str]:
    """PyTensor's numba dispatch for :class:`VectorLoop`: the compiled loop and its cache key.
    (The signature is PyTensor's dispatch protocol; its options do not apply here.)"""
    import numba

    from bayes_scaling.model import vector_math

    namespace = {
        "np": np,
        "vm_exp": vector_math.exp,
        "vm_log": vector_math.log,
        "vm_log1p": vector_math.log1p,
    }
    exec(compile(op.source, "<vector_loop>", "exec"), namespace)  # noqa: S102 - our own source
    fn = numba.njit(fastmath=set(FASTMATH), error_model="numpy")(namespace["vector_loop"])
    return fn, op.cache_key()


def _register() -> None:
    if _CLASS:
        return
    from pytensor.compile.mode import optdb
    from pytensor.graph.rewriting.basic import dfs_rewriter, node_rewriter
    from pytensor.link.numba.dispatch.basic import register_funcify_and_cache_key

    cls = _vector_loop_class()
    register_funcify_and_cache_key(cls)(_funcify)

    @node_rewriter(None)
    def vectorise_loop(fgraph, node):
        return vectorise_loops(node)

    optdb.register(f"{TAG}_rewrite", dfs_rewriter(vectorise_loop), TAG, position=100.5)
    _CLASS.append(cls)


def vectorise_loops(node: Any) -> list | None:
    """The outputs of a :class:`VectorLoop` replacing ``node``, or None to leave it (not a
    plain fused loop, or any error: PyTensor's own loop gives the same values)."""
    try:
        plan = _plan(node)
        if plan is None:
            return None
        op = VectorLoop(node.op, loop_source(plan))
        return op.make_node(*node.inputs).outputs
    except Exception:  # noqa: BLE001 - PyTensor internals changed: keep its own loop
        return None


def enabled() -> bool:
    """Whether compiles vectorise loops (:data:`ENV_SWITCH`); does not import PyTensor."""
    return switched_on(ENV_SWITCH)


def setting() -> str:
    """The loop setting as text, for cache keys of compiled models."""
    return f"vector_loop={_VERSION}" if enabled() else "vector_loop=off"


def numba_mode() -> Any:
    """PyTensor's ``NUMBA`` mode with :func:`vectorise_loops` switched on; the plain
    ``"NUMBA"`` mode when :data:`ENV_SWITCH` is off or the rewrite cannot be set up (same
    values to rounding, slower loops)."""
    if not enabled():
        return "NUMBA"
    try:
        from pytensor.compile.mode import get_mode

        _register()
        return get_mode("NUMBA").including(TAG)
    except Exception:  # noqa: BLE001 - PyTensor internals changed: its own loops
        return "NUMBA"
