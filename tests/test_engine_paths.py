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
    assert "sum of the paths: 6 + 9 = 15   ✓ ∂f/∂x = 15" in "\n".join(why_lines(why, "f"))


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
