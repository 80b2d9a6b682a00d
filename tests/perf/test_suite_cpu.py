"""The suite's CPU report (tests/perf/suite_cpu.py) sums what its plugin counted, file by file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import suite_cpu  # noqa: E402


def counted(test: str, cpu: float, gc: float = 0.0, full: int = 0, kids: float = 0.0) -> dict:
    return {"test": test, "cpu_s": cpu, "wall_s": 2 * cpu, "gc_s": gc, "full_gcs": full, "children_s": kids}


def test_the_report_sums_each_file_and_lists_the_costliest_tests_first():
    tests = [counted("tests/test_a.py::one", 1.0, gc=0.25, full=1), counted("tests/test_b.py::two", 3.0, kids=0.5),
             counted("tests/test_a.py::three", 0.5, gc=0.25, full=2)]
    lines = suite_cpu.report(tests, top=2).split("\n")
    assert lines[0].startswith("3 tests: 4.5 s CPU in the tests' processes, 0.5 s in their children, 0.5 s of it "
                               "collecting (3 full collections); 9.0 s of wall time")
    files = [line.split() for line in lines if line.endswith(".py")]
    assert files == [["3.0", "6.0", "0.0", "0.5", "1", "tests/test_b.py"],
                     ["1.5", "3.0", "0.5", "0.0", "2", "tests/test_a.py"]]
    listed = [line.split()[-1] for line in lines if "::" in line]
    assert listed == ["tests/test_b.py::two", "tests/test_a.py::one"]  # the top 2 by CPU


def test_the_report_reads_every_workers_file_and_says_when_there_are_none(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(suite_cpu, "DIR", tmp_path)
    assert suite_cpu.main([]) == 2
    assert "no counts in" in capsys.readouterr().err
    (tmp_path / "gw0.json").write_text(json.dumps([counted("tests/test_a.py::one", 1.0)]))
    (tmp_path / "gw1.json").write_text(json.dumps([counted("tests/test_a.py::two", 2.0)]))
    assert suite_cpu.main(["--top", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 tests: 3.0 s CPU") and "tests/test_a.py::two" in out and "::one" not in out
