"""The benchmark must keep running: a --quick run prints every row (its timings are not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("bench.py")


def test_bench_quick_prints_every_row():
    pytest.importorskip("micrograd", reason="the bench extra (micrograd) is not installed")
    out = subprocess.run([sys.executable, str(BENCH), "--quick", "--json"], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    whats = [r["what"] for r in rows]
    for expected in ("startup", "headless --json", "one step, key to frame", "engine forward + backward",
                     "finite differences", "load a", "refuse a 1 MiB", "peak memory"):
        assert any(expected in w for w in whats), (expected, whats)
    for r in rows:
        assert r["figure"] and r["baseline"] and r["goal"] and r["met"]
