"""The walk through a graph, as data: forward steps, then backward steps.

A forward step evaluates one node. A backward step is one chain-rule
multiplication along one edge ``child ← parent``::

    ∂out/∂parent += ∂out/∂child · ∂child/∂parent
                    (upstream)     (local)

Nodes are visited in reverse dependency order, so each child's gradient is
complete before it flows on. A parent used by several children receives one
step from each, and each step says how many of its contributions have arrived.
"""

from __future__ import annotations

import bisect
import math
from itertools import accumulate, chain, compress
from operator import and_, not_, sub
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial

from engine import expr as ex
from engine.ops import isfinite
from engine.graph import Graph
from engine.tape import Tape, tape_of


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """Evaluating one node.

    Attributes:
        index: 0-based position among the forward steps.
        node: The node evaluated.
        tree: Its expression.
        operand_values: The values of its operands, in the order of ``operands``.
        operands: The names it uses.
        value: The value it gets.
    """

    index: int
    node: str
    tree: ex.Expr
    operands: tuple[str, ...]
    operand_values: tuple[float, ...]
    value: float

    @property
    def expr(self) -> str:
        """The expression in graph-file syntax: ``b * c``."""
        return ex.to_text(self.tree)

    def substituted(self, fmt) -> str:
        """The expression with numbers in place of names: ``3 × 2``.

        Args:
            fmt: How to write a number (the caller chooses the precision).
        """
        values = dict(zip(self.operands, self.operand_values))

        def leaf(e: ex.Expr) -> str | None:
            if isinstance(e, ex.Name):
                text = fmt(values[e.id])
                return f"({text})" if text.startswith("-") else text
            return None

        return ex.to_text(self.tree, times=" × ", leaf=leaf)


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One chain-rule multiplication: ``∂out/∂parent += upstream × local``.

    Attributes:
        index: 0-based position among the backward steps.
        child: The node whose gradient flows down (complete by now).
        parent: The operand of ``child`` that receives it.
        upstream: ∂out/∂child, the total gradient of the child.
        local_tree: ∂child/∂parent as a simplified formula.
        local: That formula's value.
        product: upstream × local: this step's contribution.
        grad_before: The parent's accumulated gradient before the step.
        grad_after: The parent's accumulated gradient after it.
        arrived: Which contribution to ``parent`` this is (1-based).
        of: How many contributions ``parent`` receives in all.
        selected: Whether the product is 0 by selection, not by multiplying: the
            local derivative is 0 because the function is flat here (relu below 0),
            and the upstream gradient is inf or nan, so upstream × local would be nan.
    """

    index: int
    child: str
    parent: str
    upstream: float
    local_tree: ex.Expr
    local: float
    product: float
    grad_before: float
    grad_after: float
    arrived: int
    of: int
    selected: bool = False

    @property
    def local_formula(self) -> str:
        """∂child/∂parent as a formula in graph-file syntax (right-hand side only)."""
        return ex.to_text(self.local_tree)

    @property
    def complete(self) -> bool:
        """Whether this step completes the parent's gradient."""
        return self.arrived == self.of


@dataclass(frozen=True)
class Walk:
    """Everything a graph computes for one set of input values.

    Attributes:
        graph: The graph.
        values: Every input's and node's value.
        grads: ∂output/∂name for every input and node (0 where the output does
            not depend on it).
        forward_steps: One per node, in dependency order.
        backward_steps: One per edge the output depends on, in reverse
            dependency order.
        warnings: Where a non-finite number first appears, and why (found when first
            asked for: a walk run only for its numbers, as a descent step or a nudge's
            re-run, does not look for them).
    """

    graph: Graph
    values: Mapping[str, float]
    grads: Mapping[str, float]
    forward_steps: Sequence[ForwardStep]
    backward_steps: Sequence[BackwardStep]
    find_warnings: Callable[[], tuple[str, ...]] = field(default=tuple, repr=False, compare=False)
    slots: list[float] | None = None
    """Every slot of the graph's tape after the forward pass (for fast re-evaluation)."""

    @cached_property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self.find_warnings())

    @property
    def output(self) -> str:
        return self.graph.output


class ByName(Mapping):
    """A read-only mapping of every input's and node's name to its number in a list by slot.

    A walk's values and gradients, read where the tape left them: a dict of 100,000 names
    costs ~10 ms to fill, twice a walk, and most walks (a descent step, an edit's re-run)
    are read at a few names. Iterates in the graph's order, as the dict it replaces did.
    """

    __slots__ = ("_slot", "_numbers")

    def __init__(self, slot: dict[str, int], numbers: list[float]) -> None:
        self._slot, self._numbers = slot, numbers

    def __getitem__(self, name: str) -> float:
        return self._numbers[self._slot[name]]

    def __contains__(self, name: object) -> bool:
        return name in self._slot

    def __iter__(self):
        return iter(self._slot)

    def __len__(self) -> int:
        return len(self._slot)

    def __repr__(self) -> str:
        return f"ByName({dict(self)!r})"


def _num(x: float) -> str:
    return ex.number_text(x) if not isfinite(x) or x == int(x) else f"{x:.10g}"


class ForwardSteps(Sequence):
    """The forward steps, built on demand from the slots (a 100,000-node graph needs no 100,000 objects)."""

    def __init__(self, graph: Graph, tape: Tape, v: list[float]) -> None:
        self._graph, self._tape, self._v = graph, tape, v

    def __len__(self) -> int:
        return len(self._graph.nodes)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        node = self._graph.nodes[k]  # IndexError past the end
        v, slot = self._v, self._tape.slot
        return ForwardStep(k, node.name, node.expr, node.operands,
                           tuple(v[slot[o]] for o in node.operands), v[slot[node.name]])


class BackwardSteps(Sequence):
    """The backward steps, rebuilt on demand from the tape's edges with the same floats."""

    def __init__(self, graph: Graph, tape: Tape, v: list[float], g: list[float]) -> None:
        self._graph, self._tape, self._v, self._g = graph, tape, v, g
        self._sums: dict[int, list[float]] = {}

    def __len__(self) -> int:
        return len(self._tape.edges)

    def _running(self, parent: int) -> list[float]:
        """The parent's accumulated gradient after each of its steps, replayed once."""
        sums = self._sums.get(parent)
        if sums is None:
            tape, v, g = self._tape, self._v, self._g
            acc, sums = 0.0, []
            for j in tape.edges_of_parent[parent]:
                c, _, l = tape.edges[j]
                acc = acc + tape.contribution(g[c], l, v)
                sums.append(acc)
            self._sums[parent] = sums
        return sums

    def accumulated(self, k: int) -> float:
        """The parent's gradient after step ``k`` (its ``grad_after``), without building the step."""
        parent = self._tape.edges[k][1]
        return self._running(parent)[bisect.bisect_left(self._tape.edges_of_parent[parent], k)]

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        if k < 0:
            k += len(self)
        tape, v, g = self._tape, self._v, self._g
        child, parent, local_slot = tape.edges[k]  # IndexError past the end
        upstream, local = g[child], v[local_slot]
        siblings = tape.edges_of_parent[parent]
        rank = bisect.bisect_left(siblings, k)
        sums = self._running(parent)
        before = sums[rank - 1] if rank else 0.0
        names = self._graph.names
        product = tape.contribution(upstream, local_slot, v)
        selected = product == 0.0 and upstream * local != upstream * local
        return BackwardStep(k, names[child], names[parent], upstream, tape.local_tree(k), local,
                            product, before, sums[rank], rank + 1, len(siblings), selected)


def compute(graph: Graph, inputs: Mapping[str, float] | None = None) -> Walk:
    """Evaluate ``graph`` forward and backward.

    Args:
        graph: The graph.
        inputs: Values overriding the file's, by input name.

    Never raises for arithmetic: a non-finite value or local derivative is
    carried on, and a warning names where it starts and why.
    """
    tape = tape_of(graph)
    values_in = [float(i.value) for i in graph.inputs]
    if inputs:
        for name, value in inputs.items():
            values_in[tape.slot[name]] = float(value)
    v = tape.forward(values_in)
    total = sum(v)
    g = tape.backward(v, finite=total - total == 0.0)
    values, grads = ByName(tape.slot, v), ByName(tape.slot, g)
    find_warnings = partial(_warnings, graph, tape, values, v) if total - total != 0.0 else tuple
    return Walk(graph, values, grads, ForwardSteps(graph, tape, v), BackwardSteps(graph, tape, v, g),
                find_warnings, v)


def _warnings(graph: Graph, tape: Tape, values: Mapping[str, float], v: list[float]) -> list[str]:
    """Where non-finite numbers start: a node or a local derivative whose operands are finite.

    Found without a Python loop over the nodes or the edges (a graph that overflows
    somewhere carries inf through most of what follows: the 100,000-node DAG has 64,000
    non-finite slots, and 25 places where one starts): one flag per slot, then a count
    of non-finite operands per node from a running sum; only the places found are
    looked at one by one, in the order the steps take them.
    """
    warnings = []
    finite = bytes(map(math.isfinite, v))  # 1 per finite slot
    n_inputs, n_names = tape.n_inputs, tape.n_names
    args, arg_ends = tape.args_flat, tape.arg_ends
    # running count of non-finite operands over every node's operands, one after the other
    bad_before = [0, *accumulate(map(not_, map(finite.__getitem__, args)))]
    bad_operands = map(sub, map(bad_before.__getitem__, arg_ends),
                       map(bad_before.__getitem__, chain((0,), arg_ends)))
    starts = compress(range(n_names - n_inputs),
                      map(and_, map(not_, finite[n_inputs:n_names]), map(not_, bad_operands)))
    nodes = graph.nodes
    for k in starts:
        node = nodes[k]
        value = v[n_inputs + k]
        causes: list[str] = []
        ex.evaluate(node.expr, values, causes)
        why = causes[0] if causes else "overflow"
        warnings.append(f"node {node.name!r} is {_num(value)}: {why}")
    names = graph.names
    child_col, parent_col, local_col = tape.edges.cols
    fin = finite.__getitem__
    for k in compress(range(len(local_col)), map(and_, map(fin, child_col), map(not_, map(fin, local_col)))):
        child, parent, local_slot = child_col[k], parent_col[k], local_col[k]
        local = v[local_slot]
        tree = tape.local_tree(k)
        causes = []
        ex.evaluate(tree, values, causes)
        why = f": {causes[0]}" if causes else ""
        warnings.append(
            f"local derivative ∂{names[child]}/∂{names[parent]} = {ex.to_text(tree)} is {_num(local)}"
            f" at {names[parent]} = {_num(values[names[parent]])}{why}"
        )
    return warnings
