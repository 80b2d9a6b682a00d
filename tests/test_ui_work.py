"""The UI thread does a key's work once (#11 item 8, #12): counted, never timed.

On a 100k-node graph j took 104-143 ms and closing the editor 104-119 ms, because Textual's
Tree laid itself out again for every line added (8,000 for one j) and rebuilt every line's
width on a resize that only changed its height.
"""

from __future__ import annotations

from textual.widgets import Tree

from engine import load_bytes
from engine.examples import generate
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.widgets.graph_tree import GraphTree


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


async def test_j_builds_thousands_of_lines_with_one_layout(monkeypatch):
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
        assert len(tree._tree_nodes) - lines > 1000  # it did build the lines
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
