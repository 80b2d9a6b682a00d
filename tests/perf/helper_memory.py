"""The memory of the app and its nudge helper on a big graph, as a user runs it (tmux).

    .venv/bin/python tests/perf/helper_memory.py                  # chain 100000
    .venv/bin/python tests/perf/helper_memory.py --kind dag --size 100000
    .venv/bin/python tests/perf/helper_memory.py --no-helper      # the app alone, every nudge in-process

Opens ``cgtui --example KIND --size N`` in tmux, then reads ``/proc/PID/smaps_rollup`` and
``/proc/PID/status`` of the app and of every process it forked (the helper) at four points:
opened (the screen drawn, nothing nudged yet but the output), stepped to the end (``f f``),
the first long nudge (the cursor moved down until it is on a variable with 5,000 or more
nodes after it: x on the chain) and ten (``[`` nine times: h
÷10 each, each a new nudge of x). PSS counts a page shared by n processes as 1/n to each, so
the sum of the processes' PSS is the memory the two take together (the goal: ≤ 300 MiB).
Not a test: the figures are for the README, measured a few times.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CGTUI = [sys.executable, "-c", "import sys; from tui.cli import main; sys.argv[0] = 'cgtui'; main()"]
NO_HELPER = [sys.executable, "-c", "import sys; from engine import finite_diff as f; f.HELPER_MIN = f.CHILD_MIN = 10**9;"
             " from tui.cli import main; sys.argv[0] = 'cgtui'; main()"]


def mib(kb: int) -> float:
    return kb / 1024


def memory(pid: int) -> dict[str, float]:
    """Rss, Pss, Private_Dirty, Shared_Dirty (smaps_rollup) and VmHWM (status), in MiB."""
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = mib(int(parts[1]))
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                out["VmHWM"] = mib(int(line.split()[1]))
    return out


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return found


class Tmux:
    def __init__(self, name: str, command: list[str]) -> None:
        self.name = name
        subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "120", "-y", "40", "-c", str(ROOT),
                        " ".join(map(shlex.quote, command))], check=True)
        self.pid = int(self.cmd("list-panes", "-t", name, "-F", "#{pane_pid}").split()[0])

    def cmd(self, *args: str) -> str:
        return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout

    def screen(self) -> str:
        return self.cmd("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        self.cmd("send-keys", "-t", self.name, *keys)

    def wait(self, done, timeout: float = 120.0, quiet: float = 0.5) -> None:
        """Until ``done(screen)`` has held for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        since = None
        while time.monotonic() < deadline:
            ok = done(self.screen())
            now = time.monotonic()
            if ok:
                since = since or now
                if now - since >= quiet:
                    return
            else:
                since = None
            time.sleep(0.05)
        raise RuntimeError(f"timed out; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def report(label: str, app: int) -> float:
    total = 0.0
    for who, pid in [("app", app)] + [("helper", c) for c in children(app)]:
        m = memory(pid)
        total += m["Pss"]
        print(f"{label:34s} {who:6s} pid {pid:7d}  Rss {m['Rss']:6.1f}  Pss {m['Pss']:6.1f}  "
              f"Private_Dirty {m['Private_Dirty']:6.1f}  VmHWM {m['VmHWM']:6.1f} MiB", flush=True)
    print(f"{label:34s} sum of PSS {total:6.1f} MiB", flush=True)
    return total


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kind", default="chain", choices=["chain", "dag"])
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--no-helper", action="store_true", help="no helper process: every nudge in the app's")
    args = p.parse_args()
    command = (NO_HELPER if args.no_helper else CGTUI) + ["--example", args.kind, "--size", str(args.size)]
    tm = Tmux(f"memory-probe-{os.getpid()}", command)
    try:
        tm.wait(lambda s: "q Quit" in s and "nudging" not in s, quiet=2.0)
        report("opened", tm.pid)
        tm.keys("f")
        tm.wait(lambda s: "Forward pass done" in s or "backward 0/" in s)
        tm.keys("f")
        tm.wait(lambda s: "Backward pass done" in s)
        report("stepped to the end (f f)", tm.pid)
        name = None
        for _ in range(80):  # the cursor down to a variable whose nudge is long (x on the chain)
            tm.keys("Down")
            tm.wait(lambda s: "Finite differences:" in s and "nudging" not in s and "one-sided" in s, quiet=0.3)
            screen = tm.screen()
            more = re.search(r"… (\d+) more", screen)
            if more and int(more.group(1)) >= 5_000:
                name = re.search(r"Finite differences: (\S+)", screen).group(1)
                break
        if name is None:
            raise RuntimeError("no variable with a long nudge under the cursor")
        report(f"first long nudge ({name}, {more.group(1)} more)", tm.pid)
        h = 1e-3
        for _ in range(9):
            h = float(f"{h * 0.1:.12g}")  # as the app scales it
            tm.keys("[")
            want = f"h = {h:g}"
            tm.wait(lambda s, want=want: want in s and "nudging" not in s and "one-sided" in s, quiet=0.3)
        report("ten nudges", tm.pid)
    finally:
        tm.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
