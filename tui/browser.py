"""One visitor's session under ``cgtui serve``: the same app, with ``w`` delivering a download.

``cgtui serve`` starts ``cgtui --browser --share=QUERY FILE`` for each visitor (see
``tui/serve.py``). The app is the terminal's, with two differences:

- ``w`` never writes the server's file: the file with the session's input values is sent to the
  visitor's browser as a download (Textual's ``deliver_binary``).
- It opens at the state the page's URL asked for (``tui/share.py``), and says what it left out.

File watching is unchanged: an edit to the server's file reaches every session as a reload.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.binding import BindingType
from textual.worker import Worker

from engine import text as tx
from engine.graphfile import with_inputs
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui.keys import Key
from tui.sync import FileSync
from tui.share import Share, parse_share


def download_name(source: str) -> str:
    """The file name a download is offered under: the graph file's, in plain letters.

    textual-serve puts it unquoted in a ``Content-Disposition`` header, so only letters, digits,
    ``.``, ``_`` and ``-`` are kept.
    """
    name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(source).name).lstrip(".")
    return name if name.endswith((".yaml", ".yml")) else (name or "graph") + ".yaml"


def open_session(loaded, overrides: dict[str, float], h: float, query: str) -> tuple[DebugSession, Share]:
    """A session of ``loaded`` at the state ``query`` asks for (inputs, then step)."""
    probe = DebugSession(loaded, overrides, h)
    share = parse_share(query, probe)
    if not share.inputs:
        session = probe
    else:  # the URL's values count as opened with, like --set: w delivers them, q does not ask
        session = DebugSession(loaded, {**overrides, **share.inputs}, h)
    for _ in range(min(share.step or 0, session.total)):
        session.step()
    return session, share


class BrowserSync(FileSync):
    """The file's side of a browser session: the server's file is watched and reloaded, never written."""

    async def save(self) -> None:
        """What w does here: send the graph file with this session's input values to the browser."""
        app = self.app
        session = app.session
        if not app.in_browser():
            app.say("Not saved: this session has no browser to download to, and never writes the server's file.")
            return
        loaded = session.loaded
        data = (b"\xef\xbb\xbf" if loaded.bom else b"") + with_inputs(loaded, session.inputs).encode("utf-8")
        name = download_name(session.source)
        app.deliver_binary(io.BytesIO(data), save_filename=name, mime_type="application/yaml", name="graph")
        session.saved_inputs = dict(session.inputs)  # in the visitor's hands now: q no longer asks
        values = ", ".join(f"{n} = {tx.num(v)}" for n, v in session.inputs.items())
        app.say(f"Downloading {name} ({values}); the file on the server stays as it is.")

    def write(self, path: str | None, overwrite: bool = False) -> Worker:
        """Never: whatever asks (a dialog's choice), the server's file and its folder stay as they are."""
        async def refuse() -> None:
            self.app.say("Not saved: a browser session never writes files on the server; w downloads the graph.")

        return self._job(refuse(), "save")


class BrowserApp(CgtuiApp):
    """:class:`CgtuiApp` for a browser session: saving is a download; the URL's state is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Key("w", "save", "Download", section="Inputs and the file",
            help="download the graph file with your input values (nothing is written on the server)"),
    ]
    SAVE_HINT = "w downloads them"

    def __init__(self, session: DebugSession, share: Share | None = None, **kwargs) -> None:
        """
        Args:
            session: The session, already at the URL's inputs and step (:func:`open_session`).
            share: What the URL asked for: the view and notation are set once the app is up,
                and the parameters left out are said on the message line.
        """
        super().__init__(session, **kwargs)
        self.share = share or Share()
        self.sync = BrowserSync(self)

    def on_mount(self) -> None:
        # CgtuiApp's on_mount runs after this one and writes the file's description on the
        # message line: the URL's words come after it
        self.call_after_refresh(self._apply_share)

    def _apply_share(self) -> None:
        share, said = self.share, []
        for what, value, method in (("view", share.view, "set_view"), ("notation", share.notation, "set_notation")):
            if value is None:
                continue
            setter = getattr(self, method, None)
            if setter is None:
                said.append(f"{value} {what} not available in this version")
                continue
            try:
                setter(value)
            except (KeyError, ValueError) as err:
                said.append(f"{what} {value} not available ({err})")
        said += share.problems
        if said:
            self.say("URL: " + "; ".join(said) + ".")

    def in_browser(self) -> bool:
        """Whether a browser is there to take a download (a test stands one in)."""
        return self.is_web

    @on(events.DeliveryFailed)
    def _download_failed(self, event: events.DeliveryFailed) -> None:
        if event.name == "graph":
            self.say(f"The download failed ({event.exception}); w tries again.")


def run_browser_session(loaded, overrides: dict[str, float], h: float, query: str) -> int:
    """Run one visitor's session (the command ``cgtui serve`` starts); return its exit status.

    A crash leaves no recovery file beside the server's graph file (the terminal app does):
    the visitor's edits were never the server's.
    """
    session, share = open_session(loaded, overrides, h, query)
    app = BrowserApp(session, share)
    app.run()
    return 1 if app.return_code else 0
