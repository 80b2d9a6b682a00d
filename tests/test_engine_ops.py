"""The table of operations (engine/ops.py) and what reads it.

An operation lives in one place: adding one there must make it parse, evaluate,
differentiate, nudge (one at a time and batched, to the same bits) and print as
LaTeX, checked against SymPy. A flat branch (relu off) stops the gradient by
selection: inf × step(−1) is 0, not nan, as JAX and autograd have it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import compute, finite_difference, finite_differences, load_bytes, ops
from engine import expr as ex
from engine import finite_diff as fdm
from engine import report, tape
from engine.errors import GraphError
from engine.graph import RESERVED
from tui.cli import run
from soak import examples

# --------------------------------------------------------------------------- the table itself


def test_every_operation_has_one_entry_and_every_consumer_reads_it():
    functions = ("exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "abs")
    assert set(ops.OPS) == {"+", "-", "*", "/", "**", "neg", *functions, "step", "sign"}
    assert ex.FUNCTIONS == functions and ex.FORMULA_FUNCTIONS == ("step", "sign")
    assert set(ex.FUNCTION_IMPL) == set(tape._FUNC_OPS) == set(report._LATEX_FUNCS) == {*functions, "step", "sign"}
    for name in (*functions, "step", "sign"):
        assert ex.FUNCTION_IMPL[name] is ops.OPS[name].scalar
        assert tape._FUNC_IMPL[tape._FUNC_OPS[name]] is ops.OPS[name].scalar
        assert report._LATEX_FUNCS[name] == ops.OPS[name].latex
        assert name in RESERVED
    assert {ops.OPS[n].name for n, c in tape._FUNC_OPS.items() if c in fdm.KINK_OPS} == {"relu", "abs", "step", "sign"}
    assert [n for n, op in ops.OPS.items() if op.selector] == ["step"]
    assert report._LATEX_FUNCS["tanh"] == r"\tanh" and report._LATEX_FUNCS["relu"] == r"\operatorname{relu}"


def test_an_entry_missing_a_field_or_a_rule_fails_when_built():
    tanh = ops.OPS["tanh"]
    with pytest.raises(TypeError):
        ops.Op("f", "function", 1, math.tanh, tanh.batched, tanh.derivative, "f", 5, None, tanh.cause, None)  # no selector
    with pytest.raises(ValueError, match="one derivative rule per operand"):
        ops.Op("g", "binary", 2, lambda a, b: a, tanh.batched, tanh.derivative, "g", 2, None, tanh.cause, None, False)
    with pytest.raises(ValueError, match="kind"):
        ops.Op("h", "matrix", 1, math.tanh, tanh.batched, tanh.derivative, "h", 5, None, tanh.cause, None, False)


SPECIALS = [0.0, -0.0, 1.0, -1.0, 1e-300, -1e-300, 710.0, -745.5, 1e308, -1e308, math.inf, -math.inf, math.nan,
            0.5, 2.0, -2.5, 1e16, 3.0]


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.one_of(st.floats(), st.sampled_from(SPECIALS)), min_size=1, max_size=40),
       st.lists(st.one_of(st.floats(), st.sampled_from(SPECIALS)), min_size=1, max_size=40))
def test_batched_implementations_give_the_float_implementations_bits(xs, ys):
    """The batched path may use numpy only where it gives the same number as the float path."""
    n = min(len(xs), len(ys))
    xs, ys = xs[:n], ys[:n]
    with np.errstate(all="ignore"):
        for name, op in ops.OPS.items():
            args = (xs,) if op.arity == 1 else (xs, ys)
            got = op.batched(*(np.array(a, dtype=float) for a in args))
            want = [op.scalar(*vals) for vals in zip(*args)]
            for g, w, vals in zip(got.tolist(), want, zip(*args)):
                assert g == w or (g != g and w != w), (name, vals, g, w)


# --------------------------------------------------------------------------- one new operation, in one place

SOFTPLUS_YAML = """\
inputs: {a: 0.7, b: -1.3, c: 2, d: 0.25, e1: 3}
nodes:
  s: softplus(a * b)
  t: softplus(c) * d
  u: s + t
  v: u * e1
  J: softplus(v) + a
"""


@pytest.fixture
def softplus():
    """softplus(x) = log(1 + exp(x)), whose derivative is sigmoid(x): registered in one place, removed after."""

    def scalar(x: float) -> float:
        if x != x:
            return x
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))

    op = ops.register(ops.function("softplus", scalar, lambda a, y: ex.call("sigmoid", a)))
    yield op
    ops.unregister("softplus")


def _sympy_softplus_graph():
    a, b, c, d, e1 = sp.symbols("a b c d e1", real=True)
    sp_ = lambda z: sp.log(1 + sp.exp(z))  # noqa: E731
    s = sp_(a * b)
    t = sp_(c) * d
    v = (s + t) * e1
    return (a, b, c, d, e1), sp_(v) + a


def test_a_new_operation_works_end_to_end(softplus, capsys):
    assert "softplus" in ex.FUNCTIONS and "softplus" in RESERVED
    assert ex.parse("softplus(x)") == ex.Call("softplus", ex.Name("x"))
    assert ex.to_text(ex.derivative(ex.parse("softplus(x)"), "x")) == "sigmoid(x)"

    walk = compute(load_bytes(SOFTPLUS_YAML.encode(), "softplus.yaml").graph)
    symbols, J = _sympy_softplus_graph()
    point = dict(zip(symbols, (0.7, -1.3, 2, 0.25, 3)))
    assert math.isclose(walk.values["J"], float(J.subs(point).evalf(30)), rel_tol=1e-13)
    for x in symbols:  # backward steps against SymPy's gradient
        assert math.isclose(walk.grads[x.name], float(sp.diff(J, x).subs(point).evalf(30)), rel_tol=1e-12), x
    steps = [s for s in walk.backward_steps if s.child == "J" and s.parent == "v"]
    assert steps[0].local_formula == "sigmoid(v)"

    # 10 variables: the batched path; it agrees with one nudge at a time, to the bit
    fds = finite_differences(walk, "all")
    assert len(fds) >= fdm.BATCH_MIN
    for name, fd in fds.items():
        one = finite_difference(walk, name)
        assert (fd.forward, fd.central, fd.status) == (one.forward, one.central, one.status), name
        assert fd.status == "ok", fd
        assert math.isclose(fd.central, walk.grads[name], rel_tol=1e-4, abs_tol=1e-9)

    assert r"\operatorname{softplus}\left(" in report.latex(ex.parse("softplus(a * b)"))
    assert run(["-e", "J = softplus(a) * 2", "--set", "a=0", "--trace"]) == 0
    out = capsys.readouterr().out
    assert "∂J/∂a = 1" in out  # 2 · sigmoid(0)


def test_the_new_operation_is_gone_after_the_fixture():
    assert "softplus" not in ex.FUNCTIONS and "softplus" not in RESERVED and "softplus" not in tape._FUNC_OPS
    with pytest.raises(GraphError, match="unknown function 'softplus'"):
        ex.parse("softplus(x) + 1")


# --------------------------------------------------------------------------- flat branches stop the gradient by selection


def _relu(z):
    return sp.Piecewise((z, z > 0), (0, True))


def walk_of(text: str, **values):
    return compute(load_bytes(text.encode(), "t.yaml").graph, values or None)


@pytest.mark.parametrize(
    "nodes, oracle",
    [
        # one node: the local formula step(a) / (2 * sqrt(relu(a))) is 0 at a = -1, not 0 / 0
        ("J: sqrt(relu(a))", lambda a: sp.sqrt(_relu(a))),
        # across nodes: ∂J/∂r = inf, then inf × step(-1) is 0 by selection
        ("r: relu(a)\n  J: sqrt(r)", lambda a: sp.sqrt(_relu(a))),
        ("J: relu(a) ** 0.5", lambda a: _relu(a) ** sp.Rational(1, 2)),
        # r used twice, and a used twice (a's other path is an ordinary 2)
        ("r: relu(a)\n  s: sqrt(r)\n  J: s * r + s + 2 * a", lambda a: sp.sqrt(_relu(a)) * _relu(a) + sp.sqrt(_relu(a)) + 2 * a),
        # log of 0 is -inf, yet its flat side passes nothing back: only 2 * a's 2 arrives (SymPy
        # makes log(0) + 2a complex infinity, so the branches are written by hand: on a ≤ 0,
        # log(relu(a)) is the constant log(0), whose derivative is 0)
        ("J: log(relu(a)) + 2 * a", lambda a: sp.Piecewise((sp.log(a) + 2 * a, a > 0), (2 * a, True))),
    ],
    ids=["one node", "two nodes", "power", "used twice", "log of relu"],
)
def test_flat_branch_gives_zero_not_nan(nodes, oracle):
    walk = walk_of(f"inputs: {{a: -1}}\nnodes:\n  {nodes}\n")
    a = sp.Symbol("a", real=True)
    # SymPy's Piecewise, folded so each branch is differentiated on its own: the flat side
    expected = float(sp.diff(sp.piecewise_fold(oracle(a)), a).subs(a, -1))
    assert walk.grads["a"] == expected
    for step in walk.backward_steps:
        if step.parent == "a":
            assert step.product == 0.0 or step.local != 0.0, step  # no nan from a selected zero
        assert step.grad_after == step.grad_before + step.product


def test_a_selected_zero_says_so_and_the_step_reads_right():
    walk = walk_of("inputs: {a: -1}\nnodes:\n  r: relu(a)\n  J: sqrt(r)\n")
    (step,) = [s for s in walk.backward_steps if s.parent == "a"]
    assert (step.upstream, step.local, step.product, step.selected) == (math.inf, 0.0, 0.0, True)
    from engine import text as tx

    assert "flat" in tx.local_line(step, walk.graph.node_by_name["r"].expr, "J")
    # the infinite local derivative of sqrt at 0 still warns
    assert any("∂J/∂r" in w for w in walk.warnings)
    from engine.paths import why_gradient

    why = why_gradient(walk, "a")
    assert why.total == 0.0 == why.grad


@pytest.mark.parametrize(
    "text, values",
    [
        ("inputs: {a: 1, b: 0}\nnodes:\n  u: a * b\n  J: sqrt(u)\n", {}),  # ∂u/∂a = b = 0 is no selector
        ("inputs: {a: 0}\nnodes:\n  J: sqrt(abs(a))\n", {}),               # abs has a corner, not a flat side
    ],
)
def test_other_zeros_times_inf_stay_nan_with_a_warning(text, values):
    walk = walk_of(text, **values)
    assert math.isnan(walk.grads["a"])
    assert walk.warnings


def test_flat_branch_from_the_command_line(capsys):
    assert run(["-e", "J = sqrt(relu(a))", "--set", "a=-1", "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["grads"]["a"] == 0.0
    assert doc["fd"]["a"]["central"] == 0.0 and doc["fd"]["a"]["status"] == "ok"


def test_expression_evaluation_selects_too():
    d = ex.derivative(ex.parse("sqrt(relu(a))"), "a")
    assert ex.to_text(d) == "step(a) / (2 * sqrt(relu(a)))"
    assert ex.evaluate(d, {"a": -1.0}) == 0.0
    assert ex.evaluate(d, {"a": 4.0}) == 0.25
    assert math.isnan(ex.evaluate(ex.parse("0 / (2 * sqrt(relu(a)))"), {"a": -1.0}))  # a plain 0 does not select
