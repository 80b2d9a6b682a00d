"""A helper process that nudges one graph's variables, so the app's process does not.

Why: a pure-Python nudge through a 100,000-node graph in a worker thread holds the GIL
for most of its 0.3-0.9 s, and the UI thread's frames wait for it (6 ms became 21-37
ms). A child process has its own interpreter and runs on the other core; the calling
thread waits in ``read()``, which releases the GIL.

Why a fresh interpreter (``python -c``, started with :mod:`subprocess`) and not a fork of
the app: a forked child shares the app's heap copy-on-write, but CPython writes to every
object it touches (reference counts, the collector's links), so each page either process
touched after the fork became a copy: on the 100k chain the forked helper ended with ~120
MiB of its own (PSS) beside the app's ~215, and frames drawn next to it paid for the copies.
A fresh interpreter shares nothing to unshare: it holds what it is sent (the tape's flat
``array`` columns and the walk's slots as one ``array('d')``, ~10 MiB on the 100k chain),
the interpreter and the engine's modules (~12 MiB), and the nudge's copies while it runs.
Nothing of it is inherited, so it starts the same with or without threads in the app.

The child runs at the lowest priority (:data:`NICE`, its autogroup's too) in a session of its
own (no signal from the terminal reaches it), writes nothing to the terminal, and ends when the
app closes its pipe, exits or dies. Anything that goes wrong (no process can be started, a dead
child, a refused request) makes the caller compute the nudge itself.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import signal
import struct
import subprocess
import sys
import threading
import time
import weakref
from array import array
from typing import Any

AVAILABLE = os.name == "posix"
"""Whether a helper can be started here (POSIX: pipes, ``/proc``, ``nice``); elsewhere there is
no helper and callers compute in-process."""

NICE = 19
"""The helper's scheduling priority, the lowest: it uses an idle core at full speed, but where
the cores are busy (a shared machine, or the app drawing on both) the app's own threads come
first and the nudge waits.

Set twice (:func:`_lower_priority`): as the process's nice value, and as the nice value of its
autogroup. Linux with autogroups (``kernel.sched_autogroup_enabled``, on by default) puts each
session in a scheduling group of its own, and a nice value only ranks a process against the
others of its group: the helper, alone in its session, had a whole group's share of the cores
beside the app's, as if at nice 0. Measured with the app, its helper and tmux on one core
(``/proc/PID/task/*/schedstat``): a step's threads waited 8.2-12.5 ms for the core with a nudge
running and 1.2-9.8 ms without; with the autogroup at 19, 0.8-5.4 ms against 0.8-6.3 ms."""

_LENGTH = struct.Struct("<Q")
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The folder holding the ``engine`` package, put first on the child's ``PYTHONPATH``."""
_BOOT = "import engine.forked as f; f._child_main()"


class Helper:
    """A child process answering ``serve(request)``, ``serve`` a function named ``"module:name"``
    that the child imports (it inherits nothing: each request carries what it needs, or what
    an earlier one left in the child).

    Thread-safe: one request at a time (a second caller waits for the first answer).
    :attr:`lock` lets a caller hold the helper across a check of :attr:`memo` and a request.
    """

    def __init__(self, serve: str, setup: str | None = None) -> None:
        """
        Args:
            serve: ``"module:function"``; ``function(request)`` is the answer, in the child.
            setup: ``"module:function"`` called once in the child before it serves, or None.

        Raises:
            OSError: no process could be started.
        """
        to_child, child_in = os.pipe()[::-1]  # (write end for us, read end for the child)
        child_out, from_child = os.pipe()[::-1]
        if not sys.executable:
            raise OSError("no Python interpreter to start")
        env = dict(os.environ)
        # a big block (a copy of the slots) goes back to the system when freed: glibc's default
        # raises its threshold for that as blocks are freed, and then keeps them in the heap
        env.setdefault("MALLOC_MMAP_THRESHOLD_", str(1 << 17))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        try:
            proc = subprocess.Popen([sys.executable, "-c", _BOOT, serve, setup or ""], stdin=child_in,
                                    stdout=child_out, stderr=subprocess.DEVNULL, close_fds=True,
                                    start_new_session=True, env=env, cwd=_ROOT)
        except BaseException:
            for fd in (to_child, child_in, child_out, from_child):
                os.close(fd)
            raise
        os.close(child_in)
        os.close(child_out)
        self.pid = proc.pid
        self._to, self._from = to_child, from_child
        self.lock = threading.RLock()
        self.memo: dict[str, Any] = {}
        """The caller's notes about what the child holds (kept with it, and gone with it)."""
        self._dead = False
        self._finalizer = weakref.finalize(self, _stop, proc, to_child, from_child)

    def ask(self, request: Any) -> Any:
        """The child's answer to ``request``, or None if it failed (or is gone)."""
        with self.lock:
            if self._dead:
                return None
            try:
                _send(self._to, request)
                return _receive(self._from)
            except Exception:  # (a pipe broken, or half a message: the next one could not be read right)
                self.close()
                return None

    @property
    def alive(self) -> bool:
        return not self._dead

    def close(self) -> None:
        """Stop the child (it is stopped anyway when this object is collected, or at exit)."""
        self._dead = True
        self._finalizer()


def _stop(proc: subprocess.Popen, *fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        proc.kill()
        proc.wait()
    except OSError:
        pass


class _Pickler(pickle.Pickler):
    """Pickles every ``array.array`` out of band (:func:`_send`)."""

    def __init__(self, file) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.arrays: list[array] = []

    def persistent_id(self, obj):
        if type(obj) is array:
            self.arrays.append(obj)
            return len(self.arrays) - 1
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, arrays: list[array]) -> None:
        super().__init__(file)
        self.arrays = arrays

    def persistent_load(self, pid):
        return self.arrays[pid]


_ARRAY = struct.Struct("<cQ")


def _send(fd: int, obj: Any) -> None:
    """Write ``obj``: its pickle's length, each ``array.array`` in it by typecode and size, the
    pickle without them, then their bytes, written from the arrays themselves (on the 100k
    chain the tape's columns and the walk's slots are ~12 MiB: no copy of them is made here,
    and :func:`_receive` reads them straight into new arrays)."""
    out = io.BytesIO()
    pickler = _Pickler(out)
    pickler.dump(obj)
    arrays = pickler.arrays
    head = [_LENGTH.pack(out.tell()), _LENGTH.pack(len(arrays))]
    head += [_ARRAY.pack(a.typecode.encode(), len(a) * a.itemsize) for a in arrays]
    _write_all(fd, b"".join(head))
    _write_all(fd, out.getbuffer())
    for a in arrays:
        _write_all(fd, a)


def _write_all(fd: int, data) -> None:
    view = memoryview(data).cast("B")
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


def _read_into(fd: int, a: array) -> None:
    view = memoryview(a).cast("B")
    while view:
        n = os.readv(fd, [view])
        if not n:
            raise EOFError
        view = view[n:]


def _receive(fd: int) -> Any:
    n, count = struct.unpack("<QQ", _read_exactly(fd, 2 * _LENGTH.size))
    shapes = [_ARRAY.unpack(_read_exactly(fd, _ARRAY.size)) for _ in range(count)]
    data = _read_exactly(fd, n)
    arrays = []
    for typecode, nbytes in shapes:
        a = array(typecode.decode())
        if nbytes:
            a = array(a.typecode, [0]) * (nbytes // a.itemsize)
            _read_into(fd, a)
        arrays.append(a)
    return _Unpickler(io.BytesIO(data), arrays).load()


def _child_main() -> None:
    """The child's loop (``python -c``, see :class:`Helper`): answer requests read from stdin on
    stdout until the parent closes the pipe; never returns."""
    code = 0
    try:
        import importlib

        fd_in, fd_out = 0, os.dup(1)
        os.dup2(2, 1)  # stdout carries answers only: anything printed goes where stderr goes (nowhere)
        lowered = _lower_priority()  # background work: where cores are scarce, the app's threads come first
        try:  # (a session of its own already keeps the terminal's signals away)
            for sig in (signal.SIGWINCH, signal.SIGINT, signal.SIGTSTP):
                signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError, AttributeError):
            pass

        def named(spec: str):
            module, _, name = spec.partition(":")
            return getattr(importlib.import_module(module), name)

        serve_spec, setup_spec = sys.argv[1], sys.argv[2]
        serve = named(serve_spec)
        if setup_spec:
            named(setup_spec)()
        while True:
            try:
                request = _receive(fd_in)
            except EOFError:
                break
            if not lowered:  # (refused for now: tried again before each nudge)
                lowered = _lower_priority(nice=False)
            try:
                answer = serve(request)
            except BaseException:
                answer = None
            _send(fd_out, answer)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _lower_priority(nice: bool = True) -> bool:
    """In the helper: take the lowest priority (:data:`NICE`), as the process's nice value (when
    ``nice``) and as its autogroup's. False when the autogroup's could not be set yet: Linux lets
    an unprivileged process set one only every 100 ms on the whole machine (EAGAIN), so the caller
    tries again later; True when it is set, or where there are no autogroups to set."""
    if nice:
        try:
            os.nice(NICE)
        except OSError:
            pass
    try:
        fd = os.open("/proc/self/autogroup", os.O_WRONLY)
        try:
            os.write(fd, str(NICE).encode())
        finally:
            os.close(fd)
    except BlockingIOError:  # (EAGAIN: another process set an autogroup's nice value less than 100 ms ago)
        return False
    except OSError:  # no autogroups here (not Linux, or a kernel without them): the nice value is enough
        pass
    return True


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


_PARENT = [os.getppid()]
"""The parent this process started with (in a helper: the app)."""


def wait_while_parent_runs(limit: float = 0.05) -> None:
    """In a child: wait while a thread of the parent (the app's UI thread, its writer) is
    running or waiting for a core, up to ``limit`` seconds, so that a frame being drawn has the cores.

    Reads the threads' states in ``/proc`` (~15 µs each); where there is none, returns at once.
    """
    parent = os.getppid()
    if parent != _PARENT[0]:  # the app is gone (this process was handed to another parent): nothing to do
        os._exit(0)
    task_dir = f"/proc/{parent}/task"
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
