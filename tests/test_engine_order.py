"""Dependency order, the expression syntax, and import hygiene."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import compute, load_bytes
from engine import expr as ex
from paths import ROOT
from soak import examples



def graph_of(text: str):
    return load_bytes(text.encode(), "test.yaml").graph


# --------------------------------------------------------------------------- dependency order


def test_nodes_in_any_order_in_the_file():
    g = graph_of("inputs: {a: 5, b: 3, c: 2}\nnodes:\n  J: 3 * v\n  v: a + u\n  u: b * c\n")
    assert [n.name for n in g.nodes] == ["u", "v", "J"]
    # the output defaults to the last node listed, not the last in dependency order
    assert g.output == "u"
    g = graph_of("inputs: {a: 5, b: 3, c: 2}\nnodes:\n  J: 3 * v\n  v: a + u\n  u: b * c\noutput: J\n")
    walk = compute(g)
    assert walk.values["J"] == 33 and walk.grads["b"] == 6


def test_earliest_ready_node_first():
    # ready at the start: r and q (p waits for q); r is earlier in the file
    g = graph_of("inputs: {a: 1}\nnodes:\n  p: q + 1\n  r: a\n  q: a\n")
    assert [n.name for n in g.nodes] == ["r", "q", "p"]
    # once q is known, p (earlier in the file) comes before r
    g = graph_of("inputs: {a: 1}\nnodes:\n  p: q + 1\n  q: a\n  r: a\n")
    assert [n.name for n in g.nodes] == ["q", "p", "r"]


def test_constant_nodes_are_ready_at_once():
    g = graph_of("inputs: {a: 1}\nnodes:\n  y: k * a\n  k: 2\n")
    assert [n.name for n in g.nodes] == ["k", "y"]
    assert compute(g).values["y"] == 2


def reference_order(nodes: dict[str, list[str]], inputs: set[str]) -> list[str]:
    """The rule as written: repeatedly take the earliest node in the file whose operands are all known."""
    known = set(inputs)
    left = list(nodes)
    order = []
    while left:
        name = next(n for n in left if all(o in known for o in nodes[n]))
        order.append(name)
        known.add(name)
        left.remove(name)
    return order


@st.composite
def shuffled_dag(draw):
    n = draw(st.integers(1, 12))
    deps: dict[str, list[str]] = {}
    for k in range(n):
        pool = ["a", "b"] + [f"n{j}" for j in range(k)]
        deps[f"n{k}"] = draw(st.lists(st.sampled_from(pool), min_size=0, max_size=3))
    order = draw(st.permutations(list(deps)))
    return {name: deps[name] for name in order}


@settings(max_examples=examples(150), deadline=None)
@given(shuffled_dag())
def test_dependency_order_follows_the_rule(nodes):
    lines = [f"  {name}: {' + '.join(ops) if ops else '1'}" for name, ops in nodes.items()]
    g = graph_of("inputs: {a: 1, b: 2}\nnodes:\n" + "\n".join(lines) + "\n")
    assert [n.name for n in g.nodes] == reference_order(nodes, {"a", "b"})
    walk = compute(g)
    assert [s.node for s in walk.forward_steps] == [n.name for n in g.nodes]
    # backward: reverse dependency order of the children, each child's operands in order of appearance
    children = [s.child for s in walk.backward_steps]
    position = {n.name: k for k, n in enumerate(g.nodes)}
    assert children == sorted(children, key=lambda c: -position[c])
    for child in dict.fromkeys(children):
        parents = [s.parent for s in walk.backward_steps if s.child == child]
        assert parents == list(dict.fromkeys(nodes[child]))
    # the same file always gives the same steps
    again = compute(graph_of("inputs: {a: 1, b: 2}\nnodes:\n" + "\n".join(lines) + "\n"))
    assert [(s.child, s.parent) for s in again.backward_steps] == [(s.child, s.parent) for s in walk.backward_steps]


# --------------------------------------------------------------------------- the expression syntax

# each text with the same expression in Python syntax: Python is the oracle for precedence
PRECEDENCE = [
    ("2^3^2", "2**3**2"),                 # 512: right to left
    ("a*b^2", "a*b**2"),
    ("-a^2", "-a**2"),
    ("-a ** -b", "-a ** -b"),
    ("a - b - c", "a - b - c"),
    ("a / b / c", "a / b / c"),
    ("a / b * c", "a / b * c"),
    ("a - (b - c)", "a - (b - c)"),
    ("2 ^ -1", "2 ** -1"),
    ("(a + b) ^ 2 / c", "(a + b) ** 2 / c"),
    ("+a - -b", "+a - -b"),
    ("a ^ b ^ c ^ 0.5", "a ** b ** c ** 0.5"),
    ("1e-3 * a", "0.001 * a"),
    ("2 * pi * e", f"2 * {math.pi!r} * {math.e!r}"),
]


@pytest.mark.parametrize("text, python", PRECEDENCE)
def test_precedence_as_python(text, python):
    env = {"a": 1.5, "b": 2.0, "c": 0.75}
    expected = eval(python, {"__builtins__": {}}, dict(env))  # our own literal test strings only
    tree = ex.parse(text)
    assert math.isclose(ex.evaluate(tree, env), expected, rel_tol=1e-15)
    # printing keeps the meaning
    assert math.isclose(ex.evaluate(ex.parse(ex.to_text(tree)), env), expected, rel_tol=1e-15)


def test_caret_is_power_not_xor():
    assert ex.evaluate(ex.parse("2^3^2"), {}) == 512
    assert ex.evaluate(ex.parse("a*b^2"), {"a": 3, "b": 2}) == 12


def test_numbers_and_constants():
    assert ex.parse("2") == ex.Num(2.0) and isinstance(ex.parse("2").value, float)
    assert ex.parse("1e-3") == ex.Num(0.001)
    assert ex.evaluate(ex.parse("pi"), {}) == math.pi
    assert ex.evaluate(ex.parse("e"), {}) == math.e
    assert ex.names(ex.parse("pi * r ^ 2 + e")) == ("r",)


def test_integer_power_tower_is_float_and_fast():
    import time

    start = time.perf_counter()
    assert ex.evaluate(ex.parse("9 ** 9 ** 9"), {}) == math.inf
    assert time.perf_counter() - start < 0.5


@pytest.mark.parametrize("func, x, expected", [
    ("exp", 1.0, math.e), ("log", math.e, 1.0), ("sqrt", 9.0, 3.0), ("sin", 0.5, math.sin(0.5)),
    ("cos", 0.5, math.cos(0.5)), ("tan", 0.5, math.tan(0.5)), ("tanh", 0.5, math.tanh(0.5)),
    ("sigmoid", 0.0, 0.5), ("sigmoid", 2.0, 1 / (1 + math.exp(-2.0))), ("relu", -2.0, 0.0), ("relu", 2.0, 2.0),
    ("abs", -2.0, 2.0),
])
def test_functions(func, x, expected):
    assert math.isclose(ex.evaluate(ex.parse(f"{func}(x)"), {"x": x}), expected, rel_tol=1e-15)


def test_node_written_as_a_bare_number():
    g = graph_of("inputs: {a: 2}\nnodes:\n  k: 2\n  h: 1e-3\n  y: k * a + h\n")
    walk = compute(g)
    assert walk.values["k"] == 2 and walk.values["h"] == 0.001
    assert walk.values["y"] == 4.001


def test_yaml_12_numbers_for_inputs():
    g = graph_of("inputs:\n  a: 1e-3\n  b: 1.0e3\n  c: -2\n  d: +.5\nnodes:\n  u: a + b + c + d\n")
    assert [i.value for i in g.inputs] == [0.001, 1000.0, -2.0, 0.5]


def test_inputs_and_nodes_with_notes():
    g = graph_of("inputs:\n  a: {value: 2, note: the input}\nnodes:\n  u: {expr: a * a, note: squared}\n")
    assert g.inputs[0].note == "the input" and g.nodes[0].note == "squared"
    assert compute(g).values["u"] == 4


# --------------------------------------------------------------------------- import hygiene


def _modules_after(code: str) -> set[str]:
    probe = code + "\nimport sys\nprint(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_headless_json_imports_neither_textual_nor_rich():
    code = ("import io, contextlib\nfrom tui import cli\nbuf = io.StringIO()\n"
            "with contextlib.redirect_stdout(buf):\n    assert cli.run(['--json', 'graphs/lecture.yaml']) == 0\n"
            "with contextlib.redirect_stdout(buf):\n    assert cli.run(['--trace']) == 0\n"
            "assert '\"J\"' in buf.getvalue()")
    assert _modules_after(code) == set()


def test_the_probe_would_see_textual():
    """The check above can fail: importing the app does bring textual in."""
    assert "textual" in _modules_after("import textual")
