"""Finite differences: nudge one variable by h and watch the output move.

As on the lecture page: b goes 3 → 3.001, so u goes 6 → 6.002, v 11 → 11.002
and J 33 → 33.006, and (33.006 − 33) / 0.001 ≈ 6 = ∂J/∂b. The nudged variable's
own operands are held fixed and only what depends on it is evaluated again.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import expr as ex
from engine.steps import Walk, isfinite
from engine.tape import _FUNC_OPS, ADD, COPY, DIV, MUL, NEG, POW, SUB, run, tape_of

KINK_OPS = (_FUNC_OPS["relu"], _FUNC_OPS["abs"])

DEFAULT_H = 1e-3
"""The page's nudge."""

SUSPECT_REL = 1e-4
"""Central relative error above which a gradient is suspect (CS231n's band)."""
SUSPECT_ABS = 1e-8
"""...unless the absolute error is below this, so a zero gradient estimated as 1e-14 is fine."""


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One variable on the way from the nudged one to the output: before → after (x + h)."""

    node: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class FiniteDifference:
    """The estimates of ∂output/∂var by nudging var.

    Attributes:
        var: The nudged input or node.
        h: The nudge asked for.
        trail: var and every node between it and the output, in evaluation
            order, before and after var += h.
        out_before: The output as computed.
        out_plus: The output with var + h.
        out_minus: The output with var − h.
        forward: (out(x + h) − out(x)) / ((x + h) − x): the one-sided estimate.
        central: (out(x + h) − out(x − h)) / ((x + h) − (x − h)).
        grad: The backprop gradient ∂output/∂var.
        rel_error_forward: |grad − forward| / max(|grad|, |forward|).
        rel_error_central: The same for the central estimate.
        status: "non-finite", "kink", "suspect" or "ok": the first that applies.
        kink: The node whose relu or abs sits at its kink, for status "kink".
    """

    var: str
    h: float
    trail: tuple[TrailEntry, ...]
    out_before: float
    out_plus: float
    out_minus: float
    forward: float
    central: float
    grad: float
    rel_error_forward: float
    rel_error_central: float
    status: str
    kink: str | None = None


def rel_error(a: float, n: float) -> float:
    """``|a − n| / max(|a|, |n|)``: 0 when both are 0, nan when either is not finite."""
    if not (isfinite(a) and isfinite(n)):
        return math.nan
    m = max(abs(a), abs(n))
    return 0.0 if m == 0.0 else abs(a - n) / m


def path_to_output(walk: Walk, var: str) -> tuple[str, ...]:
    """The nodes that depend on ``var`` and that the output depends on, in evaluation order."""
    needed = walk.graph.needed
    return tuple(n for n in walk.graph.downstream(var) if n in needed)


def _nudged(walk: Walk, var: str, x: float, code: list) -> list[float]:
    """The tape's slots with ``var`` set to ``x`` and everything after it on the path run again."""
    tape = tape_of(walk.graph)
    v = list(walk.slots)
    v[tape.slot[var]] = x
    run(code, v)
    return v


def _kink(walk: Walk, code: list, states: tuple[list[float], ...]) -> str | None:
    """The first node on the path whose relu or abs argument, moved by the nudge, touches or crosses 0."""
    tape = tape_of(walk.graph)
    for op, out, a, _ in code:
        if op in KINK_OPS:
            args = [v[a] for v in states]
            moved = not (args[0] == args[1] == args[2])
            if moved and (any(x == 0.0 for x in args) or min(args) < 0.0 < max(args)):
                return _owner(walk, tape, out)
    return None


def _owner(walk: Walk, tape, out: int) -> str:
    """The node whose instructions write slot ``out``."""
    for k, (start, end) in enumerate(tape.node_code):
        if any(ins[1] == out for ins in tape.code[start:end]):
            return walk.graph.nodes[k].name
    return "?"


def _status(grad: float, forward: float, central: float, outs: tuple[float, ...], kink: str | None) -> str:
    if not all(isfinite(v) for v in (grad, forward, central, *outs)):
        return "non-finite"
    if kink is not None:
        return "kink"
    if rel_error(grad, central) > SUSPECT_REL and abs(grad - central) > SUSPECT_ABS:
        return "suspect"
    return "ok"


def _result(walk: Walk, var: str, h: float, trail, out_plus: float, out_minus: float, kink: str | None) -> FiniteDifference:
    x = walk.values[var]
    x_plus, x_minus = x + h, x - h
    out_before = walk.values[walk.graph.output]
    forward = ex._div(out_plus - out_before, x_plus - x)
    central = ex._div(out_plus - out_minus, x_plus - x_minus)
    grad = walk.grads[var]
    kink = kink if all(isfinite(v) for v in (grad, forward, central, out_before, out_plus, out_minus)) else None
    status = _status(grad, forward, central, (out_before, out_plus, out_minus), kink)
    return FiniteDifference(var, h, trail, out_before, out_plus, out_minus, forward, central, grad,
                            rel_error(grad, forward), rel_error(grad, central), status,
                            kink if status == "kink" else None)


def finite_difference(walk: Walk, var: str, h: float = DEFAULT_H) -> FiniteDifference:
    """Nudge ``var`` by ±h and compare the output's change with the backprop gradient."""
    graph = walk.graph
    out = graph.output
    x = walk.values[var]
    path = path_to_output(walk, var)
    tape = tape_of(graph)
    code = tape.node_instructions(graph.position[n] for n in path)
    plus = _nudged(walk, var, x + h, code)
    minus = _nudged(walk, var, x - h, code)
    moves = var == out or out in path
    out_plus = plus[tape.slot[out]] if moves else walk.values[out]
    out_minus = minus[tape.slot[out]] if moves else walk.values[out]
    trail = (TrailEntry(var, x, x + h),) + tuple(TrailEntry(n, walk.values[n], plus[tape.slot[n]]) for n in path)
    return _result(walk, var, h, trail, out_plus, out_minus, _kink(walk, code, (minus, walk.slots, plus)))


class LazyTrail(Sequence):
    """A trail worked out when first read (a batch of nudges need not list every path).

    Its length and its ends (:func:`trail_ends`) can come without the whole
    trail: through a 100,000-node graph a trail has as many entries.
    """

    def __init__(self, make, length=None, ends=None) -> None:
        """
        Args:
            make: Returns the whole trail.
            length: Returns its length without making it, if given.
            ends: ``ends(first, last)`` returns what :func:`trail_ends` does, if given.
        """
        self._make = make
        self._length = length
        self._ends = ends
        self._entries: tuple[TrailEntry, ...] | None = None

    def _get(self) -> tuple[TrailEntry, ...]:
        if self._entries is None:
            self._entries = self._make()
        return self._entries

    def __len__(self) -> int:
        if self._entries is None and self._length is not None:
            return self._length()
        return len(self._get())

    def __getitem__(self, k):
        return self._get()[k]

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other)

    def ends(self, first: int, last: int):
        if self._entries is None and self._ends is not None:
            return self._ends(first, last)
        return _slice_ends(self._get(), first, last)


def _slice_ends(trail: Sequence[TrailEntry], first: int, last: int):
    n = len(trail)
    if n <= first + last:
        return tuple(trail), (), 0
    return tuple(trail[:first]), tuple(trail[n - last:]), n - first - last


def trail_ends(trail: Sequence[TrailEntry], first: int, last: int) -> tuple[tuple[TrailEntry, ...], tuple[TrailEntry, ...], int]:
    """A trail's first ``first`` and last ``last`` entries, and how many lie between them.

    A trail no longer than ``first + last`` comes whole, as the first part, with
    nothing left out. A :class:`LazyTrail` answers without listing its middle.
    """
    ends = getattr(trail, "ends", None)
    return ends(first, last) if ends is not None else _slice_ends(trail, first, last)


class _BatchTrails:
    """The trails of a batch of nudges, each worked out when read.

    One pass over the graph marks, for every node, which of the nudged variables
    it depends on (one bit each, in a Python int); a variable's trail is then the
    marked nodes, and its numbers one run of their instructions, nudged by +h as
    :func:`finite_difference` does (the same arithmetic, so the same floats).
    """

    def __init__(self, walk: Walk, names: list[str], h: float) -> None:
        self.walk, self.names, self.h = walk, names, h
        self._marks: list[int] | None = None
        self._lengths: dict[int, int] = {}

    def _on_path(self) -> list[int]:
        if self._marks is None:
            graph = self.walk.graph
            bit = {name: 1 << j for j, name in enumerate(self.names)}
            reach = {i.name: bit.get(i.name, 0) for i in graph.inputs}
            needed = graph.needed
            marks = []
            for node in graph.nodes:
                m = 0
                for o in node.operands:
                    m |= reach[o]
                marks.append(m if node.name in needed else 0)
                reach[node.name] = m | bit.get(node.name, 0)
            self._marks = marks
        return self._marks

    def _positions(self, j: int) -> list[int]:
        """The node indexes on variable j's path to the output, in evaluation order."""
        b = 1 << j
        positions = [k for k, m in enumerate(self._on_path()) if m & b]
        self._lengths[j] = len(positions)
        return positions

    def _length(self, j: int) -> int:
        if j not in self._lengths:
            self._positions(j)
        return 1 + self._lengths[j]

    def _entries(self, j: int, first: int | None = None, last: int | None = None):
        """Variable j's whole trail; or, given ``first`` (≥ 1) and ``last``, what :func:`trail_ends` returns."""
        walk, var, h = self.walk, self.names[j], self.h
        tape = tape_of(walk.graph)
        positions = self._positions(j)
        v = list(walk.slots)
        x = walk.values[var]
        v[tape.slot[var]] = x + h
        run(tape.node_instructions(positions), v)
        nodes, slot, values = walk.graph.nodes, tape.slot, walk.values

        def entry(k: int) -> TrailEntry:
            name = nodes[k].name
            return TrailEntry(name, values[name], v[slot[name]])

        start = TrailEntry(var, x, x + h)
        if first is None or last is None:
            return (start, *map(entry, positions))
        n = 1 + len(positions)
        if n <= first + last:
            return (start, *map(entry, positions)), (), 0
        return ((start, *map(entry, positions[:first - 1])), tuple(map(entry, positions[n - 1 - last:])),
                n - first - last)

    def trail(self, j: int) -> LazyTrail:
        """The trail of the j-th variable of the batch."""
        return LazyTrail(lambda: self._entries(j), lambda: self._length(j),
                         lambda first, last: self._entries(j, max(first, 1), last))


BATCH_MIN, BATCH_MAX = 8, 512
"""Between these many variables, finite differences run as one batched numpy pass."""


def finite_differences(walk: Walk, which: str = "all", h: float = DEFAULT_H) -> dict[str, FiniteDifference]:
    """Finite differences for ``"all"`` variables, only the ``"inputs"``, or ``"none"``.

    Many variables at once are nudged together: one pass over the tape whose
    slots hold a column per nudge (numpy, imported only here), instead of one
    pass per variable.
    """
    graph = walk.graph
    if which == "none":
        return {}
    names = [i.name for i in graph.inputs] if which == "inputs" else list(graph.names)
    if BATCH_MIN <= len(names) <= BATCH_MAX:
        try:
            import numpy  # noqa: F401
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        else:
            return _batched(walk, names, h)
    return {name: finite_difference(walk, name, h) for name in names}


def _batched(walk: Walk, names: list[str], h: float) -> dict[str, FiniteDifference]:
    import numpy as np

    graph = walk.graph
    tape = tape_of(graph)
    code, owner = tape.needed_code
    m = len(names)
    v: list = list(walk.slots)
    nudges: dict[int, list[int]] = {}  # slot -> the columns that nudge it
    for j, name in enumerate(names):
        nudges.setdefault(tape.slot[name], []).append(j)

    def nudge(slot: int) -> None:
        # column 2j holds var j at x + h, column 2j + 1 at x - h; a nudged node keeps
        # its nudge whatever its operands say (they are held fixed)
        x = walk.slots[slot]
        column = v[slot].copy() if isinstance(v[slot], np.ndarray) else np.full(2 * m, v[slot], dtype=float)
        for j in nudges[slot]:
            column[2 * j] = x + h
            column[2 * j + 1] = x - h
        v[slot] = column

    for slot in range(tape.n_inputs):
        if slot in nudges:
            nudge(slot)
    # One numpy call per instruction over 2m columns: this loop is the whole cost
    # (10,000 instructions on a 10,000-node graph), so it looks up nothing it can hold.
    nudged_nodes = nudges.keys() - range(tape.n_inputs)  # nudged slots that instructions write
    funcs = _np_functions()
    ndarray, power, float64 = np.ndarray, np.power, np.float64
    kink_at: dict[int, int] = {}
    with np.errstate(all="ignore"):
        for n, (op, o, a, b) in enumerate(code):
            x = v[a]
            if op == MUL:
                v[o] = x * v[b]
            elif op == ADD:
                v[o] = x + v[b]
            elif op == SUB:
                v[o] = x - v[b]
            elif op == COPY:
                v[o] = x
            elif op == DIV:
                v[o] = np.divide(x, v[b])
            elif op == NEG:
                v[o] = -x
            elif op == POW:
                v[o] = power(float64(x), v[b])
            else:
                v[o] = funcs[op](x)
                if op in KINK_OPS and isinstance(x, ndarray):
                    base = walk.slots[a]
                    plus, minus = x[0::2], x[1::2]
                    moved = (plus != base) | (minus != base)
                    touches = (plus == 0) | (minus == 0) | (base == 0)
                    low = np.minimum(np.minimum(plus, minus), base)
                    high = np.maximum(np.maximum(plus, minus), base)
                    for j in np.nonzero(moved & (touches | ((low < 0) & (high > 0))))[0]:
                        kink_at.setdefault(int(j), owner[n])
            if nudged_nodes and o in nudged_nodes:
                nudge(o)
    out = v[tape.output_slot]
    trails = _BatchTrails(walk, names, h)
    results = {}
    for j, name in enumerate(names):
        if isinstance(out, np.ndarray):
            out_plus, out_minus = float(out[2 * j]), float(out[2 * j + 1])
        else:
            out_plus = out_minus = float(out)
        kink = graph.nodes[kink_at[j]].name if j in kink_at else None
        trail = trails.trail(j)
        results[name] = _result(walk, name, h, trail, out_plus, out_minus, kink)
    return results


@functools.cache
def _np_functions() -> dict[int, Callable]:
    """Each function opcode as a numpy function of an array (built on first use: numpy
    is imported only when finite differences are batched)."""
    import numpy as np

    def sigmoid(x):
        return 1.0 / (1.0 + np.exp(-x))

    return {
        _FUNC_OPS["exp"]: np.exp,
        _FUNC_OPS["log"]: np.log,
        _FUNC_OPS["sqrt"]: np.sqrt,
        _FUNC_OPS["sin"]: np.sin,
        _FUNC_OPS["cos"]: np.cos,
        _FUNC_OPS["tan"]: np.tan,
        _FUNC_OPS["tanh"]: np.tanh,
        _FUNC_OPS["sigmoid"]: sigmoid,
        _FUNC_OPS["relu"]: lambda x: np.maximum(x, 0.0),
        _FUNC_OPS["abs"]: np.abs,
    }


SWEEP_HS = tuple(10.0 ** (-k / 2) for k in range(2, 27))
"""The h sweep's nudges: 1e-1 down to 1e-13, two to a decade."""


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """Both estimates at one h, and how far each is from the backprop gradient."""

    h: float
    forward: float
    central: float
    error_forward: float
    """|forward − grad| (nan when not finite)."""
    error_central: float


@dataclass(frozen=True, slots=True)
class Sweep:
    """Finite-difference error against h for one variable: truncation error on the right, rounding on the left."""

    var: str
    grad: float
    points: tuple[SweepPoint, ...]
    moves: bool = True
    """Whether nudging ``var`` moves the output at all."""

    def best(self, central: bool = True) -> SweepPoint | None:
        """The point with the smallest finite error (the first of equals), if any."""
        finite = [p for p in self.points if isfinite(p.error_central if central else p.error_forward)]
        return min(finite, key=lambda p: p.error_central if central else p.error_forward, default=None)


def h_sweep(walk: Walk, var: str, hs: Sequence[float] = SWEEP_HS,
            tick: Callable[[int, int], None] | None = None) -> Sweep:
    """Nudge ``var`` by each h in ``hs``, one-sided and central, as :func:`finite_difference` does.

    One copy of the slots serves every nudge: each run of the path's
    instructions writes every slot it reads back before reading it (the
    instructions are in dependency order), so nothing of the last nudge is left
    to read. ``tick`` is called before each h with (done, all); it may raise to stop.
    """
    graph = walk.graph
    out = graph.output
    tape = tape_of(graph)
    x = walk.values[var]
    path = path_to_output(walk, var)
    code = tape.node_instructions(graph.position[n] for n in path)
    moves = var == out or out in path
    out_slot = tape.slot[out]
    out_before = walk.values[out]
    grad = walk.grads[var]
    v = list(walk.slots) if moves else []
    var_slot = tape.slot[var]

    def out_at(nudged: float) -> float:
        if not moves:
            return out_before
        v[var_slot] = nudged
        run(code, v)
        return v[out_slot]

    def err(estimate: float) -> float:
        return abs(estimate - grad) if isfinite(estimate) and isfinite(grad) else math.nan

    points = []
    for k, h in enumerate(hs):
        if tick is not None:
            tick(k, len(hs))
        out_plus = out_at(x + h)
        out_minus = out_at(x - h)
        forward = ex._div(out_plus - out_before, (x + h) - x)
        central = ex._div(out_plus - out_minus, (x + h) - (x - h))
        points.append(SweepPoint(h, forward, central, err(forward), err(central)))
    return Sweep(var, grad, tuple(points), moves)
