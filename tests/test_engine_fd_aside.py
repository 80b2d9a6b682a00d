"""A long nudge runs in a forked child (engine/forked.py) and gives the very record the
in-process nudge gives, bit for bit; a failed fork or a failing child changes nothing."""

from __future__ import annotations

import dataclasses
import math
import os
import pickle

import pytest

from engine import compute, finite_difference, forked, load_bytes
from engine import finite_diff as fdm
from engine.examples import generate
from engine.session import DebugSession
from test_engine_fd_batch import KINKS

pytestmark = pytest.mark.skipif(not forked.AVAILABLE, reason="no os.fork here")


def same(a, b) -> bool:
    """Equal field by field, nan equal to nan, -0.0 told from 0.0, trails entry by entry."""
    def eq(x, y):
        if isinstance(x, float) and isinstance(y, float):
            return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) == math.copysign(1, y))
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


@pytest.fixture(scope="module")
def chain8k():
    return compute(load_bytes(generate("chain", 8000).encode(), "chain").graph)


def test_a_long_nudge_is_computed_in_another_process(chain8k, monkeypatch):
    parent = os.getpid()
    plain = fdm.finite_difference

    def marked(walk, var, h):  # the record says which process made it
        return dataclasses.replace(plain(walk, var, h), reason=str(os.getpid()))

    monkeypatch.setattr(fdm, "finite_difference", marked)
    got = fdm.finite_difference_aside(chain8k, "x", 1e-3)
    assert got.reason != str(parent)
    assert same(dataclasses.replace(got, reason=None), plain(chain8k, "x", 1e-3))
    assert len(got.trail) == 8001 and got.trail[-1].node == chain8k.graph.output
    # a short one (few nodes after it) is not worth a fork
    assert fdm.finite_difference_aside(chain8k, "n7990", 1e-3).reason == str(parent)


@pytest.mark.parametrize("h", [1e-3, 1e-9, 1e-300])
def test_every_record_from_the_child_is_the_in_process_one(h, monkeypatch):
    monkeypatch.setattr(fdm, "CHILD_MIN", 0)
    for text in (KINKS, generate("dag", 40), "inputs:\n  a: 1e308\n  b: 0\nnodes:\n  u: a * 10\n  v: 1 / b\n  J: u + v + relu(b)\n"):
        walk = compute(load_bytes(text.encode(), "g").graph)
        for var in walk.graph.names:
            assert same(fdm.finite_difference_aside(walk, var, h), finite_difference(walk, var, h)), var


def test_a_failed_fork_or_a_failing_child_falls_back_to_this_process(chain8k, monkeypatch):
    want = finite_difference(chain8k, "x", 1e-3)

    def no_fork():
        raise OSError("no more processes")

    with monkeypatch.context() as m:
        m.setattr(os, "fork", no_fork)
        assert same(fdm.finite_difference_aside(chain8k, "x", 1e-3), want)
    calls = []

    def flaky(*args):  # fails in the child only: the parent then runs it itself
        calls.append(os.getpid())
        if os.getpid() != parent:
            raise MemoryError
        return "done here"

    parent = os.getpid()
    assert forked.call(flaky) == "done here"
    assert calls == [parent]  # (the child's call is not seen here)


def test_the_session_nudges_a_big_graph_aside_and_caches_it(chain8k, monkeypatch):
    session = DebugSession(load_bytes(generate("chain", 8000).encode(), "chain"))
    calls = []
    real = forked.call
    monkeypatch.setattr(forked, "call", lambda fn, *a: calls.append(a[1]) or real(fn, *a))
    first = session.fd("x")
    assert calls == ["x"] and session.fd_ready("x") and session.fd("x") is first
    assert same(first, finite_difference(session.walk, "x", session.h))


def test_a_trail_pickles_without_its_graph_and_reads_the_same_once_attached(chain8k):
    fd = finite_difference(chain8k, "x", 1e-3)
    back = pickle.loads(pickle.dumps(fd))
    assert len(pickle.dumps(fd.trail)) < 30 * len(fd.trail)  # arrays, not 8,001 entry objects
    back.trail.attach(chain8k.graph.names)
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
