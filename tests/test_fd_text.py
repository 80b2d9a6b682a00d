"""Finite differences written so that the arithmetic shown is the arithmetic done.

At a tiny h the numbers before and after a nudge agree in their first ten digits:
the trail and the estimate's formula must print as many digits as it takes to tell
them apart, and divide by the nudge actually taken, ``(x + h) − x``, as the lecture
page writes ``(33.006 − 33) / (3.001 − 3)``.
"""

from __future__ import annotations

import math
import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from engine import compute, finite_differences, load_path
from engine import text as tx
from engine.finite_diff import finite_difference
from engine.report import to_markdown, to_trace
from tui_helpers import LECTURE, make_app, widget_text
from tui.widgets.graph_tree import GraphTree
from soak import examples

ENTRY = re.compile(r"(\w+): (\S+) → (\S+?),?$")


def _lecture_fd(var: str, h: float):
    walk = compute(load_path(LECTURE).graph)
    return walk, finite_difference(walk, var, h)


def test_at_the_pages_h_the_trail_and_formula_read_like_the_page():
    _, fd = _lecture_fd("b", 1e-3)
    assert tx.trail_text(fd) == "b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002, J: 33 → 33.006"
    # 3.001 − 3 is not exactly 0.001 in floats: the divisor is the nudge taken, as the page writes it
    assert tx.forward_formula(fd) == "(33.006 − 33) / (3.001 − 3)"
    assert tx.central_formula(fd) == "(33.006 − 32.994) / (3.001 − 2.999)"


def test_at_a_tiny_h_every_trail_entry_shows_that_it_moved():
    _, fd = _lecture_fd("b", 1e-12)
    text = tx.trail_text(fd)
    entries = text.split(", ")
    assert len(entries) == 4
    for entry in entries:
        name, before, after = ENTRY.match(entry).groups()
        assert before != after, entry
        e = next(e for e in fd.trail if e.node == name)
        assert (float(after) > float(before)) == (e.after > e.before), entry
    assert entries[0] == "b: 3 → 3.000000000001"
    formula = tx.forward_formula(fd)
    assert formula.endswith("/ (3.000000000001 − 3)"), formula
    top = re.match(r"\((\S+) − (\S+)\)", formula).groups()
    assert top[0] != top[1] and float(top[0]) > float(top[1])
    # the J entry of the trail and the formula's numerator are the same texts
    assert entries[-1] == f"J: {top[1]} → {top[0]}"


def test_a_nudge_of_exactly_h_divides_by_h():
    walk = compute(load_path(LECTURE).graph, {"b": 0.5})
    fd = finite_difference(walk, "b", 0.25)  # 0.5 + 0.25 − 0.5 is exactly 0.25
    assert tx.forward_formula(fd).endswith("/ 0.25")
    assert tx.central_formula(fd).endswith("/ 0.5")


def test_trace_and_handout_use_the_same_numbers_at_a_tiny_h():
    walk = compute(load_path(LECTURE).graph)
    fds = finite_differences(walk, "all", 1e-12)
    trace = to_trace(walk, fds, 1e-12, "lecture")
    assert "b: 3 → 3.000000000001" in trace
    assert "33 → 33" not in trace.replace("33 → 33.0", "")
    assert f"one-sided {tx.forward_formula(fds['b'])} = {tx.exact(fds['b'].forward)}" in trace
    assert "/ (3.000000000001 − 3)" in trace
    md = to_markdown(walk, fds, 1e-12, "lecture")
    assert "b: 3 → 3.000000000001" in md


async def test_the_panel_at_a_tiny_h():
    app = make_app(h=1e-12)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        app.query_one(GraphTree).select_name("b")
        await pilot.pause()
        fd = " ".join(widget_text(app, "#fd").split())
        assert "b: 3 → 3.000000000001," in fd
        assert "/ (3.000000000001 − 3)" in fd
        assert not re.search(r"\b(\d+(?:\.\d+)?) → \1(?![\d.])", fd), fd  # no entry that seems not to move


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=examples(400), deadline=None)
@given(finite, st.one_of(st.integers(-6, 6), st.floats(-1e-3, 1e-3), st.floats(1e-16, 1e-8)))
def test_printed_pairs_differ_and_keep_their_order(x, delta):
    if isinstance(delta, int):  # a few floats away
        y = x
        for _ in range(abs(delta)):
            y = math.nextafter(y, math.inf if delta > 0 else -math.inf)
    else:
        y = x + delta * max(1.0, abs(x))
    assume(math.isfinite(y))
    a, b = tx.differing(x, y)
    if x == y:
        assert a == b
        return
    assert a != b
    # read back, the texts are ordered as the floats are: their difference has the estimate's sign
    assert (float(b) - float(a) > 0) == (y > x)
    assert (float(b) - float(a) < 0) == (y < x)
    # and the difference shown is the difference done, to three digits (or exactly, from repr)
    shown, done = float(b) - float(a), y - x
    assert shown == done or abs(shown - done) <= 1e-3 * abs(done)


def test_the_shown_arithmetic_gives_the_estimate_to_three_digits():
    for h in (1e-3, 1e-6, 1e-9, 1e-12):
        walk = compute(load_path(LECTURE).graph)
        for var, fd in finite_differences(walk, "all", h).items():
            for formula, estimate in ((tx.forward_formula(fd), fd.forward), (tx.central_formula(fd), fd.central)):
                top, bottom = formula.split(" / ")
                t1, t2 = re.fullmatch(r"\((\S+) − (\S+)\)", top).groups()
                m = re.fullmatch(r"\((\S+) − (\S+)\)", bottom)
                divisor = float(m[1]) - float(m[2]) if m else float(bottom)
                shown = (float(t1) - float(t2)) / divisor
                assert math.isclose(shown, estimate, rel_tol=3e-3), (h, var, formula, estimate)
