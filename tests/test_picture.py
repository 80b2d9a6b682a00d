"""The picture view (v, issue #14 §1): the lecture's left-to-right drawing, in the app (Pilot).

Positions are read from what the widget drew (its text on the screen and where it put each
name), and compared with what the graph says: inputs left of the nodes that use them, values
only after their step, gradients only once they arrive.
"""

from __future__ import annotations

import re

import pytest

from engine.examples import chain
from tui.widgets.graph_tree import GraphTree
from tui.widgets.picture import PictureView
from paths import LECTURE as LECTURE_PATH
from tui_helpers import app_from_text, make_app, widget_text

BOXES = {"a": "a = 5", "b": "b = 3", "c": "c = 2", "u": "u = b·c", "v": "v = a + u", "J": "J = 3·v"}
"""How each name's own line reads in the picture of the lecture graph."""


def picture(app) -> str:
    return widget_text(app, "#picture")


def where(app, name: str) -> tuple[int, int]:
    """(column, row) of ``name``'s own line in the picture, found in the text on the screen."""
    lines = picture(app).split("\n")
    hits = [(line.find(BOXES[name]), y) for y, line in enumerate(lines) if BOXES[name] in line]
    assert len(hits) == 1, (name, hits, "\n".join(lines))  # drawn once
    return hits[0]


def above(app, name: str) -> str:
    """What the picture shows above a node's box (its value): the row two above its line."""
    x, y = where(app, name)
    line = picture(app).split("\n")[y - 2]
    return line[x: x + 12].split(" ")[0] if len(line) > x else ""


def under(app, name: str) -> str:
    """What the picture shows under a name (its gradient)."""
    x, y = where(app, name)
    below = 2 if name in "uvJ" else 1
    lines = picture(app).split("\n")
    line = lines[y + below] if y + below < len(lines) else ""
    return re.match(r"[^─━│┃┣├┤┫┌┐└┘┏┓┗┛┼╋▶]*", line[x:]).group(0).split("  ")[0].rstrip()


async def test_v_shows_the_lecture_picture_whole_at_80_by_24():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.view == "tree"
        await pilot.press("v")
        assert app.view == "picture"
        view = app.query_one(PictureView)
        assert view.display and app.focused is view
        assert not app.query_one(GraphTree).display or not app.query_one(GraphTree).region.width
        text = picture(app)
        assert "more" not in text  # it fits: no header, no count
        pos = {name: where(app, name) for name in BOXES}
        graph = app.session.graph
        # inputs left of every node that uses them; every node left of its consumers
        for node in graph.nodes:
            for operand in node.operands:
                assert pos[operand][0] < pos[node.name][0], (operand, node.name)
        assert pos["a"][1] < pos["b"][1] < pos["c"][1]  # a, b, c from the top, as on the page
        # every arrowhead points right, into a box
        lines = text.split("\n")
        heads = [(x, y) for y, line in enumerate(lines) for x, ch in enumerate(line) if ch == "▶"]
        assert len(heads) == 3  # into u, v and J
        for x, y in heads:
            assert lines[y][x + 1] in "│║"
        assert "◀" not in text.replace("◀ …", "")
        await pilot.press("v")
        assert app.view == "tree" and app.focused is app.query_one(GraphTree)
        assert not view.display


async def test_values_and_gradients_appear_only_after_their_steps():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        assert [above(app, n) for n in "uvJ"] == ["?", "?", "?"]
        assert "∂" not in picture(app)
        await pilot.press("n")
        assert [above(app, n) for n in "uvJ"] == ["6", "?", "?"]
        await pilot.press("n", "n")
        assert [above(app, n) for n in "uvJ"] == ["6", "11", "33"]
        assert "∂" not in picture(app)
        await pilot.press("n")  # ∂J/∂v = 3 (and the seed ∂J/∂J = 1)
        assert under(app, "v") == "∂J/∂v = 3" and under(app, "J") == "∂J/∂J = 1"
        assert under(app, "a") == "" and under(app, "u") == ""
        await pilot.press("f")
        assert {n: under(app, n) for n in "abcuv"} == {
            "a": "∂J/∂a = 3", "b": "∂J/∂b = 6", "c": "∂J/∂c = 9", "u": "∂J/∂u = 3", "v": "∂J/∂v = 3"}
        await pilot.press("r")
        assert [above(app, n) for n in "uvJ"] == ["?", "?", "?"] and "∂" not in picture(app)


async def test_the_current_step_is_a_double_box_and_its_edge_heavy():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v", "n")
        x, y = where(app, "u")
        lines = picture(app).split("\n")
        assert lines[y][x - 1] == "║" and lines[y - 1][x - 1] == "╔"  # u is being evaluated
        assert "━" not in picture(app)
        x, y = where(app, "v")
        assert picture(app).split("\n")[y][x - 1] == "│"
        await pilot.press("f", "n", "n")  # backward 2/5: ∂J/∂a = ∂J/∂v · ∂v/∂a, the edge a → v
        lines = picture(app).split("\n")
        xa, ya = where(app, "a")
        assert lines[ya][xa - 1] == "●"  # the input receiving the gradient
        assert "━" in lines[ya] and "┓" in lines[ya]  # a's edge, drawn heavy toward v
        xv, yv = where(app, "v")
        assert lines[yv][xv - 3] == "┣" and lines[yv][xv - 2] == "▶"


async def test_arrows_move_the_cursor_in_reading_order_and_the_panels_follow():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        assert app.selected == "a"  # the cursor starts on the first input
        seen = []
        for _ in range(6):
            await pilot.press("down")
            seen.append(app.selected)
        assert seen == ["b", "c", "u", "v", "J", "J"]
        for _ in range(6):
            await pilot.press("up")
        assert app.selected == "a"
        tree = app.query_one(GraphTree)
        assert tree.cursor_node.data.name == "a"  # the tree's cursor went with it
        assert app.query_one("#fd").border_title == "Finite differences: a"
        await pilot.press("down", "down", "down", "down", "down", "down")
        assert app.selected == "J"
        # ← → still step, as in the tree; enter edits the input under the cursor
        await pilot.press("right", "right")
        assert app.session.position == 2
        await pilot.press("left")
        assert app.session.position == 1
        for _ in range(3):
            await pilot.press("up")
        assert app.selected == "c"
        await pilot.press("enter")
        assert app._editing()
        await pilot.press("escape")
        assert app.focused is app.query_one(PictureView)
        # b and t act on the node under the picture's cursor
        await pilot.press("b")
        assert app.session.breakpoints == {"c"}
        await pilot.press("j")  # the current step's node: u (forward 1/3)
        assert app.selected == "u"


async def test_the_picture_follows_the_trees_cursor_side_by_side():
    app = make_app()
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("v")
        tree, view = app.query_one(GraphTree), app.query_one(PictureView)
        assert tree.region.width > 20 and view.region.width > 48
        assert tree.region.x < view.region.x  # the tree, then the picture
        assert all(BOXES[n] in picture(app) for n in BOXES)
        tree.focus()
        await pilot.press("down", "down")  # a, u, b in the tree's order
        assert app.selected == "b"
        x, y = where(app, "b")
        assert "b" in view.shown.boxes and view.shown.boxes["b"][1] == y


async def test_set_view_is_the_way_in_for_other_modes():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        app.set_view("picture")
        await pilot.pause()
        assert app.view == "picture" and app.query_one(PictureView).display
        with pytest.raises(ValueError):
            app.set_view("sideways")
        app.set_view("tree")
        await pilot.pause()
        assert app.view == "tree" and not app.query_one(PictureView).display
    # before the app runs (a URL's view=picture, --view picture): shown once the screen is built
    app = make_app()
    app.set_view("picture")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.focused is app.query_one(PictureView) and "J = 3·v" in picture(app)


async def test_a_big_graph_is_laid_out_in_a_worker_and_the_view_pans_with_the_cursor():
    app = app_from_text(chain(3000))  # over PictureView's INLINE_NAMES: a worker lays it out
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        view = app.query_one(PictureView)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert view.lay is not None
        text = picture(app)
        header = text.split("\n")[0]
        # the columns that do not fit are counted, not drawn
        assert re.search(r"◀ … [\d,]+ more", header) and "of 3,001" in header
        assert "n2999 = tanh(n2998)" in text
        assert len(view.shown.boxes) < 10  # drawn: what is on screen, not 3,000 boxes
        await pilot.press("n", "n", "n", "j")  # the current step's node: n2, far to the left
        assert app.selected == "n2"
        assert view.shown.first <= view.lay.items[view.lay.where["n2"]].column <= view.shown.last
        assert "n2 = tanh(n1)" in picture(app)
        assert "n2999" not in picture(app)
        await pilot.press("up", "up", "up")  # n1, n0, x
        assert app.selected == "x"
        assert "x = 0.5" in picture(app)
        assert "◀" not in picture(app).split("\n")[0]  # the first column is in view


async def test_breakpoints_and_warnings_are_marked_as_in_the_tree():
    app = app_from_text("inputs: {a: 0, b: 2}\nnodes:\n  u: log(a)\n  v: u * b\n  J: v + b\n")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("v", "down", "down")  # a, b, u
        assert app.selected == "u"
        await pilot.press("b")
        lines = picture(app).split("\n")
        row = next(y for y, line in enumerate(lines) if "u = log(a)" in line)
        x = lines[row].index("u = log(a)")
        assert lines[row - 2][x:].startswith("⊙ ? ")  # the breakpoint, before u's value is known
        await pilot.press("n")  # u = log(0) = -inf: the warning starts here
        lines = picture(app).split("\n")
        assert lines[row - 2][x:].startswith("⊙ -inf ⚠")


async def test_an_edit_shows_old_and_new_values_where_there_is_room():
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("v", "f", "down", "down", "enter")  # a, b, c: edit c
        await pilot.press("ctrl+u", "7", "enter")
        assert app.session.inputs["c"] == 7
        assert above(app, "u") == "6" and "6 → 21" in picture(app)
        assert "11 → 26" in picture(app) and above(app, "J") == "78"  # J's column has no room for "33 → "
        await pilot.press("n")  # the next step: the new numbers alone
        assert "→" not in picture(app).replace("──▶", "").replace("─▶", "")
        assert above(app, "u") == "21"


async def test_a_burst_of_keys_in_the_picture_acts_on_the_node_each_chose():
    """v ↓ ↓ e 8 enter sent at once (tmux send-keys, a paste): each ↑ moves on from where the
    one before left the cursor, and e edits c (the cursor's move is not a message that arrives
    after the keys behind it)."""
    from test_burst import burst

    app = make_app(watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await burst(app, pilot, "v", "down", "down", "e", "8", "enter")  # a, b, c
        assert app.selected == "c" and app.session.inputs["c"] == 8.0, app.message


async def test_a_shared_url_with_view_picture_opens_the_picture():
    """cgtui serve's ?view=picture reaches set_view (tui/browser.py applies it once the app is up)."""
    from engine import load_path
    from engine.session import DebugSession
    from paths import LECTURE
    from tui.browser import BrowserApp
    from tui.share import parse_share

    session = DebugSession(load_path(LECTURE))
    app = BrowserApp(session, parse_share("view=picture", session), watch_file=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.pause()
        assert app.view == "picture" and app.focused is app.query_one(PictureView)
        assert "J = 3·v" in picture(app)


def test_svg_with_view_picture_draws_the_picture(tmp_path):
    """cgtui FILE --svg OUT --step N --view picture: the handout shows the picture at step N."""
    from tui.cli import run

    out = tmp_path / "picture.svg"
    assert run([str(LECTURE_PATH), "--svg", str(out), "--step", "3", "--view", "picture"]) == 0
    svg = out.read_text()
    assert "u&#160;=&#160;b·c" in svg or "u = b·c" in svg
    assert "▶" in svg and "Graph: picture" in svg.replace("&#160;", " ")
