"""Where the test suite's CPU goes: a pytest plugin that counts each test, and a report of the counts.

    PYTHONPATH=tests/perf .venv/bin/python -m pytest -q -p suite_cpu     # counts, one file a worker
    .venv/bin/python tests/perf/suite_cpu.py [--top N]                    # the report

For each test (setup, call and teardown), in the process that ran it: the process's CPU time (all
its threads: a Pilot app's workers count), the wall time, the garbage collector's CPU time and full
collections (``gc.callbacks``), and the CPU time of the child processes it started and waited for
(``os.times``: a tmux server or anything else left running is not counted). The counts go to
``$CGTUI_SUITE_CPU`` (default ``/tmp/cgtui-suite-cpu``), one JSON file per xdist worker, emptied at
the start of a run. Counting costs about 1 % of the CPU.

Written for #12's goal of a suite within a minute: on 2026-12-01 it showed ~121 s of the suite's
~141 s of CPU inside the workers' tests (~100 s of it Pilot tests), ~21 s in child processes and
~22 s in garbage collection; the wall time is set by the CPU, as two cores share it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

DIR = Path(os.environ.get("CGTUI_SUITE_CPU", "/tmp/cgtui-suite-cpu"))
"""Where each worker writes its counts."""


class _Counter:
    """The collector's time and full collections, from ``gc.callbacks``."""

    def __init__(self) -> None:
        self.gc_s = 0.0
        self.full = 0
        self._start = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._start = time.process_time()
            return
        self.gc_s += time.process_time() - self._start
        self.full += info["generation"] == 2


_counter = _Counter()
_tests: list[dict] = []


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) starts afresh
        DIR.mkdir(parents=True, exist_ok=True)
        for old in DIR.glob("*.json"):
            old.unlink()
    gc.callbacks.append(_counter)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    cpu, wall, gc_s, full, kids = (time.process_time(), time.perf_counter(), _counter.gc_s, _counter.full,
                                   _children())
    yield
    _tests.append({"test": item.nodeid, "cpu_s": time.process_time() - cpu, "wall_s": time.perf_counter() - wall,
                   "gc_s": _counter.gc_s - gc_s, "full_gcs": _counter.full - full, "children_s": _children() - kids})


def pytest_sessionfinish(session: pytest.Session) -> None:
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    if _tests:
        (DIR / f"{worker}.json").write_text(json.dumps(_tests))


def _children() -> float:
    t = os.times()
    return t.children_user + t.children_system


def report(tests: list[dict], top: int) -> str:
    """Totals, each file's sums (by CPU, largest first) and the ``top`` tests by CPU."""
    keys = ("cpu_s", "wall_s", "gc_s", "children_s")
    total = {k: sum(t[k] for t in tests) for k in keys}
    files: dict[str, dict] = defaultdict(lambda: dict.fromkeys((*keys, "tests"), 0))
    for t in tests:
        f = files[t["test"].split("::")[0]]
        f["tests"] += 1
        for k in keys:
            f[k] += t[k]
    lines = [f"{len(tests)} tests: {total['cpu_s']:.1f} s CPU in the tests' processes, {total['children_s']:.1f} s in "
             f"their children, {total['gc_s']:.1f} s of it collecting ({sum(t['full_gcs'] for t in tests)} full "
             f"collections); {total['wall_s']:.1f} s of wall time summed over the workers",
             "", f"{'cpu s':>7} {'wall s':>7} {'gc s':>6} {'kids s':>6} {'tests':>5}  file"]
    for name, f in sorted(files.items(), key=lambda kv: -kv[1]["cpu_s"]):
        lines.append(f"{f['cpu_s']:7.1f} {f['wall_s']:7.1f} {f['gc_s']:6.1f} {f['children_s']:6.1f} {f['tests']:5d}  {name}")
    lines += ["", f"{'cpu s':>7} {'wall s':>7}  the {top} tests with the most CPU"]
    for t in sorted(tests, key=lambda t: -t["cpu_s"])[:top]:
        lines.append(f"{t['cpu_s']:7.2f} {t['wall_s']:7.2f}  {t['test']}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--top", type=int, default=25, help="how many of the costliest tests to list (default 25)")
    args = p.parse_args(argv)
    files = sorted(DIR.glob("*.json"))
    if not files:
        print(f"suite_cpu: no counts in {DIR}: run the suite with PYTHONPATH=tests/perf and -p suite_cpu first",
              file=sys.stderr)
        return 2
    print(report([t for f in files for t in json.loads(f.read_text())], args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
