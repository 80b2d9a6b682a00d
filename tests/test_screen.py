"""#13's rough edges that cost a learner: where the cursor starts, following the steps, the tree's
lines, where c stops, the overlays, the estimates' digits."""

from __future__ import annotations

from tests.tui_helpers import LECTURE, make_app, message_of, screen_text, tree_line, widget_text
from tui.widgets.graph_tree import GraphTree


def panel_text(app, selector: str) -> str:
    """A panel's text inside its border, its wrapping undone."""
    return " ".join(" ".join(line.strip(" │╭╮╰╯─") for line in widget_text(app, selector).split("\n")).split())


async def test_the_cursor_starts_on_the_first_input():
    """On J the panel said "nothing evaluated yet" twice; on a it shows a's nudge from the start."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        tree = app.query_one(GraphTree)
        assert app.selected == "a" and tree.cursor_node.data.name == "a"
        fd = widget_text(app, "#fd")
        assert "Finite differences: a" in fd and "a: 5 → 5.001" in fd
        assert "a = 5" in widget_text(app, "#detail")
    app = make_app(LECTURE.parent / "logistic.yaml", watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.selected == "x1"  # the file's first input, on line 6
    from engine import load_bytes
    from engine.examples import dag
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    app = CgtuiApp(DebugSession(load_bytes(dag(2000).encode(), "dag")), watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.selected == "J"  # its inputs lie deep: the tree opens on the output, not scrolled away


async def test_follow_mode_moves_the_cursor_to_each_steps_node():
    app = make_app(watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(GraphTree)
        await pilot.press("n")
        assert app.selected == "a"  # not following: the cursor stays
        await pilot.press("l")
        assert "Follow mode" in message_of(app) and "follow (l)" in screen_text(app)
        assert app.selected == "u"  # at once, to the current step's node
        await pilot.press("n")
        assert app.selected == "v" and tree.cursor_node.data.name == "v"
        assert "Finite differences: v" in widget_text(app, "#fd")
        await pilot.press("f", "n", "n", "n")  # backward 3/5: ∂J/∂u
        assert app.selected == "u"
        await pilot.press("p")
        assert app.selected == "a"
        await pilot.press("up")  # the user may still look elsewhere until the next step
        assert app.selected == "v"
        await pilot.press("l")
        assert "Follow mode off" in message_of(app) and "follow (l)" not in screen_text(app)
        await pilot.press("n")
        assert app.selected == "v"


async def test_dot_shows_the_current_steps_node_inside_a_collapsed_line():
    app = make_app(watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(GraphTree)
        await pilot.press(".")
        assert "No step taken yet" in message_of(app)
        await pilot.press("n")  # u = b · c
        tree.primary["v"].collapse()  # u's line is hidden inside v's
        await pilot.pause()
        assert not any(line.lstrip("│├└─▼▶ ").startswith("u =") for line in widget_text(app, "#tree").split("\n"))
        await pilot.press(".")
        await pilot.pause()
        assert tree.cursor_node.data.name == "u" and app.selected == "u"
        assert "u = b · c = 6" in tree_line(app, "u")


async def test_tree_lines_read_as_the_lecture_with_one_mark_of_its_own_shape():
    """`v = 11   ∂J/∂v = 3   ← a + u` read as "3 ← a + u"; marks stacked (`▼ » ⊙ ○ u`) and were
    three similar circles. Now: `↓ v = a + u = 11   ∂J/∂v = 3`, one mark per line, ● ↓ ■."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        for name in ("u", "b"):
            tree.select_name(name)
            await pilot.pause()
            await pilot.press("b")
        await pilot.press("f", "n", "n", "n")  # backward 3/5: ∂J/∂v flows into u
        marks = {name: tree_line(app, name).lstrip("│├└─▼▶ ") for name in "Jvuabc"}
        assert marks["v"].startswith("↓ v = a + u = 11   ∂J/∂v = 3")
        assert marks["u"].startswith("● u = b · c = 6   ∂J/∂u = 3")  # the step's mark wins over its breakpoint
        assert marks["b"].startswith("■ b = 3")
        assert marks["J"].startswith("J = 3 · v = 33   ∂J/∂J = 1")
        for line in marks.values():
            assert sum(line.count(m) for m in "●↓■○⊙") <= 1, line
        tree.select_name("u")
        await pilot.pause()
        assert "■ breakpoint" in widget_text(app, "#detail")  # the breakpoint the ● hides in the tree


async def test_c_says_where_it_stopped_and_stops_on_the_first_node_from_the_start():
    """After c stopped on v's gradient the step panel still said only `forward 3/3 evaluating J`;
    from the start, c ran past a breakpoint on u, the first node."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        tree = app.query_one(GraphTree)
        tree.select_name("u")
        await pilot.pause()
        await pilot.press("b", "c")
        assert s.position == 0 and "Stopped at the breakpoint on u" in message_of(app)
        step = panel_text(app, "#step")
        assert "■ breakpoint on u: the next step (1/8) evaluates u" in step
        await pilot.press("n")
        assert s.position == 1 and "■ breakpoint" not in widget_text(app, "#step")
        await pilot.press("r", "c", "c")  # the second c goes on, to the end of the pass
        assert s.position == 3
        await pilot.press("b")  # u's breakpoint off
        tree.select_name("v")
        await pilot.pause()
        await pilot.press("b", "r", "c", "c")  # before v is evaluated, then before ∂J/∂v's first contribution
        assert s.position == 3 and "Stopped at the breakpoint on v" in message_of(app)
        step = panel_text(app, "#step")
        assert "forward 3/3" in step and "■ breakpoint on v: the next step (4/8) is the first contribution to ∂J/∂v" in step
        await pilot.press("c")
        assert s.at_end


async def test_overlays_leave_the_title_and_a_key_line_of_their_own():
    """The help, why and sweep pages hid the title and the key line (which then listed keys
    that do nothing while a page is open)."""
    for keys in (["question_mark"], ["f", "f", "y"], ["f", "f", "s"]):
        app = make_app(watch_file=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*keys)
            for _ in range(3):
                await pilot.pause()
            assert app.screen is not app.screen_stack[0], keys
            lines = screen_text(app).split("\n")
            assert lines[0].startswith(" cgtui  Derivatives with a computation graph"), (keys, lines[0])
            assert "esc Close" in lines[-1] and "Next" not in lines[-1], (keys, lines[-1])


def test_estimates_show_the_digits_the_arithmetic_supports():
    """`6.000000000000888` beside the lecture's "≈ 6": the tail past EPS·|J|/h ≈ 7e-12 is rounding."""
    from engine import text as tx
    from engine.session import DebugSession
    from engine import load_path
    from paths import LECTURE
    from tui.widgets.panels import fd_text

    session = DebugSession(load_path(LECTURE))
    session.finish(), session.finish()
    assert session.fd("b").forward == 6.000000000000888  # the arithmetic itself is unchanged
    text = " ".join(fd_text(session, "b", width=200).plain.split())
    assert "(33.006 − 33) / (3.001 − 3) = 6.000000000001 " in text
    assert text.endswith("rounded: the tail is float rounding (z: every digit)")
    full = " ".join(fd_text(session, "b", width=200, full=True).plain.split())
    assert "= 6.000000000000888" in full and "(z: rounded)" in full
    assert tx.supported(1.0, 1e-13) == "1" and tx.supported(0.5, 1e-3) == "0.5"
    assert tx.supported(-2.9999999999991, 7e-12) == "-2.999999999999"


async def test_z_shows_every_digit_and_rounds_again():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.press("f", "f")
        assert "= 6.000000000001" in panel_text(app, "#fd")
        await pilot.press("z")
        assert "= 6.000000000000888" in panel_text(app, "#fd") and "every digit" in message_of(app)
        await pilot.press("z")
        assert "= 6.000000000001" in panel_text(app, "#fd")


async def test_the_new_keys_still_type_into_the_editor():
    """. is the decimal point: in the field it types, it does not jump (nor l and z act)."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e", "ctrl+u", "0", "full_stop", "5", "l", "z")
        assert app.query_one("#editor-input").value == "0.5lz"
        await pilot.press("backspace", "backspace", "enter")
        assert app.session.inputs["a"] == 0.5 and not app.full_digits
        assert not app.query_one(GraphTree).following
