"""The app and the file on disk: saving, conflicts, quitting with edits, following outside changes."""

from __future__ import annotations

import os
from pathlib import Path


from engine import load_builtin
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.widgets.dialogs import ConflictScreen, SaveAsScreen
from tui.widgets.graph_tree import GraphTree
from tui_helpers import LECTURE, make_app, reload_now, submit_text, tree_line, widget_text


async def edit(app, pilot, name: str, value: str) -> None:
    app.query_one(GraphTree).select_name(name)
    await pilot.press("e", "ctrl+u", *value, "enter")


def message_of(app) -> str:
    """The message line(s), wrapping undone."""
    return " ".join(widget_text(app, "#message").split())


def touch_later(path: Path) -> None:
    """Make sure the next write gets a new mtime even on a coarse clock."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10_000_000))


async def test_w_saves_the_edited_value_in_place(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "7")
        assert app.session.unsaved
        assert "[unsaved edits]" in widget_text(app, "#title")
        await pilot.press("w")
        assert not app.session.unsaved
        assert "Saved" in message_of(app)
        await pilot.press("q")
        assert not app.is_running
    before = LECTURE.read_text().splitlines()
    after = lecture_copy.read_text().splitlines()
    assert [k for k, (x, y) in enumerate(zip(before, after)) if x != y] == [before.index("  a: 5")]
    assert after[before.index("  a: 5")] == "  a: 7"


async def test_quitting_with_unsaved_edits_asks_first(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "b", "4")
        await pilot.press("q")
        assert app.is_running
        assert "Unsaved edits (b = 4): q again quits without saving them, w saves." in message_of(app)
        await pilot.press("n")  # anything else disarms
        await pilot.press("q")
        assert app.is_running
        await pilot.press("q")
        assert not app.is_running
    assert lecture_copy.read_text() == LECTURE.read_text()


async def test_set_values_are_not_unsaved_edits(lecture_copy):
    app = make_app(lecture_copy, inputs={"a": 7.0})
    async with app.run_test(size=(120, 40)) as pilot:
        assert not app.session.unsaved
        await pilot.press("q")
        assert not app.is_running
    assert lecture_copy.read_text() == LECTURE.read_text()


async def test_set_values_are_written_when_the_user_saves(lecture_copy):
    app = make_app(lecture_copy, inputs={"a": 7.0})
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("w")
    assert "  a: 7\n" in lecture_copy.read_text()


async def test_a_change_on_disk_is_not_overwritten_by_surprise(lecture_copy):
    app = make_app(lecture_copy, watch_file=False)  # the test makes the conflict itself
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "7")
        text = LECTURE.read_text() + "# the teacher's note\n"
        lecture_copy.write_text(text)
        await pilot.press("w")
        assert isinstance(app.screen, ConflictScreen)
        await pilot.press("escape")
        assert lecture_copy.read_text() == text
        assert app.session.inputs["a"] == 7
        assert "Not saved" in message_of(app)
        await pilot.press("w", "o")
        assert lecture_copy.read_text() == LECTURE.read_text().replace("  a: 5\n", "  a: 7\n")


async def test_conflict_reload_keeps_the_edited_inputs(lecture_copy):
    app = make_app(lecture_copy, watch_file=False)  # the test makes the conflict itself
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "7")
        lecture_copy.write_text(LECTURE.read_text().replace("J: 3 * v", "J: 4 * v"))
        await pilot.press("w", "l")
        assert app.session.inputs["a"] == 7
        assert app.session.value("J") == 52  # 4 * (7 + 6)
        assert "expressions changed: J" in message_of(app)
        assert app.session.unsaved


async def test_conflict_save_as_writes_a_new_file(lecture_copy, tmp_path):
    app = make_app(lecture_copy, watch_file=False)  # the test makes the conflict itself
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "c", "5")
        lecture_copy.write_text(LECTURE.read_text() + "# changed\n")
        await pilot.press("w", "s")
        assert isinstance(app.screen, SaveAsScreen)
        target = tmp_path / "mine.yaml"
        await submit_text(app, pilot, str(target))
        assert target.read_text() == LECTURE.read_text().replace("  c: 2\n", "  c: 5\n")
        assert lecture_copy.read_text().endswith("# changed\n")
        assert app.session.source == str(target)


async def test_the_built_in_graph_is_saved_under_a_name_the_user_gives(tmp_path):
    app = CgtuiApp(DebugSession(load_builtin()))
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "6")
        await pilot.press("w")
        assert isinstance(app.screen, SaveAsScreen)
        await pilot.press("escape")
        assert "Not saved" in message_of(app)
        target = tmp_path / "lecture-mine.yaml"
        await pilot.press("w")
        await submit_text(app, pilot, str(target))
        assert target.exists()
        assert "  a: 6\n" in target.read_text()
        assert not app.session.unsaved
    packaged = Path(__file__).resolve().parent.parent / "engine" / "data" / "lecture.yaml"
    assert packaged.read_text() == LECTURE.read_text()


async def test_save_as_refuses_an_existing_file(lecture_copy, tmp_path):
    app = CgtuiApp(DebugSession(load_builtin()))
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "6")
        await pilot.press("w")
        await submit_text(app, pilot, str(lecture_copy))
        assert "already exists" in message_of(app)
        assert lecture_copy.read_text() == LECTURE.read_text()
        assert app.session.unsaved


async def test_a_failed_save_keeps_the_edits(lecture_copy, monkeypatch):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await edit(app, pilot, "a", "7")
        monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left on device")))
        await pilot.press("w")
        message = message_of(app)
        assert "No space left on device" in message and "edits are kept" in message
        assert app.session.inputs["a"] == 7 and app.session.unsaved
        assert lecture_copy.read_text() == LECTURE.read_text()


async def test_an_outside_edit_is_reloaded_by_the_poll(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n")
        await edit(app, pilot, "a", "7")
        text = LECTURE.read_text().replace("  J: 3 * v   # J = 3v\n", "  w: 2 * v\n  J: 3 * w\n")
        lecture_copy.write_text(text)
        touch_later(lecture_copy)
        for _ in range(500):  # the app's own poll (every POLL_SECONDS) finds it: wait for that, not a fixed time
            await pilot.pause(0.02)
            if "Reloaded" in app.message:
                break
        await pilot.pause()
        message = message_of(app)
        assert "Reloaded" in message and "nodes added: w" in message and "expressions changed: J" in message
        assert app.session.inputs["a"] == 7  # the edit survives
        assert app.session.position == 2  # the place is kept
        assert app.session.walk.values["J"] == 3 * 2 * (7 + 6)
        assert "w = ?" in widget_text(app, "#tree")


async def test_a_file_that_breaks_keeps_the_last_good_graph_and_comes_back(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        lecture_copy.write_text(LECTURE.read_text().replace("J: 3 * v", "J: 3 * (v"))
        await reload_now(app, pilot)
        message = message_of(app)
        assert message.strip().startswith("cgtui:") and "syntax error" in message and "last good" in message
        assert "J = 3 · v = 33" in tree_line(app, "J")
        lecture_copy.write_text(LECTURE.read_text().replace("J: 3 * v", "J: 5 * v"))
        await reload_now(app, pilot)
        assert "Reloaded" in message_of(app)
        assert "J = 5 · v = 55" in tree_line(app, "J")
        assert app.session.position == 3


async def test_a_reload_says_what_each_input_was_and_is(lecture_copy):
    """#13: a reload said 'input values changed in the file: b' without old → new."""
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        lecture_copy.write_text(LECTURE.read_text().replace("  b: 3\n", "  b: 4\n"))
        await reload_now(app, pilot)
        assert "input values changed in the file: b 3 → 4" in " ".join(widget_text(app, "#message").split())
