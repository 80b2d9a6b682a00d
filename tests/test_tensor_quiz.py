"""Predict mode's engine side on tensor graphs (#15): guessing shapes and elements."""

from __future__ import annotations

import pytest

from engine import load_path
from engine.tensor_graph import compute_tensor
from engine.tensor_quiz import element_right, parse_shape, shape_right
from paths import GRAPHS


@pytest.mark.parametrize("text, shape", [("2x3", (2, 3)), ("(2×3)", (2, 3)), (" 2, 3 ", (2, 3)), ("[2 3]", (2, 3)),
                                         ("4 X 1", (4, 1)), ("scalar", ()), ("()", ())])
def test_shapes_are_read_as_people_write_them(text, shape):
    assert parse_shape(text) == shape


@pytest.mark.parametrize("text", ["2", "2x", "x3", "2x3x4", "two by three", "-1x2"])
def test_what_is_not_a_shape_says_how_to_write_one(text):
    with pytest.raises(ValueError, match="rows×columns"):
        parse_shape(text)


def test_the_forums_question_has_its_answer():
    walk = compute_tensor(load_path(GRAPHS / "tensor" / "logistic_m.yaml").graph)
    dw = next(s for s in walk.backward_steps if s.parent == "w")
    assert shape_right(dw, "2x1") == (True, "2×1 ✓")
    assert shape_right(dw, "1x2") == (False, "2×1, not 1×2")
    assert shape_right(walk.forward_steps[0], "(1×5)")[0]
    assert element_right(dw, 1, 0, round(float(dw.contribution[1, 0]), 3))
    assert not element_right(dw, 1, 0, float(dw.contribution[0, 0]))
