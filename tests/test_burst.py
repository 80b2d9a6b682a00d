"""Keys typed in a burst (a paste, tmux send-keys, a fast typist) are never lost (#13 bug 3).

Pilot's press() waits for the app between keys, which hides the bug: the driver posts
keys back to back, and Textual forwards each to the widget focused *when it is
dequeued*. "e 8 enter" gave `a: 5 → 5` (the 8 went to the tree, before e's action had
moved the focus to the editor); in predict mode "n 6 enter" gave "'(empty)' is not a number".
"""

from __future__ import annotations

from textual import events

from tests.tui_helpers import make_app, until

CHARS = {"enter": "\r", "escape": "\x1b", "minus": "-", "full_stop": "."}


async def burst(app, pilot, *keys: str) -> None:
    """Post keys to the app back to back, as the terminal driver does, then let it settle."""
    for key in keys:
        app.post_message(events.Key(key, CHARS.get(key, key if len(key) == 1 else None)))
    for _ in range(3):
        await pilot.pause()


async def test_edit_burst_reaches_the_editor():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(app, pilot, "e", "8", "enter")
        assert app.session.inputs["a"] == 8.0, app.message


async def test_enter_burst_reaches_the_editor():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(app, pilot, "enter", "7", "enter")  # the field opens with 5 selected: 7 replaces it
        assert app.session.inputs["a"] == 7.0, app.message


async def test_guess_burst_reaches_the_guess_box():
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await burst(app, pilot, "n", "6", "enter")
        assert app.session.pending is None, app.message
        assert app.session.answers[1].guess == 6.0
        assert "not a number" not in app.message


async def test_letters_that_are_keys_still_type_into_the_editor():
    """e, n, minus and enter are priority keys now: inside the field they must still type."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e", "ctrl+u", "minus", "2", "e", "minus", "3", "enter")
        assert app.session.inputs["a"] == -2e-3, app.message
        assert app.session.position == 0


async def test_step_keys_type_into_the_save_as_dialog():
    from tui.widgets.dialogs import SaveAsScreen

    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(SaveAsScreen("why", ""))
        await pilot.pause()
        await pilot.press("n", "e", "w", "right", "enter")
        assert app.session.position == 0
        assert not app.query_one("#editor").display


async def test_a_whole_session_typed_in_one_burst_keeps_its_order():
    """Every key in order: g before n (predict on first), the cursor moves before e."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(app, pilot, "g", "n", "6", "enter")
        assert app.session.predicting and app.session.answers[1].guess == 6.0
        await burst(app, pilot, "g", "e", "9", "enter")
        assert not app.session.predicting
        assert app.session.inputs["a"] == 9.0, app.message
        await burst(app, pilot, "n", "p", "n", "n")
        assert app.session.position == 3


async def test_a_greyed_key_in_a_burst_does_nothing_later():
    """A key whose action is greyed out when it comes does nothing, even if a later key enables it.

    The tree's keys run at once in the app's queue (above), but a greyed one used to be forwarded
    to the tree as usual; by the time it came back up to the app's bindings, the keys after it
    had run, and it ran then, out of order: "r f" at the start ended at the start (r reset the
    finished pass), "p n" at the start at the start too.
    """
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        s = app.session
        await burst(app, pilot, "r", "f")  # r is greyed at the start
        assert s.position == s.n_forward, s.progress()
        await burst(app, pilot, "r", "p", "n")  # p is greyed at the start
        assert s.position == 1, s.progress()
        await burst(app, pilot, "f", "f", "f", "p")  # the third f is greyed at the end
        assert s.position == s.n_forward + s.n_backward - 1, s.progress()


async def test_the_transcript_keeps_up_with_a_burst_of_steps():
    """Seen in a real terminal: eight n's at once left the transcript's last three lines blank
    (drawn while its new height was not laid out yet)."""
    from tests.tui_helpers import widget_text

    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(app, pilot, *"nnnnnnnn")
        transcript = widget_text(app, "#transcript")
        for k in range(1, 9):
            assert f"{k:>3}  " in transcript, transcript
        assert "∂J/∂c = ∂J/∂u · ∂u/∂c = 3 × 3 = 9" in transcript


async def test_a_step_key_right_after_enter_steps():
    """#13: `e 9 Enter n` in tmux gave "'9n' is not a number": enter's commit reached the app only
    after the n had been typed into the still-open field."""
    app = make_app(watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await burst(app, pilot, "e", "9", "enter", "n")
        assert app.session.inputs["a"] == 9.0, app.message
        assert app.session.position == 1
        await burst(app, pilot, "g", "n", "6", "enter", "n")  # a guess, then the next step
        await until(pilot, lambda: app.session.position == 3)
        assert app.session.answers[2].guess == 6.0, app.message
        assert app.session.position == 3 and app.session.pending == 3
        await burst(app, pilot, "escape", "p")  # esc shows the answer; p steps back
        await until(pilot, lambda: app.session.position == 2)
        assert app.session.position == 2, app.message
        await burst(app, pilot, "e", "escape", "n")  # the cursor is on a: edit, cancel, then a step
        await until(pilot, lambda: app.session.position == 3)
        assert app.session.position == 3 and app.session.inputs["a"] == 9.0
