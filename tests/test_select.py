"""One owner of the variable under the cursor: the tree's cursor; any view moves it with ``app.select``."""

from __future__ import annotations

import pytest

from tui.widgets.graph_tree import GraphTree
from tui_helpers import app_from_text, make_app, widget_text


async def test_select_moves_the_cursor_and_every_view_follows():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.select("c")
        await pilot.pause()
        tree = app.query_one(GraphTree)
        assert tree.cursor_node.data.name == "c" == app.cursor_name == app.selected
        assert "nudge c" in widget_text(app, "#fd")
        await pilot.press("b")  # a key acting on the cursor's node acts on the selected one
        assert "c" in app.session.breakpoints
        with pytest.raises(KeyError):
            app.select("nosuchname")
        assert app.selected == "c"


async def test_on_a_heading_the_panels_keep_the_last_variable_and_keys_ask_for_a_node():
    app = app_from_text("inputs:\n  a: 1\n  z: 4\nnodes:\n  w: z * 2\n  J: a + 1\noutput: J\n")  # "not used by J"
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        app.select("a")
        await pilot.pause()
        headings = [line for line in range(tree.last_line + 1)
                    if tree.get_node_at_line(line).data is not None and tree.get_node_at_line(line).data.name is None]
        assert headings, "no heading line"
        tree.cursor_line = headings[0]
        await pilot.pause()
        assert app.cursor_name is None and app.selected == "a"
        await pilot.press("b")
        assert "Move the cursor to a node" in widget_text(app, "#message")
