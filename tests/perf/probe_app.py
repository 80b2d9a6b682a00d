"""cgtui as a user runs it, logging when each frame reaches the terminal (for bench.py).

    python tests/perf/probe_app.py LOG -- [cgtui arguments]

Appends one line per event to LOG, each with ``time.perf_counter()`` (CLOCK_MONOTONIC,
comparable across processes on Linux):

    pid PID                 the app's process, for /proc/PID/status
    frame T BYTES           Textual's writer thread flushed BYTES to the terminal at T
    fd-start T NAME         the finite-difference panel's worker began its nudge of NAME
    fd-end T NAME CPU       … and finished it, after CPU seconds of its own thread's time
    gc2 T SECONDS           a full (generation 2) garbage collection ended at T, after SECONDS

Textual's LinuxDriver hands each frame to a writer thread, which writes it to stderr
(the terminal) and flushes when its queue is empty; the frame is stamped after that
flush, so the encoding, the queue and the write are all inside the time.

Hidden keys (no footer entry) put the app where the benchmark measures it, exactly as
the app's own jumps do (``App._move`` with the session's ``_move``): F5 the middle of the
forward pass, F6 the middle of the backward pass. F7 points the finite-difference panel
at the first input with its cache emptied (as moving the cursor onto a variable not
nudged yet does: the panel starts its worker) and holds the workers' results undrawn
until F8, so that the frames in between are the frames of the keys sent meanwhile; F9 does
the same with workers that nudge nothing (the same screen, no nudge running); F8 points the
panel back at the output, as at the start.
Nothing else of the app is changed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

log_path, sep, *cgtui_args = sys.argv[1:]
assert sep == "--", "usage: probe_app.py LOG -- [cgtui arguments]"
_log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)


def log(kind: str, extra: str = "") -> None:
    os.write(_log, f"{kind} {time.perf_counter():.6f} {extra}\n".encode())


os.write(_log, f"pid {os.getpid()}\n".encode())

import gc  # noqa: E402

_gc_start = [0.0]


def _on_gc(phase: str, info: dict) -> None:
    if info["generation"] == 2:
        if phase == "start":
            _gc_start[0] = time.perf_counter()
        else:
            log("gc2", f"{time.perf_counter() - _gc_start[0]:.6f}")


gc.callbacks.append(_on_gc)

from textual.drivers import _writer_thread  # noqa: E402


def _run(self) -> None:
    """WriterThread.run (Textual 8.2), stamping each flush."""
    write = self._file.write
    flush = self._file.flush
    get = self._queue.get
    qsize = self._queue.qsize
    pending = 0
    while True:
        text = get()
        if text is None:
            break
        write(text)
        pending += len(text)
        if qsize() == 0:
            flush()
            log("frame", str(pending))
            pending = 0
    flush()


_writer_thread.WriterThread.run = _run

import tui.app  # noqa: E402
from textual.binding import Binding  # noqa: E402
from tui.widgets.panels import FdPanel  # noqa: E402

_compute = getattr(FdPanel, "_compute", None)  # the worker's body (tui/widgets/panels.py): nudge, then draw


_held = False
"""Set by F7, cleared by F8: the workers' results are not drawn meanwhile, so every frame
then comes from the keys the benchmark sends (the nudge itself runs as in the app)."""


_dry = False
"""Set by F9 (cleared by F8): the panel's workers start and end at once without nudging, so
the screen is as under F7 (the cursor on the input, the panel saying "nudging …") with no
nudge running: the baseline of a step during a nudge."""


def _timed_compute(self, session, name):
    log("fd-start", name)
    cpu = time.thread_time()
    if not _dry:
        session.fd(name)
    log("fd-end", f"{name} {time.thread_time() - cpu:.6f}")
    if _dry:
        return
    if not _held:
        _compute(self, session, name)  # cached now: draws at once


if _compute is not None:  # without it the app still runs; bench.py then says the FD row is not measured
    FdPanel._compute = _timed_compute


class BenchApp(tui.app.CgtuiApp):
    CSS_PATH = str(Path(tui.app.__file__).with_name("app.tcss"))
    BINDINGS = [
        Binding("f5", "bench_goto('mid-forward')", show=False),
        Binding("f6", "bench_goto('mid-backward')", show=False),
        Binding("f7", "bench_fd", show=False),
        Binding("f8", "bench_fd_release", show=False),
        Binding("f9", "bench_fd(True)", show=False),
    ]

    def action_bench_goto(self, where: str) -> None:
        s = self.session
        target = s.n_forward // 2 if where == "mid-forward" else s.n_forward + s.n_backward // 2
        self._move(lambda: s._move(target))

    def action_bench_fd(self, dry: bool = False) -> None:
        global _held, _dry
        _held, _dry = True, dry
        s = self.session
        name = s.graph.inputs[0].name
        s._fd_cache.clear()
        if self.selected == name:
            self.redraw()
        else:
            self.selected = name

    def action_bench_fd_release(self) -> None:
        global _held, _dry
        _held = _dry = False
        self.selected = self.session.graph.output  # as at the start: the nudge of the output is short


tui.app.CgtuiApp = BenchApp

from tui.cli import run  # noqa: E402

sys.exit(run(cgtui_args))
