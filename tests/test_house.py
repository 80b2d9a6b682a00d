"""The house stays clean: engine/ never loads Textual or Rich, ruff finds nothing, and the suite
sizes its workers to the machine; one test's leak does not fail another."""

from __future__ import annotations

import gc
import shutil
import subprocess
import sys
import warnings

import pytest

from paths import ROOT


def test_every_engine_module_imports_without_textual_or_rich():
    """Import every module under engine/ in a fresh interpreter (not a hand-picked list)."""
    modules = sorted(f"engine.{p.stem}" for p in (ROOT / "engine").glob("*.py") if p.stem != "__init__")
    assert len(modules) > 10
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(','.join(m for m in ('textual', 'rich') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine/ loaded {out.stdout.strip()}"


def test_ruff_finds_nothing():
    ruff = shutil.which("ruff") or shutil.which("ruff", path=str(__import__("pathlib").Path(sys.executable).parent))
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]' installs it)")
    out = subprocess.run([ruff, "check", "engine", "tui", "tests"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_suite_starts_three_workers_a_cpu_as_far_as_the_memory_goes():
    from conftest import WORKER_MIB, workers_for

    kib_in_a_gib = 1024 * 1024  # /proc/meminfo counts KiB
    assert workers_for(2, 24 * kib_in_a_gib) == 6  # this machine
    assert workers_for(2, None) == 6
    assert workers_for(16, 4 * kib_in_a_gib) == 4 * 1024 // WORKER_MIB  # memory, not CPUs, sets it
    assert workers_for(2, 100 * 1024) == 1  # never none


@pytest.mark.filterwarnings("error")
def test_a_file_an_earlier_test_left_open_is_reported_not_raised(request):
    """conftest's earlier_garbage_collected, which the fuzz tests use: their warnings are errors."""
    was_on = gc.isenabled()
    gc.disable()  # no collection before the fixture's, under this test's "error" filter
    try:
        leak = [open(__file__, encoding="utf-8")]
        leak.append(leak)  # a cycle: only the collector closes the file
        del leak
        with warnings.catch_warnings(record=True) as shown:  # records, and keeps the mark's "error" filter
            request.getfixturevalue("earlier_garbage_collected")
    finally:
        if was_on:
            gc.enable()
    assert [w.category for w in shown] == [ResourceWarning] and "unclosed file" in str(shown[0].message)
