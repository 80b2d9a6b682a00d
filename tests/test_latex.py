"""The ``--markdown`` handout's TeX: right, and rendered by KaTeX in strict mode.

KaTeX runs in one node process (tests/katex/render.js), started at the first check and
kept for every later one of the test process; install it with ``npm ci --prefix tests/katex`` (``.ci/run`` does). Without node
or KaTeX the rendering tests are skipped, saying so; the others still run.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import re
import shutil
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import compute, finite_differences, load_bytes
from engine import expr as ex
from engine.report import latex, tex_name, tex_num, to_markdown
from tui.cli import run
from paths import ROOT
from soak import examples

KATEX_DIR = ROOT / "tests" / "katex"
NODE = shutil.which("node")
HAVE_KATEX = (KATEX_DIR / "node_modules" / "katex" / "package.json").exists()
needs_katex = pytest.mark.skipif(
    NODE is None or not HAVE_KATEX,
    reason="KaTeX check needs node and `npm ci --prefix tests/katex`"
           + (" (node is missing)" if NODE is None else " (katex is not installed)" if not HAVE_KATEX else ""))

SPAN = re.compile(r"\$([^$\n]+)\$")


def math_spans(markdown: str) -> list[str]:
    """Every ``$…$`` span of a handout (the handout never writes a literal dollar in math)."""
    assert markdown.count("$") % 2 == 0, "a math span is not closed"
    return SPAN.findall(markdown)


_katex: subprocess.Popen | None = None
"""The node process that renders spans (render.js): one a test process, for every check."""


def _close_katex() -> None:
    """End the node process (at the end of its input; killed after 10 s) and close its pipes."""
    if _katex is not None:
        with _katex:  # Popen's exit closes stdout and stderr, then waits
            with contextlib.suppress(BrokenPipeError):  # a line it did not take (it ended)
                _katex.stdin.close()
            try:
                _katex.wait(timeout=10)
            except subprocess.TimeoutExpired:
                _katex.kill()


def katex_failures(spans: list[str]) -> list[tuple[int, str, str]]:
    """The spans KaTeX refuses in strict mode, with its message (one line to the node process, one back)."""
    global _katex
    if _katex is None or _katex.poll() is not None:
        if _katex is None:
            atexit.register(_close_katex)
        else:
            _close_katex()  # it ended: its pipes, before a new one
        _katex = subprocess.Popen([NODE, str(KATEX_DIR / "render.js")], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=KATEX_DIR)
    _katex.stdin.write(json.dumps(spans) + "\n")
    _katex.stdin.flush()
    answer = _katex.stdout.readline()
    assert answer, f"KaTeX's node process ended: {_katex.stderr.read()}"
    return [tuple(f) for f in json.loads(answer)]


def handout(text: str, h: float = 1e-3, name: str = "test.yaml") -> str:
    walk = compute(load_bytes(text.encode(), name).graph)
    return to_markdown(walk, finite_differences(walk, "all", h), h, name)


# Graphs with the names and powers KaTeX caught, negative numbers, non-finite values
# and numbers small enough to be written with an exponent.
TRICKY = {
    "names.yaml": """
inputs: {a_b_c: 2, x_: 3, w_10: 0.5, h_1: -1.5, loss_total: 4, _z: 1, w1: 2, Ab: 1}
nodes:
  u_1: a_b_c * x_ + w_10 / h_1
  v_out: u_1 ** 2 - loss_total * _z + w1 * Ab
  J: sqrt(v_out ** 2) + abs(u_1)
""",
    "powers.yaml": """
inputs: {a: 2, b: 3, c: 0.5}
nodes:
  p: (a ** b) ** c
  q: (a / b) ** 2
  r: (-2) ** c * log(2)
  s: -a ** 2 + (-a) ** 2 + a ** -b
  t: exp(a) ** 2 + sin(b) ** c + (a * b) ** c + 2 ** (a ** c)
  J: p + q + r + s + t
""",
    "negatives.yaml": """
inputs: {x: -3, y: 0.5}
nodes:
  u: -3 * x
  v: y * u - -x
  J: 0.5 * v * -x
""",
    "nonfinite.yaml": """
inputs: {x: 0, y: 2}
nodes:
  u: log(x)
  L: u * y
""",
    "tiny.yaml": """
inputs: {x: 1e-20, k: 3e15}
nodes:
  u: x * k * 1e-7
  J: u * 2.5e-13
""",
}


# --------------------------------------------------------------------------- what the TeX says


def _tex(formula: str) -> str:
    return latex(ex.parse(formula))


def test_a_power_of_a_power_or_of_a_fraction_is_bracketed():
    assert _tex("(a**b)**c") == r"\left(a^{b}\right)^{c}"
    assert _tex("a**b**c") == "a^{b^{c}}"
    assert _tex("(a/b)**2") == r"\left(\frac{a}{b}\right)^{2}"
    assert _tex("exp(a)**2") == r"\left(\exp\left(a\right)\right)^{2}"
    assert _tex("(a*b)**c") == r"\left(a \cdot b\right)^{c}"


def test_a_negative_base_keeps_its_brackets():
    assert _tex("(-2) ** c * log(2)").startswith(r"\left(-2\right)^{c}")
    assert _tex("-2 ** c") == "-2^{c}"  # Python's -(2**c), as TeX reads it
    assert latex(ex.Bin("**", ex.Num(-2.0), ex.Name("c"))) == r"\left(-2\right)^{c}"
    assert latex(ex.Bin("*", ex.Name("a"), ex.Num(-3.0))) == r"a \cdot \left(-3\right)"
    assert _tex("a * -b") == r"a \cdot \left(-b\right)"
    assert _tex("a - -b") == r"a - \left(-b\right)"
    assert _tex("-(a*b)") == r"-\left(a \cdot b\right)"


def test_names_are_written_one_way():
    assert tex_name("a") == "a"
    assert tex_name("w_10") == "w_{10}"
    assert tex_name("h_1") == "h_{1}"
    assert tex_name("loss_total") == r"\mathit{loss}_{\mathit{total}}"
    assert tex_name("a_b_c") == r"\mathit{a\_b\_c}"
    assert tex_name("x_") == r"\mathit{x\_}"
    assert tex_name("_z") == r"\mathit{\_z}"
    assert tex_name("w1") == r"\mathit{w1}"
    names = ["a", "w_10", "w10", "w_1_0", "a_b", "ab", "a_b_c", "x_", "_x", "x__", "w1", "w_1"]
    assert len({tex_name(n) for n in names}) == len(names)  # no two names look alike


def test_numbers_in_tex():
    assert tex_num(3.0) == "3" and tex_num(0.001) == "0.001" and tex_num(-3.0) == "-3"
    assert tex_num(1e-12) == "10^{-12}"
    assert tex_num(2.5e-13) == r"2.5 \times 10^{-13}"
    assert tex_num(float("inf")) == r"\infty" and tex_num(float("-inf")) == r"-\infty"
    assert tex_num(float("nan")) == r"\mathrm{nan}"


def test_the_handout_writes_each_name_the_same_way_everywhere():
    md = handout(TRICKY["names.yaml"])
    spans = "\n".join(math_spans(md))
    for raw, tex in (("h_1", "h_{1}"), ("w_10", "w_{10}"), ("a_b_c", r"\mathit{a\_b\_c}"), ("x_", r"\mathit{x\_}")):
        assert tex in spans, raw
        # the raw name never appears in math, in partials or anywhere else
        assert re.search(rf"(?<![\\\w]){re.escape(raw)}(?![\w{{])", spans.replace(tex, "")) is None, raw
    assert r"\frac{\partial J}{\partial w_{10}}" in spans
    assert r"\frac{\partial \mathit{u\_1}}" not in spans and r"\frac{\partial u_{1}}{\partial h_{1}}" in spans


def test_negative_factors_are_bracketed_in_the_handout():
    md = handout(TRICKY["negatives.yaml"])
    assert r"\times -" not in md and r"\cdot -" not in md
    assert r"0.75 \times \left(-3\right) = -2.25" in md  # the backward step's negative local derivative
    assert "-3 \\times \\left(-3\\right) = 9" in md  # u = -3·x with x = -3


# --------------------------------------------------------------------------- KaTeX, strict


@needs_katex
def test_every_handout_renders_in_katex_strict(capsys):
    spans: list[tuple[str, str]] = []
    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        for h in ("0.001", "1e-12"):
            assert run([str(path), "--markdown", "--fd-step", h]) == 0
            out, _ = capsys.readouterr()
            spans += [(f"{path.name} h={h}", s) for s in math_spans(out)]
    for example in (["chain", "--size", "12"], ["dag", "--size", "30"], ["mlp", "--layers", "3,2,1"]):
        assert run(["--example", *example, "--markdown"]) == 0
        out, _ = capsys.readouterr()
        spans += [(f"--example {example[0]}", s) for s in math_spans(out)]
    for name, text in TRICKY.items():
        for h in (1e-3, 1e-12):
            spans += [(f"{name} h={h}", s) for s in math_spans(handout(text, h, name))]
    assert len(spans) > 300
    failures = katex_failures([s for _, s in spans])
    assert not failures, "\n".join(f"{spans[i][0]}: {tex}\n    {err}" for i, tex, err in failures[:20])


NAMES = ["a", "b", "x_", "w_10", "a_b_c", "loss_total", "_z", "w1", "h_1"]
FUNCS = list(ex.FUNCTIONS)


def _formulas() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.sampled_from(NAMES), st.sampled_from(["2", "0.5", "1e-9", "3e20", "pi", "e", "0"]))

    def grow(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**"]), inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            inner.map(lambda a: f"-{a}"),
            inner.map(lambda a: f"-({a})"),
            st.tuples(st.sampled_from(FUNCS), inner).map(lambda t: f"{t[0]}({t[1]})"),
        )

    return st.recursive(leaves, grow, max_leaves=8)


@needs_katex
@settings(max_examples=examples(6), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(_formulas(), min_size=60, max_size=60))
def test_random_expressions_render_in_katex_strict(formulas):
    spans = []
    for formula in formulas:
        tree = ex.parse(formula)
        spans.append(latex(tree))
        for name in ex.names(tree):  # their local derivatives, as the handout writes them
            spans.append(latex(ex.derivative(tree, name)))
    failures = katex_failures(spans)
    assert not failures, "\n".join(f"{tex}\n    {err}" for _, tex, err in failures[:10])
