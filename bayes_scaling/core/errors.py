"""Error types: every user-facing failure is a ``BayesScalingError`` with a one-paragraph message.

The CLI prints ``str(error)`` without a traceback and exits 1; ``DiagnosticsError`` exits 2.
"""

from __future__ import annotations


class BayesScalingError(Exception):
    """Base class of errors caused by the user's input or files (not by bugs)."""


class DataError(BayesScalingError, ValueError):
    """A runs table is missing a column, holds an invalid value, or is too small for the law."""


class FormulaError(BayesScalingError, ValueError):
    """A formula uses a name or syntax outside the whitelist, or does not parse."""


class PriorError(BayesScalingError, ValueError):
    """A prior's text does not parse or names an unknown family or parameter."""


class LawError(BayesScalingError, ValueError):
    """An unknown law name or an invalid law specification (TOML or formula)."""


class FitFileError(BayesScalingError, OSError):
    """A saved fit is missing, corrupt, foreign, or would overwrite an existing file."""


class QuestionError(BayesScalingError, ValueError):
    """A question (prediction, allocation, budget) was asked with invalid arguments."""


class DiagnosticsError(BayesScalingError):
    """A fit failed the diagnostics gate and ``strict=True`` was requested."""
