"""Finite differences: nudge one variable by h and watch the output move.

As on the lecture page: b goes 3 → 3.001, so u goes 6 → 6.002, v 11 → 11.002
and J 33 → 33.006, and (33.006 − 33) / 0.001 ≈ 6 = ∂J/∂b. The nudged variable's
own operands are held fixed and only what depends on it is evaluated again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine import expr as ex
from engine.steps import Walk, isfinite
from engine.tape import _FUNC_OPS, run, tape_of

KINK_OPS = (_FUNC_OPS["relu"], _FUNC_OPS["abs"])

DEFAULT_H = 1e-3
"""The page's nudge."""

SUSPECT_REL = 1e-4
"""Central relative error above which a gradient is suspect (CS231n's band)."""
SUSPECT_ABS = 1e-8
"""...unless the absolute error is below this, so a zero gradient estimated as 1e-14 is fine."""

STATUSES = ("ok", "suspect", "kink", "non-finite")


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
    """The first node on the path whose relu or abs argument sits at, or crosses, 0."""
    tape = tape_of(walk.graph)
    for op, out, a, _ in code:
        if op in KINK_OPS:
            args = [v[a] for v in states]
            if any(x == 0.0 for x in args) or min(args) < 0.0 < max(args):
                return _owner(walk, tape, out)
    return None


def _owner(walk: Walk, tape, out: int) -> str:
    """The node whose instructions write slot ``out``."""
    for k, (start, end) in enumerate(tape.node_code):
        if any(ins[1] == out for ins in tape.code[start:end]):
            return walk.graph.nodes[k].name
    return "?"


def finite_difference(walk: Walk, var: str, h: float = DEFAULT_H) -> FiniteDifference:
    """Nudge ``var`` by ±h and compare the output's change with the backprop gradient."""
    graph = walk.graph
    out = graph.output
    x = walk.values[var]
    path = path_to_output(walk, var)
    tape = tape_of(graph)
    code = tape.node_instructions(graph.position[n] for n in path)
    x_plus, x_minus = x + h, x - h
    plus = _nudged(walk, var, x_plus, code)
    minus = _nudged(walk, var, x_minus, code)
    out_before = walk.values[out]
    out_plus = plus[tape.slot[out]] if (var == out or out in path) else out_before
    out_minus = minus[tape.slot[out]] if (var == out or out in path) else out_before
    forward = ex._div(out_plus - out_before, x_plus - x)
    central = ex._div(out_plus - out_minus, x_plus - x_minus)
    grad = walk.grads[var]
    trail = (TrailEntry(var, x, x_plus),) + tuple(TrailEntry(n, walk.values[n], plus[tape.slot[n]]) for n in path)
    rf, rc = rel_error(grad, forward), rel_error(grad, central)
    kink = None
    if not all(isfinite(v) for v in (grad, forward, central, out_before, out_plus, out_minus)):
        status = "non-finite"
    elif (kink := _kink(walk, code, (minus, walk.slots, plus))) is not None:
        status = "kink"
    elif rc > SUSPECT_REL and abs(grad - central) > SUSPECT_ABS:
        status = "suspect"
    else:
        status = "ok"
    return FiniteDifference(var, h, trail, out_before, out_plus, out_minus, forward, central,
                            grad, rf, rc, status, kink)


def finite_differences(walk: Walk, which: str = "all", h: float = DEFAULT_H) -> dict[str, FiniteDifference]:
    """Finite differences for ``"all"`` variables, only the ``"inputs"``, or ``"none"``."""
    graph = walk.graph
    if which == "none":
        return {}
    names = [i.name for i in graph.inputs] if which == "inputs" else list(graph.names)
    return {name: finite_difference(walk, name, h) for name in names}
