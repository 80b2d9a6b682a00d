"""The state of one walk through a tensor graph: the step, the matrix and element under the cursor, the zoom.

The app (``tui/tensor_app.py``) owns one and only displays it. Besides the step it holds what
the learner looks at:

- ``browsing``: None while the step's own matrix is shown (its result), or the name of the
  node whose value and gradient the learner opened from the tree (enter); a step goes back
  to the step's matrix.
- ``cursor``: the element ``(row, column)`` under the cursor in that matrix.
- ``zoomed`` and ``term``: the element shown as its scalar sum, and the term of the sum the
  learner has stepped to (None: the whole sum).
- ``nudge`` and ``check``: the last nudge of one element and the last whole-tensor gradient
  check, each kept only while it still answers for what is on screen (:meth:`shown_nudge`, :meth:`shown_check`).

It also answers, for the tree and the picture, what the scalar session answers: which value and
which gradient the walk has shown so far (:meth:`value_shown`, :meth:`grad`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from engine import text as tx
from engine.graphfile import LoadedGraph
from engine.tensor_graph import (TENSOR_H, ElementNudge, GradientCheck, TensorBackwardStep, TensorForwardStep,
                                 compute_tensor, gradient_check, nudge_element)
from engine.tensor_zoom import Zoom, zoom

SUMMARY_ELEMENTS = 3
"""A matrix of up to this many elements is written out in full in a summary; larger ones as first … last."""


def short(x: float, digits: int = 4) -> str:
    """A number in a summary: ``digits`` significant digits (the matrix view has every one)."""
    if x != x or x in (float("inf"), float("-inf")) or x == int(x) and abs(x) < 1e6:
        return tx.num(x)
    return f"{x:.{digits}g}"


def summary(a, digits: int = 4) -> str:
    """A value in a few characters: ``0.6931`` for a number or 1×1, ``[0.5; -0.25]`` for a small
    matrix (rows split by ``;``), ``[0.1192 … 0.9526]`` (first … last, row by row) for a larger one.

    Args:
        digits: Significant digits of each number shown.
    """
    a = np.asarray(a)
    if a.size == 1:
        return short(float(a.reshape(())), digits)
    if a.size <= SUMMARY_ELEMENTS:
        return "[" + "; ".join(" ".join(short(float(x), digits) for x in row) for row in a) + "]"
    flat = a.reshape(-1)
    return f"[{short(float(flat[0]), digits)} … {short(float(flat[-1]), digits)}]"


@dataclass(frozen=True, slots=True)
class GradShown:
    """A gradient as far as the walk has come: the sum of the contributions arrived so far."""

    value: np.ndarray
    arrived: int
    of: int

    @property
    def complete(self) -> bool:
        return self.arrived >= self.of


class TensorSession:
    """Position ``k`` means ``k`` steps taken: ``0`` is the start, forward steps ``1 … F``, backward ``F+1 … F+B``.

    Attributes:
        cursor: The element ``(row, column)`` under the cursor in the matrix shown.
        zoomed: Whether the element under the cursor is shown as its scalar computation.
        term: While zoomed, the term of the sum stepped to (0-based), or None for the whole sum.
        browsing: The node whose value and gradient are shown instead of the step's result, or None.
        selected: The name on the tree cursor's line.
    """

    pending = None
    """No number is hidden for a guess here (the picture asks, as of a scalar session)."""
    notation = tx.PARTIAL
    breakpoints: frozenset[str] = frozenset()
    value_changes: dict = {}
    grad_changes: dict = {}

    def __init__(self, loaded: LoadedGraph, inputs: Mapping[str, float] | None = None, h: float = TENSOR_H) -> None:
        self.loaded = loaded
        self.graph = loaded.graph
        self.h = h
        self.walk = compute_tensor(self.graph, inputs)
        self.position = 0
        self.cursor = (0, 0)
        self.zoomed = False
        self.term: int | None = None
        self.browsing: str | None = None
        self.selected: str | None = self.graph.inputs[0].name if self.graph.inputs else self.graph.output
        self.nudge: ElementNudge | None = None
        """The last element nudged (see :meth:`shown_nudge`)."""
        self.check: GradientCheck | None = None
        """The last whole-tensor gradient check (``c``), for :attr:`check_walk`'s walk."""
        self.check_walk = None

    @property
    def source(self) -> str:
        return self.loaded.source

    @property
    def n_forward(self) -> int:
        return len(self.walk.forward_steps)

    @property
    def total(self) -> int:
        return len(self.walk.forward_steps) + len(self.walk.backward_steps)

    @property
    def step(self) -> TensorForwardStep | TensorBackwardStep | None:
        """The step just taken, or None at the start."""
        k = self.position
        if k == 0:
            return None
        nf = len(self.walk.forward_steps)
        return self.walk.forward_steps[k - 1] if k <= nf else self.walk.backward_steps[k - 1 - nf]

    current = step
    """The scalar session's name for it (the tree and the picture read ``current``)."""

    def step_node(self) -> str | None:
        """The node the step evaluates, or whose gradient it adds to."""
        s = self.step
        if isinstance(s, TensorForwardStep):
            return s.node
        if isinstance(s, TensorBackwardStep):
            return s.parent
        return None

    # ------------------------------------------------------------------ what the walk has shown

    def value_shown(self, name: str) -> bool:
        """An input's value from the start; a node's once its forward step is taken."""
        if self.graph.is_input(name):
            return True
        nf = self.n_forward
        done = min(self.position, nf)
        return any(st.node == name for st in self.walk.forward_steps[:done])

    def value(self, name: str) -> np.ndarray:
        return self.walk.values[name]

    def grad(self, name: str) -> GradShown | None:
        """The gradient of ``name`` as far as the backward pass has come (None before its first contribution)."""
        nf = self.n_forward
        taken = self.position - nf
        if taken <= 0:
            return None
        if name == self.graph.output:
            return GradShown(np.ones(self.graph.shapes[name]), 1, 1)
        last = None
        for st in self.walk.backward_steps[:taken]:
            if st.parent == name:
                last = st
        return None if last is None else GradShown(last.grad_after, last.arrived, last.of)

    def changed_by_last_step(self) -> tuple[set[str], set[str]]:
        """The value and the gradient the last step changed (underlined in the picture)."""
        s = self.step
        if isinstance(s, TensorForwardStep):
            return {s.node}, set()
        if isinstance(s, TensorBackwardStep):
            return set(), {s.parent}
        return set(), set()

    def warnings_at(self, name: str) -> tuple:
        return ()

    def warning_sites(self) -> tuple:
        return ()

    # ------------------------------------------------------------------ the matrix under the cursor

    @property
    def matrix(self) -> np.ndarray | None:
        """The matrix the cursor moves in: the node browsed's value, else the step's result (a forward
        step's value, a backward step's contribution)."""
        if self.browsing is not None:
            return self.walk.values[self.browsing]
        s = self.step
        if s is None:
            return None
        return s.value if isinstance(s, TensorForwardStep) else s.contribution

    @property
    def matrix_name(self) -> str | None:
        """What the matrix under the cursor is called: a node's name, or ``∂J/∂w`` for a step's contribution."""
        if self.browsing is not None:
            return self.browsing
        s = self.step
        if isinstance(s, TensorForwardStep):
            return s.node
        if isinstance(s, TensorBackwardStep):
            return tx.d(self.graph.output, s.parent)
        return None

    def element_text(self) -> str:
        """``[1,0]`` for the element under the cursor; empty for a number."""
        m = self.matrix
        if m is None or m.ndim == 0:
            return ""
        return f"[{self.cursor[0]},{self.cursor[1]}]"

    def _reset_view(self) -> None:
        self.zoomed = False
        self.term = None

    def go(self, position: int) -> None:
        self.position = max(0, min(self.total, position))
        self.browsing = None
        self._reset_view()
        self._clamp()

    def next(self) -> None:
        self.go(self.position + 1)

    def back(self) -> None:
        self.go(self.position - 1)

    def finish_forward(self) -> None:
        self.go(len(self.walk.forward_steps))

    def browse(self, name: str | None) -> None:
        """Show ``name``'s value and gradient (None: the step's result again); the cursor stays where it fits."""
        if name is not None and name not in self.walk.values:
            raise KeyError(name)
        self.browsing = name
        self._reset_view()
        self._clamp()

    def move(self, di: int, dj: int) -> None:
        """Move the cursor inside the current matrix (it stops at the edges)."""
        self.cursor = (self.cursor[0] + di, self.cursor[1] + dj)
        self.term = None
        self._clamp()

    def _clamp(self) -> None:
        m = self.matrix
        rows, cols = m.shape if m is not None and m.ndim == 2 else (1, 1)
        self.cursor = (max(0, min(rows - 1, self.cursor[0])), max(0, min(cols - 1, self.cursor[1])))

    # ------------------------------------------------------------------ zoom

    def zoom(self) -> Zoom | None:
        """The element under the cursor of a backward step's contribution, as its scalar sum (None elsewhere)."""
        s = self.step
        if self.browsing is not None or not isinstance(s, TensorBackwardStep):
            return None
        return zoom(self.walk, s.index, *self.cursor)

    def step_term(self, by: int) -> bool:
        """While zoomed, add the next term of the sum (``by=1``) or take the last one off (``by=-1``).

        :attr:`term` counts the terms added so far (None: none stepped yet, the whole sum shown at
        once). False when there is no term to go to (the sum is complete, or back at none).
        """
        z = self.zoom() if self.zoomed else None
        n = len(z.terms) if z is not None else 0
        at = (self.term or 0) + by
        if n == 0 or not 0 <= at <= n or self.term is None and by < 0:
            return False
        self.term = at
        return True

    # ------------------------------------------------------------------ finite differences

    def fd_target(self) -> tuple[str, int, int] | None:
        """The input element the finite-difference panel nudges: the cursor's element of an input's
        matrix (a backward step into an input, or an input browsed from the tree), else None."""
        s = self.step
        if self.browsing is not None:
            name = self.browsing
        elif isinstance(s, TensorBackwardStep):
            name = s.parent
        else:
            return None
        if not self.graph.is_input(name):
            return None
        return (name, *self.cursor)

    def nudge_now(self) -> ElementNudge | None:
        """The nudge of :meth:`fd_target` (the app works it out in a worker thread, see :meth:`set_nudge`)."""
        target = self.fd_target()
        if target is None:
            return None
        return nudge_element(self.walk, *target, h=self.h)

    def shown_nudge(self) -> ElementNudge | None:
        """The nudge for what is on screen now, if it is worked out."""
        n, target = self.nudge, self.fd_target()
        if n is None or target is None or n.h != self.h or n.name != target[0]:
            return None
        index = () if np.ndim(self.walk.values[target[0]]) == 0 else target[1:]
        return n if tuple(n.index) == tuple(index) and self._nudge_walk is self.walk else None

    _nudge_walk = None

    def set_nudge(self, nudge: ElementNudge | None, walk) -> None:
        """Keep a nudge worked out on ``walk`` (:meth:`shown_nudge` shows it while it answers for the screen)."""
        self.nudge, self._nudge_walk = nudge, walk

    def check_target(self) -> str | None:
        """The input ``c`` checks whole: the one the panel nudges."""
        target = self.fd_target()
        return None if target is None else target[0]

    def gradient_check(self, name: str) -> GradientCheck:
        """The course's whole-tensor check of ``name`` (kept for the panel while the walk stays)."""
        found = gradient_check(self.walk, name, h=self.h)
        self.check, self.check_walk = found, self.walk
        return found

    def shown_check(self) -> GradientCheck | None:
        """The last check, if it is of the input the panel shows and of this walk."""
        c = self.check
        if c is None or self.check_walk is not self.walk or c.name != self.check_target() or c.h != self.h:
            return None
        return c
