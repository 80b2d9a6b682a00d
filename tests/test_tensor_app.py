"""The app and tensor graphs (#15): until the app shows them, a file that becomes one is refused in one line."""

from __future__ import annotations

from tui_helpers import LECTURE, make_app, reload_now, tree_line, widget_text


async def test_a_file_that_becomes_a_tensor_graph_keeps_the_last_good_graph(lecture_copy):
    app = make_app(lecture_copy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        lecture_copy.write_text(LECTURE.read_text().replace("  a: 5", "  a: [[5, 6]]").replace("J: 3 * v", "J: sum(3 * v)"))
        await reload_now(app, pilot)
        message = " ".join(widget_text(app, "#message").split())
        assert message.startswith("cgtui:") and "vectors and matrices runs headless" in message
        assert "J = 33" in tree_line(app, "J")
        assert app.session.graph.input_by_name["a"].value == 5
