"""Run one engine function in a forked child process and take back its result.

Why: a pure-Python loop over a 100,000-node graph (a finite-difference nudge) run in a
worker thread holds the GIL for most of its 0.3-0.5 s, and the UI thread's frames wait
for it (6 ms became 21-37 ms). A forked child has its own interpreter: it inherits the
walk as it is at the fork (copy-on-write, nothing sent), computes on the other core, and
sends back one pickle through a pipe while the calling thread waits in ``read()``,
which releases the GIL. Same code, same floats: the result is bit for bit the one the
function returns in-process.

Used only where ``os.fork`` exists and only for work long enough to pay for the fork
(~4 ms for a 250 MiB process); anything that goes wrong in the child (or a platform
without fork) falls back to calling the function in this process.
"""

from __future__ import annotations

import os
import pickle
import signal
from typing import Any, Callable

AVAILABLE = hasattr(os, "fork")
"""Whether this platform can fork (POSIX); elsewhere :func:`call` runs the function here."""

_FAILED = b"\x00"
"""What a child writes when the function raised: the parent then runs it itself (and sees why)."""


def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, computed in a forked child when possible.

    The child must not touch anything another thread may hold locked: it only runs
    ``fn`` (pure engine code over objects it inherited), pickles the result and leaves
    with ``os._exit`` (no atexit handler, no flush of inherited buffers). The garbage
    collector is off in the child, so no finalizer of an inherited object runs there.
    """
    if not AVAILABLE:
        return fn(*args)
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return fn(*args)
    if pid == 0:  # the child
        _child(w, r, fn, args)
    os.close(w)
    chunks = []
    try:
        while True:
            chunk = os.read(r, 1 << 20)  # releases the GIL while the child computes
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    data = b"".join(chunks)
    if not data or data == _FAILED:
        return fn(*args)
    return pickle.loads(data)


def _child(w: int, r: int, fn: Callable[..., Any], args: tuple) -> None:
    """In the child: compute, write the pickle, exit (never returns)."""
    code = 1
    try:
        import gc

        gc.disable()
        os.close(r)
        try:  # a signal (a terminal resize) must not reach the parent's event loop through an inherited wakeup fd
            signal.set_wakeup_fd(-1)
            for sig in (signal.SIGWINCH, signal.SIGINT, signal.SIGTSTP):
                signal.signal(sig, signal.SIG_IGN)
        except (ValueError, OSError, AttributeError):
            pass
        try:
            data = pickle.dumps(fn(*args), protocol=pickle.HIGHEST_PROTOCOL)
        except BaseException:
            data = _FAILED
        view = memoryview(data)
        while view:
            view = view[os.write(w, view):]
        code = 0
    finally:
        os._exit(code)
