"""A forked helper process that nudges one graph's variables, so the app's process does not.

Why: a pure-Python nudge through a 100,000-node graph in a worker thread holds the GIL
for most of its 0.3-0.5 s, and the UI thread's frames wait for it (6 ms became 21-37
ms). A child process has its own interpreter and runs on the other core; the calling
thread waits in ``read()``, which releases the GIL.

Why one child per graph, forked once, and not a fork per nudge: after a fork every page
of the parent's heap is shared copy-on-write, and CPython writes to every object it
reads (reference counts), so each frame drawn while a child lives copies the pages it
touches (measured: a 14 ms frame took 100-150 ms next to a child that only slept). A
child that stays pays that once; a fork per nudge paid it on every nudge.

The child is forked with the graph and its tape (:class:`DebugSession` does it on
opening a big graph, before the app starts any thread) and runs at the lowest priority
(:data:`NICE`); each request sends the input values of the walk to nudge, and the child
walks the graph again when they changed (the same code on the same numbers: the same
floats) and checks the output against the parent's before it answers. Anything that
goes wrong (no fork on this platform, a dead child, a different output) makes the
caller compute the nudge itself.
"""

from __future__ import annotations

import math
import os
import pickle
import signal
import struct
import threading
import time
import weakref
from typing import Any, Callable

AVAILABLE = hasattr(os, "fork")
"""Whether this platform can fork (POSIX); elsewhere there is no helper and callers compute in-process."""

NICE = 19
"""The helper's scheduling priority, the lowest: it uses an idle core at full speed, but where
the cores are busy (a shared machine, or the app drawing on both) the app's own threads come
first and the nudge waits."""

_LENGTH = struct.Struct("<Q")


class Helper:
    """A child process holding ``graph`` (inherited at the fork) that answers ``serve(graph, request)``.

    Thread-safe: one request at a time (a second caller waits for the first answer).
    """

    def __init__(self, graph, serve: Callable[[Any, Any], Any], setup: Callable[[], None] | None = None) -> None:
        """
        Args:
            serve: ``serve(graph, request)``: the answer, in the child.
            setup: Called once in the child before it serves.
        """
        self.graph = graph
        to_child, child_in = os.pipe()[::-1]  # (write end for us, read end for the child)
        child_out, from_child = os.pipe()[::-1]
        pid = os.fork()
        if pid == 0:  # the child
            os.close(to_child)
            os.close(from_child)
            _child(graph, serve, setup, child_in, child_out)
        os.close(child_in)
        os.close(child_out)
        self.pid = pid
        self._to, self._from = to_child, from_child
        self._lock = threading.Lock()
        self._dead = False
        self._finalizer = weakref.finalize(self, _stop, pid, to_child, from_child)

    def ask(self, request: Any) -> Any:
        """The child's answer to ``request``, or None if it failed (or is gone)."""
        with self._lock:
            if self._dead:
                return None
            try:
                _send(self._to, request)
                return _receive(self._from)
            except (OSError, EOFError, pickle.UnpicklingError):
                self._dead = True
                return None

    @property
    def alive(self) -> bool:
        return not self._dead

    def close(self) -> None:
        """Stop the child (it is stopped anyway when this object is collected, or at exit)."""
        self._dead = True
        self._finalizer()


def _stop(pid: int, *fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except OSError:
        pass


def _send(fd: int, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _read_exactly(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, min(left, 1 << 20))  # releases the GIL while the child computes
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _receive(fd: int) -> Any:
    (n,) = _LENGTH.unpack(_read_exactly(fd, _LENGTH.size))
    return pickle.loads(_read_exactly(fd, n))


def _child(graph, serve, setup, fd_in: int, fd_out: int) -> None:
    """The child's loop: answer requests until the parent closes the pipe; never returns.

    No finalizer of an inherited object may run here (the collector is off), nothing is
    written to the terminal, and the exit skips atexit handlers and inherited buffers.
    """
    code = 0
    try:
        import gc

        gc.disable()
        try:  # background work: where cores are scarce, the app's own threads come first
            os.nice(NICE)
        except OSError:
            pass
        try:  # a terminal resize or ctrl+c must not reach the parent's event loop through an inherited wakeup fd
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGWINCH, signal.SIGINT, signal.SIGTSTP):
                signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError, AttributeError):
            pass
        if setup is not None:
            setup()
        while True:
            try:
                request = _receive(fd_in)
            except EOFError:
                break
            try:
                answer = serve(graph, request)
            except BaseException:
                answer = None
            _send(fd_out, answer)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _running(task_dir: str) -> bool:
    """Whether any thread of the process whose ``/proc/PID/task`` this is runs or waits for a core."""
    for tid in os.listdir(task_dir):
        try:
            with open(f"{task_dir}/{tid}/stat", "rb") as f:
                if f.read().rsplit(b")", 1)[1].split(None, 1)[0] == b"R":
                    return True
        except (OSError, IndexError):
            pass
    return False


def wait_while_parent_runs(limit: float = 0.05) -> None:
    """In a child: wait while a thread of the parent (the app's UI thread, its writer) is
    running or waiting for a core, up to ``limit`` seconds, so that a frame being drawn has the cores.

    Reads the threads' states in ``/proc`` (~15 µs each); where there is none, returns at once.
    """
    task_dir = f"/proc/{os.getppid()}/task"
    deadline = None
    while True:
        try:
            running = _running(task_dir)
        except OSError:
            return
        if not running:
            return
        now = time.monotonic()
        if deadline is None:
            deadline = now + limit
        elif now >= deadline:
            return
        time.sleep(0.001)


def same_float(a: float, b: float) -> bool:
    """The same number (nan as nan; -0.0 told from 0.0)."""
    return (a == b and math.copysign(1.0, a) == math.copysign(1.0, b)) or (a != a and b != b)
