"""One visitor's session of ``cgtui serve`` (tui/browser.py), driven by Pilot: the URL's state,
w as a download that never touches the server's file, and the server's file still watched."""

from __future__ import annotations

from pathlib import Path

from engine import load_bytes, load_path
from tui.app import CgtuiApp
from tui.browser import BrowserApp, download_name, open_session


def make_app(path: Path, query: str = "", *, browser: bool = True):
    session, share = open_session(load_path(path), {}, 1e-3, query)
    app = BrowserApp(session, share)
    delivered: list[tuple[bytes, dict]] = []

    def deliver_binary(file, **kwargs):
        delivered.append((file.read(), kwargs))
        return "key"

    app.deliver_binary = deliver_binary
    app.in_browser = lambda: browser
    return app, delivered


def message(app) -> str:
    return app.message


async def test_the_url_opens_its_step_and_inputs(lecture_copy):
    app, _ = make_app(lecture_copy, "step=6&set=a=7")
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.session.position == 6
        assert app.session.inputs["a"] == 7.0
        assert app.session.walk.values["J"] == 39.0
        assert not app.session.unsaved
        assert "ignored" not in message(app)
        await pilot.press("n")
        assert app.session.position == 7


async def test_left_out_parameters_are_said_in_the_app(lecture_copy):
    app, _ = make_app(lecture_copy, "step=99&set=u=1&rm=-rf&step=2")
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.pause()
        text = message(app)
        assert text.startswith("URL: ")
        assert "ignored step=99" in text and "ignored set=u=1" in text and "ignored rm=-rf" in text
        assert app.session.position == 2  # the first valid step is taken
        assert app.session.inputs["a"] == 5.0


async def test_view_and_notation_are_set_when_the_app_has_them(lecture_copy):
    app, _ = make_app(lecture_copy, "view=picture&notation=d")
    calls = []
    if not hasattr(CgtuiApp, "set_view"):
        async with app.run_test() as pilot:
            await pilot.pause()
            await pilot.pause()
            assert "picture view not available" in message(app)
        app, _ = make_app(lecture_copy, "view=picture&notation=d")
    app.set_view = lambda name: calls.append(("view", name))
    app.set_notation = lambda name: calls.append(("notation", name))
    async with app.run_test() as pilot:
        await pilot.pause()
        await pilot.pause()
        assert calls == [("view", "picture"), ("notation", "d")]
        assert "not available" not in message(app)


async def test_w_delivers_the_edited_file_and_never_writes_the_servers(lecture_copy):
    before = lecture_copy.read_bytes()
    app, delivered = make_app(lecture_copy)
    async with app.run_test() as pilot:
        app.session.set_input("a", 7.0)
        app.redraw()
        assert app.session.unsaved
        await pilot.press("w")
        await pilot.pause()
        assert len(delivered) == 1
        data, kwargs = delivered[0]
        assert kwargs["save_filename"] == "w.yaml"
        assert load_bytes(data, "download").graph.input_by_name["a"].value == 7.0
        assert data.replace(b"a: 7", b"a: 5") == before  # only the value changed, comments kept
        assert "Downloading w.yaml" in message(app)
        assert not app.session.unsaved  # q now quits at once
    assert lecture_copy.read_bytes() == before
    assert sorted(p.name for p in lecture_copy.parent.iterdir()) == ["w.yaml"]


async def test_w_without_a_browser_writes_nothing(lecture_copy):
    before = lecture_copy.read_bytes()
    app, delivered = make_app(lecture_copy, browser=False)
    async with app.run_test() as pilot:
        app.session.set_input("a", 7.0)
        await pilot.press("w")
        await pilot.pause()
        assert delivered == []
        assert "Not saved" in message(app)
    assert lecture_copy.read_bytes() == before


async def test_quitting_with_unsaved_edits_says_w_downloads_them(lecture_copy):
    app, _ = make_app(lecture_copy)
    async with app.run_test() as pilot:
        app.session.set_input("a", 7.0)
        await pilot.press("q")
        assert "q again quits without saving them, w downloads them." in message(app)
        assert app.is_running


async def test_an_edit_to_the_servers_file_reaches_the_session(lecture_copy):
    app, _ = make_app(lecture_copy, "step=3")
    async with app.run_test() as pilot:
        lecture_copy.write_text(lecture_copy.read_text().replace("b: 3", "b: 4"))
        reload = app.check_disk(force=True)
        assert reload is not None
        await reload.wait()
        await pilot.pause()
        assert app.session.inputs["b"] == 4.0
        assert app.session.walk.values["J"] == 39.0  # 3 (5 + 4·2)


def test_download_names_are_plain():
    assert download_name("/srv/class/lecture.yaml") == "lecture.yaml"
    assert download_name('we"ek 2;\r\n.yaml') == "we_ek_2___.yaml"
    assert download_name("..") == "graph.yaml"
    assert download_name("notes.txt") == "notes.txt.yaml"


async def test_no_path_to_the_servers_file_writes_it(lecture_copy):
    """A conflict dialog's "overwrite" or a save-as choice reach FileSync.write: here it refuses."""
    before = lecture_copy.read_bytes()
    app, _ = make_app(lecture_copy)
    async with app.run_test() as pilot:
        app.session.set_input("a", 7.0)
        await app.sync.write(None, overwrite=True).wait()
        await app.sync.write(str(lecture_copy.parent / "other.yaml")).wait()
        await pilot.pause()
        assert "never writes files on the server" in message(app)
    assert lecture_copy.read_bytes() == before
    assert sorted(p.name for p in lecture_copy.parent.iterdir()) == ["w.yaml"]
