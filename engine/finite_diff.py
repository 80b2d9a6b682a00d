"""Finite differences: nudge one variable by h and watch the output move.

As on the lecture page: b goes 3 → 3.001, so u goes 6 → 6.002, v 11 → 11.002
and J 33 → 33.006, and (33.006 − 33) / 0.001 ≈ 6 = ∂J/∂b. The nudged variable's
own operands are held fixed and only what depends on it is evaluated again.
"""

from __future__ import annotations

import math
import weakref
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from engine import forked, ops
from engine.ops import div, isfinite
from engine.steps import Walk
from engine.tape import _FUNC_IMPL, _div, _pow, _FUNC_OPS, ADD, COPY, DIV, MUL, NEG, POW, SUB, run, tape_of

KINK_OPS: dict[int, float] = {}
"""The opcodes of the functions with a corner (relu, abs), and where it is (from the table of operations)."""


def _sync_with_table() -> None:
    KINK_OPS.clear()
    KINK_OPS.update((_FUNC_OPS[name], op.kink) for name, op in ops.OPS.items()
                    if name in _FUNC_OPS and op.kink is not None)


ops.on_change(_sync_with_table)

DEFAULT_H = 1e-3
"""The page's nudge."""

SUSPECT_REL = 1e-4
"""Central relative error above which a gradient is suspect (CS231n's band)..."""
EPS = 2.0**-52
"""The spacing of floats at 1: one rounding moves a number by up to EPS/2 of itself."""
FLOOR_ROUNDINGS = 4
"""...unless backprop and the estimate are both within this many roundings of the output,
divided by the nudge, of 0: the estimate's own rounding error, which no h-independent
number could stand for (it scales with the output, so a status never depends on its units)."""

Status = Literal["ok", "suspect", "kink", "lost", "non-finite"]
"""What a finite difference says about the backprop gradient (see :class:`FiniteDifference`)."""

ROUNDING = "rounding error dominates: h is too small (try a larger h)"
TRUNCATION = "truncation error: h is too large (try a smaller h)"
WRONG = ("neither a larger nor a smaller h brings the estimate closer to backprop:"
         " the gradient may be wrong")


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
        forward: (out(x + h) − out(x)) / ((x + h) − x): the one-sided estimate, from
            exactly the numbers of the trail (its last entry over its first), dividing by
            the nudge actually taken. None when the nudge is lost (status "lost").
        central: (out(x + h) − out(x − h)) / ((x + h) − (x − h)), or None when lost.
        grad: The backprop gradient ∂output/∂var.
        rel_error_forward: |grad − forward| / max(|grad|, |forward|) (None when lost).
        rel_error_central: The same for the central estimate.
        status: The first that applies:
            "lost": x + h (or x − h) rounds to x: h is below the spacing of floats at x;
            "non-finite": an output, estimate or the gradient is nan or ±inf;
            "kink": the nudge moves a relu or abs argument onto or across its corner;
            "suspect": the central estimate is more than 1e-4 (relative) from backprop,
            unless both are within the estimate's own rounding error of 0;
            "ok".
        kink: The node whose relu or abs sits at its kink, for status "kink".
        reason: Why, in words, for "lost" and "suspect": for a suspect gradient, what
            re-estimating at 10·h and h/10 shows (rounding error: h too small; truncation
            error: h too large; or neither, so the gradient may be wrong).
    """

    var: str
    h: float
    trail: tuple[TrailEntry, ...]
    out_before: float
    out_plus: float
    out_minus: float
    forward: float | None
    central: float | None
    grad: float
    rel_error_forward: float | None
    rel_error_central: float | None
    status: Status
    kink: str | None = None
    reason: str | None = None


def rel_error(a: float, n: float) -> float:
    """``|a − n| / max(|a|, |n|)``: 0 when both are 0, nan when either is not finite."""
    if not (isfinite(a) and isfinite(n)):
        return math.nan
    m = max(abs(a), abs(n))
    return 0.0 if m == 0.0 else abs(a - n) / m


def path_to_output(walk: Walk, var: str) -> tuple[str, ...]:
    """The nodes that depend on ``var`` and that the output depends on, in evaluation order."""
    tape = tape_of(walk.graph)
    nodes = walk.graph.nodes
    return tuple(nodes[k].name for k in tape.path(tape.slot[var]))


def _nudged(base, var_slot: int, x: float, code) -> list[float]:
    """A copy of the slots ``base`` with slot ``var_slot`` set to ``x`` and ``code`` (the path's
    instructions) run again.

    ``base`` is the walk's slots (a list), or in the helper process the same numbers as an
    ``array('d')``, and the copy is of the same kind: the same floats either way (every slot
    holds a float, and an array stores each one's 64 bits), but an array's copy is one block
    of 8 bytes a slot that goes back to the system when freed, where a list's is a float
    object per slot that leaves the heap fragmented (on the 100k chain 19 MiB a copy).
    """
    v = base[:]
    v[var_slot] = x
    run(code, v)
    return v


def _kink(tape, code, states: tuple) -> int | str | None:
    """The first node on the path whose relu or abs argument, moved by the nudge, touches or
    crosses 0: its slot (or "?" if no node writes there), or None."""
    for op, out, a, _ in code:
        if op in KINK_OPS:
            c = KINK_OPS[op]
            args = [v[a] for v in states]
            moved = not (args[0] == args[1] == args[2])
            if moved and (any(x == c for x in args) or min(args) < c < max(args)):
                return _owner(tape, out)
    return None


def _owner(tape, out: int) -> int | str:
    """The slot of the node whose instructions write slot ``out`` ("?" if none)."""
    for k, (start, end) in enumerate(tape.node_code):
        if any(ins[1] == out for ins in tape.code[start:end]):
            return tape.n_inputs + k
    return "?"


def rounding_floor(out_before: float, out_plus: float, out_minus: float, step: float) -> float:
    """The central estimate's own rounding error, about: a few roundings of the output over the nudge.

    Backprop and an estimate that are both below it cannot be told from 0 at this h.
    """
    return div(FLOOR_ROUNDINGS * EPS * max(abs(out_before), abs(out_plus), abs(out_minus)), abs(step))


def _status(grad: float, forward: float, central: float, outs: tuple[float, ...], kink: str | None,
            floor: float) -> Status:
    if not all(isfinite(v) for v in (grad, forward, central, *outs)):
        return "non-finite"
    if kink is not None:
        return "kink"
    if rel_error(grad, central) > SUSPECT_REL and max(abs(grad), abs(central)) > floor:
        return "suspect"
    return "ok"


def _lost(var: str, x: float, h: float) -> str | None:
    """The words for a nudge lost to rounding, or None when x ± h both differ from x (or x is not finite)."""
    if not isfinite(x):
        return None
    if x + h == x:
        return f"h is below the spacing of floats at {var}: {var} + h rounds to {var}; try a larger h"
    if x - h == x:
        return f"h is below the spacing of floats at {var}: {var} − h rounds to {var}; try a larger h"
    return None


def central_estimate(walk: Walk, var: str, h: float) -> float:
    """The central estimate alone, one nudge at a time (nan when the nudge is lost)."""
    tape = tape_of(walk.graph)
    var_slot = tape.slot[var]
    ks = tape.path(var_slot)
    return _central_at(tape, walk.slots, var_slot, walk.values[var], h, tape.node_instructions(ks), _moves(tape, var_slot, ks))


def _moves(tape, var_slot: int, ks: list[int]) -> bool:
    """Whether a nudge of ``var_slot``, whose path is the nodes ``ks``, reaches the output."""
    out = tape.output_slot
    return var_slot == out or (out - tape.n_inputs) in ks


def _central_at(tape, base, var_slot: int, x: float, h: float, code, moves: bool) -> float:
    if not moves:
        return 0.0
    out = tape.output_slot
    out_plus = _nudged(base, var_slot, x + h, code)[out]
    out_minus = _nudged(base, var_slot, x - h, code)[out]
    step = (x + h) - (x - h)
    return div(out_plus - out_minus, step) if step else math.nan


def suspect_reason(walk: Walk, var: str, h: float, central: float) -> str:
    """Why a suspect estimate is off: re-estimate at 10·h and h/10 and see which comes closer."""
    return _reason(walk.grads[var], central, central_estimate(walk, var, h / 10), central_estimate(walk, var, h * 10))


def _reason(grad: float, central: float, at_smaller_h: float, at_larger_h: float) -> str:
    def error(estimate: float) -> float:
        e = abs(estimate - grad)
        return e if isfinite(e) else math.inf

    # Truncation error shrinks as h² and rounding error as 1/h: whichever it is, a tenfold
    # change of h the right way at least halves the error. If neither does, the estimate
    # is not converging to backprop at all.
    here = error(central)
    smaller = error(at_smaller_h)
    larger = error(at_larger_h)
    if smaller < here / 2 and smaller <= larger:
        return TRUNCATION
    if larger < here / 2:
        return ROUNDING
    return WRONG


def _result(var: str, h: float, x: float, out_before: float, grad: float, trail, out_plus: float,
            out_minus: float, kink, central_at: Callable[[float], float] | None = None) -> FiniteDifference:
    """The record of a nudge of ``var`` (value ``x``; the output ``out_before``, its gradient
    ``grad``) from the outputs it gave; ``central_at(h)`` re-estimates at another h to say why
    a suspect estimate is off (None: no reason given)."""
    x_plus, x_minus = x + h, x - h
    # a lost nudge comes first (its 0 / 0 is no overflow), unless the output or the
    # gradient is not finite at the point itself: then no h would help
    lost = _lost(var, x, h) if isfinite(out_before) and isfinite(grad) else None
    if lost is not None:
        return FiniteDifference(var, h, trail, out_before, out_plus, out_minus, None, None, grad,
                                None, None, "lost", None, lost)
    forward = div(out_plus - out_before, x_plus - x)
    central = div(out_plus - out_minus, x_plus - x_minus)
    kink = kink if all(isfinite(v) for v in (grad, forward, central, out_before, out_plus, out_minus)) else None
    floor = rounding_floor(out_before, out_plus, out_minus, x_plus - x_minus)
    status = _status(grad, forward, central, (out_before, out_plus, out_minus), kink, floor)
    reason = None
    if status == "suspect" and central_at is not None:
        reason = _reason(grad, central, central_at(h / 10), central_at(h * 10))
    return FiniteDifference(var, h, trail, out_before, out_plus, out_minus, forward, central, grad,
                            rel_error(grad, forward), rel_error(grad, central), status,
                            kink if status == "kink" else None, reason)


def finite_difference(walk: Walk, var: str, h: float = DEFAULT_H) -> FiniteDifference:
    """Nudge ``var`` by ±h and compare the output's change with the backprop gradient."""
    graph = walk.graph
    names = graph.names
    tape = tape_of(graph)
    return _nudge(tape, walk.slots, var, tape.slot[var], walk.values[var], h, walk.values[graph.output],
                  walk.grads[var], names, names.__getitem__)


def _nudge(tape, base, var: str, var_slot: int, x: float, h: float, out_before: float, grad: float, names,
           name_of: Callable[[int], str | int]) -> FiniteDifference:
    """:func:`finite_difference` from the tape and the walk's slots ``base`` alone (what the
    helper process holds: :func:`_serve`); ``name_of`` names the kink's node by its slot."""
    ks = tape.path(var_slot)
    code = tape.node_instructions(ks)
    plus = _nudged(base, var_slot, x + h, code)
    minus = _nudged(base, var_slot, x - h, code)
    moves = _moves(tape, var_slot, ks)
    out = tape.output_slot
    out_plus = plus[out] if moves else out_before
    out_minus = minus[out] if moves else out_before
    n_inputs = tape.n_inputs
    slots = array("i", [n_inputs + k for k in ks])
    trail = ArrayTrail(names, var, x, x + h, slots, array("d", map(base.__getitem__, slots)),
                       array("d", map(plus.__getitem__, slots)))
    kink = _kink(tape, code, (minus, base, plus))
    if isinstance(kink, int):
        kink = name_of(kink)
    return _result(var, h, x, out_before, grad, trail, out_plus, out_minus, kink,
                   lambda other: _central_at(tape, base, var_slot, x, other, code, moves))


CHILD_MIN = 5_000
"""Nudges of a variable with at least this many nodes after it go to the graph's helper process
(see :mod:`engine.forked`): ~25 ms of work or more."""
HELPER_MIN = 20_000
"""A graph of at least this many nodes gets its helper process when a session opens it."""


def helper_of(graph, create: bool = True) -> forked.Helper | None:
    """The graph's helper process (started on first use, kept with the graph), or None where
    there can be none (or none could be started)."""
    if not forked.AVAILABLE:
        return None
    helper = graph._cache.get("helper")
    if helper is not None and helper.alive:
        return helper
    if not create:
        return None
    try:
        helper = graph._cache["helper"] = forked.Helper("engine.finite_diff:_serve", "engine.finite_diff:_helper_setup")
    except OSError:
        return None
    return helper


def prepare_aside(graph) -> None:
    """Start a big graph's helper process now (a session does, on opening it), if it has none:
    it imports the engine while the first screen is drawn, and is sent the tape at the first nudge."""
    if len(graph.nodes) >= HELPER_MIN:
        helper_of(graph)


def close_aside(graph) -> None:
    """Stop the graph's helper process, if it has one (a session does, when it replaces the graph
    or closes)."""
    helper = graph._cache.pop("helper", None)
    if helper is not None:
        helper.close()


def _helper_setup() -> None:
    """In a helper process: give way to the app's UI thread every few thousand instructions."""
    from engine import tape

    tape.pause_between_chunks(forked.wait_while_parent_runs)


def _flat_tape(tape) -> dict:
    """What a helper needs of the tape to nudge (:func:`_nudge`): its flat columns, and the
    opcode tables they were compiled with. No Python object per node or instruction: ~8 MiB
    on the 100k chain, pickled as byte strings."""
    return {
        "ops": tuple(sorted(_FUNC_OPS.items())), "kinks": tuple(sorted(KINK_OPS.items())),
        "n_inputs": tape.n_inputs, "n_names": tape.n_names, "output_slot": tape.output_slot,
        "code": tape.code.cols, "node_code": tape.node_code.cols,
        "args_flat": tape.args_flat, "arg_ends": tape.arg_ends, "needed_mask": bytes(tape.needed_mask),
    }


def _tape_from_flat(flat: dict):
    """In a helper: a :class:`engine.tape.Tape` holding only what :func:`_flat_tape` sent (its
    :meth:`~engine.tape.Tape.path` and :meth:`~engine.tape.Tape.node_instructions` work on it),
    or None when this process numbers its operations otherwise (then the parent nudges itself)."""
    from engine.tape import Rows, Tape

    if flat["ops"] != tuple(sorted(_FUNC_OPS.items())) or flat["kinks"] != tuple(sorted(KINK_OPS.items())):
        return None
    tape = Tape.__new__(Tape)
    tape.graph = None
    for key in ("n_inputs", "n_names", "output_slot", "args_flat", "arg_ends", "needed_mask"):
        setattr(tape, key, flat[key])
    tape.code, tape.node_code = Rows(0), Rows(0)
    tape.code.cols, tape.node_code.cols = flat["code"], flat["node_code"]
    return tape


_held: dict = {}
"""In a helper process: the tape (``"tape"``), and the slots of the last walk sent with their number (``"walk"``)."""


def _serve(request) -> FiniteDifference | str | None:
    """In a helper process: the nudge asked for, from the tape and the walk's slots sent with
    this request or an earlier one. "refused" when this process cannot compute that tape;
    None when it does not hold what the request needs (then the parent nudges itself)."""
    flat, walk_no, slots, var, var_slot, x, h, out_before, grad = request
    if flat is not None:
        _held["tape"] = _tape_from_flat(flat)
        if _held["tape"] is None:
            return "refused"
    if slots is not None:
        _held["walk"] = (walk_no, slots)
    tape, held = _held.get("tape"), _held.get("walk")
    if tape is None or held is None or held[0] != walk_no:
        return None
    return _nudge(tape, held[1], var, var_slot, x, h, out_before, grad, None, int)


def _ask_helper(helper: forked.Helper, walk: Walk, var: str, h: float) -> FiniteDifference | None:
    """:func:`finite_difference` as the helper computes it, or None if it did not.

    The helper is sent the tape once and each walk's slots once (as one ``array('d')``: the
    same floats); :attr:`forked.Helper.memo` says what it holds."""
    graph = walk.graph
    tape = tape_of(graph)
    with helper.lock:
        memo = helper.memo
        if memo.get("refused"):
            return None
        flat = None if memo.get("tape") else _flat_tape(tape)
        sent = memo.get("walk")
        if sent is not None and sent[0]() is walk:
            walk_no, slots = sent[1], None
        else:
            walk_no, slots = memo.get("walks", 0) + 1, array("d", walk.slots)
        found = helper.ask((flat, walk_no, slots, var, tape.slot[var], walk.values[var], h,
                            walk.values[graph.output], walk.grads[var]))
        if found == "refused":
            memo["refused"] = True
            return None
        if not isinstance(found, FiniteDifference):
            return None
        memo["tape"] = True
        memo["walk"], memo["walks"] = (weakref.ref(walk), walk_no), walk_no
        if isinstance(found.trail, ArrayTrail):
            last = memo.get("trail")
            last = None if last is None else last()
            if last is not None:
                found.trail.share(last)
            memo["trail"] = weakref.ref(found.trail)
    return found


def finite_difference_aside(walk: Walk, var: str, h: float = DEFAULT_H) -> FiniteDifference:
    """:func:`finite_difference`, computed by the graph's helper process when the nudge is long.

    The same record, bit for bit (the same code on the same floats). For a caller in a worker
    thread: the helper does not hold this interpreter's lock, so the UI thread's frames do not
    wait for the nudge (it runs on the other core), and this process never holds the nudge's
    copies of the slots.
    """
    graph = walk.graph
    if len(graph.nodes) - 1 - graph.position.get(var, -1) < CHILD_MIN:  # (an upper bound of its path, at once)
        return finite_difference(walk, var, h)
    helper = helper_of(graph, create=len(graph.nodes) >= HELPER_MIN)  # (a smaller graph's nudge is short)
    found = None
    if helper is not None and walk.slots is not None:
        found = _ask_helper(helper, walk, var, h)
    if found is None:
        return finite_difference(walk, var, h)
    names = graph.names
    if isinstance(found.trail, ArrayTrail):
        found.trail.attach(names)
    if isinstance(found.kink, int):  # (the helper names the kink's node by its slot)
        found = replace(found, kink=names[found.kink])
    return found


class ArrayTrail(Sequence):
    """A nudge's trail held as three arrays, its entries made when read.

    Through a 100,000-node chain a trail has 100,000 entries: as :class:`TrailEntry`
    objects they took ~10 MiB and as long to make; here 2 MiB, and a pickle of it
    (from the helper process) is three arrays sent as they are.
    """

    __slots__ = ("_names", "_var", "_x", "_x_plus", "_slots", "_before", "_after", "__weakref__")

    def __init__(self, names: tuple[str, ...] | None, var: str, x: float, x_plus: float, slots: array,
                 before: array, after: array) -> None:
        """
        Args:
            names: Every name by slot (the graph's ``names``).
            var: The nudged variable; ``x`` its value, ``x_plus`` the nudged one (the first entry).
            slots: The slot of every node after it, in evaluation order; ``before``/``after`` their values.
        """
        self._names, self._var, self._x, self._x_plus = names, var, x, x_plus
        self._slots, self._before, self._after = slots, before, after

    def share(self, other: ArrayTrail) -> None:
        """Hold ``other``'s arrays of slots and of values before the nudge where they are the
        same as this trail's (a nudge of the same variable of the same walk by another h has
        the same path and the same values before it): each such pair is then held once."""
        for mine, theirs in (("_slots", other._slots), ("_before", other._before)):
            here = getattr(self, mine)
            if here is not theirs and here.typecode == theirs.typecode and len(here) == len(theirs) \
                    and memoryview(here).cast("B") == memoryview(theirs).cast("B"):
                setattr(self, mine, theirs)

    def attach(self, names: tuple[str, ...]) -> None:
        """Give back the names a pickle left out (the receiving process has the graph)."""
        self._names = names

    def __reduce__(self):
        return ArrayTrail, (None, self._var, self._x, self._x_plus, self._slots, self._before, self._after)

    def __len__(self) -> int:
        return 1 + len(self._slots)

    def _entry(self, k: int) -> TrailEntry:
        if k == 0:
            return TrailEntry(self._var, self._x, self._x_plus)
        k -= 1
        return TrailEntry(self._names[self._slots[k]], self._before[k], self._after[k])

    def __getitem__(self, k):
        n = len(self)
        if isinstance(k, slice):
            return tuple(map(self._entry, range(*k.indices(n))))
        if k < 0:
            k += n
        if not 0 <= k < n:
            raise IndexError("trail index out of range")
        return self._entry(k)

    def __iter__(self):
        return map(self._entry, range(len(self)))

    def __eq__(self, other) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    def __repr__(self) -> str:
        return f"ArrayTrail({self._var!r}, {len(self)} entries)"


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
    out, kink_at = _columns(walk, [(name, walk.values[name] + h, walk.values[name] - h) for name in names])
    graph = walk.graph
    trails = _BatchTrails(walk, names, h)
    results = {}
    for j, name in enumerate(names):
        out_plus, out_minus = _pair(out, j)
        kink = graph.nodes[kink_at[j]].name if j in kink_at else None
        trail = trails.trail(j)
        results[name] = _result(name, h, walk.values[name], walk.values[graph.output], walk.grads[name], trail,
                                out_plus, out_minus, kink)
    # why the suspect ones are off: every re-estimate in one more pass (as suspect_reason does one at a time)
    suspects = [name for name, fd in results.items() if fd.status == "suspect"]
    if suspects:
        pairs = []
        for name in suspects:
            x = walk.values[name]
            pairs += [(name, x + h / 10, x - h / 10), (name, x + h * 10, x - h * 10)]
        out, _ = _columns(walk, pairs)
        for k, name in enumerate(suspects):
            fd = results[name]
            smaller, larger = (_central(out, 2 * k + i, *pairs[2 * k + i][1:]) for i in (0, 1))
            results[name] = replace(fd, reason=_reason(fd.grad, fd.central, smaller, larger))
    return results


def _pair(out, j: int) -> tuple[float, float]:
    """The output in columns 2j and 2j + 1 (a float when no column moved it)."""
    if isinstance(out, float):
        return out, out
    return float(out[2 * j]), float(out[2 * j + 1])


def _central(out, j: int, x_plus: float, x_minus: float) -> float:
    out_plus, out_minus = _pair(out, j)
    step = x_plus - x_minus
    return div(out_plus - out_minus, step) if step else math.nan


def _columns(walk: Walk, pairs: list[tuple[str, float, float]]):
    """The output with each ``(var, plus, minus)`` nudged: var = plus in column 2j, minus in 2j + 1.

    One pass over the tape whose slots hold a column per nudge (numpy, imported only
    here), instead of one pass per nudge. Returns the output (an array, or a float when
    no nudge reaches it) and, by pair, the node whose relu/abs argument a nudge moved
    onto or across its corner (as an index into ``graph.nodes``).
    """
    import numpy as np

    tape = tape_of(walk.graph)
    code, owner = tape.needed_code
    m = len(pairs)
    v: list = list(walk.slots)
    nudges: dict[int, list[int]] = {}  # slot -> the pairs that nudge it
    for j, (name, _, _) in enumerate(pairs):
        nudges.setdefault(tape.slot[name], []).append(j)

    def nudge(slot: int) -> None:
        # a nudged node keeps its nudge whatever its operands say (they are held fixed)
        column = v[slot].copy() if isinstance(v[slot], np.ndarray) else np.full(2 * m, v[slot], dtype=float)
        for j in nudges[slot]:
            column[2 * j] = pairs[j][1]
            column[2 * j + 1] = pairs[j][2]
        v[slot] = column

    for slot in range(tape.n_inputs):
        if slot in nudges:
            nudge(slot)
    # One call per instruction over 2m columns: this loop is the whole cost
    # (10,000 instructions on a 10,000-node graph), so it looks up nothing it can hold.
    # Every column gets exactly the bits the one-at-a-time path gets: numpy only where
    # IEEE 754 fixes the result, the table's float implementation elsewhere (column by
    # column), and a slot no nudge reaches is computed as a float by the same function.
    nudged_nodes = nudges.keys() - range(tape.n_inputs)  # nudged slots that instructions write
    funcs, scalar = _batched_functions(), _FUNC_IMPL
    kinks = KINK_OPS
    ndarray, divide = np.ndarray, np.divide
    power = ops.OPS["**"].batched
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
                y = v[b]
                if isinstance(x, ndarray) or isinstance(y, ndarray):
                    v[o] = divide(x, y)
                else:
                    v[o] = x / y if y else _div(x, y)
            elif op == NEG:
                v[o] = -x
            elif op == POW:
                y = v[b]
                v[o] = power(x, y) if isinstance(x, ndarray) or isinstance(y, ndarray) else _pow(x, y)
            elif not isinstance(x, ndarray):
                v[o] = scalar[op](x)
            else:
                v[o] = funcs[op](x)
                if op in kinks:
                    c = kinks[op]
                    base = walk.slots[a]
                    plus, minus = x[0::2], x[1::2]
                    moved = (plus != base) | (minus != base)
                    touches = (plus == c) | (minus == c) | (base == c)
                    low = np.minimum(np.minimum(plus, minus), base)
                    high = np.maximum(np.maximum(plus, minus), base)
                    for j in np.nonzero(moved & (touches | ((low < c) & (high > c))))[0]:
                        kink_at.setdefault(int(j), owner[n])
            if nudged_nodes and o in nudged_nodes:
                nudge(o)
    out = v[tape.output_slot]
    return (out if isinstance(out, np.ndarray) else float(out)), kink_at


def _batched_functions() -> dict[int, Callable]:
    """Each function opcode's batched implementation, from the table of operations."""
    return {code: ops.OPS[name].batched for name, code in _FUNC_OPS.items()}


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
        forward = div(out_plus - out_before, (x + h) - x)
        central = div(out_plus - out_minus, (x + h) - (x - h))
        points.append(SweepPoint(h, forward, central, err(forward), err(central)))
    return Sweep(var, grad, tuple(points), moves)
