"""The app and tensor graphs (#15): the tensor app's tree, picture, matrix panel, zoom, finite-difference
panel and gradient check, checked against numpy written here; the scalar app refuses a file that becomes
a tensor graph, keeping the last good one."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest
from textual.app import App

from engine import load_path
from engine import tensor_expr as te
from engine import text as tx
from engine.tensor_graph import TensorBackwardStep, TensorForwardStep
from engine.tensor_session import TensorSession, summary
from paths import GRAPHS
from tui import tensor_app as ta
from tui.keys import Key
from tui.tensor_app import TensorApp
from tui.widgets.tensor_views import MatrixPanel, TensorPicture, TensorTree
from tui_helpers import LECTURE, make_app, reload_now, screen_text, tree_line, widget_text
from soak import SOAK

LOGISTIC = GRAPHS / "tensor" / "logistic_m.yaml"
TWO_LAYER = GRAPHS / "tensor" / "two_layer.yaml"
COURSE = (LOGISTIC, TWO_LAYER)


def tensor_app(path=LOGISTIC) -> TensorApp:
    return TensorApp(TensorSession(load_path(path)))


def flat(app, selector: str) -> str:
    return " ".join(widget_text(app, selector).split())


def panel(app, selector: str) -> str:
    """A panel's whole text, on screen or scrolled away, one line."""
    return " ".join(app.query_one(selector)._text.plain.split())


def go_to_edge(app: TensorApp, parent: str) -> TensorBackwardStep:
    s = app.session
    k = next(k for k, st in enumerate(s.walk.backward_steps) if st.parent == parent)
    s.go(s.n_forward + k + 1)
    app.redraw()
    return s.walk.backward_steps[k]


# --------------------------------------------------------------------------- the course's numbers, in numpy


def logistic_numbers(w=None):
    """X, Y, w, b of logistic_m.yaml and J(w), ∂J/∂w by the course's closed forms."""
    X = np.array([[1.0, 2.0, -1.0, 0.5, 3.0], [0.5, -1.5, 2.0, 1.0, -0.5]])
    Y = np.array([[1, 0, 1, 1, 0]], dtype=float)
    w0 = np.array([[0.5], [-0.25]])
    b = 0.1

    def J(w):
        A = 1 / (1 + np.exp(-(w.T @ X + b)))
        return float(np.mean(-(Y * np.log(A) + (1 - Y) * np.log(1 - A))))

    A = 1 / (1 + np.exp(-(w0.T @ X + b)))
    dw = X @ (A - Y).T / X.shape[1]
    return X, Y, w0, J, dw, (A - Y) / X.shape[1]


def number_after(text: str, label: str) -> float:
    """The number after ``label … =`` in a panel's text."""
    found = re.search(re.escape(label) + r"[^=]*= (-?[0-9.e+-]+)", text)
    assert found, f"{label!r} not in {text!r}"
    return float(found.group(1))


# --------------------------------------------------------------------------- tests


async def test_a_file_that_becomes_a_tensor_graph_keeps_the_last_good_graph(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        lecture_copy.write_text(LECTURE.read_text().replace("  a: 5", "  a: [[5, 6]]").replace("J: 3 * v", "J: sum(3 * v)"))
        await reload_now(app, pilot)
        message = " ".join(widget_text(app, "#message").split())
        assert message.startswith("cgtui:") and "is now a graph of vectors and matrices" in message
        assert tree_line(app, "J").endswith("= 33")  # the last good version
        assert app.session.graph.input_by_name["a"].value == 5


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
async def test_every_step_shows_its_formula_shapes_and_numbers(path):
    app = tensor_app(path)
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.session
        assert "Press n to start" in flat(app, "#step")
        assert "n Next" in widget_text(app, "#keys") and "? Help" in widget_text(app, "#keys")
        for k in range(s.total):
            await pilot.press("n")
            st = s.step
            shown = panel(app, "#matrix")
            if isinstance(st, TensorForwardStep):
                assert f"forward {st.index + 1}/{s.n_forward}" in shown
                assert f"{st.node} = {st.course}" in shown and st.shape_text in shown
                first = st.value.reshape(-1)[0]
            else:
                assert f"{tx.d(s.graph.output, st.parent)} += {st.formula}" in shown
                assert st.shapes in shown and f"({st.arrived} of {st.of})" in shown
                first = st.contribution.reshape(-1)[0]
                if st.reduction:
                    assert st.reduction in shown
            assert f"‹{tx.num(float(first))}›" in shown  # the element under the cursor, the first
            # the tree marks the step's node and shows its shape
            line = next(x for x in widget_text(app, "#tree").split("\n") if "● " in x)
            node = st.node if isinstance(st, TensorForwardStep) else st.parent
            assert f"● {node} ({te.shape_text(s.graph.shapes[node])})" in line
        await pilot.press("n")  # past the end: stays
        assert s.position == s.total


async def test_the_logistic_gradients_on_screen_are_the_courses_closed_forms():
    X, Y, w0, J, dw, dZ = logistic_numbers()
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        st = go_to_edge(app, "w")
        await pilot.press("down")  # the cursor to w[1,0]
        shown = panel(app, "#matrix")
        assert "∂J/∂w += X · (∂J/∂Z)ᵀ (1 of 1)" in shown and "(2×5)·(5×1) → (2×1) = shape of w ✓" in shown
        assert f"‹{tx.num(float(st.contribution[1, 0]))}›" in shown
        assert abs(st.contribution[1, 0] - dw[1, 0]) <= 1e-15 + 1e-12 * abs(dw[1, 0])
        assert f"{tx.num(float(dw[0, 0]))}" in shown  # the other element, as numpy has it to 10 digits


async def test_the_tree_shows_shapes_values_once_known_and_gradients():
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        s = app.session
        tree = widget_text(app, "#tree")
        for name in s.graph.names:
            assert f"{name} ({te.shape_text(s.graph.shapes[name])})" in tree
        assert "Z (1×5) = wᵀ · X + b = ?" in tree  # not evaluated yet
        assert f"w (2×1) = {summary(s.walk.values['w'])}" in tree  # an input: known from the start
        await pilot.press("n")
        tree = widget_text(app, "#tree")
        assert f"● Z (1×5) = wᵀ · X + b = {summary(s.walk.values['Z'])}" in tree
        assert "∂J/∂" not in tree
        await pilot.press("f", "f")
        assert f"∂J/∂b = {summary(s.walk.grads['b'])}" in widget_text(app, "#tree")
        app.select("w")  # a line cut to the tree's width is whole on the detail line under it
        await pilot.pause()
        assert f"w (2×1) = [0.5; -0.25] ∂J/∂w = {summary(s.walk.grads['w'])} input" in flat(app, "#detail")
        assert summary(np.array([[0.5], [-0.25]])) == "[0.5; -0.25]"
        assert summary(np.arange(6.0).reshape(2, 3) + 0.5) == "[0.5 … 5.5]"


async def test_the_picture_shows_every_node_with_its_shape():
    app = tensor_app(TWO_LAYER)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("f", "v")
        picture = app.query_one(TensorPicture)
        assert picture.display and app.view == "picture"
        seen, texts = set(), []
        for _ in range(len(app.session.graph.names) + 2):  # ↑ walks the picture's nodes; it pans to each
            text = widget_text(app, "#picture")
            texts.append(text)
            seen |= {n for n in app.session.graph.names if f"{n} ({te.shape_text(app.session.graph.shapes[n])})" in text}
            picture.focus()
            await pilot.press("up")  # from the output, the last in reading order
        assert seen == set(app.session.graph.names)
        assert any("Z1 (4×5) = W1 · X + b1" in text for text in texts)
        assert any(f"W1 (4×2) = {summary(app.session.walk.values['W1'], 3)}" in text for text in texts)
        await pilot.press("v")
        assert not picture.display


async def test_the_finite_difference_panel_agrees_with_numpy_central_differences():
    X, Y, w0, J, dw, dZ = logistic_numbers()
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        go_to_edge(app, "w")
        await pilot.press("down")
        text = panel(app, "#fd-text")
        h = app.session.h
        up, down = w0.copy(), w0.copy()
        up[1, 0] += h
        down[1, 0] -= h
        central = (J(up) - J(down)) / ((w0[1, 0] + h) - (w0[1, 0] - h))
        shown = number_after(text, "central")
        assert abs(shown - central) <= 1e-7 * abs(central)
        assert abs(number_after(text, "backprop ∂J/∂w[1,0]") - dw[1, 0]) <= 1e-9 * abs(dw[1, 0])
        assert "w[1,0] +h → Z (5 of 5 moved)" in text and "great (below 1e-7)" in text
        assert app.query_one("#fd").border_title == "Finite differences: w[1,0]"
        # h × 10: nudged again, by the new h
        await pilot.press("right_square_bracket")
        assert app.session.h == pytest.approx(1e-5)
        assert "by h = 1e-05" in panel(app, "#fd-text")
        # a forward step nudges nothing, and says where the panel works
        await pilot.press("r", "n")
        assert "Nudges one element of an input" in panel(app, "#fd-text")


async def test_the_gradient_check_of_the_whole_input_and_its_verdict():
    X, Y, w0, J, dw, dZ = logistic_numbers()
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        go_to_edge(app, "w")
        assert "c: check all of w at once" in panel(app, "#fd-text")
        await pilot.press("c")
        text = panel(app, "#fd-text")
        h = app.session.h
        approx = np.zeros_like(w0)
        for i in range(2):
            up, down = w0.copy(), w0.copy()
            up[i, 0] += h
            down[i, 0] -= h
            approx[i, 0] = (J(up) - J(down)) / (2 * h)
        rel = np.linalg.norm(approx - dw) / (np.linalg.norm(approx) + np.linalg.norm(dw))
        assert rel < 1e-7
        assert "‖g_approx − g‖₂ / (‖g_approx‖₂ + ‖g‖₂) =" in text and "great (below 1e-7)" in text
        assert number_after(text, "(‖g_approx‖₂ + ‖g‖₂)") < 1e-7
        # a wrong gradient (as a bug in backprop would give): the verdict says so
        app.session.walk.grads["w"] = app.session.walk.grads["w"] * 1.1
        app.session.check = None
        await pilot.press("c")
        text = panel(app, "#fd-text")
        assert "wrong (above 1e-3)" in text
        assert number_after(text, "(‖g_approx‖₂ + ‖g‖₂)") == pytest.approx(0.1 / 2.1, rel=0.02)  # 2 digits shown


async def test_zoom_steps_the_sum_term_by_term_and_esc_leaves():
    X, Y, w0, J, dw, dZ = logistic_numbers()
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        go_to_edge(app, "w")
        position = app.session.position
        await pilot.press("down", "z")
        text = panel(app, "#matrix")
        assert "∂J/∂w[1,0] = Σₖ X[1,k] · ∂J/∂Z[0,k]" in text and "5 terms: n adds them one at a time" in text
        await pilot.press("n", "n")
        text = panel(app, "#matrix")
        assert app.session.position == position  # n walks the terms, not the steps
        assert f"term 2 of 5: X[1,1] · ∂J/∂Z[0,1] = ({tx.num(X[1, 1])}) × {tx.num(float(dZ[0, 1]))}" in text
        so_far = number_after(text, "the sum so far (2 of 5)")
        assert so_far == pytest.approx(X[1, 0] * dZ[0, 0] + X[1, 1] * dZ[0, 1], rel=1e-9)
        await pilot.press("n", "n", "n", "n")  # past the last term: stays, says so
        await pilot.pause()
        assert "every term added" in panel(app, "#matrix") and "esc or z leaves" in flat(app, "#message")
        await pilot.press("p")
        assert "term 4 of 5" in panel(app, "#matrix")
        await pilot.press("escape")
        assert not app.session.zoomed and "zoom" not in panel(app, "#matrix")
        await pilot.press("n")
        assert app.session.position == position + 1


async def test_a_node_opened_from_the_tree_is_browsed_element_by_element():
    app = tensor_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.press("tab")
        assert app.focused is app.query_one(TensorTree)
        app.select("X")
        await pilot.press("enter")
        assert app.focused is app.query_one(MatrixPanel) and app.session.browsing == "X"
        text = panel(app, "#matrix")
        assert "X (2×5), an input: its value and its gradient" in text and "‹1›" in text
        assert "∂J/∂X = ? (no contribution has arrived yet)" in text
        await pilot.press("down", "right", "right")
        assert app.session.cursor == (1, 2)
        assert "‹2›" in panel(app, "#matrix")  # X[1,2]
        assert app.query_one("#fd").border_title == "Finite differences: X[1,2]"
        assert "backprop ∂J/∂X[1,2]: not reached yet" in panel(app, "#fd-text")
        await pilot.press("escape")
        assert app.session.browsing is None and "Press n to start" in panel(app, "#matrix")


async def test_the_help_page_lists_every_key_of_the_bindings():
    app = tensor_app()
    async with app.run_test(size=(100, 60)) as pilot:  # one column: each line whole
        await pilot.press("question_mark")
        shown = " ".join(screen_text(app).split())
        for binding in [*TensorApp.BINDINGS, *MatrixPanel.BINDINGS, *TensorTree.BINDINGS]:
            if binding.help:
                assert " ".join(binding.help.split())[:40] in shown, binding.help
        assert "Z (1×5)" in shown  # the tree's notes are the tensor tree's
        await pilot.press("question_mark")
        assert "this help" not in " ".join(screen_text(app).split())


def test_the_readme_and_the_help_page_list_every_key_of_the_tensor_app():
    from paths import ROOT
    from tui.keys import help_rows, shown

    groups = (TensorApp.BINDINGS, MatrixPanel.BINDINGS, TensorTree.BINDINGS)
    rows = help_rows(*groups)
    assert "More keys" not in rows, "a binding with help= but no section="
    on_page = {key for section in rows.values() for keys, _ in section for key in keys}
    bound = {shown(k.strip()) for group in groups for b in group for k in b.key.split(",")}
    assert bound <= on_page
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Vectors and matrices"):]
    section = section[: section.index("\n## ")]
    told = set(re.findall(r"`([^`]+)`", section))
    assert bound - {"↑", "↓", "←", "→", "ctrl+q"} <= told, bound - told


class Descending(App):
    """A mixin as tui/tensor_actions.py adds one: its own keys, drawing through redraw() and say().
    (Textual merges the BINDINGS of its DOM classes only: a mixin of keys subclasses App.)"""

    BINDINGS = [Key("d", "descend", "Descend", section="Gradient descent (graphs with params:)",
                    help="one step of gradient descent on params:")]

    def action_descend(self) -> None:
        self.say(f"descended from position {self.session.position}")


class WithMixin(Descending, TensorApp):
    pass


async def test_a_mixin_adds_keys_to_the_key_line_the_help_page_and_the_message_line():
    app = WithMixin(TensorSession(load_path(LOGISTIC)))
    async with app.run_test(size=(100, 60)) as pilot:
        assert "d Descend" in widget_text(app, "#keys")
        await pilot.press("n", "d")
        await pilot.pause()
        assert "descended from position 1" in flat(app, "#message")
        await pilot.press("question_mark")
        shown = " ".join(screen_text(app).split())
        assert "Gradient descent (graphs with params:)" in shown and "one step of gradient descent on params:" in shown


async def test_the_graphs_cursor_starts_on_the_first_input():
    app = tensor_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.session.selected == "X"
        await pilot.press("tab", "enter")
        assert app.session.browsing == "X"


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (160, 50)])
async def test_the_screen_at_each_size_shows_the_step_the_tree_and_the_panel(size):
    app = tensor_app(TWO_LAYER)
    async with app.run_test(size=size) as pilot:
        st = go_to_edge(app, "W2")
        await pilot.pause()
        shown = screen_text(app)
        assert "∂J/∂W2 += ∂J/∂Z2 · A1ᵀ" in shown and "(1×5)·(5×4) → (1×4)" in shown
        assert f"‹{tx.num(float(st.contribution[0, 0]))}›" in shown
        assert "W2 (1×4)" in shown and "nudge W2[0,0] by h" in shown and "relative error" in shown
        assert "n Next" in shown and "q Quit" in shown


async def test_too_small_says_so_and_ignores_keys():
    app = tensor_app()
    async with app.run_test(size=(59, 24)) as pilot:
        assert "too small" in screen_text(app)
        await pilot.press("n", "f")
        assert app.session.position == 0
    app = tensor_app()
    async with app.run_test(size=(80, 14)) as pilot:
        assert "too small" in screen_text(app)


@pytest.mark.parametrize("path", COURSE, ids=lambda p: p.stem)
async def test_random_keys_never_crash(path):
    keys = ["n", "p", "f", "r", "z", "c", "v", "tab", "enter", "escape", "up", "down", "left", "right",
            "full_stop", "left_square_bracket", "right_square_bracket", "j", "space", "question_mark"]
    rng = random.Random(15)
    app = tensor_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(250 if SOAK else 60):  # the suite's run is a smoke test; .ci/run soaks (CGTUI_SOAK)
            await pilot.press(rng.choice(keys))
            s = app.session
            m = s.matrix
            if m is not None and m.ndim == 2:
                assert 0 <= s.cursor[0] < m.shape[0] and 0 <= s.cursor[1] < m.shape[1]
        await pilot.pause()
        assert 0 <= app.session.position <= app.session.total


async def test_a_big_graph_nudges_and_checks_in_a_worker(monkeypatch):
    from engine import load_bytes
    from engine.examples import generate

    monkeypatch.setattr(ta, "INLINE_ELEMENTS", 0)  # every nudge in the worker, as on a big graph
    text = generate("mlp-batch", layers=[30, 12, 3]).encode()
    app = TensorApp(TensorSession(load_bytes(text, "(mlp-batch)")))
    async with app.run_test(size=(140, 45)) as pilot:
        s = app.session
        name = next(st.parent for st in s.walk.backward_steps if s.graph.is_input(st.parent))
        go_to_edge(app, name)
        assert "nudging" in panel(app, "#fd-text")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = panel(app, "#fd-text")
        assert "relative error" in text and "central" in text
        await pilot.press("c")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "‖g_approx − g‖₂" in panel(app, "#fd-text")


async def test_small_and_large_matrices_in_small_terminals():
    from engine import load_bytes
    from engine.examples import generate

    text = generate("mlp-batch", layers=[30, 12, 3]).encode()

    def big() -> TensorApp:
        return TensorApp(TensorSession(load_bytes(text, "(mlp-batch)")))

    for make, size in ((tensor_app, (20, 5)), (big, (1, 1))):
        app = make()
        async with app.run_test(size=size) as pilot:
            await pilot.press("n", "down", "z", "f", "n", "c")
    app = big()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("n")
        app.session.move(20, 15)
        await pilot.press("down", "right")
        shown = screen_text(app)
        assert "⋮" in shown and "…" in shown and "‹" in shown
        assert app.session.cursor == (11, 16)
