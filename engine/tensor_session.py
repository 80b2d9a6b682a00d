"""The state of one walk through a tensor graph: the step, the element under the cursor, the zoom.

The app (``tui/tensor_app.py``) owns one and only displays it.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from engine.graphfile import LoadedGraph
from engine.tensor_graph import (TENSOR_H, ElementNudge, TensorBackwardStep, TensorForwardStep, compute_tensor,
                                 nudge_element)
from engine.tensor_zoom import Zoom, zoom


class TensorSession:
    """Position ``k`` means ``k`` steps taken: ``0`` is the start, forward steps ``1 … F``, backward ``F+1 … F+B``.

    Attributes:
        cursor: The element ``(row, column)`` under the cursor in the current step's matrix.
        zoomed: Whether the element under the cursor is shown as its scalar computation.
    """

    def __init__(self, loaded: LoadedGraph, inputs: Mapping[str, float] | None = None, h: float = TENSOR_H) -> None:
        self.loaded = loaded
        self.graph = loaded.graph
        self.h = h
        self.walk = compute_tensor(self.graph, inputs)
        self.position = 0
        self.cursor = (0, 0)
        self.zoomed = False
        self.nudge: ElementNudge | None = None
        """The last element nudged with ``c`` (cleared by a move)."""

    @property
    def source(self) -> str:
        return self.loaded.source

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

    @property
    def matrix(self) -> np.ndarray | None:
        """The current step's result: a forward step's value, a backward step's contribution."""
        s = self.step
        if s is None:
            return None
        return s.value if isinstance(s, TensorForwardStep) else s.contribution

    def go(self, position: int) -> None:
        self.position = max(0, min(self.total, position))
        self.nudge = None
        self._clamp()

    def next(self) -> None:
        self.go(self.position + 1)

    def back(self) -> None:
        self.go(self.position - 1)

    def finish_forward(self) -> None:
        self.go(len(self.walk.forward_steps))

    def move(self, di: int, dj: int) -> None:
        """Move the cursor inside the current matrix (it stops at the edges)."""
        self.cursor = (self.cursor[0] + di, self.cursor[1] + dj)
        self.nudge = None
        self._clamp()

    def _clamp(self) -> None:
        m = self.matrix
        rows, cols = m.shape if m is not None and m.ndim == 2 else (1, 1)
        self.cursor = (max(0, min(rows - 1, self.cursor[0])), max(0, min(cols - 1, self.cursor[1])))

    def zoom(self) -> Zoom | None:
        """The element under the cursor of a backward step, as its scalar sum (None on a forward step)."""
        s = self.step
        if not isinstance(s, TensorBackwardStep):
            return None
        return zoom(self.walk, s.index, *self.cursor)

    def check(self) -> ElementNudge | None:
        """Nudge the element under the cursor of a backward step into an input; None elsewhere."""
        s = self.step
        if not isinstance(s, TensorBackwardStep) or not self.graph.is_input(s.parent):
            return None
        self.nudge = nudge_element(self.walk, s.parent, *self.cursor, h=self.h)
        return self.nudge
