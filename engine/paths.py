"""Why a gradient is what it is: every path from the output down to a variable.

By the chain rule, ∂J/∂x is the sum, over every path from J down to x, of the
product of the local derivatives along it. On the lecture graph, ∂J/∂c has one
path, J → v → u → c: 3 · 1 · b = 9. A node used twice has two paths that add up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine import expr as ex
from engine.steps import Walk
from engine.tape import tape_of


@dataclass(frozen=True, slots=True)
class Hop:
    """One edge of a path: ∂child/∂parent, as a formula and a number."""

    child: str
    parent: str
    formula: ex.Expr
    local: float


class Hops(Sequence):
    """The hops of one path, each built when read.

    A path down a 100,000-node chain has 100,000 hops and the first dozen paths
    share almost all of them: a path is kept as the edge indexes along it (shared
    with the paths that branch off it), and a :class:`Hop` is made only for the
    hops that are shown.
    """

    def __init__(self, tape, slots: list[float], leaf: int, up: list[int], edge: list[int], depth: list[int]) -> None:
        self._tape, self._slots = tape, slots
        self._leaf, self._up, self._edge = leaf, up, edge
        self._len = depth[leaf]
        self._edges: list[int] | None = None

    def __len__(self) -> int:
        return self._len

    def edges(self) -> list[int]:
        """The tape's edge indexes along the path, from the output down (worked out once)."""
        if self._edges is None:
            up, edge = self._up, self._edge
            out: list[int] = []
            at = self._leaf
            while up[at] >= 0:
                out.append(edge[at])
                at = up[at]
            out.reverse()
            self._edges = out
        return self._edges

    def _hop(self, k: int) -> Hop:
        tape = self._tape
        child, parent, local = tape.edges[k]
        names = tape.graph.names
        return Hop(names[child], names[parent], tape.local_tree(k), self._slots[local])

    def __getitem__(self, k):
        edges = self.edges()
        if isinstance(k, slice):
            return tuple(self._hop(e) for e in edges[k])
        return self._hop(edges[k])

    def names(self) -> list[str]:
        """The names along the path, from the output down."""
        tape = self._tape
        names, edges = tape.graph.names, tape.edges
        found = self.edges()
        return [names[edges[found[0]][0]]] + [names[edges[e][1]] for e in found] if found else []

    def __eq__(self, other) -> bool:
        return tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class GradientPath:
    """One way down from the output: its hops, and the product of their local derivatives."""

    hops: Sequence[Hop]
    product: float


@dataclass(frozen=True, slots=True)
class WhyGradient:
    """The paths from the output down to ``name``.

    Attributes:
        name: The variable.
        paths: Every path, in the order the backward pass adds their contributions up; or, when
            there are more than ``limit``, the first ``limit`` found depth-first (operands in order).
        count: How many paths there are in all (may be far more than listed).
        total: The sum of the listed paths' products: ∂output/∂name when all are listed.
        grad: The backprop gradient, to compare.
    """

    name: str
    paths: tuple[GradientPath, ...]
    count: int
    total: float
    grad: float

    @property
    def complete(self) -> bool:
        return len(self.paths) == self.count


def _first_edges(tape) -> list[int]:
    """For each node index, the index of its first edge on the tape (-1 if the output does not need it).

    A node's edges sit together, one per operand in order; kept with the graph.
    """
    cache = tape.graph._cache
    found = cache.get("first_edges")
    if found is None or found[0] is not tape:
        first = [-1] * len(tape.graph.nodes)
        for e, (k, j) in enumerate(tape.edge_node):
            if j == 0:
                first[k] = e
        found = cache["first_edges"] = (tape, first)
    return found[1]


TICK = 4096
"""How much work (nodes counted, hops taken) passes between two calls of ``tick``."""


def why_gradient(walk: Walk, name: str, limit: int = 12,
                 tick: Callable[[int, int], None] | None = None) -> WhyGradient:
    """Every path from the output to ``name`` (the first ``limit`` of them listed).

    Work is linear in the graph plus the listed paths' lengths: a path is a
    pointer to the hop above it (paths share their beginnings), and each keeps
    the product of its local derivatives so far, multiplied in the same order
    (from the output down) as a path's own product would be.

    Args:
        tick: Called now and then with (work done, work in all, roughly); it may
            raise to stop (a worker cancelled).
    """
    graph = walk.graph
    tape = tape_of(graph)
    out = graph.output
    nodes = graph.nodes
    position = graph.position
    # paths from each node down to name, counted from name upwards (dependency order);
    # only nodes after name can depend on it
    count: dict[str, int] = {name: 1}
    start = position.get(name, -1) + 1
    total_work = len(nodes) - start + 1
    for k in range(start, len(nodes)):
        node = nodes[k]
        c = 0
        for o in node.operands:
            c += count.get(o, 0)
        if c:
            count[node.name] = c
        if tick is not None and not (k - start) % TICK:
            tick(k - start, total_work)
    first_edge = _first_edges(tape)
    v = walk.slots
    local_col, selected = tape.edges.cols[2], tape.selected_zeros(v)

    paths: list[GradientPath] = []
    total = 0.0
    if name != out and count.get(out, 0):
        # entry i: the node reached, the entry above it, the edge from there, how deep, the product so far
        up: list[int] = [-1]
        edge: list[int] = [-1]
        depth: list[int] = [0]
        # (node, entry, product so far, whether a selected zero lies on the path so far)
        stack: list[tuple[str, int, float, bool]] = [(out, 0, 1.0, False)]
        work = 0
        while stack and len(paths) < limit:
            at, entry, product, flat = stack.pop()
            if at == name:
                if flat and product != product:
                    product = 0.0  # a selected zero on the path stops it, whatever the other factors
                paths.append(GradientPath(Hops(tape, v, entry, up, edge, depth), product))
                total += product
                continue
            k = position[at]
            base = first_edge[k]
            d = depth[entry] + 1
            ops = nodes[k].operands
            for j in range(len(ops) - 1, -1, -1):
                o = ops[j]
                if o in count:
                    e = base + j
                    up.append(entry)
                    edge.append(e)
                    depth.append(d)
                    local = local_col[e]
                    stack.append((o, len(up) - 1, product * v[local], flat or selected[local]))
            work += 1
            if tick is not None and not work % TICK:
                tick(total_work, total_work)
        if len(paths) == count[out]:
            # all listed: in the order the backward pass adds them up (the tape's edges are in
            # backward-step order), by the step of the last hop, then of the one above it, … (the
            # depth-first walk above went from the output down, operands in order: at fan-out, the
            # other way round). A partial list stays the first paths found depth-first.
            paths.sort(key=lambda p: p.hops.edges()[::-1])
            total = 0.0
            for p in paths:
                total += p.product
    elif name == out:
        paths.append(GradientPath((), 1.0))
        total = 1.0
    return WhyGradient(name, tuple(paths), count.get(out, 0) if name != out else 1, total, walk.grads[name])
