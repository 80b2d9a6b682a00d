"""Nodes share parsed shapes (engine.expr.parse_shape): each node reads exactly as the parser
reads it alone, and a text is refused exactly as the parser refuses it, whether or not a
text of the same shape was read before."""

from __future__ import annotations

import pytest

from engine import expr as ex
from engine import load_bytes
from engine.errors import GraphError
from engine.examples import generate

TEXTS = [
    "a * b", "b * a", "a * a", "u * v", "tanh(n1) + 0.5 * x", "tanh(n2) + 0.5 * y", "tanh(x) + 0.5 * x",
    "a ^ b", "a ** b", "x * 1e3", "x * 1e4", "y * 1e3", "e * x", "pi + q", "x + e", "-a / (b - c) ** 2",
    "relu(w1 * h1 + w2 * h2 + b)", "relu(w3 * h3 + w4 * h4 + c)", "sqrt(abs(p)) + log(q)",
    "0x1f * a", "0x1f * b", "a.b + c", "x.y + z", "a if b else c", "d if e1 else f", "lambda: a",
    "foo(a)", "foo(b)", "tanh(a, b)", "tanh(c, d)", "a +", "b +", "a % b", "c % d", "x1é + 1", "x2é + 1",
    "tanh = a", "True + a", "None * b", "a" + " + a" * 20, "b" + " + b" * 20, "step(a)", "sign(b)",
    "a" * 10_001, "b" * 10_001, "(" * 150 + "a" + ")" * 150, "(" * 150 + "b" + ")" * 150,
]


def read(text: str):
    """What parse_shape gives, as a tree over the names, or the refusal's message."""
    try:
        shape, operands = ex.parse_shape(text)
    except GraphError as err:
        return ("refused", err.message)
    return ex.rename(shape, operands), operands


def alone(text: str):
    try:
        tree = ex.parse(text)
    except GraphError as err:
        return ("refused", err.message)
    return tree, ex.names(tree)


@pytest.mark.parametrize("order", [1, -1])
def test_every_text_reads_as_the_parser_reads_it_alone(order):
    ex._SHAPES.clear()
    for text in TEXTS[::order] + TEXTS:  # each shape read first by one text, then by its siblings
        assert read(text) == alone(text), text


def test_a_generated_graph_holds_a_few_trees_not_one_per_node():
    graph = load_bytes(generate("chain", 20_000).encode(), "chain").graph
    assert len({id(node.shape) for node in graph.nodes}) == 2  # tanh(x); tanh(n) + 0.5 * x
    assert graph.nodes[-1].expr == ex.parse(f"tanh(n{19_998}) + 0.5 * x")
    assert graph.nodes[-1].operands == ("n19998", "x")
