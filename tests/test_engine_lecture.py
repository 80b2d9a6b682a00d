"""The lecture page, number by number.

Every expected number here is copied from the lecture notes
(/work/shared/seed/lecture-notes.md): J = 3v, v = a + u, u = b·c with a = 5,
b = 3, c = 2; never from the program's own output.
"""

from __future__ import annotations

import math

import pytest

import engine
from engine import compute, finite_difference, finite_differences, load_path
from paths import LECTURE, ROOT


# The page: "a = 5, b = 3, c = 2", "u = bc" (6), "v = a + u" (11), "J = 3v" (33).
PAGE_VALUES = {"a": 5, "b": 3, "c": 2, "u": 6, "v": 11, "J": 33}
# The page: dJ/dv = 3, dJ/da = 3, dJ/du = 3, dJ/db = 6; dJ/dc = dJ/du · du/dc = 3 · b = 9; dJ/dJ = 1.
PAGE_GRADS = {"a": 3, "b": 6, "c": 9, "u": 3, "v": 3, "J": 1}


@pytest.fixture(scope="module")
def walk():
    return compute(load_path(LECTURE).graph)


def test_six_values(walk):
    assert set(walk.values) == set(PAGE_VALUES)
    for name, value in PAGE_VALUES.items():
        assert walk.values[name] == value, name


def test_six_gradients(walk):
    assert set(walk.grads) == set(PAGE_GRADS)
    for name, grad in PAGE_GRADS.items():
        assert walk.grads[name] == grad, name


def test_output_is_J(walk):
    assert walk.output == "J"
    assert walk.graph.output == "J"


def test_three_forward_steps_left_to_right(walk):
    steps = walk.forward_steps
    assert [s.node for s in steps] == ["u", "v", "J"]
    assert [s.index for s in steps] == [0, 1, 2]
    assert [s.value for s in steps] == [6, 11, 33]
    assert [s.expr for s in steps] == ["b * c", "a + u", "3 * v"]
    assert [s.operands for s in steps] == [("b", "c"), ("a", "u"), ("v",)]
    assert [s.operand_values for s in steps] == [(3, 2), (5, 6), (11,)]
    # the page's "u = bc = 3 × 2"
    assert steps[0].substituted(lambda x: f"{x:g}") == "3 × 2"
    assert steps[1].substituted(lambda x: f"{x:g}") == "5 + 6"
    assert steps[2].substituted(lambda x: f"{x:g}") == "3 × 11"


# (child, parent, upstream ∂J/∂child, local ∂child/∂parent, local formula, product, grad after)
PAGE_BACKWARD = [
    ("J", "v", 1, 3, "3", 3, 3),      # dJ/dv = 3
    ("v", "a", 3, 1, "1", 3, 3),      # dJ/da = dJ/dv · dv/da = 3 × 1 = 3
    ("v", "u", 3, 1, "1", 3, 3),      # dJ/du = dJ/dv · dv/du = 3 × 1 = 3
    ("u", "b", 3, 2, "c", 6, 6),      # dJ/db = dJ/du · du/db = 3 × 2 = 6
    ("u", "c", 3, 3, "b", 9, 9),      # dJ/dc = dJ/du · du/dc = 3 × 3 = 9
]


def test_five_backward_steps_right_to_left(walk):
    steps = walk.backward_steps
    assert len(steps) == 5  # the seed dJ/dJ = 1 is not a step
    for step, (child, parent, upstream, local, formula, product, after) in zip(steps, PAGE_BACKWARD):
        assert (step.child, step.parent) == (child, parent)
        assert step.upstream == upstream
        assert step.local == local
        assert step.local_formula == formula
        assert step.product == product
        assert step.grad_before == 0
        assert step.grad_after == after
        assert (step.arrived, step.of) == (1, 1)
        assert step.complete
    assert [s.index for s in steps] == list(range(5))


def test_backward_upstream_is_complete_before_it_flows(walk):
    """Each child's gradient is final before any of its steps (reverse dependency order)."""
    for step in walk.backward_steps:
        assert step.upstream == walk.grads[step.child]
        later = [s for s in walk.backward_steps[step.index:] if s.parent == step.child]
        assert not later, f"{step.child} still receives gradient after it flowed on"


def test_trail_of_b_as_on_the_page(walk):
    """b → 3 to 3.001, u → 6 to 6.002, v → 11 to 11.002, J = 3v → 33 to 33.006."""
    fd = finite_difference(walk, "b", 0.001)
    page = [("b", 3, 3.001), ("u", 6, 6.002), ("v", 11, 11.002), ("J", 33, 33.006)]
    assert [e.node for e in fd.trail] == [n for n, _, _ in page]
    for entry, (name, before, after) in zip(fd.trail, page):
        assert entry.before == before, name
        assert math.isclose(entry.after, after, rel_tol=1e-12), (name, entry.after)
    # (33.006 − 33) / (3.001 − 3) = 6
    assert math.isclose(fd.forward, 6, rel_tol=1e-9)
    assert math.isclose(fd.central, 6, rel_tol=1e-9)
    assert fd.grad == 6
    assert fd.h == 0.001
    assert fd.status == "ok"
    assert math.isclose(fd.out_before, 33) and math.isclose(fd.out_plus, 33.006)


@pytest.mark.parametrize(
    "var, trail",
    [
        # "say a = 5.001; v = 11.001; J = 33.003"
        ("a", [("a", 5, 5.001), ("v", 11, 11.001), ("J", 33, 33.003)]),
        # "say v = 11.001, then J = 33.003"
        ("v", [("v", 11, 11.001), ("J", 33, 33.003)]),
        # "say u = 6.001, then v = 11.001 ... J = 33.003"
        ("u", [("u", 6, 6.001), ("v", 11, 11.001), ("J", 33, 33.003)]),
    ],
)
def test_other_nudges_on_the_page(walk, var, trail):
    fd = finite_difference(walk, var)
    assert fd.h == engine.DEFAULT_H == 0.001
    assert [e.node for e in fd.trail] == [n for n, _, _ in trail]
    for entry, (_, before, after) in zip(fd.trail, trail):
        assert entry.before == before
        assert math.isclose(entry.after, after, rel_tol=1e-12)
    # "(33.003 − 33) / (x.001 − x) = 3"
    assert math.isclose(fd.forward, 3, rel_tol=1e-9)


def test_finite_differences_cover_every_variable(walk):
    fds = finite_differences(walk)
    assert list(fds) == ["a", "b", "c", "u", "v", "J"]
    for name, fd in fds.items():
        assert math.isclose(fd.central, PAGE_GRADS[name], rel_tol=1e-9)
        assert fd.status == "ok"
        assert fd.rel_error_central < 1e-9
    assert list(finite_differences(walk, "inputs")) == ["a", "b", "c"]
    assert finite_differences(walk, "none") == {}


def test_nudge_holds_the_variables_own_operands(walk):
    """Nudging u changes v and J, never b or c (u's own operands stay fixed)."""
    fd = finite_difference(walk, "u")
    assert "b" not in [e.node for e in fd.trail] and "c" not in [e.node for e in fd.trail]


def test_overridden_input(walk):
    """a = 7: v = 7 + 6 = 13, J = 39; the gradients do not depend on a (J is linear in a)."""
    w = compute(walk.graph, {"a": 7})
    assert w.values["v"] == 13 and w.values["J"] == 39
    assert w.grads == {name: float(g) for name, g in PAGE_GRADS.items()}
    # the graph itself is not changed
    assert compute(walk.graph).values["J"] == 33


def test_builtin_is_the_lecture(walk):
    builtin = engine.load_builtin()
    assert builtin.source == engine.BUILTIN_NAME == "(built-in lecture graph)"
    assert builtin.path is None
    assert compute(builtin.graph).values == walk.values
    assert compute(builtin.graph).grads == walk.grads


def test_builtin_file_is_byte_identical_to_graphs_lecture():
    packaged = ROOT / "engine" / "data" / "lecture.yaml"
    assert packaged.read_bytes() == LECTURE.read_bytes()
    from importlib import resources

    assert resources.files("engine").joinpath("data", "lecture.yaml").read_bytes() == LECTURE.read_bytes()


def test_loaded_graph_metadata():
    loaded = load_path(LECTURE)
    g = loaded.graph
    assert loaded.source == str(LECTURE)
    assert loaded.text == LECTURE.read_text(encoding="utf-8")
    assert g.title == "Derivatives with a computation graph"
    assert [i.name for i in g.inputs] == ["a", "b", "c"]
    # lines count from 1, as in the file
    lines = LECTURE.read_text(encoding="utf-8").splitlines()
    for item in (*g.inputs, *g.nodes):
        assert lines[item.line - 1].lstrip().startswith(f"{item.name}:")
    # each input's span covers exactly its value in the text
    for i in g.inputs:
        start, end = i.span
        assert float(loaded.text[start:end]) == i.value
