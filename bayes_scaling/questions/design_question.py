"""What a run design asks: one settings object, :class:`DesignQuestion`.

The same frozen object goes to :func:`~bayes_scaling.questions.design.rank_candidates`,
:func:`~bayes_scaling.questions.design.choose_batch` and
:func:`~bayes_scaling.questions.design_policy.budget_batch` (the ``plan`` command builds one from
its flags), so the target, the objective and the fantasies are said once and checked once.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from bayes_scaling.core.constants import CI
from bayes_scaling.core.errors import QuestionError
from bayes_scaling.core.intervals import check_ci
from bayes_scaling.questions.design_tools import positive_one

__all__ = ["N_FANTASIES", "OBJECTIVES", "TARGETS", "DesignQuestion"]

#: Target quantities whose uncertainty a design shrinks.
TARGETS = ("loss", "optimal", "probability")
#: What a design's score reduces.
OBJECTIVES = ("width", "variance", "regret")
#: Fantasised outcomes per candidate: 200 candidates x 2000 draws rank in about a second.
N_FANTASIES = 32


@dataclass(frozen=True)
class DesignQuestion:
    """What a run design should learn about, and how the candidates' value is estimated.

    Parameters
    ----------
    target : {"loss", "optimal", "probability"}
        ``loss``: expected loss ``mu`` at (N, D) when N or D is given, else at ``compute``
        along the compute-optimal frontier. ``optimal``: ``log N_opt`` at ``compute`` (widths
        in e-folds of N). ``probability``: per draw, P(observed loss <= ``loss_target``) of a
        run at the budget's optimum.
    objective : {"width", "variance", "regret"}
        What the score reduces: the width of the target's ``ci`` interval, its variance, or the
        expected regret (in expected loss) of the compute-optimal N chosen at ``compute``.
    compute : float, optional
        The target budget C in FLOPs (needed by every target but ``loss`` at (N, D), and by
        ``objective="regret"``).
    N, D : float, optional
        The target point of ``target="loss"``.
    loss_target : float, optional
        The loss of ``target="probability"``.
    n_fantasies : int
        Fantasised outcomes per candidate (default :data:`N_FANTASIES`, at least 2).
    seed : int, optional
        Seed of the fantasies (default: derived from the fit's seed).
    ci : float
        Probability of the central interval whose width ``objective="width"`` measures.

    Raises
    ------
    QuestionError
        When a setting is invalid (an unknown target or objective, fewer than 2 fantasies, a
        ``ci`` outside (0, 1), a budget, point or loss that is not one finite number > 0).

    Examples
    --------
    >>> DesignQuestion(target="optimal", compute=1e23).objective
    'width'
    """

    target: str = "loss"
    objective: str = "width"
    compute: float | None = None
    N: float | None = None
    D: float | None = None
    loss_target: float | None = None
    n_fantasies: int = N_FANTASIES
    seed: int | None = None
    ci: float = CI

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.target not in TARGETS:
            raise QuestionError(f"target must be one of {', '.join(TARGETS)}, not {self.target!r}")
        if self.objective not in OBJECTIVES:
            raise QuestionError(
                f"objective must be one of {', '.join(OBJECTIVES)}, not {self.objective!r}"
            )
        set_(self, "n_fantasies", _whole("n_fantasies", self.n_fantasies, at_least=2))
        if self.seed is not None:
            set_(self, "seed", _whole("seed", self.seed, at_least=0))
        for name in ("compute", "N", "D", "loss_target"):
            set_(self, name, positive_one(name, getattr(self, name)))
        set_(self, "ci", check_ci(self.ci))

    @classmethod
    def of(cls, question: DesignQuestion | None) -> DesignQuestion:
        """``question`` itself, or the default question for None; QuestionError otherwise."""
        if question is None:
            return cls()
        if not isinstance(question, cls):
            raise QuestionError(
                "question must be a DesignQuestion (e.g. DesignQuestion(compute=1e23)), "
                f"not {type(question).__name__}"
            )
        return question


def _whole(name: str, value: Any, *, at_least: int) -> int:
    """``value`` as an int >= ``at_least``; QuestionError otherwise."""
    whole = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not whole or not float(value).is_integer() or value < at_least:
        raise QuestionError(f"{name} must be a whole number >= {at_least}, not {value!r}")
    return int(value)
