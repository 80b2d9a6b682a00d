"""A graph compiled to a flat tape: the fast path under every number cgtui shows.

Every input, node, constant and intermediate result gets a slot in one list of
floats; each node's expression becomes a few instructions ``(op, out, a, b)``
over slots, in dependency order. One loop runs the forward pass; the local
derivative of every edge (∂child/∂parent, from the same symbolic formulas the
steps print) is compiled the same way; then one loop over the edges does the
chain rule, ``g[parent] += g[child] * local``, in exactly the order of the
backward steps, so the steps rebuilt from these arrays carry the same floats.

Shapes are compiled once: ``u: b * c`` and ``w: x * y`` share one template, so a
100,000-node graph built from a few kinds of node compiles in a few passes of
cheap slot arithmetic.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from engine import expr as ex
from engine import ops

# opcodes: the arithmetic the loop below spells out, then one per function of the table
ADD, SUB, MUL, DIV, POW, NEG, COPY, ZEROIF = range(8)
"""``ZEROIF o, f``: ``v[o] = 0`` where the selector in slot f is 0 (a flat branch selected)."""
FIRST_FUNC = 8
_BIN_OPS = {"+": ADD, "-": SUB, "*": MUL, "/": DIV, "**": POW}
_FUNC_OPS: dict[str, int] = {}
"""Each function's opcode (from the table of operations; kept in step with it)."""
_FUNC_IMPL: list = []
"""Each opcode's float implementation (None for the arithmetic opcodes)."""
_div = ops.div
_pow = ops.pow_


def _sync_with_table() -> None:
    names = [name for name, op in ops.OPS.items() if op.kind in ("function", "formula")]
    # an opcode, once given, keeps its number (code compiled with it stays right)
    for name in list(_FUNC_OPS):
        if name not in names:
            del _FUNC_OPS[name]
    for name in names:
        if name not in _FUNC_OPS:
            _FUNC_OPS[name] = max(_FUNC_OPS.values(), default=FIRST_FUNC - 1) + 1
    _FUNC_IMPL[:] = [None] * (max(_FUNC_OPS.values(), default=FIRST_FUNC - 1) + 1)
    for name, code in _FUNC_OPS.items():
        _FUNC_IMPL[code] = ops.OPS[name].scalar


ops.on_change(_sync_with_table)


def run(code: list[tuple[int, int, int, int]], v: list[float]) -> None:
    """Execute instructions over the slots ``v``; never raises for arithmetic."""
    funcs = _FUNC_IMPL
    for op, o, a, b in code:
        if op == MUL:
            v[o] = v[a] * v[b]
        elif op == ADD:
            v[o] = v[a] + v[b]
        elif op == SUB:
            v[o] = v[a] - v[b]
        elif op == COPY:
            v[o] = v[a]
        elif op == DIV:
            y = v[b]
            v[o] = v[a] / y if y else _div(v[a], y)
        elif op == NEG:
            v[o] = -v[a]
        elif op == POW:
            v[o] = _pow(v[a], v[b])
        elif op == ZEROIF:
            if v[a] == 0.0:
                v[o] = 0.0
        else:
            v[o] = funcs[op](v[a])


# --------------------------------------------------------------------------- templates


def _map_names(tree: ex.Expr, rename) -> ex.Expr:
    """``tree`` with every name ``n`` replaced by ``rename(n)``."""

    def go(e: ex.Expr) -> ex.Expr:
        if isinstance(e, ex.Name):
            return ex.Name(rename(e.id))
        if isinstance(e, ex.Bin):
            return ex.Bin(e.op, go(e.left), go(e.right))
        if isinstance(e, ex.Neg):
            return ex.Neg(go(e.operand))
        if isinstance(e, ex.Call):
            return ex.Call(e.func, go(e.arg))
        return e

    return go(tree)


def _canonical(tree: ex.Expr, operands: tuple[str, ...]) -> ex.Expr:
    """``tree`` with its operands renamed ``0``, ``1``, …: the shape shared by similar nodes."""
    index = {name: str(k) for k, name in enumerate(operands)}
    return _map_names(tree, index.__getitem__)


@dataclass(frozen=True, slots=True)
class _Template:
    """Instructions for one shape, over symbolic slots.

    A symbolic slot is ``("arg", k)`` for the k-th operand, ``("const", value)``,
    ``("tmp", k)`` for the k-th temporary, or ``("out",)`` for the result.
    """

    code: tuple[tuple[int, tuple, tuple, tuple], ...]
    temps: int
    result: tuple  # where the value ends up: ("out",) or an operand/const slot
    gate: tuple | None = None
    """The slot of the selector whose 0 makes the result a selected zero (see :func:`engine.expr.evaluate`)."""


def _template(tree: ex.Expr, *, into_out: bool) -> _Template:
    code: list = []
    temps = 0

    def go(e: ex.Expr) -> tuple[tuple, tuple | None]:
        """The slot of ``e``'s value, and the slot of the selector that can make it a selected zero."""
        nonlocal temps
        if isinstance(e, ex.Name):
            return ("arg", int(e.id)), None
        if isinstance(e, ex.Num):
            return ("const", e.value), None
        if isinstance(e, ex.Const):
            return ("const", ex.CONSTANTS[e.id]), None
        gate = None
        if isinstance(e, ex.Bin):
            (a, ga), (b, gb) = go(e.left), go(e.right)
            op = _BIN_OPS[e.op]
            if e.op == "*":
                gate = ga if gb is None else gb if ga is None else "both"
            elif e.op == "/":
                gate = ga
        elif isinstance(e, ex.Neg):
            (a, gate), b, op = go(e.operand), ("const", 0.0), NEG
        else:
            (a, _), b, op = go(e.arg), ("const", 0.0), _FUNC_OPS[e.func]
        out = ("tmp", temps)
        temps += 1
        code.append((op, out, a, b))
        if gate == "both":  # either selector at 0 selects: their product is 0 then
            gate = ("tmp", temps)
            temps += 1
            code.append((MUL, gate, ga, gb))
        if gate is not None:
            code.append((ZEROIF, out, gate, out))
        if isinstance(e, ex.Call) and ops.OPS[e.func].selector:
            gate = out
        return out, gate

    result, gate = go(tree)
    if into_out:
        if code and code[-1][1] == result and code[-1][0] != ZEROIF:
            op, _, a, b = code.pop()
            temps -= 1
            code.append((op, ("out",), a, b))
        else:
            code.append((COPY, ("out",), result, ("const", 0.0)))
        result, gate = ("out",), None
    return _Template(tuple(code), temps, result, gate)


@dataclass(frozen=True, slots=True)
class _Shape:
    """A node shape: its forward template and one local-derivative template per operand."""

    forward: _Template
    local_trees: tuple[ex.Expr, ...]  # ∂shape/∂operand k, canonical names
    locals: tuple[_Template, ...]


class Rows(Sequence):
    """Rows of a few ints (instructions, edges, ranges), held as one ``array('i')`` per column.

    Reads as a list of tuples does: iterating yields tuples (``zip`` over the
    columns, as fast as a list's own), an index gives a tuple, a slice a list of
    them. A 100,000-node graph has ~600,000 instructions: as tuples of boxed ints
    they took ~110 MiB, here ~10 MiB.
    """

    __slots__ = ("cols",)

    def __init__(self, width: int) -> None:
        self.cols = tuple(array("i") for _ in range(width))

    def append(self, row: tuple[int, ...]) -> None:
        for col, x in zip(self.cols, row):
            col.append(x)

    def __len__(self) -> int:
        return len(self.cols[0])

    def __iter__(self):
        return zip(*self.cols)

    def __getitem__(self, k):
        if k.__class__ is slice:
            return list(zip(*[col[k] for col in self.cols]))
        return tuple([col[k] for col in self.cols])  # IndexError past the end, as a list's


class Tape:
    """A graph compiled to slots and instructions. Build once per graph (see :func:`tape_of`)."""

    def __init__(self, graph) -> None:
        self.graph = graph
        names = graph.names
        self.n_names = len(names)
        self.slot = {name: k for k, name in enumerate(names)}
        self.n_inputs = len(graph.inputs)
        slots_init: list[float] = [0.0] * self.n_names
        consts: dict[float, int] = {}
        shapes: dict[ex.Expr, _Shape] = {}
        self.shape_of_node: list[_Shape] = []

        def const(value: float) -> int:
            key = value if value == value else "nan"
            k = consts.get(key)
            if k is None:
                k = consts[key] = len(slots_init)
                slots_init.append(value)
            return k

        code = Rows(4)  # (op, out, a, b)
        self.node_code = Rows(2)  # (start, end) into code, per node in order

        def place(template: _Template, args: list[int], out: int) -> int:
            base = len(slots_init)
            slots_init.extend([0.0] * template.temps)

            def resolve(ref: tuple) -> int:
                kind = ref[0]
                if kind == "arg":
                    return args[ref[1]]
                if kind == "tmp":
                    return base + ref[1]
                if kind == "const":
                    return const(ref[1])
                return out

            for op, o, a, b in template.code:
                code_target.append((op, resolve(o), resolve(a), resolve(b)))
            gate_slot[0] = None if template.gate is None else resolve(template.gate)
            return resolve(template.result)

        gate_slot: list[int | None] = [None]

        code_target = code
        for node in graph.nodes:
            canon = _canonical(node.expr, node.operands)
            shape = shapes.get(canon)
            if shape is None:
                forward = _template(canon, into_out=True)
                trees = tuple(ex.derivative(canon, str(k)) for k in range(len(node.operands)))
                shape = shapes[canon] = _Shape(forward, trees, tuple(_template(t, into_out=False) for t in trees))
            self.shape_of_node.append(shape)
            start = len(code)
            place(shape.forward, [self.slot[o] for o in node.operands], self.slot[node.name])
            self.node_code.append((start, len(code)))
        self.code = code

        # the local derivatives of every edge the output depends on, in backward-step order
        needed = graph.needed
        local_code = Rows(4)
        code_target = local_code
        edges = Rows(3)  # (child, parent, local) slots
        edge_node = Rows(2)  # (node index, operand index)
        gates: dict[int, int] = {}  # local slot -> the slot of the selector that can make it a selected zero
        for k in range(len(graph.nodes) - 1, -1, -1):
            node = graph.nodes[k]
            if node.name not in needed:
                continue
            args = [self.slot[o] for o in node.operands]
            child = self.slot[node.name]
            for j, template in enumerate(self.shape_of_node[k].locals):
                local = place(template, args, -1)
                if gate_slot[0] is not None:
                    gates[local] = gate_slot[0]
                edges.append((child, args[j], local))
                edge_node.append((k, j))
        self.local_code = local_code
        self.edges = edges
        self.edge_node = edge_node
        self.gates = gates
        self.slots_init = slots_init
        self.output_slot = self.slot[graph.output]

    @cached_property
    def edges_of_parent(self) -> dict[int, list[int]]:
        """For each parent slot, the indexes of its edges in backward order."""
        out: dict[int, list[int]] = {}
        for k, (_, parent, _) in enumerate(self.edges):
            out.setdefault(parent, []).append(k)
        return out

    @cached_property
    def edges_of_name(self) -> dict[str, list[int]]:
        """For each parent name, the indexes of its backward steps, in order."""
        names = self.graph.names
        return {names[slot]: ks for slot, ks in self.edges_of_parent.items()}

    @cached_property
    def needed_code(self) -> tuple[Rows, list[int]]:
        """The instructions of the nodes the output depends on, in order, and each one's node index."""
        needed = self.graph.needed
        indexes = [k for k, node in enumerate(self.graph.nodes) if node.name in needed]
        code = self.node_instructions(indexes)
        starts, ends = self.node_code.cols
        owner: list[int] = []
        for k in indexes:
            owner.extend([k] * (ends[k] - starts[k]))
        return code, owner

    def forward(self, inputs: list[float]) -> list[float]:
        """All slots after the forward pass and the local derivatives."""
        v = list(self.slots_init)
        v[: self.n_inputs] = inputs
        run(self.code, v)
        run(self.local_code, v)
        return v

    def backward(self, v: list[float]) -> list[float]:
        """∂output/∂slot for every input and node: the chain rule edge by edge.

        A local derivative that is a selected zero (relu's step(a) at a ≤ 0) stops
        the gradient by selection: its contribution is 0 even when the upstream
        gradient is inf or nan (see :meth:`contribution`).
        """
        g = [0.0] * self.n_names
        g[self.output_slot] = 1.0
        gates = self.gates
        for child, parent, local in self.edges:
            p = g[child] * v[local]
            if p != p and local in gates and v[gates[local]] == 0.0:
                p = 0.0
            g[parent] += p
        return g

    def selected(self, local: int, v: list[float]) -> bool:
        """Whether the local derivative in slot ``local`` is a selected zero: the function is flat there."""
        gate = self.gates.get(local)
        return gate is not None and v[gate] == 0.0

    def contribution(self, upstream: float, local: int, v: list[float]) -> float:
        """``upstream × v[local]``, except that a selected zero gives 0 whatever the upstream."""
        p = upstream * v[local]
        if p != p and self.selected(local, v):
            return 0.0
        return p

    def node_instructions(self, node_indexes) -> Rows:
        """The instructions of some nodes, in the order given."""
        starts, ends = self.node_code.cols
        out = Rows(4)
        pairs = tuple(zip(self.code.cols, out.cols))
        for k in node_indexes:
            a, b = starts[k], ends[k]
            for col, into in pairs:
                into += col[a:b]
        return out

    def local_tree(self, edge: int) -> ex.Expr:
        """∂child/∂parent of an edge as a formula over the graph's own names."""
        k, j = self.edge_node[edge]
        node = self.graph.nodes[k]
        canon = self.shape_of_node[k].local_trees[j]
        return _rename(canon, node.operands)


def _rename(tree: ex.Expr, operands: tuple[str, ...]) -> ex.Expr:
    """A canonical tree back in the node's own names."""
    return _map_names(tree, lambda k: operands[int(k)])


def tape_of(graph) -> Tape:
    """The graph's tape, compiled on first use and kept with the graph."""
    tape = graph._cache.get("tape")
    if tape is None:
        tape = graph._cache["tape"] = Tape(graph)
    return tape
