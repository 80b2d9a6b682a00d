"""The course's two vectorized lessons (#15), checked against the course's own closed forms."""

from __future__ import annotations

import numpy as np
import pytest

from engine import load_path
from engine.tensor_graph import compute_tensor, gradient_check, output_value
from paths import GRAPHS

TENSOR = GRAPHS / "tensor"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


@pytest.fixture(scope="module")
def logistic():
    return compute_tensor(load_path(TENSOR / "logistic_m.yaml").graph)


@pytest.fixture(scope="module")
def two_layer():
    return compute_tensor(load_path(TENSOR / "two_layer.yaml").graph)


def test_logistic_m_against_the_closed_forms(logistic):
    v, g = logistic.values, logistic.grads
    X, Y, w, b = v["X"], v["Y"], v["w"], v["b"]
    m = X.shape[1]
    A = sigmoid(w.T @ X + b)
    J = -np.mean(Y * np.log(A) + (1 - Y) * np.log(1 - A))
    assert logistic.graph.params == ("w", "b") and m == 5
    np.testing.assert_allclose(v["J"], [[J]], rtol=1e-13)
    np.testing.assert_allclose(g["w"], X @ (A - Y).T / m, rtol=1e-12)
    np.testing.assert_allclose(g["b"], [[np.sum(A - Y) / m]], rtol=1e-12)
    np.testing.assert_allclose(g["Z"], (A - Y) / m, rtol=1e-12)


def test_logistic_m_against_central_differences(logistic):
    for name in ("w", "b"):
        check = gradient_check(logistic, name)
        assert check.status == "great" and check.rel_error < 1e-7, (name, check.rel_error)
    # and by hand, element by element, independent of gradient_check
    base = {i.name: logistic.values[i.name] for i in logistic.graph.inputs}
    h = 1e-5
    for k in range(2):
        up, down = base["w"].copy(), base["w"].copy()
        up[k, 0] += h
        down[k, 0] -= h
        estimate = (output_value(logistic.graph, {**base, "w": up}) - output_value(logistic.graph, {**base, "w": down})) / (2 * h)
        assert estimate == pytest.approx(logistic.grads["w"][k, 0], rel=1e-7)


def test_logistic_m_steps_say_the_course_formulas(logistic):
    steps = {(s.child, s.parent): s for s in logistic.backward_steps}
    w, b = steps["Z", "w"], steps["Z", "b"]
    assert w.formula == "X · (∂J/∂Z)ᵀ"
    assert w.shapes == "(2×5)·(5×1) → (2×1) = shape of w ✓"
    assert w.reduced_axes is None and w.reduction is None
    assert b.formula == "sum(∂J/∂Z, axis=1)"
    assert b.reduced_axes == (1,) and b.reduction == "un-broadcast b: sum over axis 1 → (1×1)"
    assert logistic.forward_steps[0].shape_text == "(1×2)·(2×5) + (1×1 → 1×5) → (1×5)"
    np.testing.assert_array_equal(w.contribution, logistic.grads["w"])
    # one step per (node, operand) edge, child before parent, each complete before it flows on
    assert [(s.child, s.parent) for s in logistic.backward_steps] == [
        ("J", "L"), ("L", "Y"), ("L", "A"), ("A", "Z"), ("Z", "w"), ("Z", "X"), ("Z", "b")]


def test_two_layer_against_the_course_formulas(two_layer):
    v, g = two_layer.values, two_layer.grads
    X, Y = v["X"], v["Y"]
    W1, b1, W2, b2 = v["W1"], v["b1"], v["W2"], v["b2"]
    m = X.shape[1]
    np.testing.assert_array_equal(W1, np.random.default_rng(1).standard_normal((4, 2)) * 0.01)
    A1 = np.tanh(W1 @ X + b1)
    A2 = sigmoid(W2 @ A1 + b2)
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m
    dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m
    np.testing.assert_allclose(g["Z2"], dZ2 / m, rtol=1e-10)
    np.testing.assert_allclose(g["W2"], dW2, rtol=1e-10)
    np.testing.assert_allclose(g["b2"], db2, rtol=1e-10)
    np.testing.assert_allclose(g["Z1"], dZ1 / m, rtol=1e-10)
    np.testing.assert_allclose(g["W1"], dW1, rtol=1e-10)
    np.testing.assert_allclose(g["b1"], db1, rtol=1e-10)
    for name in two_layer.graph.params:
        assert gradient_check(two_layer, name).status == "great", name


def test_two_layer_formulas(two_layer):
    formulas = {(s.child, s.parent): s.formula for s in two_layer.backward_steps}
    assert formulas["Z2", "W2"] == "∂J/∂Z2 · A1ᵀ"
    assert formulas["Z2", "A1"] == "W2ᵀ · ∂J/∂Z2"
    assert formulas["A1", "Z1"] == "(1 - A1²) * ∂J/∂A1"
    assert formulas["Z1", "W1"] == "∂J/∂Z1 · Xᵀ"
    assert formulas["Z1", "b1"] == "sum(∂J/∂Z1, axis=1)"


def test_gradient_descent_is_the_courses_update():
    from engine.tensor_graph import descent_step

    graph = load_path(GRAPHS / "tensor" / "logistic_m.yaml").graph
    walk = compute_tensor(graph)
    X, Y = walk.values["X"], walk.values["Y"]
    w, b = walk.values["w"].copy(), walk.values["b"].copy()
    m, alpha = X.shape[1], graph.alpha
    costs = []
    for _ in range(30):
        A = sigmoid(w.T @ X + b)
        w, b = w - alpha * (X @ (A - Y).T / m), b - alpha * np.sum(A - Y) / m
        walk = compute_tensor(graph, descent_step(walk))
        costs.append(float(walk.values["J"][0, 0]))
        np.testing.assert_allclose(walk.values["w"], w, rtol=1e-12)
        np.testing.assert_allclose(walk.values["b"], b, rtol=1e-12)
    assert costs == sorted(costs, reverse=True) and costs[-1] < costs[0]
    np.testing.assert_array_equal(walk.values["X"], X)  # not a parameter: unchanged


def test_nudging_one_element(logistic):
    from engine.tensor_graph import nudge_element, trail_text

    n = nudge_element(logistic, "w", 1, 0)
    assert n.central == pytest.approx(logistic.grads["w"][1, 0], rel=1e-8) and n.status == "great"
    assert n.forward == pytest.approx(n.grad, rel=1e-4)
    assert trail_text(n) == "w[1,0] +h → Z (5 of 5 moved) → A (5 of 5) → L (5 of 5) → J (1 of 1)"
    x = nudge_element(logistic, "X", 0, 2)  # one example's feature: only that example's column moves
    assert [(m.node, m.moved) for m in x.trail] == [("Z", 1), ("A", 1), ("L", 1), ("J", 1)]
    assert x.central == pytest.approx(logistic.grads["X"][0, 2], rel=1e-7)
    with pytest.raises(IndexError):
        nudge_element(logistic, "w", 2, 0)


def test_a_difference_within_rounding_is_said_so(two_layer):
    """b1's gradients are ~1e-4 and J ~0.69: at h = 1e-6 the central difference's rounding alone
    (4ε|J|/2h ≈ 3e-10) is a relative 1e-6 of the element, so the band says "look closer"; the
    reason says the difference is no more than rounding can give, with both numbers."""
    from engine.finite_diff import EPS
    from engine.tensor_graph import nudge_element

    n = nudge_element(two_layer, "b1", 0, 0)
    J = float(two_layer.values["J"].reshape(()))
    floor = 4 * EPS * J / (2 * n.h)
    assert n.status == "look closer" and abs(n.central - n.grad) <= floor * 1.01
    assert n.reason is not None and n.reason.startswith("within rounding: |central − backprop| = ")
    assert f"({floor:.1e})" in n.reason
    check = gradient_check(two_layer, "Y")  # labels: tiny gradients, the same rounding
    assert check.status == "look closer" and check.reason.startswith("within rounding: ‖g_approx − g‖₂ = ")
    # a larger h: rounding a hundred times smaller, truncation still far below: great, no excuse needed
    wide = nudge_element(two_layer, "b1", 0, 0, h=1e-4)
    assert wide.status == "great" and wide.reason is None


def test_a_wrong_gradient_gets_no_rounding_excuse(two_layer):
    from dataclasses import replace

    from engine.tensor_graph import nudge_element

    grads = dict(two_layer.grads)
    grads["b1"] = grads["b1"] * 1.001  # off by 0.1 %: far beyond rounding
    wrong = replace(two_layer, grads=grads)
    n = nudge_element(wrong, "b1", 0, 0)
    assert n.status == "look closer" and n.reason is None
    assert gradient_check(wrong, "b1").reason is None
