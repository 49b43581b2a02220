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

import gc
import importlib
import pkgutil

from bayes_scaling.presentation.cli.common import app

for _module in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name != "common"):
    importlib.import_module(f"{__name__}.{_module}")


#: Collector thresholds of a command's process. A command mostly allocates objects that live to
#: its end (modules, arrays, the fit) and few reference cycles, so Python's default (a young
#: collection every 700 allocations, with full collections of a few hundred thousand objects as
#: the imports grow) cost 0.2-0.8 s of a 3-4 s ``fit`` here; cycles are still collected, less
#: often. The Python API leaves the caller's settings alone.
GC_THRESHOLDS = (100_000, 50, 100)


def main() -> None:  # pragma: no cover - console entry point
    """Entry point of the ``bayes-scaling`` script."""
    gc.set_threshold(*GC_THRESHOLDS)
    app()


__all__ = ["app", "main"]
