"""The key line at the bottom (#12: Textual's Footer filled itself a refresh after the first
frame and recomposed on every change of what is greyed out): one widget, complete in the
first frame, greying out (italics) the keys that cannot act now, drawn again only when that changes."""

from __future__ import annotations

from tui.app import CgtuiApp
from tui.widgets.graph_tree import GraphTree
from tui.widgets.keyline import KeyLine
from tui_helpers import make_app, screen_text

ALL_KEYS = ["n", "p", "f", "e", "w", "?", "q"]


def keys(app: CgtuiApp) -> dict[str, bool]:
    """key -> can act now, as the line shows them."""
    return {key: active for key, _, active in app.query_one(KeyLine).keys}


def styles_on_screen(app: CgtuiApp, word: str) -> list:
    """The styles of the bottom line's segments holding ``word``."""
    strip = app.screen._compositor.render_strips()[-1]
    return [seg.style for seg in strip if word in seg.text]


class FirstFrame(CgtuiApp):
    """Keeps the screen's text as it was when the first frame was handed to the terminal."""

    first_frame: str | None = None

    def _display(self, screen, renderable) -> None:
        if self.first_frame is None and renderable is not None:
            self.first_frame = screen_text(self)
        super()._display(screen, renderable)


async def test_the_first_frame_has_every_key():
    app = make_app()
    app.__class__ = FirstFrame
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.first_frame is not None
        bottom = app.first_frame.split("\n")[-1]
        assert " n Next  p Back  f Finish  e Edit input  w Save  ? Help  q Quit" in bottom, bottom


async def test_keys_that_cannot_act_are_greyed_out_in_italics():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert keys(app) == {"n": True, "p": False, "f": True, "e": True, "w": True, "?": True, "q": True}
        assert all(style.italic for style in styles_on_screen(app, "Back"))
        assert not any(style.italic for style in styles_on_screen(app, "Next"))
        await pilot.press("f", "f")  # the end: nothing further to step
        assert keys(app) == {"n": False, "p": True, "f": False, "e": True, "w": True, "?": True, "q": True}
        assert all(style.italic for style in styles_on_screen(app, "Next"))
        assert not any(style.italic for style in styles_on_screen(app, "Back"))


async def test_while_editing_the_step_keys_are_greyed_out():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("a")
        await pilot.press("e")
        assert app.focused is app.query_one("#editor-input")
        assert keys(app) == {"n": False, "p": False, "f": False, "e": False, "w": True, "?": True, "q": True}
        await pilot.press("escape")
        assert keys(app)["n"] and keys(app)["e"]


async def test_too_small_leaves_only_quit_and_comes_back():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(40, 10)
        await pilot.pause()
        assert keys(app) == {"q": True}
        assert screen_text(app).split("\n")[-1].strip() == "q Quit"
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert list(keys(app)) == ALL_KEYS


async def test_a_narrow_screen_still_shows_help_and_quit():
    app = make_app()
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        bottom = screen_text(app).split("\n")[-1]
        assert "? Help" in bottom and "q Quit" in bottom, bottom


async def test_a_step_that_greys_nothing_does_not_draw_the_line_again():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        line = app.query_one(KeyLine)
        drawn = []
        line.refresh = lambda *a, **k: drawn.append(1)  # type: ignore[method-assign]
        await pilot.press("n")  # forward 1 → 2: every key acts as before
        assert drawn == []
        await pilot.press("f", "f")  # at the end n and f cannot act
        assert drawn


async def test_a_subclass_with_bindings_of_its_own_keeps_the_apps_keys():
    """Textual merges BINDINGS down the classes; so does the line (the benchmark's probe adds hidden keys)."""
    from textual.binding import Binding

    class Probe(CgtuiApp):
        BINDINGS = [Binding("f5", "bell", show=False), Binding("f6", "bell", "Ring")]

    app = make_app()
    app.__class__ = Probe
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert list(keys(app)) == [*ALL_KEYS, "f6"]


async def test_a_key_bound_again_by_a_subclass_keeps_its_place_with_its_new_label():
    """A browser session binds w again as Download: the line says so where it said Save."""
    from textual.binding import Binding

    class Browser(CgtuiApp):
        BINDINGS = [Binding("w", "save", "Download")]

    app = make_app()
    app.__class__ = Browser
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        line = app.query_one(KeyLine).keys
        assert [k for k, _, _ in line] == ALL_KEYS
        assert ("w", "Download", True) in line and all(d != "Save" for _, d, _ in line)
