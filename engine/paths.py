"""Why a gradient is what it is: every path from the output down to a variable.

By the chain rule, ∂J/∂x is the sum, over every path from J down to x, of the
product of the local derivatives along it. On the lecture graph, ∂J/∂c has one
path, J → v → u → c: 3 · 1 · b = 9. A node used twice has two paths that add up.
"""

from __future__ import annotations

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


@dataclass(frozen=True, slots=True)
class GradientPath:
    """One way down from the output: its hops, and the product of their local derivatives."""

    hops: tuple[Hop, ...]
    product: float


@dataclass(frozen=True, slots=True)
class WhyGradient:
    """The paths from the output down to ``name``.

    Attributes:
        name: The variable.
        paths: The first ``limit`` paths, in depth-first order (operands in order).
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


def why_gradient(walk: Walk, name: str, limit: int = 12) -> WhyGradient:
    """Every path from the output to ``name`` (the first ``limit`` of them listed)."""
    graph = walk.graph
    tape = tape_of(graph)
    out = graph.output
    reaches = set(graph.downstream(name)) | {name}  # nodes that depend on name, and name
    nodes = graph.node_by_name
    # paths from each node down to name, counted from name upwards (dependency order)
    count: dict[str, int] = {name: 1}
    for node in graph.nodes:
        if node.name in reaches and node.name != name:
            count[node.name] = sum(count.get(o, 0) for o in node.operands)
    edge_of = {(tape.edges[k][0], tape.edges[k][1]): k for k in range(len(tape.edges))}
    slot, v = tape.slot, walk.slots

    def hop(child: str, parent: str) -> Hop:
        k = edge_of[(slot[child], slot[parent])]
        return Hop(child, parent, tape.local_tree(k), v[tape.edges[k][2]])

    def flat(h: Hop) -> bool:  # a selected zero stops the path whatever the other factors are
        return tape.selected(tape.edges[edge_of[(slot[h.child], slot[h.parent])]][2], v)

    paths: list[GradientPath] = []
    total = 0.0
    if out in reaches and name != out:
        stack: list[tuple[str, tuple[Hop, ...]]] = [(out, ())]
        while stack and len(paths) < limit:
            at, hops = stack.pop()
            if at == name:
                product = 1.0
                for h in hops:
                    product *= h.local
                if product != product and any(flat(h) for h in hops):
                    product = 0.0
                paths.append(GradientPath(hops, product))
                total += product
                continue
            operands = [o for o in nodes[at].operands if count.get(o, 0)]
            for operand in reversed(operands):
                stack.append((operand, hops + (hop(at, operand),)))
    elif name == out:
        paths.append(GradientPath((), 1.0))
        total = 1.0
    return WhyGradient(name, tuple(paths), count.get(out, 0) if name != out else 1, total, walk.grads[name])
