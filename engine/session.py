"""A debugging session: the inputs, h, and where the learner is in the walk.

The TUI owns one :class:`DebugSession` and only displays what it answers. The
session decides what has been revealed: inputs from the start, a node's value
once its forward step is taken, a gradient as its backward steps arrive.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass
from typing import Callable, Mapping

from engine.finite_diff import DEFAULT_H, FiniteDifference, close_aside, finite_difference_aside, prepare_aside
from engine.graph import ALPHA_MAX, ALPHA_MIN, DEFAULT_ALPHA
from engine.graphfile import LoadedGraph, same_float
from engine.quiz import Answer, Score, answer_of, asks
from engine.steps import BackwardStep, ForwardStep, Walk, compute
from engine.tape import tape_of
from engine.nudge_chain import NudgeChain, nudge_chain
from engine.text import NOTATIONS, Notation, d, num, warning_text

H_MIN = 1e-12
H_MAX = 1.0


@dataclass(frozen=True, slots=True)
class GradView:
    """A gradient as far as the backward pass has got.

    Attributes:
        value: The accumulated ∂output/∂name so far.
        arrived: Contributions taken so far.
        of: Contributions in all (0 for the output's seed and for names the
            output does not depend on).
    """

    value: float
    arrived: int
    of: int

    @property
    def complete(self) -> bool:
        return self.arrived >= self.of


@dataclass(frozen=True, slots=True)
class WarningSite:
    """A warning of the walk, where the screen shows it and from which step on.

    Attributes:
        name: The node it is shown beside: the node that first is not finite, or
            the operand whose gradient a non-finite local derivative spoils.
        text: The warning as ``--trace`` prints it.
        short: What the tree line says beside the name (the text, less what the line shows).
        position: The first position (steps taken) at which it is revealed: the
            node's forward step, or the backward step that multiplies by the local derivative.
    """

    name: str
    text: str
    short: str
    position: int


_NODE_WARNING = re.compile(r"node '(\w+)' is [^:]*: (.*)\Z", re.S)
_LOCAL_WARNING = re.compile(r"local derivative (∂(\w+)/∂(\w+) = .*)\Z", re.S)
"""The two kinds of warning :func:`engine.steps.compute` writes."""


@dataclass(frozen=True, slots=True)
class Change:
    """A revealed number that an edit changed: ``old → new``."""

    old: float
    new: float


@dataclass(frozen=True, slots=True)
class Descended:
    """One step of gradient descent worked out by :meth:`DebugSession.plan_descent`, not taken yet."""

    changes: dict[str, Change]
    """Each parameter's old → new value."""
    before: float
    """The output before the step."""
    recomputed: Recomputed
    """The new walk, and the revealed numbers it changes."""


@dataclass(frozen=True, slots=True)
class Recomputed:
    """A new walk and what it changes, worked out by :meth:`DebugSession.recompute` but not taken yet.

    Attributes:
        graph: The graph it was worked out for.
        base: The walk it started from: :meth:`DebugSession.apply` takes it only while that
            is still the session's walk (an edit or a reload meanwhile makes it stale).
        position: The position the changes were found at (a step meanwhile makes it stale).
        pending: The position hidden for a guess then.
        inputs: The input values of the new walk.
        walk: The new walk.
        value_changes: Revealed values that changed, ``old → new``.
        grad_changes: Revealed gradients that changed, ``old → new``.
        edit: The input edited, or None (gradient descent).
    """

    graph: object
    base: Walk
    position: int
    pending: int | None
    inputs: dict[str, float]
    walk: Walk
    value_changes: dict[str, Change]
    grad_changes: dict[str, Change]
    edit: str | None


def scaled(value: float, factor: float, low: float, high: float) -> float | None:
    """``value × factor`` rounded to 12 digits (so 1e-3 ÷ 10 is 1e-4 exactly), or None outside [low, high]."""
    new = float(f"{value * factor:.12g}")
    if new < low * (1 - 1e-9) or new > high * (1 + 1e-9):
        return None
    return new


def _differs(a: float, b: float) -> bool:
    return not (a == b or (math.isnan(a) and math.isnan(b)))


class SessionState:
    """What a scalar :class:`DebugSession` and a tensor session share: how many steps are revealed in
    predict mode, turning it on and off, α's scaling, and which inputs are edited or unsaved.

    A subclass holds ``position``, ``pending``, ``predicting``, ``answers``, ``alpha``, ``graph``,
    ``inputs`` and ``saved_inputs``, and says with :meth:`same_value` when two input values are the same.
    """

    same_value = staticmethod(same_float)
    """Two input values bit for bit the same (0 and -0 differ)."""

    @property
    def revealed(self) -> int:
        """How many steps show their numbers: all those taken, but the one waiting for a guess."""
        return self.position - 1 if self.pending is not None else self.position

    def set_predicting(self, on: bool) -> None:
        """Turn predict mode on (with a fresh score) or off (revealing a hidden number)."""
        self.predicting = on
        self.pending = None
        if on:
            self.answers = {}

    def scale_alpha(self, factor: float) -> bool:
        """Multiply α by ``factor`` if it stays within [1e-6, 1000]; False if it would not."""
        new = scaled(self.alpha, factor, ALPHA_MIN, ALPHA_MAX)
        if new is None:
            return False
        self.alpha = new
        return True

    @property
    def edited(self) -> dict:
        """Inputs whose value differs from the file's."""
        return {n: v for n, v in self.inputs.items() if not self.same_value(v, self.graph.input_by_name[n].value)}

    def unsaved_names(self) -> list[str]:
        """The inputs edited in the app since it opened or last saved."""
        return [n for n, v in self.inputs.items() if n not in self.saved_inputs or not self.same_value(v, self.saved_inputs[n])]

    @property
    def unsaved(self) -> bool:
        """Whether inputs were edited in the app since it opened or last saved."""
        return any(n not in self.saved_inputs or not self.same_value(v, self.saved_inputs[n]) for n, v in self.inputs.items())


class DebugSession(SessionState):
    """The state of one walk through one graph.

    Position ``k`` means ``k`` steps taken: ``0`` is the start, the forward steps
    come first (``1 … F``), then the backward steps (``F+1 … F+B``).
    """

    def __init__(self, loaded: LoadedGraph, inputs: Mapping[str, float] | None = None, h: float = DEFAULT_H) -> None:
        self.loaded = loaded
        self.graph = loaded.graph
        self.inputs: dict[str, float] = {i.name: i.value for i in self.graph.inputs}
        self.inputs.update(inputs or {})
        self.h = h
        self.position = 0
        self.walk: Walk = compute(self.graph, self.inputs)
        # a big graph's nudges get their own process, started now: it imports the engine while
        # the first screen is drawn (it shares nothing with this one; see engine.forked)
        prepare_aside(self.graph)
        self.value_changes: dict[str, Change] = {}
        """Revealed values that the last edit changed (cleared by the next move)."""
        self.grad_changes: dict[str, Change] = {}
        """Revealed gradients that the last edit changed (cleared by the next move)."""
        self._fd_cache: dict[tuple[str, float, int], FiniteDifference] = {}
        self._current: tuple = (None, None, None)  # (position, walk, the step there)
        self.breakpoints: set[str] = set()
        """Names to stop at: before their forward step and before their first gradient contribution."""
        self._paused: int | None = None
        """Where c last stopped (until the next move): a second c there goes on."""
        self.saved_inputs: dict[str, float] = dict(self.inputs)
        """The input values as last opened or saved: ``--set`` values count as edits only once saved."""
        self.predicting = False
        """Predict mode: a step taken with :meth:`step` hides its number until :meth:`guess`."""
        self.pending: int | None = None
        """The position whose number is hidden, waiting for a guess."""
        self.answers: dict[int, Answer] = {}
        """Guesses since predict mode was turned on (or the last reset), by position."""
        self.alpha = self.graph.alpha or DEFAULT_ALPHA
        """The learning rate of :meth:`descend`."""
        self.descent: list[float] = []
        """The output's value before the first descent step, then after each one (an edit starts anew)."""
        self.notation_style = "partial"
        """How derivatives are written: one of :data:`engine.text.NOTATIONS` (see :attr:`notation`)."""
        self._chain_cache: dict[tuple[str, float, int], NudgeChain] = {}

    def close(self) -> None:
        """Stop the helper process a big graph's nudges run in (:mod:`engine.forked`), now rather than
        at exit. The session stays usable: a later long nudge starts a new helper."""
        close_aside(self.graph)

    # ------------------------------------------------------------------ shape

    @property
    def _steps_of_parent(self) -> dict[str, list[int]]:
        """For each name, the indexes of the backward steps into it (from the graph's tape)."""
        return tape_of(self.graph).edges_of_name

    @property
    def source(self) -> str:
        return self.loaded.source

    @property
    def n_forward(self) -> int:
        return len(self.walk.forward_steps)

    @property
    def n_backward(self) -> int:
        return len(self.walk.backward_steps)

    @property
    def total(self) -> int:
        return self.n_forward + self.n_backward

    @property
    def at_end(self) -> bool:
        return self.position >= self.total

    def progress(self) -> str:
        """``forward 2/3`` or ``backward 4/5`` (or ``start``)."""
        if self.position == 0:
            return f"start (forward 0/{self.n_forward})"
        if self.position <= self.n_forward:
            return f"forward {self.position}/{self.n_forward}"
        return f"backward {self.position - self.n_forward}/{self.n_backward}"

    @property
    def current(self) -> ForwardStep | BackwardStep | None:
        """The last step taken, which the screen shows as current (built once per position and walk)."""
        position, walk, _ = self._current
        if position != self.position or walk is not self.walk:
            if self.position == 0:
                step = None
            elif self.position <= self.n_forward:
                step = self.walk.forward_steps[self.position - 1]
            else:
                step = self.walk.backward_steps[self.position - self.n_forward - 1]
            self._current = (self.position, self.walk, step)
        return self._current[2]

    def steps_taken(self, last: int | None = None) -> list[ForwardStep | BackwardStep]:
        """The steps taken so far whose numbers show (not one waiting for a guess), or the ``last`` few."""
        end = self.revealed
        start = 0 if last is None else max(0, end - last)
        nf = self.n_forward
        f = self.walk.forward_steps[min(start, nf): min(end, nf)]
        b = self.walk.backward_steps[max(0, start - nf): max(0, end - nf)]
        return [*f, *b]

    # ------------------------------------------------------------------ moving

    def _move(self, position: int) -> bool:
        position = max(0, min(self.total, position))
        moved = position != self.position
        self.position = position
        self._paused = None
        self.pending = None
        self.value_changes = {}
        self.grad_changes = {}
        return moved

    def step(self) -> bool:
        """Take the next step; False at the end. In predict mode its number stays hidden until guessed."""
        if self.at_end:
            return False
        self._move(self.position + 1)
        if self.predicting and self.position not in self.answers and asks(self.current):
            self.pending = self.position
        return True

    def back(self) -> bool:
        """Undo the last step; False at the start."""
        return self._move(self.position - 1) if self.position > 0 else False

    def finish(self) -> bool:
        """Run to the end of the current pass (from the end of the forward pass, to the end)."""
        target = self.n_forward if self.position < self.n_forward else self.total
        return self._move(target)

    def reset(self) -> bool:
        """Back to the start; in predict mode the score starts anew too."""
        self.answers = {}
        return self._move(0)

    # ------------------------------------------------------------------ breakpoints

    def toggle_breakpoint(self, name: str) -> bool:
        """Set or clear a breakpoint on ``name``; True when it is now set."""
        if name in self.breakpoints:
            self.breakpoints.discard(name)
            return False
        self.breakpoints.add(name)
        return True

    def stops(self, name: str) -> list[int]:
        """Positions a breakpoint on ``name`` stops at: before its forward step, before its first contribution."""
        stops = []
        k = self.graph.position.get(name)
        if k is not None:
            stops.append(k)
        edges = self._steps_of_parent.get(name)
        if edges:
            stops.append(self.n_forward + edges[0])
        return stops

    def continue_(self) -> bool:
        """Run to the next breakpoint, or to the end of the current pass.

        At the start, a breakpoint on the first node stops where the walk already is (before
        that node is evaluated): the first c says so without moving, the next goes on.
        """
        end = self.n_forward if self.position < self.n_forward else self.total
        first = self.position == 0 and self._paused != 0
        ahead = [p for name in self.breakpoints for p in self.stops(name)
                 if self.position < p < end or (first and p == 0)]
        moved = self._move(min(ahead, default=end))
        self._paused = self.position
        return moved

    def breakpoints_here(self) -> list[tuple[str, str]]:
        """The breakpoints the walk is stopped before: (name, "value" or "gradient"), in name order."""
        here = []
        for name in sorted(self.breakpoints):
            for k, stop in enumerate(self.stops(name)):
                if stop == self.position and stop < self.total:
                    kind = "value" if k == 0 and name in self.graph.position else "gradient"
                    here.append((name, kind))
        return here

    def run_to(self, name: str) -> bool:
        """Run until ``name`` has its value, then until its gradient is complete; False if it already is."""
        k = self.graph.position.get(name)
        if k is not None and self.position <= k:
            return self._move(k + 1)
        edges = self._steps_of_parent.get(name)
        if edges and self.position < self.n_forward + edges[-1] + 1:
            return self._move(self.n_forward + edges[-1] + 1)
        if name == self.graph.output and self.position <= self.n_forward:
            return self._move(self.n_forward + 1)  # its seed ∂J/∂J = 1 comes with the first backward step
        return False

    # ------------------------------------------------------------------ what is revealed

    def value_shown(self, name: str) -> bool:
        """Inputs from the start; a node once its forward step is taken (and, in predict mode, guessed)."""
        pos = self.graph.position.get(name)
        return pos is None or pos < self.revealed

    def value(self, name: str) -> float:
        return self.walk.values[name]

    def grad(self, name: str) -> GradView | None:
        """The gradient as revealed so far, or None before its first contribution."""
        return self._grad_in(self.walk, name, self.revealed)

    def _grad_in(self, walk: Walk, name: str, revealed: int) -> GradView | None:
        """:meth:`grad` of ``walk`` with ``revealed`` steps showing (reads nothing that changes: safe in a thread)."""
        n_forward = len(walk.forward_steps)
        taken = revealed - n_forward
        if taken <= 0:
            return None
        if name == walk.graph.output:
            return GradView(1.0, 0, 0)
        indexes = tape_of(walk.graph).edges_of_name.get(name)
        if not indexes:
            # the output does not depend on it: 0, once the backward pass is over
            return GradView(0.0, 0, 0) if revealed >= n_forward + len(walk.backward_steps) else None
        arrived = bisect.bisect_left(indexes, taken)
        if arrived == 0:
            return None
        if arrived == len(indexes):  # complete: the tape's own sum, the same floats in the same order
            return GradView(walk.grads[name], arrived, arrived)
        return GradView(walk.backward_steps.accumulated(indexes[arrived - 1]), arrived, len(indexes))

    def names_revealed_between(self, start: int, end: int) -> set[str]:
        """The names whose value or gradient can read differently with ``end`` steps revealed than
        with ``start`` (either way round), all else alike: the nodes the forward steps between
        evaluate, and the parent (whose gradient and count of contributions move) and child of each
        backward step between; the output, whose seed ∂J/∂J = 1 shows from the first backward step;
        and, when the range reaches the end, the names the output does not depend on (∂J/∂name = 0
        once the backward pass is over). Warnings and the current step's marks are the caller's to check.
        """
        start, end = (min(max(0, k), self.total) for k in sorted((start, end)))  # in order, then within the walk
        graph, nf = self.graph, self.n_forward
        names = {graph.nodes[k].name for k in range(start, min(end, nf))}
        if end > nf:
            if start <= nf:
                names.add(graph.output)  # its seed ∂J/∂J = 1 shows from the first backward step
            all_names, edges = graph.names, tape_of(graph).edges
            for k in range(max(start, nf) - nf, end - nf):
                child, parent, _ = edges[k]
                names.add(all_names[child])
                names.add(all_names[parent])
            if end == self.total:
                names.update(n for n in graph.names if n not in self._steps_of_parent)
        return names

    def changed_by_last_step(self) -> tuple[set[str], set[str]]:
        """(values, gradients) that the last step revealed or changed."""
        step = self.current
        if isinstance(step, ForwardStep):
            return {step.node}, set()
        if isinstance(step, BackwardStep):
            grads = {step.parent}
            if step.index == 0:
                grads.add(self.graph.output)
            return set(), grads
        return set(), set()

    # ------------------------------------------------------------------ warnings

    def warning_sites(self) -> tuple[WarningSite, ...]:
        """Every warning of the walk with its place (worked out once per walk).

        A warning of another form than the two the walk writes is shown beside the
        output from the start of the backward pass.
        """
        cached = getattr(self, "_sites", None)
        notation = self.notation
        if cached is not None and cached[0] is self.walk and cached[3] == notation:
            return cached[1]
        graph, walk = self.graph, self.walk
        names = graph.names
        tape = tape_of(graph)
        sites = []
        for text in walk.warnings:
            site = WarningSite(graph.output, text, text, self.n_forward)
            if (m := _NODE_WARNING.match(text)) and m[1] in graph.position:
                site = WarningSite(m[1], text, m[2], graph.position[m[1]] + 1)
            elif m := _LOCAL_WARNING.match(text):
                edge = next((k for k in self._steps_of_parent.get(m[3], ()) if names[tape.edges[k][0]] == m[2]), None)
                if edge is not None:
                    short = d(m[2], m[3], notation) + m[1][len(f"∂{m[2]}/∂{m[3]}"):]  # "du/dx = … is inf at …"
                    site = WarningSite(m[3], warning_text(text, notation), short, self.n_forward + edge + 1)
            sites.append(site)
        by_name: dict[str, list[WarningSite]] = {}
        for site in sites:
            by_name.setdefault(site.name, []).append(site)
        self._sites = (walk, tuple(sites), by_name, notation)
        return self._sites[1]

    def warnings_at(self, name: str) -> list[WarningSite]:
        """The revealed warnings shown beside ``name`` (a tree line asks; cheap when there are none)."""
        if not self.walk.warnings:
            return []
        self.warning_sites()
        return [w for w in self._sites[2].get(name, ()) if w.position <= self.revealed]

    def warnings_shown(self) -> list[WarningSite]:
        """The warnings whose place the steps revealed so far, in the walk's order."""
        if not self.walk.warnings:
            return []
        return [w for w in self.warning_sites() if w.position <= self.revealed]

    # ------------------------------------------------------------------ editing

    def set_input(self, name: str, value: float) -> tuple[dict[str, Change], dict[str, Change]]:
        """Give an input a new value and recompute everything, keeping the position.

        Returns the revealed values and gradients that changed, as ``old → new``.
        (:meth:`plan_edit` then :meth:`apply` do the same in two parts: the first,
        the long one, in a worker thread.)

        Raises:
            KeyError: ``name`` is not an input.
            ValueError: ``value`` is not a finite number.
        """
        recomputed = self.plan_edit(name, value)
        self.apply(recomputed)
        return recomputed.value_changes, recomputed.grad_changes

    def check_edit(self, name: str, value: float) -> float:
        """``value`` as the float :meth:`set_input` would give ``name``.

        Raises:
            KeyError: ``name`` is not an input.
            ValueError: ``value`` is not a finite number.
        """
        if name not in self.graph.input_by_name:
            raise KeyError(name)
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        return value

    def plan_edit(self, name: str, value: float, tick: Callable[[int, int], None] | None = None) -> Recomputed:
        """The walk and the ``old → new`` changes that giving ``name`` ``value`` makes, without making them.

        Changes nothing in the session, so a worker thread may run it while the UI
        thread reads the session; :meth:`apply` takes the result on the UI thread.

        Raises:
            KeyError: ``name`` is not an input.
            ValueError: ``value`` is not a finite number.
        """
        value = self.check_edit(name, value)
        return self.recompute({**self.inputs, name: value}, edit=name, tick=tick)

    def recompute(self, inputs: dict[str, float], walk: Walk | None = None, *, edit: str | None = None,
                  tick: Callable[[int, int], None] | None = None) -> Recomputed:
        """Walk again with new input values (or take ``walk``, already computed from them), keeping
        the position, and find what changed, ``old → new``; nothing in the session changes.

        Args:
            edit: The input edited, if this is an edit (its :meth:`apply` starts the score and the
                descent run anew).
            tick: Called with (done, total) now and then (the walk counts as 2, each name's
                value and gradient compared as 1 each); may raise to stop it (esc in the app).
        """
        tick = tick or (lambda done, total: None)
        graph, base, revealed = self.graph, self.walk, self.revealed
        names = graph.names
        chunk = 8192  # the comparisons tick this often: esc is heard, and a UI thread gets its turn
        total = 2 + 2 * len(names)
        tick(0, total)
        new = walk if walk is not None else compute(graph, inputs)
        new.warnings  # noqa: B018 (found when first asked: here, in the worker, not when first drawn)
        done = 2
        tick(done, total)
        position = graph.position
        old_values, new_values = base.values, new.values
        value_changes = {}
        for start in range(0, len(names), chunk):
            for n in names[start:start + chunk]:
                if (position.get(n) is None or position[n] < revealed) and _differs(old_values[n], new_values[n]):
                    value_changes[n] = Change(old_values[n], new_values[n])
            tick(done + start + chunk, total)
        done += len(names)
        grad_changes = {}
        if revealed > len(base.forward_steps):
            for start in range(0, len(names), chunk):
                for n in names[start:start + chunk]:
                    old = self._grad_in(base, n, revealed)
                    if old is not None:
                        g = self._grad_in(new, n, revealed)
                        if g is not None and _differs(old.value, g.value):
                            grad_changes[n] = Change(old.value, g.value)
                tick(done + start + chunk, total)
        tick(total, total)
        return Recomputed(graph, base, self.position, self.pending, dict(inputs), new, value_changes, grad_changes, edit)

    def apply(self, recomputed: Recomputed) -> bool:
        """Take what :meth:`recompute` found, unless the session moved on since it started: another
        edit, a reload or a step (then nothing changes and it answers False)."""
        r = recomputed
        if r.base is not self.walk or r.graph is not self.graph or r.position != self.position \
                or r.pending != self.pending:
            return False
        self.inputs = dict(r.inputs)
        self.walk = r.walk
        self._fd_cache.clear()
        self._chain_cache.clear()
        self.value_changes = dict(r.value_changes)
        self.grad_changes = dict(r.grad_changes)
        if r.edit is not None:
            self.descent = []
            self.answers = {}  # the numbers guessed are not the numbers any more
        return True

    def _recompute(self, inputs: dict[str, float], walk: Walk | None = None) -> tuple[dict[str, Change], dict[str, Change]]:
        """Walk again with new input values (or take ``walk``, already computed from them), keeping
        the position; what changed, ``old → new``."""
        self.apply(self.recompute(inputs, walk))
        return self.value_changes, self.grad_changes

    def replace_graph(self, loaded: LoadedGraph, *, saved: bool = False) -> list[str]:
        """Switch to a new version of the graph (reloaded, or just saved).

        Inputs edited here keep their values where their names still exist; the
        position is kept where the new graph has that many steps.

        Args:
            saved: True when ``loaded`` is what this session just wrote.

        Returns:
            What changed, one short phrase each ("nodes added: w", ...).
        """
        old_graph = self.graph
        edited = self.edited
        self.loaded = loaded
        self.graph = loaded.graph
        self.inputs = {i.name: edited.get(i.name, i.value) for i in self.graph.inputs}
        self.saved_inputs = dict(self.inputs) if saved else {
            i.name: self.saved_inputs.get(i.name, i.value) if i.name in edited else i.value
            for i in self.graph.inputs
        }
        self.walk = compute(self.graph, self.inputs)
        if self.graph is not old_graph:
            close_aside(old_graph)  # (its graph may never be collected: the app freezes what it holds)
        self._fd_cache.clear()
        self._chain_cache.clear()
        self.position = min(self.position, self.total)
        self.pending = None
        if not saved:  # a save changes no number: the score and the descent run go on
            self.answers = {}
            self.descent = []
        if loaded.graph.alpha != old_graph.alpha:
            self.alpha = loaded.graph.alpha or DEFAULT_ALPHA
        self.value_changes = {}
        self.grad_changes = {}
        return describe_changes(old_graph, self.graph)

    # ------------------------------------------------------------------ predict, then reveal

    def guess(self, value: float | None) -> Answer:
        """Judge a guess for the hidden step and reveal it; None reveals it unscored.

        Raises:
            ValueError: no step is waiting for a guess.
        """
        if self.pending is None:
            raise ValueError("no step is waiting for a guess")
        answer = Answer(self.pending, value, answer_of(self.current))
        self.answers[self.pending] = answer
        self.pending = None
        return answer

    def score(self, backward: bool) -> Score:
        """The guesses of the forward pass, or of the backward pass."""
        nf = self.n_forward
        mine = [a for k, a in self.answers.items() if (k > nf) == backward]
        guessed = [a for a in mine if a.guess is not None]
        return Score(sum(a.right for a in guessed), len(guessed), len(mine) - len(guessed))

    # ------------------------------------------------------------------ gradient descent

    def descent_blocked(self) -> str | None:
        """Why :meth:`descend` cannot run now, or None when it can."""
        if not self.graph.params:
            return "the graph marks no parameters: list inputs to train under params: in the file"
        if self.revealed < self.total:
            return "the gradients are not complete: finish the backward pass first (f)"
        return None

    def descend(self) -> dict[str, Change]:
        """One step of gradient descent: ``w := w − α ∂out/∂w`` for every parameter, then walk again.

        The position stays at the end, so every number shows its ``old → new``.
        (:meth:`plan_descent` then :meth:`take_descent` do the same in two parts: the first,
        the long one, in a worker thread.)

        Returns:
            Each parameter's change.

        Raises:
            ValueError: :meth:`descent_blocked` says why, or a new value would not be finite.
        """
        planned = self.plan_descent()
        self.take_descent(planned)
        return planned.changes

    def plan_descent(self, tick: Callable[[int, int], None] | None = None) -> Descended:
        """What one step of :meth:`descend` makes, without making it: a worker thread may run it.

        Raises:
            ValueError: as :meth:`descend`.
        """
        why = self.descent_blocked()
        if why:
            raise ValueError(why)
        grads = self.walk.grads
        new = {p: self.inputs[p] - self.alpha * grads[p] for p in self.graph.params}
        bad = [p for p, v in new.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"{', '.join(bad)} would not be finite ({d(self.graph.output, bad[0], self.notation)} = {grads[bad[0]]!r});"
                             " nothing changed")
        out = self.graph.output
        before = self.walk.values[out]
        inputs = {**self.inputs, **new}
        walk = compute(self.graph, inputs)
        after = walk.values[out]
        if not math.isfinite(after):
            raise ValueError(f"this step would make {out} {after} (α = {self.alpha:g} overshoots);"
                             " nothing changed: lower α with -")
        changes = {p: Change(self.inputs[p], v) for p, v in new.items()}
        return Descended(changes, before, self.recompute(inputs, walk, tick=tick))

    def take_descent(self, planned: Descended) -> bool:
        """Take a step :meth:`plan_descent` worked out, unless the session moved on since (then False)."""
        if not self.apply(planned.recomputed):
            return False
        if not self.descent or _differs(self.descent[-1], planned.before):  # an edit since: a new run
            self.descent = [planned.before]
        self.answers = {}
        self.descent.append(self.walk.values[self.graph.output])
        return True

    # ------------------------------------------------------------------ finite differences

    def scale_h(self, factor: float) -> bool:
        """Multiply h by ``factor`` if it stays within [1e-12, 1]; False if it would not."""
        new = scaled(self.h, factor, H_MIN, H_MAX)
        if new is None:
            return False
        self.h = new
        return True

    def fd_ready(self, name: str) -> bool:
        """Whether :meth:`fd` for ``name`` would answer at once (it is cached)."""
        return (name, self.h, id(self.walk)) in self._fd_cache

    def fd(self, name: str) -> FiniteDifference:
        """Finite differences for ``name`` with the current inputs and h (cached).

        Safe to call from a worker thread: the result is filed under the walk it
        was computed from, so an edit made meanwhile never receives a stale answer.
        A long nudge (thousands of nodes after ``name``) runs in the graph's helper
        process (:mod:`engine.forked`), so that it neither holds this interpreter's lock
        nor its memory meanwhile.
        """
        walk, h = self.walk, self.h
        key = (name, h, id(walk))
        found = self._fd_cache.get(key)
        if found is None:
            found = finite_difference_aside(walk, name, h)
            if walk is self.walk:
                self._file_fd(key, found)
        return found

    FD_CACHE_ENTRIES = 1_000_000
    """The nudges :meth:`fd` keeps hold trails of at most this many entries together (the latest is
    always kept; the oldest go first): on a 100,000-node graph a trail of every later node is ~1 MiB,
    and a cursor moved over a hundred variables would otherwise keep a hundred of them."""

    def _file_fd(self, key: tuple[str, float, int], found: FiniteDifference) -> None:
        cache = self._fd_cache
        cache[key] = found
        held = [(k, len(fd.trail)) for k, fd in list(cache.items())]  # (a copy: workers file theirs meanwhile)
        total = sum(n for _, n in held)
        for k, n in held[:-1]:
            if total <= self.FD_CACHE_ENTRIES:
                break
            if cache.pop(k, None) is not None:
                total -= n


    # ------------------------------------------------------------------ notation, the chain in nudges

    @property
    def notation(self) -> Notation:
        """The notation for every derivative written from this session (``∂J/∂v``, ``dJ/dv`` or ``dv``)."""
        found = getattr(self, "_notation", None)
        if found is None or found.style != self.notation_style or found.output != self.graph.output:
            found = self._notation = Notation(self.notation_style, self.graph.output)
        return found

    def set_notation(self, style: str) -> None:
        """Write derivatives in ``style`` from now on.

        Raises:
            ValueError: ``style`` is not one of :data:`engine.text.NOTATIONS`.
        """
        if style not in NOTATIONS:
            raise ValueError(f"unknown notation {style!r} (choose one of {', '.join(NOTATIONS)})")
        self.notation_style = style

    def next_notation(self) -> str:
        """Switch to the next notation in :data:`engine.text.NOTATIONS`' order; return it."""
        self.set_notation(NOTATIONS[(NOTATIONS.index(self.notation_style) + 1) % len(NOTATIONS)])
        return self.notation_style

    CHAIN_PATHS = 3
    """The finite-difference panel writes out this many paths of a nudge (the headless outputs 12)."""

    def chain_ready(self, name: str) -> bool:
        """Whether :meth:`nudge_chain` of ``name`` is cached for the current walk and h."""
        return (name, self.h, id(self.walk)) in self._chain_cache

    def nudge_chain(self, name: str) -> NudgeChain:
        """:func:`engine.nudge_chain.nudge_chain` of ``name``'s nudge (cached like :meth:`fd`)."""
        walk, h = self.walk, self.h
        key = (name, h, id(walk))
        found = self._chain_cache.get(key)
        if found is None:
            found = nudge_chain(walk, self.fd(name), limit=self.CHAIN_PATHS)
            if walk is self.walk:
                if len(self._chain_cache) > 64:
                    self._chain_cache.clear()
                self._chain_cache[key] = found
        return found


def names_added_removed(old, new) -> list[str]:
    """The inputs and nodes one version of a graph (scalar or tensor) has and the other has not."""
    changes = []
    for what, before, after in (("inputs", old.input_by_name, new.input_by_name),
                                ("nodes", old.node_by_name, new.node_by_name)):
        added = [n for n in after if n not in before]
        removed = [n for n in before if n not in after]
        if added:
            changes.append(f"{what} added: {', '.join(added)}")
        if removed:
            changes.append(f"{what} removed: {', '.join(removed)}")
    return changes


def settings_changed(old, new) -> list[str]:
    """The output, params and α, where two versions of a graph (scalar or tensor) differ in them."""
    changes = []
    if old.output != new.output:
        changes.append(f"output: {old.output} → {new.output}")
    if old.params != new.params:
        changes.append(f"params: {', '.join(new.params) or 'none'}")
    if old.alpha != new.alpha:
        changes.append(f"alpha: {new.alpha if new.alpha is not None else 'not given'}")
    return changes


def describe_changes(old, new) -> list[str]:
    """What differs between two versions of a graph, one short phrase each."""
    changes = names_added_removed(old, new)
    old_nodes, new_nodes = old.node_by_name, new.node_by_name
    old_inputs, new_inputs = old.input_by_name, new.input_by_name
    rewritten = [n for n, node in new_nodes.items()
                 if n in old_nodes and (old_nodes[n].shape, old_nodes[n].operands) != (node.shape, node.operands)]
    if rewritten:
        changes.append(f"expressions changed: {', '.join(rewritten)}")
    revalued = [f"{n} {num(old_inputs[n].value)} → {num(i.value)}" for n, i in new_inputs.items()
                if n in old_inputs and old_inputs[n].value != i.value]
    if revalued:
        changes.append(f"input values changed in the file: {', '.join(revalued[:8])}"
                       + (f" and {len(revalued) - 8} more" if len(revalued) > 8 else ""))
    return changes + settings_changed(old, new)
