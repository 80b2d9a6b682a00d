"""Batched finite differences (one numpy pass for many variables) agree with one nudge at a time.

numpy's tanh, exp, … may differ from math's in the last bit, so outputs agree to a few
ulps and estimates to a few ulps of the output divided by h.
"""

from __future__ import annotations

import math

import pytest

from engine import compute, finite_difference, finite_differences, load_bytes, load_path
from engine import finite_diff as fdm
from engine.examples import dag, mlp
from paths import ROOT


KINKS = """\
inputs:
  x: 0
  y: -2
  z: 0.0005
  w: 3
nodes:
  r: relu(x)
  s: abs(y + 2)
  t: relu(z) + relu(w - 10)
  q: relu(w) * 0
  J: r + s + t + q + x * y
"""


def close(a: float, b: float, abs_tol: float = 0.0) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-13, abs_tol=abs_tol)


def graphs():
    for path in sorted((ROOT / "graphs").glob("*.yaml")):
        yield path.name, load_path(path).graph
    yield "kinks", load_bytes(KINKS.encode(), "kinks").graph
    yield "dag", load_bytes(dag(300).encode(), "dag").graph
    yield "mlp", load_bytes(mlp([4, 3, 1]).encode(), "mlp").graph


@pytest.mark.parametrize("name,graph", list(graphs()), ids=lambda x: x if isinstance(x, str) else "")
@pytest.mark.parametrize("h", [1e-3, 1e-6])
def test_batched_equals_one_at_a_time(name, graph, h, monkeypatch):
    walk = compute(graph)
    names = list(graph.names)
    monkeypatch.setattr(fdm, "BATCH_MIN", 1)
    batched = finite_differences(walk, "all", h)
    assert list(batched) == names
    for var in names:
        one = finite_difference(walk, var, h)
        got = batched[var]
        ulps = 8 * 2.0**-52 * max(1.0, abs(one.out_before))
        for field in ("out_before", "out_plus", "out_minus", "grad"):
            assert close(getattr(got, field), getattr(one, field), ulps), (var, field)
        for field in ("forward", "central"):
            assert close(getattr(got, field), getattr(one, field), ulps / h), (var, field)
        assert (got.status, got.kink) == (one.status, one.kink), var
        assert tuple(got.trail) == tuple(one.trail)


def test_kinks_are_flagged_where_the_nudge_moves_the_argument():
    walk = compute(load_bytes(KINKS.encode(), "kinks").graph)
    fds = finite_differences(walk, "inputs")
    assert fds["x"].status == "kink" and fds["x"].kink == "r"      # relu(0) nudged
    assert fds["y"].status == "kink" and fds["y"].kink == "s"      # abs(y + 2) at 0
    assert fds["z"].status == "kink" and fds["z"].kink == "t"      # 0.0005 − 0.001 crosses 0
    assert finite_differences(walk, "inputs", 1e-4)["z"].status == "ok"  # 0.0005 ± 0.0001 does not
    assert fds["w"].status == "ok"                                 # relu(w - 10) never moves across 0
