"""The chain rule in nudges (#14 §2): the trail read link by link, as the lecture page does.

The expected lines are copied from the lecture notes (/work/shared/seed/lecture-notes.md):
"u = 6.002 ⇒ ∂u/∂b = (6.002 − 6)/(3.001 − 3) = 2", "v → 11 to 11.002", "J = 3v → 33 to
33.006", and "dJ/da = (33.003 − 33)/(11.001 − 11) · (11.001 − 11)/(5.001 − 5) = 3".
The numbers are checked against SymPy (tests/test_engine_oracle.py's oracle).
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, assume, given, settings

from engine import compute, finite_difference, load_bytes, load_path
from engine import text as tx
from engine.nudge_chain import nudge_chain
from paths import LECTURE, ROOT
from test_engine_oracle import Oracle, random_graph
from soak import examples

FANOUT = ROOT / "graphs" / "fanout.yaml"


def chain(path, var, h=1e-3):
    walk = compute(load_path(path).graph)
    return nudge_chain(walk, finite_difference(walk, var, h))


def test_b_link_by_link_as_the_page_writes_it():
    lines = tx.chain_lines(chain(LECTURE, "b"))
    assert lines == [
        "chain rule in nudges, b → u → v → J:",
        "  Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2",
        "  Δv/Δu = (11.002 − 11)/(6.002 − 6) = 1",
        "  ΔJ/Δv = (33.006 − 33)/(11.002 − 11) = 3",
        "  2 × 1 × 3 = 6 = ΔJ/Δb",
    ]


def test_a_as_the_page_checks_dJ_da():
    # the page: (33.003 − 33)/(11.001 − 11) · (11.001 − 11)/(5.001 − 5) = .003/.001 × .001/.001 = 3
    lines = tx.chain_lines(chain(LECTURE, "a"))
    assert lines[1:] == ["  Δv/Δa = (11.001 − 11)/(5.001 − 5) = 1",
                         "  ΔJ/Δv = (33.003 − 33)/(11.001 − 11) = 3",
                         "  1 × 3 = 3 = ΔJ/Δa"]


def test_beside_the_backward_pass_in_each_notation():
    c = chain(LECTURE, "b")
    lines = tx.chain_lines(c, grads=True)
    assert lines[1] == "  Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2   ∂u/∂b = c = 2"
    assert lines[-1] == "backprop: ∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6"
    d = tx.chain_lines(c, tx.Notation("d", "J"), grads=True)
    assert d[-1] == "backprop: dJ/db = dJ/du · du/db = 3 × 2 = 6"
    code = tx.chain_lines(c, tx.Notation("code", "J"), grads=True)
    assert code[3] == "  ΔJ/Δv = (33.006 − 33)/(11.002 − 11) = 3   dv = 3"
    assert code[-1] == "backprop: db = du · du/db = 3 × 2 = 6"


def test_the_links_are_the_trails_numbers():
    walk = compute(load_path(LECTURE).graph)
    fd = finite_difference(walk, "b", 1e-3)
    c = nudge_chain(walk, fd)
    trail = {e.node: (e.before, e.after) for e in fd.trail}
    for link in c.paths[0].links:
        assert (link.bottom_before, link.bottom_after) == trail[link.bottom]
        assert (link.top_before, link.top_after) == trail[link.top]
        assert link.ratio == (link.top_after - link.top_before) / (link.bottom_after - link.bottom_before)
    # the product is the product of exactly those ratios, and telescopes to ΔJ/Δb
    product = 1.0
    for link in c.paths[0].links:
        product *= link.ratio
    assert c.paths[0].product == product
    assert math.isclose(product, fd.forward, rel_tol=1e-12)


@pytest.mark.parametrize("path", sorted((ROOT / "graphs").glob("*.yaml")), ids=lambda p: p.name)
def test_links_against_sympy(path):
    """Each link's ratio is the local derivative to first order in h; the paths add up to SymPy's gradient."""
    oracle = Oracle.from_yaml(path.read_text())
    walk = compute(load_path(path).graph)
    h = 1e-6
    for var in walk.graph.names:
        fd = finite_difference(walk, var, h)
        c = nudge_chain(walk, fd)
        if var == walk.graph.output or fd.forward is None or c.count == 0:
            continue
        assert c.complete
        stuck = [lk.bottom for p in c.paths for lk in p.links if lk.bottom_after == lk.bottom_before]
        if stuck:  # neuron.yaml's x2 = 0: w2's nudge moves nothing above it, and the text says why
            assert any(line.startswith(f"Δ{stuck[0]} = 0: the nudge did not move") for line in tx.chain_lines(c))
            continue
        want = oracle.grad(var)
        assert math.isclose(c.total, want, rel_tol=1e-4, abs_tol=1e-6), (var, c.total, want)
        for p in c.paths:
            for link in p.links:
                assert math.isclose(link.ratio, link.local, rel_tol=1e-4, abs_tol=1e-6), (var, link)
            assert math.isclose(p.product, p.grad_product, rel_tol=1e-4, abs_tol=1e-6)


def test_fanout_says_two_paths_and_holds_the_other_operand():
    c = chain(FANOUT, "x")
    assert c.count == 2
    lines = tx.chain_lines(c)
    assert lines[0] == "x reaches f by 2 paths; along each, a node's other operands are held:"
    assert "path 1: x → q → f" in lines and "path 2: x → p → f" in lines  # the backward steps reach x through q first
    assert "  Δf/Δp = (18.006 − 18)/(3.001 − 3) = 6 (q held at 6)" in lines
    assert "  Δf/Δq = (18.009 − 18)/(6.003 − 6) = 3 (p held at 3)" in lines
    assert lines[-1] == "sum of the paths: 9 + 6 = 15 ≈ Δf/Δx = 15.003 (to first order)"
    # f = pq is not linear: the sum of the path products differs from ΔJ/Δx by the h·Δp·Δq term
    assert c.total != c.estimate and abs(c.total - c.estimate) < 1e-2
    assert tx.chain_lines(c, grads=True)[-1] == "backprop: ∂f/∂x = ∂f/∂q · ∂q/∂x + ∂f/∂p · ∂p/∂x = 3 × 3 + 6 × 1 = 15"


def test_output_and_unrelated_and_lost():
    assert tx.chain_lines(chain(LECTURE, "J")) == ["ΔJ/ΔJ = 1: nudging J moves J by as much."]
    # a nudge lost to rounding has no estimate, and no chain
    assert tx.chain_lines(chain(LECTURE, "b", h=1e-300)) == []


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(random_graph())
def test_random_graphs_paths_add_up_to_sympys_gradient(case):
    """On random graphs (fan-out included), the path products add up to SymPy's gradient to first order.

    Counting a shared node's whole move in each path (not holding its other operands) would
    add the same move twice: a fan-out graph's sum would then be off by a whole path.
    """
    text, inputs, nodes, output = case
    walk = compute(load_bytes(text.encode(), "random.yaml").graph)
    assume(all(math.isfinite(v) and abs(v) < 1e3 for v in walk.values.values()))
    assume(all(math.isfinite(s.local) and abs(s.local) < 1e3 for s in walk.backward_steps))
    oracle = Oracle(inputs, nodes, output)
    for var in walk.graph.names:
        fd = finite_difference(walk, var, 1e-6)
        c = nudge_chain(walk, fd, limit=50)
        if var == walk.graph.output or fd.status != "ok" or not c.count or not c.complete:
            continue
        if any(lk.bottom_after == lk.bottom_before for p in c.paths for lk in p.links):
            continue  # a flat link is 0/0, and says so
        want = oracle.grad(var)
        # to first order: the links are one-sided, so the sum may be off by as much as the one-sided
        # estimate ΔJ/Δx is (h · J''/2: at x0 = 0 with J'' ~ 2000, 1e-3 off a gradient of 0)
        second_order = 2 * abs(fd.forward - want) if fd.forward is not None else 0.0
        assert math.isclose(c.total, want, rel_tol=1e-2, abs_tol=1e-3 + second_order), (var, c.total, want, text)
