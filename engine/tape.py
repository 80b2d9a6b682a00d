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

import struct
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, chain, compress, count, repeat
from operator import itemgetter, not_, sub

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


PAUSE_EVERY = 2048
"""With a pause set (:func:`pause_between_chunks`), instructions run in chunks of this many."""
_pause: Callable[[], None] | None = None


def pause_between_chunks(pause: Callable[[], None] | None) -> None:
    """Call ``pause()`` before every chunk of :data:`PAUSE_EVERY` instructions that :func:`run`
    executes (None: run straight through). A helper process sets this, to give way to the app."""
    global _pause
    _pause = pause


def run(code: list[tuple[int, int, int, int]], v: list[float]) -> None:
    """Execute instructions over the slots ``v``; never raises for arithmetic."""
    pause = _pause
    if pause is None or len(code) <= PAUSE_EVERY:
        _run(code, v)
        return
    for start in range(0, len(code), PAUSE_EVERY):
        pause()
        _run(code.part(start, start + PAUSE_EVERY) if isinstance(code, Rows) else code[start:start + PAUSE_EVERY], v)


def _run(code, v: list[float]) -> None:
    funcs = _FUNC_IMPL
    for op, o, a, b in code:
        if op >= FIRST_FUNC:  # functions first: in graphs of neurons every other instruction is one
            v[o] = funcs[op](v[a])
        elif op == MUL:
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
        elif op == POW:  # ops.pow_, its common case inline (a float ** a float that is a float)
            x = v[a]
            try:
                y = x ** v[b]
            except (ZeroDivisionError, OverflowError):
                y = None
            v[o] = y if y.__class__ is float else _pow(x, v[b])
        elif op == ZEROIF:
            if v[a] == 0.0:
                v[o] = 0.0


# --------------------------------------------------------------------------- templates


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

    def part(self, start: int, end: int) -> Rows:
        """Rows ``start`` to ``end`` (a slice of each column, no tuple made)."""
        rows = Rows(0)
        rows.cols = tuple(col[start:end] for col in self.cols)
        return rows

    def __getitem__(self, k):
        if k.__class__ is slice:
            return list(zip(*[col[k] for col in self.cols]))
        return tuple([col[k] for col in self.cols])  # IndexError past the end, as a list's


class _Emitter:
    """One shape's templates resolved against a node's own slots, by index (made once per shape per tape).

    A node's slots are one list, its *env*: its operands' slots, its own slot, its
    temporaries', then the slots of the shape's constants. Every
    instruction's (out, a, b), and every edge's (child, parent, local), is a few
    indexes into it, all fetched at once by ``operator.itemgetter`` (in C): placing a
    node costs a few calls, not a Python loop over its instructions and operands.

    The commonest shapes skip the env (:attr:`pair`, :attr:`bare`, :attr:`unary`,
    :attr:`unary_local`): their tuples are written out from the operands' slots directly,
    which on the 10k DAG (every node one of them but the output) took the build from 118M
    to 93M instructions.
    """

    __slots__ = ("n_args", "temps", "consts", "ops", "n_ops", "op_bytes", "get_code", "get_edges", "gates", "pair",
                 "bare", "unary", "unary_local")

    def __init__(self, templates: tuple[_Template, ...], n_args: int, const) -> None:
        temps = 0
        bases = []
        for t in templates:
            bases.append(temps)
            temps += t.temps
        const_values: list[float] = []
        const_index: dict = {}

        def index(ref: tuple, base: int) -> int:
            kind = ref[0]
            if kind == "arg":
                return ref[1]
            if kind == "out":
                return n_args
            if kind == "tmp":
                return n_args + 1 + base + ref[1]
            value = ref[1]
            key = value if value == value else "nan"
            if key not in const_index:
                const_index[key] = len(const_values)
                const_values.append(value)
            return -1 - const_index[key]  # placed after the temporaries, below

        rows = [(op, index(o, b0), index(a, b0), index(b, b0)) for t, b0 in zip(templates, bases)
                for op, o, a, b in t.code]
        results = [index(t.result, b0) for t, b0 in zip(templates, bases)]
        gates = [None if t.gate is None else index(t.gate, b0) for t, b0 in zip(templates, bases)]
        after = n_args + 1 + temps

        def fix(i):
            return i if i is None or i >= 0 else after + (-1 - i)

        self.n_args, self.temps = n_args, temps
        self.consts = [const(v) for v in const_values]
        self.ops = tuple(r[0] for r in rows)
        self.n_ops = len(rows)
        self.op_bytes = array("i", self.ops).tobytes()  # a node's opcodes, to join into a column in C
        code_indexes = [fix(i) for r in rows for i in r[1:]]  # (o, a, b) of each instruction
        self.get_code = _getter(code_indexes)
        self.pair = code_indexes == [n_args, 0, 1] and n_args == 2
        """Whether the code is one instruction ``(out, operand 0, operand 1)``: a binary operation."""
        self.bare = n_args == 2 and not rows
        """Whether there are two operands and no instruction: the edges are read from the operands, the
        node's slot and the constants (the local derivatives of +, - and ×)."""
        edge_indexes = [i for j, r in enumerate(results) for i in (n_args, j, fix(r))]
        self.get_edges = _getter(edge_indexes)
        self.gates = [(fix(results[j]), fix(g)) for j, g in enumerate(gates) if g is not None]
        one_const = n_args == 1 and len(self.consts) == 1
        self.unary = self.consts[0] if one_const and temps == 0 and code_indexes == [1, 0, 2] else None
        """For a function of one operand compiled to one instruction ``(out, operand 0, b)``
        (relu, tanh, exp…), the constant slot b; else None."""
        self.unary_local = ((self.consts[0], bool(self.gates))
                            if one_const and temps == 1 and code_indexes == [2, 0, 3] and edge_indexes == [1, 0, 2]
                            and self.gates in ([], [(2, 2)]) else None)
        """For a function of one operand whose local derivative is one instruction on it into a
        temporary ``(tmp, operand 0, b)`` (relu's step, exp's exp), the constant slot b and
        whether that temporary is a selector; else None."""


def _getter(indexes: list[int]):
    """A function of a list returning the tuple of its items at ``indexes`` (itemgetter, always a tuple)."""
    if not indexes:
        return lambda env: ()
    if len(indexes) == 1:
        (i,) = indexes
        return lambda env: (env[i],)
    return itemgetter(*indexes)


_PACK = struct.Struct("512i")
"""512 native ints, as an ``array('i')`` holds them."""


def _ints(values: list[int]) -> array:
    """``array("i", values)``, about twice as quick: packed by :data:`_PACK` 512 ints a call.

    The array converts each int through ``PyArg_Parse`` and a format string; a struct packs a
    chunk in one call (30,000 ints: 0.19 ms against 0.36; the 10k DAG's tape makes ~90,000).
    """
    out = array("i")
    n = _PACK.size // out.itemsize
    whole = len(values) - len(values) % n
    out.frombytes(b"".join(map(_PACK.pack, *[iter(values)] * n)))  # n at a time, up to `whole`
    out.fromlist(values[whole:])
    return out


def _rows(op: array | None, flat: array, width: int) -> Rows:
    """Rows of (op, *width ints) from the op column and the other columns interleaved (no op: width ints)."""
    rows = Rows(0)
    rows.cols = (*(() if op is None else (op,)), *(flat[c::width] for c in range(width)))
    return rows


class Tape:
    """A graph compiled to slots and instructions. Build once per graph (see :func:`tape_of`)."""

    def __init__(self, graph) -> None:
        self.graph = graph
        names = graph.names
        self.n_names = n_names = len(names)
        self.slot = slot = dict(zip(names, range(n_names)))
        self.n_inputs = n_inputs = len(graph.inputs)
        consts: dict = {}  # value (nan as "nan") -> its slot
        const_values: list[tuple[int, float]] = []
        counter = [n_names]  # the next free slot, while a shape is compiled

        def const(value: float) -> int:
            key = value if value == value else "nan"
            k = consts.get(key)
            if k is None:
                k = consts[key] = counter[0]
                counter[0] += 1
                const_values.append((k, value))
            return k

        by_id: dict[int, tuple[_Shape, _Emitter, _Emitter]] = {}
        shapes: dict[ex.Expr, tuple[_Shape, _Emitter, _Emitter]] = {}

        def compiled(canon: ex.Expr, n_args: int) -> tuple[_Shape, _Emitter, _Emitter]:
            found = shapes.get(canon)
            if found is None:
                forward = _template(canon, into_out=True)
                trees = tuple(ex.derivative(canon, str(k)) for k in range(n_args))
                shape = _Shape(forward, trees, tuple(_template(t, into_out=False) for t in trees))
                found = shapes[canon] = (shape, _Emitter((forward,), n_args, const),
                                         _Emitter(shape.locals, n_args, const))
            by_id[id(canon)] = found  # (the node keeps canon alive while this tape is built)
            return found

        # One pass per direction, a few C calls per node, and no Python object kept per
        # node but what the lists hold: a 100,000-node graph compiles in a fraction of a
        # second, and the collector has little to walk meanwhile. Columns are read by list
        # comprehensions: CPython 3.11 specializes ``node.shape`` in one (a slot), not
        # ``map(attrgetter("shape"), nodes)``, which looks the name up every time (callgrind,
        # the 10k DAG's build: 118.4M -> 105.3M instructions with the comprehensions below).
        nodes = graph.nodes
        # every shape compiled on first sight (a few), its constants given slots from n_names on
        get = by_id.get
        found_of_node = [get(id(node.shape)) or compiled(node.shape, len(node.operands)) for node in nodes]
        free = counter[0]
        emitters = [found[1] for found in found_of_node]
        # every operand's slot, node after node; a node's env starts as a slice of it
        args_list = [slot[name] for node in nodes for name in node.operands]
        arg_ends = list(accumulate([em.n_args for em in emitters]))
        # columns gathered in lists and made arrays once (_ints): list.extend takes a tuple of
        # ints about twice as fast as array.extend, which converts each one
        c_flat: list[int] = []
        add_code = c_flat.extend
        start = 0
        for out, em, end in zip(count(n_inputs), emitters, arg_ends):
            if em.pair:  # most nodes of most graphs: no env to make
                add_code((out, args_list[start], args_list[start + 1]))
                start = end
                continue
            if em.unary is not None:  # most of the rest
                add_code((out, args_list[start], em.unary))
                start = end
                continue
            env = args_list[start:end]
            start = end
            env.append(out)
            if em.temps:
                env.extend(range(free, free + em.temps))
                free += em.temps
            if em.consts:
                env.extend(em.consts)
            add_code(em.get_code(env))
        self._found = found_of_node
        # the opcode column as the nodes' opcodes' bytes joined (one copy, no int converted):
        # 0.2 ms on the 10k DAG against 0.6 ms for array("i") over the chained opcodes
        c_op = array("i")
        c_op.frombytes(b"".join([em.op_bytes for em in emitters]))
        self.code = _rows(c_op, _ints(c_flat), 3)
        ends = _ints(list(accumulate([em.n_ops for em in emitters])))
        self.node_code = Rows(0)  # (start, end) into code, per node in order
        self.node_code.cols = (array("i", [0]) + ends[:-1] if ends else array("i"), ends)

        # the local derivatives of every edge the output depends on, in backward-step order;
        # what the output depends on is marked on the way down (graph.needed, by slot)
        needed = bytearray(n_names)
        needed[slot[graph.output]] = 1
        l_op: list[int] = []
        l_flat: list[int] = []
        e_list: list[int] = []  # (child, parent, local) of each edge
        gates: dict[int, int] = {}  # local slot -> the slot of the selector that can make it a selected zero
        add_ops, add_code, add_edges = l_op.extend, l_flat.extend, e_list.extend
        local_emitters = [found[2] for found in found_of_node]
        for out, em, end in zip(range(n_names - 1, n_inputs - 1, -1), reversed(local_emitters), reversed(arg_ends)):
            if not needed[out]:
                continue
            if em.bare:  # most nodes of most graphs: no list to make
                x = args_list[end - 2]
                y = args_list[end - 1]
                needed[x] = needed[y] = 1
                add_edges(em.get_edges((x, y, out, *em.consts)))
                continue
            if em.unary_local is not None:  # most of the rest
                b, selector = em.unary_local
                x = args_list[end - 1]
                needed[x] = 1
                add_ops(em.ops)
                add_code((free, x, b))
                add_edges((out, x, free))
                if selector:
                    gates[free] = free
                free += 1
                continue
            env = args_list[end - em.n_args:end]
            for a in env:
                needed[a] = 1
            env.append(out)
            if em.temps:
                env.extend(range(free, free + em.temps))
                free += em.temps
            if em.consts:
                env.extend(em.consts)
            if em.ops:  # most shapes' local derivatives are constants or operands: no instruction
                add_ops(em.ops)
                add_code(em.get_code(env))
                for local, gate in em.gates:
                    gates[env[local]] = env[gate]
            add_edges(em.get_edges(env))
        self.local_code = _rows(_ints(l_op), _ints(l_flat), 3)
        self.edges = _rows(None, _ints(e_list), 3)  # (child, parent, local) slots
        self.gates = gates
        self.needed_mask = needed
        """1 at the slot of every name the output depends on (the output too): graph.needed, by slot."""
        self.args_flat = _ints(args_list)
        """Every node's operand slots, one after the other, in order; node k's end at ``arg_ends[k]``."""
        self.arg_ends = _ints(arg_ends)
        slots_init = [0.0] * max(free, counter[0])
        for k, value in const_values:
            slots_init[k] = value
        self.slots_init = slots_init
        self.output_slot = slot[graph.output]

    def path(self, slot: int) -> list[int]:
        """The indexes of the nodes that depend on ``slot`` and that the output depends on, in order.

        One sweep from ``slot``'s own node on, marking each node with a marked operand
        (what :meth:`Graph.downstream` finds, without its maps of consumers and positions).
        """
        n_inputs = self.n_inputs
        marks = bytearray(self.n_names)
        marks[slot] = 1
        mark = marks.__getitem__
        args, ends, needed = self.args_flat, self.arg_ends, self.needed_mask
        first = slot - n_inputs + 1 if slot >= n_inputs else 0
        start = ends[first - 1] if first > 0 else 0
        out = []
        for k in range(first, len(ends)):
            end = ends[k]
            if any(map(mark, args[start:end])):
                marks[n_inputs + k] = 1
                if needed[n_inputs + k]:
                    out.append(k)
            start = end
        return out

    @cached_property
    def edge_node(self) -> Rows:
        """(node index, operand index) of each edge: a needed node's edges sit together, one per
        operand in order, the nodes from the last back (as the backward loop placed them).

        Made when first asked for (stepping backward, a path's hops), from the needed mask: in the
        build's loop they were two more ints and a call per node, 0.3 ms of the 10k DAG's build.
        """
        ends = self.arg_ends
        starts = array("i", [0]) + ends[:-1]
        ks = list(compress(range(len(ends) - 1, -1, -1), self.needed_mask[self.n_inputs:][::-1]))
        counts = list(map(sub, map(ends.__getitem__, ks), map(starts.__getitem__, ks)))
        rows = Rows(0)
        rows.cols = (array("i", chain.from_iterable(map(repeat, ks, counts))),
                     array("i", chain.from_iterable(map(range, counts))))
        return rows

    @cached_property
    def shape_of_node(self) -> list[_Shape]:
        """Each node's shape, in order."""
        return [f[0] for f in self._found]

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

    def backward(self, v: list[float], *, finite: bool = True) -> list[float]:
        """∂output/∂slot for every input and node: the chain rule edge by edge.

        A local derivative that is a selected zero (relu's step(a) at a ≤ 0) stops
        the gradient by selection: its contribution is 0 even when the upstream
        gradient is inf or nan (see :meth:`contribution`).

        That check costs a test per edge, and matters only where a product is nan. So
        the edges are first summed without it (unless ``finite`` is False: the caller
        saw inf or nan among the slots ``v``, and the check will be needed): if every
        gradient comes out finite, no product was inf or nan (an inf or nan added to a
        gradient stays there: inf + x is inf or nan, nan + x is nan), the check would
        never have fired, and these are its sums, bit for bit. Otherwise the careful loop
        runs from the start.
        """
        n, out = self.n_names, self.output_slot
        g = [0.0] * n
        g[out] = 1.0
        gates = self.gates
        if not gates or finite:
            for child, parent, local in self.edges:
                g[parent] += g[child] * v[local]
            if not gates:  # no selector anywhere (no relu, say): nothing to check
                return g
            total = sum(g)
            if total - total == 0.0:
                return g
            g = [0.0] * n
            g[out] = 1.0
        selected = self.selected_zeros(v)
        for child, parent, local in self.edges:
            p = g[child] * v[local]
            if selected[local] and p != p:
                p = 0.0
            g[parent] += p
        return g

    def selected_zeros(self, v: list[float]) -> bytearray:
        """1 at the slot of every local derivative that is a selected zero at these values: what
        :meth:`selected` says of one slot, for every slot at once.

        The careful loop reads it at every edge (and ``why_gradient`` at every hop), and compares
        the product only where it is 1: on the 100k DAG, which overflows, 79,000 of its 82,500
        products are nan, and looking each one up in ``gates`` (then its selector's value) made
        the backward pass 15.7 ms against 11.7 (median of 31, alternated in one process).
        """
        locals_, selectors = self._gate_columns
        selected = bytearray(len(v))
        for local in compress(locals_, map(not_, map(v.__getitem__, selectors))):  # not x: x == 0.0
            selected[local] = 1
        return selected

    @cached_property
    def _gate_columns(self) -> tuple[list[int], list[int]]:
        """The local-derivative slots that have a selector, and their selectors' slots."""
        return list(self.gates), list(self.gates.values())

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


_rename = ex.rename


def tape_of(graph) -> Tape:
    """The graph's tape, compiled on first use and kept with the graph."""
    tape = graph._cache.get("tape")
    if tape is None:
        tape = graph._cache["tape"] = Tape(graph)
    return tape
