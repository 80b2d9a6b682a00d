"""Big graphs stay cheap: work and memory measured by what is built, never by a clock.

Each test counts work (objects made, buffers used, entries written) or bounds memory
with tracemalloc, generously: the machine is shared, and timings would be noise.
"""

from __future__ import annotations

import gc
import io
import json
import threading
import tracemalloc
from contextlib import redirect_stdout

import pytest

from engine import compute, finite_differences, load_bytes
from engine import finite_diff as fdm
from engine.examples import generate
from engine.finite_diff import h_sweep, path_to_output, trail_ends
from engine.paths import why_gradient
from engine.report import TRAIL_KEEP, iter_json, to_json
from engine.session import DebugSession
from engine.tape import Rows, Tape
from engine.text import PATH_HOPS_SHOWN, path_names, why_parts
from tui import cli
from tui.app import CgtuiApp


def walk_of(kind: str, size: int):
    return compute(load_bytes(generate(kind, size).encode(), f"({kind})").graph)


@pytest.fixture(scope="module")
def chain5k():
    return walk_of("chain", 5000)


# --------------------------------------------------------------------------- y: the paths


def test_paths_down_a_deep_chain_share_their_beginnings(chain5k, monkeypatch):
    """x of a 5,000-chain has 5,000 paths; the first 12 are ~5,000 hops each. Copying a tuple of
    hops per step down (as before) held ~100 MB at once; shared beginnings hold a few."""
    made = []
    real = Tape.local_tree
    monkeypatch.setattr(Tape, "local_tree", lambda self, k: made.append(k) or real(self, k))
    tracemalloc.start()
    try:
        why = why_gradient(chain5k, "x")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20
    assert why.count == 5000 and len(why.paths) == 12
    assert [len(p.hops) for p in why.paths[:3]] == [5000, 4999, 4998]
    assert made == []  # no hop is made until one is read
    # each product is its hops' locals multiplied from the output down, as before
    first = why.paths[0]
    product = 1.0
    for hop in first.hops:
        product *= hop.local
    assert product == first.product
    assert why.total == sum(p.product for p in why.paths)


def test_a_long_path_is_written_as_its_ends(chain5k, monkeypatch):
    why = why_gradient(chain5k, "x")
    made = []
    real = Tape.local_tree
    monkeypatch.setattr(Tape, "local_tree", lambda self, k: made.append(k) or real(self, k))
    head, paths, foot = why_parts(why, "n4999")
    assert len(made) <= 12 * PATH_HOPS_SHOWN  # only the hops written out are made
    route, factors = paths[0]
    assert route.startswith("  n4999 → n4998 → ") and route.endswith(" → n1 → n0 → x")
    assert "… 4,988 more hops … " in route
    assert " · … · " in factors and " × … × " in factors
    names = path_names(why.paths[0])
    assert len(names) == 5001 and names[0] == "n4999" and names[-1] == "x"


# --------------------------------------------------------------------------- s: the h sweep


def test_the_h_sweep_runs_the_path_in_one_buffer(chain5k, monkeypatch):
    """Every nudge runs the path's instructions in the same list: no copy of all slots per h."""
    buffers = []
    real = fdm.run
    monkeypatch.setattr(fdm, "run", lambda code, v: buffers.append(id(v)) or real(code, v))
    fresh = fdm.finite_difference(chain5k, "x", 1e-3)  # copies, as one nudge may
    buffers.clear()
    tracemalloc.start()
    try:
        sweep = h_sweep(chain5k, "x", hs=(1e-1, 1e-3, 1e-5, 1e-7) * 5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(buffers) == 40 and len(set(buffers)) == 1
    assert peak < 4 * 2**20  # one copy of ~30,000 slots, not 40
    at = next(p for p in sweep.points if p.h == 1e-3)
    assert (at.forward, at.central) == (fresh.forward, fresh.central)  # the same floats as one nudge


def test_the_h_sweep_ticks_and_can_be_stopped(chain5k):
    seen = []

    def tick(done, total):
        seen.append((done, total))
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        h_sweep(chain5k, "x", tick=tick)
    assert seen == [(0, 25), (1, 25), (2, 25), (3, 25)]


# --------------------------------------------------------------------------- headless output


@pytest.fixture(scope="module")
def dag5k():
    return walk_of("dag", 5000)


def test_batched_trails_know_their_length_and_ends_without_their_middle(dag5k):
    fds = finite_differences(dag5k, "inputs")
    for name in ["x0", "x17", "x99"]:
        trail = fds[name].trail
        full = fdm.finite_difference(dag5k, name, fds[name].h).trail
        assert len(trail) == len(full) == 1 + len(path_to_output(dag5k, name)) > 50
        head, tail, omitted = trail_ends(trail, TRAIL_KEEP, TRAIL_KEEP)
        assert head == full[:TRAIL_KEEP] and tail == full[-TRAIL_KEEP:]
        assert omitted == len(full) - 2 * TRAIL_KEEP
        assert trail._entries is None  # the middle was never listed


def test_json_trails_are_bounded_and_say_how_many_they_leave_out(dag5k):
    fds = finite_differences(dag5k, "inputs")
    doc = json.loads(to_json(dag5k, fds, 1e-3, "(dag)"))
    assert len(doc["fd"]) == 100
    entries = 0
    for name, fd in doc["fd"].items():
        assert len(fd["trail"]) <= 2 * TRAIL_KEEP
        entries += len(fd["trail"])
        assert fd["trail"][0]["node"] == name
        assert fd["trail"][-1]["node"] == ("J" if len(fds[name].trail) > 1 else name)
        assert fd["trail_omitted"] == len(fds[name].trail) - len(fd["trail"])
    assert entries <= 100 * 2 * TRAIL_KEEP
    assert doc["fd"]["x0"]["trail_omitted"] > 500


def test_json_is_written_in_pieces_that_make_the_same_text_as_one_dump():
    small = walk_of("dag", 300)
    fds = finite_differences(small, "all")
    pieces = list(iter_json(small, fds, 1e-3, "(dag)"))
    text = "".join(pieces)
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    assert len(pieces) > len(small.graph.nodes)  # a piece per step, never one string of all
    assert max(len(p) for p in pieces) < len(text) / 40  # the largest: the values, a line each
    empty = "".join(iter_json(small, {}, 1e-3, "(dag)"))
    assert json.loads(empty)["fd"] == {} and empty == json.dumps(json.loads(empty), indent=2, ensure_ascii=False)


@pytest.mark.parametrize("mode", ["--json", "--trace", "--markdown"])
def test_every_headless_mode_bounds_the_trails_of_a_big_graph(mode):
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.run(["--example", "dag", "--size", "5000", mode]) == 0
    text = out.getvalue()
    if mode == "--json":
        doc = json.loads(text)
        assert max(len(fd["trail"]) for fd in doc["fd"].values()) == 2 * TRAIL_KEEP
    else:
        lines = [line for line in text.splitlines() if "x0: " in line and " more" in line]
        assert lines, "x0's trail, cut short"
        assert all(line.count("→") <= 2 * TRAIL_KEEP + 2 for line in lines)
    assert len(text) < 5 * 2**20  # 1.5-3.5 MiB


# --------------------------------------------------------------------------- the tape's memory


def test_the_tape_is_held_in_flat_arrays():
    graph = load_bytes(generate("chain", 5000).encode(), "(chain)").graph
    graph.needed
    tracemalloc.start()
    try:
        tape = Tape(graph)
        size = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert size < 2.5 * 2**20  # at 20,000 nodes tuples of boxed ints took 25.6 MiB; flat arrays 5.2
    assert isinstance(tape.code, Rows) and isinstance(tape.edges, Rows)
    assert len(tape.code) == 1 + 3 * 4999  # tanh(x), then tanh, times, plus for each node after


def test_rows_read_as_a_list_of_tuples():
    rows = Rows(3)
    listed = [(1, 2, 3), (4, 5, 6), (7, -1, 300000)]
    for row in listed:
        rows.append(row)
    assert list(rows) == listed and len(rows) == 3
    assert rows[0] == (1, 2, 3) and rows[-1] == (7, -1, 300000)
    assert rows[1:] == listed[1:] and rows[::2] == listed[::2] and rows[5:9] == []
    assert [c for c, _, _ in rows] == [1, 4, 7]
    with pytest.raises(IndexError):
        rows[3]


# --------------------------------------------------------------------------- the app: workers, esc


def big_app() -> CgtuiApp:
    return CgtuiApp(DebugSession(load_bytes(generate("chain", 3000).encode(), "(example chain)")),
                    watch_file=False)


async def settle(pilot, app) -> None:
    for _ in range(100):
        await pilot.pause(0.05)
        if not any(w.is_running for w in app.workers):
            return


async def test_y_on_a_big_graph_works_in_a_worker_and_esc_cancels_it(monkeypatch):
    import engine.paths
    from tui.widgets.pages import WhyScreen

    real = engine.paths.why_gradient
    started, stopped = threading.Event(), threading.Event()

    def slow(walk, name, limit=12, tick=None):
        started.set()
        try:
            for k in range(2000):  # until cancelled (a safety bound, never reached)
                tick(k, 2000)
                threading.Event().wait(0.005)
        except BaseException:
            stopped.set()
            raise
        return real(walk, name, limit)

    app = big_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        monkeypatch.setattr(engine.paths, "why_gradient", slow)
        await pilot.press("down", "y")
        assert started.wait(5)
        assert app._job is not None and app._job.is_running
        assert "Working out the paths from n2999 down to n2998 … (esc cancels)" in str(
            app.query_one("#message").render())
        await pilot.press("escape")
        assert stopped.wait(5)
        await settle(pilot, app)
        assert not isinstance(app.screen, WhyScreen)
        assert "Cancelled." in str(app.query_one("#message").render())
        monkeypatch.setattr(engine.paths, "why_gradient", real)
        await pilot.press("y")  # not held up: now the paths come, and the screen opens
        await settle(pilot, app)
        await pilot.pause()
        assert isinstance(app.screen, WhyScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, WhyScreen)
        assert app.session.at_end


async def test_s_on_a_big_graph_works_in_a_worker_says_how_far_and_esc_stops_it(monkeypatch):
    import tui.widgets.sweep as sweep_module
    from tui.widgets.sweep import SweepScreen

    real = sweep_module.h_sweep
    stopped = threading.Event()
    ticked = threading.Event()

    def slow(walk, name, hs, tick=None):
        try:
            for k in range(2000):
                tick(min(k, 3), len(hs))
                if k >= 3:
                    ticked.set()
                threading.Event().wait(0.005)
        except BaseException:
            stopped.set()
            raise
        return real(walk, name, hs)

    app = big_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        monkeypatch.setattr(sweep_module, "h_sweep", slow)
        await pilot.press("s")
        assert isinstance(app.screen, SweepScreen)
        assert ticked.wait(5)
        await pilot.pause(0.1)
        caption = str(app.screen.query_one("#sweep-caption").render())
        assert "3 done" in caption and "esc stops this" in caption
        await pilot.press("escape")
        assert stopped.wait(5)
        assert not isinstance(app.screen, SweepScreen)
        monkeypatch.setattr(sweep_module, "h_sweep", real)
        await pilot.press("s")
        await settle(pilot, app)
        await pilot.pause()
        assert isinstance(app.screen, SweepScreen) and app.screen.sweep is not None
        assert len(app.screen.sweep.points) == 25


async def test_a_big_graph_is_frozen_out_of_the_collectors_reach():
    frozen = gc.get_freeze_count()  # tests/conftest.py froze what the collection loaded
    app = big_app()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert gc.get_freeze_count() > frozen
    finally:
        del app
        gc.unfreeze()  # the big graph may go; what is still alive is frozen again, as conftest left it
        gc.collect()
        gc.freeze()


async def test_redraws_during_a_nudge_start_no_second_one(monkeypatch):
    """While the finite-difference panel's worker nudges, steps and resizes redraw the panel:
    each used to start the same nudge again in one more thread (all holding the interpreter)."""
    from tui.widgets.panels import FdPanel

    real = FdPanel._compute
    calls: list[str] = []
    go = threading.Event()
    go.set()  # the output's nudge at the start runs freely

    def held(self, session, name):
        calls.append(name)
        assert go.wait(10)
        real(self, session, name)

    monkeypatch.setattr(FdPanel, "_compute", held)
    app = big_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)  # the output's nudge
        calls.clear()
        go.clear()
        await pilot.press("f", "down")  # the cursor onto n2998: its nudge starts, and is held
        await pilot.press("n", "p", "n")
        await pilot.resize_terminal(110, 40)
        await pilot.pause(0.1)
        assert calls == ["n2998"], calls
        assert "nudging n2998" in str(app.query_one(FdPanel).render())
        go.set()
        await settle(pilot, app)
        assert calls == ["n2998"], calls
        assert "central estimate" in str(app.query_one(FdPanel).render())
        await pilot.press("left_square_bracket")  # a new h: a new nudge
        await settle(pilot, app)
        assert calls == ["n2998", "n2998"], calls


async def test_a_big_graph_reloaded_from_its_file_is_freed(tmp_path):
    """A big graph is frozen out of the collector's reach; the one a reload replaces, and its tape
    (the two refer to each other, so only the collector frees them), must not stay frozen for good."""
    import weakref

    from tui_helpers import make_app, reload_now

    path = tmp_path / "chain.yaml"
    path.write_text(generate("chain", 3000))
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, app)
        await pilot.press("n", "n")  # (its tape built: the forward steps read it)
        old = weakref.ref(app.session.graph)
        assert "tape" in old()._cache  # the graph and its tape refer to each other
        path.write_text(generate("chain", 3000).replace("  x: 0.5\n", "  x: 0.25\n", 1))
        await reload_now(app, pilot)
        await settle(pilot, app)
        assert app.session.inputs["x"] == 0.25
        gc.collect()
        assert old() is None, "the graph the reload replaced is still alive (frozen)"
