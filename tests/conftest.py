"""Fixtures shared by the test files."""

from __future__ import annotations

import gc
import os
import shutil
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import settings

from paths import LECTURE

# pytest-xdist sets COLUMNS=80 and LINES=24 in its workers; a cgtui started from a test (in
# tmux, or as a subprocess) would take them for its terminal's size and draw 80 × 24 in a
# 100 × 30 window. Textual's headless Pilot tests give their size explicitly.
for _name in ("COLUMNS", "LINES"):
    os.environ.pop(_name, None)

# An environment with PYTHONDONTWRITEBYTECODE=1 (this project's shared machine has it) made every
# run compile everything again: each xdist worker rewrote and compiled all ~60 test modules (~3 s
# of CPU a worker), and each of the ~100 cgtui processes the tests start compiled engine/ and tui/
# (~0.1 s each). The suite keeps the bytecode (in __pycache__/, ignored by git): loaded here, before
# the workers and the subprocesses start, this reaches them all.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# On CI the property tests replay the same examples every run (a red CI blocks a landing, so it
# must not hinge on a lucky draw); a developer's run explores new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


ONE_WORKER = ("tests/test_serve.py",)
"""Modules whose tests one worker runs, in order: the browser tests share one Chromium (a launch
costs about a second of CPU). pytest-xdist's own ``--dist loadgroup`` cannot do it with pytest 9.2
(its ``xdist_group`` suffix is written to a node id pytest no longer reads: pytest-xdist#1386)."""

EARLY = ("tests/test_monkey.py", "tests/test_stateful.py", "tests/test_tensor_app.py::test_random_keys",
         "tests/test_terminal.py")
"""Modules whose tests start first: each is one long test (10-20 s under load) that would otherwise
start last and end the run alone."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long tests first (:data:`EARLY`); every worker sorts its identical collection alike."""
    items.sort(key=lambda item: not item.nodeid.startswith(EARLY))


def _parse_css_once() -> None:
    """Parse each piece of CSS once a worker instead of once an app.

    Every App builds a new ``Stylesheet`` whose parse cache starts empty, so each of the ~550 Pilot
    tests parsed the same app.tcss and DEFAULT_CSS of every widget again: 15 ms of the ~120 ms of
    CPU an app costs to start and take a key. The parse is a function of the text, where it came
    from and the theme's variables; Textual already hands one stylesheet's parsed rules out again
    on every reparse, never changing them, and so does this, across stylesheets. (A process runs
    one app outside the tests: nothing to win there.)
    """
    from textual.css.stylesheet import Stylesheet

    parse_rules = Stylesheet._parse_rules
    parsed: dict[tuple, list] = {}

    def _parse_rules(self, css, read_from, is_default_rules=False, tie_breaker=0, scope=""):
        key = (css, read_from, is_default_rules, tie_breaker, scope, tuple(self._variables.items()))
        rules = parsed.get(key)
        if rules is None:
            rules = parsed[key] = parse_rules(self, css, read_from, is_default_rules, tie_breaker, scope)
        return rules

    Stylesheet._parse_rules = _parse_rules


def pytest_collection_finish(session: pytest.Session) -> None:
    """Freeze what the collection loaded (Textual, SymPy, Hypothesis, every test module: ~170,000
    objects a worker) out of the collector's reach: every full collection walked them again. They
    live as long as the worker; the tests' own garbage is collected as before."""
    _parse_css_once()
    gc.collect()
    gc.freeze()


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Let go of the screens of the apps the test ran. Textual 8.2.8 caches
    ``StylesCache.get_inner_outer`` with ``functools.lru_cache`` on the method, so the cache's keys
    hold up to 1,024 ``StylesCache`` objects of apps long gone, each with its rendered lines
    (~8,000 objects an app: textual#6665): a worker's heap grew with every Pilot test until the
    cache was full, and every full collection walked it. The cache only spares recomputing two
    styles."""
    cache = getattr(sys.modules.get("textual._styles_cache"), "StylesCache", None)
    if cache is not None:
        cache.get_inner_outer.cache_clear()


@pytest.fixture
def earlier_garbage_collected():
    """Collect what earlier tests in this worker left in reference cycles, before a test that makes
    every warning an error: Hypothesis's ``register_random`` runs ``gc.collect()`` inside the test,
    so a file another test left open (a ResourceWarning when collected) failed the wrong test, at
    random (CI, stop 20). Collected here under the default filters, such a leak is still reported,
    in pytest's warnings summary, without failing this test."""
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        gc.collect()


def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """Load scheduling, one test at a time, except that each :data:`ONE_WORKER` module is one unit of
    work (pytest-xdist queues the largest unit first, so it starts at once)."""
    from xdist.scheduler import LoadScopeScheduling

    class Scheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return module if module in ONE_WORKER else nodeid

    return Scheduling(config, log)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: three workers a CPU, as many as the memory holds at ``WORKER_MIB`` each.

    A Pilot test spends about half its wall time waiting for the app to go idle (``pilot.pause()``
    sleeps 20 ms at a time until a sleep passes without CPU), so a core needs more than one worker
    to stay busy. Measured on this project's two-core machine, full suite, runs alternated
    (2026-12-01, 21:50-22:35 UTC): the cores were busy 1.59-1.69 of 2 (CPU time / wall time) in 8
    runs with ``-n 6``, 1.48-1.61 in 4 with ``-n 4``; the machine's own speed moved each total by up
    to 50 % between runs (157-247 s of CPU for the same tests), so wall times alone do not compare."""
    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        available = None
    return workers_for(os.cpu_count() or 1, available)


def workers_for(cpus: int, available_kib: int | None) -> int:
    """Three workers a CPU, no more than ``available_kib`` of memory holds at ``WORKER_MIB`` each
    (unknown memory: no limit), and at least one."""
    workers = 3 * cpus
    if available_kib is not None:
        workers = min(workers, available_kib // 1024 // WORKER_MIB)
    return max(1, workers)


WORKER_MIB = 600
"""Memory to allow a worker: the largest resident set of any process of a full run was 325 MiB
(``/usr/bin/time -f %M``, 2026-12-01; a worker that has run the 100k-node graphs' tests)."""


@pytest.fixture
def lecture_copy(tmp_path: Path) -> Path:
    """A copy of graphs/lecture.yaml in the test's own folder, to edit, save and rewrite."""
    path = tmp_path / "w.yaml"
    shutil.copy(LECTURE, path)
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="rewrite the SVG snapshots in tests/snapshots/ from the screens as they are now")


@pytest.fixture
def snapshot(request: pytest.FixtureRequest, tmp_path: Path):
    """``snapshot(name, svg)``: compare an SVG screenshot with tests/snapshots/NAME (see tests/snapshot.py)."""
    from snapshot import compare

    update = request.config.getoption("--snapshot-update")

    def check(name: str, svg: str) -> None:
        compare(name, svg, update=update, tmp_path=tmp_path)

    return check
