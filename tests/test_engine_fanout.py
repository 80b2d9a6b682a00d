"""Fan-out: one variable's gradient arrives by several paths and adds up."""

from __future__ import annotations

import math

from engine import compute, finite_difference, load_bytes, load_path
from paths import ROOT



def walk_of(text: str):
    return compute(load_bytes(text.encode(), "test.yaml").graph)


def test_fanout_file_counts_one_of_two_then_two_of_two():
    walk = compute(load_path(ROOT / "graphs" / "fanout.yaml").graph)
    into_x = [s for s in walk.backward_steps if s.parent == "x"]
    assert [(s.arrived, s.of) for s in into_x] == [(1, 2), (2, 2)]
    assert not into_x[0].complete and into_x[1].complete
    # the contributions add up: the second starts where the first ended
    assert into_x[0].grad_before == 0
    assert into_x[1].grad_before == into_x[0].grad_after == into_x[0].product
    assert into_x[1].grad_after == into_x[0].product + into_x[1].product == walk.grads["x"]
    # by hand: f = (x + y) · 3x = 3x² + 3xy, ∂f/∂x = 6x + 3y = 15 at x = 2, y = 1
    assert walk.grads["x"] == 6 * 2 + 3 * 1
    assert walk.grads["y"] == 3 * 2
    # every other parent gets one contribution
    assert all((s.arrived, s.of) == (1, 1) for s in walk.backward_steps if s.parent != "x")
    # and nudging x moves the output by the sum, not by either path alone
    fd = finite_difference(walk, "x")
    assert math.isclose(fd.central, 15, rel_tol=1e-9)
    assert [e.node for e in fd.trail] == ["x", "p", "q", "f"]


def test_three_paths_and_counts():
    walk = walk_of("inputs: {x: 2}\nnodes:\n  p: x + 1\n  q: 2 * x\n  r: x ^ 2\n  s: p + q + r\n")
    into_x = [s for s in walk.backward_steps if s.parent == "x"]
    assert [(s.arrived, s.of) for s in into_x] == [(1, 3), (2, 3), (3, 3)]
    # ∂s/∂x = 1 + 2 + 2x = 7 at x = 2
    assert sorted(s.product for s in into_x) == [1, 2, 4]
    assert [s.grad_after for s in into_x] == [sum(t.product for t in into_x[: k + 1]) for k in range(3)]
    assert walk.grads["x"] == 7


def test_x_times_x_is_one_edge_with_the_whole_derivative():
    walk = walk_of("inputs: {x: 3}\nnodes:\n  y: x * x\n")
    (step,) = walk.backward_steps
    assert (step.child, step.parent, step.arrived, step.of) == ("y", "x", 1, 1)
    assert step.local_formula == "2 * x"
    assert step.local == 6
    assert walk.grads["x"] == 6


def test_repeated_operand_inside_a_larger_expression():
    walk = walk_of("inputs: {x: 2, w: 3}\nnodes:\n  y: w * x + x / w - x\n")
    into_x = [s for s in walk.backward_steps if s.parent == "x"]
    assert len(into_x) == 1 and (into_x[0].arrived, into_x[0].of) == (1, 1)
    # ∂y/∂x = w + 1/w − 1
    assert math.isclose(walk.grads["x"], 3 + 1 / 3 - 1, rel_tol=1e-15)
    assert [s.parent for s in walk.backward_steps] == ["w", "x"]  # operands in order of first appearance


def test_fanout_into_a_node_and_diamond():
    text = "inputs: {a: 1.5}\nnodes:\n  b: a * 2\n  c: sin(b)\n  d: b ^ 2\n  out: c * d\n"
    walk = walk_of(text)
    into_b = [s for s in walk.backward_steps if s.parent == "b"]
    assert [(s.arrived, s.of) for s in into_b] == [(1, 2), (2, 2)]
    # the gradient of b is complete before it flows on to a
    (to_a,) = [s for s in walk.backward_steps if s.parent == "a"]
    assert to_a.index > max(s.index for s in into_b)
    assert to_a.upstream == into_b[-1].grad_after
    # out = sin(2a) · (2a)², d out/da = 2 cos(2a) · (2a)² + sin(2a) · 2(2a) · 2
    a = 1.5
    expected = 2 * math.cos(2 * a) * (2 * a) ** 2 + math.sin(2 * a) * 2 * (2 * a) * 2
    assert math.isclose(walk.grads["a"], expected, rel_tol=1e-12)


def test_unused_branch_gets_no_steps_and_zero_gradient():
    text = "inputs: {a: 1, b: 2}\nnodes:\n  u: a * 2\n  side: u + b\n  out: u * 3\noutput: out\n"
    walk = walk_of(text)
    assert walk.grads["side"] == 0 and walk.grads["b"] == 0
    assert all("side" not in (s.child, s.parent) for s in walk.backward_steps)
    assert all(s.parent != "b" for s in walk.backward_steps)
    # u feeds side and out but only out reaches the output: one contribution, "1 of 1"
    (into_u,) = [s for s in walk.backward_steps if s.parent == "u"]
    assert (into_u.arrived, into_u.of) == (1, 1)
    # the forward pass still evaluates every node
    assert [s.node for s in walk.forward_steps] == ["u", "side", "out"]
    assert walk.values["side"] == 4


def test_names_revealed_between_holds_every_name_whose_numbers_differ():
    """Checked against the session itself: between any two positions, every name whose value shows or
    whose gradient (value, contributions so far) differs is named (the tree checks only those lines)."""
    from engine.examples import generate
    from engine.session import DebugSession

    for loaded in (load_path(ROOT / "graphs" / "fanout.yaml"), load_path(ROOT / "graphs" / "lecture.yaml"),
                   load_bytes(generate("dag", 30).encode(), "dag.yaml")):
        session = DebugSession(loaded)
        names = session.graph.names

        at = []
        for position in range(session.total + 1):
            session._move(position)
            at.append({n: (session.value_shown(n), session.grad(n)) for n in names})
        for a in range(session.total + 1):
            for b in range(a, session.total + 1):
                differ = {n for n in names if at[a][n] != at[b][n]}
                named = session.names_revealed_between(a, b)
                assert differ <= named, (loaded.source, a, b, differ - named)
                assert named == session.names_revealed_between(b, a)
        assert session.names_revealed_between(0, 0) == set()


def test_names_revealed_between_clamps_either_way_round():
    """Positions outside the walk count as its ends, whichever argument holds them: the range is put
    in order first, then clamped (clamped first, a reversed range read nodes from the end, or past it)."""
    from engine.session import DebugSession

    session = DebugSession(load_path(ROOT / "graphs" / "lecture.yaml"))
    total = session.total
    assert session.names_revealed_between(3, -2) == session.names_revealed_between(0, 3) == {"u", "v", "J"}
    assert session.names_revealed_between(total + 3, 0) == session.names_revealed_between(0, total)
    assert session.names_revealed_between(total + 3, total - 1) == session.names_revealed_between(total - 1, total)
