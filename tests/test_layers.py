"""The architecture holds: one import direction between layers, no cycles, small modules.

Walks ``bayes_scaling/`` with ``ast``, counting imports inside functions too (but not those under
``if TYPE_CHECKING:``, which never run). Layers, lowest first, are the sub-packages named in
:data:`LAYERS`; a module may import its own layer or a lower one. ``bayes_scaling/__init__.py``
and ``bayes_scaling/api.py`` form the facade on top, which nothing inside the package imports.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayes_scaling"
LAYERS = ("core", "inputs", "model", "inference", "questions", "evaluation", "presentation")
FACADE = ("bayes_scaling", "bayes_scaling.api")
MAX_LINES = 400


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path, module: str) -> set[str]:
    """Package modules imported by ``path`` at run time (any depth, TYPE_CHECKING excluded)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bayes_scaling"))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".")
                if not path.name == "__init__.py":
                    pkg = pkg[:-1]
                pkg = pkg[: len(pkg) - (node.level - 1)]
                base = ".".join([*pkg, base] if base else pkg)
            if base.startswith("bayes_scaling"):
                for alias in node.names:
                    found.add(f"{base}.{alias.name}")
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path, name):
            # "from pkg import module" names a module; "from module import name" a name in it
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        graph[name] = targets
    return graph


def _layer(module: str) -> int:
    if module in FACADE:
        return len(LAYERS)
    parts = module.split(".")
    assert len(parts) >= 2 and parts[1] in LAYERS, f"{module} is outside every layer"
    return LAYERS.index(parts[1])


def _package_of(module: str) -> bool:
    return module.count(".") == 1 and module.split(".")[1] in LAYERS


def test_every_module_sits_in_a_layer():
    for module in _graph():
        _layer(module)


def test_no_upward_import_and_nothing_imports_the_facade():
    bad = []
    for module, targets in _graph().items():
        for target in targets:
            if target in FACADE and module not in FACADE:
                bad.append(f"{module} -> {target} (the facade)")
            elif _layer(target) > _layer(module):
                bad.append(f"{module} -> {target}")
    assert not bad, "imports against the layer direction:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    graph = {m: {t for t in ts if not _package_of(t)} for m, ts in _graph().items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: p.name)
def test_module_is_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE.parent)} has {lines} lines"


def test_the_layer_test_sees_a_violation(tmp_path):
    """The walker finds imports inside functions and skips TYPE_CHECKING blocks."""
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bayes_scaling.api import fit\n"
        "def f():\n    from bayes_scaling.questions.predict import predict\n"
    )
    found = _imports(source, "bayes_scaling.core.mod")
    assert "bayes_scaling.questions.predict.predict" in found
    assert not any("api" in f for f in found)
