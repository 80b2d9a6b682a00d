"""The app shows every warning of the walk that ``--trace`` prints.

Beside the node where it starts (a ⚠ on its tree line, once the step reveals it)
and on the message line when it first appears: on a step, after an edit, after a
reload. Before its step, the message line only says how many there are.
"""

from __future__ import annotations

from engine import load_path
from engine.session import DebugSession
from tui.app import CgtuiApp
from tui_helpers import app_from_text, tree_line, widget_text

# cgtui -e 'L = log(x) * y' --set x=0 --set y=2 --save …: the reproducer
LOG_OF_ZERO = """
inputs:
  x: 0
  y: 2
nodes:
  u: log(x)
  L: u * y
output: L
"""
WARNING = "node 'u' is -inf: log of 0 in 'log(x)'"


def message(app) -> str:
    return " ".join(widget_text(app, "#message").split())


async def test_a_warning_shows_on_its_node_and_in_the_message_line_once_revealed():
    app = app_from_text(LOG_OF_ZERO)
    assert app.session.walk.warnings == (WARNING,)  # what --trace prints
    async with app.run_test(size=(120, 40)) as pilot:
        # before u is evaluated: how many, not what (that would give the step away)
        assert "1 warning" in message(app) and "log of 0" not in message(app)
        assert "⚠" not in tree_line(app, "u")
        await pilot.press("n")
        line = tree_line(app, "u")
        assert "u = log(x) = -inf" in line and "⚠ log of 0 in 'log(x)'" in line, line
        assert WARNING in message(app) and message(app).startswith("⚠")
        await pilot.press("n")
        assert "⚠ log of 0 in 'log(x)'" in tree_line(app, "u")  # it stays beside the node
        assert WARNING not in message(app)  # said once, when it appeared
        assert "⚠" not in tree_line(app, "x") and "⚠" not in tree_line(app, "L")
        await pilot.press("p", "p")
        assert "⚠" not in tree_line(app, "u")  # hidden again with the value
        await pilot.press("n")
        assert WARNING in message(app)


async def test_an_edit_that_brings_a_warning_says_so():
    app = app_from_text(LOG_OF_ZERO.replace("x: 0", "x: 1"))
    async with app.run_test(size=(120, 40)) as pilot:
        assert "warning" not in message(app)
        await pilot.press("n")
        assert "⚠" not in tree_line(app, "u")
        app.query_one("#tree").select_name("x")
        await pilot.press("e", "ctrl+u", "0", "enter")  # ctrl+u clears the field
        await pilot.pause()
        assert app.session.inputs["x"] == 0
        assert WARNING in message(app) and "x: 1 → 0" in message(app)
        assert "⚠ log of 0" in tree_line(app, "u")


async def test_a_reload_that_brings_a_warning_says_so(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(LOG_OF_ZERO.replace("x: 0", "x: 1"))
    app = CgtuiApp(DebugSession(load_path(path)), watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        path.write_text(LOG_OF_ZERO)
        await app.check_disk(force=True).wait()  # the reload runs in a thread
        await pilot.pause()
        assert "Reloaded" in message(app) and WARNING in message(app)
        assert "⚠ log of 0" in tree_line(app, "u")


async def test_a_local_derivative_warning_shows_on_the_gradient_it_spoils():
    # u = sqrt(x) is 0 at x = 0, but its local derivative 1/(2 sqrt(x)) is inf
    app = app_from_text("inputs: {x: 0, y: 2}\nnodes:\n  u: sqrt(x)\n  J: u * y\n")
    (warning,) = app.session.walk.warnings
    assert warning.startswith("local derivative ∂u/∂x")
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("f")  # the forward pass is finite
        assert "⚠" not in tree_line(app, "x") and warning not in message(app)
        await pilot.press("n", "n")
        assert "⚠" not in tree_line(app, "x")
        await pilot.press("n")  # ∂J/∂x = ∂J/∂u · ∂u/∂x: the step that brings inf
        line = tree_line(app, "x")
        assert "⚠" in line and "∂u/∂x" in line, line
        assert warning in message(app)
        await pilot.press("o")  # the notation d: the warning beside x follows it
        line = tree_line(app, "x")
        assert "⚠" in line and "du/dx" in line and "∂" not in line, line
        assert app.session.warnings_at("x")[0].text.startswith("local derivative du/dx = ")


def test_every_warning_is_placed_at_the_step_that_reveals_it():
    """Each warning is read back to its node and step (not left to the fallback beside the output)."""
    from engine import load_bytes
    from engine.steps import BackwardStep, ForwardStep

    graphs = [
        LOG_OF_ZERO,
        "inputs: {x: 0, y: 2}\nnodes:\n  u: sqrt(x)\n  J: u * y\n",
        "inputs: {a: 800, b: 0}\nnodes:\n  big: exp(a)\n  q: 1 / b\n  r: big - big\n  J: q + r\n",
        "inputs: {a_b: -1, w_10: 0}\nnodes:\n  s: sqrt(a_b)\n  t: log(w_10) * a_b\n  J: s + t\n",
    ]
    for text in graphs:
        session = DebugSession(load_bytes(text.encode(), "g.yaml"))
        sites = session.warning_sites()
        assert len(sites) == len(session.walk.warnings) > 0
        for site in sites:
            session.position = site.position
            step = session.current
            if site.text.startswith("node "):
                assert isinstance(step, ForwardStep) and step.node == site.name, site
                assert site.short in site.text and site.short != site.text
            else:
                assert isinstance(step, BackwardStep) and step.parent == site.name, site
                assert site.text.startswith("local derivative ∂" + step.child + "/∂" + step.parent), site
            assert site in session.warnings_at(site.name)
            session.position = site.position - 1
            assert site not in session.warnings_at(site.name)
