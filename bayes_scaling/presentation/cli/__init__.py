"""The ``bayes-scaling`` command line.

The typer ``app`` and the helpers every command shares live in :mod:`.common`; each other module
of this package adds the commands of one area (``core``: fit, summary, predict, laws, demo;
``decisions``: optimal, budget; ...) and is imported here so that its commands register. So a
module here imports at its top only the standard library, typer, rich, :mod:`bayes_scaling.core`
and :mod:`.common`; PyMC, nutpie, ArviZ, matplotlib (and the layers that load them) are imported
inside the commands that need them, and ``--help`` and ``laws`` load none of them
(``tests/test_startup.py``).
"""

from __future__ import annotations

import importlib
import pkgutil

from bayes_scaling.presentation.cli.common import app

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "common"):
    importlib.import_module(f"{__name__}.{_module}")


def main() -> None:  # pragma: no cover - console entry point
    """Entry point of the ``bayes-scaling`` script."""
    app()


__all__ = ["app", "main"]
