"""The h sweep (s): finite-difference error against h, checked against SymPy's Taylor terms.

For a smooth f, the one-sided estimate's error is about |f''| h / 2 and the
central one's about |f'''| h² / 6 while h is large enough for rounding not to
matter; for tiny h, rounding error (about ε |f| / h) takes over: the V.
"""

from __future__ import annotations

import re

import pytest

from engine import compute, finite_difference, load_builtin, load_path
from engine.finite_diff import SWEEP_HS, h_sweep
from tui_helpers import LECTURE, ROOT, make_app, screen_text, widget_text

sympy = pytest.importorskip("sympy", reason="SymPy is the independent oracle (pip install -e '.[test]')")

LOGISTIC = ROOT / "graphs" / "logistic.yaml"


def logistic_loss_in_w1():
    """L as a SymPy function of w1, the other inputs at the file's values."""
    w1 = sympy.Symbol("w1")
    values = {i.name: sympy.nsimplify(i.value) for i in load_path(LOGISTIC).graph.inputs}
    z = w1 * values["x1"] + values["w2"] * values["x2"] + values["b"]
    a = 1 / (1 + sympy.exp(-z))
    y = values["y"]
    return w1, -(y * sympy.log(a) + (1 - y) * sympy.log(1 - a)), values["w1"]


def test_the_sweep_runs_from_1e_1_to_1e_13_and_agrees_with_the_panel():
    walk = compute(load_builtin().graph)
    sweep = h_sweep(walk, "c")
    assert [p.h for p in sweep.points] == list(SWEEP_HS)
    assert SWEEP_HS[0] == 1e-1 and SWEEP_HS[-1] == pytest.approx(1e-13) and len(SWEEP_HS) == 25
    assert sweep.grad == 9  # the page's ∂J/∂c
    for p in sweep.points:
        fd = finite_difference(walk, "c", p.h)
        assert (p.forward, p.central) == (fd.forward, fd.central)
        assert p.error_forward == abs(fd.forward - 9) and p.error_central == abs(fd.central - 9)


def test_truncation_error_matches_the_taylor_terms_from_sympy():
    w1, loss, at = logistic_loss_in_w1()
    f2 = abs(float(sympy.diff(loss, w1, 2).subs(w1, at)))
    f3 = abs(float(sympy.diff(loss, w1, 3).subs(w1, at)))
    walk = compute(load_path(LOGISTIC).graph)
    assert walk.grads["w1"] == pytest.approx(float(sympy.diff(loss, w1).subs(w1, at)), rel=1e-12)
    sweep = h_sweep(walk, "w1", [1e-2, 1e-3])
    for p in sweep.points:
        assert p.error_forward == pytest.approx(f2 * p.h / 2, rel=0.05)
        assert p.error_central == pytest.approx(f3 * p.h ** 2 / 6, rel=0.05)


def test_the_v_truncation_on_the_right_rounding_on_the_left():
    sweep = h_sweep(compute(load_path(LOGISTIC).graph), "w1")
    at = {p.h: p for p in sweep.points}
    best_forward, best_central = sweep.best(central=False), sweep.best()
    assert 1e-10 < best_forward.h < 1e-5 and 1e-8 < best_central.h < 1e-2
    assert at[1e-1].error_forward > 1e3 * best_forward.error_forward
    assert sweep.points[-1].error_forward > 1e3 * best_forward.error_forward
    assert sweep.points[-1].error_central > 1e3 * best_central.error_central


def test_a_variable_the_output_ignores_has_zero_error_everywhere():
    from engine import load_bytes

    walk = compute(load_bytes(b"inputs: {x: 1, y: 2}\nnodes: {J: 3*x}\n", "t.yaml").graph)
    sweep = h_sweep(walk, "y")
    assert sweep.grad == 0 and all(p.error_forward == p.error_central == 0 for p in sweep.points)


async def test_s_plots_the_sweep_for_the_node_under_the_cursor():
    from tui.widgets.graph_tree import GraphTree
    from tui.widgets.sweep import SweepScreen

    app = make_app(LOGISTIC)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one(GraphTree).select_name("w1")
        await pilot.press("f", "s")  # the estimates exist, but ∂L/∂w1 is not revealed yet
        assert not isinstance(app.screen, SweepScreen)
        assert "∂L/∂w1, which is not complete yet" in " ".join(widget_text(app, "#message").split())
        await pilot.press("f", "s")
        assert isinstance(app.screen, SweepScreen)
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        assert "h sweep" in text and "∂L/∂w1" in text
        assert re.search(r"1e-13 +1e-11 +1e-9 +1e-7 +1e-5 +1e-3 +1e-1", text)  # the h axis, in decades
        assert "one-sided" in text and "central" in text
        assert "the vertical line is your h" in text and "At your h = 0.001:" in text
        assert "Best h: central about 3.2e-05" in text and "one-sided about 3.2e-08" in text
        assert app.screen.sweep.var == "w1" and len(app.screen.sweep.points) == 25
        await pilot.press("s")
        assert not isinstance(app.screen, SweepScreen)
        await pilot.press("left_square_bracket", "s")  # h = 1e-4 is marked instead
        assert "At your h = 0.0001" in " ".join(screen_text(app).split())
        await pilot.press("escape")
        assert not isinstance(app.screen, SweepScreen) and app.session.position == 11


async def test_exact_zero_errors_are_drawn_at_the_floor_and_said_so():
    from tui.widgets.sweep import SweepScreen

    app = make_app()  # the lecture graph is linear in each input: many estimates are exact
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "s")
        assert isinstance(app.screen, SweepScreen)
        zeros = sum(p.error_forward == 0 for p in app.screen.sweep.points) + sum(
            p.error_central == 0 for p in app.screen.sweep.points)
        assert zeros > 0
        text = " ".join(screen_text(app).split())
        assert f"{zeros} errors are exactly 0, drawn at 1e-17." in text


def test_a_caption_says_when_every_estimate_is_exact():
    from engine import load_bytes
    from engine.text import sweep_lines

    walk = compute(load_bytes(b"inputs: {x: 1, y: 2}\nnodes: {J: 4*x}\n", "t.yaml").graph)
    ignored = " ".join(sweep_lines(h_sweep(walk, "y"), 1e-3, "J"))
    assert "J does not depend on y" in ignored and "the V" not in ignored
    exact = " ".join(sweep_lines(h_sweep(walk, "x"), 1e-3, "J"))
    assert "Every estimate is exact" in exact and "the V" not in exact
    curved = " ".join(sweep_lines(h_sweep(compute(load_path(LOGISTIC).graph), "w1"), 1e-3, "L"))
    assert "Right of the V" in curved and "exact" not in curved


def test_the_caption_of_a_linear_graph_has_no_v_and_calls_a_lucky_zero_luck():
    """#13: on the lecture graph (linear in b) the caption explained "right of the V" and
    presented "smallest error at h = 1e-09", a lucky cancellation on the rounding side, as the best h."""
    from engine.text import sweep_lines

    walk = compute(load_path(LECTURE).graph)
    text = " ".join(sweep_lines(h_sweep(walk, "b"), 1e-3, "J", walk.values["J"]))
    assert "J is linear in b here: no truncation error, so no V" in text and "Right of the V" not in text
    assert "the largest h is the best here" in text and "Smallest error" not in text
    assert "(such as 0 at h = 3.2e-09) is rounding errors cancelling by luck" in text
    curved = " ".join(sweep_lines(h_sweep(compute(load_path(LOGISTIC).graph), "w1"), 1e-3, "L", 0.644))
    assert "Right of the V" in curved and "Best h: central about 3.2e-05" in curved and "linear" not in curved


async def test_one_sided_marks_show_where_they_meet_the_central_line_and_no_legend_covers_them():
    """On a linear graph the one-sided × lay under the central dots; at 80 × 24 the legend covered the data."""
    from tui.widgets.graph_tree import GraphTree
    from tui.widgets.sweep import SweepScreen
    from textual_plotext import PlotextPlot

    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        app.query_one(GraphTree).select_name("b")
        await pilot.press("f", "f", "s")
        await pilot.pause()
        assert isinstance(app.screen, SweepScreen)
        plot = app.screen.query_one(PlotextPlot).region
        rows = screen_text(app).split("\n")[plot.y: plot.y + plot.height]
        inside = "\n".join(row[plot.x: plot.x + plot.width] for row in rows)
        assert "one-sided" not in inside and "central" not in inside  # no legend over the data
        finite = sum(1 for p in app.screen.sweep.points if p.error_forward > 0)
        assert inside.count("x") >= finite, inside  # every one-sided point visible
        assert "× one-sided, • central" in " ".join(screen_text(app).split())
