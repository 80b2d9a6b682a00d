"""Every file the format refuses, with its message.

Refused means: exit status 2; one line on stderr that starts with ``cgtui:`` and
names the file, the line (from 1) where known and the offending name or
construct in quotes; no traceback. Each case is checked through the engine
(``load_bytes``/``load_path`` raise ``SourceError``) and through the command
line (``tui.cli.run``), in process; a few also in a real subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine import GraphError, SourceError, load_bytes, load_path
from tui.cli import run
from paths import ROOT

OK = "inputs:\n  a: 5\n  b: 3\n  c: 2\nnodes:\n  u: b * c\n  v: a + u\n  J: 3 * v\n"


def node(expr: str) -> str:
    """A file whose node ``u`` (on line 4) is ``expr``."""
    return f"inputs:\n  a: 1\nnodes:\n  u: {expr}\n"


# id, file text, line (None: not known), pieces the message must contain (the quoted name first)
CASES = [
    # not YAML, not a mapping
    ("not-yaml-flow", "inputs: [a\nnodes: x\n", 2, ["not valid YAML"]),
    ("not-yaml-indent", "inputs:\n  a: 1\n b: 2\n", 3, ["not valid YAML"]),
    ("not-yaml-tab", "inputs:\n\ta: 1\n", 2, ["not valid YAML"]),
    ("not-a-mapping-list", "- a\n- b\n", 1, ["mapping"]),
    ("not-a-mapping-scalar", "hello\n", 1, ["mapping"]),
    # top-level keys
    ("missing-nodes", "inputs: {a: 1}\n", None, ["'nodes'", "missing"]),
    ("missing-inputs", "nodes: {u: 1}\n", None, ["'inputs'", "missing"]),
    ("unknown-top-key", OK + "node: {x: 1}\n", 9, ["'node'", "title, description, inputs, nodes, output"]),
    ("no-inputs", "inputs: {}\nnodes: {u: 1}\n", 1, ["'inputs'", "empty"]),
    ("no-nodes", "inputs: {a: 1}\nnodes: {}\n", 2, ["'nodes'", "empty"]),
    # duplicate keys
    ("duplicate-input", "inputs:\n  a: 1\n  a: 2\nnodes:\n  u: a\n", 3, ["'a'", "duplicate", "line 2"]),
    ("duplicate-node", "inputs:\n  a: 1\nnodes:\n  u: a\n  u: 2\n", 5, ["'u'", "duplicate"]),
    ("duplicate-top", OK + "inputs: {z: 1}\n", 9, ["'inputs'", "duplicate"]),
    # anchors, aliases, tags, documents
    ("anchor", "inputs:\n  a: &x 1\n  b: *x\nnodes:\n  u: a\n", 2, ["'&x'", "anchors"]),
    ("alias", "inputs:\n  a: 1\n  b: *x\nnodes:\n  u: a\n", 3, ["'*x'", "aliases"]),
    ("billion-laughs", "a: &a [1, 1]\nb: &b [*a, *a]\nc: [*b, *b]\n", 1, ["'&a'"]),
    ("tag-float", "inputs:\n  a: !!float 1\nnodes:\n  u: a\n", 2, ["'tag:yaml.org,2002:float'", "tags"]),
    ("tag-local", "inputs: !foo\n  a: 1\nnodes:\n  u: a\n", 1, ["'!foo'", "tags"]),
    ("tag-python", "inputs:\n  a: !!python/object/apply:os.system ['echo hi']\nnodes:\n  u: a\n", 2,
     ["'tag:yaml.org,2002:python/object/apply:os.system'"]),
    ("two-documents", "inputs: {a: 1}\nnodes: {u: a}\n---\ninputs: {a: 1}\n", 3, ["several YAML documents"]),
    ("two-documents-marked", "---\ninputs: {a: 1}\nnodes: {u: a}\n...\n---\n", 5, ["several YAML documents"]),
    # names
    ("input-and-node", "inputs:\n  a: 1\nnodes:\n  a: 2\n  u: a\n", 4, ["'a'", "defined twice", "line 2"]),
    ("reserved-pi", "inputs:\n  pi: 3\nnodes:\n  u: pi\n", 2, ["'pi'", "reserved"]),
    ("reserved-e", "inputs:\n  a: 3\nnodes:\n  e: a\n", 4, ["'e'", "reserved"]),
    ("reserved-exp", "inputs:\n  exp: 3\nnodes:\n  u: 2\n", 2, ["'exp'", "reserved"]),
    ("reserved-relu-node", "inputs:\n  a: 3\nnodes:\n  relu: a\n", 4, ["'relu'", "reserved"]),
    ("reserved-step", "inputs:\n  a: 3\nnodes:\n  step: a\n", 4, ["'step'", "reserved"]),
    ("keyword-lambda", "inputs:\n  lambda: 3\nnodes:\n  u: 2\n", 2, ["'lambda'", "keyword"]),
    ("keyword-if", "inputs:\n  a: 3\nnodes:\n  if: a\n", 4, ["'if'", "keyword"]),
    ("keyword-None", "inputs:\n  None: 3\nnodes:\n  u: 2\n", 2, ["'None'", "keyword"]),
    ("bad-name-digit", "inputs:\n  2x: 3\nnodes:\n  u: 2\n", 2, ["'2x'", "not a valid name"]),
    ("bad-name-unicode", "inputs:\n  ｘ: 3\nnodes:\n  u: 2\n", 2, ["'ｘ'", "not a valid name"]),
    ("bad-name-dash", "inputs:\n  a-b: 3\nnodes:\n  u: 2\n", 2, ["'a-b'", "not a valid name"]),
    ("undefined", node("a + bb"), 4, ["'bb'", "not defined"]),
    ("undefined-typo", "inputs:\n  alpha: 1\nnodes:\n  u: alpah * 2\n", 4, ["'alpah'", "'alpha'"]),
    # cycles, named in the direction values flow, from the node first in the file
    ("cycle", "inputs:\n  a: 1\nnodes:\n  u: w + a\n  v: u * 2\n  w: v - 1\n", 4, ["u → v → w → u"]),
    ("cycle-reversed", "inputs:\n  a: 1\nnodes:\n  u: v + 1\n  v: w\n  w: u\n", 4, ["u → w → v → u"]),
    ("cycle-later", "inputs:\n  a: 1\nnodes:\n  x: a\n  p: q\n  q: p + x\n  y: q\n", 5, ["p → q → p"]),
    ("self-cycle", "inputs:\n  a: 1\nnodes:\n  x: a\n  u: u + 1\n", 5, ["u → u"]),
    # syntax and constructs
    ("syntax", node("a *"), 4, ["'a *'", "syntax error"]),
    ("syntax-parens", node("(a + 1"), 4, ["'(a + 1'", "syntax error"]),
    ("attribute", node("a.real"), 4, ["'a.real'", "attribute"]),
    ("subscript", node("a[0]"), 4, ["'a[0]'", "subscript"]),
    ("lambda", node('"lambda x: x"'), 4, ["'lambda x: x'", "lambda"]),
    ("comparison", node("a < 2"), 4, ["'a < 2'", "comparison"]),
    ("string", node("\"'abc'\""), 4, ["\"'abc'\""]),
    ("bool-constant", node("a + True"), 4, ["'True'"]),
    ("unknown-function", node("foo(a)"), 4, ["'foo'", "unknown function"]),
    ("dunder-import", node("__import__('os').system('echo hi')"), 4, ["__import__"]),
    ("modulo", node("a % 2"), 4, ["'%'"]),
    ("xor-is-power-not-xor-but-or-is-refused", node("a | 2"), 4, ["'|'"]),
    ("two-arguments", node("log(a, 2)"), 4, ["'log'", "one argument"]),
    ("keyword-argument", node("exp(x=a)"), 4, ["'exp'", "one argument"]),
    ("function-as-name", node("a + exp"), 4, ["'exp'", "function"]),
    ("formula-only-function", node("step(a)"), 4, ["'step'"]),
    ("walrus", node("(x := a)"), 4, ["':='"]),
    ("if-else", node("a if a else 1"), 4, ["'if'"]),
    ("not", node("not a"), 4, ["'not'"]),
    ("python-warns-on-it", node("1if a else 2"), 4, ["'1if a else 2'"]),
    ("python-warns-on-it-too", node("0x1for"), 4, ["'0x1for'"]),
    ("invert", node("~a"), 4, ["'~'"]),
    ("list", node('"[a]"'), 4, ["'[a]'"]),
    ("number-too-large", node("1e999 * a"), 4, ["'1e999'"]),
    ("unicode-in-expression", node("ａ + 1"), 4, ["'ａ'"]),
    # input values
    ("value-inf", "inputs:\n  a: .inf\nnodes:\n  u: a\n", 2, ["'a'", "'.inf'", "finite"]),
    ("value-minus-inf", "inputs:\n  a: -.inf\nnodes:\n  u: a\n", 2, ["'a'", "finite"]),
    ("value-nan", "inputs:\n  a: .nan\nnodes:\n  u: a\n", 2, ["'a'", "'.nan'", "finite"]),
    ("value-overflow", "inputs:\n  a: 1e999\nnodes:\n  u: a\n", 2, ["'a'", "finite"]),
    ("value-bool", "inputs:\n  a: true\nnodes:\n  u: a\n", 2, ["'a'", "boolean"]),
    ("value-string", "inputs:\n  a: abc\nnodes:\n  u: a\n", 2, ["'a'", "'abc'"]),
    ("value-quoted-number", "inputs:\n  a: \"5\"\nnodes:\n  u: a\n", 2, ["'a'", "text '5'"]),
    ("value-empty", "inputs:\n  a:\nnodes:\n  u: a\n", 2, ["'a'", "empty"]),
    ("value-list", "inputs:\n  a: [1]\nnodes:\n  u: a\n", 2, ["'a'", "number"]),
    ("value-map-extra-key", "inputs:\n  a: {value: 1, nope: 2}\nnodes:\n  u: a\n", 2, ["'nope'", "value, note"]),
    ("value-map-no-value", "inputs:\n  a: {note: hi}\nnodes:\n  u: a\n", 2, ["'value'", "missing"]),
    ("node-map-no-expr", "inputs:\n  a: 1\nnodes:\n  u: {note: hi}\n", 4, ["'expr'", "missing"]),
    ("node-boolean", "inputs:\n  a: 1\nnodes:\n  u: true\n", 4, ["'u'", "boolean"]),
    ("node-empty", "inputs:\n  a: 1\nnodes:\n  u:\n", 4, ["'u'", "empty"]),
    # output
    ("output-is-input", "inputs:\n  a: 1\nnodes:\n  u: a\noutput: a\n", 5, ["'a'", "input"]),
    ("output-undefined", "inputs:\n  a: 1\nnodes:\n  u: a\noutput: zz\n", 5, ["'zz'", "not defined"]),
    ("output-list", "inputs:\n  a: 1\nnodes:\n  u: a\noutput: [u]\n", 5, ["'output'"]),
    ("title-list", "title: [1]\ninputs:\n  a: 1\nnodes:\n  u: 2\n", 1, ["'title'"]),
    # over-long and over-deep
    ("too-long", node("a + " * 3000 + "a"), 4, ["'u'", "too long"]),
    ("too-deep-parentheses", node("(" * 150 + "a" + ")" * 150), 4, ["'u'", "nested too deeply"]),
    ("too-deep-unary", node("-" * 5000 + "a"), 4, ["'u'", "too deep"]),
    ("too-deep-chain", node("a" + "+a" * 4000), 4, ["'u'", "too deep"]),
    ("too-deep-power", node("a" + "^a" * 300), 4, ["'u'", "too deep"]),
    ("too-deep-calls", node("-exp(" * 99 + "a" + ")" * 99), 4, ["'u'", "too deep"]),
    ("yaml-too-deep", "inputs: " + "[" * 1000 + "]" * 1000 + "\nnodes: {u: 1}\n", 1, []),
    ("yaml-too-deep-block", "".join("  " * i + "a:\n" for i in range(100)), 33, ["nested too deeply"]),
    # empty
    ("empty", "", None, ["empty"]),
    ("blank", "   \n\n", None, ["empty"]),
    ("only-comments", "# nothing here\n", None, ["empty"]),
]


def _expected_prefix(source: str, line: int | None) -> str:
    return f"{source}: line {line}: " if line is not None else f"{source}: "


@pytest.mark.parametrize("text, line, pieces", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_by_the_engine(text, line, pieces):
    with pytest.raises(SourceError) as info:
        load_bytes(text.encode("utf-8"), "bad.yaml")
    err = info.value
    message = str(err)
    assert isinstance(err.error, GraphError)
    assert "\n" not in message
    assert message.startswith(_expected_prefix("bad.yaml", line)), message
    assert err.error.line == line
    for piece in pieces:
        assert piece in message, (piece, message)


@pytest.mark.parametrize("text, line, pieces", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_by_the_command_line(tmp_path, capsys, text, line, pieces):
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    for mode in ([], ["--json"], ["--trace"]):
        status = run([str(path), *mode])
        out, err = capsys.readouterr()
        assert status == 2
        assert out == ""
        assert err.startswith(f"cgtui: {path}: ") and err.endswith("\n") and err.count("\n") == 1, err
        assert "Traceback" not in err
        if pieces:
            assert err.startswith("cgtui: " + _expected_prefix(str(path), line))
            assert pieces[0] in err


def test_binary_file(tmp_path, capsys):
    path = tmp_path / "graph.bin"
    path.write_bytes(b"\x00\x01\x02inputs:\n  a: 1\n" + bytes(range(256)))
    with pytest.raises(SourceError, match="binary"):
        load_path(path)
    assert run([str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cgtui: {path}: ") and "binary" in err and err.count("\n") == 1


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("inputs:\n  a: 1\n  é: 2\n".encode("latin-1"))
    with pytest.raises(SourceError) as info:
        load_path(path)
    assert str(info.value).startswith(f"{path}: line 3: ") and "UTF-8" in str(info.value)


def test_file_over_20_mib(tmp_path, capsys):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: 21 MiB that take no room
        f.write(b"inputs: {a: 1}\nnodes: {u: a}\n")
        f.truncate(21 * 1024 * 1024)
    with pytest.raises(SourceError, match="too large"):
        load_path(path)
    assert run([str(path), "--trace"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"cgtui: {path}: ") and "20 MiB" in err


def test_bytes_over_20_mib_are_refused_by_load_bytes():
    with pytest.raises(SourceError, match="too large"):
        load_bytes(b" " * (20 * 1024 * 1024 + 1), "big.yaml")


def test_exactly_20_mib_is_not_too_large(tmp_path):
    path = tmp_path / "edge.yaml"
    text = b"inputs: {a: 1}\nnodes: {u: a}\n"
    path.write_bytes(text + b"#" * (20 * 1024 * 1024 - len(text)))
    assert load_path(path).graph.output == "u"


def test_missing_file_and_folder(tmp_path, capsys):
    assert run([str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err == f"cgtui: {tmp_path / 'nope.yaml'}: no such file\n"
    assert run([str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith(f"cgtui: {tmp_path}: ")


def test_nothing_in_a_file_is_executed(tmp_path):
    marker = tmp_path / "pwned"
    payloads = [
        f"inputs:\n  a: !!python/object/apply:os.system ['touch {marker}']\nnodes:\n  u: a\n",
        f"inputs:\n  a: 1\nnodes:\n  u: \"__import__('os').system('touch {marker}')\"\n",
        f"inputs:\n  a: 1\nnodes:\n  u: \"exp.__globals__['os'].system('touch {marker}')\"\n",
    ]
    for text in payloads:
        with pytest.raises(SourceError):
            load_bytes(text.encode(), "evil.yaml")
    assert not marker.exists()


@pytest.mark.parametrize("case", ["cycle", "unknown-top-key", "value-nan", "tag-python", "empty", "python-warns-on-it",
                                  "python-warns-on-it-too"])
def test_refusal_in_a_real_process(tmp_path, case):
    (_, text, line, pieces) = next(c for c in CASES if c[0] == case)
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "tui", str(path), "--json"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.startswith("cgtui: " + _expected_prefix(str(path), line))
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    for piece in pieces:
        assert piece in proc.stderr


# --------------------------------------------------------------------------- fast, whatever the file holds

MIB = 1 << 20


def _fill(line: bytes, head: bytes, tail: bytes, count: int) -> bytes:
    body = b"".join(line % k for k in range(count))
    data = head + body[: MIB - len(head) - len(tail)]
    return data[: data.rfind(b"\n") + 1] + tail


HOSTILE = {
    "open-brackets": b"[" * MIB,
    "open-braces": b"{" * MIB,
    "dashes": b"- " * (MIB // 2),
    "long-expression": b"inputs: {a: 1}\nnodes:\n  u: " + b"a+" * (MIB // 2 - 20) + b"a\n",
    "long-parentheses": b"inputs: {a: 1}\nnodes:\n  u: " + b"(" * (MIB - 40) + b"\n",
    "aliases": (b"a: &a [1]\n" + b"b: *a\n" * (MIB // 6))[:MIB],
    "control-characters": bytes(range(1, 32)) * (MIB // 31),
    "long-scalar": b"inputs: " + b"x" * (MIB - 8),
    "many-documents": b"---\n" * (MIB // 4),
    "unclosed-quote": b'"' + b"a" * (MIB - 1),
    "deep-block": b"".join(b" " * k + b"- x\n" for k in range(1400))[:MIB],
}
# Tens of thousands of definitions with the mistake at the end (timed in tests/perf/bench.py).
MANY_DEFINITIONS = {
    "many-inputs-then-bad": _fill(b"  x%d: 1\n", b"inputs:\n", b"nodes:\n  u: 1 +\n", MIB // 8),
    "many-nodes-then-bad": _fill(b"  n%d: x0 + 1\n", b"inputs:\n  x0: 1\nnodes:\n", b"  bad: 1 +\n", MIB // 12),
}


@pytest.mark.parametrize("name", list(HOSTILE) + list(MANY_DEFINITIONS))
def test_one_mib_of_anything_is_refused_cleanly(name):
    """Refused with one line; how fast is measured by tests/perf/bench.py, not asserted here."""
    data = {**HOSTILE, **MANY_DEFINITIONS}[name]
    assert len(data) <= MIB
    with pytest.raises(SourceError) as caught:
        load_bytes(data, "hostile.yaml")
    message = str(caught.value)
    assert message.startswith("hostile.yaml") and "\n" not in message
