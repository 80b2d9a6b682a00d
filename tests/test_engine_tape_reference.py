"""The tape's fast paths against plain reference paths, bit for bit, on random graphs.

compute() runs a graph through its tape (a loop over instructions, functions tested
first, ``**`` inline), reads its values and gradients by name from the slot lists
(``ByName``), and finds where non-finite numbers start without a Python loop over every
node, when first asked. Each of these is
checked here against the slowest obvious way of doing the same thing:

- values: every node's expression walked by :func:`engine.expr.evaluate`, in order;
- gradients: every edge the output depends on, child by child from the last node back,
  its local derivative ∂child/∂parent from :func:`engine.expr.derivative` walked the
  same way (a selected zero stops the gradient, as the steps say);
- the tape's own instructions run by the loop as it was written before (every opcode
  in its own branch, ``**`` through :func:`engine.ops.pow_`);
- the warnings by the loop over every node and every edge they replaced;
- the tape's build, whose commonest shapes skip the node's env, by placing every node
  through its env (the same columns, in the same order).

The graphs use every operation a graph file may call, operands used several times
(fan-out), relu and abs at their corner, and inputs that overflow, divide by zero or
are inf and nan themselves. Floats are compared by their bits (``struct``), so a
zero's sign counts too; a nan is any nan (see :func:`bits`).
"""

from __future__ import annotations

import math
import struct
from array import array

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import compute, load_bytes
from engine import examples as generated
from engine import expr as ex
from engine import ops
from engine import tape as tp
from engine.ops import isfinite
from engine.steps import _num
from engine.tape import tape_of
from soak import examples

FUNCTIONS = ops.functions("function")
# relu thrice as often as the others: its corner (a selected zero) is what the backward pass checks
DRAWN_FUNCTIONS = [*FUNCTIONS, "relu", "relu"]
BINARY = [name for name, op in ops.OPS.items() if op.kind == "binary"]
NUMBERS = ["0", "0.5", "2", "3", "1e300", "1e300", "-1"]
# file values (finite) and overrides (anything a float can be)
FILE_VALUES = st.sampled_from([0.0, 1.0, -1.0, 0.5, -2.0, 3.0, 1e-300, 710.0, -710.0, 1e200, -1e200, 2.5])
ANY_VALUE = FILE_VALUES | st.sampled_from([math.inf, -math.inf, math.nan, -0.0])


def bits(x: float) -> bytes:
    """The float's bits, a zero's sign included; every nan alike: IEEE 754 leaves the sign of a nan
    that arithmetic makes unspecified, and it differs with the order of the operations (with x0 and
    x1 both -nan, ``x0/x1 + -x0`` is -nan from the tape and nan walked as a tree)."""
    return b"nan" if x != x else struct.pack("<d", x)


@st.composite
def graphs(draw):
    """A graph file's text and some overrides of its inputs."""
    n_inputs = draw(st.integers(1, 4))
    inputs = [f"x{i}" for i in range(n_inputs)]
    names = list(inputs)
    lines = ["inputs:"] + [f"  {x}: {draw(FILE_VALUES)!r}" for x in inputs] + ["nodes:"]

    def operand() -> str:
        # mostly a recent name (so names are used by several nodes), sometimes a number
        if draw(st.integers(0, 5)) == 0:
            return draw(st.sampled_from(NUMBERS))
        return draw(st.sampled_from(names[-4:] + names[:2]))

    def term(depth: int) -> str:
        kind = draw(st.integers(0, 3 if depth else 0))
        if kind == 0:
            return operand()
        if kind == 1:
            return f"{draw(st.sampled_from(DRAWN_FUNCTIONS))}({term(depth - 1)})"
        if kind == 2:
            return f"-({term(depth - 1)})"
        op = draw(st.sampled_from(BINARY))
        return f"({term(depth - 1)}) {op} ({term(depth - 1)})"

    for k in range(draw(st.integers(1, 12))):
        expr = term(2)
        if not any(c.isalpha() and not expr.startswith("1e") for c in expr):
            expr = f"{expr} * {names[-1]}"
        lines.append(f"  n{k}: {expr}")
        names.append(f"n{k}")
    overrides = draw(st.dictionaries(st.sampled_from(inputs), ANY_VALUE, max_size=n_inputs))
    return "\n".join(lines) + "\n", overrides


def reference_values(graph, inputs: dict[str, float]) -> dict[str, float]:
    values = {i.name: float(inputs.get(i.name, i.value)) for i in graph.inputs}
    for node in graph.nodes:
        values[node.name] = ex.evaluate(node.expr, values)
    return values


def reference_grads(graph, values: dict[str, float]) -> dict[str, float]:
    grads = dict.fromkeys(graph.names, 0.0)
    grads[graph.output] = 1.0
    needed = graph.needed
    for node in reversed(graph.nodes):
        if node.name not in needed:
            continue
        for parent in node.operands:
            local, selected = ex._evaluate(ex.derivative(node.expr, parent), values, None)
            p = grads[node.name] * local
            if p != p and selected:
                p = 0.0
            grads[parent] += p
    return grads


def reference_run(code, v: list[float]) -> None:
    """The tape's loop as it was: one branch per opcode, ``**`` through ops.pow_."""
    funcs = tp._FUNC_IMPL
    for op, o, a, b in code:
        if op == tp.MUL:
            v[o] = v[a] * v[b]
        elif op == tp.ADD:
            v[o] = v[a] + v[b]
        elif op == tp.SUB:
            v[o] = v[a] - v[b]
        elif op == tp.COPY:
            v[o] = v[a]
        elif op == tp.DIV:
            y = v[b]
            v[o] = v[a] / y if y else ops.div(v[a], y)
        elif op == tp.NEG:
            v[o] = -v[a]
        elif op == tp.POW:
            v[o] = ops.pow_(v[a], v[b])
        elif op == tp.ZEROIF:
            if v[a] == 0.0:
                v[o] = 0.0
        else:
            v[o] = funcs[op](v[a])


def reference_warnings(graph, tape, values: dict[str, float], v: list[float]) -> list[str]:
    """The warnings, by the loop over every node and every edge."""
    warnings = []
    for node in graph.nodes:
        value = values[node.name]
        if not isfinite(value) and all(isfinite(values[o]) for o in node.operands):
            causes: list[str] = []
            ex.evaluate(node.expr, values, causes)
            why = causes[0] if causes else "overflow"
            warnings.append(f"node {node.name!r} is {_num(value)}: {why}")
    names = graph.names
    for k, (child, parent, local_slot) in enumerate(tape.edges):
        local = v[local_slot]
        if not isfinite(local) and isfinite(v[child]):
            tree = tape.local_tree(k)
            causes = []
            ex.evaluate(tree, values, causes)
            why = f": {causes[0]}" if causes else ""
            warnings.append(
                f"local derivative ∂{names[child]}/∂{names[parent]} = {ex.to_text(tree)} is {_num(local)}"
                f" at {names[parent]} = {_num(values[names[parent]])}{why}"
            )
    return warnings


@st.composite
def overflowing_gradients(draw):
    """A function of an input, multiplied by big numbers: its value is often 0 (relu of a
    negative), so every value is finite while the gradients upstream of it overflow."""
    func = draw(st.sampled_from(DRAWN_FUNCTIONS))
    lines = ["inputs:", f"  a: {draw(FILE_VALUES)!r}", f"  b: {draw(FILE_VALUES)!r}", "nodes:",
             f"  r: {func}({draw(st.sampled_from(['a', 'a * b', '-a', 'a - b']))})"]
    last = "r"
    for k in range(draw(st.integers(1, 4))):
        lines.append(f"  u{k}: {last} * {draw(st.sampled_from(['1e300', 'b', '1e200']))}")
        last = f"u{k}"
    lines.append(f"  J: {last} {draw(st.sampled_from(['+', '*']))} {draw(st.sampled_from(['b', 'r', '1e300']))}")
    overrides = draw(st.dictionaries(st.sampled_from(["a", "b"]), ANY_VALUE, max_size=2))
    return "\n".join(lines) + "\n", overrides


@settings(max_examples=examples(300), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs() | overflowing_gradients())
def test_compute_matches_the_reference_paths_bit_for_bit(case):
    text, overrides = case
    graph = load_bytes(text.encode(), "random.yaml").graph
    walk = compute(graph, overrides)
    names = graph.names

    values = reference_values(graph, overrides)
    assert list(walk.values) == list(names)
    assert [bits(walk.values[n]) for n in names] == [bits(values[n]) for n in names]
    grads = reference_grads(graph, values)
    assert list(walk.grads) == list(names)
    assert [bits(walk.grads[n]) for n in names] == [bits(grads[n]) for n in names]

    tape = tape_of(graph)
    v = list(tape.slots_init)
    v[: tape.n_inputs] = [float(overrides.get(i.name, i.value)) for i in graph.inputs]
    reference_run(tape.code, v)
    reference_run(tape.local_code, v)
    assert list(map(bits, walk.slots)) == list(map(bits, v))

    assert list(walk.warnings) == reference_warnings(graph, tape, walk.values, walk.slots)


def test_the_graphs_drawn_reach_what_the_property_is_about():
    """The strategy does draw every operation, fan-out, corners and non-finite numbers."""
    seen: set[str] = set()
    fanout = corner = nonfinite = warned = 0

    @settings(max_examples=300, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(graphs())
    def look(case):
        nonlocal fanout, corner, nonfinite, warned
        text, overrides = case
        graph = load_bytes(text.encode(), "random.yaml").graph
        walk = compute(graph, overrides)
        for node in graph.nodes:
            seen.update(name for name in ops.OPS if f"{name}(" in ex.to_text(node.expr))
            seen.update(op for op in BINARY if f" {op} " in ex.to_text(node.expr))
        uses = [o for node in graph.nodes for o in node.operands]
        fanout += len(uses) != len(set(uses))
        corner += any(s.selected or (s.local == 0.0 and "step" in s.local_formula) for s in walk.backward_steps)
        nonfinite += any(not math.isfinite(x) for x in walk.values.values())
        warned += bool(walk.warnings)

    look()
    assert set(FUNCTIONS) <= seen and set(BINARY) <= seen
    assert fanout > 30 and corner > 3 and nonfinite > 30 and warned > 30


def test_a_gradient_that_overflows_behind_a_finite_forward_pass_is_still_selected():
    """The backward pass sums without the selector's check first, and redoes it with the check
    when a gradient comes out inf or nan: here every value is finite, ∂J/∂r overflows to inf,
    and relu's flat side (step(a) = 0 at a = -1) must still stop it (0, not inf × 0 = nan)."""
    text = "inputs:\n  a: -1\n  b: 1e200\nnodes:\n  r: relu(a)\n  u: r * b\n  J: u * b\n"
    graph = load_bytes(text.encode(), "overflow.yaml").graph
    walk = compute(graph)
    assert all(math.isfinite(x) for x in walk.values.values())
    assert walk.grads["r"] == math.inf and bits(walk.grads["a"]) == bits(0.0)
    (into_a,) = [s for s in walk.backward_steps if s.parent == "a"]
    assert into_a.selected and into_a.product == 0.0
    values = reference_values(graph, {})
    grads = reference_grads(graph, values)
    assert [bits(walk.grads[n]) for n in graph.names] == [bits(grads[n]) for n in graph.names]


def test_a_walks_values_and_gradients_read_like_the_dicts_they_replace():
    """By name, in the graph's order, every name once, nothing else; not writable."""
    graph = load_bytes(b"inputs: {a: 5, b: 3, c: 2}\nnodes:\n  u: b * c\n  v: a + u\n  J: 3 * v\n",
                       "lecture").graph
    walk = compute(graph)
    assert dict(walk.values) == {"a": 5.0, "b": 3.0, "c": 2.0, "u": 6.0, "v": 11.0, "J": 33.0}
    assert dict(walk.grads) == {"a": 3.0, "b": 6.0, "c": 9.0, "u": 3.0, "v": 3.0, "J": 1.0}
    assert walk.values == dict(walk.values) and len(walk.grads) == 6
    assert "u" in walk.values and "3" not in walk.values and "nope" not in walk.grads
    assert walk.values.get("nope", -1.0) == -1.0
    with pytest.raises(KeyError):
        walk.values["nope"]
    assert not hasattr(walk.values, "__setitem__")
    assert walk.warnings == ()  # nothing overflows: nothing to find


class _GeneralEmitter(tp._Emitter):
    """An emitter whose fast paths are off: every node placed through its env."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pair = self.bare = False
        self.unary = self.unary_local = None


def tape_columns(tape) -> dict:
    """Everything the build places, as plain lists (edge_node made when asked)."""
    rows = {name: [list(c) for c in getattr(tape, name).cols]
            for name in ("code", "local_code", "edges", "edge_node", "node_code")}
    return {**rows, "gates": tape.gates, "needed": bytes(tape.needed_mask), "args": list(tape.args_flat),
            "ends": list(tape.arg_ends), "slots": list(map(bits, tape.slots_init))}


def fast_and_general(graph) -> tuple[tp.Tape, tp.Tape]:
    """The graph's tape as built, and as built with every node placed through its env."""
    fast = tp.Tape(graph)
    emitter = tp._Emitter
    tp._Emitter = _GeneralEmitter
    try:
        general = tp.Tape(graph)
    finally:
        tp._Emitter = emitter
    assert all(not (f[1].pair or f[2].bare) and f[1].unary is None is f[2].unary_local for f in general._found)
    return fast, general


@settings(max_examples=examples(100), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs() | overflowing_gradients())
def test_the_builds_fast_paths_place_what_the_env_places(case):
    """A binary operation, a function of one operand and their local derivatives are placed
    without the node's env (:class:`engine.tape._Emitter`): the same instructions, edges,
    selectors and slots, in the same order, as placing every node through its env."""
    text, _ = case
    fast, general = fast_and_general(load_bytes(text.encode(), "random.yaml").graph)
    assert tape_columns(fast) == tape_columns(general)


@pytest.mark.parametrize("text", [generated.dag(600, unary="relu"), generated.dag(600), generated.chain(300),
                                  generated.mlp([4, 3, 1])])
def test_the_generated_graphs_fast_paths_place_what_the_env_places(text):
    fast, general = fast_and_general(load_bytes(text.encode(), "generated.yaml").graph)
    assert any(f[1].pair or f[1].unary is not None for f in fast._found)
    assert tape_columns(fast) == tape_columns(general)


@pytest.mark.parametrize("n", [0, 1, 511, 512, 513, 1024, 1500])
def test_ints_packs_as_array_does(n):
    values = [(k * 7919) % 2**31 * (-1) ** k for k in range(n)]
    assert tp._ints(values) == array("i", values)
