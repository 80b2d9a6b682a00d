"""An independent oracle: SymPy.

The graph's text is read a second time, by SymPy's own parser (YAML by PyYAML),
never through the engine's tree. For each variable (an input, or a node held
as a free variable with its own operands fixed) the output is written as one
SymPy expression by substituting node expressions, differentiated, and
evaluated at high precision. Backprop must agree with it, and with the central
finite difference.
"""

from __future__ import annotations

import math
import re

import pytest
import sympy as sp
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine
from engine import compute, finite_difference, load_bytes, load_path
from engine import expr as ex
from paths import ROOT
from soak import examples

GRAPH_FILES = sorted((ROOT / "graphs").glob("*.yaml"))
DIGITS = 30

# --------------------------------------------------------------------------- the oracle


def _relu(z):
    return sp.Piecewise((z, z > 0), (0, True))


def _step(z):
    return sp.Piecewise((1, z > 0), (0, True))


SYMPY_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "tanh": sp.tanh, "sigmoid": lambda z: 1 / (1 + sp.exp(-z)), "relu": _relu, "abs": sp.Abs,
    "pi": sp.pi, "e": sp.E,
}
FORMULA_FUNCTIONS = {**SYMPY_FUNCTIONS, "step": _step, "sign": sp.sign}


def sympy_parse(text: str, symbols: dict[str, sp.Symbol], functions=SYMPY_FUNCTIONS) -> sp.Expr:
    """Expression text in graph-file syntax read by SymPy (``^`` is ``**``, as the file format says)."""
    return sp.parse_expr(str(text).replace("^", "**"), local_dict={**functions, **symbols})


class Oracle:
    """A graph as SymPy expressions: ``inputs`` values and ``nodes`` expressions, by name."""

    def __init__(self, inputs: dict[str, float], nodes: dict[str, str], output: str):
        self.symbols = {name: sp.Symbol(name, real=True) for name in [*inputs, *nodes]}
        self.inputs = inputs
        self.nodes = {name: sympy_parse(text, self.symbols) for name, text in nodes.items()}
        self.output = output
        self.point = {self.symbols[k]: sp.Float(v, DIGITS) for k, v in inputs.items()}

    @classmethod
    def from_yaml(cls, text: str) -> Oracle:
        doc = yaml.safe_load(text)
        inputs = {k: float(v["value"] if isinstance(v, dict) else v) for k, v in doc["inputs"].items()}
        nodes = {k: str(v["expr"] if isinstance(v, dict) else v) for k, v in doc["nodes"].items()}
        return cls(inputs, nodes, doc.get("output") or list(nodes)[-1])

    def expanded(self, name: str, free: str | None = None) -> sp.Expr:
        """``name`` in terms of inputs (and of ``free``, kept as a symbol)."""
        memo: dict[str, sp.Expr] = {}

        def go(n: str) -> sp.Expr:
            if n in memo:
                return memo[n]
            if n == free or n in self.inputs:
                result = self.symbols[n]
            else:
                e = self.nodes[n]
                result = e.xreplace({s: go(s.name) for s in e.free_symbols})
            memo[n] = result
            return result

        return go(name)

    def value(self, name: str, at: dict | None = None) -> float:
        return _number(self.expanded(name), at or self.point)

    def values(self) -> dict[str, float]:
        return {n: self.value(n) for n in [*self.inputs, *self.nodes]}

    def grad(self, var: str) -> float:
        """∂output/∂var with var's own operands held fixed (as backprop and the nudge mean it)."""
        out = self.expanded(self.output, free=var)
        at = dict(self.point)
        if var not in self.inputs:
            at[self.symbols[var]] = sp.Float(self.value(var), DIGITS)
        derivative = sp.diff(out, self.symbols[var])
        value = _number(derivative, at)
        if math.isnan(value):
            # SymPy's form may be 0/0 where the derivative is continuous (d/dx (x^3)^2.0 =
            # 6.0 (x^3)^2.0 / x at 0): take it a hair away from the point, at high precision
            x = self.symbols[var]
            near = {**at, x: at[x] + sp.Float("1e-25", DIGITS)}
            value = _number(derivative, near)
        return value


def _number(e: sp.Expr, at: dict) -> float:
    v = e.xreplace(at).evalf(DIGITS)
    if v.has(sp.zoo, sp.oo, -sp.oo, sp.nan) or not v.is_number:
        return math.nan
    c = complex(v)
    return c.real if abs(c.imag) <= 1e-20 * max(1.0, abs(c.real)) else math.nan


# --------------------------------------------------------------------------- checks shared by files and random graphs

# Literal leftovers a simplifier should remove, with word boundaries so that "* 10" or "0.1 *" do not count.
BAD_PIECES = [
    re.compile(r"(?<![\w.])1 \*(?!\*)"),
    re.compile(r"(?<!\*)\* 1(?![\w.])"),
    re.compile(r"(?<![\w.])0 \+"),
    re.compile(r"\+ 0(?![\w.])"),
    re.compile(r"- 0(?![\w.])"),
    re.compile(r"--"),
]
_NUM = r"-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
# two numbers joined by one operator, alone or alone inside parentheses: "2 * 3", "(1 + 2)"
TWO_NUMBERS = re.compile(rf"(?:^|\()\s*{_NUM}\s*(?:\*\*|[-+*/])\s*{_NUM}\s*(?:\)|$)")


def assert_simplified(formula: str, tree: ex.Expr) -> None:
    for pattern in BAD_PIECES:
        assert not pattern.search(formula), f"{formula!r} contains {pattern.pattern!r}"
    assert not TWO_NUMBERS.search(formula), f"{formula!r} computes with two bare numbers"
    for sub in ex.walk(tree):
        if isinstance(sub, ex.Bin):
            assert not (isinstance(sub.left, ex.Num) and isinstance(sub.right, ex.Num)), formula
        if isinstance(sub, ex.Neg):
            assert not isinstance(sub.operand, (ex.Num, ex.Neg)), formula


def kink_arguments(e: sp.Expr) -> list[sp.Expr]:
    out = [a.args[0] for a in e.atoms(sp.Abs)]
    for pw in e.atoms(sp.Piecewise):
        for _, cond in pw.args:
            if isinstance(cond, sp.core.relational.Relational):
                out.append(cond.lhs - cond.rhs)
    return out


def near_kink(oracle: Oracle, node: str, env: dict, margin: float) -> bool:
    return any(abs(_number(arg, env)) <= margin for arg in kink_arguments(oracle.nodes[node]))


def check_against_oracle(walk: engine.Walk, oracle: Oracle, fd_h: float = 1e-6) -> None:
    graph = walk.graph
    assert graph.output == oracle.output
    expected_values = oracle.values()
    for name, value in expected_values.items():
        assert math.isclose(walk.values[name], value, rel_tol=1e-9, abs_tol=1e-12), (name, walk.values[name], value)

    # the scale of cancellation: no sum in the walk is larger than this
    scale = 1.0 + max([abs(v) for v in walk.values.values()]
                      + [abs(s.upstream) * (1 + abs(s.local)) for s in walk.backward_steps])

    full_env = {oracle.symbols[k]: sp.Float(v, DIGITS) for k, v in expected_values.items()}
    kinky = {n for n in oracle.nodes if near_kink(oracle, n, full_env, 1e-3)}

    for name in graph.names:
        expected = oracle.grad(name)
        got = walk.grads[name]
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-10 * scale), (name, got, expected)
        if kinky & ({name} | set(graph.downstream(name))):
            continue
        fd = finite_difference(walk, name, fd_h)
        if fd.status == "kink":  # SymPy may merge relu(relu(x)) into one corner: trust only a real one
            assert any(f in graph.node_by_name[n].text for n in [e.node for e in fd.trail] if n in graph.node_by_name for f in ("relu", "abs")), fd
            continue
        assert fd.status in ("ok", "suspect"), (name, fd)
        assert math.isclose(fd.central, got, rel_tol=1e-4, abs_tol=1e-6 * scale), (name, fd.central, got)

    for step in walk.backward_steps:
        assert step.product == step.upstream * step.local
        assert step.grad_after == step.grad_before + step.product
        assert_simplified(step.local_formula, step.local_tree)
        # the formula, read by SymPy and evaluated, against a central difference of the
        # child's own expression in that operand (all other operands fixed)
        formula = sympy_parse(step.local_formula, oracle.symbols, FORMULA_FUNCTIONS)
        local = _number(formula, full_env)
        assert math.isclose(step.local, local, rel_tol=1e-9, abs_tol=1e-12 * (1 + abs(local))), (step, local)
        if step.child in kinky:
            continue
        child = oracle.nodes[step.child]
        p = oracle.symbols[step.parent]
        x = full_env[p]
        h = sp.Float("1e-8", DIGITS) * max(1, abs(x))
        plus = _number(child, {**full_env, p: x + h})
        minus = _number(child, {**full_env, p: x - h})
        central = (plus - minus) / float(2 * h)
        assert math.isclose(local, central, rel_tol=1e-6, abs_tol=1e-8 * (1 + abs(plus) + abs(minus))), (
            step.local_formula, local, central)


# --------------------------------------------------------------------------- every file in graphs/


def test_there_are_example_graphs():
    names = {p.name for p in GRAPH_FILES}
    assert {"lecture.yaml", "logistic.yaml", "fanout.yaml", "neuron.yaml"} <= names


@pytest.mark.parametrize("path", GRAPH_FILES, ids=[p.name for p in GRAPH_FILES])
def test_graph_file_against_sympy(path):
    walk = compute(load_path(path).graph)
    assert not walk.warnings
    check_against_oracle(walk, Oracle.from_yaml(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("path", GRAPH_FILES, ids=[p.name for p in GRAPH_FILES])
def test_graph_file_says_what_it_teaches(path):
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# ") and len(first) > 10


def test_logistic_dL_dz_is_a_minus_y():
    """The classic result the logistic graph teaches: ∂L/∂z = a − y, ∂L/∂w1 = x1 (a − y)."""
    walk = compute(load_path(ROOT / "graphs" / "logistic.yaml").graph)
    v = walk.values
    z = v["w1"] * v["x1"] + v["w2"] * v["x2"] + v["b"]
    a = 1 / (1 + math.exp(-z))
    assert math.isclose(walk.grads["z"], a - v["y"], rel_tol=1e-12)
    assert math.isclose(walk.grads["w1"], v["x1"] * (a - v["y"]), rel_tol=1e-12)
    assert math.isclose(walk.grads["b"], a - v["y"], rel_tol=1e-12)
    assert math.isclose(v["L"], -(v["y"] * math.log(a) + (1 - v["y"]) * math.log(1 - a)), rel_tol=1e-12)


def test_neuron_local_derivative_is_one_minus_o_squared():
    walk = compute(load_path(ROOT / "graphs" / "neuron.yaml").graph)
    (step,) = [s for s in walk.backward_steps if (s.child, s.parent) == ("o", "n")]
    assert step.local_formula == "1 - tanh(n) ** 2"
    o = math.tanh(walk.values["n"])
    assert math.isclose(step.local, 1 - o * o, rel_tol=1e-12)


# --------------------------------------------------------------------------- random graphs

SAFE_CONST = st.sampled_from(["2", "3", "0.5", "1.5", "1e-1", "2.5e0", "pi", "e", "0.25"])


@st.composite
def expression(draw, names: list[str], depth: int = 3) -> str:
    """Expression text whose value is finite wherever its names are finite and moderate.

    Domain-restricted functions are wrapped so that the wrapped form is atomic
    (a call or a parenthesised group): whatever parentheses are dropped around it,
    the argument of log/sqrt and a fractional power stays positive and no divisor is 0.
    """
    if depth <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from(names)) if draw(st.integers(0, 4)) else draw(SAFE_CONST)
    sub = lambda: draw(expression(names, depth - 1))  # noqa: E731
    paren = lambda t: f"({t})" if draw(st.booleans()) else t  # noqa: E731
    kind = draw(st.sampled_from(["+", "-", "*", "/", "**k", "**r", "c**", "neg", "pos", "f", "log", "sqrt", "kink"]))
    c = draw(st.sampled_from(["0.5", "1", "2", "0.1"]))
    if kind in ("+", "-", "*"):
        return f"{paren(sub())} {kind} {paren(sub())}"
    if kind == "/":
        return f"{paren(sub())} / (({sub()}) ** 2 + {c})"
    if kind == "**k":
        k = draw(st.sampled_from(["2", "3", "1", "0", "-1", "2.0"]))
        caret = draw(st.sampled_from(["**", "^"]))
        if k == "-1":
            return f"(({sub()}) ^ 2 + {c}) {caret} -1"
        return f"({sub()}) {caret} {k}"
    if kind == "**r":
        r = draw(st.sampled_from(["0.5", "-1.5", "1.25", "-0.5"]))
        return f"(({sub()}) ** 2 + {c}) ** {r}"
    if kind == "c**":
        base = draw(st.sampled_from(["2", "0.5", "e", "1.5"]))
        return f"{base} ** sin({sub()})"
    if kind == "neg":
        return f"-{paren(sub())}"
    if kind == "pos":
        return f"+{paren(sub())}"
    if kind == "f":
        f = draw(st.sampled_from(["exp", "sin", "cos", "tanh", "sigmoid", "tan"]))
        if f in ("exp", "tan"):  # keep exp moderate and tan away from its poles
            return f"{f}(sin({sub()}))"
        return f"{f}({sub()})"
    if kind == "log":
        return draw(st.sampled_from([f"log(({sub()}) ** 2 + {c})", f"log(exp({sub()}) + {c})", f"log(sigmoid({sub()}))"]))
    if kind == "sqrt":
        return f"sqrt(({sub()}) ** 2 + {c})"
    f = draw(st.sampled_from(["relu", "abs"]))
    return f"{f}({sub()})"


@st.composite
def random_graph(draw):
    n_inputs = draw(st.integers(1, 4))
    n_nodes = draw(st.integers(1, 5))
    inputs = {f"x{k}": draw(st.floats(-2, 2, allow_nan=False).map(lambda v: round(v, 3))) for k in range(n_inputs)}
    nodes: dict[str, str] = {}
    for k in range(n_nodes):
        names = [*inputs, *nodes]
        nodes[f"n{k}"] = draw(expression(names))
    # write the nodes in a shuffled order: the file may list them in any order
    order = draw(st.permutations(list(nodes)))
    output = draw(st.sampled_from([None, *nodes]))
    lines = ["# random graph", "inputs:"]
    lines += [f"  {k}: {v!r}" for k, v in inputs.items()]
    lines.append("nodes:")
    lines += [f"  {k}: \"{nodes[k]}\"" for k in order]
    if output is not None:
        lines.append(f"output: {output}")
    return "\n".join(lines) + "\n", inputs, {k: nodes[k] for k in order}, output or order[-1]


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_graph())
def test_random_graphs_against_sympy(case):
    text, inputs, nodes, output = case
    walk = compute(load_bytes(text.encode(), "random.yaml").graph)
    # keep to moderate numbers: outside them float rounding, not the engine, decides
    assume(all(math.isfinite(v) and abs(v) < 1e4 for v in walk.values.values()))
    assume(all(math.isfinite(s.local) and abs(s.local) < 1e4 for s in walk.backward_steps))
    assert not walk.warnings
    check_against_oracle(walk, Oracle(inputs, nodes, output))


# --------------------------------------------------------------------------- formulas for single expressions


@pytest.mark.parametrize(
    "text, var, formula",
    [
        ("b * c", "b", "c"),
        ("b * c", "c", "b"),
        ("a + u", "a", "1"),
        ("3 * v", "v", "3"),
        ("x * x", "x", "2 * x"),
        ("tanh(n)", "n", "1 - tanh(n) ** 2"),
        ("relu(x)", "x", "step(x)"),
        ("abs(x)", "x", "sign(x)"),
        ("x ^ 3", "x", "3 * x ** 2"),
        ("log(x)", "x", "1 / x"),
        ("exp(x)", "x", "exp(x)"),
        ("-x", "x", "-1"),
        ("x - y", "y", "-1"),
        ("2 * x + 3", "x", "2"),
        ("3 * 2 * x", "x", "6"),          # constant parts copied by the product rule are folded
        ("x * 2 ** 2", "x", "4"),
        ("x / (2 ^ 2 + 0.5)", "x", repr(1 / 4.5)),
    ],
)
def test_local_formula_examples(text, var, formula):
    tree = ex.derivative(ex.parse(text), var)
    assert ex.to_text(tree) == formula
    assert_simplified(ex.to_text(tree), tree)


def test_simplification_check_catches_leftovers():
    """The check itself fails on what it must catch (so the tests above can fail)."""
    bad = {"1 * x": ex.Bin("*", ex.ONE, ex.Name("x")), "x * 1": ex.Bin("*", ex.Name("x"), ex.ONE),
           "0 + x": ex.Bin("+", ex.ZERO, ex.Name("x")), "x + 0": ex.Bin("+", ex.Name("x"), ex.ZERO),
           "x - 0": ex.Bin("-", ex.Name("x"), ex.ZERO), "2 * 3": ex.Bin("*", ex.Num(2), ex.Num(3)),
           "x - (2 + 3)": ex.Bin("-", ex.Name("x"), ex.Bin("+", ex.Num(2), ex.Num(3)))}
    for text, tree in bad.items():
        with pytest.raises(AssertionError):
            assert_simplified(text, tree)
    assert_simplified("x * 10 + 0.1 * y - 0.5", ex.parse("x * 10 + 0.1 * y - 0.5"))
