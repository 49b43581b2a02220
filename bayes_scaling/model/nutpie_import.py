"""Import nutpie without the statistics and plotting halves of ArviZ.

nutpie's sampler module imports the ``arviz`` meta-package (arviz-base, arviz-stats with
scipy.stats, arviz-plots with matplotlib: about 1 s of every fit's start-up) only to call
``arviz.from_dict`` and ``arviz.dict_to_dataset``, which ArviZ re-exports from arviz-base.
:func:`import_nutpie` imports nutpie while a stand-in ``arviz`` module is registered: the
stand-in serves those two names from arviz-base and anything else from the real ArviZ, imported
on first use. It leaves ``sys.modules`` as soon as nutpie is imported, so every other
``import arviz`` gets the real package. Any failure means a plain ``import nutpie``.

This relies on nutpie's and ArviZ's internals, so both have upper bounds in ``pyproject.toml``;
the tests check the premise (ArviZ re-exports arviz-base's converters) and the fallback.
"""

from __future__ import annotations

import importlib
import sys
import types

__all__ = ["import_nutpie"]

#: The names nutpie takes from ``arviz``; ArviZ re-exports them from arviz-base.
FROM_BASE = ("from_dict", "dict_to_dataset")


class _ArvizStandIn(types.ModuleType):
    """``arviz`` while nutpie imports: arviz-base's converters, else the real ArviZ."""

    def __getattr__(self, name: str):
        if name in FROM_BASE:
            return getattr(importlib.import_module("arviz_base"), name)
        return getattr(importlib.import_module("arviz"), name)


def _plain() -> types.ModuleType:
    return importlib.import_module("nutpie")


def import_nutpie() -> types.ModuleType:
    """The ``nutpie`` module, imported without importing ArviZ when it is not loaded yet.

    A plain import when nutpie or ArviZ is already imported.
    """
    if "nutpie" in sys.modules or "arviz" in sys.modules:
        return _plain()
    try:
        stand_in = _ArvizStandIn("arviz")
        sys.modules["arviz"] = stand_in
        try:
            return _plain()
        finally:
            if sys.modules.get("arviz") is stand_in:
                del sys.modules["arviz"]
    except Exception:  # noqa: BLE001 - any failure: forget the partial import, import plainly
        for name in [m for m in sys.modules if m == "nutpie" or m.startswith("nutpie.")]:
            del sys.modules[name]
        return _plain()
