"""The graph: inputs, nodes, the output, and one fixed dependency order."""

from __future__ import annotations

import bisect
import difflib
import heapq
import keyword
from dataclasses import dataclass, field
from functools import cached_property

from collections.abc import Set as AbstractSet

from engine import expr as ex
from engine import ops
from engine.errors import GraphError

DEFAULT_ALPHA = 0.1
"""The learning rate of gradient descent when the graph file gives none."""
ALPHA_MIN, ALPHA_MAX = 1e-6, 1e3
"""The learning rates a file may give and the keys may reach."""

class _Reserved(AbstractSet):
    """The constants and every function of the table of operations, as it is now."""

    def __contains__(self, name: object) -> bool:
        return name in ex.CONSTANTS or (isinstance(name, str) and ops.is_function(name))

    def __iter__(self):
        return iter((*ex.CONSTANTS, *ex.FUNCTIONS, *ex.FORMULA_FUNCTIONS))

    def __len__(self) -> int:
        return len(ex.CONSTANTS) + len(ex.FUNCTIONS) + len(ex.FORMULA_FUNCTIONS)


RESERVED = _Reserved()
"""Names a graph may not define: the constants, the functions and the formula-only functions."""


@dataclass(frozen=True, slots=True)
class Input:
    """An input variable: a leaf of the graph whose value the user sets.

    Attributes:
        name: Its name.
        value: Its value in the file (the session may override it).
        line: 1-based line of its definition, when read from a file.
        note: Free text from the file.
        span: ``(start, end)`` character offsets of the value in the file text, so
            that a saved edit replaces exactly those characters.
    """

    name: str
    value: float
    line: int | None = None
    note: str | None = None
    span: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class Node:
    """A computed node ``name = expr``.

    Attributes:
        name: Its name.
        shape: The parsed expression with its operands named ``"0"``, ``"1"``, … (see
            :func:`engine.expr.parse_shape`): shared by every node of the same shape, so a
            100,000-node graph of a few kinds of node holds a few trees, not 100,000.
        operands: The distinct names it uses, in order of first appearance: one
            backward step per operand.
        line: 1-based line of its definition, when read from a file.
        note: Free text from the file.
    """

    name: str
    shape: ex.Expr
    operands: tuple[str, ...]
    line: int | None = None
    note: str | None = None

    @property
    def expr(self) -> ex.Expr:
        """The parsed expression over the graph's names (made when asked)."""
        return ex.rename(self.shape, self.operands)

    @property
    def text(self) -> str:
        """The expression in graph-file syntax."""
        return ex.to_text(self.expr)


class NamedGraph:
    """What a scalar :class:`Graph` and a :class:`~engine.tensor_graph.TensorGraph` both answer from
    their ``inputs``, ``nodes`` (each with ``name``; nodes with ``operands``) and ``output`` (the
    picture's layout and the tree ask either kind of graph)."""

    @cached_property
    def input_by_name(self) -> dict:
        return {i.name: i for i in self.inputs}

    @cached_property
    def node_by_name(self) -> dict:
        return {n.name: n for n in self.nodes}

    @cached_property
    def names(self) -> tuple[str, ...]:
        """Every input then every node, inputs in file order, nodes in dependency order."""
        # list comprehensions, not generators: 0.16 -> 0.09 ms on the 10k DAG (the first compute() asks)
        return tuple([i.name for i in self.inputs]) + tuple([n.name for n in self.nodes])

    @cached_property
    def needed(self) -> frozenset[str]:
        """The output and every name it depends on."""
        seen = {self.output}
        stack = [self.output]
        while stack:
            node = self.node_by_name.get(stack.pop())
            if node is None:
                continue
            for operand in node.operands:
                if operand not in seen:
                    seen.add(operand)
                    stack.append(operand)
        return frozenset(seen)

    def is_input(self, name: str) -> bool:
        return name in self.input_by_name

    @cached_property
    def position(self) -> dict[str, int]:
        """Each node's index in dependency order."""
        return {n.name: k for k, n in enumerate(self.nodes)}

    @cached_property
    def consumers(self) -> dict[str, tuple[str, ...]]:
        """For each name, the nodes that use it, in dependency order."""
        out: dict[str, list[str]] = {name: [] for name in self.names}
        for node in self.nodes:
            for operand in node.operands:
                out[operand].append(node.name)
        return {k: tuple(v) for k, v in out.items()}

    def downstream(self, name: str) -> tuple[str, ...]:
        """Nodes whose value depends on ``name`` (not ``name`` itself), in dependency order."""
        seen: set[str] = set()
        stack = [name]
        while stack:
            for consumer in self.consumers[stack.pop()]:
                if consumer not in seen:
                    seen.add(consumer)
                    stack.append(consumer)
        return tuple(sorted(seen, key=self.position.__getitem__))


@dataclass(frozen=True)
class Graph(NamedGraph):
    """A checked graph. Build it with :func:`build_graph`.

    Attributes:
        inputs: The inputs, in file order.
        nodes: The nodes, in dependency order (see :func:`build_graph`).
        output: The name of the output node.
        title: Optional title from the file.
        description: Optional description from the file.
        params: Inputs marked as parameters, which gradient descent trains.
        alpha: The learning rate the file asks for, if any.
    """

    inputs: tuple[Input, ...]
    nodes: tuple[Node, ...]
    output: str
    title: str | None = None
    description: str | None = None
    params: tuple[str, ...] = ()
    alpha: float | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class NodeSource:
    """A node as written in the file, before its expression is parsed."""

    name: str
    text: str
    line: int | None = None
    note: str | None = None


def check_name(name: str, line: int | None, what: str) -> None:
    """Refuse a name that is not a plain identifier, or that is reserved."""
    if not ex.NAME_RE.match(name):
        raise GraphError(f"{what} name {name!r} is not a valid name (letters, digits and _, not starting with a digit)", line, name)
    if keyword.iskeyword(name):
        raise GraphError(f"{what} name {name!r} is a Python keyword", line, name)
    if name in RESERVED:
        kind = "constant" if name in ex.CONSTANTS else "function"
        raise GraphError(f"{what} name {name!r} is reserved (a {kind})", line, name)


SUGGEST_FROM = 100
"""At most this many names are compared in full for a "did you mean" (twice: by start, by end)."""


def did_you_mean(word: str, names) -> str | None:
    """The defined name closest to a mistyped one, or None.

    ``difflib`` compares each candidate character by character: over 5,000 long
    names that took 13 s. So a big graph offers only the names next to ``word`` in
    alphabetical order and in the order of their reversed spelling (a typo near the
    end, then one near the start, keeps the rest of the name in common): at most
    ``2 * SUGGEST_FROM`` names, found by sorting, which is fast in C.
    """
    names = list(names)
    if len(names) > 2 * SUGGEST_FROM:
        half = SUGGEST_FROM // 2
        picked: dict[str, None] = {}
        for key in (None, _reversed):
            ordered = sorted(names, key=key)
            probe = word if key is None else _reversed(word)
            keys = ordered if key is None else [_reversed(n) for n in ordered]
            at = bisect.bisect_left(keys, probe)
            picked.update(dict.fromkeys(ordered[max(0, at - half): at + half]))
        names = list(picked)
    hint = difflib.get_close_matches(word, sorted(names), n=1)
    return hint[0] if hint else None


def _reversed(name: str) -> str:
    return name[::-1]


def build_graph(
    inputs: list[Input],
    nodes: list[NodeSource],
    output: str | None = None,
    output_line: int | None = None,
    title: str | None = None,
    description: str | None = None,
    params: list[tuple[str, int | None]] = (),
    alpha: float | None = None,
    alpha_line: int | None = None,
) -> Graph:
    """Check names, parse expressions, resolve references and fix the order.

    The dependency order repeatedly takes the earliest node in the file whose
    operands are all known, so one file always yields the same steps.

    Raises:
        GraphError: for anything the file format refuses.
    """
    if not inputs:
        raise GraphError("the graph has no inputs: 'inputs' needs at least one")
    if not nodes:
        raise GraphError("the graph has no nodes: 'nodes' needs at least one")
    defined: dict[str, int | None] = {}
    for what, items in (("input", inputs), ("node", nodes)):
        for item in items:
            check_name(item.name, item.line, what)
            if item.name in defined:
                first = defined[item.name]
                also = f" (first defined on line {first})" if first is not None else ""
                raise GraphError(f"{item.name!r} is defined twice{also}", item.line, item.name)
            defined[item.name] = item.line

    parsed: list[Node] = []
    for source in nodes:
        try:
            shape, operands = ex.parse_shape(source.text)
        except GraphError as err:
            raise GraphError(f"node {source.name!r}: {err.message}", source.line, source.name) from None
        check_operands(source, operands, defined)
        parsed.append(Node(source.name, shape, operands, source.line, source.note))

    input_names = {i.name for i in inputs}
    output, marked = check_output_and_params(nodes, defined, input_names, output, output_line, params, alpha, alpha_line)
    ordered = _dependency_order(parsed, input_names)
    return Graph(tuple(inputs), tuple(ordered), output, title, description, marked, alpha)


def check_operands(source: NodeSource, operands, defined: dict[str, int | None]) -> None:
    """Refuse a node that uses a name nothing defines (with the closest defined name, if any)."""
    for operand in operands:
        if operand not in defined:
            hint = did_you_mean(operand, defined)
            also = f" (did you mean {hint!r}?)" if hint else ""
            raise GraphError(f"node {source.name!r} uses {operand!r}, which is not defined{also}", source.line, operand)


def check_output_and_params(nodes, defined: dict[str, int | None], input_names: set[str], output: str | None,
                            output_line: int | None, params, alpha: float | None,
                            alpha_line: int | None) -> tuple[str, tuple[str, ...]]:
    """The output (the last node when the file names none) and the parameters, each checked, and α's range
    (scalar and tensor graphs alike).

    Raises:
        GraphError: the output is undefined or an input; a parameter is listed twice or is not an
            input; α is out of range.
    """
    if output is None:
        output = nodes[-1].name
    elif output not in defined:
        raise GraphError(f"output {output!r} is not defined", output_line, output)
    elif output not in {n.name for n in nodes}:
        raise GraphError(f"output {output!r} is an input; the output must be a node", output_line, output)
    marked: dict[str, int | None] = {}
    for name, line in params:
        if name in marked:
            raise GraphError(f"params: {name!r} is listed twice", line, name)
        if name not in input_names:
            what = "a node; params must be inputs" if name in defined else "not an input"
            hint = did_you_mean(name, input_names) if name not in defined else None
            also = f" (did you mean {hint!r}?)" if hint else ""
            raise GraphError(f"params: {name!r} is {what}{also}", line, name)
        marked[name] = line
    if alpha is not None and not (ALPHA_MIN <= alpha <= ALPHA_MAX):
        raise GraphError(f"alpha (the learning rate) must be between {ALPHA_MIN:g} and {ALPHA_MAX:g}, not {alpha:g}",
                         alpha_line, "alpha")
    return output, tuple(marked)


def _dependency_order(nodes: list[Node], inputs: set[str]) -> list[Node]:
    index = {n.name: k for k, n in enumerate(nodes)}
    waiting = [sum(1 for o in n.operands if o not in inputs) for n in nodes]
    users: dict[str, list[int]] = {}
    for k, n in enumerate(nodes):
        for o in n.operands:
            if o not in inputs:
                users.setdefault(o, []).append(k)
    ready = [k for k, w in enumerate(waiting) if w == 0]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        k = heapq.heappop(ready)
        order.append(nodes[k])
        for user in users.get(nodes[k].name, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    if len(order) < len(nodes):
        cycle = _find_cycle(nodes, index, {n.name for n in order} | inputs)
        start = nodes[index[cycle[0]]]
        raise GraphError(f"cycle: {_cycle_text(cycle)}", start.line, cycle[0])
    return order


CYCLE_SHOWN = 8
"""A cycle of more nodes is named by its first few and its length, not node by node."""


def _cycle_text(cycle: list[str]) -> str:
    """``u → v → w → u``; a long one ``u1 → u2 → u3 → u4 → u5 → … → u1 (50,000 nodes)``."""
    length = len(cycle) - 1  # the first name closes the cycle again
    if length <= CYCLE_SHOWN:
        return " → ".join(cycle)
    return f"{' → '.join(cycle[:5])} → … → {cycle[0]} ({length:,} nodes)"


def _find_cycle(nodes: list[Node], index: dict[str, int], resolved: set[str]) -> list[str]:
    """A cycle in the flow of values, from its node that comes first in the file."""
    left = [n for n in nodes if n.name not in resolved]
    flows_to: dict[str, list[str]] = {n.name: [] for n in left}
    for n in left:
        for o in n.operands:
            if o in flows_to:
                flows_to[o].append(n.name)
    on_cycle = _nodes_on_cycles(flows_to, [n.name for n in left])
    first = min(on_cycle, key=index.__getitem__)
    # breadth-first from `first` back to itself: the shortest cycle through it
    parent: dict[str, str] = {}
    frontier = [first]
    while frontier:
        nxt = []
        for name in frontier:
            for succ in sorted(flows_to[name], key=index.__getitem__):
                if succ == first:
                    path = [name]
                    while path[-1] != first:
                        path.append(parent[path[-1]])
                    return path[::-1] + [first]
                if succ not in parent and succ in on_cycle:
                    parent[succ] = name
                    nxt.append(succ)
        frontier = nxt
    return [first, first]  # unreachable: `first` lies on a cycle


def _nodes_on_cycles(flows_to: dict[str, list[str]], names: list[str]) -> set[str]:
    """Names in a strongly connected component with a cycle (iterative Tarjan)."""
    counter = 0
    low: dict[str, int] = {}
    num: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: set[str] = set()
    for root in names:
        if root in num:
            continue
        work = [(root, 0)]
        while work:
            v, i = work.pop()
            if i == 0:
                num[v] = low[v] = counter
                counter += 1
                stack.append(v)
                on_stack.add(v)
            succs = flows_to[v]
            if i < len(succs):
                work.append((v, i + 1))
                w = succs[i]
                if w not in num:
                    work.append((w, 0))
                elif w in on_stack:
                    low[v] = min(low[v], num[w])
                continue
            if low[v] == num[v]:
                component = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    component.append(w)
                    if w == v:
                        break
                if len(component) > 1 or v in flows_to[v]:
                    result.update(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[v])
    return result
