"""Predict, then reveal (g): each step's number hidden until the learner guesses it.

The numbers asked for are the lecture page's: u = 6, v = 11, J = 33, then the
chain-rule products 3, 3 × 1, 3 × 1, 3 × 2, 3 × 3.
"""

from __future__ import annotations

import pytest

from engine import load_builtin
from engine.quiz import Answer, is_right
from engine.session import DebugSession
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree
from tui_helpers import make_app, tree_line, widget_text

PAGE = [6, 11, 33, 3, 3, 3, 6, 9]
"""The number each of the lecture's eight steps asks for."""


def message(app) -> str:
    return " ".join(widget_text(app, "#message").split())


def panel(app, selector: str) -> str:
    """A bordered panel's words, its lines joined (wrapping ignored)."""
    return " ".join(widget_text(app, selector).replace("│", " ").split())


# --------------------------------------------------------------------------- engine


@pytest.mark.parametrize("guess, answer, right", [
    (6, 6, True), (6.02, 6, True), (6.04, 6, False), (5.98, 6, True), (5.96, 6, False),
    (0.333, 1 / 3, True), (0.33, 1 / 3, False), (-3, 3, False),
    (0, 0, True), (1e-7, 0, True), (1e-5, 0, False), (0, float("nan"), False), (1e300, float("inf"), False),
])
def test_right_within_half_a_percent(guess, answer, right):
    assert is_right(guess, answer) is right
    assert Answer(1, guess, answer).right is right


def test_a_step_hides_its_number_until_guessed():
    s = DebugSession(load_builtin())
    s.set_predicting(True)
    s.step()
    assert s.pending == 1 and s.position == 1
    assert not s.value_shown("u") and s.steps_taken() == []
    answer = s.guess(7)
    assert (answer.guess, answer.answer, answer.right) == (7, 6, False)
    assert s.pending is None and s.value_shown("u") and len(s.steps_taken()) == 1
    with pytest.raises(ValueError):
        s.guess(6)  # nothing is waiting


def test_the_whole_lecture_guessed_right_scores_each_pass():
    s = DebugSession(load_builtin())
    s.set_predicting(True)
    for k, number in enumerate(PAGE, start=1):
        s.step()
        assert s.pending == k
        if k > 3:  # a backward step hides its gradient, not only its value
            assert s.grad(s.current.parent) is None or s.grad(s.current.parent).arrived < s.current.arrived
        assert s.guess(number).right
    assert s.at_end and s.pending is None
    assert str(s.score(False)) == "3 of 3 right" and str(s.score(True)) == "5 of 5 right"


def test_skips_moves_and_modes():
    s = DebugSession(load_builtin())
    s.set_predicting(True)
    s.step()
    s.guess(None)  # esc: shown, not scored
    assert str(s.score(False)) == "0 of 0 right, 1 skipped"
    s.step()
    s.back()  # moving on reveals the hidden step unscored
    assert s.pending is None and s.position == 1
    s.step()
    assert s.pending == 2
    s.set_predicting(False)
    assert s.pending is None and s.value_shown("v")
    s.set_predicting(True)
    assert s.answers == {}
    s.finish()  # f reveals without asking
    assert s.pending is None and s.position == 3
    s.step()
    s.guess(3)
    s.reset()
    assert s.answers == {} and s.position == 0


# --------------------------------------------------------------------------- the app


async def test_g_then_each_step_asks_and_says_right_or_shows_the_formula():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        assert app.session.predicting and "Predict mode" in message(app)
        await pilot.press("n")
        editor = app.query_one(InputEditor)
        assert editor.display and editor.guessing
        assert "u = b · c = 3 × 2 = ?" in widget_text(app, "#step")
        assert tree_line(app, "u").endswith("u = b · c = ?")
        await pilot.press("5", "enter")
        assert "Not quite: you said 5; u = b · c = 3 × 2 = 6." in message(app)
        assert not editor.display and "u = b · c = 6" in tree_line(app, "u")
        await pilot.press("n", "1", "1", "enter", "n", "3", "3", "enter")
        assert "Right: J = 3 · v = 3 × 11 = 33." in message(app)
        step = panel(app, "#step")
        assert "Your predictions in the forward pass: 2 of 3 right." in step
        await pilot.press("n")  # the backward pass: ∂J/∂v, the output's own local derivative
        assert "∂J/∂v = ?" in widget_text(app, "#step") and "J = 3 · v" in widget_text(app, "#step")
        await pilot.press("3", "enter", "n")
        assert "∂J/∂a = ∂J/∂v · ∂v/∂a = 3 × ∂v/∂a = ?" in widget_text(app, "#step")
        await pilot.press("escape")
        assert "Not scored: ∂J/∂a = ∂J/∂v · ∂v/∂a = 3 × 1 = 3." in message(app)
        for number in PAGE[5:]:
            await pilot.press("n", *str(number), "enter")
        step = panel(app, "#step")
        assert "Your predictions in the backward pass: 4 of 4 right, 1 skipped." in step


async def test_a_guess_that_is_not_a_number_is_refused_and_the_question_stays():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "n", "x", "enter")
        assert "is not a number" in message(app) and "type your guess again" in message(app)
        assert app.session.pending == 1 and app.query_one(InputEditor).display
        await pilot.press("backspace", "6", "enter")
        assert "Right" in message(app) and app.session.pending is None


async def test_letters_typed_as_a_guess_do_not_step_and_g_again_turns_it_off():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "n", "n", "p", "f")
        assert app.session.position == 1 and app.session.pending == 1  # the letters went into the field
        await pilot.press("escape", "g")
        assert not app.session.predicting and "off" in message(app)
        await pilot.press("n")
        assert not app.query_one(InputEditor).display and "v = a + u = 11" in tree_line(app, "v")


def test_nodes_that_only_name_a_number_or_a_name_are_not_asked():
    from engine import load_bytes

    s = DebugSession(load_bytes(b"inputs: {x: 2}\nnodes: {k: 3, u: x, J: k * u}\n", "t.yaml"))
    s.set_predicting(True)
    asked = []
    while not s.at_end:
        s.step()
        if s.pending is not None:
            asked.append(s.current.node if s.position <= s.n_forward else s.current.parent)
            s.guess(0)
    assert asked[0] == "J" and "k" not in asked[:1] and s.n_forward == 3


def test_an_edit_starts_the_score_anew():
    s = DebugSession(load_builtin())
    s.set_predicting(True)
    s.step()
    s.guess(6)
    s.set_input("b", 4.0)
    assert s.answers == {}
    s.back()
    s.step()
    assert s.pending == 1  # asked again: u is 8 now


async def test_at_fan_out_the_question_asks_for_this_contribution_only():
    from tui_helpers import LECTURE

    app = make_app(LECTURE.parent / "fanout.yaml")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "g")
        while app.session.pending is None or app.session.current.parent != "x":
            if app.session.pending is not None:
                await pilot.press("escape")
            await pilot.press("n")
        step = panel(app, "#step")
        assert "∂f/∂x += ∂f/∂" in step and "(contribution 1 of 2: this product only)" in step
        answer = app.session.current.product
        await pilot.press(*str(int(answer)), "enter")
        assert message(app).startswith("Right")


async def test_while_a_guess_is_open_nothing_else_gives_the_answer_away():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "g", "n")  # ∂J/∂v = ?
        assert "∂J/∂v = ?" in panel(app, "#step")
        assert "Hidden until you guess" in panel(app, "#fd")
        transcript = panel(app, "#transcript")
        assert "J = 3 · v = 3 × 11 = 33" in transcript and "∂J/∂v" not in transcript
        assert "∂J/∂" not in " ".join(tree_line(app, n) for n in "Jv")


async def test_with_the_focus_off_the_guess_field_other_keys_wait_and_escape_shows_it():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        from tui.widgets.graph_tree import GraphTree

        await pilot.press("g", "n")
        await pilot.click(GraphTree)  # the focus leaves the guess field
        assert isinstance(app.focused, GraphTree)
        for key in ("c", "t", "r", "g", "w", "s", "d", "y", "b", "n", "p", "f"):
            await pilot.press(key)
            assert app.session.pending == 1 and app.session.predicting and app.session.position == 1, key
            assert app.query_one(InputEditor).display
        await pilot.press("escape")
        assert app.session.pending is None and not app.query_one(InputEditor).display
        assert "Not scored: u = b · c = 3 × 2 = 6." in message(app)


async def test_a_reload_while_guessing_closes_the_question(tmp_path):
    from tui_helpers import LECTURE

    path = tmp_path / "lecture.yaml"
    path.write_text(LECTURE.read_text())
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g", "n")
        assert app.query_one(InputEditor).display
        path.write_text(LECTURE.read_text().replace("a: 5", "a: 6"))
        await app.check_disk(force=True).wait()
        await pilot.pause()
        assert app.session.pending is None and not app.query_one(InputEditor).display
        assert "Reloaded" in message(app)


async def test_predict_mode_hides_the_estimates_of_a_gradient_still_to_be_guessed():
    """#13 bug 5: guess through ∂J/∂v, move the cursor to b before n: the panel showed
    (33.006 − 33) / 0.001 = 6.000000000000888 before ∂J/∂b was asked."""
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "g", "n")  # ∂J/∂v = ?
        await pilot.press("3", "enter")
        assert app.session.pending is None
        app.query_one(GraphTree).select_name("b")
        await pilot.pause()
        fd = panel(app, "#fd")
        assert "6.0000" not in fd and "estimate" not in fd.replace("Estimates hidden", ""), fd
        assert "Estimates hidden" in fd
        assert "J: 33 → 33.006" in fd  # the trail may show
        await pilot.press("g")  # predict mode off: the estimates are back
        assert "6.0000" in panel(app, "#fd")


def test_a_guess_exactly_half_a_percent_off_counts_as_right():
    from engine.quiz import is_right

    assert is_right(6.03, 6.0) and is_right(5.97, 6.0)
    assert not is_right(6.031, 6.0)
    assert is_right(-6.03, -6.0)
