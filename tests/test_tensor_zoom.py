"""Zooming into one element of a tensor step (#15): the element as its scalar sum, equal to the step's element."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from engine import GraphError, load_path, parse_graph
from engine.tensor_graph import compute_tensor
from engine.tensor_zoom import zoom
from paths import GRAPHS
from test_tensor_oracle import tensor_graphs
from soak import examples


def every_element(walk):
    for k, step in enumerate(walk.backward_steps):
        shape = step.contribution.shape or (1, 1)
        for i in range(shape[0]):
            for j in range(shape[1]):
                yield k, i, j, (step.contribution[i, j] if step.contribution.shape else float(step.contribution))


@pytest.mark.parametrize("name", ["logistic_m.yaml", "two_layer.yaml"])
def test_every_element_of_every_step_is_its_sum(name):
    walk = compute_tensor(load_path(GRAPHS / "tensor" / name).graph)
    for k, i, j, element in every_element(walk):
        z = zoom(walk, k, i, j)
        assert z.value == pytest.approx(element, rel=1e-12, abs=1e-300), (k, i, j, z.text)


def test_a_matrix_product_element_reads_as_the_issue_writes_it():
    text = "inputs:\n  X: [[1, 2, 3], [4, 5, 6]]\n  w: [[1], [1]]\nnodes:\n  Z: w.T @ X\n  J: sum(Z * [[0.1, -0.2, 0.3]])\n"
    with pytest.raises(GraphError):
        parse_graph(text)  # (a list inside an expression is refused; the upstream comes from an input instead)
    text = ("inputs:\n  X: [[1, 2, 3], [4, 5, 6]]\n  w: [[1], [1]]\n  G: [[0.1, -0.2, 0.3]]\n"
            "nodes:\n  Z: w.T @ X\n  J: sum(Z * G)\n")
    walk = compute_tensor(parse_graph(text))
    k = next(k for k, s in enumerate(walk.backward_steps) if s.parent == "w")
    z = zoom(walk, k, 1, 0)
    assert z.text == "∂J/∂w[1,0] = Σₖ X[1,k] · ∂J/∂Z[0,k] = 4 × 0.1 + 5 × (-0.2) + 6 × 0.3 = 1.2"
    assert z.terms == ((4.0, 0.1), (5.0, -0.2), (6.0, 0.3))
    b = zoom(walk, next(k for k, s in enumerate(walk.backward_steps) if s.parent == "G"), 0, 2)
    assert b.text == "∂J/∂G[0,2] = Z[0,2] * ∂J/∂J[0,0] = 9 × 1 = 9"


def test_outside_the_matrix_is_an_index_error():
    walk = compute_tensor(load_path(GRAPHS / "tensor" / "logistic_m.yaml").graph)
    with pytest.raises(IndexError):
        zoom(walk, 0, 0, 5)


@settings(max_examples=examples(40), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tensor_graphs())
def test_random_graphs_every_zoom_equals_its_element(text):
    walk = compute_tensor(parse_graph(text))
    for k, i, j, element in every_element(walk):
        z = zoom(walk, k, i, j)
        assert np.isclose(z.value, element, rtol=1e-10, atol=1e-14), (k, i, j, z.text, text)
