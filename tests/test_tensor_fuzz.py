"""Whatever a tensor graph file holds: a graph that runs and reports, or a clean one-line refusal."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import GraphError, SourceError, load_bytes
from engine.tensor_graph import compute_tensor, gradient_check, nudge_element
from engine.tensor_report import to_json, to_markdown, to_trace
from paths import GRAPHS
from soak import examples

EXAMPLES = [p.read_text(encoding="utf-8") for p in sorted((GRAPHS / "tensor").glob("*.yaml"))]
SMALL = ("inputs:\n  X: [[1, 2, 3], [4, 5, 6]]\n  w: {value: [[0.5], [-1]]}\n  b: {zeros: [1, 1]}\n"
         "  W: {randn: [2, 2], seed: 3, scale: 0.5}\n  s: 2\n"
         "nodes:\n  Z: w.T @ X + b\n  H: tanh(W @ X) * s\n  J: sum(Z, axis=1) + mean(H.T @ H) - sum(transpose(Z) ** 2)\n")
ALPHABET = "[]{},:0123456789.-+e @T()*/\n #asuxmnbwXZHJ=_"
pytestmark = [pytest.mark.filterwarnings("error"),  # no warning may reach the terminal
              pytest.mark.usefixtures("earlier_garbage_collected")]


def load_or_refuse(text: str):
    try:
        loaded = load_bytes(text.encode(), "fuzz.yaml")
    except SourceError as err:
        message = str(err)
        assert message.startswith("fuzz.yaml: ") and "\n" not in message
        assert isinstance(err.error, GraphError)
        return None
    graph = loaded.graph
    if not getattr(graph, "tensor", False):
        return loaded
    walk = compute_tensor(graph)
    checks = {i.name: gradient_check(walk, i.name, limit=50) for i in graph.inputs}

    def refuse(name):
        raise ValueError(name)

    json.loads(to_json(walk, checks, "fuzz.yaml"), parse_constant=refuse)
    to_trace(walk, checks, "fuzz.yaml")
    to_markdown(walk, checks, "fuzz.yaml")
    for i in graph.inputs:
        nudge_element(walk, i.name)
    return loaded


@st.composite
def mutated(draw):
    text = draw(st.sampled_from([SMALL, *EXAMPLES]))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 3))
        text = text[:at] + draw(st.text(ALPHABET, max_size=4)) + text[at + cut:]
    return text


@settings(max_examples=examples(300), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_tensor_files_run_or_are_refused_cleanly(text):
    load_or_refuse(text)


@pytest.mark.parametrize("value", ["{randn: [1e400, 2]}", "{randn: [2, 2], seed: 1e30}", "{randn: [2, 2], scale: [1]}",
                                   "{zeros: [3000, 4000]}", "{randn: [2.5, 2]}", "{zeros: [2, 2], note: [1]}",
                                   "{value: [[1]], note: x, zeros: [1, 1]}", "{randn: [2, 2], seed: .nan}",
                                   "[[.inf]]", "[[1, {a: 1}]]", "[[0x10, 1e3]]"])
def test_odd_values(value):
    load_or_refuse(f"inputs:\n  X: {value}\nnodes:\n  J: sum(X)\n")
