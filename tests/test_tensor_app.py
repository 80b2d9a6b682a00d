"""The app and tensor graphs (#15): the tensor app steps, moves inside a matrix, zooms and checks; the
scalar app refuses a file that becomes a tensor graph, keeping the last good one."""

from __future__ import annotations

from engine import load_path
from engine.tensor_session import TensorSession
from paths import GRAPHS
from tui.tensor_app import TensorApp
from tui_helpers import LECTURE, make_app, reload_now, screen_text, tree_line, widget_text

LOGISTIC = GRAPHS / "tensor" / "logistic_m.yaml"


def tensor_app(path=LOGISTIC) -> TensorApp:
    return TensorApp(TensorSession(load_path(path)))


def flat(app, selector: str) -> str:
    return " ".join(widget_text(app, selector).split())


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


async def test_every_step_from_the_first_to_the_last():
    app = tensor_app()
    async with app.run_test(size=(140, 45)) as pilot:
        assert "Press n to start" in flat(app, "#step")
        assert "n next" in widget_text(app, "#keys")
        seen = []
        for _ in range(app.session.total):
            await pilot.press("n")
            seen.append(flat(app, "#step"))
        assert "forward 1/4 Z = wᵀ · X + b" in seen[0] and "(1×2)·(2×5) + (1×1 → 1×5) → (1×5)" in seen[0]
        w = next(text for text in seen if "∂J/∂w +=" in text)
        assert "∂J/∂w += X · (∂J/∂Z)ᵀ (1 of 1)" in w and "(2×5)·(5×1) → (2×1) = shape of w ✓" in w
        b = next(text for text in seen if "∂J/∂b +=" in text)
        assert "un-broadcast b: sum over axis 1 → (1×1)" in b
        await pilot.press("n")  # past the end: stays
        assert app.session.position == app.session.total
        await pilot.press("p")
        assert app.session.position == app.session.total - 1


async def test_the_cursor_moves_inside_the_matrix_and_zooms():
    app = tensor_app()
    async with app.run_test(size=(140, 45)) as pilot:
        session = app.session
        k = next(k for k, s in enumerate(session.walk.backward_steps) if s.parent == "w")
        session.go(len(session.walk.forward_steps) + k + 1)
        app.redraw()
        await pilot.press("down", "down", "right", "z")  # stops at the last row and the only column
        assert session.cursor == (1, 0)
        detail = flat(app, "#detail")
        assert "∂J/∂w[1,0] = Σₖ X[1,k] · ∂J/∂Z[0,k] = 0.5 × (-0.0766866991)" in detail
        assert "‹-0.7467493395›" in widget_text(app, "#step")
        await pilot.press("c")
        detail = flat(app, "#detail")
        assert "w[1,0] +h → Z (5 of 5 moved)" in detail and "great" in detail


async def test_check_says_where_it_works(tmp_path):
    app = tensor_app()
    async with app.run_test(size=(140, 45), notifications=True) as pilot:
        await pilot.press("n", "c")
        assert app.session.nudge is None
        await pilot.press("f", "z")
        assert "zoom J[0,0] =" in flat(app, "#detail")


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
