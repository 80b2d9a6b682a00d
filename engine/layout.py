"""The lecture's picture as data: a layered left-to-right layout of the graph.

The lecture draws J = 3(a + bc) left to right: the inputs a, b, c on the left, the boxes
``u = bc``, ``v = a + u``, ``J = 3v`` to their right, arrows between them. This module works
out where everything goes, in columns and rows of character cells, and how each edge runs;
it draws nothing (``tui/widgets/picture.py`` does).

- **Columns.** Inputs in column 0, every node in the column after its latest operand, the
  output alone in the last column.
- **Items.** A column holds items, top to bottom: inputs, nodes, and, for an edge that skips
  columns, a *pass* item in each column it crosses (a straight line, so the edge is drawn
  whole). An edge that would skip more than :data:`MAX_SPAN` columns is not drawn across the
  whole picture: its target gets a *from* stub naming the operand in the column before it, and
  the operand a *to* stub (one per operand) saying how many far nodes it feeds.
- **Order.** Within a column the order minimises crossings by barycentric sweeps (each item
  moves to the mean place of its neighbours in the column before, then after), starting from
  the file's order; the best order found is kept, and it never has more crossings than the
  file's order.
- **Rows.** Each item sits as close as it can to the median row of its neighbours on the left,
  so an edge is straight where it can be.
- **Routes.** Between two columns, the links into one item share a vertical *track*; tracks
  are laid out in the channel so that no two lines share a cell (:meth:`Layout.channel`),
  worked out on demand for the channels on screen.

Everything is iterative and linear in the graph's size, but for the sorting: a 100,000-node
graph is laid out in seconds, once, and the screen then draws only what it shows.
"""

from __future__ import annotations

import gc
import heapq
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.graph import Graph

MAX_SPAN = 6
"""An edge skipping more columns than this is drawn as two stubs, not a line across them."""
PASS_BUDGET = 2
"""At most this many pass items per name in all (shortest edges first); the rest are stubs."""
HEIGHT = {"input": 2, "node": 5, "pass": 1, "from": 1, "to": 1}
"""Rows an item takes: an input its label and its gradient; a node its value, a box of three
rows, and its gradient; a pass item or a stub one line."""
PORT = {"input": 0, "node": 2, "pass": 0, "from": 0, "to": 0}
"""The row, from an item's top, where its edges attach (a node: the middle of its box)."""
GAP = 1
SLACK = 12
"""How many rows lower than packing would put it an item may sit, to line up with its neighbours."""
"""Blank rows between an input or a node and the item below it."""
SWEEPS = 8
"""Barycentric sweeps (down then up, alternately) on a graph of up to :data:`SMALL` items."""
SMALL = 20_000
BIG_SWEEPS = 2
"""Sweeps on a bigger graph: each costs about a second per 100,000 items."""


@dataclass(slots=True)
class Item:
    """One thing drawn in a column.

    Attributes:
        kind: ``input``, ``node``, ``pass`` (an edge crossing this column), ``from`` (a stub
            naming the far operand of the node to its right) or ``to`` (a stub saying how many
            far nodes the item to its left feeds).
        name: The input or node; for a pass or from item the edge's source; for a to stub its source.
        column: Its column.
        top: Its first row.
        edge: For a pass or from item, the edge ``(source, target)`` it stands for.
        far: For a to stub, the far nodes its source feeds, in dependency order.
    """

    kind: str
    name: str
    column: int
    top: int = 0
    edge: tuple[str, str] | None = None
    far: tuple[str, ...] = ()

    @property
    def height(self) -> int:
        return HEIGHT[self.kind]

    @property
    def port(self) -> int:
        """The row its edges attach to."""
        return self.top + PORT[self.kind]

    @property
    def drawn(self) -> bool:
        """Whether it is an input or a node (not a line or a stub)."""
        return self.kind in ("input", "node")


@dataclass(frozen=True, slots=True)
class Channel:
    """How the links between column ``k`` and column ``k + 1`` run.

    Attributes:
        tracks: How many vertical tracks the channel needs (0: every link is straight).
        nets: One per item of column ``k + 1`` with links in: ``(target, track, lo, hi, sources)``,
            track 0 for a straight link, else 1 … ``tracks``; ``lo``..``hi`` the rows the track spans.
        reach: For each item of column ``k`` with links out, the rightmost track its line goes to
            (0: straight across).
        shared: Rows where a leaving line runs on past the track of the net arriving on the same
            row (so the two share cells). The rows are placed so that only a source of that very
            net can do so, and only where two such nets need each other's track first (two sources
            both feeding two targets): the lines drawn still join what is joined.
    """

    tracks: int
    nets: tuple[tuple[int, int, int, int, tuple[int, ...]], ...]
    reach: dict[int, int]
    shared: frozenset[int] = frozenset()


@dataclass
class Layout:
    """Where everything goes. Build it with :func:`layout`.

    Attributes:
        items: Every item; an item's id is its index here.
        columns: The item ids of each column, top to bottom.
        where: The item of each input and node.
        preds: For each item, the items of the column before linked to it.
        succs: For each item, the items of the column after it links to.
    """

    items: list[Item]
    columns: list[list[int]]
    where: dict[str, int]
    preds: list[list[int]]
    succs: list[list[int]]
    height: int = 0
    """Rows the tallest column takes."""
    _channels: dict[tuple[int, tuple[int, int] | None], Channel] = field(default_factory=dict, repr=False)
    _reading: list[int] | None = field(default=None, repr=False)
    _reading_at: dict[int, int] | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ reading order

    @property
    def reading(self) -> list[int]:
        """The inputs and nodes in reading order: column by column, top to bottom."""
        if self._reading is None:
            items = self.items
            self._reading = [i for col in self.columns for i in col if items[i].drawn]
            self._reading_at = {i: k for k, i in enumerate(self._reading)}
        return self._reading

    def reading_index(self, name: str) -> int:
        """Where ``name`` comes in :attr:`reading`."""
        self.reading  # noqa: B018 - builds the index
        return self._reading_at[self.where[name]]

    def step(self, name: str, by: int) -> str:
        """The input or node ``by`` places after ``name`` in reading order (clamped at the ends)."""
        order = self.reading
        k = max(0, min(len(order) - 1, self.reading_index(name) + by))
        return self.items[order[k]].name

    def beside(self, name: str, by: int) -> str:
        """The input or node in the column ``by`` columns away (skipping columns with none), nearest in rows."""
        item = self.items[self.where[name]]
        k = item.column + by
        while 0 <= k < len(self.columns):
            drawn = [i for i in self.columns[k] if self.items[i].drawn]
            if drawn:
                best = min(drawn, key=lambda i: abs(self.items[i].port - item.port))
                return self.items[best].name
            k += by
        return name

    # ------------------------------------------------------------------ routes

    def route(self, source: str, target: str) -> list[tuple[int, int]]:
        """The links ``(from_item, to_item)`` the edge ``source → target`` is drawn as, left to right
        (a stubbed edge: the link into the source's to stub and the one out of the target's from
        stub); [] if there is no such edge. Found from the links, not stored: a dict of every
        edge's route took 50 MB on a 100,000-node chain."""
        s, t = self.where.get(source), self.where.get(target)
        if s is None or t is None:
            return []
        items, edge = self.items, (source, target)
        links: list[tuple[int, int]] = []
        at = s
        while True:
            succs = self.succs[at]
            if t in succs:
                links.append((at, t))
                return links
            step = next((j for j in succs if items[j].kind == "pass" and items[j].edge == edge), None)
            if step is None:
                break
            links.append((at, step))
            at = step
        if at != s:
            return []
        stub = next((j for j in self.succs[s] if items[j].kind == "to"), None)
        start = next((i for i in self.preds[t] if items[i].kind == "from" and items[i].edge == edge), None)
        if stub is None or start is None:
            return []
        return [(s, stub), (start, t)]

    def channel(self, k: int, rows: tuple[int, int] | None = None) -> Channel:
        """The routing of the links from column ``k`` to column ``k + 1`` (worked out once, on demand).

        ``rows`` (first, last) keeps only the nets that reach into those rows: on a big graph a
        channel can hold hundreds of nets, and a window of the picture routes only what it shows.

        The links into one item form a *net* on one vertical track spanning its sources' rows
        and its own. A source's line runs right from its port to the furthest track it uses; a
        target's line runs from its track to its arrowhead. Where a row has both a source
        leaving and a target arriving, the source's tracks come first, so the two lines never
        share a cell; nets whose rows do not overlap share a track.
        """
        found = self._channels.get((k, rows))
        if found is not None:
            return found
        items = self.items
        nets = []
        for j in self.columns[k + 1]:
            sources = tuple(self.preds[j])
            if not sources:
                continue
            ports = [items[i].port for i in sources] + [items[j].port]
            lo, hi = min(ports), max(ports)
            if rows is None or (lo <= rows[1] and rows[0] <= hi):
                nets.append([j, 0, lo, hi, sources])
        bent = [n for n in nets if n[2] != n[3]]
        # row -> the net arriving there; item -> the nets it leaves by
        arriving = {items[n[0]].port: idx for idx, n in enumerate(bent)}
        leaving: dict[int, list[int]] = {}
        for idx, n in enumerate(bent):
            for i in n[4]:
                leaving.setdefault(i, []).append(idx)
        # before[b] = nets that must lie left of net b (a source leaving on b's arrival row)
        after: list[set[int]] = [set() for _ in bent]
        indegree = [0] * len(bent)
        for i in {i for n in bent for i in n[4]}:
            row = items[i].port
            b = arriving.get(row)
            if b is None:
                continue
            for a in leaving.get(i, ()):
                if a != b and b not in after[a]:
                    after[a].add(b)
                    indegree[b] += 1
        # constrained left-edge: in topological order (ties: the net starting highest first),
        # each net takes the leftmost track right of its predecessors that is free on its rows
        ready = [(bent[b][2], b) for b in range(len(bent)) if indegree[b] == 0]
        heapq.heapify(ready)
        floor = [1] * len(bent)
        busy: list[list[tuple[int, int]]] = []  # per track, the row spans taken
        left = set(range(len(bent)))
        while left:
            if not ready:  # a cycle of constraints: take the net with the fewest left, and go on
                b = min(left, key=lambda x: (indegree[x], bent[x][2]))
                indegree[b] = 0
                heapq.heappush(ready, (bent[b][2], b))
            _, b = heapq.heappop(ready)
            if b not in left:
                continue
            left.discard(b)
            lo, hi = bent[b][2], bent[b][3]
            t = floor[b]
            while t <= len(busy) and any(not (hi < s or e < lo) for s, e in busy[t - 1]):
                t += 1
            if t > len(busy):
                busy.append([])
            busy[t - 1].append((lo, hi))
            bent[b][1] = t
            for c in after[b]:
                floor[c] = max(floor[c], t + 1)
                indegree[c] -= 1
                if indegree[c] == 0 and c in left:
                    heapq.heappush(ready, (bent[c][2], c))
        reach: dict[int, int] = {}
        for n in nets:
            for i in n[4]:
                reach[i] = max(reach.get(i, 0), n[1])
        shared = frozenset(items[i].port for i, r in reach.items()
                           if (b := arriving.get(items[i].port)) is not None and r > bent[b][1])
        found = Channel(len(busy), tuple((n[0], n[1], n[2], n[3], n[4]) for n in nets), reach, shared)
        if len(self._channels) > 4096:
            self._channels.clear()
        self._channels[(k, rows)] = found
        return found

    def crossings(self) -> int:
        """Pairs of links between the same two columns that cross (by the order in the columns)."""
        return total_crossings(self.columns, self.succs)


# ---------------------------------------------------------------------- building


def columns_of(graph: Graph) -> dict[str, int]:
    """Each name's column: inputs 0, a node one after its latest operand, the output after
    every node that does not use it (a node that does, which the output does not need, after it)."""
    column = {i.name: 0 for i in graph.inputs}
    for node in graph.nodes:
        column[node.name] = 1 + max(column[o] for o in node.operands) if node.operands else 1
    out = graph.output
    after = set(graph.downstream(out))
    last = max((column[n.name] for n in graph.nodes if n.name != out and n.name not in after), default=0)
    if column[out] <= last:
        column[out] = last + 1
        for node in graph.nodes:
            if node.name in after:
                column[node.name] = 1 + max(column[o] for o in node.operands)
    return column


def layout(graph: Graph, tick: Callable[[int, int], None] | None = None, *, sweeps: int | None = None) -> Layout:
    """Lay ``graph`` out (see the module's docstring).

    The collector is held off meanwhile: the items are hundreds of thousands of small
    objects without cycles, and each full collection over a 100,000-node heap took
    0.1-0.8 s (with the GIL held, in a worker thread).

    Args:
        tick: Called now and then with (percent done, 100), from which a caller in a worker
            thread says how far it got, or raises to stop.
        sweeps: How many barycentric sweeps (default: :data:`SWEEPS`, or :data:`BIG_SWEEPS` on a
            big graph); 0 keeps the file's order (the naive order the tests compare with).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _layout(graph, tick, sweeps)
    finally:
        if collecting:
            gc.enable()


def _layout(graph: Graph, tick: Callable[[int, int], None] | None, sweeps: int | None) -> Layout:
    def phase(start: int, size: int) -> Callable[[int, int], None] | None:
        """A tick for one phase of the work, which takes ``size`` of the 100 percent from ``start``."""
        if tick is None:
            return None
        return lambda done, total: tick(start + size * done // max(total, 1), 100)

    column = columns_of(graph)
    n_columns = max(column.values()) + 1
    items: list[Item] = []
    where: dict[str, int] = {}
    columns: list[list[int]] = [[] for _ in range(n_columns)]

    preds: list[list[int]] = []
    succs: list[list[int]] = []

    def add(item: Item) -> int:
        items.append(item)
        preds.append([])
        succs.append([])
        columns[item.column].append(len(items) - 1)
        return len(items) - 1

    for i in graph.inputs:  # the file's order: the naive order the sweeps start from
        where[i.name] = add(Item("input", i.name, 0))
    for n in graph.nodes:
        where[n.name] = add(Item("node", n.name, column[n.name]))
    edges = [(o, n.name) for n in graph.nodes for o in n.operands]
    budget = PASS_BUDGET * len(graph.names)
    skips = [column[t] - column[s] - 1 for s, t in edges]
    passes: set[int] = set()
    for e in sorted((e for e, k in enumerate(skips) if 0 < k <= MAX_SPAN), key=skips.__getitem__):
        if skips[e] > budget:
            break
        budget -= skips[e]
        passes.add(e)
    to_stub: dict[str, int] = {}
    far: dict[str, list[str]] = {}

    def link(a: int, b: int) -> None:
        succs[a].append(b)
        preds[b].append(a)

    building = phase(0, 40)
    for e, (source, target) in enumerate(edges):
        if building is not None and e % 20_000 == 0:
            building(e, len(edges))
        s, t = where[source], where[target]
        if skips[e] == 0:
            link(s, t)
        elif e in passes:
            at = s
            for k in range(column[source] + 1, column[target]):
                p = add(Item("pass", source, k, edge=(source, target)))
                link(at, p)
                at = p
            link(at, t)
        else:
            stub = to_stub.get(source)
            if stub is None:
                stub = to_stub[source] = add(Item("to", source, column[source] + 1))
                link(s, stub)
            far.setdefault(source, []).append(target)
            f = add(Item("from", source, column[target] - 1, edge=(source, target)))
            link(f, t)
    for source, stub in to_stub.items():
        items[stub].far = tuple(far[source])
    lay = Layout(items, columns, where, preds, succs)
    _order(lay, phase(40, 45), sweeps)
    _place(lay, phase(85, 15))
    return lay


def _order(lay: Layout, tick: Callable[[int, int], None] | None, sweeps: int | None) -> None:
    """Reorder the columns by barycentric sweeps; keep the order with the fewest crossings."""
    columns, preds, succs = lay.columns, lay.preds, lay.succs
    if sweeps is None:
        sweeps = SWEEPS if len(lay.items) <= SMALL else BIG_SWEEPS
    if sweeps == 0:
        return
    best = [col[:] for col in columns]
    best_crossings = total_crossings(columns, succs)
    pos = [0] * len(lay.items)
    for col in columns:
        for k, i in enumerate(col):
            pos[i] = k
    n = len(columns)
    for sweep in range(sweeps):
        if best_crossings == 0:
            break
        down = sweep % 2 == 0
        order = range(1, n) if down else range(n - 2, -1, -1)
        for step, c in enumerate(order):
            if tick is not None and step % 5000 == 0:
                tick(sweep * n + step, sweeps * n)
            col = columns[c]
            if len(col) < 2:
                continue
            other = preds if down else succs
            size = len(columns[c - 1 if down else c + 1]) or 1
            own = len(col)

            def key(i: int, other=other, size=size, own=own) -> float:
                near = other[i]
                if near:
                    return (sum(pos[j] for j in near) / len(near) + 0.5) / size
                return (pos[i] + 0.5) / own

            col.sort(key=key)
            for k, i in enumerate(col):
                pos[i] = k
        found = total_crossings(columns, succs)
        if found < best_crossings:
            best_crossings = found
            best = [col[:] for col in columns]
    lay.columns[:] = best


def total_crossings(columns: list[list[int]], succs: list[list[int]]) -> int:
    """Pairs of links between adjacent columns that cross, given each column's order."""
    total = 0
    pos: dict[int, int] = {}
    for col in columns:
        for k, i in enumerate(col):
            pos[i] = k
    for c in range(len(columns) - 1):
        links = sorted((pos[i], pos[j]) for i in columns[c] for j in succs[i])
        if len(links) < 2:
            continue
        total += _inversions([b for _, b in links], len(columns[c + 1]))
    return total


def _inversions(seq: list[int], size: int) -> int:
    """Pairs k < l with seq[k] > seq[l] (a Fenwick tree over 0..size-1)."""
    tree = [0] * (size + 1)
    seen = 0
    count = 0
    for v in seq:
        # how many seen so far are > v: seen - (those <= v)
        k, le = v + 1, 0
        while k > 0:
            le += tree[k]
            k -= k & -k
        count += seen - le
        k = v + 1
        while k <= size:
            tree[k] += 1
            k += k & -k
        seen += 1
    return count


def _place(lay: Layout, tick: Callable[[int, int], None] | None = None) -> None:
    """Give each item its rows: as near the median port of its left neighbours as the items above allow.

    An item never has its port on the row of a source in the column before that is not linked
    to it: the source's line would run into the item's arrowhead (the item moves down a row).
    """
    items, preds, succs = lay.items, lay.preds, lay.succs
    height = 0
    leaving: dict[int, int] = {}  # port row -> the item of the column before whose line leaves there
    for c, col in enumerate(lay.columns):
        if tick is not None and c % 5000 == 0:
            tick(c, len(lay.columns))
        free = packed = 0
        prev_kind = None
        for i in col:
            item = items[i]
            if prev_kind is not None and not (HEIGHT[prev_kind] == 1 and item.height == 1):
                free += GAP
                packed += GAP
            top = free
            near = preds[i]
            if near:
                ports = sorted(items[j].port for j in near if items[j].kind != "from") or sorted(items[j].port for j in near)
                want = ports[(len(ports) - 1) // 2]  # the upper median: a column leans up, not down
                # but never far below where packing the column would put it: drift would add up
                # over thousands of columns into a picture hundreds of thousands of rows tall
                top = max(free, min(want - PORT[item.kind], packed + SLACK))
                offset = PORT[item.kind]
                while (j := leaving.get(top + offset)) is not None and j not in near:
                    top += 1
            item.top = top
            packed += item.height
            free = top + item.height
            prev_kind = item.kind
        height = max(height, free)
        leaving = {items[i].port: i for i in col if succs[i]}
    lay.height = height
