"""Predict mode on tensor graphs: guessing a step's shape (where learners get stuck), or one element.

A forward step asks for the node's shape; a backward step for the shape of its
contribution, which must come out as the shape of the parent (``(3, 4) != (3, 1)``
is the course forum's most common error). An element's guess is judged as a scalar
guess is (:func:`engine.quiz.is_right`).
"""

from __future__ import annotations

import re

from engine import tensor_expr as te
from engine.quiz import is_right

_SHAPE = re.compile(r"\s*[\(\[]?\s*(\d+)\s*(?:[x×X*,]|\s)\s*(\d+)\s*[\)\]]?\s*\Z")
_SCALAR = frozenset(("scalar", "number", "()", "1", ""))


def parse_shape(text: str) -> te.Shape:
    """``2x3``, ``(2×3)``, ``2, 3``, ``[2 3]`` → ``(2, 3)``; ``scalar`` or ``()`` → ``()``.

    Raises:
        ValueError: with a message saying how to write a shape.
    """
    if text.strip().lower() in _SCALAR - {""}:
        return ()
    m = _SHAPE.match(text)
    if m is None:
        raise ValueError(f"{text.strip()!r} is not a shape: write rows×columns, such as 2x3 (or 'scalar')")
    return (int(m.group(1)), int(m.group(2)))


def shape_asked(step) -> te.Shape:
    """The shape a step asks for: a forward step's node's, a backward step's contribution's (its parent's)."""
    return tuple(step.shape) if hasattr(step, "shape") else tuple(step.contribution.shape)


def shape_right(step, guess: str) -> tuple[bool, str]:
    """Whether a typed shape is the step's, and a line saying so (``2×1 ✓`` or ``2×1, not 1×2``).

    Raises:
        ValueError: the text is not a shape.
    """
    got, want = parse_shape(guess), shape_asked(step)
    if got == want:
        return True, f"{te.shape_text(want)} ✓"
    return False, f"{te.shape_text(want)}, not {te.shape_text(got)}"


def element_right(step, i: int, j: int, guess: float) -> bool:
    """Whether a guess of element [i, j] of a step's result (a forward step's value, a backward step's
    contribution) is right, as a scalar guess is judged."""
    value = step.value if hasattr(step, "shape") else step.contribution
    return is_right(guess, float(value[i, j]) if value.ndim else float(value))
