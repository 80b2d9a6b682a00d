"""No crash eats an edit: inputs that vanish under an open editor, odd save-as names, a crash itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_builtin, load_bytes, load_path
from engine.examples import generate
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.widgets.dialogs import ConflictScreen, SaveAsScreen
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree
from tui_helpers import LECTURE, make_app, message_of, submit_text

RENAMED = LECTURE.read_text().replace("  a: 5\n", "  aa: 5\n").replace("v: a + u", "v: aa + u")


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
        await app.check_disk(force=True).wait()
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
        await app.check_disk(force=True).wait()
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
        await app.check_disk(force=True).wait()
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
        await app.check_disk(force=True).wait()
        await pilot.pause()
        await pilot.press("7", "enter")
        assert app.is_running
        assert "z" in app.session.inputs and "a" not in app.session.inputs


# --------------------------------------------------------------------------- 3: save-as with an odd name


def odd_names(tmp_path: Path) -> list[str]:
    (tmp_path / "somefile").write_text("a regular file, not a folder\n")
    return ["~nosuchuser_cgtui/x.yaml", str(tmp_path / ("x" * 300 + ".yaml")), str(tmp_path / "somefile" / "x.yaml")]


async def save_as(pilot, name: str) -> None:
    await submit_text(pilot.app, pilot, name)


@pytest.mark.parametrize("which", [0, 1, 2])
async def test_save_as_an_odd_name_from_the_built_in_graph_keeps_the_edits(tmp_path, which):
    name = odd_names(tmp_path)[which]
    app = CgtuiApp(DebugSession(load_builtin()))
    async with app.run_test(size=(120, 40)) as pilot:
        app.session.set_input("a", 6.0)
        await pilot.press("w")
        assert isinstance(app.screen, SaveAsScreen)
        await save_as(pilot, name)
        assert app.is_running
        message = app.message
        assert message.startswith("cgtui: cannot save") and "edits are kept" in message, message
        if name.startswith("~"):
            assert "there is no home folder ~nosuchuser_cgtui" in message
        assert app.session.unsaved and app.session.inputs["a"] == 6.0
        await pilot.press("w")  # and the user can try again
        assert isinstance(app.screen, SaveAsScreen)
        target = tmp_path / "good.yaml"
        await save_as(pilot, str(target))
        assert "  a: 6\n" in target.read_text() and not app.session.unsaved
    assert app.return_code in (0, None)


async def test_save_as_into_a_folder_that_refuses(tmp_path, monkeypatch):
    import tempfile

    app = CgtuiApp(DebugSession(load_builtin()))
    async with app.run_test(size=(120, 40)) as pilot:
        app.session.set_input("a", 6.0)

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)  # tests run as root: refuse as the OS would
        await pilot.press("w")
        await save_as(pilot, str(tmp_path / "x.yaml"))
        assert app.is_running and "Permission denied" in app.message and app.session.unsaved


@pytest.mark.parametrize("source, suggestion, odd", [  # each odd name once (all three: the test above)
    ("(example chain)", "example-chain.yaml", 0), ("(example mlp)", "example-mlp.yaml", 1),
    ("(expression)", "expression.yaml", 2),
])
async def test_generated_graphs_propose_their_own_name_and_survive_odd_ones(tmp_path, source, suggestion, odd):
    if source == "(expression)":
        from engine import oneliner

        text = oneliner.graph_text("J = 3*(a + b*c)", {"a": 5, "b": 3, "c": 2})
    else:
        text = generate(source[9:-1], 5, [2, 1] if "mlp" in source else None)
    app = CgtuiApp(DebugSession(load_bytes(text.encode(), source)))
    async with app.run_test(size=(120, 40)) as pilot:
        first = next(iter(app.session.inputs))
        app.session.set_input(first, 0.125)
        await pilot.press("w")
        assert isinstance(app.screen, SaveAsScreen)
        assert app.screen.suggestion == suggestion
        assert "lecture" not in app.screen.why
        await save_as(pilot, odd_names(tmp_path)[odd])
        assert app.is_running and "cgtui: cannot save" in app.message and app.session.unsaved
        await pilot.press("w")
        await save_as(pilot, str(tmp_path / suggestion))
        assert load_path(tmp_path / suggestion).graph.input_by_name[first].value == 0.125
        assert not app.session.unsaved


async def test_save_as_an_odd_name_from_the_conflict_dialog(lecture_copy, tmp_path):
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.session.set_input("a", 7.0)
        changed = LECTURE.read_text() + "# changed elsewhere\n"
        lecture_copy.write_text(changed)
        for name in odd_names(tmp_path):
            await pilot.press("w")
            assert isinstance(app.screen, ConflictScreen)
            await pilot.press("s")
            assert isinstance(app.screen, SaveAsScreen)
            await save_as(pilot, name)
            assert app.is_running and "cgtui: cannot save" in app.message
            assert app.session.inputs["a"] == 7.0 and app.session.unsaved
        assert lecture_copy.read_text() == changed


# --------------------------------------------------------------------------- 9: a crash says where the edits went


def crash_on_mount(monkeypatch, edit: dict[str, float]) -> None:
    """Make the app crash once it is up, after the user made ``edit``; run it headless."""
    from textual.app import App

    def mounted(self):
        for name, value in edit.items():
            self.session.set_input(name, value)
        raise RuntimeError("boom")

    monkeypatch.setattr(CgtuiApp, "on_mount", mounted)
    monkeypatch.setattr(CgtuiApp, "run", lambda self: App.run(self, headless=True))


def cgtui_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("cgtui:")]


def test_a_crash_exits_non_zero_and_keeps_the_edits_beside_the_file(lecture_copy, monkeypatch, capsys):
    from tui.cli import run

    crash_on_mount(monkeypatch, {"a": 7.0, "c": 0.1})
    status = run([str(lecture_copy)])
    err = capsys.readouterr().err
    assert status == 1
    recovered = lecture_copy.with_name("w.yaml.cgtui-recovered")
    lines = cgtui_lines(err)
    assert len(lines) == 1 and str(recovered) in lines[0] and "crashed" in lines[0], err
    assert lecture_copy.read_text() == LECTURE.read_text()  # the file itself is not touched
    graph = load_path(recovered).graph  # the recovery file is a graph file with the edits in place
    assert {i.name: i.value for i in graph.inputs} == {"a": 7.0, "b": 3.0, "c": 0.1}
    assert recovered.read_text() == LECTURE.read_text().replace("  a: 5\n", "  a: 7\n").replace("  c: 2\n", "  c: 0.1\n")

    status = run([str(lecture_copy)])  # a second crash does not overwrite the first recovery
    err = capsys.readouterr().err
    assert status == 1
    again = lecture_copy.with_name("w.yaml.cgtui-recovered.2")
    assert str(again) in cgtui_lines(err)[0] and again.exists() and recovered.exists()


def test_a_crash_without_edits_exits_non_zero_and_says_nothing_was_lost(lecture_copy, monkeypatch, capsys):
    from tui.cli import run

    crash_on_mount(monkeypatch, {})
    assert run([str(lecture_copy)]) == 1
    lines = cgtui_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "no unsaved edits" in lines[0]
    assert [p.name for p in lecture_copy.parent.iterdir()] == ["w.yaml"]


def test_a_crash_on_a_generated_graph_recovers_into_the_current_folder(tmp_path, monkeypatch, capsys):
    from tui.cli import run

    monkeypatch.chdir(tmp_path)
    crash_on_mount(monkeypatch, {"a": 9.0})
    assert run(["-e", "J = 3*(a + b*c)", "--set", "a=5", "--set", "b=3", "--set", "c=2"]) == 1
    lines = cgtui_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "expression.yaml.cgtui-recovered" in lines[0]
    assert load_path(tmp_path / "expression.yaml.cgtui-recovered").graph.input_by_name["a"].value == 9.0


def test_a_crash_where_nothing_can_be_written_prints_the_edits(tmp_path, monkeypatch, capsys):
    from tui import cli

    monkeypatch.chdir(tmp_path)
    crash_on_mount(monkeypatch, {"b": 4.5})

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(cli, "write_new", refuse)
    assert cli.run([]) == 1
    lines = cgtui_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "Permission denied" in lines[0] and "b = 4.5" in lines[0], lines


async def test_a_crash_inside_a_key_handler_is_reported_too(lecture_copy, monkeypatch, capsys):
    from tui.cli import after_app

    def broken(self):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(CgtuiApp, "action_reset", broken)
    app = make_app(lecture_copy, watch_file=False)
    with pytest.raises(ZeroDivisionError):  # run_test raises it again on leaving
        async with app.run_test(size=(120, 40)) as pilot:
            app.session.set_input("b", 4.0)
            await pilot.press("n", "r")
    assert app.return_code == 1
    assert after_app(app) == 1
    assert load_path(lecture_copy.with_name("w.yaml.cgtui-recovered")).graph.input_by_name["b"].value == 4.0


def test_a_crash_outside_the_app_loop_is_rescued_too(lecture_copy, monkeypatch, capsys):
    from tui.cli import run

    def run_then_fail(self):
        self.session.set_input("a", 8.0)
        raise OSError(5, "Input/output error")  # e.g. the terminal went away

    monkeypatch.setattr(CgtuiApp, "run", run_then_fail)
    assert run([str(lecture_copy)]) == 1
    err = capsys.readouterr().err
    assert "Input/output error" in err  # the traceback
    lines = cgtui_lines(err)
    assert len(lines) == 1 and "w.yaml.cgtui-recovered" in lines[0]
    assert load_path(lecture_copy.with_name("w.yaml.cgtui-recovered")).graph.input_by_name["a"].value == 8.0
