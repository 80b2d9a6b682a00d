"""Random use of the real app (Pilot), driven by a hypothesis state machine.

After every action: no exception, the position within bounds, every shown value
equal to a fresh evaluation with the current inputs, every gradient equal to the
engine's once the backward pass is done, and the file on disk either as it was
or a valid graph holding the saved values.

CGTUI_SOAK=N raises the number of random runs (e.g. CGTUI_SOAK=2000 for a long soak).
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from engine import compute, load_path
from engine import text as tx
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.widgets.dialogs import ConflictScreen, SaveAsScreen
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree, NodeRef, node_label

UNARY = ("tanh", "sigmoid", "relu", "abs", "sin", "exp", "log", "sqrt")
BINARY = ("+", "-", "*", "/", "^")


@st.composite
def graph_texts(draw) -> str:
    """A random valid graph file: 1-3 inputs, 1-6 nodes, each using earlier names."""
    n_inputs = draw(st.integers(1, 3))
    names = [f"x{i}" for i in range(n_inputs)]
    lines = ["# a random graph", "inputs:"]
    for name in names:
        lines.append(f"  {name}: {draw(st.sampled_from(['-2', '-0.5', '0', '0.25', '1', '3', '1e-3']))}")
    lines.append("nodes:")
    for k in range(draw(st.integers(1, 6))):
        a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        if draw(st.booleans()):
            expr = f"{a} {draw(st.sampled_from(BINARY))} {b}"
        else:
            expr = f"{draw(st.sampled_from(UNARY))}({a})"
        if draw(st.booleans()):
            expr = f"{draw(st.sampled_from(['2', '0.5', '-1']))} * {expr}" if "^" not in expr else expr
        name = f"n{k}"
        lines.append(f"  {name}: {expr}   # node {k}")
        names.append(name)
    if draw(st.booleans()):
        lines.append(f"params: [x0]\nalpha: {draw(st.sampled_from(['0.1', '2']))}")
    return "\n".join(lines) + "\n"


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class AppMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.folder = tempfile.TemporaryDirectory()
        self.app: CgtuiApp | None = None

    def run(self, coro):
        return self.loop.run_until_complete(coro)

    def call(self, job):
        """Run ``job(pilot)`` inside the task that holds the app's context (Textual's context vars)."""
        done = self.loop.create_future()
        self.jobs.put_nowait((job, done))
        return self.run(done)

    @initialize(text=graph_texts())
    def start(self, text: str) -> None:
        self.path = Path(self.folder.name) / "g.yaml"
        self.path.write_text(text)
        self.disk = text
        app = CgtuiApp(DebugSession(load_path(self.path)), watch_file=False)
        self.jobs: asyncio.Queue = asyncio.Queue()

        async def host() -> None:
            async with app.run_test(size=(100, 30)) as pilot:
                while True:
                    job, done = await self.jobs.get()
                    if job is None:
                        done.set_result(None)
                        return
                    try:
                        done.set_result(await job(pilot))
                    except BaseException as err:  # handed to the rule that asked
                        done.set_exception(err)

        self.host = self.loop.create_task(host())
        self.call(lambda pilot: pilot.pause())  # mounted before the first invariant
        self.app = app

    def teardown(self) -> None:
        if self.app is not None:
            self.call(None)
            self.run(self.host)
        self.loop.close()
        self.folder.cleanup()

    # ------------------------------------------------------------------ actions

    def press(self, *keys: str) -> None:
        self.call(lambda pilot: pilot.press(*keys))

    def editing(self) -> bool:
        return self.app.query_one(InputEditor).display

    def on_main_screen(self) -> bool:
        return not isinstance(self.app.screen, (ConflictScreen, SaveAsScreen))

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(key=st.sampled_from(["n", "p", "f", "r", "right", "left", "left_square_bracket", "right_square_bracket"]),
          times=st.integers(1, 4))
    def keys(self, key: str, times: int) -> None:
        if self.editing() or not self.on_main_screen():
            self.press("escape")
        self.press(*[key] * times)

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(moves=st.lists(st.sampled_from(["up", "down"]), max_size=6))
    def cursor(self, moves: list[str]) -> None:
        if self.editing() or not self.on_main_screen():
            self.press("escape")
        self.press(*moves)

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(data=st.data(), value=st.one_of(
        st.sampled_from(["7", "-3.5", "0", "1e-3", "2.5e2", "100"]),
        st.sampled_from(["abc", "1e", "", "nan", "inf", "--1", "1e999", "0x10", "１"]),
    ))
    def edit(self, data, value: str) -> None:
        if self.editing() or not self.on_main_screen():
            self.press("escape")
        session = self.app.session
        name = data.draw(st.sampled_from([i.name for i in session.graph.inputs]))
        before = dict(session.inputs)

        async def job(pilot):
            self.app.query_one(GraphTree).select_name(name)
            await pilot.press("e", "ctrl+u", *value, "enter")

        self.call(job)
        try:
            expected = tx.parse_number(value)
        except ValueError:
            assert session.inputs == before, "a refused edit changed an input"
            assert self.editing()
            self.press("escape")
        else:
            assert session.inputs[name] == expected

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule()
    def save(self) -> None:
        if self.editing() or not self.on_main_screen():
            self.press("escape")
        self.press("w")
        if isinstance(self.app.screen, ConflictScreen):
            self.press("escape")  # the outside change stays
            return
        self.disk = self.path.read_text()

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(value=st.sampled_from(["4", "-1", "0.5"]))
    def outside_edit(self, value: str) -> None:
        text = re.sub(r"^(  x0: )\S+", rf"\g<1>{value}", self.disk, flags=re.M)
        self.path.write_text(text + "# edited elsewhere\n")
        self.disk = self.path.read_text()

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule()
    def toggle_predict(self) -> None:
        if self.editing() or not self.on_main_screen():
            self.press("escape")
        was = self.app.session.predicting
        self.press("g")
        assert self.app.session.predicting is not was and self.app.session.pending is None

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(guess=st.sampled_from(["1", "0", "-2.5", "abc", ""]))
    def guess(self, guess: str) -> None:
        session = self.app.session
        if session.pending is None:
            self.press("n")
        if session.pending is None:
            return
        position = session.pending
        self.press("ctrl+u", *guess, "enter")
        try:
            value = tx.parse_number(guess)
        except ValueError:
            assert session.pending == position and self.editing()
        else:
            assert session.pending is None and session.answers[position].guess == value

    @precondition(lambda self: self.app is not None and not self.app.too_small)
    @rule(key=st.sampled_from(["d", "s", "minus", "plus"]))
    def learn(self, key: str) -> None:
        from tui.widgets.sweep import SweepScreen

        if self.editing() or not self.on_main_screen():
            self.press("escape")
        session = self.app.session
        before = dict(session.inputs)
        ready = session.descent_blocked() is None
        self.press(key)
        if key == "d" and ready:  # a step, or a refusal that names the number that would not be finite
            stepped = self.app.message.startswith("Descent step")
            assert stepped or "would" in self.app.message, self.app.message
            assert not stepped or len(session.descent) >= 2
        if isinstance(self.app.screen, SweepScreen):
            assert self.app.screen.sweep is not None and key == "s"
            self.press("escape")
        moved = {n for n in before if before[n] != session.inputs[n]}
        assert moved <= set(session.graph.params), "d moved an input that is not a parameter"

    @precondition(lambda self: self.app is not None and self.app.too_small)
    @rule(keys=st.lists(st.sampled_from(["n", "p", "f", "e", "w", "g", "d", "s", "y", "question_mark", "8", "enter"]),
                        min_size=1, max_size=5))
    def keys_while_too_small(self, keys: list[str]) -> None:
        """#13: while the screen shows only "too small", keys change nothing (quit aside)."""
        session = self.app.session
        before = (session.position, dict(session.inputs), session.predicting, session.pending, len(self.app.screen_stack))
        self.press(*keys)
        assert (session.position, dict(session.inputs), session.predicting, session.pending,
                len(self.app.screen_stack)) == before

    @precondition(lambda self: self.app is not None)
    @rule(size=st.sampled_from([(100, 30), (80, 24), (60, 15), (40, 10), (1, 1), (150, 50)]))
    def resize(self, size: tuple[int, int]) -> None:
        self.call(lambda pilot: pilot.resize_terminal(*size))

    # ------------------------------------------------------------------ invariants

    @invariant()
    def consistent(self) -> None:
        if self.app is None:
            return
        app = self.app
        assert app._exception is None, app._exception
        assert app.is_running
        s = app.session
        assert 0 <= s.position <= s.total
        fresh = compute(s.graph, s.inputs)
        for name in s.graph.names:
            assert same(s.walk.values[name], fresh.values[name])
            label = node_label(s, NodeRef(name), 1000).plain
            if s.value_shown(name):
                assert tx.num(fresh.values[name]) in label, (name, label)
            else:
                assert re.search(rf"\b{name} = (?:[^=∂]*? = )?\?", label), (name, label)
        if s.at_end and s.pending is None:
            for name in s.graph.names:
                grad = s.grad(name)
                assert grad is not None and grad.complete
                assert same(grad.value, fresh.grads[name]), name
        assert 1e-12 * (1 - 1e-9) <= s.h <= 1.0
        editor = app.query_one(InputEditor)
        assert (s.pending is not None) == (editor.display and editor.guessing), "a guess box without its question"

    @invariant()
    def file_is_safe(self) -> None:
        if self.app is None:
            return
        on_disk = self.path.read_text()
        assert on_disk == self.disk
        saved = load_path(self.path).graph  # always a valid graph
        if "# edited elsewhere" not in on_disk and not self.app.session.unsaved:
            assert {i.name: i.value for i in saved.inputs} == self.app.session.saved_inputs


AppMachine.TestCase.settings = settings(
    max_examples=int(os.environ.get("CGTUI_SOAK", "2")),  # a short run in the suite; .ci/run soaks longer
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
TestRandomUse = AppMachine.TestCase
