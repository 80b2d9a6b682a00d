"""Keeping the graph file and the screen in step: the poll, reloads, saves, and conflicts between them.

The app owns one :class:`FileSync`. Everything that touches the graph file after it was first
loaded happens here, one job at a time, the reading and writing in a thread; what a new
version of the graph means for the views is the app's own business (``CgtuiApp.adopt``).

A session that cannot write files (a browser) replaces :meth:`FileSync.write`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from textual.worker import Worker

from engine import BUILTIN_NAME, SourceError, load_path
from engine import text as tx
from engine.graphfile import ChangedOnDisk, SaveError, disk_stamp, save_inputs
from engine.safe import printable

if TYPE_CHECKING:
    from tui.app import CgtuiApp
    from tui.widgets.dialogs import Choice

# The save dialogs are imported when first opened: the first frame does not need them.


def unsaved_graph(source: str) -> tuple[str, str]:
    """Why a graph with no file of its own needs a name, and the name to propose.

    The built-in graph proposes ``lecture.yaml``, ``--example chain`` ``example-chain.yaml``,
    ``-e`` ``expression.yaml`` (the names the CLI gives them as sources).
    """
    if source == BUILTIN_NAME:
        return "The built-in lecture graph is part of cgtui, not a file of yours.", "lecture.yaml"
    if source.startswith("(example ") and source.endswith(")"):
        kind = source[len("(example "):-1]
        return f"The generated graph (--example {kind}) has no file yet.", f"example-{kind}.yaml"
    if source == "(expression)":
        return "The graph made from the expression (-e) has no file yet.", "expression.yaml"
    return f"{source} has no file yet.", "graph.yaml"


def refusal(err: BaseException) -> str:
    """Why the system refused a file name, in a few words."""
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err).rstrip(".") or type(err).__name__


class FileSync:
    """The graph file's side of the app: what was last seen on disk, and the one file job at a time."""

    def __init__(self, app: CgtuiApp) -> None:
        self.app = app
        path = app.session.loaded.path
        self.stamp = disk_stamp(path) if path else None
        """The file's size and time when last read or written (None: no file, or gone)."""
        self.broken = False
        """Whether the file on disk was last seen invalid (the screen shows the last good graph)."""
        self._work: Worker | None = None
        """The reload or save under way in a thread, if any: one at a time."""

    # ------------------------------------------------------------------ saving

    async def save(self) -> None:
        """What w does: write the inputs into the graph file, or ask for a name if it has none."""
        session = self.app.session
        if session.loaded.path is None:
            self.ask_save_as(*unsaved_graph(session.source))
        else:
            await self.write(None).wait()

    def write(self, path: str | None, overwrite: bool = False) -> Worker:
        """Write the inputs in a thread; the result is taken on the UI thread.

        Args:
            path: Where to write; None: the graph's own file.
            overwrite: Write even if the file changed on disk since it was read.

        Returns the worker: a key or dialog that saves awaits it, so that the keys
        after it wait for the save (the screen still draws meanwhile).
        """
        return self._job(self._write_in_thread(path, overwrite), "save")

    def _job(self, work, name: str) -> Worker:
        """Run ``work`` (a coroutine) as the one file job, after the one under way."""
        before = self._work

        async def after_the_last():
            if before is not None and not before.is_finished:
                try:
                    await before.wait()
                except Exception:  # noqa: BLE001 - it said what went wrong itself; this one goes on
                    pass
            await work

        self._work = self.app.run_worker(after_the_last(), name=name, group="disk", exit_on_error=True)
        return self._work

    async def _write_in_thread(self, path: str | None, overwrite: bool) -> None:
        app = self.app
        session = app.session
        loaded, inputs = session.loaded, dict(session.inputs)
        try:
            new = await asyncio.to_thread(save_inputs, loaded, inputs, path, overwrite_changes=overwrite)
        except ChangedOnDisk:
            from tui.widgets.dialogs import ConflictScreen

            app.push_screen(ConflictScreen(printable(session.source, one_line=True)), self._conflict_chosen)
            return
        except (SaveError, SourceError) as err:
            app.say(f"cgtui: {err}. Your edits are kept; nothing was written.")
            return
        except (OSError, RuntimeError, ValueError) as err:  # a name the system refuses, however it refuses it
            app.say(f"cgtui: cannot save {path}: {refusal(err)}. Your edits are kept; nothing was written.")
            return
        session.replace_graph(new, saved=True)
        self.stamp = disk_stamp(new.path) if new.path else None
        app.say(self.saved_message(new))

    def saved_message(self, new) -> str:
        """What the message line says once ``new`` is written (the app's session already holds it)."""
        inputs = self.app.session.inputs
        return f"Saved {', '.join(f'{n} = {tx.num(v)}' for n, v in inputs.items())} to {new.source}."

    async def _conflict_chosen(self, choice: Choice | None) -> None:
        app = self.app
        if choice == "overwrite":
            await self.write(None, overwrite=True).wait()
        elif choice == "reload":
            if (reload := self.check(force=True)) is not None:
                await reload.wait()
        elif choice == "save_as":
            self.ask_save_as(f"{app.session.source} changed on disk; it stays as it is.", "")
        else:
            app.say("Not saved: the file on disk stays as it is; your edits are kept.")

    def ask_save_as(self, why: str, suggestion: str) -> None:
        """Ask for a new file name (saying ``why``, proposing ``suggestion``), then write there."""
        app = self.app

        async def chosen(path: str | None) -> None:
            if path is None:
                app.say("Not saved; your edits are kept.")
                return
            try:  # ~nosuchuser, a 300-character name, a NUL: each refused in its own way
                target = Path(path).expanduser()
                exists = target.exists()
            except (OSError, RuntimeError, ValueError) as err:
                reason = f"there is no home folder {path.split('/')[0]}" if isinstance(err, RuntimeError) else refusal(err)
                app.say(f"cgtui: cannot save as {path}: {reason}. Your edits are kept; nothing was written.")
                return
            if exists:
                app.say(f"{path} already exists: w again, and choose a new name.")
            else:
                await self.write(str(target)).wait()

        from tui.widgets.dialogs import SaveAsScreen

        app.push_screen(SaveAsScreen(printable(why, one_line=True), suggestion), chosen)

    # ------------------------------------------------------------------ reloading

    def check(self, force: bool = False) -> Worker | None:
        """Reload the graph file if it changed on disk; keep the last good graph if it broke.

        Only the file's size and time are looked at here; reading and checking it
        happen in a thread (a big file takes seconds), and the result is taken on
        the UI thread. While a reload or save is under way the poll waits for it.

        Returns:
            The worker doing it (a test awaits ``.wait()``), or None when there is nothing to do.
        """
        path = self.app.session.loaded.path
        if path is None:
            return None
        if self._work is not None and not self._work.is_finished:
            return self._job(self._reload(path, force), "reload") if force else None
        if disk_stamp(path) == self.stamp and not force:
            return None
        return self._job(self._reload(path, force), "reload")

    def refusal_of(self, new) -> str | None:
        """Why this app cannot show the file's new version, or None when it can."""
        if getattr(new.graph, "tensor", False):  # vectors and matrices (#15) open in tui/tensor_app.py
            return "is now a graph of vectors and matrices, which opens in its own app"
        return None

    async def _reload(self, path: Path, force: bool) -> None:
        app = self.app
        session = app.session
        if path != session.loaded.path:
            return  # saved under another name meanwhile
        stamp = disk_stamp(path)
        if stamp == self.stamp and not force:
            return
        self.stamp = stamp
        if stamp is None:
            app.say(f"{session.source} is gone from disk; w writes it again.")
            return
        try:
            new = await asyncio.to_thread(load_path, path)
        except SourceError as err:
            self.broken = True
            app.say(f"cgtui: {err} (showing the last good version)")
            return
        except Exception as err:  # noqa: BLE001 - whatever a file does, the edits on screen stay
            self.broken = True
            app.say(f"cgtui: {session.source}: cannot read it ({type(err).__name__}: {err}) (showing the last good version)")
            return
        if path != session.loaded.path:
            return
        refused = self.refusal_of(new)
        if refused:
            self.broken = True
            app.say(f"cgtui: {session.source} {refused}: quit and open it again (showing the last good version)")
            return
        was_broken, self.broken = self.broken, False
        if new.text == session.loaded.text and not force:
            if was_broken:
                app.say(f"{session.source} is valid again, as it was.")
            return
        app.adopt(new)
