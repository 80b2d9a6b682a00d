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

What the learner does to it (tui/tensor_actions.py): editing one element (:meth:`set_element`), a new
version of the file (:meth:`replace_graph`), gradient descent (:meth:`descend`), predict mode
(:meth:`guess`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from engine import expr as ex
from engine import tensor_expr as te
from engine.graph import DEFAULT_ALPHA
from engine.graphfile import LoadedGraph, SaveError, value_text
from engine.quiz import Score
from engine.session import SessionState, names_added_removed, settings_changed
from engine import text as tx
from engine.tensor_graph import (TENSOR_H, ElementNudge, GradientCheck, TensorBackwardStep, TensorForwardStep,
                                 TensorGraph, compute_tensor, descent_step, gradient_check, nudge_element, with_element)
from engine.tensor_quiz import element_right, parse_shape, shape_right
from engine.tensor_zoom import Zoom, zoom
from engine.text import d, num, parse_number

Index = tuple[int, int] | tuple[()]
"""An element of an input: ``(i, j)`` in a matrix, ``()`` for a number."""


def element_label(name: str, index: Index) -> str:
    """``w[1,0]``, or ``b`` for a number."""
    return f"{name}[{index[0]},{index[1]}]" if index else name


_ELEMENT = re.compile(r"\s*(\w+)\s*(?:\[\s*(\d+)\s*,\s*(\d+)\s*\])?\s*\Z")


def parse_element(graph: TensorGraph, text: str) -> tuple[str, Index]:
    """``w[1,0]`` → ``("w", (1, 0))``; ``b`` → ``("b", ())`` for a number (or ``(0, 0)`` for a 1×1 matrix).

    Raises:
        ValueError: not an input's element, in one line saying how to write one.
    """
    m = _ELEMENT.match(text)
    example = next((element_label(i.name, (0, 0) if i.value.ndim else ()) for i in graph.inputs), "w[0,0]")
    if m is None:
        raise ValueError(f"{text.strip()!r} is not an element: write the input's name and [row,column],"
                         f" such as {example}")
    name = m.group(1)
    if name not in graph.input_by_name:
        inputs = ", ".join(i.name for i in graph.inputs)
        what = "a node" if name in graph.node_by_name else "not defined"
        raise ValueError(f"{name!r} is {what}: only inputs can be edited ({inputs})")
    value = graph.input_by_name[name].value
    if m.group(2) is None:
        if value.ndim == 0:
            return name, ()
        if value.shape == (1, 1):
            return name, (0, 0)
        raise ValueError(f"{name} is {te.shape_text(value.shape)}: say which element, such as {name}[0,0]")
    i, j = int(m.group(2)), int(m.group(3))
    if value.ndim == 0:
        if (i, j) != (0, 0):
            raise ValueError(f"{name} is a number: write {name}")
        return name, ()
    if not (i < value.shape[0] and j < value.shape[1]):
        raise ValueError(f"[{i},{j}] is outside {name} ({te.shape_text(value.shape)}): rows 0 to {value.shape[0] - 1},"
                         f" columns 0 to {value.shape[1] - 1}")
    return name, (i, j)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """The same numbers bit for bit (0 and -0 differ; so would two NaNs of another kind)."""
    return a.shape == b.shape and np.asarray(a, dtype=float).tobytes() == np.asarray(b, dtype=float).tobytes()


def with_tensor_inputs(loaded: LoadedGraph, values: Mapping[str, np.ndarray]) -> str:
    """The file's text with every element that differs from the file's written where it stands
    (:func:`~engine.tensor_graph.with_element`); every other byte stays.

    Raises:
        SaveError: a generated input (``{randn: …}``) changed: its numbers have no place in the file.
    """
    graph = loaded.graph
    edits: list[tuple[int, str, Index, float]] = []
    generated = []
    for item in graph.inputs:
        new = np.asarray(values.get(item.name, item.value), dtype=float)
        if _same(new, item.value):
            continue
        if item.generated is not None:
            generated.append(f"{item.name} ({item.generated})")
            continue
        if new.ndim == 0:
            edits.append((item.span[0], item.name, (), float(new)))
            continue
        old = np.asarray(item.value, dtype=float)
        for i, j in zip(*np.nonzero((new != old) | (np.signbit(new) != np.signbit(old)))):
            edits.append((item.element_spans[i][j][0], item.name, (int(i), int(j)), float(new[i, j])))
    if generated:
        raise SaveError(f"{', '.join(generated)} {'is' if len(generated) == 1 else 'are'} generated in the file, so "
                        "new values have no place there: replace the generator with rows to save them")
    text = loaded.text
    for _, name, index, value in sorted(edits, key=lambda e: e[0], reverse=True):  # the last first: spans stay true
        if index:
            text = with_element(text, graph, name, *index, value)
        else:
            start, end = graph.input_by_name[name].span
            text = text[:start] + value_text(value) + text[end:]
    return text


@dataclass(frozen=True, slots=True)
class ElementEdit:
    """One element changed with ``e``: its old and new value, and the output before and after."""

    name: str
    index: Index
    old: float
    new: float
    before: float
    after: float

    @property
    def label(self) -> str:
        return element_label(self.name, self.index)


@dataclass(frozen=True, slots=True)
class DescentStep:
    """One step of gradient descent taken with ``d``.

    Attributes:
        number: Which step of this run (1 for the first since the graph or an input last changed).
        largest: The element that moved most, as (name, index, its change).
    """

    number: int
    alpha: float
    params: tuple[str, ...]
    before: float
    after: float
    largest: tuple[str, Index, float]


@dataclass(frozen=True, slots=True)
class TensorAnswer:
    """A guess at a hidden step, as judged.

    Attributes:
        kind: "shape", "element", or None (shown without a guess).
        right: Whether the guess was right (False when not guessed).
        text: The verdict with the answer, in one line.
    """

    position: int
    kind: str | None
    guess: str | None
    right: bool
    text: str

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


class TensorSession(SessionState):
    """Position ``k`` means ``k`` steps taken: ``0`` is the start, forward steps ``1 … F``, backward ``F+1 … F+B``.

    Attributes:
        cursor: The element ``(row, column)`` under the cursor in the matrix shown.
        zoomed: Whether the element under the cursor is shown as its scalar computation.
        term: While zoomed, the term of the sum stepped to (0-based), or None for the whole sum.
        browsing: The node whose value and gradient are shown instead of the step's result, or None.
        selected: The name on the tree cursor's line.
    """

    same_value = staticmethod(_same)  # arrays: the shape and every element's bits
    notation = tx.PARTIAL
    breakpoints: frozenset[str] = frozenset()
    value_changes: dict = {}
    grad_changes: dict = {}

    def __init__(self, loaded: LoadedGraph, inputs: Mapping[str, float] | None = None, h: float = TENSOR_H) -> None:
        self.loaded = loaded
        self.graph = loaded.graph
        self.h = h
        self.inputs: dict[str, np.ndarray] = {i.name: i.value for i in self.graph.inputs}
        """Every input's value now (edits and descent steps replace an array, never change one in place)."""
        self.inputs.update({k: np.asarray(v, dtype=float) for k, v in (inputs or {}).items()})
        self.saved_inputs: dict[str, np.ndarray] = dict(self.inputs)
        """The values as opened or last saved (``--set`` values count as edits only once saved)."""
        self.walk = compute_tensor(self.graph, self.inputs)
        self.alpha = self.graph.alpha or DEFAULT_ALPHA
        """The learning rate of :meth:`descend`."""
        self.descent: list[float] = []
        """The output before the first descent step, then after each one (an edit or a reload starts anew)."""
        self.predicting = False
        """Predict mode: a step taken with :meth:`next` hides its result until :meth:`guess`."""
        self.pending: int | None = None
        """The position whose result is hidden, waiting for a guess."""
        self.answers: dict[int, TensorAnswer] = {}
        """Guesses since predict mode was turned on, by position."""
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
        done = min(self.revealed, nf)
        return any(st.node == name for st in self.walk.forward_steps[:done])

    def value(self, name: str) -> np.ndarray:
        return self.walk.values[name]

    def grad(self, name: str) -> GradShown | None:
        """The gradient of ``name`` as far as the backward pass has come (None before its first contribution)."""
        nf = self.n_forward
        taken = self.revealed - nf
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
        self.pending = None
        self._reset_view()
        self._clamp()

    def next(self) -> None:
        """The next step; in predict mode its result stays hidden until :meth:`guess`."""
        before = self.position
        self.go(self.position + 1)
        if self.predicting and self.position != before and self.position not in self.answers and asks(self.step):
            self.pending = self.position

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
        matrix (a backward step into an input, or an input browsed from the tree), else None (and
        while predict mode hides the step: the nudge would give it away)."""
        s = self.step
        if self.pending is not None:
            return None
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

    # ------------------------------------------------------------------ editing one element

    def value_of(self, name: str, index: Index) -> float:
        return float(self.inputs[name][index])

    def edit_target(self) -> tuple[str, Index] | None:
        """The input element under the cursor (:meth:`fd_target`: on a backward step into an input, or an input
        opened from the tree)."""
        target = self.fd_target()
        if target is None:
            return None
        name = target[0]
        return name, (tuple(target[1:]) if self.inputs[name].ndim else ())

    def editable(self, name: str) -> None:
        """Raise ValueError, saying why, if ``name``'s elements cannot be edited (it is generated)."""
        item = self.graph.input_by_name[name]
        if item.generated is not None:
            rows, cols = item.shape
            raise ValueError(f"{name} is generated in the file ({item.generated}): its elements are not written there."
                             f" Replace the generator with rows ({name}: [[…], …], {rows}×{cols}) to edit one")

    def set_element(self, name: str, index: Index, value: float) -> ElementEdit | None:
        """Give one element a new value and walk again, keeping the position; None when it is the same float.

        Raises:
            KeyError: ``name`` is not an input.
            ValueError: the input is generated, or ``value`` is not finite.
            IndexError: ``index`` is outside the input.
        """
        if name not in self.graph.input_by_name:
            raise KeyError(name)
        self.editable(name)
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        array = self.inputs[name]
        if len(index) != array.ndim or any(not 0 <= k < n for k, n in zip(index, array.shape)):
            raise IndexError(f"{element_label(name, index)} is outside {name} ({te.shape_text(array.shape)})")
        old = float(array[index])
        if old == value and math.copysign(1.0, old) == math.copysign(1.0, value):
            return None
        new = np.array(array, dtype=float)
        new[index] = value
        before = self.output_value
        self._walk_again({**self.inputs, name: new})
        self.descent = []
        self.answers = {}  # the numbers guessed are not the numbers any more
        return ElementEdit(name, index, old, value, before, self.output_value)

    @property
    def output_value(self) -> float:
        return float(np.asarray(self.walk.values[self.graph.output]).reshape(()))

    def _walk_again(self, inputs: dict[str, np.ndarray]) -> None:
        self.inputs = inputs
        self.walk = compute_tensor(self.graph, inputs)
        self.nudge = None
        self._clamp()

    # ------------------------------------------------------------------ a new version of the file

    def _step_key(self, walk, position: int) -> tuple | None:
        nf = len(walk.forward_steps)
        if position == 0:
            return None
        if position <= nf:
            return ("forward", walk.forward_steps[position - 1].node)
        st = walk.backward_steps[position - 1 - nf]
        same = sum(1 for b in walk.backward_steps[: st.index] if (b.child, b.parent) == (st.child, st.parent))
        return ("backward", st.child, st.parent, same)

    def replace_graph(self, loaded: LoadedGraph, *, saved: bool = False) -> list[str]:
        """Switch to a new version of the graph file (reloaded, or just saved).

        Inputs edited here keep their values where an input of that name and shape is still there;
        the step shown stays where the new walk has it (the same node, or the same edge), else the
        position is kept as far as the new walk goes.

        Returns:
            What changed, one short phrase each.
        """
        old_graph, old_walk = self.graph, self.walk
        key = self._step_key(old_walk, self.position)
        edited = self.edited
        self.loaded = loaded
        self.graph = graph = loaded.graph
        kept = {n: v for n, v in edited.items() if n in graph.input_by_name and graph.shapes[n] == v.shape}
        self.inputs = {i.name: kept.get(i.name, i.value) for i in graph.inputs}
        if saved:
            self.saved_inputs = dict(self.inputs)
        else:
            self.saved_inputs = {i.name: self.saved_inputs[i.name] if i.name in kept else i.value for i in graph.inputs}
        self.walk = compute_tensor(graph, self.inputs)
        position = min(self.position, self.total)
        if key is not None:
            position = next((k for k in range(1, self.total + 1) if self._step_key(self.walk, k) == key), position)
        self.position = position
        self.pending = None
        self.nudge = None
        if not saved:
            self.answers = {}
            self.descent = []
        if graph.alpha != old_graph.alpha:
            self.alpha = graph.alpha or DEFAULT_ALPHA
        self._clamp()
        return describe_tensor_changes(old_graph, graph)

    # ------------------------------------------------------------------ gradient descent

    def descend(self) -> DescentStep:
        """One step of gradient descent on ``params:``, ``p := p − α ∂J/∂p``, then walk again (the position stays).

        Raises:
            ValueError: the graph has no params, or the step would make a number not finite (nothing changes).
        """
        graph = self.graph
        if not graph.params:
            raise ValueError("the graph marks no parameters: list inputs to train under params: in the file")
        new = descent_step(self.walk, self.alpha)
        bad = [p for p in graph.params if not np.isfinite(new[p]).all()]
        if bad:
            raise ValueError(f"{', '.join(bad)} would not be finite (α = {self.alpha:g}); nothing changed: lower α with -")
        walk = compute_tensor(graph, new)
        after = float(np.asarray(walk.values[graph.output]).reshape(()))
        before = self.output_value
        if not math.isfinite(after):
            raise ValueError(f"this step would make {graph.output} {after} (α = {self.alpha:g} overshoots);"
                             " nothing changed: lower α with -")
        largest = ("", (), -1.0)
        for p in graph.params:
            change = np.abs(new[p] - self.inputs[p])
            k = int(np.argmax(change)) if change.ndim else 0
            index = tuple(int(x) for x in np.unravel_index(k, change.shape)) if change.ndim else ()
            if float(change[index]) > largest[2]:
                largest = (p, index, float(change[index]))
        self.inputs = {**self.inputs, **{p: new[p] for p in graph.params}}
        self.walk = walk
        self.nudge = None
        self.answers = {}
        if not self.descent or self.descent[-1] != before:
            self.descent = [before]
        self.descent.append(after)
        return DescentStep(len(self.descent) - 1, self.alpha, graph.params, before, after, largest)

    # ------------------------------------------------------------------ predict mode


    def shape_shown(self, name: str) -> bool:
        """Whether ``name``'s shape may show: always, but in predict mode a node's only once its step is revealed."""
        if not self.predicting or self.graph.is_input(name):
            return True
        k = next((s.index for s in self.walk.forward_steps if s.node == name), None)
        return k is None or k < self.revealed

    def question(self) -> str:
        """What the hidden step asks, in one line (empty when nothing is hidden)."""
        s = self.step
        if self.pending is None or s is None:
            return ""
        where = self._element_text(s)
        if isinstance(s, TensorForwardStep):
            operands = ", ".join(f"{o} ({te.shape_text(self.graph.shapes[o])})" for o in s.operands)
            return f"{s.node} = {s.course} with {operands}: its shape (such as 2x3), or {where}?"
        return f"{d(self.graph.output, s.parent)} += {s.formula}: this step's shape (such as 2x3), or {where}?"

    def _element_text(self, s) -> str:
        i, j = self.cursor
        value = self.matrix
        at = f"[{i},{j}]" if value is not None and value.ndim else ""
        return f"{s.node}{at}" if isinstance(s, TensorForwardStep) else f"its element {at or '(a number)'}"

    def guess(self, text: str | None) -> TensorAnswer:
        """Judge a guess at the hidden step, a shape (``2x1``, ``(2×1)``) or the number under the cursor, and
        show the step; None shows it unscored.

        Raises:
            ValueError: nothing is hidden, or the text is neither a shape nor a finite number (nothing changes).
        """
        if self.pending is None:
            raise ValueError("no step is waiting for a guess")
        s = self.step
        out = self.graph.output
        i, j = self.cursor
        value = self.matrix
        element = float(value[i, j]) if value.ndim else float(value)
        name = s.node if isinstance(s, TensorForwardStep) else "this step"
        at = f"[{i},{j}]" if value.ndim else ""
        whole = (f"{s.node} = {s.course}   {s.shape_text}" if isinstance(s, TensorForwardStep)
                 else f"{d(out, s.parent)} += {s.formula}   {s.shapes}")
        shape = te.shape_text(tuple(value.shape))
        if text is None:
            answer = TensorAnswer(self.pending, None, None, False,
                                  f"Not scored: {name} is {shape}, {name}{at} = {num(element)}. {whole}.")
        else:
            kind, right, said = self._judge(s, text, i, j)
            if kind == "shape":
                verdict = "Right" if right else f"Not quite: you said {said}"
                answer = TensorAnswer(self.pending, kind, text, right, f"{verdict}{': ' if right else '; '}{name} is {shape}. {whole}.")
            else:
                verdict = (f"Right{'' if said == num(element) else f' (you said {said})'}" if right
                           else f"Not quite: you said {said}")
                answer = TensorAnswer(self.pending, kind, text, right,
                                      f"{verdict}{': ' if right else '; '}{name}{at} = {num(element)}. {whole}.")
        self.answers[self.pending] = answer
        self.pending = None
        return answer

    def _judge(self, s, text: str, i: int, j: int) -> tuple[str, bool, str]:
        kind, guess = read_guess(text)
        if kind == "element":
            return kind, element_right(s, i, j, guess), num(guess)
        return kind, shape_right(s, text)[0], te.shape_text(guess)

    def score(self, backward: bool) -> Score:
        """The guesses of the forward pass, or of the backward pass."""
        nf = len(self.walk.forward_steps)
        mine = [a for k, a in self.answers.items() if (k > nf) == backward]
        guessed = [a for a in mine if a.kind is not None]
        return Score(sum(a.right for a in guessed), len(guessed), len(mine) - len(guessed))


def read_guess(text: str) -> tuple[str, float | te.Shape]:
    """A guess as typed: ``("element", 0.5)`` for a finite number, ``("shape", (2, 1))`` for a shape.

    Raises:
        ValueError: it is neither, in one line.
    """
    try:
        return "element", parse_number(text)
    except ValueError:
        pass
    try:
        return "shape", parse_shape(text)
    except ValueError:
        raise ValueError(f"{text.strip()!r} is neither a shape (rows×columns, such as 2x3, or scalar) nor a finite"
                         " number (such as 0.5)") from None


def asks(step) -> bool:
    """Whether a step is worth a guess: not a node that only names a number or another name (``u = x``)."""
    return not (isinstance(step, TensorForwardStep) and isinstance(step.tree, (ex.Num, ex.Name, ex.Const)))


def describe_tensor_changes(old: TensorGraph, new: TensorGraph) -> list[str]:
    """What differs between two versions of a tensor graph, one short phrase each."""
    changes = names_added_removed(old, new)
    reshaped = [f"{n} {te.shape_text(old.shapes[n])} → {te.shape_text(new.shapes[n])}" for n in new.names
                if n in old.shapes and old.shapes[n] != new.shapes[n]]
    if reshaped:
        changes.append(f"shapes changed: {', '.join(reshaped)}")
    rewritten = [n for n, node in new.node_by_name.items() if n in old.node_by_name and old.node_by_name[n].text != node.text]
    if rewritten:
        changes.append(f"expressions changed: {', '.join(rewritten)}")
    revalued = [n for n, i in new.input_by_name.items() if n in old.input_by_name
                and old.shapes[n] == new.shapes[n] and not _same(old.input_by_name[n].value, i.value)]
    if revalued:
        changes.append(f"values changed in the file: {', '.join(revalued)}")
    return changes + settings_changed(old, new)
