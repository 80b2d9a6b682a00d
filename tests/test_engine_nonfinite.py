"""Non-finite numbers never raise; finite-difference statuses and relative errors."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathlib import Path

from engine import compute, finite_difference, finite_differences, load_bytes, load_path
from engine import expr as ex
from engine.finite_diff import rel_error
from engine.report import to_json, to_trace
from soak import examples


def walk_of(text: str, **overrides):
    return compute(load_bytes(text.encode(), "test.yaml").graph, overrides or None)


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-strict JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


# node text, inputs, the non-finite node, its value (nan/inf/-inf), words the cause must contain
NONFINITE = [
    ("log(a)", {"a": 0}, "u", -math.inf, "log of 0"),
    ("log(a)", {"a": -1}, "u", math.nan, "log of a negative"),
    ("a / (b - 3)", {"a": 1, "b": 3}, "u", math.inf, "division by zero"),
    ("-a / (b - 3)", {"a": 1, "b": 3}, "u", -math.inf, "division by zero"),
    ("a / (b - 3)", {"a": 0, "b": 3}, "u", math.nan, "division by zero"),
    ("9 ** 9 ** 9 + a", {"a": 1}, "u", math.inf, "overflow"),
    ("9 ^ 9 ^ 9 * a", {"a": 1}, "u", math.inf, "overflow"),
    ("sqrt(a)", {"a": -4}, "u", math.nan, "sqrt of a negative"),
    ("exp(a)", {"a": 1000}, "u", math.inf, "overflow"),
    ("a ** 0.5", {"a": -8}, "u", math.nan, "negative number to a fractional power"),
    ("a ** -1", {"a": 0}, "u", math.inf, "0 to a negative power"),
    ("a * 10", {"a": 1e308}, "u", math.inf, "overflow"),
]


def _same(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or x == y


@pytest.mark.parametrize("expr, inputs, node, value, cause", NONFINITE, ids=[c[0] + " " + str(c[1]) for c in NONFINITE])
def test_nonfinite_value_gives_one_warning_and_carries_on(expr, inputs, node, value, cause):
    names = ", ".join(f"{k}: {v!r}" for k, v in inputs.items())
    text = f"inputs: {{{names}}}\nnodes:\n  u: {expr}\n  v: 3 * u\n  J: v + 1\n"
    walk = walk_of(text)
    assert _same(walk.values[node], value)
    assert not math.isfinite(walk.values["J"])  # downstream carries on with it
    assert len(walk.warnings) == 1, walk.warnings
    (warning,) = walk.warnings
    assert f"'{node}'" in warning and cause in warning
    assert len(walk.backward_steps) == 2 + len(walk.graph.node_by_name["u"].operands)
    # finite differences and both reports carry on too
    fds = finite_differences(walk)
    for name in walk.graph.names:  # the output itself is not finite: every estimate is non-finite
        assert fds[name].status == "non-finite", name
        assert math.isnan(fds[name].rel_error_central)
    doc = _strict(to_json(walk, fds, 1e-3, "test.yaml"))
    assert doc["warnings"] == [warning]
    assert doc["values"]["u"] == ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    assert warning in to_trace(walk, fds, 1e-3, "test.yaml")


def test_infinite_local_derivative_sqrt_at_zero():
    walk = walk_of("inputs: {a: 0}\nnodes:\n  u: sqrt(a)\n  J: 2 * u\n")
    assert walk.values == {"a": 0, "u": 0, "J": 0}
    (step,) = [s for s in walk.backward_steps if s.child == "u"]
    assert step.local == math.inf
    assert walk.grads["a"] == math.inf
    (warning,) = walk.warnings
    assert "local derivative ∂u/∂a" in warning and "at a = 0" in warning and "division by zero" in warning
    assert finite_difference(walk, "a").status == "non-finite"
    assert finite_difference(walk, "u").status == "ok"


def test_nonfinite_in_a_node_with_no_operands():
    walk = walk_of("inputs: {a: 1}\nnodes:\n  big: 9 ** 9 ** 9\n  J: big * a\n")
    assert walk.values["big"] == math.inf
    (warning,) = walk.warnings
    assert "'big'" in warning and "overflow" in warning


def test_a_warning_where_each_nonfinite_value_starts_not_where_it_is_inherited():
    walk = walk_of("inputs: {a: 0}\nnodes:\n  u: log(a)\n  v: exp(u)\n  w: 1 / v\n  J: w + u\n")
    # u = log(0) = -inf starts one; v = exp(-inf) = 0 is finite again; w = 1 / 0 starts another;
    # J = inf + (-inf) = nan only inherits, so it does not warn.
    assert walk.values["v"] == 0 and walk.values["w"] == math.inf
    assert [w.split(":")[0] for w in walk.warnings] == ["node 'u' is -inf", "node 'w' is inf"]


@pytest.mark.parametrize("text", ["9 ** 9 ** 9", "(-8) ** (1/3)", "10 ** 400 - 10 ** 400", "log(0) * 0", "exp(1000) - exp(1000)", "tan(1e308 * 10)", "1 / 0", "0 / 0", "sqrt(-1)", "sin(9 ** 9 ** 9)", "relu(0 / 0)", "abs(-(9 ** 9 ** 9))", "sigmoid(0/0)", "tanh(-(9**9**9))"])
def test_evaluate_never_raises(text):
    value = ex.evaluate(ex.parse(text), {})
    assert isinstance(value, float)


def test_sigmoid_and_tanh_saturate_without_overflow():
    assert ex.evaluate(ex.parse("sigmoid(-1000)"), {}) == 0.0
    assert ex.evaluate(ex.parse("sigmoid(1000)"), {}) == 1.0
    assert ex.evaluate(ex.parse("tanh(1000)"), {}) == 1.0


# --------------------------------------------------------------------------- statuses


def test_kink_relu_at_zero():
    walk = walk_of("inputs: {a: 0, b: 1}\nnodes:\n  u: relu(a)\n  J: u * b + a\n")
    fd = finite_difference(walk, "a")
    # backprop takes relu'(0) = step(0) = 0; the central estimate sees half a corner
    assert walk.grads["a"] == 1
    assert math.isclose(fd.central, 1.5, rel_tol=1e-9)
    assert fd.status == "kink" and fd.kink == "u"
    # not every variable is affected: b and u are nudged past no corner
    assert finite_difference(walk, "b").status == "ok"
    assert finite_difference(walk, "u").status == "ok"


def test_kink_when_the_argument_changes_sign_within_h():
    text = "inputs: {a: 0.0005}\nnodes:\n  J: abs(a)\n"
    assert finite_difference(walk_of(text), "a", 1e-3).status == "kink"
    assert finite_difference(walk_of(text), "a", 1e-4).status == "ok"
    assert finite_difference(walk_of(text, a=0.5), "a").status == "ok"


def test_kink_only_on_the_path_to_the_output():
    walk = walk_of("inputs: {a: 0, b: 2}\nnodes:\n  u: relu(a)\n  J: u + b * b\n")
    assert finite_difference(walk, "b").status == "ok"
    assert finite_difference(walk, "a").status == "kink"


def test_nonfinite_comes_before_kink():
    walk = walk_of("inputs: {a: 0}\nnodes:\n  u: relu(a)\n  J: log(u)\n")
    assert finite_difference(walk, "a").status == "non-finite"


def test_suspect_when_h_is_too_large():
    walk = walk_of("inputs: {a: 2}\nnodes:\n  J: a ^ 3\n")
    big = finite_difference(walk, "a", 1.0)
    # ((a+1)^3 − (a−1)^3) / 2 = 3a² + 1 = 13 against 3a² = 12
    assert big.central == 13 and big.grad == 12
    assert math.isclose(big.rel_error_central, 1 / 13, rel_tol=1e-12)
    assert big.status == "suspect"
    assert finite_difference(walk, "a", 1e-3).status == "ok"


def test_tiny_absolute_error_is_not_suspect():
    """A zero gradient estimated as ~1e-17 has a relative error of 1 but is fine."""
    walk = walk_of("inputs: {a: 1.5707963267948966}\nnodes:\n  J: sin(a)\n")
    fd = finite_difference(walk, "a")
    assert abs(fd.grad) < 1e-15 and abs(fd.central - fd.grad) < 1e-8
    assert fd.status == "ok"


def test_rel_error():
    assert rel_error(0.0, 0.0) == 0.0
    assert rel_error(3.0, 3.0) == 0.0
    assert rel_error(1.0, 2.0) == 0.5
    assert rel_error(2.0, 1.0) == 0.5
    assert rel_error(-1.0, 1.0) == 2.0
    assert rel_error(0.0, 1e-14) == 1.0
    for bad in (math.nan, math.inf, -math.inf):
        assert math.isnan(rel_error(bad, 1.0))
        assert math.isnan(rel_error(1.0, bad))
    assert math.isnan(rel_error(math.inf, math.inf))


def test_relative_errors_reported_for_both_estimates():
    walk = walk_of("inputs: {x: 1}\nnodes:\n  J: exp(x)\n")
    fd = finite_difference(walk, "x")
    e = math.e
    forward = (math.exp(1 + 1e-3) - e) / ((1 + 1e-3) - 1)
    assert math.isclose(fd.forward, forward, rel_tol=1e-12)
    assert math.isclose(fd.rel_error_forward, abs(e - forward) / max(e, forward), rel_tol=1e-6)
    assert fd.rel_error_central < fd.rel_error_forward < 1e-3


def test_fd_divides_by_the_step_actually_taken():
    """With x = 1e6 and h = 1e-10, x + h − x is not h; the estimate must still be right."""
    walk = walk_of("inputs: {x: 1000000}\nnodes:\n  J: 2 * x\n")
    fd = finite_difference(walk, "x", 1e-10)
    assert fd.h == 1e-10
    assert math.isclose(fd.forward, 2, rel_tol=1e-12)
    assert math.isclose(fd.central, 2, rel_tol=1e-12)


EXAMPLES = [load_path(p).graph for p in sorted((Path(__file__).resolve().parent.parent / "graphs").glob("*.yaml"))]


@settings(max_examples=examples(150), deadline=None)
@given(st.data())
def test_any_finite_inputs_never_raise(data):
    """Whatever finite values the inputs get (huge, tiny, zero, negative), nothing raises,
    the JSON stays strict, and a non-finite value never appears without a warning."""
    graph = data.draw(st.sampled_from(EXAMPLES))
    values = {i.name: data.draw(st.floats(allow_nan=False, allow_infinity=False), label=i.name) for i in graph.inputs}
    walk = compute(graph, values)
    fds = finite_differences(walk, "all", data.draw(st.sampled_from([1e-3, 1e-8, 1.0, 1e300])))
    _strict(to_json(walk, fds, 1e-3, "x.yaml"))
    to_trace(walk, fds, 1e-3, "x.yaml")
    if not all(math.isfinite(v) for v in walk.values.values()):
        assert walk.warnings
    if any(not math.isfinite(s.local) for s in walk.backward_steps):
        assert walk.warnings
    for fd in fds.values():
        assert fd.status in ("ok", "suspect", "kink", "lost", "non-finite")
