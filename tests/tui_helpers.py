"""Helpers for the Pilot tests: build the real app in one line, read the screen as text."""

from __future__ import annotations

from pathlib import Path

from engine import load_bytes, load_path
from engine.session import DebugSession
from tui.app import CgtuiApp
from paths import LECTURE, ROOT  # noqa: F401 (ROOT: for the tests that import it from here)



def make_app(path: Path = LECTURE, inputs: dict[str, float] | None = None, h: float = 1e-3, **kwargs) -> CgtuiApp:
    return CgtuiApp(DebugSession(load_path(path), inputs, h), **kwargs)


def app_from_text(text: str, name: str = "test.yaml") -> CgtuiApp:
    return CgtuiApp(DebugSession(load_bytes(text.encode(), name)))


def screen_text(app: CgtuiApp) -> str:
    """Every line of the screen as the terminal would show it, without colours."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips)


def widget_text(app: CgtuiApp, selector: str) -> str:
    """The text of the screen lines inside one widget's region."""
    widget = app.query_one(selector)
    region = widget.region
    lines = screen_text(app).split("\n")
    return "\n".join(
        line[region.x : region.x + region.width].rstrip()
        for line in lines[region.y : region.y + region.height]
    )


def tree_lines(app: CgtuiApp) -> list[str]:
    """The tree's visible lines (guides included)."""
    return [line for line in widget_text(app, "#tree").split("\n") if line.strip()]


def tree_line(app: CgtuiApp, name: str) -> str:
    """The tree line that defines ``name`` (not a ``↪ name, see above`` line)."""
    for line in tree_lines(app):
        body = line.lstrip("│├└─▼▶●↓■» ")
        if body.startswith(f"{name} = "):
            return line
    raise AssertionError(f"no tree line for {name!r} in:\n" + "\n".join(tree_lines(app)))


async def reload_now(app: CgtuiApp, pilot) -> None:
    """What the 1 s file poll does, at once: read the file in a thread, take the result, draw.

    ``check_disk`` returns its worker; the reload is applied when it finishes, not before.
    """
    worker = app.check_disk(force=True)
    if worker is not None:
        await worker.wait()
    await pilot.pause()


def message_of(app: CgtuiApp) -> str:
    """The message line's text, its wrapping undone."""
    return " ".join(widget_text(app, "#message").split())


async def submit_text(app: CgtuiApp, pilot, text: str) -> None:
    """Put ``text`` in the focused field and press enter: a path typed key by key took seconds a test."""
    from textual.widgets import Input

    field = app.focused
    assert isinstance(field, Input), field
    field.value = text
    field.cursor_position = len(text)
    await pilot.press("enter")
    await pilot.pause()


async def until(pilot, done, tries: int = 40) -> None:
    """Let the app run until ``done()``, for ``tries`` pauses at most (then the test's own assertion
    says what is wrong). ``pilot.pause()`` alone waits until the process looks idle, which a loaded
    machine can fake: a process not given the CPU uses none (Textual's ``wait_for_idle``)."""
    for _ in range(tries):
        if done():
            return
        await pilot.pause()
