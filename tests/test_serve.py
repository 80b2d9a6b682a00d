"""``cgtui serve``: the command line, and the app in a real browser (headless Chromium).

The browser tests start ``cgtui serve`` on a free port, open the page in Debian's Chromium driven
by Playwright (``executable_path``, no browser download), press keys, and read the terminal's rows
from xterm.js's own buffer (the page draws them on a canvas; a script added before the page's own
keeps a reference to the terminal object). Skipped, saying why, where Chromium or Playwright is
missing; .ci/run installs both.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paths import LECTURE, ROOT
from tui.serve import decode_share, encode_share, session_command

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def serve(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tui", "serve", *args], capture_output=True, text=True,
                          timeout=30, cwd=cwd or ROOT)


# ---------------------------------------------------------------- the command line


def test_a_missing_file_is_one_line_and_status_2(tmp_path):
    done = serve(str(tmp_path / "nope.yaml"))
    assert done.returncode == 2
    assert done.stderr.startswith("cgtui: ") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


def test_a_port_in_use_is_one_line_and_status_2():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = serve(str(LECTURE), "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith("cgtui: serve: cannot listen on 127.0.0.1 port") and done.stderr.count("\n") == 1
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args, words", [
    (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
    (["--port", "70000"], "not a port number"),
    (["--port", "eighty"], "not a port number"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--max-sessions", "0"], "not a number of sessions"),
])
def test_bad_hosts_and_ports_are_one_line_and_status_2(args, words):
    done = serve(str(LECTURE), *args)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("cgtui: ") and words in done.stderr and done.stderr.count("\n") == 1


def test_the_session_command_is_an_argument_list_with_the_query_as_one_argument():
    query = "step=1&set=a=$(rm -rf ~);`reboot`&x='\"|"
    argv = session_command(Path("/srv/my graphs/-lecture.yaml"), query)
    assert argv[:3] == [sys.executable, "-m", "tui"]
    assert f"--share={query}" in argv
    assert argv[-2:] == ["--", "-lecture.yaml"]  # run in its folder: the folder is not shown
    assert decode_share(encode_share(query)) == query
    assert decode_share("-") == "" and decode_share("!!not base64!!") == ""


def test_an_overlong_query_reaches_the_session_one_character_too_long_and_is_refused_whole():
    from engine import load_path
    from engine.session import DebugSession
    from tui.share import parse_share

    query = "step=1&" + "x" * 9000
    carried = decode_share(encode_share(query))
    assert carried == query[:4097]
    share = parse_share(carried, DebugSession(load_path(LECTURE)))
    assert share.step is None and "too long" in share.problems[0]


async def test_another_sites_page_cannot_open_a_session(server):
    import aiohttp

    url, _, process = server
    ws = url.replace("http://", "ws://") + "ws/-?width=80&height=24"
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws, headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
        async with http.ws_connect(ws, headers={"Origin": url.rstrip("/")}) as same_site:
            first = await same_site.receive(timeout=30)  # the session's first frame
            assert first.type == aiohttp.WSMsgType.BINARY


# ---------------------------------------------------------------- in a browser

try:
    from playwright import sync_api as playwright
except ImportError:  # the command-line tests above still run
    playwright = None
needs_chromium = pytest.mark.skipif(
    playwright is None or not os.path.exists(CHROMIUM),
    reason="Playwright is not installed (pip install -e '.[test]')" if playwright is None
    else "Chromium is absent (Debian: apt-get install chromium; .ci/run does)")

KEEP_TERMINAL = """
Object.defineProperty(Object.prototype, '_addonManager', {configurable: true, set(value) {
  Object.defineProperty(this, '_addonManager', {value, writable: true, configurable: true});
  (window.__terminals = window.__terminals || []).push(this);
}});
"""
"""Run before the page's scripts: xterm.js's Terminal sets _addonManager once, in its constructor."""
ROWS = """() => { const t = (window.__terminals || [])[0]; if (!t) return '';
  const b = t.buffer.active, out = [];
  for (let i = 0; i < t.rows; i++) { const l = b.getLine(b.viewportY + i); out.push(l ? l.translateToString(true) : ''); }
  return out.join('\\n'); }"""


@contextlib.contextmanager
def serving(graph: Path, *extra: str):
    """``cgtui serve`` on ``graph``, on a port the system picks; yields (url, process).

    On leaving, the server is stopped as ctrl+c stops it (killed after 10 s) and its pipes are closed:
    a pipe left open is a ResourceWarning whenever the garbage collector meets it, which fails
    whatever test then runs under ``filterwarnings("error")`` (the fuzz tests).
    """
    with subprocess.Popen([sys.executable, "-m", "tui", "serve", str(graph), "--port", "0", *extra],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=graph.parent) as process:
        try:
            line = process.stdout.readline()
            assert " at http://127.0.0.1:" in line, (line, process.stderr.read() if process.poll() is not None else "")
            yield line.split(" at ", 1)[1].split()[0], process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
        # Popen's own exit closes the pipes and waits


@pytest.fixture
def server(tmp_path, request):
    """``serving`` a copy of the lecture graph; yields (url, file, process).

    A test marked ``@pytest.mark.serve_args(...)`` adds those arguments.
    """
    graph = tmp_path / "lecture.yaml"
    shutil.copy(LECTURE, graph)
    marker = request.node.get_closest_marker("serve_args")
    with serving(graph, *(marker.args if marker else ())) as (url, process):
        yield url, graph, process


def test_a_served_server_ends_and_leaves_no_pipe_open(lecture_copy):
    with serving(lecture_copy) as (url, process):
        assert process.poll() is None and url.startswith("http://127.0.0.1:")
    assert process.returncode == 0  # ctrl+c's way out
    assert process.stdout.closed and process.stderr.closed


@pytest.fixture(scope="module")
def chromium():
    """One Chromium for the module's browser tests (a launch costs about a second of CPU)."""
    with playwright.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def browser(chromium):
    """The module's Chromium; the pages a test opened (each in its own context) are closed after it."""
    yield chromium
    for context in chromium.contexts:
        context.close()


def open_page(browser, url: str, downloads: bool = False, first: str = "cgtui"):
    page = browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=downloads)
    page.add_init_script(KEEP_TERMINAL)
    page.goto(url)
    wait_for_text(page, first)
    page.focus(".xterm-helper-textarea")
    return page


def rows(page) -> str:
    return page.evaluate(ROWS)


def wait_for_text(page, text: str, timeout: float = 30.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        shown = rows(page)
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared; the page shows:\n{rows(page)}")


def sessions(server_process) -> list[int]:
    """The session processes the server runs now (its children)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server_process.pid)], capture_output=True, text=True)
    return [int(p) for p in out.stdout.split()]


async def test_a_session_that_cannot_start_says_so_on_the_page(server):
    import aiohttp

    url, graph, process = server
    graph.write_text("inputs: {a: 1}\nnodes: {J: 3 * }\noutput: J\n")  # broken after the server started
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(url.replace("http://", "ws://") + "ws/-?width=80&height=24") as ws:
            frame = await ws.receive(timeout=30)
    assert frame.type == aiohttp.WSMsgType.BINARY
    assert b"this session could not start" in frame.data
    assert process.poll() is None  # the server goes on


@needs_chromium
def test_three_ns_in_a_browser_show_j_33(server, browser, tmp_path):
    url, _, process = server
    page = open_page(browser, url)
    assert "J = 33" not in rows(page)
    for _ in range(3):
        page.keyboard.press("n")
    shown = wait_for_text(page, "J = 3 · v = 3 × 11 = 33")
    assert "J = 33" in shown and "forward 3/3" in shown
    assert "w Download" in shown  # the footer says what w does here
    page.screenshot(path=str(tmp_path / "three-steps.png"))
    assert (tmp_path / "three-steps.png").stat().st_size > 10_000
    assert len(sessions(process)) == 1
    page.close()
    end = time.monotonic() + 10
    while sessions(process) and time.monotonic() < end:  # the page's session ends with it
        time.sleep(0.1)
    assert sessions(process) == []


@needs_chromium
def test_each_visitor_has_their_own_session_and_a_url_opens_a_state(server, browser):
    url, _, process = server
    first = open_page(browser, url)
    for _ in range(3):
        first.keyboard.press("n")
    wait_for_text(first, "J = 3 · v = 3 × 11 = 33")
    second = open_page(browser, url + "?step=3&set=a=7&bogus=%1b[31m")
    wait_for_text(second, "J = 3 · v = 3 × 13 = 39")
    end = time.monotonic() + 30  # the message line may be drawn a frame after the steps
    while "ignored bogus" not in (shown := rows(second)).replace("\n", " ") and time.monotonic() < end:
        time.sleep(0.1)
    assert "ignored bogus" in shown.replace("\n", " "), shown
    assert "\x1b" not in shown
    assert "J = 33" in rows(first)  # the first visitor's session is untouched
    assert len(sessions(process)) == 2


@needs_chromium
def test_w_downloads_the_edited_file_and_the_servers_file_stays(server, browser, tmp_path):
    url, graph, _ = server
    before = graph.read_bytes()
    page = open_page(browser, url + "?set=a=7", downloads=True)
    wait_for_text(page, "a = 7")
    with page.expect_download(timeout=20_000) as info:
        page.keyboard.press("w")
    download = info.value
    assert download.suggested_filename == "lecture.yaml"
    target = tmp_path / "downloaded.yaml"
    download.save_as(target)
    assert target.read_bytes() == before.replace(b"  a: 5", b"  a: 7")
    wait_for_text(page, "the file on the server stays as it is")
    assert graph.read_bytes() == before


@needs_chromium
def test_an_edit_to_the_servers_file_reaches_an_open_session(server, browser):
    url, graph, _ = server
    page = open_page(browser, url)
    page.keyboard.press("f")
    wait_for_text(page, "J = 3 · v = 3 × 11 = 33")
    graph.write_text(graph.read_text().replace("  b: 3", "  b: 4"))
    wait_for_text(page, "3 × 13 = 39")  # 3 (5 + 4 · 2), at the next poll of the file


@needs_chromium
@pytest.mark.serve_args("--max-sessions", "1")
def test_a_full_server_says_so_and_starts_no_process(server, browser):
    url, _, process = server
    first = open_page(browser, url)
    second = open_page(browser, url, first="this server is full (at most 1 sessions at once)")
    assert len(sessions(process)) == 1
    second.close()
    first.keyboard.press("n")  # the first is still served
    wait_for_text(first, "u = b · c = 3 × 2 = 6")


@needs_chromium
def test_ctrl_c_stops_the_server_and_every_session(server, browser):
    url, _, process = server
    pages = [open_page(browser, url) for _ in range(2)]
    pids = sessions(process)
    assert len(pids) == 2
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=15) == 0
    end = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.monotonic() < end:
        time.sleep(0.1)
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")]
    assert "Traceback" not in process.stderr.read()
    for page in pages:
        page.close()


@needs_chromium
def test_q_ends_the_session_and_restart_opens_the_same_url_again(server, browser):
    url, _, process = server
    page = open_page(browser, url + "?step=2")
    wait_for_text(page, "v = a + u = 5 + 6 = 11")
    page.keyboard.press("q")
    page.wait_for_function("document.body.classList.contains('-closed')", timeout=30_000)
    end = time.monotonic() + 10
    while sessions(process) and time.monotonic() < end:
        time.sleep(0.1)
    assert sessions(process) == []
    page.click("text=Restart")
    wait_for_text(page, "v = a + u = 5 + 6 = 11")  # the URL's state again, in a new session
    assert len(sessions(process)) == 1
