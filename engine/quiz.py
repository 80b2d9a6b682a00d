"""Predict, then reveal: what a step asks the learner, and whether a guess is right.

In predict mode each step taken with ``n`` hides its number until the learner
guesses it. A forward step asks for the node's value; a backward step asks for
its chain-rule product ``∂J/∂child · ∂child/∂parent``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import expr as ex
from engine.steps import BackwardStep, ForwardStep

REL_TOL = 5e-3
"""A guess is right within 0.5 % of the answer: three significant digits are enough."""
ABS_TOL = 1e-6
"""... or within this of it, for answers at or near zero."""


@dataclass(frozen=True, slots=True)
class Answer:
    """One step's guess, as judged.

    Attributes:
        position: The step (the session's position once it was taken).
        guess: What the learner typed, or None when they asked to see it instead.
        answer: The step's number.
    """

    position: int
    guess: float | None
    answer: float

    @property
    def right(self) -> bool:
        return self.guess is not None and is_right(self.guess, self.answer)


def is_right(guess: float, answer: float) -> bool:
    """Whether ``guess`` is within 0.5 % (or 1e-6) of ``answer``; never for a non-finite answer."""
    if not (math.isfinite(guess) and math.isfinite(answer)):
        return False
    # (1 + 1e-9): 6.03 for 6 is 0.5 % off as a person counts it, 0.03000000000000025 in floats
    return abs(guess - answer) <= max(REL_TOL * abs(answer), ABS_TOL) * (1 + 1e-9)


def asks(step: ForwardStep | BackwardStep) -> bool:
    """Whether a step is worth a guess: not a node that only names a number or another name
    (``k = 3``, ``u = x``: the question would hold its answer), and not a non-finite number."""
    if isinstance(step, ForwardStep) and isinstance(step.tree, (ex.Num, ex.Name, ex.Const)):
        return False
    return math.isfinite(answer_of(step))


def answer_of(step: ForwardStep | BackwardStep) -> float:
    """The number a step asks for: a forward step's value, a backward step's product."""
    return step.value if isinstance(step, ForwardStep) else step.product


@dataclass(frozen=True, slots=True)
class Score:
    """The guesses of one pass so far."""

    right: int
    answered: int
    """Steps guessed (right or not)."""
    skipped: int
    """Steps revealed without a guess."""

    def __str__(self) -> str:
        text = f"{self.right} of {self.answered} right"
        return text + (f", {self.skipped} skipped" if self.skipped else "")
