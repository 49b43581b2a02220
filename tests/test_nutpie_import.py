"""nutpie imported without ArviZ's statistics and plotting halves, and the fallback.

Each check runs in a fresh interpreter: an import by an earlier test would hide the effect.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

#: Modules a fit must not load just because nutpie imports ``arviz``.
HEAVY = ("arviz_stats", "arviz_plots", "matplotlib", "scipy.stats")


def _run(body: str) -> dict:
    script = textwrap.dedent(
        """
        import json, sys
        from bayes_scaling.model import nutpie_import
        """
    ) + textwrap.dedent(body)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_nutpie_imports_without_arviz_stats_or_plots():
    seen = _run(
        f"""
        nutpie = nutpie_import.import_nutpie()
        heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
        arviz_left = "arviz" in sys.modules
        import arviz, arviz_base
        used = sys.modules["nutpie.sample"].arviz
        print(json.dumps({{
            "heavy": heavy,
            "stand_in_left_in_sys_modules": arviz_left,
            "converter_from_base": used.from_dict is arviz_base.from_dict,
            "premise": arviz.from_dict is arviz_base.from_dict
                and arviz.dict_to_dataset is arviz_base.dict_to_dataset,
            "real_arviz_after": type(arviz).__name__ == "module" and hasattr(arviz, "summary"),
            "other_names_forwarded": used.summary is arviz.summary,
            "same_module_again": nutpie_import.import_nutpie() is nutpie,
        }}))
        """
    )
    assert seen == {
        "heavy": [],
        "stand_in_left_in_sys_modules": False,
        "converter_from_base": True,
        "premise": True,
        "real_arviz_after": True,
        "other_names_forwarded": True,
        "same_module_again": True,
    }


#: Ways the import under the stand-in can fail: the stand-in itself, or nutpie half-way (after
#: ``nutpie.sample`` was imported with the stand-in).
_SABOTAGE = {
    "the stand-in fails": """
        class Broken:
            def __init__(self, name):
                raise RuntimeError("stand-in unavailable")
        nutpie_import._ArvizStandIn = Broken
        """,
    "nutpie's import fails half-way": """
        import builtins
        real_import = builtins.__import__
        def failing(name, *args, **kwargs):  # fails after nutpie.sample is imported
            if name == "nutpie.compile_stan" and "arviz" in sys.modules:
                builtins.__import__ = real_import
                raise ImportError("simulated")
            return real_import(name, *args, **kwargs)
        builtins.__import__ = failing
        """,
}


@pytest.mark.parametrize("sabotage", list(_SABOTAGE))
def test_any_failure_falls_back_to_a_plain_import(sabotage):
    seen = _run(
        textwrap.dedent(_SABOTAGE[sabotage])
        + textwrap.dedent(
            """
            nutpie = nutpie_import.import_nutpie()
            import arviz
            print(json.dumps({
                "nutpie_uses_real_arviz": sys.modules["nutpie.sample"].arviz is arviz,
                "has_sample": callable(nutpie.sample),
            }))
            """
        )
    )
    assert seen == {"nutpie_uses_real_arviz": True, "has_sample": True}


def test_plain_import_when_arviz_is_already_loaded():
    seen = _run(
        """
        import arviz
        nutpie = nutpie_import.import_nutpie()
        print(json.dumps({"same_arviz": sys.modules["nutpie.sample"].arviz is arviz}))
        """
    )
    assert seen == {"same_arviz": True}
