"""No crash eats an edit: inputs that vanish under an open editor, odd save-as names, a crash itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine import load_builtin, load_bytes, load_path
from engine.examples import generate
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.widgets.dialogs import ConflictScreen, SaveAsScreen
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree
from tui_helpers import LECTURE, make_app, widget_text

RENAMED = LECTURE.read_text().replace("  a: 5\n", "  aa: 5\n").replace("v: a + u", "v: aa + u")


@pytest.fixture
def lecture_copy(tmp_path: Path) -> Path:
    path = tmp_path / "w.yaml"
    shutil.copy(LECTURE, path)
    return path


def message_of(app) -> str:
    return " ".join(widget_text(app, "#message").split())


# --------------------------------------------------------------------------- 1: the input goes while its editor is open


@pytest.mark.parametrize("keys", [["enter"], ["escape"], ["x", "enter"], ["ctrl+u", "7", "enter"]])
async def test_an_input_renamed_under_its_open_editor(lecture_copy, keys):
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.press("e", "ctrl+u", "4", "enter")  # an unsaved edit that must survive
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        assert app.query_one(InputEditor).name_edited == "a"
        lecture_copy.write_text(RENAMED)
        app.check_disk(force=True)
        await pilot.pause()
        assert "a is no longer an input" in message_of(app)
        await pilot.press(*keys)
        await pilot.pause()
        assert app.is_running
        assert app.session.inputs == {"aa": 5.0, "b": 4.0, "c": 2.0}
        assert app.session.unsaved
    assert app.return_code in (0, None)


@pytest.mark.parametrize("event", [
    InputEditor.ValueEdited("a", 7.0), InputEditor.Refused("a", "not a number"), InputEditor.Cancelled("a"),
])
async def test_a_late_message_about_a_vanished_input_is_answered_not_crashed(lecture_copy, event):
    """The editor posted its message before the reload, the app handles it after."""
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        lecture_copy.write_text(RENAMED)
        app.check_disk(force=True)
        app.query_one(InputEditor).post_message(event)
        await pilot.pause()
        assert app.is_running
        assert "a is no longer an input" in message_of(app)
        assert app.session.inputs == {"aa": 5.0, "b": 3.0, "c": 2.0}
    assert app.return_code in (0, None)


async def test_an_editor_whose_input_is_still_there_stays_open(lecture_copy):
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "9")
        lecture_copy.write_text(LECTURE.read_text().replace("J: 3 * v", "J: 4 * v"))
        app.check_disk(force=True)
        await pilot.pause()
        assert app.query_one(InputEditor).name_edited == "a"
        await pilot.press("enter")
        assert app.session.inputs["a"] == 9.0
        assert app.session.value("J") == 4 * (9 + 6)


async def test_an_input_that_became_a_node_closes_its_editor(lecture_copy):
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        lecture_copy.write_text(LECTURE.read_text().replace("  a: 5\n", "  z: 5\n").replace("  u: b * c", "  a: z\n  u: b * c"))
        app.check_disk(force=True)
        await pilot.pause()
        await pilot.press("7", "enter")
        assert app.is_running
        assert "z" in app.session.inputs and "a" not in app.session.inputs
