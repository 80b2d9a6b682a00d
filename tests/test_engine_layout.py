"""The picture's layout (engine/layout.py): columns, order, rows and routes, on the lecture
graph, the generated examples and random graphs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import load_bytes, load_path
from engine.examples import chain, dag, mlp
from engine.graph import Input, NodeSource, build_graph
from engine.layout import layout
from paths import LECTURE
from soak import examples

PROPERTY = settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check(graph, lay) -> int:
    """Everything the picture relies on, computed from the graph itself; returns the shared rows."""
    items = lay.items
    names = set(graph.names)
    drawn = [it for it in items if it.drawn]
    # each input and node is drawn once, where says where
    assert sorted(it.name for it in drawn) == sorted(names)
    assert {lay.items[i].name for i in lay.where.values()} == names
    column = {n: items[lay.where[n]].column for n in names}
    for col_k, col in enumerate(lay.columns):
        for i in col:
            assert items[i].column == col_k
    assert sorted(i for col in lay.columns for i in col) == list(range(len(items)))
    # inputs first; every node right of each operand, in the column after its latest one (the output: last)
    assert all(column[i.name] == 0 for i in graph.inputs)
    out = graph.output
    after = set(graph.downstream(out))  # nodes that use the output (it does not need them): right of it
    assert [items[i].name for i in lay.columns[column[out]] if items[i].drawn] == [out]
    if not after:
        assert column[out] == len(lay.columns) - 1
    for node in graph.nodes:
        assert all(column[o] < column[node.name] for o in node.operands)
        if node.name != out:
            assert column[node.name] == 1 + max(column[o] for o in node.operands)
            assert (column[node.name] > column[out]) == (node.name in after)
    # every link goes from one column to the next, left to right
    for i, outs in enumerate(lay.succs):
        for j in outs:
            assert items[j].column == items[i].column + 1
            assert i in lay.preds[j]
    # every edge has a route from its source to its target
    for node in graph.nodes:
        for o in node.operands:
            route = lay.route(o, node.name)
            assert route[0][0] == lay.where[o] and route[-1][1] == lay.where[node.name]
            for a, b in route:
                assert b in lay.succs[a]
            if len(route) == 2 and items[route[0][1]].kind == "to":  # a stubbed edge: it skips too many columns
                assert column[node.name] - column[o] - 1 > 0
                assert items[route[1][0]].kind == "from" and items[route[1][0]].edge == (o, node.name)
            else:  # drawn whole: one link per column boundary
                assert len(route) == column[node.name] - column[o]
    # rows: items of a column top to bottom, never overlapping
    for col in lay.columns:
        bottom = 0
        for i in col:
            assert items[i].top >= bottom
            bottom = items[i].top + items[i].height
    return sum(len(check_channel(lay, k)) for k in range(len(lay.columns) - 1))


def check_channel(lay, k: int) -> None:
    """No two lines share a cell: nets on one track do not overlap, a row's leaving source reaches
    no further than the track of the net arriving on that row (when they are different nets)."""
    items = lay.items
    ch = lay.channel(k)
    by_track: dict[int, list[tuple[int, int]]] = {}
    arriving: dict[int, tuple[int, tuple[int, ...]]] = {}
    for target, track, lo, hi, sources in ch.nets:
        rows = [items[i].port for i in sources] + [items[target].port]
        assert (lo, hi) == (min(rows), max(rows))
        if lo == hi:
            assert track == 0
            continue
        assert 1 <= track <= ch.tracks
        for s, e in by_track.get(track, []):
            assert hi < s or e < lo, "two nets share a track over the same rows"
        by_track.setdefault(track, []).append((lo, hi))
        arriving[items[target].port] = (track, sources)
    for source, reach in ch.reach.items():
        got = arriving.get(items[source].port)
        if got is None:
            continue
        # a line leaving on a row where another arrives: never one that is not linked to it, and
        # one that is runs no further than the arriving net's track, but where the channel says so
        assert source in got[1], "a leaving line runs into an arriving one it is not linked to"
        assert reach == got[0] or items[source].port in ch.shared
    return ch.shared


def naive_crossings(graph) -> int:
    return layout(graph, sweeps=0).crossings()


# --------------------------------------------------------------------------- the lecture


def test_the_lecture_reads_like_the_page():
    graph = load_path(LECTURE).graph
    lay = layout(graph)
    assert check(graph, lay) == 0
    col = {n: lay.items[lay.where[n]].column for n in graph.names}
    assert col == {"a": 0, "b": 0, "c": 0, "u": 1, "v": 2, "J": 3}
    # a, b, c top to bottom as the page has them; a's edge to v passes column 1 as a line
    assert [lay.items[i].name for i in lay.columns[0]] == ["a", "b", "c"]
    route = lay.route("a", "v")
    assert [lay.items[b].kind for _, b in route] == ["pass", "node"]
    assert lay.crossings() == 0
    assert lay.route("b", "v") == [] and lay.route("a", "nowhere") == []
    # u sits between b and c; v's box level with J's; J's edge straight
    port = {n: lay.items[lay.where[n]].port for n in graph.names}
    assert port["b"] <= port["u"] <= port["c"]
    assert port["v"] == port["J"]
    assert lay.channel(2).tracks == 0
    # reading order: the inputs, then column by column
    assert [lay.items[i].name for i in lay.reading] == ["a", "b", "c", "u", "v", "J"]
    assert lay.step("c", 1) == "u" and lay.step("a", -1) == "a" and lay.step("J", 1) == "J"
    assert lay.beside("u", 1) == "v" and lay.beside("u", -1) in ("b", "c")


# --------------------------------------------------------------------------- random graphs


@st.composite
def graphs(draw):
    n_inputs = draw(st.integers(1, 5))
    n_nodes = draw(st.integers(1, 14))
    names = [f"x{i}" for i in range(n_inputs)]
    inputs = [Input(n, 1.0) for n in names]
    nodes = []
    for k in range(n_nodes):
        operands = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        nodes.append(NodeSource(f"n{k}", " + ".join(operands)))
        names.append(f"n{k}")
    output = draw(st.sampled_from([n.name for n in nodes]))
    return build_graph(inputs, nodes, output)


@PROPERTY
@given(graphs())
def test_random_graphs(graph):
    lay = layout(graph)
    check(graph, lay)
    assert lay.crossings() <= naive_crossings(graph)


@pytest.mark.parametrize("text", [chain(300), dag(400, seed=3), mlp([4, 3, 1])], ids=["chain", "dag", "mlp"])
def test_the_examples(text):
    graph = load_bytes(text.encode(), "example.yaml").graph
    lay = layout(graph)
    assert check(graph, lay) <= len(graph.names) // 50
    assert lay.crossings() <= naive_crossings(graph)


def test_a_long_chain_stays_level_and_stubs_the_far_edges():
    """The chain's x feeds every node: the edges beyond MAX_SPAN columns become stubs (a line
    across thousands of columns would be a wall), and the picture does not drift downwards."""
    graph = load_bytes(chain(3000).encode(), "chain.yaml").graph
    lay = layout(graph)
    kinds = [lay.items[b].kind for a, b in lay.route("x", "n2999")]
    assert kinds == ["to", "node"]
    assert lay.items[lay.route("x", "n2999")[0][1]].far[-1] == "n2999"
    assert lay.height < 40
    assert len(lay.items) < 3 * len(graph.names)
