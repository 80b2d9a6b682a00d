"""The UI thread does a key's work once, and long work in a worker (#11 item 8, #12): counted, never timed.

On a 100k-node graph j took 104-143 ms and closing the editor 104-119 ms, because Textual's
Tree laid itself out again for every line added (8,000 for one j) and rebuilt every line's
width on a resize that only changed its height.
"""

from __future__ import annotations

import copy
import threading

import pytest
from textual import events
from textual.widgets import Tree

from engine import load_bytes
from engine.examples import generate
from engine.session import DebugSession
from soak import examples
from tui.app import CgtuiApp
from tui.widgets.graph_tree import GraphTree
from tui.widgets.panels import FdPanel
from tui_helpers import message_of


def app_of(kind: str, size: int) -> CgtuiApp:
    return CgtuiApp(DebugSession(load_bytes(generate(kind, size).encode(), f"(example {kind})")), watch_file=False)


def count(monkeypatch, cls, name: str) -> list:
    calls: list = []
    real = getattr(cls, name)

    def counted(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


async def test_j_builds_hundreds_of_lines_with_one_layout(monkeypatch):
    app = app_of("dag", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        await pilot.press("f", "f", "space")  # the output collapsed; the step's node is deep and unbuilt
        await pilot.pause()
        lines = len(tree._tree_nodes)
        layouts = count(monkeypatch, Tree, "_invalidate")
        await pilot.press("j")
        await pilot.pause()
        step = app.session.current
        assert tree.cursor_node.data.name == step.parent
        assert len(tree._tree_nodes) - lines > 200, len(tree._tree_nodes) - lines  # it did build lines
        assert len(layouts) <= 3


async def test_closing_the_editor_does_not_rebuild_the_tree_lines(monkeypatch):
    app = app_of("dag", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        tree.select_name("x0")
        await pilot.pause()
        builds = count(monkeypatch, Tree, "_build")
        height = tree.size.height
        await pilot.press("e")
        await pilot.pause()
        assert tree.size.height < height  # the editor took lines from it
        await pilot.press("escape")
        await pilot.pause()
        assert tree.size.height == height
        assert builds == []
        assert tree.cursor_node.data.name == "x0"
        # a change of width does work the widths out again (they depend on it)
        await pilot.resize_terminal(100, 40)
        await pilot.pause()
        assert builds


def mlp_with_params(layers: list[int]) -> CgtuiApp:
    """An MLP whose weights and biases are params (d trains them): thousands of names."""
    text = generate("mlp", layers=layers)
    names = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith(("  w", "  b"))]
    text += "params: [" + ", ".join(names) + "]\n"
    return CgtuiApp(DebugSession(load_bytes(text.encode(), "(example mlp)")), watch_file=False)


class Gate:
    """Wraps ``session.plan_descent``: records the thread it runs on and holds it until opened."""

    def __init__(self, session: DebugSession) -> None:
        self.real = session.plan_descent
        self.threads: list[threading.Thread] = []
        self.started, self.open = threading.Event(), threading.Event()
        session.plan_descent = self

    def __call__(self, *args, **kwargs):
        self.threads.append(threading.current_thread())
        self.started.set()
        assert self.open.wait(30)
        return self.real(*args, **kwargs)


async def settle(pilot, app) -> None:
    for _ in range(200):
        await pilot.pause(0.05)
        if not any(w.is_running for w in app.workers):
            return
    raise AssertionError("a worker is still running")


async def test_d_on_a_big_graph_works_in_a_worker_keys_wait_and_esc_cancels():
    app = mlp_with_params([40, 40, 1])
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        assert len(session.graph.names) > FdPanel.INLINE_LIMIT
        await pilot.press("f", "f")
        inputs, walk = dict(session.inputs), session.walk
        gate = Gate(session)
        await pilot.press("d")
        assert gate.started.wait(10)
        assert gate.threads != [threading.main_thread()]
        assert "Working out a descent step" in message_of(app)
        await pilot.press("p")  # waits for it
        assert session.position == session.total and "press p again once it is done" in message_of(app)
        await pilot.press("escape")
        assert "Descent step cancelled: nothing changed." in message_of(app)
        gate.open.set()
        await settle(pilot, app)
        assert session.inputs == inputs and session.walk is walk and session.descent == []
        # and once more, to its end
        gate.open.set()
        await pilot.press("d")
        await settle(pilot, app)
        assert len(session.descent) == 2 and session.inputs != inputs
        text = message_of(app)
        assert text.startswith("Descent step 1 with α = 0.1: w1_0_0 ")
        assert f"and {len(session.graph.params) - 6} more; L " in text


def count_layouts(monkeypatch) -> list:
    """Every refresh that asks for the screen to be laid out again: (widget, where)."""
    from textual.widget import Widget

    layouts: list = []
    real = Widget.refresh

    def refresh(self, *regions, repaint=True, layout=False, recompose=False):
        if layout:
            layouts.append(type(self).__name__)
        return real(self, *regions, repaint=repaint, layout=layout, recompose=recompose)

    monkeypatch.setattr(Widget, "refresh", refresh)
    return layouts


@pytest.mark.parametrize("kind", ["chain", "dag"])
async def test_a_step_mid_pass_lays_nothing_out(monkeypatch, kind):
    """A step redraws the step panel, the transcript and what changed in the tree, in one frame: the
    transcript has no scroll range to grow, a panel whose text keeps its height keeps its place, and
    the step panel keeps the height of the pass's tallest step (the DAG's long names wrap a step to
    3 lines, the next to 4)."""
    app = app_of(kind, 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        session = app.session
        for target in (session.n_forward // 2, session.n_forward + session.n_backward // 2):
            app._move(lambda target=target: session._move(target))
            await pilot.press("n", "p")  # each step's height seen once
            await pilot.pause()
            layouts = count_layouts(monkeypatch)
            await pilot.press("n", "p", "n", "p", "n")
            await pilot.pause()
            assert layouts == []
            assert session.position == target + 1
            transcript = app.query_one("#transcript").render_line(app.query_one("#transcript").size.height - 1).text
            assert transcript.startswith(f"{session.position:>3}  "), transcript  # the latest step, last
            monkeypatch.undo()


async def test_the_mouse_wheel_looks_back_in_the_transcript_and_a_step_returns_to_the_latest():
    from tui_helpers import widget_text

    app = app_of("chain", 200)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        assert "200  n199 = " in widget_text(app, "#transcript")
        transcript = app.query_one("#transcript")
        for _ in range(5):  # the mouse wheel, five notches up
            transcript.post_message(events.MouseScrollUp(transcript, 1, 1, 0, -1, 0, False, False, False))
        await pilot.pause()
        text = widget_text(app, "#transcript")
        assert "200  n199 = " not in text and "190  n189 = " in text, text
        await pilot.press("n")
        text = widget_text(app, "#transcript")
        assert "backward pass, from ∂n199/∂n199 = 1" in text and "200  n199 = " in text, text


async def test_the_step_panel_names_a_few_params_not_thousands():
    """At the end of the backward pass the panel offers d: it named every parameter (92,000 on an
    MLP 300-300-1, wrapped again on every redraw: seconds a key)."""
    from tui_helpers import widget_text

    app = mlp_with_params([40, 40, 1])
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        text = " ".join(widget_text(app, "#step").replace("│", " ").split())
        more = len(app.session.graph.params) - 6
        assert f"d: one step of gradient descent on w1_0_0, w1_0_1, w1_0_2, w1_0_3, b1_0, w1_1_0 and {more} more" in text


async def test_a_step_that_lengthens_the_detail_line_leaves_the_tree_alone(monkeypatch):
    """After f the output's line gains its gradient and its detail line wraps to two lines: the
    detail keeps room for two, so the tree keeps its size, and no text view asks for a layout."""
    app = app_of("chain", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        tree = app.query_one(GraphTree)
        size = tree.size
        builds = count(monkeypatch, Tree, "_build")
        layouts = count_layouts(monkeypatch)
        await pilot.press("n")
        await pilot.pause()
        assert "∂n4999/∂n4999 = 1" in app.query_one("#detail").render().plain
        await pilot.press("p")
        await pilot.pause()
        assert tree.size == size and builds == []
        assert "TextView" not in layouts, layouts


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("kind", ["lecture", "chain", "dag"])
async def test_crossing_into_the_backward_pass_lays_nothing_out(monkeypatch, kind, size):
    """After f, n crosses into the backward pass and p back: the step panel was sized for the steps on
    both sides of the boundary when f got there, so no key there changes a panel's height (each change
    laid the screen out again: two more frames a key, three where the tree scrolls; #12)."""
    from tui_helpers import make_app

    app = make_app(watch_file=False) if kind == "lecture" else app_of(kind, 5000)
    async with app.run_test(size=size) as pilot:
        session = app.session
        await pilot.press("f")
        await pilot.pause()
        step = app.query_one("#step")
        height = step.region.height
        layouts = count_layouts(monkeypatch)
        for key in ("n", "p", "n", "p", "n"):
            await pilot.press(key)
            await pilot.pause()
            assert step.region.height == height
        assert session.position == session.n_forward + 1
        assert "flows into" in app.query_one("#step StepPanel").render().plain  # the backward step is drawn
        assert layouts == []


def test_the_step_across_the_boundary_leaves_the_session_alone():
    """The step panel measures the step on the other side of the pass boundary on a copy of the session."""
    from tui.widgets.panels import across_the_boundary, step_text

    session = DebugSession(load_bytes(generate("dag", 50).encode(), "(example dag)"))
    session.set_predicting(True)
    assert across_the_boundary(session) is None  # at the start
    for position, other in ((session.n_forward, session.n_forward + 1), (session.n_forward + 1, session.n_forward)):
        session._move(position)

        def state() -> dict:  # every attribute, and a copy of each container (a change in place shows)
            return {k: copy.copy(v) if isinstance(v, (dict, set, list)) else v
                    for k, v in vars(session).items() if k != "_current"}

        before = state()
        across = across_the_boundary(session)
        assert across.position == other and across is not session
        step_text(across)
        assert state() == before
        assert session.position == position and session.pending is None
    assert across_the_boundary(session).pending is None  # (back from the first backward step asks nothing)


@pytest.mark.parametrize("kind", ["chain", "dag"])
async def test_the_first_steps_from_the_start_lay_nothing_out(monkeypatch, kind):
    """The step panel's first text (the inputs, taller than a step on a graph of many inputs) is
    measured once the panel has a width, so the first n and p keep its height (each laid the screen
    out again: the first two keys of every graph took 50-130 ms in tmux; #12)."""
    app = app_of(kind, 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        layouts = count_layouts(monkeypatch)
        await pilot.press("n", "p", "n", "p")
        await pilot.pause()
        assert app.session.position == 0
        assert "Inputs: " in app.query_one("#step StepPanel").render().plain
        assert layouts == []


async def test_a_big_graph_s_backward_index_is_built_and_frozen_on_opening():
    """The tape's edges by parent and each edge's node (what each backward step reads) are built before
    the graph is frozen: built by the first step into the backward pass, in the key, they were walked
    by every full collection after."""
    import gc

    from engine.tape import tape_of

    app = app_of("dag", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tape = tape_of(app.session.graph)
        index, by_name, nodes = (vars(tape).get(name) for name in ("edges_of_parent", "edges_of_name", "edge_node"))
        assert index is not None and by_name is not None and nodes is not None
        tracked = {id(o) for o in gc.get_objects()}  # what a collection walks (frozen objects are left out)
        assert id(index) not in tracked and id(by_name) not in tracked and id(nodes) not in tracked
        await pilot.press("f", "n")
        assert tape.edges_of_parent is index and tape.edges_of_name is by_name and tape.edge_node is nodes


async def test_a_step_writes_out_one_transcript_line(monkeypatch):
    """A step moves every transcript line on screen up by one: only the new line is written out
    (15 forward steps of a long expression were written out again on every key; #12)."""
    from tui.widgets import panels

    app = app_of("chain", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        real, written = panels.transcript_line, []

        def counted(session, line):
            written.append(line)
            return real(session, line)

        monkeypatch.setattr(panels, "transcript_line", counted)
        for key in ("n", "n", "p"):
            await pilot.press(key)
            await pilot.pause()
        transcript = app.query_one("#transcript")
        assert transcript.size.height > 10
        nf = app.session.n_forward
        assert written == [nf, nf + 1, nf + 2], written  # the heading, two backward steps; nothing on p
        assert "∂n4999/∂n4998 = " in transcript.render_line(transcript.size.height - 1).text


async def test_the_finite_difference_panel_keeps_its_height_while_it_nudges(monkeypatch):
    """On a big graph a move onto a variable not nudged yet shows "nudging …" until the worker ends:
    under the words the panel keeps its height (it shrank to one line, and grew back with the
    estimates: the screen laid out twice, and the frames of the first layout fell into the next key)."""
    app = app_of("chain", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await settle(pilot, app)
        panel = app.query_one(FdPanel)
        assert "one-sided estimate" in panel.render().plain
        height = panel.region.height
        gate, real = threading.Event(), app.session.fd

        def held(name):
            if name == "x":
                assert gate.wait(30)
            return real(name)

        monkeypatch.setattr(app.session, "fd", held)
        layouts = count_layouts(monkeypatch)
        app.select("x")
        await pilot.pause()
        assert panel.render().plain.startswith("nudging x by h = 0.001 …")
        assert panel.region.height == height
        assert "FdPanel" not in layouts, layouts
        gate.set()
        await settle(pilot, app)
        assert "one-sided estimate" in panel.render().plain


async def test_a_big_graph_s_tree_lines_are_frozen_once_drawn():
    """The tree lays its lines out when it is first drawn, after the graph was frozen on opening: the
    100k chain's 8,000 lines, their paths and the lines drawn were walked by every full collection after
    (6-17 ms of CPU each; 32 ms inside a step after f in tmux, #12)."""
    import gc

    app = app_of("chain", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        tree = app.query_one(GraphTree)
        lines = tree._tree_lines_cached
        assert lines is not None and len(lines) > 1000
        tracked = {id(o) for o in gc.get_objects()}  # what a collection walks (frozen objects are left out)
        assert id(lines) not in tracked and id(lines[-1]) not in tracked and id(lines[-1].path) not in tracked


async def test_a_step_works_out_the_labels_of_the_lines_it_can_change_only(monkeypatch):
    """After f on a chain, n and p change two of the 30-odd tree lines on screen (the output's and its
    operand's): only those labels are worked out again (every line's was, 40 µs each on the 100k chain, #12)."""
    app = app_of("chain", 5000)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await pilot.pause()
        tree = app.query_one(GraphTree)
        on_screen = [n for n, _ in tree._drawn.values() if n.line >= 0]
        assert len(on_screen) > 25
        labels = count(monkeypatch, GraphTree, "_label")
        for key in ("n", "p", "n"):
            labels.clear()
            await pilot.press(key)
            await pilot.pause()
            assert len(labels) <= 6, (key, len(labels))  # 2 checked, 2 drawn again (and a margin)
        assert tree._drawn  # (drawn from these labels)


@pytest.mark.parametrize("kind", ["chain", "dag"])
async def test_every_tree_line_on_screen_reads_as_the_session_says_after_any_keys(kind):
    """The tree checks only the lines a short move can change: after every key of a random run (steps,
    jumps, breakpoints, the notation, predict mode, the cursor), each line on screen is drawn with the
    label the session gives it now."""
    import random

    from tui.widgets.graph_tree import _same

    app = app_of(kind, 40)  # f, r, c and t move fewer steps than GraphTree.FEW_STEPS, or more
    keys = ["n"] * 8 + ["p"] * 6 + ["f", "r", "c", "t", "b", "o", "down", "up", "l", "full_stop", "j"]
    rng = random.Random(12)
    run = [rng.choice(keys) for _ in range(examples(120))]  # 120 keys in a soak (tests/soak.py), 30 here
    run += [key for key in sorted(set(keys)) if key not in run]  # then each key not drawn yet
    run += ["g", "n", "escape", "n", "p", "escape", "g", "n", "p"]
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        for step, key in enumerate(run):
            await pilot.press(key)
            await pilot.pause()
            top = tree.scroll_offset.y
            shown = [(node, label) for node, label in tree._drawn.values() if top <= node.line < top + tree.size.height]
            assert len(shown) > 10
            for node, label in shown:
                assert _same(tree._label(node), label), (step, key, node.data, label.plain, tree._label(node).plain)


async def test_a_breakpoint_and_the_step_after_an_edit_redraw_the_lines_they_change():
    """Two changes no move names, which the tree's line-skipping must treat as "check every line": a
    breakpoint set on the cursor's line (its ■ shows at once), and the step after an edit (every
    "old → new" goes, on lines the step does not reach)."""
    from tui.widgets.graph_tree import _same

    app = app_of("chain", 40)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)

        def stale() -> list[str]:
            top = tree.scroll_offset.y
            return [label.plain for node, label in tree._drawn.values()
                    if top <= node.line < top + tree.size.height and not _same(tree._label(node), label)]

        await pilot.press("n", "n", "down", "down", "b")
        await pilot.pause()
        assert app.session.breakpoints and not stale()
        await pilot.press("f")
        tree.select_name(app.session.graph.inputs[0].name)
        await pilot.press("e", "ctrl+u", "4", "enter")
        await settle(pilot, app)
        assert app.session.value_changes
        await pilot.press("n")
        await pilot.pause()
        assert not app.session.value_changes and not stale()
