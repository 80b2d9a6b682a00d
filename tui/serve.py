"""``cgtui serve FILE``: the same app in a browser, one session per visitor (textual-serve).

Each page that opens starts its own process, ``python -m tui --browser --share=QUERY -- FILE``
(``tui/browser.py``), run with an argument list, never through a shell: the page's query
reaches it as one argument, read there against the graph (``tui/share.py``), never run.

textual-serve's page opens its websocket at a fixed URL, to which its script appends the
terminal's size; the page's own query would be lost. So the index page here writes the query,
base64url-encoded, into the websocket's path (``/ws/<query>``), and the session's command gets
it back from there. The page's other URLs are relative to the host the browser asked for, so
``--host 0.0.0.0`` works for a browser on another machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import logging
import re
import signal
import socket
import sys
from pathlib import Path
from typing import Any, NoReturn, Sequence
from urllib.parse import urlsplit

from aiohttp import web

from engine import SourceError, load_builtin, load_path

MAX_SESSIONS = 100
"""Sessions open at once by default: each is a process (~42 MiB); see the README's figures."""
MAX_SHARE = 4096
"""Longer queries are cut off one character past this (tui/share.py then refuses the query whole)."""
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


class UsageError(Exception):
    """A ``cgtui serve`` command line that cannot be followed; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"serve: {message} (see 'cgtui serve --help')")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cgtui serve",
        description="Serve cgtui in the browser: every visitor gets their own session of the same graph. "
        "Saving (w) downloads the file with the visitor's values; the server's file is never written. "
        "A URL can open a state: /?step=6&set=a=7&view=picture&notation=d.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="a graph file (YAML); default: the built-in lecture graph")
    p.add_argument("--host", default="127.0.0.1",
                   help="the address to listen on (default 127.0.0.1: this machine only; 0.0.0.0: every network)")
    p.add_argument("--port", type=_port, default=8000, help="the port (default 8000; 0 picks a free one)")
    p.add_argument("--max-sessions", type=_count, default=MAX_SESSIONS, metavar="N",
                   help=f"sessions open at once; one more is told the server is full (default {MAX_SESSIONS})")
    return p


def _count(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of sessions (1 to 10,000)")
    return int(text)


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0 to 65535)")
    return int(text)


def session_command(path: Path | None, query: str) -> list[str]:
    """The argument list one visitor's session runs: this Python, cgtui, the server's file.

    The file is named without its folder (the session runs in that folder): the app shows the
    name, and visitors need not see where the file lives on the server.
    """
    argv = [sys.executable, "-m", "tui", "--browser", f"--share={query[: MAX_SHARE + 1]}"]
    return argv + (["--", path.name] if path is not None else [])


def encode_share(query: str) -> str:
    """A page's query as one path segment (one character past the limit: the session then refuses it whole)."""
    return base64.urlsafe_b64encode(query[: MAX_SHARE + 1].encode("utf-8")).decode("ascii").rstrip("=") or "-"


def decode_share(token: str) -> str:
    """The query a websocket path carries; "" for anything that is not one."""
    if token == "-" or len(token) > MAX_SHARE * 2:
        return ""
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def _server_classes():
    """textual-serve's server and app service, taught to run an argument list (imported late)."""
    from textual_serve.app_service import AppService
    from textual_serve.server import Server

    class SessionService(AppService):
        """One visitor's process, started from an argument list: no shell sees the URL."""

        def __init__(self, argv: list[str], cwd: Path | None, live: set, **kwargs: Any) -> None:
            super().__init__(" ".join(argv), **kwargs)
            self.argv = argv
            self.cwd = cwd
            self.live = live
            self.shown = False
            """Whether the session has sent the page anything (a session that could not start has not)."""

        async def on_data(self, payload: bytes) -> None:
            self.shown = True
            await super().on_data(payload)

        async def run(self) -> None:
            await super().run()  # until the process ends; its stderr goes to the server's terminal
            if not self.shown:  # it never started: say so on the page, which stays open to show it
                try:
                    await self.remote_write_bytes(
                        "\r\n  cgtui: this session could not start; the server's terminal says why"
                        " (a graph file changed into one cgtui cannot read?). Reload the page to try again.\r\n".encode())
                except ConnectionError:
                    pass

        async def _open_app_process(self, width: int = 80, height: int = 24):
            environment = self._build_environment(width=width, height=height)
            self._process = process = await asyncio.create_subprocess_exec(
                *self.argv, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=environment, cwd=self.cwd)
            self.live.add(process)
            self._stdin = process.stdin
            return process

    class CgtuiServer(Server):
        """textual-serve's server with a session command per page and URLs relative to the request."""

        def __init__(self, path: Path | None, title: str, host: str, port: int,
                     max_sessions: int = MAX_SESSIONS) -> None:
            super().__init__(" ".join(session_command(path, "")), host=host, port=port, title=title)
            self.path = path
            self.max_sessions = max_sessions
            self.open = 0
            """Sessions open now (counted from the websocket's opening, before the process starts)."""
            self.live: set[asyncio.subprocess.Process] = set()

        async def _make_app(self) -> web.Application:
            app = await super()._make_app()
            app.router.add_get("/ws/{share}", self.handle_websocket, name="session")
            return app

        async def on_startup(self, app: web.Application) -> None:
            pass  # textual-serve prints its logo here; cgtui says one line once it listens

        async def handle_index(self, request: web.Request) -> web.Response:
            import aiohttp_jinja2

            host = request.host if _HOST_HEADER.match(request.host or "") else f"{self.host}:{self.port}"
            scheme = "wss" if request.secure else "ws"
            try:
                font_size = max(6, min(48, int(request.query.get("fontsize", "16"))))
            except ValueError:
                font_size = 16
            context = {
                "font_size": font_size,
                "app_websocket_url": f"{scheme}://{host}/ws/{encode_share(request.query_string)}",
                "config": {"static": {"url": "/static/"}},
                "application": {"name": self.title},
            }
            return aiohttp_jinja2.render_template("app_index.html", request, context)

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            from textual_serve.server import to_int

            websocket = web.WebSocketResponse(heartbeat=15)
            width = max(1, min(500, to_int(request.query.get("width", "80"), 80)))
            height = max(1, min(300, to_int(request.query.get("height", "24"), 24)))
            query = decode_share(request.match_info.get("share", "-"))
            service = None
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != request.host:
                # another site's page, opening sessions on this machine from a visitor's browser
                raise web.HTTPForbidden(text="cgtui: sessions open from this server's own page only")
            if self.open >= self.max_sessions:
                await websocket.prepare(request)
                await websocket.send_bytes(f"\r\n  cgtui: this server is full (at most {self.max_sessions} "
                                           "sessions at once). Try again in a while.\r\n".encode())
                async for _ in websocket:  # the message stays on the page until it is closed
                    pass
                return websocket
            self.open += 1
            try:
                await websocket.prepare(request)
                service = SessionService(
                    session_command(self.path, query), self.path.parent if self.path else None, self.live,
                    write_bytes=websocket.send_bytes, write_str=websocket.send_str, close=websocket.close,
                    download_manager=self.download_manager, debug=self.debug)
                await service.start(width, height)
                try:
                    await self._process_messages(websocket, service)
                finally:
                    await service.stop()
            except asyncio.CancelledError:
                await websocket.close()
            except Exception as error:  # noqa: BLE001 - one visitor's trouble ends their session only
                logging.getLogger("textual-serve").exception(error)
            finally:
                self.open -= 1
                if service is not None:
                    await service.stop()
                    if service._process is not None:
                        self.live.discard(service._process)
            return websocket

    return CgtuiServer


async def _serve(server, host: str, port: int, announce) -> None:
    app = await server._make_app()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    addresses = runner.addresses  # the port actually bound (for --port 0)
    announce(addresses[0][1] if addresses else port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for process in list(server.live):  # each session is told to quit as its socket closes
            if process.returncode is None:
                process.terminate()
        await runner.cleanup()


def run_serve(argv: Sequence[str]) -> int:
    """``cgtui serve``: return its exit status (2 for a command line or file it cannot use)."""
    from tui.cli import say

    try:
        args = build_parser().parse_args(argv)
        if args.file is not None:
            path = Path(args.file).resolve()
            loaded = load_path(path)
        else:
            path, loaded = None, load_builtin()
    except (UsageError, SourceError) as err:
        say(str(err))
        return 2
    title = f"cgtui · {loaded.graph.title or loaded.source}"
    server = _server_classes()(path, title, args.host, args.port, args.max_sessions)
    logging.basicConfig(level=logging.WARNING, format="cgtui serve: %(message)s")

    def announce(port: int) -> None:
        everywhere = args.host in ("0.0.0.0", "::", "")
        shown = "127.0.0.1" if everywhere else args.host if ":" not in args.host else f"[{args.host}]"
        print(f"cgtui: serving {loaded.source} at http://{shown}:{port}/ — each visitor gets their own "
              "session; Ctrl+C stops.", flush=True)
        if everywhere:
            print(f"cgtui: listening on every network of this machine: give students http://ADDRESS:{port}/ "
                  "(ADDRESS: this machine's, see hostname -I); anyone who can reach it can open sessions.",
                  flush=True)

    try:
        asyncio.run(_serve(server, args.host, args.port, announce))
    except OSError as err:
        reason = err.strerror or str(err) or type(err).__name__
        if isinstance(err, socket.gaierror):
            reason = f"no such host ({reason})"
        say(f"serve: cannot listen on {args.host} port {args.port}: {reason}")
        return 2
    except KeyboardInterrupt:
        pass
    return 0

