"""Whatever a file or an expression holds: a graph or a clean refusal, never another exception."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import GraphError, SourceError, compute, finite_differences, load_bytes
from engine import expr as ex
from engine.report import to_json, to_trace
from paths import ROOT
from soak import examples

EXAMPLES = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "graphs").glob("*.yaml"))}
# any warning (Python's own SyntaxWarning for "1if x else 2", say) would reach the
# user's terminal: make it an error here
pytestmark = [pytest.mark.filterwarnings("error"), pytest.mark.usefixtures("earlier_garbage_collected")]
FUZZ = settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _strict(text: str):
    def refuse(name):
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


def load_or_refuse(data: bytes):
    """The graph, or None after checking the refusal is clean."""
    try:
        loaded = load_bytes(data, "fuzz.yaml")
    except SourceError as err:
        message = str(err)
        assert message.startswith("fuzz.yaml: ")
        assert "\n" not in message and "\r" not in message
        assert isinstance(err.error, GraphError)
        return None
    # a graph that loads also computes and reports without raising
    walk = compute(loaded.graph)
    fds = finite_differences(walk)
    doc = _strict(to_json(walk, fds, 1e-3, "fuzz.yaml"))
    assert set(doc["values"]) == set(loaded.graph.names)
    to_trace(walk, fds, 1e-3, "fuzz.yaml")
    return loaded


# --------------------------------------------------------------------------- arbitrary text and bytes


@FUZZ
@given(st.text())
def test_arbitrary_text_as_a_graph_file(text):
    load_or_refuse(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_graph_file(data):
    load_or_refuse(data)


YAMLISH = st.lists(
    st.sampled_from([
        "inputs:", "nodes:", "output:", "title:", "description:", "  a: 1", "  b: -2.5e-1", "  u: a * b",
        "  v: sigmoid(u) ^ 2", "  w: log(v)", "  a:", "  - a", "{", "}", "[", "]", ":", " ", "\n", "&x", "*x",
        "!!str", "---", "...", "#", "'", '"', "?", ",", "value:", "expr:", "note: hi", "\t", "u", "1e3", ".inf",
        "true", "~", "|", ">", "%YAML 1.2", "\\", "x\u00a0", "\ufeff",
    ]),
    max_size=40,
).map(lambda parts: "".join(p if p in "{}[]:,' \"\\" else p + "\n" for p in parts))


@FUZZ
@given(YAMLISH)
def test_yaml_like_text_as_a_graph_file(text):
    load_or_refuse(text.encode())


# --------------------------------------------------------------------------- structured mutations of graphs/*.yaml


@st.composite
def mutated_example(draw):
    text = EXAMPLES[draw(st.sampled_from(sorted(EXAMPLES)))]
    lines = text.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        if not lines:
            break
        k = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "insert", "truncate", "indent", "value", "token"]))
        if kind == "delete":
            del lines[k]
        elif kind == "duplicate":
            lines.insert(k, lines[k])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[k], lines[j] = lines[j], lines[k]
        elif kind == "char" and lines[k]:
            i = draw(st.integers(0, len(lines[k]) - 1))
            lines[k] = lines[k][:i] + draw(st.characters(codec="utf-8")) + lines[k][i + 1:]
        elif kind == "insert":
            lines.insert(k, draw(st.sampled_from(["  x: 1\n", "  u: u\n", "bogus: 1\n", "  a: &z 1\n", "---\n",
                                                   "output: a\n", "  n: 9 ** 9 ** 9\n", "  m: log(0)\n",
                                                   "  r: relu(0)\n", "nodes:\n", "  k: {expr: 1}\n",
                                                   # huge numbers and deep nesting, in YAML and in expressions
                                                   "  h: 1" + "0" * 400 + "\n", "  g: " + "9" * 5000 + "\n",
                                                   "  d: " + "(" * 400 + "1" + ")" * 400 + "\n",
                                                   "  y: " + "[" * 2000 + "]" * 2000 + "\n",
                                                   "  z: " + "-" * 3000 + "1\n",
                                                   "deep:" + " {a:" * 500 + " 1" + "}" * 500 + "\n"])))
        elif kind == "truncate":
            lines = lines[:k]
        elif kind == "indent":
            lines[k] = draw(st.sampled_from(["", " ", "    ", "\t"])) + lines[k].lstrip()
        elif kind == "value" and ":" in lines[k]:
            key = lines[k].split(":", 1)[0]
            value = draw(st.sampled_from(["", " 0", " -0.0", " 1e308", " 1e-320", " .nan", " yes", " '3'", " [1]",
                                          " {value: 2}", " {expr: a}", " a / 0", " sqrt(-1)", " exp(1000)",
                                          " 2^3^2", " x*x", " pi", " e"]))
            lines[k] = f"{key}:{value}\n"
        elif kind == "token":
            i = draw(st.integers(0, len(lines[k])))
            token = draw(st.sampled_from(["(", ")", "*", "**", "^", "-", "+", ".", "[0]", "lambda", "if", "'", "#", ":", "e", "pi"]))
            lines[k] = lines[k][:i] + token + lines[k][i:]
    return "".join(lines)


@FUZZ
@given(mutated_example())
def test_mutated_example_graphs(text):
    load_or_refuse(text.encode("utf-8", "surrogatepass"))


# --------------------------------------------------------------------------- expressions


def check_parse(text: str) -> None:
    try:
        tree = ex.parse(text)
    except GraphError as err:
        assert "\n" not in err.message
        return
    # a parsed expression prints, evaluates and differentiates without raising
    names = ex.names(tree)
    env = {n: 0.5 for n in names}
    value = ex.evaluate(tree, env)
    assert isinstance(value, float)
    printed = ex.to_text(tree)
    again = ex.parse(printed)
    assert ex.to_text(again) == printed
    reprinted_value = ex.evaluate(again, env)
    assert reprinted_value == value or (math.isnan(value) and math.isnan(reprinted_value))
    for n in names:
        d = ex.derivative(tree, n)
        assert isinstance(ex.evaluate(d, env), float)


@FUZZ
@given(st.text())
def test_arbitrary_text_as_an_expression(text):
    check_parse(text)


EXPRISH = st.lists(
    st.sampled_from(["a", "b", "x1", "2", "0.5", "1e-3", "1e999", "pi", "e", "+", "-", "*", "/", "**", "^", "(", ")",
                     "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs", "step", "sign",
                     ",", ".", "[", "]", "lambda", ":", "<", "if", "else", "not", "and", "'s'", "True", "None",
                     "%", "//", "@", "~", "=", "__import__", " ", "\t", "\n", "0x1f", "1_000", "1j", "f'x'"]),
    max_size=30,
).map("".join)


@FUZZ
@given(EXPRISH)
def test_expression_like_text(text):
    check_parse(text)


@FUZZ
@given(st.text(alphabet="ab+-*/^() 2", max_size=60))
def test_arithmetic_soup(text):
    check_parse(text)


# --------------------------------------------------------------------------- the fast path for simple nodes

SIMPLE_PIECES = st.sampled_from(["a", "b1", "_x", "pi", "e", "exp", "tanh", "if", "None", "True", "2", "0", "012",
                                 "0.5", "1e-3", "1e999", "1_0", "00.5", " ", "\t", "\n", "*", "**", "^", "+", "-",
                                 "/", "(", ")", "\u2003", "ｘ", "."])


@FUZZ
@given(st.lists(SIMPLE_PIECES, min_size=1, max_size=6).map("".join))
def test_the_fast_path_gives_the_full_parsers_tree(text):
    fast = ex._parse_simple(text)
    if fast is None:
        return
    try:
        full = ex._parse_full(text)
    except GraphError as err:  # the full parser refuses: the fast path must not accept
        raise AssertionError(f"fast path accepted {text!r}, the full parser refuses: {err}")
    assert fast == full
