"""Gradient descent (d) on the inputs a file marks as params, checked against SymPy's gradient."""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine import SourceError, load_bytes, load_path
from engine.graphfile import save_inputs
from engine.session import DebugSession
from tui.widgets.graph_tree import GraphTree
from tui_helpers import ROOT, make_app, tree_line, widget_text

sympy = pytest.importorskip("sympy", reason="SymPy is the independent oracle (pip install -e '.[test]')")

LOGISTIC = ROOT / "graphs" / "logistic.yaml"
BASE = "inputs: {w: 1, x: 2, b: 0}\nnodes: {J: (w*x + b - 3)**2}\n"


def message(app) -> str:
    return " ".join(widget_text(app, "#message").split())


def sympy_descent(steps: int, alpha: float) -> list[dict[str, float]]:
    """The logistic example's parameters after each of ``steps`` descent steps, by SymPy."""
    graph = load_path(LOGISTIC).graph
    values = {i.name: i.value for i in graph.inputs}
    w1, w2, b = sympy.symbols("w1 w2 b")
    z = w1 * values["x1"] + w2 * values["x2"] + b
    a = 1 / (1 + sympy.exp(-z))
    y = values["y"]
    loss = -(y * sympy.log(a) + (1 - y) * sympy.log(1 - a))
    grads = [sympy.lambdify((w1, w2, b), sympy.diff(loss, p)) for p in (w1, w2, b)]
    point = [values["w1"], values["w2"], values["b"]]
    out = []
    for _ in range(steps):
        g = [f(*point) for f in grads]
        point = [p - alpha * gp for p, gp in zip(point, g)]
        out.append(dict(zip(("w1", "w2", "b"), point)))
    return out


# --------------------------------------------------------------------------- the file


def test_params_and_alpha_are_read_from_the_file():
    graph = load_path(LOGISTIC).graph
    assert graph.params == ("w1", "w2", "b") and graph.alpha == 0.5
    plain = load_bytes(BASE.encode(), "t.yaml").graph
    assert plain.params == () and plain.alpha is None


@pytest.mark.parametrize("extra, says, line", [
    ("params: w\n", "params must be a list of input names", 3),
    ("params: []\n", "params must be a list of input names", 3),
    ("params: [w, {x: 1}]\n", "params must be a list of input names", 3),
    ("params: [w, q]\n", "params: 'q' is not an input", 3),
    ("params: [w, J]\n", "params: 'J' is a node; params must be inputs", 3),
    ("params: [w, w]\n", "params: 'w' is listed twice", 3),
    ("params:\n  - w\n  - bb\n", "params: 'bb' is not an input (did you mean 'b'?)", 5),
    ("alpha: 0\n", "alpha (the learning rate) must be a positive number", 3),
    ("alpha: -1\n", "alpha (the learning rate) must be a positive number", 3),
    ("alpha: fast\n", "alpha (the learning rate) must be a positive number", 3),
    ("alpha: .inf\n", "alpha (the learning rate) must be a positive number", 3),
    ("alpha: 5000\n", "alpha (the learning rate) must be between 1e-06 and 1000, not 5000", 3),
    ("alpha: 1e-9\n", "alpha (the learning rate) must be between 1e-06 and 1000, not 1e-09", 3),
])
def test_bad_params_and_alpha_are_refused_with_their_line(extra, says, line):
    with pytest.raises(SourceError) as err:
        load_bytes((BASE + extra).encode(), "t.yaml")
    assert says in err.value.error.message and err.value.error.line == line


def test_a_bad_params_line_is_one_cgtui_line_and_exit_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "params: [w, J]\n")
    done = subprocess.run([sys.executable, "-m", "tui", str(path), "--trace"], capture_output=True, text=True)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("cgtui: ") and "'J' is a node" in done.stderr and len(done.stderr.splitlines()) == 1


# --------------------------------------------------------------------------- the session


def test_descend_follows_sympys_gradient_step_after_step():
    s = DebugSession(load_path(LOGISTIC))
    with pytest.raises(ValueError, match="finish the backward pass"):
        s.descend()
    s.finish()
    s.finish()
    expected = sympy_descent(5, 0.5)
    losses = [s.value("L")]
    for k in range(5):
        changes = s.descend()
        assert set(changes) == {"w1", "w2", "b"}
        for p in ("w1", "w2", "b"):
            assert s.inputs[p] == pytest.approx(expected[k][p], rel=1e-12)
            assert changes[p].new == s.inputs[p]
        assert s.at_end and s.inputs["x1"] == 1 and s.inputs["y"] == 1  # only params move
        losses.append(s.value("L"))
    assert s.descent == losses and losses == sorted(losses, reverse=True)
    assert s.unsaved


def test_alpha_halves_and_doubles_within_bounds_and_edits_start_a_new_run():
    s = DebugSession(load_path(LOGISTIC))
    assert s.alpha == 0.5
    assert s.scale_alpha(2) and s.alpha == 1
    while s.scale_alpha(2):
        pass
    assert s.alpha == 512  # the next doubling would pass 1000
    assert s.scale_alpha(1 / 1024) and s.alpha == 0.5
    s.finish(); s.finish()
    s.descend(); s.descend()
    assert len(s.descent) == 3
    s.set_input("x1", 2.0)
    assert s.descent == []


def test_a_step_that_overshoots_to_nan_changes_nothing_and_says_lower_alpha():
    s = DebugSession(load_path(LOGISTIC))
    while s.scale_alpha(2):
        pass
    s.finish(); s.finish()
    before = dict(s.inputs)
    with pytest.raises(ValueError, match="would make L nan .* lower α with -"):
        s.descend()  # α = 512 saturates the sigmoid: (1 - y) · log(1 - a) is 0 · (-inf)
    assert s.inputs == before and s.descent == [] and s.value("L") == pytest.approx(0.6443966601)
    s.scale_alpha(1 / 1024)
    s.descend()
    assert len(s.descent) == 2


def test_a_step_that_would_overflow_changes_nothing():
    s = DebugSession(load_bytes(b"inputs: {w: 1}\nnodes: {J: w * 1.0e306}\nparams: [w]\nalpha: 1000\n", "t.yaml"))
    s.finish(); s.finish()
    with pytest.raises(ValueError, match="would not be finite"):
        s.descend()
    assert s.inputs["w"] == 1 and s.descent == []


def test_descended_values_save_into_the_file(tmp_path):
    path = tmp_path / "logistic.yaml"
    path.write_text(LOGISTIC.read_text())
    s = DebugSession(load_path(path))
    s.finish(); s.finish()
    s.descend()
    new = save_inputs(s.loaded, s.inputs)
    s.replace_graph(new, saved=True)
    again = load_path(path).graph
    assert {p: again.input_by_name[p].value for p in again.params} == {p: s.inputs[p] for p in again.params}
    assert len(s.descent) == 2  # saving the trained weights keeps the run
    s.descend()
    assert len(s.descent) == 3
    assert again.params == ("w1", "w2", "b") and "# The weights and the bias are parameters" in path.read_text()
    assert new.graph.alpha == 0.5


# --------------------------------------------------------------------------- the app


async def test_d_takes_a_step_and_plots_the_loss():
    app = make_app(LOGISTIC)
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.query_one("#descent")
        assert not box.display
        await pilot.press("d")
        assert "finish the backward pass first" in message(app) and app.session.descent == []
        await pilot.press("f", "f")
        assert "d: one step of gradient descent on w1, w2, b with α = 0.5" in " ".join(
            widget_text(app, "#step").replace("│", " ").split())
        await pilot.press("d")
        expected = sympy_descent(1, 0.5)[0]
        assert app.session.inputs["w1"] == pytest.approx(expected["w1"], rel=1e-12)
        text = message(app)
        assert text.startswith("Descent step 1 with α = 0.5: w1 0.5 → 0.7375104063")
        assert "L 0.6443966601 → 0.1968878428" in text
        assert "0.5 → 0.7375104063" in tree_line(app, "w1")  # old → new in the tree
        await pilot.pause()
        assert box.display and box.border_title == "L by descent step (α now 0.5)"
        await pilot.press("minus", "d")
        assert "with α = 0.25" in message(app) and box.border_title == "L by descent step (α now 0.25)"
        assert len(app.session.descent) == 3
        await pilot.press("plus", "plus", "equals_sign")
        assert app.session.alpha == 2
        app.query_one(GraphTree).select_name("x1")
        await pilot.press("e")  # an edit starts a new run: the plot goes until the next d
        await pilot.press("ctrl+u", "3", "enter")
        assert app.session.inputs["x1"] == 3
        assert app.session.descent == [] and not box.display


async def test_d_on_a_graph_without_params_says_how_to_mark_them():
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f", "d")
        assert "marks no parameters" in message(app) and "params:" in message(app)
        assert app.session.inputs == {"a": 5, "b": 3, "c": 2}


def test_a_reload_that_changes_params_or_alpha_says_so_and_adopts_alpha():
    s = DebugSession(load_path(LOGISTIC))
    s.finish(); s.finish()
    s.descend()
    text = LOGISTIC.read_text().replace("params: [w1, w2, b]", "params: [w1]").replace("alpha: 0.5", "alpha: 0.25")
    changes = s.replace_graph(load_bytes(text.encode(), "logistic.yaml"))
    assert "params: w1" in changes and "alpha: 0.25" in changes
    assert s.alpha == 0.25 and s.graph.params == ("w1",) and s.descent == []
    s.replace_graph(load_bytes(text.replace("alpha: 0.25\n", "").encode(), "logistic.yaml"))
    assert s.alpha == 0.1  # the default again


async def test_quick_descent_steps_all_reach_the_plot():
    from tui.widgets.descent import DescentPlot

    app = make_app(LOGISTIC)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "f")
        app.action_descend()  # two steps before the plot has been mounted and drawn once
        app.action_descend()
        await pilot.pause()
        await pilot.pause()
        plot = app.query_one(DescentPlot)
        drawn = plot.plt._active.monitor.y[0]  # what plotext was last given to draw
        assert list(drawn) == app.session.descent and len(drawn) == 3
