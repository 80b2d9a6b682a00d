"""The app and hostile files: huge numbers and FIFOs on reload, precision kept by the editor and by w.

Each test here was a reproducer of issue 11 before it was fixed.
"""

from __future__ import annotations

import math
import os
import shutil
import time

from textual.widgets import Input

from engine import load_path
from engine.examples import chain
from tui.widgets.graph_tree import GraphTree
from tui_helpers import ROOT, make_app, message_of, reload_now, tree_line

HUGE_HEX = "inputs:\n  a: 0x" + "f" * 300 + "\n  b: 3\n  c: 2\nnodes:\n  u: b * c\n  v: a + u\n  J: 3 * v\n"




# --------------------------------------------------------------------------- reloading hostile files


async def test_a_huge_hex_number_on_reload_keeps_the_last_good_graph(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.press("e", "ctrl+u", "4", "enter", "f")
        lecture_copy.write_text(HUGE_HEX)
        await reload_now(app, pilot)
        assert app.is_running
        message = message_of(app)
        assert message.startswith("cgtui:") and "line 2" in message and "too large" in message
        assert "last good" in message
        assert app.session.inputs == {"a": 5.0, "b": 4.0, "c": 2.0} and app.session.unsaved
        assert "J = 3 · v = 39" in tree_line(app, "J")
    assert app.return_code in (0, None)


async def test_a_file_replaced_by_a_fifo_neither_freezes_nor_loses_the_graph(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        lecture_copy.unlink()
        os.mkfifo(lecture_copy)
        started = time.monotonic()
        await reload_now(app, pilot)
        assert time.monotonic() - started < 20  # it used to block the UI thread forever
        assert "is a FIFO" in message_of(app) and "last good" in message_of(app)
        assert "J = 3 · v = 33" in tree_line(app, "J")
        await pilot.press("n")  # the keys still work
        assert app.session.position == 4
    assert app.return_code in (0, None)


async def test_a_file_replaced_by_a_directory_is_named_so(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        lecture_copy.unlink()
        lecture_copy.mkdir()
        await reload_now(app, pilot)
        assert "is a directory" in message_of(app)
        assert app.session.graph.output == "J"


async def test_saving_over_a_fifo_keeps_the_edits(lecture_copy):
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "7", "enter")
        lecture_copy.unlink()
        os.mkfifo(lecture_copy)
        await pilot.press("w")  # changed on disk: overwrite?
        await pilot.press("o")
        assert "FIFO" in message_of(app) and "edits are kept" in message_of(app)
        assert app.session.inputs["a"] == 7 and app.session.unsaved


async def test_a_big_file_is_reloaded_in_a_thread(tmp_path, monkeypatch):
    """The UI thread only looks at the file's size and time; reading and checking run in a worker."""
    import threading

    import engine.graphfile as gf

    path = tmp_path / "chain.yaml"
    path.write_text(chain(3000))
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        path.write_text(chain(3000) + "# edited elsewhere\n")
        on_main_thread = []
        real = gf.load_bytes

        def spy(*args, **kwargs):
            on_main_thread.append(threading.current_thread() is threading.main_thread())
            return real(*args, **kwargs)

        monkeypatch.setattr(gf, "load_bytes", spy)
        await reload_now(app, pilot)
        assert on_main_thread == [False]
        assert "Reloaded" in message_of(app)


async def test_w_saves_in_a_thread(lecture_copy, monkeypatch):
    import threading

    import engine.graphfile as gf

    on_main_thread = []
    real = gf._atomic_write

    def spy(*args, **kwargs):
        on_main_thread.append(threading.current_thread() is threading.main_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(gf, "_atomic_write", spy)
    app = make_app(lecture_copy, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "7", "enter", "w")
        assert on_main_thread == [False]
        assert "Saved" in message_of(app) and not app.session.unsaved
    assert "  a: 7\n" in lecture_copy.read_text()


# --------------------------------------------------------------------------- precision


async def test_the_editor_shows_every_digit_and_an_unchanged_commit_changes_nothing(tmp_path):
    path = tmp_path / "third.yaml"
    text = "inputs:\n  a: 0.3333333333333333\nnodes:\n  J: 3 * a\n"
    path.write_text(text)
    app = make_app(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        before = app.session.value("J")
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        assert app.query_one("#editor-input", Input).value == "0.3333333333333333"
        await pilot.press("enter")
        assert app.session.inputs["a"] == 1 / 3
        assert app.session.value("J") == before == 1.0
        assert not app.session.unsaved
        assert "nothing changed" in message_of(app) and "→" not in message_of(app)
        await pilot.press("w")
    assert path.read_text() == text


async def test_committing_the_same_value_says_nothing_changed_and_keeps_the_descent(tmp_path):
    path = tmp_path / "logistic.yaml"
    shutil.copy(ROOT / "graphs" / "logistic.yaml", path)
    app = make_app(path, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "d")
        assert len(app.session.descent) == 2
        name = app.session.graph.params[0]
        app.query_one(GraphTree).select_name(name)
        await pilot.press("e", "enter")
        assert "nothing changed" in message_of(app) and "Everything recomputed" not in message_of(app)
        assert len(app.session.descent) == 2


async def test_a_change_below_ten_digits_is_shown_in_full(tmp_path):
    path = tmp_path / "third.yaml"
    path.write_text("inputs:\n  a: 0.3333333333333333\nnodes:\n  J: 3 * a\n")
    app = make_app(path, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", *"0.3333333333", "enter")
        assert "a: 0.3333333333333333 → 0.3333333333." in message_of(app)


async def test_descent_results_saved_by_w_reload_bit_for_bit(tmp_path):
    path = tmp_path / "logistic.yaml"
    shutil.copy(ROOT / "graphs" / "logistic.yaml", path)
    app = make_app(path, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "d", "d", "d")
        trained = dict(app.session.inputs)
        assert trained != {i.name: i.value for i in app.session.graph.inputs}
        await pilot.press("w")
        assert not app.session.unsaved
    again = {i.name: i.value for i in load_path(path).graph.inputs}
    assert {n: v.hex() for n, v in again.items()} == {n: v.hex() for n, v in trained.items()}


async def test_negative_zero_typed_in_the_editor_is_saved_as_negative_zero(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text("inputs:\n  a: 1\nnodes:\n  J: 1 / a\n")
    app = make_app(path, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "-", "0", "enter", "w")
        assert app.session.value("J") == -math.inf
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        assert app.query_one("#editor-input", Input).value == "-0.0"
        await pilot.press("escape")
    assert path.read_text() == "inputs:\n  a: -0.0\nnodes:\n  J: 1 / a\n"
    assert math.copysign(1, load_path(path).graph.input_by_name["a"].value) == -1


async def test_zero_made_negative_is_an_unsaved_edit(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text("inputs:\n  a: 0\nnodes:\n  J: 1 / a\n")
    app = make_app(path, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e", "ctrl+u", "-", "0", "enter")
        assert app.session.unsaved and app.session.edited == {"a": -0.0}
        await pilot.press("q")
        assert app.is_running  # asks first: the edit would be lost
        await pilot.press("w")
        assert not app.session.unsaved
    assert path.read_text() == "inputs:\n  a: -0.0\nnodes:\n  J: 1 / a\n"
