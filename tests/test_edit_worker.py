"""Committing an edit on a big graph: worked out in a worker thread, applied on the UI thread.

No timed assertions (the machine is shared): the tests hold the worker at a gate and look at
the structure (which thread worked the edit out, what the session holds, what the line says).
"""

from __future__ import annotations

import math
import threading
import time

import pytest

from engine import load_bytes
from engine.examples import generate
from engine.session import DebugSession
from engine.steps import compute
from tui.app import CgtuiApp
from tui.widgets.graph_tree import GraphTree
from tui_helpers import make_app, widget_text

CHAIN = generate("chain", 3000)  # over FdPanel.INLINE_LIMIT (2,000): an edit is worked out in a worker


def chain_app() -> CgtuiApp:
    return CgtuiApp(DebugSession(load_bytes(CHAIN.encode(), "(example chain)")), watch_file=False)


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class Gate:
    """Wraps ``session.plan_edit``: records the thread it runs on and holds it until opened.

    ``lag``: seconds the thread still works once opened, as a loaded machine makes it: a worker
    cancelled meanwhile is no longer running for Textual (its task is cancelled at once) while its
    thread is still in ``plan_edit``."""

    def __init__(self, session: DebugSession, hold: bool = True, lag: float = 0.0) -> None:
        self.real = session.plan_edit
        self.lag = lag
        self.threads: list[threading.Thread] = []
        self.started, self.open, self.finished = threading.Event(), threading.Event(), threading.Event()
        if not hold:
            self.open.set()
        session.plan_edit = self

    def __call__(self, *args, **kwargs):
        self.threads.append(threading.current_thread())
        self.started.set()
        assert self.open.wait(30)
        time.sleep(self.lag)
        try:
            return self.real(*args, **kwargs)
        finally:
            self.finished.set()


async def settle(pilot, app, gate: Gate | None = None) -> None:
    """Until no worker runs and, given a gate, its thread has left ``plan_edit`` (a cancelled
    worker's thread can still be in it), for 10 s at most."""
    for _ in range(200):
        await pilot.pause(0.05)
        if not any(w.is_running for w in app.workers) and (gate is None or gate.finished.is_set()):
            return
    raise AssertionError("a worker is still running")


async def commit_x(pilot, app, value: str) -> None:
    app.query_one(GraphTree).select_name("x")
    await pilot.pause()
    await pilot.press("e", "ctrl+u", *value, "enter")


async def test_an_edit_of_a_big_graph_is_worked_out_in_a_worker_and_applied_as_a_fresh_walk():
    app = chain_app()
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        await pilot.press("f", "f")  # every value and every gradient shows: all of them change
        gate = Gate(session)
        await commit_x(pilot, app, "0.6")
        assert gate.started.wait(10)
        # the UI thread is free while the worker is held: keys are answered
        assert gate.threads[0] is not threading.main_thread()
        assert app._job is not None and app._job.name == "edit"
        assert session.inputs["x"] == 0.5  # nothing applied yet
        assert "Recomputing everything for x: 0.5 → 0.6" in widget_text(app, "#message")
        # a step meanwhile is refused, saying why; so is another edit; the cursor still moves
        await pilot.press("p")
        assert session.at_end
        assert "press p again once it is done" in widget_text(app, "#message")
        await pilot.press("e")
        assert not app._editing() and "press e again" in widget_text(app, "#message")
        await pilot.press("up", "down")
        gate.open.set()
        await settle(pilot, app)
        await pilot.pause()
        assert session.inputs["x"] == 0.6
        fresh = compute(session.graph, {"x": 0.6})
        assert all(same(session.walk.values[n], fresh.values[n]) for n in session.graph.names)
        assert all(same(session.walk.grads[n], fresh.grads[n]) for n in session.graph.names)
        assert all(same(session.grad(n).value, fresh.grads[n]) for n in ("x", "n0", "n2998"))
        assert session.value_changes["n2999"].new == fresh.values["n2999"]
        assert "x" in session.grad_changes
        message = widget_text(app, "#message")
        assert "x: 0.5 → 0.6. Everything recomputed" in message and "revealed numbers changed" in message
        await pilot.press("p")  # and the steps go on
        assert not session.at_end


async def test_a_result_worked_out_before_a_reload_is_dropped():
    app = chain_app()
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        await pilot.press("f")
        gate = Gate(session)
        await commit_x(pilot, app, "0.7")
        assert gate.started.wait(10)
        reloaded = load_bytes(CHAIN.replace("x: 0.5", "x: 0.25").encode(), "(example chain)")
        app.adopt(reloaded)  # the file poll brings a new version meanwhile
        walk = session.walk
        gate.open.set()
        await settle(pilot, app)
        assert gate.finished.is_set()
        await settle(pilot, app)
        await pilot.pause()
        assert session.walk is walk and session.inputs["x"] == 0.25
        assert "x = 0.7 was not applied" in widget_text(app, "#message")


async def test_esc_cancels_an_edit_being_worked_out():
    app = chain_app()
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        walk = session.walk
        gate = Gate(session, lag=0.3)  # the cancelled thread ends after its worker: its result is dropped
        await commit_x(pilot, app, "0.8")
        assert gate.started.wait(10)
        await pilot.press("escape")
        assert "Edit cancelled; x stays 0.5 (not 0.8)" in widget_text(app, "#message")
        gate.open.set()
        await settle(pilot, app, gate)
        assert gate.finished.is_set()
        await settle(pilot, app)
        await pilot.pause()
        assert session.walk is walk and session.inputs["x"] == 0.5
        await pilot.press("n")  # not refused any more
        assert session.position == 1


async def test_a_small_graph_applies_an_edit_at_once_on_the_ui_thread():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        gate = Gate(app.session, hold=False)
        await pilot.press("e", "ctrl+u", "7", "enter")
        assert app.session.inputs["a"] == 7  # applied before the keys returned: no worker to wait for
        assert gate.threads == [threading.main_thread()]
        assert not any(w.name == "edit" for w in app.workers)


# --------------------------------------------------------------------------- the session's two parts


def lecture_session() -> DebugSession:
    from paths import LECTURE
    from engine import load_path

    return DebugSession(load_path(LECTURE))


def test_plan_edit_changes_nothing_and_apply_takes_it():
    s = lecture_session()
    s.finish()
    s.finish()
    walk, inputs = s.walk, dict(s.inputs)
    plan = s.plan_edit("a", 7.0)
    assert s.walk is walk and s.inputs == inputs and s.value_changes == {}
    assert s.apply(plan)
    assert s.inputs["a"] == 7 and s.walk is plan.walk
    assert s.value_changes["J"].old == 33 and s.value_changes["J"].new == 39
    assert s.grad_changes == {}  # J = 3(a + bc): no gradient depends on a
    twin = lecture_session()
    twin.finish()
    twin.finish()
    assert twin.set_input("a", 7.0) == (s.value_changes, s.grad_changes)


@pytest.mark.parametrize("meanwhile", ["edit", "step", "reload"])
def test_apply_refuses_a_stale_result(meanwhile):
    s = lecture_session()
    s.step()
    plan = s.plan_edit("a", 7.0)
    if meanwhile == "edit":
        s.set_input("b", 4.0)
    elif meanwhile == "step":
        s.step()
    else:
        s.replace_graph(s.loaded)
    walk, inputs = s.walk, dict(s.inputs)
    assert not s.apply(plan)
    assert s.walk is walk and s.inputs == inputs and s.inputs["a"] == 5


def test_plan_edit_refuses_what_set_input_refuses():
    s = lecture_session()
    with pytest.raises(KeyError):
        s.plan_edit("J", 1.0)
    with pytest.raises(ValueError):
        s.plan_edit("a", math.inf)


async def test_q_during_an_edit_being_worked_out_asks_again():
    app = chain_app()
    async with app.run_test(size=(120, 40)) as pilot:
        gate = Gate(app.session)
        await commit_x(pilot, app, "0.9")
        assert gate.started.wait(10)
        await pilot.press("q")
        assert app.is_running
        assert "x = 0.9 is still being recomputed: q again quits without it" in widget_text(app, "#message")
        gate.open.set()
        await settle(pilot, app)
        await pilot.pause()
        assert app.session.inputs["x"] == 0.9  # the first q changed nothing


async def test_a_result_arriving_just_after_esc_is_dropped():
    """The worker may finish between esc and the UI thread taking its result: esc still wins."""
    app = make_app(watch_file=False)  # the UI-thread half is the same on any graph
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        walk = session.walk
        job = ("a", 5.0, 7.0)
        recomputed = session.plan_edit("a", 7.0)
        app._edit_job = None  # what esc leaves
        app._edit_worked_out(recomputed, job, walk)
        await pilot.pause()
        assert session.walk is walk and session.inputs["a"] == 5
