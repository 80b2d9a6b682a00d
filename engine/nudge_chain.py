"""The chain rule in nudges: a nudge's trail, link by link, as the lecture page checks it.

The page nudges b by 0.001 and follows it: u 6 → 6.002, v 11 → 11.002, J 33 → 33.006,
and reads each link of the chain as a ratio of those changes::

    Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2
    Δv/Δu = (11.002 − 11)/(6.002 − 6) = 1
    ΔJ/Δv = (33.006 − 33)/(11.002 − 11) = 3      2 × 1 × 3 = 6 = ΔJ/Δb

Each link's numbers are the trail's own (:func:`engine.finite_diff.finite_difference`),
so the arithmetic shown is the arithmetic done. When the nudge reaches the output by
several paths (:mod:`engine.paths` enumerates them), a node on a path may see more than
one of its operands move; a link of that path then moves only its own operand and holds
the others at their old values (one evaluation of that node), so each path's product is
that path's share, and the products add up to the one-sided estimate to first order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from engine import expr as ex
from engine.finite_diff import FiniteDifference
from engine.paths import why_gradient
from engine.steps import Walk
from engine.tape import tape_of

PATHS_LISTED = 12
"""At most this many paths are written out (the count says how many there are)."""
FORMULAS_AT_ENDS = 6
"""A path's first and last this many links get their formulas (the text writes out no others)."""
TRAIL_LIMIT = 10_000
"""Trails longer than this are not followed link by link (the panel says so)."""


@dataclass(frozen=True, slots=True)
class NudgeLink:
    """One link of a path: how much ``top`` moved for the move of ``bottom``.

    Attributes:
        bottom: The operand that moved (the nudged variable, or a node on the path).
        top: The node that uses it, one step nearer the output.
        bottom_before: ``bottom`` before the nudge; ``bottom_after`` with it (the trail's numbers).
        top_before: ``top`` before the nudge.
        top_after: ``top`` after it: the trail's number, or, when ``held`` is not empty,
            ``top`` evaluated with only ``bottom`` moved.
        held: ``top``'s other operands that the nudge moved too, held at their old values
            here: (name, value) pairs.
        ratio: ``(top_after − top_before) / (bottom_after − bottom_before)`` (nan for 0/0).
        local: The backward pass's local derivative ∂top/∂bottom, to set beside it.
        formula: That local derivative as a formula (None in the middle of a long path,
            where no link is written out: see :data:`FORMULAS_AT_ENDS`).
    """

    bottom: str
    top: str
    bottom_before: float
    bottom_after: float
    top_before: float
    top_after: float
    held: tuple[tuple[str, float], ...]
    ratio: float
    local: float
    formula: ex.Expr | None


@dataclass(frozen=True, slots=True)
class NudgePath:
    """One path from the nudged variable up to the output, its links in that order, and their product."""

    links: tuple[NudgeLink, ...]
    product: float
    grad_product: float
    """The product of the backward pass's local derivatives along it (∂J/∂x's share from this path)."""


@dataclass(frozen=True, slots=True)
class NudgeChain:
    """A nudge's trail read link by link.

    Attributes:
        var: The nudged variable; ``output`` the graph's output.
        paths: The first :data:`PATHS_LISTED` paths (depth-first from the output, operands in
            order, as ``y`` lists them), each from ``var`` up to the output.
        count: How many paths there are in all.
        total: The sum of the listed paths' products.
        estimate: The one-sided estimate ``ΔJ/Δx`` itself (None when the nudge was lost).
        too_long: The trail has more than :data:`TRAIL_LIMIT` entries: no links were made.
    """

    var: str
    output: str
    paths: tuple[NudgePath, ...]
    count: int
    total: float
    estimate: float | None
    too_long: bool = False
    steps: tuple = ()
    """The backward pass's steps into ``var`` (at most :data:`PATHS_LISTED`): its chain-rule products."""
    steps_count: int = 0
    """How many backward steps go into ``var`` in all."""

    @property
    def complete(self) -> bool:
        return len(self.paths) == self.count


def _ratio(top_before: float, top_after: float, bottom_before: float, bottom_after: float) -> float:
    return ex._div(top_after - top_before, bottom_after - bottom_before)


def nudge_chain(walk: Walk, fd: FiniteDifference, limit: int = PATHS_LISTED) -> NudgeChain:
    """The links of ``fd``'s trail along every path from its variable to the output (the first ``limit``)."""
    graph = walk.graph
    var, out = fd.var, graph.output
    estimate = fd.forward
    if var == out or fd.forward is None:
        return NudgeChain(var, out, (), 0 if var != out else 1, 0.0, estimate)
    if len(fd.trail) > TRAIL_LIMIT:
        return NudgeChain(var, out, (), 0, math.nan, estimate, too_long=True)
    moved = {e.node: (e.before, e.after) for e in fd.trail}
    if out not in moved:
        return NudgeChain(var, out, (), 0, 0.0, estimate)
    why = why_gradient(walk, var, limit=limit)
    values = walk.values
    nodes = graph.node_by_name
    tape = tape_of(graph)
    names, slots = graph.names, walk.slots
    cache: dict[int, NudgeLink] = {}

    def link(edge: int, formula: bool) -> NudgeLink:
        found = cache.get(edge)
        if found is not None and (found.formula is not None or not formula):
            return found
        child, parent, local = tape.edges[edge]
        top, bottom = names[child], names[parent]
        b0, b1 = moved[bottom]
        t0, t1 = moved[top]
        held = tuple((o, values[o]) for o in nodes[top].operands if o != bottom and o in moved)
        if held:  # only this operand moves: the others keep their old values
            env = {o: values[o] for o in nodes[top].operands}
            env[bottom] = b1
            t1 = ex.evaluate(nodes[top].expr, env)
        found = cache[edge] = NudgeLink(bottom, top, b0, b1, t0, t1, held, _ratio(t0, t1, b0, b1), slots[local],
                                        tape.local_tree(edge) if formula else None)
        return found

    paths = []
    for path in why.paths:
        edges = path.hops.edges()[::-1]  # from var up to the output
        n = len(edges)
        links = tuple(link(e, k < FORMULAS_AT_ENDS or k >= n - FORMULAS_AT_ENDS) for k, e in enumerate(edges))
        product = 1.0
        for k in links:
            product *= k.ratio
        paths.append(NudgePath(links, product, path.product))
    total = 0.0
    for p in paths:
        total += p.product
    into = tape_of(graph).edges_of_name.get(var, ())
    steps = tuple(walk.backward_steps[k] for k in into[:limit])
    return NudgeChain(var, out, tuple(paths), why.count, total, estimate, False, steps, len(into))


def shown_links(links: Sequence[NudgeLink], keep: int = 12) -> tuple[list[NudgeLink], int, list[NudgeLink]]:
    """A long path's first and last ``keep // 2`` links and how many lie between (all of them when short)."""
    if len(links) <= keep + 1:
        return list(links), 0, []
    half = keep // 2
    return list(links[:half]), len(links) - 2 * half, list(links[-half:])
