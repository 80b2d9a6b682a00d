"""Random tensor graphs against HIPS autograd (#15): values and every input's gradient to 1e-10 relative.

The graphs use every operation (elementwise + - * / ** and unary minus, every function of a graph
file, pi and e, @, .T, transpose,
sum and mean with and without axis), broadcasting of rows, columns, 1×1 and numbers,
fan-out (names used by several nodes and twice in one expression) and expressions of
several operations in one node. autograd differentiates the same expressions evaluated
with its own numpy, written here independently of engine.tensor_ops.
"""

from __future__ import annotations

import autograd
import autograd.numpy as anp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine import expr as ex
from engine import parse_graph
from engine import tensor_expr as te
from engine.tensor_graph import compute_tensor
from soak import examples

SHAPES = [(), (1, 1), (1, 3), (2, 1), (2, 3), (3, 2), (3, 3)]
FUNCS = {
    "tanh": anp.tanh, "sigmoid": lambda x: 1 / (1 + anp.exp(-x)), "sin": anp.sin, "cos": anp.cos,
    "exp": anp.exp, "log": anp.log, "sqrt": anp.sqrt, "relu": lambda x: anp.maximum(x, 0.0), "abs": anp.abs,
    "tan": anp.tan,
}
SAFE = ["tanh({})", "sigmoid({})", "sin({})", "cos({})", "exp(tanh({}))", "log(1 + {0} * {0})",
        "sqrt(1 + {} ** 2)", "relu({})", "abs({})", "tan(tanh({}))", "-{}", "pi * {} / e",
        "(1 + {0} * {0}) ** sigmoid({0})"]


def ag_eval(e, env):
    """The expression on autograd's numpy (independent of the engine's evaluator)."""
    if isinstance(e, ex.Name):
        return env[e.id]
    if isinstance(e, ex.Num):
        return e.value
    if isinstance(e, ex.Const):
        return ex.CONSTANTS[e.id]
    if isinstance(e, ex.Bin):
        a, b = ag_eval(e.left, env), ag_eval(e.right, env)
        return {"+": anp.add, "-": anp.subtract, "*": anp.multiply, "/": anp.divide, "**": anp.power,
                "@": anp.matmul}[e.op](a, b)
    if isinstance(e, ex.Neg):
        return -ag_eval(e.operand, env)
    if isinstance(e, ex.Call):
        return FUNCS[e.func](ag_eval(e.arg, env))
    if isinstance(e, te.Transpose):
        return anp.transpose(ag_eval(e.arg, env))
    if isinstance(e, te.Reduce):
        a = ag_eval(e.arg, env)
        if anp.ndim(a) == 0:
            return a
        f = anp.sum if e.func == "sum" else anp.mean
        return f(a, axis=e.axis, keepdims=True) if e.axis is not None else f(a, keepdims=True)
    raise TypeError(type(e).__name__)


def fits(a, b):
    return te.broadcast(a, b) is not None


@st.composite
def tensor_graphs(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    pool = []  # (name, shape)
    lines = ["inputs:"]
    for k in range(draw(st.integers(2, 4))):
        shape = draw(st.sampled_from(SHAPES[1:] if k == 0 else SHAPES))  # one matrix: a tensor graph
        value = rng.uniform(-1.5, 1.5, shape)
        text = repr(float(value)) if shape == () else repr(value.tolist())
        lines.append(f"  x{k}: {text}")
        pool.append((f"x{k}", shape))
    lines.append("nodes:")
    for k in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["ew", "mm", "fn", "red", "T", "combo", "twice"]))
        a, sa = draw(st.sampled_from(pool))
        b, sb = draw(st.sampled_from(pool))
        if kind == "ew" and fits(sa, sb):
            op = draw(st.sampled_from(["+", "-", "*", "/"]))
            text, shape = (f"{a} / (1 + {b} * {b})" if op == "/" else f"{a} {op} {b}"), te.broadcast(sa, sb)
        elif kind in ("mm", "combo") and sa and sb:
            options = [(f"{a} @ {b}", sa[1] == sb[0], (sa[0], sb[1])), (f"{a}.T @ {b}", sa[0] == sb[0], (sa[1], sb[1])),
                       (f"{a} @ transpose({b})", sa[1] == sb[1], (sa[0], sb[0])), (f"{a}.T @ {b}.T", sa[0] == sb[1], (sa[1], sb[0]))]
            good = [(t, s) for t, ok, s in options if ok]
            if not good:
                text, shape = f"{a} * {a}", sa
            else:
                text, shape = draw(st.sampled_from(good))
                if kind == "combo":
                    text = draw(st.sampled_from(SAFE)).format(f"({text})")
        elif kind == "fn":
            text, shape = draw(st.sampled_from(SAFE)).format(a), sa
        elif kind == "red":
            func = draw(st.sampled_from(["sum", "mean"]))
            axis = draw(st.sampled_from([None, 0, 1])) if sa else None
            text = f"{func}({a})" if axis is None else f"{func}({a}, axis={axis})"
            shape = te.reduced(sa, axis)
        elif kind == "T":
            text, shape = draw(st.sampled_from([f"{a}.T", f"transpose({a})"])), sa[::-1]
        else:  # fan-out inside one expression, and a power
            text, shape = f"{a} * tanh({a}) + {a} ** 2", sa
        name = f"n{k}"
        lines.append(f"  {name}: {text}")
        pool.append((name, shape))
    total = " + ".join(f"sum({n})" for n, _ in pool if n.startswith("n"))
    lines.append(f"  J: {total} + sum(x0 * x0)")
    return "\n".join(lines) + "\n"


@pytest.mark.filterwarnings("ignore:Output seems independent of input")
@settings(max_examples=examples(120), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tensor_graphs())
def test_random_tensor_graphs_agree_with_autograd(text):
    graph = parse_graph(text)
    walk = compute_tensor(graph)
    names = [i.name for i in graph.inputs]

    def f(*args):
        env = dict(zip(names, args))
        for node in graph.nodes:
            env[node.name] = ag_eval(node.expr, env)
        return anp.sum(env[graph.output])

    args = [walk.values[n] for n in names]
    assert float(f(*args)) == float(np.sum(walk.values["J"])) or np.isclose(f(*args), walk.values["J"].sum(), rtol=1e-12)
    for k, name in enumerate(names):
        expected = np.asarray(autograd.grad(f, k)(*args), dtype=float)
        got = walk.grads[name]
        assert got.shape == np.shape(args[k]), (name, got.shape)
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13 * scale, err_msg=f"{name}\n{text}")
    # every step's contribution has its parent's shape, and the contributions add up to the gradient
    sums = {n: np.zeros(graph.shapes[n]) for n in graph.names}
    for s in walk.backward_steps:
        assert s.contribution.shape == graph.shapes[s.parent]
        sums[s.parent] = sums[s.parent] + s.contribution
        np.testing.assert_array_equal(sums[s.parent], s.grad_after)
        assert s.shapes.endswith(f"= shape of {s.parent} ✓")
