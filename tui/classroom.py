"""What a teacher needs in front of a class: the notation, presentation mode, and pictures of the screen.

The app's ``o``, ``P`` and ``x`` keys call these, and so does the command line
(``--notation``, ``--present``, ``--svg``); the app keeps only its bindings.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from engine import text as tx
from engine.safe import printable

PRESENT_CLASS = "-present"
"""The main screen's class in presentation mode (app.tcss styles it)."""


def notation_message(session) -> str:
    """What the message line says after the notation changed, in one line at 80 columns.

    ``Notation dv: in the course's code, dv stands for dJ/dv (o: → ∂J/∂v → dJ/dv).``
    """
    out = session.graph.output
    words = {
        "partial": f"Notation ∂{out}/∂v",
        "d": f"Notation d{out}/dv, as the lecture page writes it",
        "code": f"Notation dv: in the course's code, dv stands for d{out}/dv",
    }
    order = list(tx.NOTATIONS)
    k = order.index(session.notation_style)
    later = [order[(k + 1) % 3], order[(k + 2) % 3]]
    short = {"partial": f"∂{out}/∂v", "d": f"d{out}/dv", "code": "dv"}
    return f"{words[order[k]]} (o: → {' → '.join(short[n] for n in later)})."


def fresh_name(folder: Path, stem: str, suffix: str = ".svg") -> Path:
    """``folder/stem.svg``, or ``stem-2.svg``, ``stem-3.svg``, … : the first name not taken (never overwrite)."""
    for k in range(1, 10_000):
        path = folder / (f"{stem}{suffix}" if k == 1 else f"{stem}-{k}{suffix}")
        if not os.path.lexists(path):
            return path
    raise FileExistsError(f"{stem}{suffix} … {stem}-9999{suffix} all exist in {folder}")


def screenshot_targets(session, step: int) -> list[Path]:
    """Where ``x`` saves, in order of preference: next to the graph file if it has one, then the
    current folder; each a fresh name (``lecture-step8.svg``, ``lecture-step8-2.svg``, …)."""
    path = session.loaded.path
    stem = f"{Path(path).stem if path is not None else 'cgtui'}-step{step}"
    folders = [Path(path).resolve().parent] if path is not None else []
    if Path.cwd() not in folders:
        folders.append(Path.cwd())
    return [fresh_name(folder, stem) for folder in folders]


def save_screenshot(session, svg: str) -> Path:
    """Write ``svg`` under the first name of :func:`screenshot_targets` that can be written; return it.

    Raises:
        OSError: no folder would take it (the last refusal).
    """
    error: OSError | None = None
    for target in screenshot_targets(session, session.position):
        try:
            write_new_text(target, svg)
        except OSError as err:
            error = err
            continue
        return target
    assert error is not None
    raise error


def write_new_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path``, which must not exist yet (a race with another writer is refused, not lost)."""
    with open(path, "x", encoding="utf-8") as f:
        f.write(text)


def parse_size(text: str) -> tuple[int, int]:
    """``120x40`` → (120, 40).

    Raises:
        ValueError: with a message saying what is wrong.
    """
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise ValueError(f"write the terminal size as WIDTHxHEIGHT, such as 120x40, not {text!r}")
    w, h = int(width), int(height)
    if not (60 <= w <= 1000 and 15 <= h <= 500):
        raise ValueError(f"{w}x{h} is outside 60x15 … 1000x500 (below 60x15 cgtui says the terminal is too small)")
    return w, h


def render_svg(session, size: tuple[int, int], view: str | None = None, present: bool = False) -> str:
    """The app's screen for ``session`` (at its position) as an SVG, drawn headless at ``size``.

    Runs the real app with no terminal (Textual's ``run_test``), so the picture is
    exactly what a terminal of that size would show.

    Raises:
        ValueError: ``view`` is not available in this build.
    """
    from tui.app import CgtuiApp

    async def draw() -> str:
        app = CgtuiApp(session, watch_file=False)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            if view is not None and not app.set_view_if_present(view):
                raise ValueError(f"the {view} view is not available in this version of cgtui")
            if present:
                message = app.message
                app.set_presenting(True)
                app.say(message)  # the picture shows the graph, not the key's own message
            await pilot.pause()
            await pilot.pause()
            return app.export_screenshot(title=f"cgtui {printable(session.source, one_line=True)}")

    return asyncio.run(draw())
