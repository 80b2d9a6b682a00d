"""'Why this gradient?': the paths from the output down to a variable add up to its gradient."""

from __future__ import annotations

import math

import pytest

from engine import compute, load_bytes, load_path
from engine.examples import dag
from engine.paths import why_gradient
from engine.text import why_lines
from paths import ROOT



def test_the_lecture_c_has_one_path_3_times_1_times_b():
    walk = compute(load_path(ROOT / "graphs" / "lecture.yaml").graph)
    why = why_gradient(walk, "c")
    assert why.count == 1
    (path,) = why.paths
    assert [(h.child, h.parent) for h in path.hops] == [("J", "v"), ("v", "u"), ("u", "c")]
    assert [h.local for h in path.hops] == [3, 1, 3]  # ∂J/∂v = 3, ∂v/∂u = 1, ∂u/∂c = b = 3
    assert path.product == 9 == why.total == walk.grads["c"]
    text = "\n".join(why_lines(why, "J"))
    assert "J → v → u → c" in text and "∂J/∂v · ∂v/∂u · ∂u/∂c = 3 · 1 · b = 3 × 1 × 3 = 9" in text


def test_fan_out_has_two_paths_that_add_up():
    walk = compute(load_path(ROOT / "graphs" / "fanout.yaml").graph)
    why = why_gradient(walk, "x")
    assert why.count == 2 and why.complete
    assert sorted(p.product for p in why.paths) == [6, 9]
    assert why.total == walk.grads["x"] == 15
    assert "sum of the paths: 9 + 6 = 15   ✓ ∂f/∂x = 15" in "\n".join(why_lines(why, "f"))


def test_paths_are_listed_in_the_order_the_backward_pass_adds_them():
    """#13: the why panel listed f → p → x first, while the backward steps add ∂f/∂x's
    contribution through q first (step 3/5, 1 of 2), then through p (4/5, 2 of 2)."""
    walk = compute(load_path(ROOT / "graphs" / "fanout.yaml").graph)
    steps = [(s.child, s.parent) for s in walk.backward_steps if s.parent == "x"]
    assert steps == [("q", "x"), ("p", "x")]
    why = why_gradient(walk, "x")
    assert [p.hops[-1].child for p in why.paths] == ["q", "p"]
    # a diamond above a fan-out: two paths share the last hop; the earlier contribution comes first
    text = b"inputs: {x: 1}\nnodes: {p: 2*x, q: 3*x, r: p + q, t: r + 1, s: r * t}\noutput: s\n"
    from engine import load_bytes

    walk = compute(load_bytes(text, "d.yaml").graph)
    order = {(s.child, s.parent): k for k, s in enumerate(walk.backward_steps)}
    keys = [[order[(h.child, h.parent)] for h in reversed(p.hops)] for p in why_gradient(walk, "x").paths]
    assert len(keys) == 4 and keys == sorted(keys)


def test_a_selected_zero_on_a_path_stops_it_whatever_the_factors_above():
    """relu's step at x ≤ 0 is a selected zero: the path through it is 0, as the backward pass
    adds it, even where the factor above it overflowed (inf × 0 would be nan)."""
    text = b"inputs: {x: -1, b: 1e200}\nnodes: {w: b * b, y: relu(x), J: y * w}\noutput: J\n"
    walk = compute(load_bytes(text, "z.yaml").graph)
    assert walk.values["w"] == math.inf and walk.grads["y"] == math.inf and walk.grads["x"] == 0.0
    why = why_gradient(walk, "x")
    (path,) = why.paths
    assert [h.local for h in path.hops] == [math.inf, 0.0]
    assert path.product == 0.0 == why.total


@pytest.mark.parametrize("path", sorted((ROOT / "graphs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_gradient_is_the_sum_over_its_paths(path):
    walk = compute(load_path(path).graph)
    for name in walk.graph.names:
        why = why_gradient(walk, name, limit=10_000)
        assert why.complete
        assert math.isclose(why.total, walk.grads[name], rel_tol=1e-12, abs_tol=1e-15), name


def test_many_paths_are_counted_and_the_first_listed():
    walk = compute(load_bytes(dag(400, seed=3).encode(), "dag").graph)
    counted = {n: why_gradient(walk, n, limit=5) for n in walk.graph.names}
    big = max(counted.values(), key=lambda w: w.count)
    assert big.count > 5 and len(big.paths) == 5 and not big.complete
    assert "more paths" in "\n".join(why_lines(big, "J"))
    for name, why in counted.items():
        if why.count <= 5:
            assert math.isclose(why.total, walk.grads[name], rel_tol=1e-9, abs_tol=1e-12), name


def test_a_name_the_output_does_not_use_has_no_path():
    walk = compute(load_bytes(b"inputs:\n  a: 1\n  z: 2\nnodes:\n  J: 2 * a\n", "t").graph)
    why = why_gradient(walk, "z")
    assert why.count == 0 and why.total == 0 == walk.grads["z"]
    assert "does not depend on it" in "\n".join(why_lines(why, "J"))
