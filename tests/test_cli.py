"""The ``cgtui`` command's headless modes: ``--json``, ``--trace`` and usage errors.

Numbers for the lecture graph come from the lecture page (J = 3v, v = a + u,
u = b·c, a = 5, b = 3, c = 2), never from the program's own output.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli import run
from paths import LECTURE, ROOT

_SCRIPT = Path(sys.executable).with_name("cgtui")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tui"]
ENV = {**os.environ, "PYTHONIOENCODING": "utf-8"}


def cgtui(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env=ENV, encoding="utf-8")


def strict_json(text: str):
    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def run_json(capsys, *args: str):
    status = run([*args, "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert err == ""
    return strict_json(out)


# --------------------------------------------------------------------------- the lecture, through a real process


@pytest.fixture(scope="module")
def lecture_json():
    proc = cgtui(str(LECTURE), "--json")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return strict_json(proc.stdout)


@pytest.fixture(scope="module")
def lecture_trace():
    proc = cgtui("graphs/lecture.yaml", "--trace")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_json_values_and_gradients_as_on_the_page(lecture_json):
    doc = lecture_json
    assert doc["output"] == "J"
    assert doc["values"] == {"a": 5, "b": 3, "c": 2, "u": 6, "v": 11, "J": 33}
    assert doc["grads"] == {"a": 3, "b": 6, "c": 9, "u": 3, "v": 3, "J": 1}
    assert doc["warnings"] == []


def test_json_forward_steps(lecture_json):
    steps = lecture_json["forward_steps"]
    assert [(s["node"], s["expr"], s["value"]) for s in steps] == [("u", "b * c", 6), ("v", "a + u", 11), ("J", "3 * v", 33)]


def test_json_backward_steps(lecture_json):
    steps = lecture_json["backward_steps"]
    keys = ("child", "parent", "upstream", "local", "local_formula", "product", "grad_after", "arrived", "of")
    got = [tuple(s[k] for k in keys) for s in steps]
    assert got == [
        ("J", "v", 1, 3, "3", 3, 3, 1, 1),   # dJ/dv = 3
        ("v", "a", 3, 1, "1", 3, 3, 1, 1),   # dJ/da = 3 × 1
        ("v", "u", 3, 1, "1", 3, 3, 1, 1),   # dJ/du = 3 × 1
        ("u", "b", 3, 2, "c", 6, 6, 1, 1),   # dJ/db = 3 × 2
        ("u", "c", 3, 3, "b", 9, 9, 1, 1),   # dJ/dc = 3 × 3
    ]


def test_json_finite_differences(lecture_json):
    fd = lecture_json["fd"]
    assert list(fd) == ["a", "b", "c", "u", "v", "J"]
    b = fd["b"]
    assert b["h"] == 0.001
    page = [("b", 3, 3.001), ("u", 6, 6.002), ("v", 11, 11.002), ("J", 33, 33.006)]
    assert [e["node"] for e in b["trail"]] == [n for n, _, _ in page]
    for entry, (_, before, after) in zip(b["trail"], page):
        assert entry["before"] == before
        assert math.isclose(entry["after"], after, rel_tol=1e-12)
    grads = {"a": 3, "b": 6, "c": 9, "u": 3, "v": 3, "J": 1}
    for name, entry in fd.items():
        for key in ("h", "forward", "central", "rel_error_forward", "rel_error_central", "status", "trail"):
            assert key in entry
        assert math.isclose(entry["forward"], grads[name], rel_tol=1e-9)
        assert math.isclose(entry["central"], grads[name], rel_tol=1e-9)
        assert entry["status"] == "ok"
        assert 0 <= entry["rel_error_central"] < 1e-9


def test_trace_reads_like_the_page(lecture_trace):
    text = lecture_trace
    for line in [
        "u = b · c = 3 × 2 = 6",
        "v = a + u = 5 + 6 = 11",
        "J = 3 · v = 3 × 11 = 33",
        "∂J/∂a = ∂J/∂v · ∂v/∂a = 3 × 1 = 3",
        "∂J/∂u = ∂J/∂v · ∂v/∂u = 3 × 1 = 3",
        "∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6",
        "∂J/∂c = ∂J/∂u · ∂u/∂c = 3 × 3 = 9",
        "b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002, J: 33 → 33.006",
        "a: 5 → 5.001, v: 11 → 11.001, J: 33 → 33.003",
    ]:
        assert line in text, line
    # forward before backward, u before v before J
    assert text.index("u = b · c") < text.index("v = a + u =") < text.index("J = 3 · v =") < text.index("∂J/∂a =")
    # the local ∂J/∂v (of J = 3v) is told apart from the total ∂J/∂v
    assert "local ∂J/∂v = 3" in text
    assert "Traceback" not in text


def test_without_a_file_the_builtin_lecture(lecture_json, lecture_trace):
    proc = cgtui("--json")
    assert proc.returncode == 0, proc.stderr
    doc = strict_json(proc.stdout)
    assert doc.pop("source") == "(built-in lecture graph)"
    expected = dict(lecture_json)
    assert expected.pop("source") == str(LECTURE)
    assert doc == expected
    proc = cgtui("--trace")
    assert proc.returncode == 0
    assert proc.stdout.replace("(built-in lecture graph)", "graphs/lecture.yaml") == lecture_trace


def test_builtin_copy_is_byte_identical():
    assert (ROOT / "engine" / "data" / "lecture.yaml").read_bytes() == LECTURE.read_bytes()


def test_help_and_version():
    proc = cgtui("--help")
    assert proc.returncode == 0
    for word in ("--json", "--trace", "--set", "--fd-step", "--fd", "FILE"):
        assert word in proc.stdout
    proc = cgtui("--version")
    assert proc.returncode == 0
    import engine

    assert proc.stdout.strip() == f"cgtui {engine.__version__}"


def test_usage_error_in_a_real_process():
    proc = cgtui("--json", "--trace")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("cgtui:") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_broken_pipe_is_quiet(tmp_path):
    """``cgtui --trace | head -1``: the rest of the output goes nowhere, without a traceback."""
    lines = ["inputs:", "  x: 0.5", "nodes:", "  n0: x * 2"] + [f"  n{k}: sin(n{k - 1}) + x" for k in range(1, 400)]
    path = tmp_path / "long.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    proc = subprocess.Popen([*COMMAND, str(path), "--trace"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=ENV)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert first.strip()
    assert b"Traceback" not in err
    assert proc.returncode == 0


# --------------------------------------------------------------------------- options, in process


def test_set_overrides_an_input(capsys):
    doc = run_json(capsys, "--set", "a=7")
    # v = 7 + 6 = 13, J = 3 · 13 = 39; J is linear in a, so ∂J/∂b = 3 · c = 6 still
    assert doc["values"]["a"] == 7 and doc["values"]["v"] == 13 and doc["values"]["J"] == 39
    assert doc["grads"]["b"] == 6
    doc = run_json(capsys, str(LECTURE), "--set", "b=4", "--set", "c=-1")
    # u = -4, v = 1, J = 3; ∂J/∂b = 3c = -3, ∂J/∂c = 3b = 12
    assert doc["values"]["J"] == 3 and doc["grads"]["b"] == -3 and doc["grads"]["c"] == 12


def test_fd_inputs_and_none(capsys):
    assert list(run_json(capsys, "--fd", "inputs")["fd"]) == ["a", "b", "c"]
    assert run_json(capsys, "--fd", "none")["fd"] == {}
    assert list(run_json(capsys, "--fd", "all")["fd"]) == ["a", "b", "c", "u", "v", "J"]


def test_fd_step(capsys):
    doc = run_json(capsys, "--fd-step", "1e-4")
    assert all(entry["h"] == 1e-4 for entry in doc["fd"].values())
    b = doc["fd"]["b"]["trail"]
    assert math.isclose(b[0]["after"], 3.0001, rel_tol=1e-12) and math.isclose(b[-1]["after"], 33.0006, rel_tol=1e-12)
    status = run(["--fd-step", "0.01", "--trace"])
    out = capsys.readouterr().out
    assert status == 0 and "h = 0.01" in out and "b: 3 → 3.01" in out


USAGE_ERRORS = [
    (["--json", "--trace"], "--json"),
    (["--set", "zz=1", "--json"], "'zz'"),
    (["--set", "u=1", "--json"], "'u'"),
    (["--set", "J=1", "--trace"], "'J'"),
    (["--set", "a=nan", "--json"], "'nan'"),
    (["--set", "a=inf", "--json"], "'inf'"),
    (["--set", "a=-inf", "--json"], "'-inf'"),
    (["--set", "a=1e999", "--json"], "1e999"),
    (["--set", "a=abc", "--json"], "'abc'"),
    (["--set", "a=", "--json"], "--set a"),
    (["--set", "a", "--json"], "'a'"),
    (["--set", "=5", "--json"], "'=5'"),
    (["--fd-step", "0", "--json"], "'0'"),
    (["--fd-step", "-1", "--json"], "--fd-step"),
    (["--fd-step", "1e-400", "--json"], "--fd-step"),
    (["--fd-step", "abc", "--json"], "'abc'"),
    (["--fd-step", "nan", "--json"], "'nan'"),
    (["--fd", "some", "--json"], "'some'"),
    (["--no-such-option"], "--no-such-option"),
    (["a.yaml", "b.yaml", "--json"], "b.yaml"),
]


@pytest.mark.parametrize("args, piece", USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS])
def test_usage_errors(capsys, args, piece):
    status = run(args)
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    assert err.startswith("cgtui: ") and err.count("\n") == 1, err
    assert piece in err
    assert "Traceback" not in err and "usage:" not in err


def test_set_with_a_file_names_the_inputs(capsys, tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("inputs: {x: 1, y: 2}\nnodes: {f: x * y}\n", encoding="utf-8")
    assert run([str(path), "--set", "z=1", "--json"]) == 2
    err = capsys.readouterr().err
    assert "'z'" in err and "x, y" in err


# --------------------------------------------------------------------------- strict JSON with non-finite numbers


def test_nonfinite_numbers_are_strings(capsys, tmp_path):
    path = tmp_path / "log0.yaml"
    path.write_text("inputs:\n  a: 0\n  b: -1\nnodes:\n  u: log(a)\n  w: sqrt(b)\n  J: u + w\n", encoding="utf-8")
    doc = run_json(capsys, str(path))
    assert doc["values"]["u"] == "-inf"
    assert doc["values"]["w"] == "nan"
    assert doc["values"]["J"] == "nan"
    assert doc["grads"]["a"] == "inf"   # ∂J/∂a = 1/a at a = 0
    (log_step,) = [s for s in doc["backward_steps"] if s["parent"] == "a"]
    assert log_step["local"] == "inf" and log_step["local_formula"] == "1 / a"
    assert doc["fd"]["a"]["status"] == "non-finite"
    assert doc["fd"]["a"]["rel_error_central"] == "nan"
    assert len(doc["warnings"]) == 2
    assert any("'u'" in w and "log of 0" in w for w in doc["warnings"])
    assert any("'w'" in w and "sqrt of a negative" in w for w in doc["warnings"])


def test_overflow_from_set_is_strict_json(capsys):
    doc = run_json(capsys, "--set", "a=1e308", "--set", "b=1e308")
    # u = b · c = 2e308 overflows; v and J inherit it
    assert doc["values"]["a"] == 1e308
    assert doc["values"]["u"] == doc["values"]["v"] == doc["values"]["J"] == "inf"
    (warning,) = doc["warnings"]
    assert "'u'" in warning and "overflow" in warning


def test_huge_fd_step_is_strict_json(capsys):
    doc = run_json(capsys, "--fd-step", "1e308")
    assert doc["fd"]["J"]["h"] == 1e308


def test_trace_of_every_example(capsys):
    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        status = run([str(path), "--trace"])
        out, err = capsys.readouterr()
        assert status == 0 and err == ""
        assert "Forward pass" in out and "Backward pass" in out and "Finite differences" in out
        assert "✓ ok" in out and "suspect" not in out and "non-finite" not in out


def test_fanout_trace_counts_arrivals(capsys):
    assert run([str(ROOT / "graphs" / "fanout.yaml"), "--trace"]) == 0
    out = capsys.readouterr().out
    assert "1 of 2" in out and "2 of 2" in out
    assert out.index("1 of 2") < out.index("2 of 2")


# --------------------------------------------------------------------------- -e: a graph from one expression


def test_expression_on_the_command_line_is_the_lecture(tmp_path):
    import json as _json

    from tui.cli import run as _run

    lecture = _json.loads(subprocess.run([sys.executable, "-m", "tui", str(ROOT / "graphs" / "lecture.yaml"), "--json"],
                                         capture_output=True, text=True, check=True).stdout)
    saved = tmp_path / "j.yaml"
    args = ["-e", "J = 3*(a + b*c)", "--set", "a=5", "--set", "b=3", "--set", "c=2"]
    out = subprocess.run([sys.executable, "-m", "tui", *args, "--json", "--save", str(saved)],
                         capture_output=True, text=True, check=True)
    doc = _json.loads(out.stdout)
    assert doc["nodes"] == ["u", "v", "J"]  # named in evaluation order, as the page names them
    assert doc["values"] == lecture["values"] and doc["grads"] == lecture["grads"]
    assert [s["text"] for s in doc["backward_steps"]] == [s["text"] for s in lecture["backward_steps"]]
    assert saved.exists() and _run([str(saved), "--json", "--fd", "none"]) == 0


@pytest.mark.parametrize("args,says", [
    (["-e", "J = 3*(a + b*c)", "--set", "a=5"], "no value for 'b', 'c'"),
    (["-e", "J = a.b", "--set", "a=1"], "attribute access"),
    (["-e", "3 = a", "--set", "a=1"], "cannot name the output"),
    (["-e", "J = a + J", "--set", "a=1", "--set", "J=2"], "its own expression"),
    (["-e", "J = a", "--set", "a=1", "graphs/lecture.yaml"], "one of FILE, -e or --example"),
    (["-e", "J = a", "--set", "a=x"], "not a number"),
])
def test_bad_expressions_on_the_command_line(args, says):
    out = subprocess.run([sys.executable, "-m", "tui", *args, "--json"], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2
    assert out.stderr.startswith("cgtui: ") and out.stderr.count("\n") == 1 and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


# --------------------------------------------------------------------------- --markdown: the handout


def test_markdown_handout_writes_the_lecture_in_latex():
    out = subprocess.run([sys.executable, "-m", "tui", str(ROOT / "graphs" / "lecture.yaml"), "--markdown"],
                         capture_output=True, text=True, check=True).stdout
    assert out.startswith("# Derivatives with a computation graph\n")
    assert "1. $u = b \\cdot c = 3 \\times 2 = 6$" in out
    assert ("$\\frac{\\partial J}{\\partial b} = \\frac{\\partial J}{\\partial u} \\cdot \\frac{\\partial u}{\\partial b}"
            " = 3 \\times 2 = 6$") in out
    assert "local $\\frac{\\partial u}{\\partial b} = c = 2$" in out
    assert "| $b$ | b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002, J: 33 → 33.006 |" in out
    assert out.count("$") % 2 == 0  # every formula closed


def test_markdown_handout_of_every_example_and_fan_out():
    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        out = subprocess.run([sys.executable, "-m", "tui", str(path), "--markdown"],
                             capture_output=True, text=True, check=True).stdout
        assert "## Backward pass" in out and out.count("$") % 2 == 0, path.name
        if path.name == "logistic.yaml":
            assert "\\sigma\\left(z\\right)" in out and "\\log\\left(" in out
        if path.name == "fanout.yaml":
            assert "\\mathrel{+}=" in out and "(2 of 2: now 15)" in out
    bad = subprocess.run([sys.executable, "-m", "tui", "--markdown", "--json"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("cgtui: ")


def test_notes_are_in_the_trace_and_the_handout(capsys, tmp_path):
    """#13: `note:` texts were shown nowhere headless; in the handout a note is text, never math."""
    assert run([str(ROOT / "graphs" / "logistic.yaml"), "--trace"]) == 0
    trace = capsys.readouterr().out
    assert "  x1 = 1   (first feature)" in trace
    assert "= 0.5249791875   (the prediction y-hat)" in trace
    path = tmp_path / "n.yaml"
    path.write_text("inputs:\n  a: {value: 2, note: costs $5 *each*}\nnodes:\n  J: {expr: 3*a, note: the output}\n")
    assert run([str(path), "--markdown"]) == 0
    md = capsys.readouterr().out
    assert "(input): costs \\$5 \\*each\\*" in md and "$J = 3 \\cdot a$: the output" in md
