"""A long nudge runs in the graph's helper process (engine/forked.py) and gives the very
record the in-process nudge gives, bit for bit; no fork, a dead helper or a walk it
cannot reproduce changes nothing but where the nudge is computed."""

from __future__ import annotations

import dataclasses
import os
import pickle
import time

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


def in_process_forbidden(monkeypatch):
    """Make this process's own nudge fail: whatever finite_difference_aside returns now came from the helper."""
    def refuse(*args, **kwargs):
        raise AssertionError("nudged in this process, not in the helper")

    monkeypatch.setattr(fdm, "finite_difference", refuse)


def test_a_long_nudge_is_computed_in_another_process(monkeypatch):
    walk = chain_walk()
    plain = fdm.finite_difference
    with monkeypatch.context() as m:
        in_process_forbidden(m)
        got = fdm.finite_difference_aside(walk, "x", 1e-3)
        helper = fdm.helper_of(walk.graph, create=False)
        assert helper.pid != os.getpid()
        # a fresh interpreter, not a fork of this one: it shares no heap to unshare
        with open(f"/proc/{helper.pid}/cmdline", "rb") as f:
            assert b"engine.forked" in f.read()
        # the same helper again, for another h and for other input values (sent their slots)
        again = fdm.finite_difference_aside(walk, "x", 1e-6)
        other = compute(walk.graph, {"x": -0.25})
        moved = fdm.finite_difference_aside(other, "x", 1e-3)
    assert same(got, plain(walk, "x", 1e-3)) and same(again, plain(walk, "x", 1e-6))
    assert same(moved, plain(other, "x", 1e-3))
    assert len(got.trail) == 8001 and got.trail[-1].node == walk.graph.output
    assert fdm.helper_of(walk.graph, create=False) is helper
    # a short one (few nodes after it) is not worth asking for
    asked = []
    monkeypatch.setattr(forked.Helper, "ask", lambda self, r: asked.append(r) or None)
    assert same(fdm.finite_difference_aside(walk, "n7990", 1e-3), plain(walk, "n7990", 1e-3)) and not asked
    helper.close()


@pytest.mark.parametrize("h", [1e-3, 1e-9, 1e-300])
def test_every_record_from_the_helper_is_the_in_process_one(h, monkeypatch):
    monkeypatch.setattr(fdm, "CHILD_MIN", 0)
    plain = fdm.finite_difference
    for text in (KINKS, generate("dag", 40), "inputs:\n  a: 1e308\n  b: 0\nnodes:\n  u: a * 10\n  v: 1 / b\n"
                 "  J: u + v + relu(b)\n"):
        walk = compute(load_bytes(text.encode(), "g").graph)
        for var in walk.graph.names:
            want = plain(walk, var, h)
            with monkeypatch.context() as m:
                in_process_forbidden(m)
                assert same(fdm.finite_difference_aside(walk, var, h), want), var
        fdm.helper_of(walk.graph, create=False).close()


def test_the_helpers_answer_is_the_in_process_one_bit_for_bit(monkeypatch):
    """Every field of the record, to the last bit, whatever the helper's process holds (arrays of the
    same floats): the chain's ok and suspect nudges (h = 1e-12: the reason re-estimates at h/10 and
    10·h), a kink named by its node, nan and ±inf, -0.0 and a lost nudge."""
    monkeypatch.setattr(fdm, "CHILD_MIN", 0)
    plain = fdm.finite_difference
    walk = chain_walk(6000)
    cases = [(walk, "x", h) for h in (1e-3, 1e-7, 1e-12)] + [(walk, "n10", 1e-3)]
    kinked = compute(load_bytes(KINKS.encode(), "k").graph)
    cases += [(kinked, name, 1e-3) for name in ("x", "y", "z", "w")] + [(kinked, "w", 1e-17)]
    odd = compute(load_bytes(b"inputs:\n  a: -0.0\n  b: 1e308\nnodes:\n  u: a * b * 10\n  v: 1 / a\n"
                             b"  J: u + v - v\n", "odd").graph)
    cases += [(odd, name, 1e-3) for name in ("a", "b", "u")]
    for w, var, h in cases:
        want = plain(w, var, h)
        with monkeypatch.context() as m:
            in_process_forbidden(m)
            got = fdm.finite_difference_aside(w, var, h)
        assert same(got, want), (var, h)
        assert [*map(repr, (got.forward, got.central, got.out_plus, got.out_minus))] == \
            [*map(repr, (want.forward, want.central, want.out_plus, want.out_minus))]
        assert pickle.dumps(got) == pickle.dumps(want), (var, h)  # every field, every bit
    assert {plain(kinked, n, 1e-3).status for n in "xyzw"} >= {"kink"} and plain(walk, "x", 1e-12).reason
    assert plain(kinked, "w", 1e-17).status == "lost"
    for w in (walk, kinked, odd):
        fdm.close_aside(w.graph)


def test_no_process_or_a_dead_helper_fall_back_to_this_process(monkeypatch):
    walk = chain_walk()
    want = finite_difference(walk, "x", 1e-3)

    def no_process(*args, **kwargs):
        raise OSError("no more processes")

    with monkeypatch.context() as m:
        m.setattr(forked.subprocess, "Popen", no_process)
        assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
        assert fdm.helper_of(walk.graph, create=False) is None
    helper = fdm.helper_of(walk.graph)
    asked = []
    real_ask = forked.Helper.ask
    monkeypatch.setattr(forked.Helper, "ask", lambda self, r: asked.append(r[3]) or real_ask(self, r))
    # a walk whose numbers are not those of its inputs: the helper nudges the numbers it is sent, as this process would
    odd = dataclasses.replace(walk, values={**walk.values, walk.graph.output: 12.5})
    assert same(fdm.finite_difference_aside(odd, "x", 1e-3), finite_difference(odd, "x", 1e-3))
    assert asked == ["x"] and helper.alive
    os.kill(helper.pid, 9)  # gone: this process answers, and the next nudge starts a new helper
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want) and not helper.alive
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
    again = fdm.helper_of(walk.graph, create=False)
    assert again is not None and again is not helper and again.alive
    assert asked == ["x", "x", "x"]
    again.close()


def autogroup_of(pid: str) -> list[str] | None:
    """``["/autogroup-N", "nice", "K"]`` for a process that an autogroup schedules; None where none
    does: no autogroups (not Linux, or a kernel without them), or a process still in the session
    Linux started it in (its file is empty then, as for a CI job started by PID 1 without a session)."""
    try:
        with open(f"/proc/{pid}/autogroup") as f:
            return f.read().split() or None
    except OSError:
        return None


def test_the_helper_runs_at_the_lowest_priority_in_its_autogroup_too():
    """The helper starts a session of its own, which Linux (with autogroups) schedules as a group of
    its own: its nice value alone would rank it only within that group, beside the app's as an equal.
    Both its nice value and its autogroup's are the lowest."""
    walk = chain_walk()
    fdm.finite_difference_aside(walk, "x", 1e-3)  # answered: the helper has set its priority
    helper = fdm.helper_of(walk.graph, create=False)
    assert helper is not None and helper.alive
    assert os.getpriority(os.PRIO_PROCESS, helper.pid) == forked.NICE == 19
    group = autogroup_of(str(helper.pid))
    if group is not None:  # an autogroup schedules the helper: it is its own, at the lowest priority
        ours = autogroup_of("self")
        assert ours is None or group[0] != ours[0], (group, ours)
        assert group[-1] == "19", group
    fdm.close_aside(walk.graph)


def test_a_helper_numbering_its_operations_otherwise_is_not_asked_again(monkeypatch):
    """A tape compiled with opcodes the helper's own table does not give (an operation registered
    in this process only) is refused once; this process nudges from then on."""
    walk = chain_walk()
    want = finite_difference(walk, "x", 1e-3)
    monkeypatch.setitem(fdm._FUNC_OPS, "nosuchop", 999)
    asked = []
    real_ask = forked.Helper.ask
    monkeypatch.setattr(forked.Helper, "ask", lambda self, r: asked.append(r[3]) or real_ask(self, r))
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
    assert same(fdm.finite_difference_aside(walk, "x", 1e-3), want)
    assert asked == ["x"]
    fdm.close_aside(walk.graph)


def test_nudges_of_one_variable_share_their_trails_path_and_values_before(monkeypatch):
    """A second h for the same variable and walk: the new trail holds the first one's arrays of slots
    and of values before (one copy of each), and reads as the in-process trail does."""
    walk = chain_walk()
    first = fdm.finite_difference_aside(walk, "x", 1e-3)
    second = fdm.finite_difference_aside(walk, "x", 1e-5)
    assert second.trail._slots is first.trail._slots and second.trail._before is first.trail._before
    assert second.trail._after is not first.trail._after
    assert same(second, finite_difference(walk, "x", 1e-5)) and same(first, finite_difference(walk, "x", 1e-3))
    other = compute(walk.graph, {"x": 0.75})  # another walk: other values before, nothing shared
    third = fdm.finite_difference_aside(other, "x", 1e-5)
    assert third.trail._before is not second.trail._before
    assert same(third, finite_difference(other, "x", 1e-5))
    fdm.close_aside(walk.graph)


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


def test_a_session_keeps_a_bounded_number_of_trail_entries(monkeypatch):
    """The nudges a session keeps (its cache) hold trails of at most FD_CACHE_ENTRIES entries
    together, the latest always; a nudge let go is computed again, the same, when asked for."""
    session = DebugSession(load_bytes(generate("chain", 8000).encode(), "chain"))
    monkeypatch.setattr(DebugSession, "FD_CACHE_ENTRIES", 20_000)
    kept = []
    for h in (1e-2, 1e-3, 1e-4, 1e-5):
        session.h = h
        kept.append(session.fd("x"))
        assert session.fd_ready("x")
        assert sum(len(fd.trail) for fd in session._fd_cache.values()) <= 20_000
    assert len(session._fd_cache) == 2  # 8,001 entries each
    session.h = 1e-2
    assert not session.fd_ready("x")
    assert same(session.fd("x"), kept[0]) and session.fd("x") is not kept[0]
    session.h = 1e-5
    assert session.fd_ready("x") and session.fd("x") is kept[-1]
    session.close()


def _gone(pid: int, within: float = 10.0) -> bool:
    """Whether process ``pid`` has ended (or is a zombie nobody has reaped yet) within ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                state = f.read().rsplit(b")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in (b"Z", b"X"):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_the_helper_is_gone_when_the_session_closes():
    session = DebugSession(load_bytes(generate("chain", 8000).encode(), "chain"))
    helper = fdm.helper_of(session.graph, create=False)
    assert helper is not None and helper.alive and not _gone(helper.pid, 0)
    assert same(session.fd("x"), finite_difference(session.walk, "x", session.h))
    session.close()
    assert not helper.alive and _gone(helper.pid)
    assert fdm.helper_of(session.graph, create=False) is None
    # the session goes on: its next long nudge starts a new helper
    session.h = 1e-4
    assert same(session.fd("x"), finite_difference(session.walk, "x", 1e-4))
    again = fdm.helper_of(session.graph, create=False)
    assert again is not None and again.pid != helper.pid
    session.close()
    assert _gone(again.pid)


OPENER = """
import sys
from engine import finite_diff as fdm
from engine.examples import generate
from engine.graphfile import load_bytes
from engine.session import DebugSession
fdm.HELPER_MIN = 0
session = DebugSession(load_bytes(generate("chain", 8000).encode(), "chain"))
session.fd("x")
print(fdm.helper_of(session.graph, create=False).pid, flush=True)
sys.stdin.readline()  # (until the test has seen the helper alive)
"""


@pytest.mark.parametrize("how", ["exit", "killed"])
def test_the_helper_ends_with_the_process_that_started_it(how):
    """At exit (the finalizer), and when the app is killed outright (the helper reads the end of its pipe)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", OPENER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    pid = int(proc.stdout.readline())
    assert not _gone(pid, 0)
    if how == "killed":
        proc.kill()
    else:
        proc.stdin.write(b"\n")
        proc.stdin.flush()
    assert proc.wait(timeout=60) == (0 if how == "exit" else -9)
    proc.stdin.close()
    proc.stdout.close()
    assert _gone(pid)
