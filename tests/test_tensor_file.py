"""Tensor graph files (#15): matrices as rows, generated values, and every refusal in one line with its line."""

from __future__ import annotations

import numpy as np
import pytest

from engine import GraphError, parse_graph
from engine.tensor_graph import compute_tensor
from tui.cli import run

HEAD = "inputs:\n"


def graph(text: str):
    return parse_graph(text)


def refusal(text: str) -> GraphError:
    with pytest.raises(GraphError) as err:
        parse_graph(text)
    return err.value


def test_rows_make_a_matrix_and_numbers_stay_numbers():
    g = graph("inputs:\n  X: [[1, 2, 3], [4, 5, 6]]\n  c: 2\nnodes:\n  J: sum(c * X)\n")
    assert g.tensor and g.shapes["X"] == (2, 3) and g.shapes["c"] == ()
    walk = compute_tensor(g)
    assert walk.values["J"].tolist() == [[42.0]]
    assert walk.grads["c"].shape == () and float(walk.grads["c"]) == 21.0
    assert walk.grads["X"].tolist() == [[2.0] * 3] * 2


def test_a_file_of_numbers_is_still_a_scalar_graph():
    g = graph("inputs:\n  a: 1\nnodes:\n  J: 2 * a\n")
    assert not getattr(g, "tensor", False)


def test_value_with_note_and_generated_values():
    g = graph("inputs:\n  X: {value: [[1], [2]], note: a column}\n  W: {randn: [3, 2], seed: 1, scale: 0.01}\n"
              "  b: {zeros: [3, 1]}\nnodes:\n  J: sum(W @ X + b)\n")
    w = g.input_by_name["W"]
    assert np.array_equal(w.value, np.random.default_rng(1).standard_normal((3, 2)) * 0.01)
    assert w.generated == "randn 3×2, seed 1, scale 0.01"
    assert np.array_equal(g.input_by_name["b"].value, np.zeros((3, 1)))
    assert g.input_by_name["X"].note == "a column"


@pytest.mark.parametrize("value, words, line", [
    ("[1, 2]", "write [[1], [2]] for a column or [[1, 2]] for a row", 2),
    ("[[1, 2], [3]]", "row 2 has 1 numbers, row 1 has 2", 2),
    ("[[1, x]]", "the value must be a number, not text 'x'", 2),
    ("[[[1]]]", "more than 2 dimensions", 2),
    ("[]", "the matrix is empty", 2),
    ("{randn: [2]}", "write randn: [rows, columns]", 2),
    ("{zeros: [0, 2]}", "each size must be between 1", 2),
    ("{randn: [2, 2], seed: -1}", "the seed must be a whole number", 2),
    ("{zeros: [2, 2], seed: 1}", "unknown key 'seed'", 2),
])
def test_bad_values_are_refused_with_their_line(value, words, line):
    err = refusal(f"inputs:\n  X: {value}\nnodes:\n  J: sum(X)\n")
    assert words in err.message and err.line == line


@pytest.mark.parametrize("expr, words", [
    ("sum(W1 @ X)", "node 'J': W1 @ X: (4×3) @ (2×5): the inner sizes 3 and 2 differ"),
    ("sum(A + A.T)", "node 'J': A + A.T: (2×3) + (3×2): cannot broadcast: rows 2 and 3 differ and neither is 1"),
    ("sum(c @ X)", "@ multiplies two matrices; to scale by a number, use *"),
    ("sum(c, axis=0)", "a number has no axes"),
    ("X", "output 'J' is (2×5): the output must be a number or 1×1"),
    ("sum(X, keepdims=True)", "the only keyword argument is axis="),
    ("sum(X, 1)", "write the axis as axis=0 or axis=1"),
    ("X.shape[0]", "is not allowed"),
    ("sum(X.shape)", "the only attribute is .T"),
    ("sum(X, axis=2)", "axis must be 0"),
])
def test_expressions_that_cannot_run_are_refused_before_anything_runs(expr, words):
    text = ("inputs:\n  W1: {zeros: [4, 3]}\n  X: {zeros: [2, 5]}\n  A: {zeros: [2, 3]}\n  c: 2\n"
            f"nodes:\n  J: {expr}\n")
    err = refusal(text)
    assert words in err.message
    assert err.line == 7


def test_the_issues_message_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "net.yaml"
    path.write_text("inputs:\n  W1: {randn: [4, 3], seed: 1}\n  X: [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]\n"
                    "  b1: {zeros: [4, 1]}\nnodes:\n  # layer 1\n\n\n  Z1: W1 @ X + b1\n  J: sum(Z1)\n")
    assert run([str(path), "--json"]) == 2
    err = capsys.readouterr().err
    assert err == f"cgtui: {path}: line 9: node 'Z1': W1 @ X: (4×3) @ (2×5): the inner sizes 3 and 2 differ\n"


def test_names_of_tensor_functions_are_reserved():
    assert "reserved" in refusal("inputs:\n  sum: [[1]]\nnodes:\n  J: sum\n").message


def test_one_element_is_written_back_in_place():
    from engine.tensor_graph import with_element

    text = ("# weights\ninputs:\n  X: [[1, 2.50, 3],   # first row\n      [4, 5, 6]]\n"
            "  W: {randn: [1, 2], seed: 1}\nnodes:\n  J: sum(W @ X)\n")
    g = parse_graph(text)
    new = with_element(text, g, "X", 1, 2, -0.125)
    assert new == text.replace("[4, 5, 6]", "[4, 5, -0.125]")
    assert parse_graph(new).input_by_name["X"].value.tolist() == [[1, 2.5, 3], [4, 5, -0.125]]
    assert with_element(text, g, "X", 0, 1, 7) == text.replace("2.50", "7")
    with pytest.raises(ValueError, match="generated"):
        with_element(text, g, "W", 0, 0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        with_element(text, g, "X", 2, 0, 1.0)
