"""A long nudge runs in the graph's helper process (engine/forked.py) and gives the very
record the in-process nudge gives, bit for bit; no fork, a dead helper or a walk it
cannot reproduce changes nothing but where the nudge is computed."""

from __future__ import annotations

import dataclasses
import os
import pickle

import pytest

from engine import compute, finite_difference, forked, load_bytes
from engine import finite_diff as fdm
from engine.examples import generate
from engine.session import DebugSession
from test_engine_fd_batch import KINKS

pytestmark = pytest.mark.skipif(not forked.AVAILABLE, reason="no os.fork here")


@pytest.fixture(autouse=True)
def small_graphs_get_helpers(monkeypatch):
    """Graphs of 20,000 nodes get a helper; these tests' smaller ones too."""
    monkeypatch.setattr(fdm, "HELPER_MIN", 0)


def same(a, b) -> bool:
    """Equal field by field, nan equal to nan, -0.0 told from 0.0, trails entry by entry."""
    def eq(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return forked.same_float(x, y)
        return x == y

    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "trail":
            if len(x) != len(y) or not all(e.node == g.node and eq(e.before, g.before) and eq(e.after, g.after)
                                           for e, g in zip(x, y)):
                return False
        elif not eq(x, y):
            return False
    return True


def chain_walk(n: int = 8000, inputs=None):
    return compute(load_bytes(generate("chain", n).encode(), "chain").graph, inputs)


def test_a_long_nudge_is_computed_in_another_process(monkeypatch):
    walk = chain_walk()
    parent = os.getpid()
    plain = fdm.finite_difference

    def marked(walk, var, h):  # the record says which process made it
        return dataclasses.replace(plain(walk, var, h), reason=str(os.getpid()))

    monkeypatch.setattr(fdm, "finite_difference", marked)  # (before the helper is forked: it has it too)
    got = fdm.finite_difference_aside(walk, "x", 1e-3)
    helper = fdm.helper_of(walk.graph, create=False)
    assert got.reason == str(helper.pid) != str(parent)
    assert same(dataclasses.replace(got, reason=None), plain(walk, "x", 1e-3))
    assert len(got.trail) == 8001 and got.trail[-1].node == walk.graph.output
    # the same helper again, for another h and for other input values (it walks them itself)
    assert same(dataclasses.replace(fdm.finite_difference_aside(walk, "x", 1e-6), reason=None),
                plain(walk, "x", 1e-6))
    other = compute(walk.graph, {"x": -0.25})
    assert same(dataclasses.replace(fdm.finite_difference_aside(other, "x", 1e-3), reason=None),
                plain(other, "x", 1e-3))
    assert fdm.helper_of(walk.graph, create=False) is helper
    # a short one (few nodes after it) is not worth asking for
    assert fdm.finite_difference_aside(walk, "n7990", 1e-3).reason == str(parent)
    helper.close()


@pytest.mark.parametrize("h", [1e-3, 1e-9, 1e-300])
def test_every_record_from_the_helper_is_the_in_process_one(h, monkeypatch):
    monkeypatch.setattr(fdm, "CHILD_MIN", 0)
    for text in (KINKS, generate("dag", 40), "inputs:\n  a: 1e308\n  b: 0\nnodes:\n  u: a * 10\n  v: 1 / b\n"
                 "  J: u + v + relu(b)\n"):
        walk = compute(load_bytes(text.encode(), "g").graph)
        for var in walk.graph.names:
            assert same(fdm.finite_difference_aside(walk, var, h), finite_difference(walk, var, h)), var
        fdm.helper_of(walk.graph, create=False).close()


def test_no_fork_a_dead_helper_or_a_walk_it_cannot_make_fall_back_to_this_process(monkeypatch):
    walk = chain_walk()
    want = finite_difference(walk, "x", 1e-3)

    def no_fork():
        raise OSError("no more processes")

    with monkeypatch.context() as m:
        m.setattr(os, "fork", no_fork)
        assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
        assert fdm.helper_of(walk.graph, create=False) is None
    helper = fdm.helper_of(walk.graph)
    asked = []
    real_ask = forked.Helper.ask
    monkeypatch.setattr(forked.Helper, "ask", lambda self, r: asked.append(r[2]) or real_ask(self, r))
    # a walk whose numbers the helper's own walk does not give: it declines, this process answers
    odd = dataclasses.replace(walk, values={**walk.values, walk.graph.output: 12.5})
    assert same(fdm.finite_difference_aside(odd, "x", 1e-3), finite_difference(odd, "x", 1e-3))
    assert asked == ["x"] and helper.alive
    os.kill(helper.pid, 9)  # gone: this process answers, and the next nudge forks a new helper
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want) and not helper.alive
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
    again = fdm.helper_of(walk.graph, create=False)
    assert again is not None and again is not helper and again.alive
    again.close()


def test_a_session_forks_the_helper_of_a_big_graph_on_opening_it(monkeypatch):
    monkeypatch.setattr(fdm, "HELPER_MIN", 7000)
    mid = chain_walk(6000)  # a long nudge, but a graph below HELPER_MIN: computed here, nothing forked
    assert same(fdm.finite_difference_aside(mid, "x"), finite_difference(mid, "x"))
    assert fdm.helper_of(mid.graph, create=False) is None
    monkeypatch.setattr(fdm, "HELPER_MIN", 5000)
    session = DebugSession(load_bytes(generate("chain", 8000).encode(), "chain"))
    helper = fdm.helper_of(session.graph, create=False)
    assert helper is not None and helper.alive
    small = DebugSession(load_bytes(generate("chain", 100).encode(), "chain"))
    assert fdm.helper_of(small.graph, create=False) is None
    first = session.fd("x")
    assert session.fd_ready("x") and session.fd("x") is first
    assert same(first, finite_difference(session.walk, "x", session.h))
    # a new version of the graph: the old one's helper stops (its graph may live on, frozen)
    session.replace_graph(load_bytes(generate("chain", 8000).replace("0.5 * x", "0.25 * x").encode(), "chain"))
    assert not helper.alive and _gone(helper.pid)
    assert same(session.fd("x"), finite_difference(session.walk, "x", session.h))
    fdm.close_aside(session.graph)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_a_trail_pickles_without_its_graph_and_reads_the_same_once_attached():
    walk = chain_walk(2000)
    fd = finite_difference(walk, "x", 1e-3)
    back = pickle.loads(pickle.dumps(fd))
    assert len(pickle.dumps(fd.trail)) < 30 * len(fd.trail)  # arrays, not 2,001 entry objects
    back.trail.attach(walk.graph.names)
    assert tuple(back.trail) == tuple(fd.trail) and back.trail[3:5] == fd.trail[3:5] and back.trail[-1] == fd.trail[-1]


UNUSED = """\
inputs:
  a: 1
  b: 2
  c: 3
nodes:
  u: a * b
  dead: u + c
  v: u + a
  w: tanh(v) * b
  J: w + v * 2
"""


@pytest.mark.parametrize("text", [UNUSED, KINKS, generate("dag", 500), generate("mlp", 40)])
def test_the_path_is_every_later_node_on_the_way_to_the_output(text):
    """The tape's sweep (engine.tape.Tape.path) finds what graph.downstream and graph.needed define."""
    walk = compute(load_bytes(text.encode(), "g").graph)
    graph = walk.graph
    for var in graph.names:
        assert fdm.path_to_output(walk, var) == tuple(n for n in graph.downstream(var) if n in graph.needed), var


def test_a_helper_gives_way_between_chunks_and_computes_the_same(monkeypatch):
    """The helper runs the tape in chunks with a pause before each (to let the app's UI thread
    draw): the same slots, bit for bit, as running straight through."""
    from engine import tape as tp

    walk = chain_walk(3000)
    t = tp.tape_of(walk.graph)
    straight = list(t.slots_init)
    tp.run(t.code, straight)
    pauses = []
    monkeypatch.setattr(tp, "PAUSE_EVERY", 1000)
    tp.pause_between_chunks(lambda: pauses.append(1))
    try:
        chunked = list(t.slots_init)
        tp.run(t.code, chunked)
        as_list = list(t.slots_init)
        tp.run(list(t.code), as_list)
    finally:
        tp.pause_between_chunks(None)
    assert len(pauses) == 2 * -(-len(t.code) // 1000)
    assert len(chunked) == len(straight) == len(as_list)
    assert all(forked.same_float(a, b) and forked.same_float(c, b) for a, b, c in zip(chunked, straight, as_list))
