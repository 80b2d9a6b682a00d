"""Pilot tests of the app: every binding, against the lecture page's numbers.

The expected numbers come from the lecture page (../shared/seed/lecture-notes.md):
u = 6, v = 11, J = 33; ∂J/∂v = 3, ∂J/∂a = 3, ∂J/∂u = 3, ∂J/∂b = 6, ∂J/∂c = 9;
b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002, J: 33 → 33.006.
"""

from __future__ import annotations

import re

import pytest
from textual.widgets import Input

from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree
from tui.widgets.help import HelpScreen
from tui_helpers import LECTURE, app_from_text, make_app, screen_text, tree_line, tree_lines, widget_text

# The page, step by step: (what the step panel says, the name whose value/gradient appears)
FORWARD = [
    ("u = b · c = 3 × 2 = 6", "u", 6),
    ("v = a + u = 5 + 6 = 11", "v", 11),
    ("J = 3 · v = 3 × 11 = 33", "J", 33),
]
BACKWARD = [
    ("∂J/∂v = 3", "v", 3),
    ("∂J/∂a = ∂J/∂v · ∂v/∂a = 3 × 1 = 3", "a", 3),
    ("∂J/∂u = ∂J/∂v · ∂v/∂u = 3 × 1 = 3", "u", 3),
    ("∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6", "b", 6),
    ("∂J/∂c = ∂J/∂u · ∂u/∂c = 3 × 3 = 9", "c", 9),
]
LOCAL = {2: "local ∂v/∂a = 1", 4: "local ∂u/∂b = c = 2", 5: "local ∂u/∂c = b = 3"}


def value_in(line: str, name: str) -> str:
    m = re.search(rf"\b{name} = (?:[^=∂]*? = )?(\S+)", line)  # after the expression, if any: v = a + u = 11
    assert m, line
    return m.group(1)


def grad_in(line: str, name: str) -> str | None:
    m = re.search(rf"∂J/∂{name} = (\S+)", line)
    return m.group(1) if m else None


async def test_whole_lecture_forward_then_backward_nothing_early():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        # the start: inputs shown, nothing else
        assert (s.position, s.total) == (0, 8)
        for name, value in (("a", "5"), ("b", "3"), ("c", "2")):
            assert value_in(tree_line(app, name), name) == value
        for name in "uvJ":
            assert value_in(tree_line(app, name), name) == "?"
        assert "∂J/∂" not in widget_text(app, "#tree")

        for k, (text, name, value) in enumerate(FORWARD, start=1):
            await pilot.press("n")
            assert s.progress() == f"forward {k}/3"
            step = widget_text(app, "#step")
            assert f"forward {k}/3" in step and text in step
            assert value_in(tree_line(app, name), name) == str(value)
            assert s.value(name) == value
            assert "●" in tree_line(app, name)
            # later nodes are still hidden
            for later_text, later, _ in FORWARD[k:]:
                assert value_in(tree_line(app, later), later) == "?"
            assert text in widget_text(app, "#transcript")
            assert "∂J/∂" not in widget_text(app, "#tree")

        for k, (text, name, value) in enumerate(BACKWARD, start=1):
            await pilot.press("n")
            assert s.progress() == f"backward {k}/5"
            step = widget_text(app, "#step")
            assert f"backward {k}/5" in step and text in step
            if k in LOCAL:
                assert LOCAL[k] in step
            if k == 1:
                assert "local ∂J/∂v = 3" in step and "∂J/∂J = 1" in step
            assert grad_in(tree_line(app, name), name) == str(value)
            assert "●" in tree_line(app, name)
            for _, later, _ in BACKWARD[k:]:
                if later not in {n for _, n, _ in BACKWARD[:k]}:
                    assert grad_in(tree_line(app, later), later) is None
        assert s.at_end
        assert "Backward pass done" in widget_text(app, "#step")
        # stepping past the end changes nothing and says so
        await pilot.press("n")
        assert s.position == 8
        assert not app.check_action("next", ())  # greyed out in the footer


async def test_step_back_to_the_start_hides_again():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        await pilot.press(*"nnnnnnnn")
        assert s.at_end
        await pilot.press("p")
        assert s.position == 7
        assert grad_in(tree_line(app, "c"), "c") is None
        assert grad_in(tree_line(app, "b"), "b") == "6"
        for _ in range(7):
            await pilot.press("p")
        assert s.position == 0
        assert value_in(tree_line(app, "u"), "u") == "?"
        assert "∂J/∂" not in widget_text(app, "#tree")
        await pilot.press("p")
        assert s.position == 0
        assert not app.check_action("previous", ())


async def test_finish_runs_each_pass_and_reset_returns():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        await pilot.press("n", "f")
        assert s.position == 3 and "Forward pass done: J = 33" in widget_text(app, "#step")
        await pilot.press("f")
        assert s.at_end
        assert grad_in(tree_line(app, "c"), "c") == "9"
        await pilot.press("r")
        assert s.position == 0
        assert value_in(tree_line(app, "J"), "J") == "?"


async def test_arrow_keys_step_even_when_the_tree_is_wider_than_its_pane():
    long = " + ".join(f"x{i} * x{i}" for i in range(12))
    text = "inputs:\n" + "".join(f"  x{i}: {i}\n" for i in range(12)) + f"nodes:\n  s: {long}\n  J: 2 * s\n"
    app = app_from_text(text)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(GraphTree)
        assert tree.has_focus
        await pilot.press("right", "right")
        assert app.session.position == 2
        assert tree.scroll_x == 0
        await pilot.press("left")
        assert app.session.position == 1
        # the expression was shortened, the numbers kept whole
        line = tree_line(app, "s")
        assert "…" in line
        assert value_in(line, "s") == str(sum(i * i for i in range(12)))


async def test_edit_a_to_7_recomputes_everything_and_keeps_the_position():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        await pilot.press(*"nnnnnnnn")
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        assert isinstance(app.focused, Input)
        await pilot.press("ctrl+u", "7", "enter")
        assert s.inputs["a"] == 7
        assert s.position == 8
        assert s.value("J") == 39  # 3 * (7 + 3 * 2)
        assert s.walk.grads["b"] == 6  # ∂J/∂b = 3c, unchanged
        line = tree_line(app, "J")
        assert "33 → 39" in line
        assert grad_in(tree_line(app, "b"), "b") == "6"
        assert not app.query_one(InputEditor).display
        assert app.query_one(GraphTree).has_focus
        await pilot.press("p")
        assert "→" not in tree_line(app, "J")  # old → new lasts until the next step


async def test_an_edit_never_reveals_a_number_not_yet_due():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")  # u = 6 revealed, v and J not
        app.query_one(GraphTree).select_name("b")
        await pilot.press("e", "ctrl+u", "4", "enter")
        assert "6 → 8" in tree_line(app, "u")
        assert value_in(tree_line(app, "v"), "v") == "?"
        assert value_in(tree_line(app, "J"), "J") == "?"


@pytest.mark.parametrize("bad", ["abc", "1e", "", "nan", "inf", "1e999", "-"])
async def test_invalid_edits_are_refused_and_keep_the_old_value(bad):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.press("e", "ctrl+u", *bad, "enter")
        assert app.session.inputs["b"] == 3
        assert app.query_one(InputEditor).display  # still open to correct
        assert "b stays 3" in widget_text(app, "#message")
        await pilot.press("escape")
        assert not app.query_one(InputEditor).display
        assert app.session.inputs["b"] == 3


async def test_escape_cancels_an_edit():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("c")
        await pilot.press("e", "ctrl+u", "9", "escape")
        assert app.session.inputs["c"] == 2
        assert "cancelled" in widget_text(app, "#message")
        assert app.query_one(GraphTree).has_focus


async def test_letters_typed_into_the_field_do_not_step():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "n", "p", "f", "r", "q", "e", "right", "left")
        assert app.session.position == 0
        assert app.query_one(Input).value == "npfrqe"
        assert app.is_running


async def test_e_elsewhere_says_how_to_reach_an_input_and_enter_edits_inputs():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("u")
        await pilot.press("e")
        assert not app.query_one(InputEditor).display
        assert "Only inputs can be edited (a, b, c)" in widget_text(app, "#message")
        app.query_one(GraphTree).select_name("a")
        await pilot.press("enter")
        assert app.query_one(InputEditor).display


async def test_a_mouse_click_moves_the_cursor_and_never_opens_the_editor():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(GraphTree)
        line = tree.primary["b"].line
        await pilot.click(GraphTree, offset=(10, line))
        await pilot.pause()
        assert tree.cursor_node.data.name == "b"
        assert app.selected == "b"
        assert not app.query_one(InputEditor).display


async def test_finite_difference_panel_follows_the_cursor_and_reveals_late():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.pause()
        fd = widget_text(app, "#fd")
        assert "nudge b by h = 0.001" in fd
        assert "b: 3 → 3.001" in fd and "u:" not in fd
        assert "not evaluated yet" in fd and "estimate" in fd and "one-sided estimate" not in fd
        await pilot.press("n")
        fd = widget_text(app, "#fd")
        assert "u: 6 → 6.002" in fd and "v: 11" not in fd
        await pilot.press("n", "n")
        fd = widget_text(app, "#fd")
        assert "b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002, J: 33 → 33.006" in fd
        m = re.search(r"one-sided estimate .*?= (\S+)", fd, re.S)  # the formula may wrap
        assert m and abs(float(m.group(1)) - 6) < 1e-9
        assert "not reached yet" in fd
        await pilot.press("f")
        fd = widget_text(app, "#fd")
        assert re.search(r"backprop ∂J/∂b = 6\b", fd)
        assert "✓ ok" in fd
        app.query_one(GraphTree).select_name("c")
        await pilot.pause()
        assert "c: 2 → 2.001" in widget_text(app, "#fd")


async def test_h_changes_within_bounds():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        app.query_one(GraphTree).select_name("b")
        await pilot.press("right_square_bracket")
        assert s.h == 0.01
        assert "b: 3 → 3.01" in widget_text(app, "#fd")
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert s.h == 1
        await pilot.press("right_square_bracket")
        assert s.h == 1 and "h = 1 is the largest" in " ".join(widget_text(app, "#message").split())
        for _ in range(14):
            await pilot.press("left_square_bracket")
        assert s.h == 1e-12 and "h = 1e-12 is the smallest" in " ".join(widget_text(app, "#message").split())
        assert "h = 1e-12" in widget_text(app, "#fd")


async def test_alpha_keys_are_greyed_out_without_params():
    """#13: '-' on a graph without params said 'α = 0.05' of a learning rate nothing uses."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        alpha = app.session.alpha
        await pilot.press("minus", "plus")
        assert app.session.alpha == alpha and "α" not in widget_text(app, "#message")
        assert not app.check_action("alpha_down", ())


async def test_help_screen_lists_cgtuis_own_keys():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        text = screen_text(app)
        for key in ("n  →", "p  ←", "f", "r", "e  enter", "[  ]", "?", "q  ctrl+q", "g", "s", "d", "-  +", "y"):
            assert key in text
        assert "scroll" not in text.lower()
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert app.session.position == 0


async def test_footer_shows_n_p_e_help_and_quit_at_80_columns():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(20):  # Textual's Footer draws its keys a refresh or two after the first frame
            await pilot.pause()
            footer = screen_text(app).split("\n")[-1]
            if "q Quit" in footer:
                break
        for key in ("n Next", "p Back", "e Edit", "? Help", "q Quit"):
            assert key in footer, footer


async def test_80x24_shows_the_lecture_whole():
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(*"nnnnnnn")
        app.query_one(GraphTree).select_name("b")
        await pilot.press("n")
        assert "∂J/∂c = ∂J/∂u · ∂u/∂c = 3 × 3 = 9" in widget_text(app, "#step")
        for name, grad in (("a", "3"), ("b", "6"), ("c", "9"), ("u", "3"), ("v", "3")):
            assert grad_in(tree_line(app, name), name) == grad
        assert "J: 33 → 33.006" in widget_text(app, "#fd")


async def test_keys_do_nothing_while_the_screen_is_too_small():
    """#13 bug 2: at backward 4/5, shrunk to 40×10, n stepped unseen and e drew the editor over the message."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "n", "n", "n")
        position = app.session.position
        assert app.selected == "a"  # the cursor starts on a, an input
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        for key in ("n", "e", "p", "f", "8", "enter", "g", "d", "w", "question_mark"):
            await pilot.press(key)
        await pilot.pause()
        assert app.session.position == position
        assert not app.query_one("#editor").display
        assert app.screen is app.screen_stack[0]  # no help page either
        assert "too small" in " ".join(screen_text(app).split())
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.press("n")  # and keys work again once it fits
        assert app.session.position == position + 1


async def test_keys_typed_into_an_open_editor_are_ignored_while_too_small():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")  # the cursor starts on a
        await pilot.pause()
        field = app.query_one("#editor Input")
        assert app.focused is field
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        await pilot.press("9", "enter")
        assert "9" not in field.value
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.session.inputs == app.session.saved_inputs  # nothing committed unseen
        assert app.focused is field  # the open editor has its focus back


async def test_the_too_small_message_keeps_its_size_on_one_line():
    app = make_app()
    async with app.run_test(size=(59, 15)) as pilot:
        await pilot.pause()
        lines = [line.strip() for line in screen_text(app).split("\n") if line.strip()]
        assert any("60 × 15" in line for line in lines), lines


async def test_too_small_then_grown_keeps_the_position():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n")
        for size in ((59, 40), (120, 14), (50, 12), (20, 5)):
            await pilot.resize_terminal(*size)
            await pilot.pause()
            assert "too small" in " ".join(screen_text(app).split())
        await pilot.resize_terminal(1, 1)  # nothing fits; it must only survive
        await pilot.pause()
        await pilot.press("n")  # ignored: nothing may happen unseen
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert "too small" not in screen_text(app)
        assert app.session.position == 2
        assert value_in(tree_line(app, "v"), "v") == "11"
        assert value_in(tree_line(app, "J"), "J") == "?"


async def test_no_color_keeps_every_number_legible(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        assert app.no_color
        assert grad_in(tree_line(app, "b"), "b") == "6"
        # numbers are drawn in a colour distinct from the background
        strips = app.screen._compositor.render_strips()
        tree = app.query_one(GraphTree)
        y = tree.region.y + tree.primary["b"].line
        segments = [seg for seg in strips[y] if "6" in seg.text and seg.style is not None]
        assert segments
        for seg in segments:
            fg, bg = seg.style.color, seg.style.bgcolor
            if fg is not None and bg is not None:
                assert fg.get_truecolor() != bg.get_truecolor()


FANOUT = """\
inputs:
  x: 3
nodes:
  p: 2 * x
  q: x * x
  J: p + q
"""


async def test_fan_out_gradient_arrives_in_two_parts():
    app = app_from_text(FANOUT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")  # forward done
        steps = []
        while not app.session.at_end:
            await pilot.press("n")
            steps.append(widget_text(app, "#step"))
        joined = "\n".join(steps)
        flat = " ".join(" ".join(line.strip("│╭╮╰╯─ ") for line in step.split("\n")) for step in steps)
        flat = " ".join(flat.split())
        assert "∂J/∂x += ∂J/∂q · ∂q/∂x = 1 × 6 = 6; ∂J/∂x = 6 so far (1 of 2)" in flat
        assert "∂J/∂x += ∂J/∂p · ∂p/∂x = 1 × 2 = 2; ∂J/∂x = 8 (2 of 2: complete)" in flat
        assert "local ∂q/∂x = 2 · x = 6" in joined
        assert "(2 of 2)" in tree_line(app, "x")
        assert grad_in(tree_line(app, "x"), "x") == "8"
        # x appears once expanded and once as "see above"
        assert sum("↪ x, see above" in line for line in tree_lines(app)) == 1


async def test_fan_out_partial_gradient_is_marked_so_far():
    app = app_from_text(FANOUT)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "n", "n", "n")
        line = tree_line(app, "x")
        assert "(1 of 2, so far)" in line and grad_in(line, "x") == "6"


async def test_unused_names_are_listed_separately():
    app = app_from_text("inputs:\n  a: 1\n  z: 4\nnodes:\n  w: z * 2\n  J: a + 1\noutput: J\n")
    async with app.run_test(size=(120, 40)) as pilot:
        text = widget_text(app, "#tree")
        assert "not used by J" in text
        app.query_one(GraphTree).select_name("z")
        await pilot.press("e", "ctrl+u", "5", "enter")
        assert app.session.inputs["z"] == 5
        await pilot.press("f", "f")
        assert grad_in(tree_line(app, "z"), "z") == "0"


async def test_quit_with_q():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
        assert not app.is_running


def _capture_app(monkeypatch) -> list:
    """Run the command line but capture the app it would open instead of opening it."""
    from tui.app import CgtuiApp

    opened = []
    monkeypatch.setattr(CgtuiApp, "run", lambda self, *a, **k: opened.append(self))
    return opened


def test_set_and_fd_step_apply_to_the_app(monkeypatch):
    from tui.cli import run

    opened = _capture_app(monkeypatch)
    assert run([str(LECTURE), "--set", "a=7", "--fd-step", "1e-6"]) == 0
    (app,) = opened
    assert app.session.inputs == {"a": 7.0, "b": 3.0, "c": 2.0}
    assert app.session.h == 1e-6
    assert app.session.walk.values["J"] == 39
    assert app.session.edited == {"a": 7.0}


def test_no_file_opens_the_built_in_lecture_graph(monkeypatch):
    from tui.cli import run

    opened = _capture_app(monkeypatch)
    assert run([]) == 0
    (app,) = opened
    assert app.session.source == "(built-in lecture graph)"
    assert app.session.walk.values["J"] == 33


def test_a_refused_file_never_opens_the_app(monkeypatch, tmp_path, capsys):
    from tui.cli import run

    opened = _capture_app(monkeypatch)
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs:\n  a: 1\nnodes:\n  u: a +\n")
    assert run([str(bad)]) == 2
    assert opened == []
    err = capsys.readouterr().err
    assert err.startswith("cgtui: ") and err.count("\n") == 1 and "line 4" in err


async def test_big_graphs_nudge_in_a_worker_and_the_panel_fills_in():
    from engine.examples import dag

    app = app_from_text(dag(2500))
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("x0")
        await pilot.press("f")
        for _ in range(100):
            await pilot.pause(0.05)
            if "one-sided estimate" in widget_text(app, "#fd"):
                break
        assert "nudge x0 by h = 0.001" in widget_text(app, "#fd")
        assert "one-sided estimate" in widget_text(app, "#fd")
        assert app.session.position == 2500  # the forward pass; no key waited for the nudge


async def test_y_explains_a_gradient_once_it_is_complete():
    from tui.widgets.pages import WhyScreen

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("c")
        await pilot.press("y")
        assert not isinstance(app.screen, WhyScreen)
        assert "∂J/∂c is not complete yet" in " ".join(widget_text(app, "#message").split())
        await pilot.press("f", "f", "y")
        assert isinstance(app.screen, WhyScreen)
        text = screen_text(app)
        assert "J → v → u → c" in text and "∂J/∂v · ∂v/∂u · ∂u/∂c = 3 · 1 · b = 3 × 1 × 3 = 9" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, WhyScreen)
        assert app.session.position == 8


async def test_breakpoints_stop_before_evaluation_and_before_the_first_contribution():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        app.query_one(GraphTree).select_name("v")
        await pilot.press("b")
        assert s.breakpoints == {"v"} and "■ v" in tree_line(app, "v")
        await pilot.press("c")
        assert s.position == 1  # u evaluated, v not yet
        assert value_in(tree_line(app, "v"), "v") == "?"
        assert "Stopped at the breakpoint on v" in widget_text(app, "#message")
        await pilot.press("c")
        assert s.position == 3  # the end of the forward pass
        app.query_one(GraphTree).select_name("u")
        await pilot.press("b", "c")
        assert s.position == 5  # before u's first (only) contribution: ∂J/∂v, ∂J/∂a, then u
        assert grad_in(tree_line(app, "u"), "u") is None
        await pilot.press("c")
        assert s.at_end
        app.query_one(GraphTree).select_name("v")
        await pilot.press("b")
        assert "■" not in tree_line(app, "v")


async def test_t_runs_to_the_node_under_the_cursor():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        app.query_one(GraphTree).select_name("v")
        await pilot.press("t")
        assert s.position == 2 and value_in(tree_line(app, "v"), "v") == "11"
        app.query_one(GraphTree).select_name("b")
        await pilot.press("t")
        assert s.position == 7 and grad_in(tree_line(app, "b"), "b") == "6"  # ∂J/∂b complete, ∂J/∂c not yet
        assert grad_in(tree_line(app, "c"), "c") is None
        await pilot.press("t")
        assert s.position == 7 and "already" in widget_text(app, "#message")


async def test_why_marks_the_path_under_its_cursor_in_the_tree():
    from tui.widgets.pages import WhyScreen

    app = make_app(LECTURE.parent / "fanout.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        app.query_one(GraphTree).select_name("x")
        await pilot.press("y")
        assert isinstance(app.screen, WhyScreen)
        await pilot.pause()

        def lit() -> list[str]:
            """The marked lines, as their names (``x, see above`` for a repeated node)."""
            out = []
            for line in tree_lines(app):
                if "» " in line:
                    m = re.match(r"[■●↓↪ ]*(\w+)(, see above)?", line.split("» ", 1)[1])
                    out.append(m.group(1) + (m.group(2) or ""))
            return out

        # in the backward pass's order: ∂f/∂x gets 3 × 3 through q first (1 of 2), then 6 × 1 through p
        assert lit() == ["f", "x", "q", "x, see above"]  # path 1: f → q → x, 3 × 3 = 9, x's own line too
        await pilot.press("down")
        assert lit() == ["f", "p", "x"]  # path 2: f → p → x, 6 × 1 = 6
        text = screen_text(app)
        assert "f → q → x" in text and "sum of the paths: 9 + 6 = 15   ✓ ∂f/∂x = 15" in text
        await pilot.press("y")
        assert not isinstance(app.screen, WhyScreen) and lit() == []


def assert_tree_shows_the_session(app) -> None:
    """Every tree line on screen starts its label as the session has it now."""
    tree = app.query_one(GraphTree)
    region = tree.scrollable_content_region
    rows = screen_text(app).split("\n")[region.y : region.y + region.height]
    for k, row in enumerate(rows):
        node = tree.get_node_at_line(tree.scroll_offset.y + k)
        if node is None:
            continue
        shown = row[region.x : region.x + region.width].lstrip("│├└─▼▶ ").rstrip()
        label = tree._label(node).plain.rstrip()
        if shown.endswith("…") and not label.endswith("…"):  # cut to fit, with the sign that says so
            shown = shown[:-1]
        assert shown and label.startswith(shown), (shown, label)


async def test_the_tree_shows_the_session_after_every_key():
    """The tree draws again only the lines whose labels changed: after every key, each line
    on screen must show its label as the session has it, also a line that changed while it
    was scrolled out of sight."""
    from engine.examples import dag

    app = app_from_text(dag(60))
    async with app.run_test(size=(100, 24)) as pilot:
        keys = ["n", "n", "n", "end", "f", "home", "n", "n", "b", "down", "down", "b", "p",
                "pagedown", "f", "pageup", "home", "right_square_bracket", "r", "end", "n", "home"]
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            assert_tree_shows_the_session(app)


async def test_a_reload_closes_the_why_panel_and_clears_its_marks(tmp_path):
    from tui.widgets.pages import WhyScreen

    path = tmp_path / "fanout.yaml"
    original = (LECTURE.parent / "fanout.yaml").read_text()
    path.write_text(original)
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        app.query_one(GraphTree).select_name("x")
        await pilot.press("y", "down")
        assert isinstance(app.screen, WhyScreen) and "» " in widget_text(app, "#tree")
        path.write_text(original + "# edited elsewhere\n")
        await app.check_disk(force=True).wait()
        await pilot.pause()
        assert not isinstance(app.screen, WhyScreen)
        assert "» " not in widget_text(app, "#tree")


async def test_the_transcript_always_ends_at_the_last_step_on_a_big_graph():
    """#13 bug 4: on mlp 64,64,1, after f f and four quick ↓, the transcript ended at step
    18172 of 18181 (it scrolled before its new text was laid out)."""
    from engine import load_bytes
    from engine.examples import mlp
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    app = CgtuiApp(DebugSession(load_bytes(mlp([64, 64, 1]).encode(), "mlp")), watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "down", "down", "down", "down")
        await pilot.pause()
        total = app.session.total
        lines = [line for line in widget_text(app, "#transcript").split("\n") if line.strip(" │╭╮╰╯─")]
        assert lines[-1].strip(" │").startswith(f"{total:>3}  "), lines[-3:]
        for k in (1, 2):  # and after each step back, the line before
            await pilot.press("p")
            lines = [line for line in widget_text(app, "#transcript").split("\n") if line.strip(" │╭╮╰╯─")]
            assert lines[-1].strip(" │").startswith(f"{total - k}  "), lines[-3:]


async def test_a_transcript_line_too_long_for_the_panel_ends_in_an_ellipsis():
    app = make_app()
    async with app.run_test(size=(70, 24)) as pilot:
        await pilot.press("f", "n", "n")
        lines = widget_text(app, "#transcript").split("\n")
        long = [line for line in lines if "∂J/∂a" in line]
        assert long and long[0].rstrip(" │").endswith("…"), lines


async def test_a_reference_says_truly_where_the_own_line_is_and_j_goes_there():
    """#13 bug 8: on a long chain `↪ x, see above` sat on line 3 while x's own line was
    inside a collapsed block; nothing led there."""
    from engine import load_bytes
    from engine.examples import chain
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    app = CgtuiApp(DebugSession(load_bytes(chain(5000).encode(), "chain")), watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        tree = app.query_one("#tree")
        lines = tree_lines(app)
        ref_line = next(k for k, line in enumerate(lines) if "↪ x" in line)
        own = tree.primary.get("x")
        assert own is None or own.line < 0  # x's own line is not on screen: it is collapsed
        assert "collapsed" in lines[ref_line] and "j" in lines[ref_line]
        await pilot.press(*["down"] * ref_line, "j")
        await pilot.pause()
        node = tree.cursor_node
        assert node.data.name == "x" and not node.data.see_above and app.selected == "x"
        assert node.line >= 0 and tree.cursor_line == node.line  # expanded to, and the cursor is on it
        assert "nudge x" in widget_text(app, "#fd")  # the finite-difference panel follows
        # and in the backward pass, j goes to the current step's node
        await pilot.press("f", "n", "n")
        tree.cursor_line = 0  # on the output's line, not a reference
        await pilot.press("j")
        await pilot.pause()
        assert tree.cursor_node.data.name == app.session.current.parent == "x"


async def test_a_reference_whose_own_line_is_on_screen_just_says_see_above():
    app = make_app(LECTURE.parent / "fanout.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        refs = [line for line in tree_lines(app) if "↪" in line]
        assert refs and all(line.rstrip().endswith(", see above") for line in refs), refs


async def test_descent_at_80x24_keeps_every_panel_whole():
    """#13 bug 6: logistic.yaml, f f d d d at 80×24: the tree shrank to 8 lines with values
    cut, the finite-difference panel lost its bottom border, the transcript disappeared."""
    app = make_app(LECTURE.parent / "logistic.yaml", watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f", "f", "d", "d", "d")
        await pilot.pause()
        fd = widget_text(app, "#fd").split("\n")
        assert fd[0].startswith("╭") and fd[-1].startswith("╰"), fd
        transcript = widget_text(app, "#transcript").split("\n")
        assert transcript[-1].startswith("╰") and any(line.strip("│ ") for line in transcript[1:-1])
        tree = app.query_one("#tree")
        for line in tree_lines(app):  # a line that does not fit ends in "…", never mid-number silently
            line = line[: tree.scrollable_content_region.width].rstrip()  # less the scrollbar
            assert len(line) < tree.scrollable_content_region.width or line.endswith("…"), line


async def test_no_horizontal_scrollbar_and_the_detail_line_has_the_whole_line():
    """#13 bug 7: a stray horizontal scrollbar in the Graph panel at 80×24 that no key can
    scroll; lines cut without a sign. The line under the cursor is readable in full below."""
    app = make_app(LECTURE.parent / "logistic.yaml", watch_file=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f", "f")
        tree = app.query_one("#tree")
        tree.select_name("L")
        await pilot.pause()
        assert not tree.show_horizontal_scrollbar
        cut = [line for line in tree_lines(app) if line.endswith("…")]
        assert cut, tree_lines(app)
        detail = " ".join(widget_text(app, "#detail").split())
        assert "∂L/∂L = 1" in detail and "note:" in detail  # the output's line, in full, with its note
        await pilot.press("down", "down")
        assert tree.cursor_node.data.name == "a"
        full = " ".join(widget_text(app, "#detail").split())
        assert "a = sigmoid(z) = " in full and "∂L/∂a = " in full


async def test_the_files_description_is_shown_when_the_app_opens():
    """#13: the file's description: was shown nowhere in the app."""
    app = make_app(watch_file=False)
    description = app.session.graph.description
    assert description
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert " ".join(description.split())[:40] in " ".join(widget_text(app, "#message").split())


async def test_the_transcript_shows_an_edit_that_keeps_its_line_count():
    """An edit rewrites the numbers of every transcript line and keeps their count: the lines drawn are the new ones."""
    from tui_helpers import submit_text

    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(3):
            await pilot.press("n")
        assert "v = a + u = 5 + 6 = 11" in widget_text(app, "#transcript")
        await pilot.press("e")
        await submit_text(app, pilot, "7")
        await pilot.pause()
        assert app.session.value("a") == 7
        text = widget_text(app, "#transcript")
        assert "v = a + u = 7 + 6 = 13" in text and "5 + 6" not in text
