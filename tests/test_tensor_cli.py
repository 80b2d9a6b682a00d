"""Tensor graphs on the command line (#15): --json, --trace and --markdown, and which app opens."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from paths import GRAPHS
from test_tensor_oracle import tensor_graphs
from tui.cli import run
from soak import examples
import test_latex  # here, not inside the @given test: imported there, its own @given tests nest (fails run alone)

TENSOR = GRAPHS / "tensor"

LOGISTIC = str(TENSOR / "logistic_m.yaml")


def strict(text: str):
    def refuse(name):
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def doc():
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run([LOGISTIC, "--json"]) == 0
    return strict(out.getvalue())


def test_json_values_are_nested_lists_and_shapes(doc):
    assert doc["shapes"]["X"] == [2, 5] and doc["shapes"]["J"] == [1, 1]
    assert doc["values"]["w"] == [[0.5], [-0.25]]
    assert np.array(doc["grads"]["X"]).shape == (2, 5)
    first = doc["forward_steps"][0]
    assert first["node"] == "Z" and first["shape"] == [1, 5]
    assert first["shape_text"] == "(1×2)·(2×5) + (1×1 → 1×5) → (1×5)"
    assert first["expr"] == "w.T @ X + b"


def test_json_backward_steps_carry_the_vjp(doc):
    steps = {(s["child"], s["parent"]): s for s in doc["backward_steps"]}
    b = steps["Z", "b"]
    assert b["formula"] == "sum(∂J/∂Z, axis=1)" and b["reduced_axes"] == [1]
    assert b["shapes"].endswith("= shape of b ✓")
    assert (b["arrived"], b["of"]) == (1, 1)
    assert b["grad_after"] == doc["grads"]["b"] == b["contribution"]
    w = steps["Z", "w"]
    assert w["reduced_axes"] is None and w["formula"] == "X · (∂J/∂Z)ᵀ"
    X = np.array(doc["values"]["X"])
    np.testing.assert_allclose(w["contribution"], X @ np.array(doc["grads"]["Z"]).T, rtol=1e-14)
    for s in doc["backward_steps"]:
        assert {"child", "parent", "formula", "shapes", "contribution", "reduced_axes", "grad_after", "arrived", "of"} <= set(s)


def test_json_gradient_check_of_the_params(doc):
    assert set(doc["gradient_check"]) == {"w", "b"}
    for check in doc["gradient_check"].values():
        assert check["status"] == "great" and check["rel_error"] < 1e-7


def test_trace_writes_formulas_shapes_and_numbers(capsys):
    assert run([str(TENSOR / "two_layer.yaml"), "--trace"]) == 0
    out = capsys.readouterr().out
    assert "Z1 = W1 · X + b1   (4×2)·(2×5) + (4×1 → 4×5) → (4×5)" in out
    assert "∂J/∂W2 += ∂J/∂Z2 · A1ᵀ   (1 of 1)" in out
    assert "shapes: (1×5)·(5×4) → (1×4) = shape of W2 ✓" in out
    assert "un-broadcast b1: sum over axis 1 → (4×1)" in out
    assert "W1 (4×2) =" in out and "(randn 4×2, seed 1, scale 0.01)" in out


def test_large_matrices_are_cut_with_an_ellipsis(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    path.write_text("inputs:\n  W: {randn: [9, 12], seed: 3}\nnodes:\n  J: sum(tanh(W))\n")
    assert run([str(path), "--trace", "--fd", "none"]) == 0
    out = capsys.readouterr().out
    assert "…" in out and "⋮" in out


def test_fan_out_counts_k_of_n(tmp_path, capsys):
    path = tmp_path / "fan.yaml"
    path.write_text("inputs:\n  x: [[1, 2]]\nnodes:\n  p: x * 3\n  q: x.T\n  J: sum(p) + sum(q * q)\n")
    assert run([str(path), "--json"]) == 0
    doc = strict(capsys.readouterr().out)
    into_x = [s for s in doc["backward_steps"] if s["parent"] == "x"]
    assert [(s["arrived"], s["of"]) for s in into_x] == [(1, 2), (2, 2)]
    assert doc["grads"]["x"] == [[3 + 2 * 1, 3 + 2 * 2]]


def test_refusals_are_one_line(capsys):
    assert run([LOGISTIC, "--json", "--set", "X=1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("cgtui: ") and "'X' is a matrix (2×5); change it in the file" in err


def test_without_a_headless_mode_the_tensor_app_opens(monkeypatch):
    from tui import tensor_app

    opened = []
    monkeypatch.setattr(tensor_app.TensorApp, "run", lambda self: opened.append(self.session))
    assert run([LOGISTIC, "--set", "b=0.5"]) == 2  # (b is a matrix here too)
    assert run([LOGISTIC]) == 0
    assert len(opened) == 1 and opened[0].graph.shapes["X"] == (2, 5) and opened[0].position == 0


def test_the_readmes_example_runs():
    from paths import ROOT
    from engine import parse_graph
    from engine.tensor_graph import compute_tensor

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Vectors and matrices"):]
    text = section[section.index("```yaml\n") + 8: section.index("```\n", section.index("```yaml\n") + 8)]
    walk = compute_tensor(parse_graph(text))
    assert walk.graph.shapes["Z"] == (1, 3) and walk.grads["w"].shape == (2, 1)


def test_markdown_handout_writes_matrices_in_bmatrix(capsys):
    assert run([str(TENSOR / "logistic_m.yaml"), "--markdown"]) == 0
    md = capsys.readouterr().out
    assert r"\frac{\partial J}{\partial w} \mathrel{+}= X \left(\frac{\partial J}{\partial Z}\right)^{T}" in md
    assert r"w = \begin{bmatrix} 0.5 \\ -0.25 \end{bmatrix}$ `2×1`" in md
    assert "un-broadcast b: sum over axis 1 → (1×1)" in md


def test_tensor_handouts_render_in_katex_strict(capsys, tmp_path):
    import test_latex
    from test_latex import katex_failures, math_spans

    if test_latex.NODE is None or not test_latex.HAVE_KATEX:
        pytest.skip("KaTeX check needs node and `npm ci --prefix tests/katex`")
    big = tmp_path / "big.yaml"
    big.write_text("inputs:\n  W: {randn: [9, 12], seed: 3}\n  x_1: [[1], [2]]\nnodes:\n"
                   "  J: sum(abs(W) ** 2) + mean(sqrt(x_1.T @ x_1) / 2, axis=0) - sum(-x_1)\n")
    spans = []
    for path in (TENSOR / "logistic_m.yaml", TENSOR / "two_layer.yaml", big):
        assert run([str(path), "--markdown"]) == 0
        spans += math_spans(capsys.readouterr().out)
    assert len(spans) > 50
    assert katex_failures(spans) == []


def test_every_tensor_example_traces_and_passes_its_gradient_check(capsys):
    paths = sorted(TENSOR.glob("*.yaml"))
    assert len(paths) >= 2
    for path in paths:
        assert run([str(path), "--trace"]) == 0
        out, err = capsys.readouterr()
        assert err == "" and "Forward pass" in out and "Backward pass" in out
        check = out[out.index("Gradient check"):]
        assert "great" in check and "look closer" not in check.split("\n", 2)[2] and "wrong" not in check.split("\n", 2)[2]


def test_example_mlp_batch_is_the_speed_rows_network(capsys):
    from engine import parse_graph
    from engine.examples import generate

    graph = parse_graph(generate("mlp-batch"))
    assert graph.shapes["X"] == (784, 100) and graph.shapes["W1"] == (100, 784) and graph.shapes["A2"] == (10, 100)
    assert graph.params == ("W1", "b1", "W2", "b2") and len(graph.edges) == 11
    assert run(["--example", "mlp-batch", "--layers", "3,4,2", "--trace"]) == 0
    out = capsys.readouterr().out
    verdicts = out[out.index("above wrong"):]
    assert "W1 (4×3)" in out and verdicts.count("great") == 4
    assert run(["--example", "mlp-batch", "--layers", "3", "--trace"]) == 2
    assert "mlp-batch needs the input's width" in capsys.readouterr().err


def test_set_changes_a_number_of_a_tensor_graph(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("inputs:\n  X: [[1, 2]]\n  s: 2\nnodes:\n  J: sum(s * X)\n")
    assert run([str(path), "--json", "--set", "s=3"]) == 0
    doc = strict(capsys.readouterr().out)
    assert doc["values"]["s"] == 3.0 and doc["values"]["J"] == [[9.0]] and doc["grads"]["X"] == [[3.0, 3.0]]
    assert doc["gradient_check"]["s"]["status"] == "great"



@settings(max_examples=examples(25), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(tensor_graphs())
def test_random_tensor_handouts_render_in_katex_strict(text):
    from engine import parse_graph
    from engine.tensor_graph import compute_tensor
    from engine.tensor_report import to_markdown

    if test_latex.NODE is None or not test_latex.HAVE_KATEX:
        pytest.skip("KaTeX check needs node and `npm ci --prefix tests/katex`")
    spans = test_latex.math_spans(to_markdown(compute_tensor(parse_graph(text)), {}, "random.yaml"))
    assert test_latex.katex_failures(spans) == [], text
