"""Acting on tensor graphs in their app (#15): e edits one element, w saves it in place (every other byte
kept), the file is followed (reloads, breakage, conflicts), d takes a descent step, g guesses shapes and
elements. Each through Pilot, with the bad inputs the scalar app refuses."""

from __future__ import annotations

import json
import os
import re
import shutil

import numpy as np
import pytest
from textual.widgets import Input

from engine import load_path
from engine.tensor_graph import compute_tensor
from engine.tensor_session import TensorSession
from paths import GRAPHS
from tui.keys import shown
from tui.tensor_actions import ElementScreen, TensorActions
from tui.tensor_app import TensorApp
from tui.widgets.dialogs import ConflictScreen
from tui.widgets.editor import InputEditor
from tui_helpers import LECTURE, ROOT, message_of, reload_now, submit_text, widget_text

LOGISTIC = GRAPHS / "tensor" / "logistic_m.yaml"
TWO_LAYER = GRAPHS / "tensor" / "two_layer.yaml"
SIZE = (130, 45)

ODD = """# a teacher's file: comments, odd spacing, quoting and a CRLF-free layout to keep
title: "odd  layout"
inputs:
  X:  [[1.0, 2.0, -1.0],   [0.5, -1.5,  2.0]]    # two features, three examples
  Y: [[1, 0, 1]]
  w: {value: [ [ 0.5 ] , [ -0.25 ] ], note: 'the weights'}   # keep me
  b: 0.1
nodes:
  Z: w.T @ X + b
  A: sigmoid(Z)
  J: mean(-(Y * log(A) + (1 - Y) * log(1 - A)))
params: [w, b]
alpha: 0.5
"""


def app_for(path, watch_file: bool = False) -> TensorApp:
    app = TensorApp(TensorSession(load_path(path)))
    app.watch_file = watch_file
    return app


@pytest.fixture
def logistic_copy(tmp_path):
    path = tmp_path / "lm.yaml"
    shutil.copy(LOGISTIC, path)
    return path


@pytest.fixture
def odd_file(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_bytes(ODD.encode())
    return path


def to_backward_step_into(app: TensorApp, parent: str) -> None:
    s = app.session
    k = next(k for k, st in enumerate(s.walk.backward_steps) if st.parent == parent)
    s.go(len(s.walk.forward_steps) + k + 1)
    app.redraw()


def field_value(app) -> str:
    assert isinstance(app.focused, Input), app.focused
    return app.focused.value


def output(session) -> float:
    return float(np.asarray(session.walk.values[session.graph.output]).reshape(()))


# --------------------------------------------------------------------------- e: one element


async def test_e_edits_the_element_under_the_cursor_and_keeps_the_position():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        await pilot.press("down", "e")
        position = app.session.position
        assert app.query_one(InputEditor).display
        assert field_value(app) == "-0.25"  # w[1,0], every digit
        await submit_text(app, pilot, "0.75")
        s = app.session
        assert s.inputs["w"].tolist() == [[0.5], [0.75]]
        assert s.position == position and s.cursor == (1, 0)
        fresh = compute_tensor(s.graph, {"w": np.array([[0.5], [0.75]])})
        assert output(s) == float(fresh.values["J"].reshape(()))
        assert np.array_equal(s.walk.grads["w"], fresh.grads["w"])
        assert message_of(app).startswith("w[1,0]: -0.25 → 0.75. Everything recomputed; J 1.187825074 → ")
        assert not app.query_one(InputEditor).display
        assert "[unsaved: w]" in str(app.query_one("#fd").border_subtitle)


@pytest.mark.parametrize("text, says", [
    ("abc", "'abc' is not a number"), ("nan", "'nan' is not a number"), ("inf", "'inf' is not a number"),
    ("1e999", "'1e999' is too large"), ("", "nothing was typed"), ("0.5.1", "'0.5.1' is not a number"),
])
async def test_bad_text_is_refused_and_nothing_changes(text, says):
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        walk = app.session.walk
        await pilot.press("e")
        await submit_text(app, pilot, text)
        assert message_of(app).startswith(says) and message_of(app).endswith("; w[0,0] stays 0.5.")
        assert app.session.walk is walk and app.session.inputs["w"].tolist() == [[0.5], [-0.25]]
        assert app.query_one(InputEditor).display  # the field stays open for another try
        await pilot.press("escape")
        assert message_of(app) == "Edit cancelled; w[0,0] stays 0.5."
        assert not app.query_one(InputEditor).display


async def test_e_on_an_input_opened_from_the_tree_edits_its_element_under_the_cursor():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "n")
        app.session.browse("X")
        app.redraw()
        await pilot.press("down", "right", "right", "e")
        assert field_value(app) == "2"  # X[1,2]
        await submit_text(app, pilot, "-3")
        assert app.session.inputs["X"][1, 2] == -3 and app.session.position == 2
        assert message_of(app).startswith("X[1,2]: 2 → -3. Everything recomputed; J ")


async def test_an_unchanged_commit_stays():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "b")
        walk = app.session.walk
        await pilot.press("e", "enter")
        assert message_of(app) == "b[0,0] stays 0.1: nothing changed."
        assert app.session.walk is walk and not app.session.unsaved


async def test_off_an_input_e_asks_which_element():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n", "e")  # a forward step: its matrix is a node's
        assert isinstance(app.screen, ElementScreen)
        assert field_value(app) == "w[0,0]"  # a parameter first
        for text, says in [("Z[0,0]", "'Z' is a node: only inputs can be edited (X, Y, w, b)"),
                           ("w[2,0]", "[2,0] is outside w (2×1): rows 0 to 1, columns 0 to 0"),
                           ("w", "w is 2×1: say which element, such as w[0,0]"),
                           ("w[1,", "'w[1,' is not an element")]:
            await submit_text(app, pilot, text)
            assert message_of(app).startswith(says) and message_of(app).endswith("nothing changed.")
            assert not isinstance(app.screen, ElementScreen)
            await pilot.press("e")
        await submit_text(app, pilot, " X[1,2] ")
        assert field_value(app) == "2"  # X[1,2] = 2.0, written as the file reads back
        await submit_text(app, pilot, "-3")
        assert app.session.inputs["X"][1, 2] == -3
        assert app.session.position == 1


async def test_a_generated_input_is_refused_with_how_to_edit_it():
    app = app_for(TWO_LAYER)
    async with app.run_test(size=SIZE) as pilot:
        before = {n: v.copy() for n, v in app.session.inputs.items()}
        await pilot.press("e")
        await submit_text(app, pilot, "W1[0,1]")
        says = message_of(app)
        assert says.startswith("W1 is generated in the file (randn 4×2, seed 1, scale 0.01)")
        assert "Replace the generator with rows (W1: [[…], …], 4×2) to edit one" in says
        assert not app.query_one(InputEditor).display
        to_backward_step_into(app, "W1")  # under the cursor too
        await pilot.press("e")
        assert message_of(app).startswith("W1 is generated in the file")
        assert all(np.array_equal(before[n], v) for n, v in app.session.inputs.items())


# --------------------------------------------------------------------------- w: in place, every other byte kept


async def test_w_writes_only_the_edited_number_byte_for_byte(odd_file):
    app = app_for(odd_file)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        await pilot.press("down", "e")
        await submit_text(app, pilot, "1e-3")
        to_backward_step_into(app, "b")
        await pilot.press("e")
        await submit_text(app, pilot, "-0")  # -0.0 is written so that it reads back as -0
        await pilot.press("w")
        await app.sync._work.wait()
        await pilot.pause()
        expected = ODD.replace("[ -0.25 ]", "[ 0.001 ]").replace("b: 0.1", "b: -0.0")
        assert odd_file.read_bytes() == expected.encode()
        assert message_of(app) == f"Saved w[1,0] = 0.001, b = 0 to {odd_file}; every other byte as it was."
        assert not app.session.unsaved
        again = load_path(odd_file).graph
        assert np.signbit(again.input_by_name["b"].value) and again.input_by_name["w"].value[1, 0] == 1e-3


async def test_descended_values_save_and_read_back_bit_for_bit(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "d", "w")
        await app.sync._work.wait()
        await pilot.pause()
        text = logistic_copy.read_text()
        original = LOGISTIC.read_text()
        assert text.splitlines()[:16] == original.splitlines()[:16]  # the comments and X, Y: as they were
        assert text.splitlines()[18:] == original.splitlines()[18:]
        again = load_path(logistic_copy).graph
        for p in ("w", "b"):
            assert again.input_by_name[p].value.tobytes() == app.session.inputs[p].tobytes()


async def test_a_generated_parameter_after_descent_is_not_saved_and_the_file_stays(tmp_path):
    path = tmp_path / "net.yaml"
    shutil.copy(TWO_LAYER, path)
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d", "w")
        await app.sync._work.wait()
        await pilot.pause()
        says = message_of(app)
        assert says.startswith("cgtui: W1 (randn 4×2, seed 1, scale 0.01), b1 (zeros 4×1), W2 (randn 1×4, seed 2,")
        assert "replace the generator with rows to save them. Your edits are kept; nothing was written." in says
        assert path.read_bytes() == TWO_LAYER.read_bytes()
        assert app.session.unsaved
        await pilot.press("q")
        assert app.is_running and "q again quits without saving them" in message_of(app)
        await pilot.press("q")
    assert not app.is_running


async def test_a_conflict_asks_and_escape_writes_nothing(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "b")
        await pilot.press("e")
        await submit_text(app, pilot, "0.3")
        theirs = LOGISTIC.read_text() + "# the teacher's note\n"
        logistic_copy.write_text(theirs)
        await pilot.press("w")
        assert isinstance(app.screen, ConflictScreen)
        await pilot.press("escape")
        assert logistic_copy.read_text() == theirs
        assert "Not saved" in message_of(app) and app.session.inputs["b"][0, 0] == 0.3
        await pilot.press("w", "l")  # reload theirs, keeping the edit
        await pilot.pause()
        assert app.session.inputs["b"][0, 0] == 0.3 and app.session.unsaved
        await pilot.press("w")
        await app.sync._work.wait()
        await pilot.pause()
        assert logistic_copy.read_text() == theirs.replace("b: {value: [[0.1]]", "b: {value: [[0.3]]")


# --------------------------------------------------------------------------- the file changing on disk


async def test_a_change_on_disk_reloads_and_keeps_the_step(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        position = app.session.position
        logistic_copy.write_text(LOGISTIC.read_text().replace("[[0.1]]", "[[0.2]]"))
        await reload_now(app, pilot)
        assert message_of(app) == f"Reloaded {logistic_copy}: values changed in the file: b."
        assert app.session.position == position and app.session.step.parent == "w"
        assert app.session.inputs["b"][0, 0] == 0.2
        # one more forward step before it: the same edge is found one step further on
        logistic_copy.write_text(LOGISTIC.read_text().replace("output: J", "  U: 2 * A\noutput: J"))
        await reload_now(app, pilot)
        assert app.session.step.parent == "w" and app.session.position == position + 1
        assert "nodes added: U" in message_of(app)
        # the edge gone (w now reaches J through Z0): the position is kept
        logistic_copy.write_text(LOGISTIC.read_text().replace("  Z: w.T @ X + b\n", "  Z0: w.T @ X\n  Z: Z0 + b\n"))
        await reload_now(app, pilot)
        assert app.session.position == position + 1


async def test_the_poll_reloads_by_itself(logistic_copy):
    app = app_for(logistic_copy, watch_file=True)
    app.POLL_SECONDS = 0.05
    async with app.run_test(size=SIZE) as pilot:
        logistic_copy.write_text(LOGISTIC.read_text().replace("alpha: 0.5", "alpha: 0.25"))
        for _ in range(100):
            await pilot.pause(0.05)
            if "Reloaded" in message_of(app):
                break
        await pilot.pause()  # the rebuilt tree's messages, before the app closes
        assert message_of(app) == f"Reloaded {logistic_copy}: alpha: 0.25."
        assert app.session.alpha == 0.25


@pytest.mark.parametrize("how, says", [
    ("broken", "not valid YAML"),
    ("shape", "node 'Z': w.T @ X: (1×3) @ (2×5)"),
    ("fifo", "is a FIFO, not a graph file"),
    ("scalar", "is now a graph of numbers only, which opens in the scalar app: quit and open it again"),
])
async def test_a_broken_file_keeps_the_last_good_graph(logistic_copy, how, says):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        await pilot.press("e")
        await submit_text(app, pilot, "2")
        walk, position = app.session.walk, app.session.position
        if how == "broken":
            logistic_copy.write_text(LOGISTIC.read_text() + "nodes: [\n")
        elif how == "shape":
            logistic_copy.write_text(LOGISTIC.read_text().replace("[[0.5], [-0.25]]", "[[0.5], [-0.25], [1]]"))
        elif how == "fifo":
            logistic_copy.unlink()
            os.mkfifo(logistic_copy)
        else:
            logistic_copy.write_text(LECTURE.read_text())
        await reload_now(app, pilot)
        message = message_of(app)
        assert message.startswith(f"cgtui: {logistic_copy}") and "(showing the last good version)" in message
        assert says in message
        assert "\n" not in app.message
        assert app.session.walk is walk and app.session.position == position
        assert app.session.inputs["w"][0, 0] == 2


async def test_a_file_removed_while_open_is_written_again_by_w(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "b")
        await pilot.press("e")
        await submit_text(app, pilot, "0.5")
        logistic_copy.unlink()
        await reload_now(app, pilot)
        assert message_of(app) == f"{logistic_copy} is gone from disk; w writes it again."
        assert app.session.inputs["b"][0, 0] == 0.5
        await pilot.press("w")
        assert isinstance(app.screen, ConflictScreen)  # what was read is gone: saving asks first
        await pilot.press("o")
        await app.sync._work.wait()
        await pilot.pause()
        assert logistic_copy.read_text() == LOGISTIC.read_text().replace("[[0.1]]", "[[0.5]]")


async def test_an_element_whose_input_went_closes_its_editor(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        to_backward_step_into(app, "w")
        await pilot.press("down", "e")
        logistic_copy.write_text(LOGISTIC.read_text().replace("[[0.5], [-0.25]]", "[[0.5]]").replace(
            "  X: {value: [[1.0, 2.0, -1.0, 0.5, 3.0], [0.5, -1.5, 2.0, 1.0, -0.5]]",
            "  X: {value: [[1.0, 2.0, -1.0, 0.5, 3.0]]"))
        await reload_now(app, pilot)
        assert "w[1,0] is no longer an element written in the file, so its edit is closed" in message_of(app)
        assert not app.query_one(InputEditor).display
        app.query_one(InputEditor).post_message(InputEditor.ValueEdited("w[1,0]", 3.0))  # posted before the reload
        await pilot.pause()
        assert "w[1,0] is no longer an element" in message_of(app)
        assert app.session.inputs["w"].tolist() == [[0.5]]


# --------------------------------------------------------------------------- d: gradient descent


async def test_d_takes_the_courses_step_and_says_j_before_and_after():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        graph = s.graph
        X, Y = graph.input_by_name["X"].value, graph.input_by_name["Y"].value
        w, b = graph.input_by_name["w"].value, graph.input_by_name["b"].value
        m = X.shape[1]
        A = 1 / (1 + np.exp(-(w.T @ X + b)))
        alpha = 0.25
        await pilot.press("minus")  # α 0.5 → 0.25
        assert s.alpha == alpha and message_of(app) == "α = 0.25 (the learning rate of d)"
        before = output(s)
        await pilot.press("n", "n", "d")
        after = output(s)
        # the course's closed forms: dw = (1/m) X (A − Y)ᵀ, db = (1/m) Σ (A − Y)
        assert np.allclose(s.inputs["w"], w - alpha * (X @ (A - Y).T) / m, rtol=1e-12, atol=0)
        assert np.allclose(s.inputs["b"], b - alpha * np.sum(A - Y) / m, rtol=1e-12, atol=0)
        assert after < before and s.position == 2
        assert message_of(app).startswith("Descent step 1 with α = 0.25: w −= α·∂J/∂w, b −= α·∂J/∂b")
        assert message_of(app).endswith(f"J {before:.10g} → {after:.10g}.")
        await pilot.press("d")
        assert f"J {before:.10g} → {output(s):.10g} in 2 steps" in str(app.query_one("#fd").border_subtitle)
        assert output(s) == float(compute_tensor(s.graph, s.inputs).values["J"].reshape(()))


async def test_d_without_params_is_refused_and_nothing_changes(tmp_path):
    path = tmp_path / "np.yaml"
    path.write_text(ODD.replace("params: [w, b]\n", "").replace("alpha: 0.5\n", ""))
    app = app_for(path)
    async with app.run_test(size=SIZE) as pilot:
        walk = app.session.walk
        await pilot.press("d")
        assert message_of(app) == ("d: the graph marks no parameters: list inputs to train under params: in the file.")
        await pilot.press("plus")
        assert "this graph marks no params" in message_of(app)
        assert app.session.walk is walk and "descend" not in str(app.query_one("#fd").border_subtitle)


async def test_a_step_that_overshoots_changes_nothing():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(12):
            await pilot.press("plus")
        assert message_of(app) == "α = 1000 is the largest cgtui offers."
        s = app.session
        for _ in range(30):  # huge steps saturate the sigmoid: log(0) makes J infinite at some point
            walk = s.walk
            await pilot.press("d")
            if message_of(app).startswith("d: "):
                break
        assert re.match(r"d: this step would make J (nan|inf) \(α = 512 overshoots\); nothing changed: lower α with -\.",
                        message_of(app))
        assert s.walk is walk


# --------------------------------------------------------------------------- g: predict mode


async def test_g_hides_each_result_until_its_shape_or_an_element_is_guessed():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        await pilot.press("g", "n")
        assert s.pending == 1 and app._guessing()
        z = f"{float(s.walk.values['Z'][0, 0]):.10g}"
        step = widget_text(app, "#step")
        assert "Z = ?" in step and z not in step and "(1×5)" not in step
        assert "Z (?)" in widget_text(app, "#tree")
        assert "Z = wᵀ · X + b with w (2×1), X (2×5), b (1×1)" in widget_text(app, "#editor")
        for bad in ["2x", "nan", "inf", "", "1x2x3"]:
            await submit_text(app, pilot, bad)
            assert "is neither a shape (rows×columns, such as 2x3, or scalar) nor a finite number" in message_of(app)
            assert s.pending == 1
        await submit_text(app, pilot, "(5×1)")
        assert message_of(app).startswith("Not quite: you said 5×1; Z is 1×5. Z = wᵀ · X + b (1×2)·(2×5)")
        assert s.pending is None and f"‹{z}›" in widget_text(app, "#step")
        await pilot.press("n")
        await submit_text(app, pilot, "1 x 5")
        assert message_of(app).startswith("Right: A is 1×5.")
        await pilot.press("n", "right")  # L: the cursor cannot move while the guess is open
        await submit_text(app, pilot, "0.3")
        value = float(s.walk.values["L"][0, 0])
        assert message_of(app).startswith(f"Not quite: you said 0.3; L[0,0] = {value:.10g}.")
        await pilot.press("n")
        await submit_text(app, pilot, f"{float(s.walk.values['J'][0, 0]):.4f}")
        assert message_of(app).startswith("Right (you said ")
        await pilot.press("n")  # backward 1: the shape of this step's contribution
        await pilot.press("escape")
        assert message_of(app).startswith("Not scored: this step is 1×5")
        assert "forward 2 of 4 right, backward 0 of 0 right, 1 skipped" in str(app.query_one("#fd").border_subtitle)
        await pilot.press("g")
        assert not s.predicting and message_of(app) == "Predict mode off: every step shows its result."


async def test_a_backward_steps_shape_is_its_parents():
    app = app_for(LOGISTIC)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f", "g")
        s = app.session
        while s.step is None or getattr(s.step, "parent", None) != "w":
            await pilot.press("n")
            if s.pending is not None and getattr(s.step, "parent", None) != "w":
                await pilot.press("escape")
        assert "∂J/∂w += X · (∂J/∂Z)ᵀ: this step's shape" in widget_text(app, "#editor")
        await submit_text(app, pilot, "[2 1]")
        assert message_of(app).startswith("Right: this step is 2×1. ∂J/∂w += X · (∂J/∂Z)ᵀ (2×5)·(5×1) → (2×1) = shape of w ✓.")


async def test_while_a_guess_is_open_the_answer_stays_hidden_and_a_reload_closes_it(logistic_copy):
    app = app_for(logistic_copy)
    async with app.run_test(size=SIZE) as pilot:
        s = app.session
        await pilot.press("z", "g", "n")
        assert "Z = ?" in widget_text(app, "#step") and "zoom" not in widget_text(app, "#step")
        for action in ("next", "back", "finish_forward", "zoom", "check", "edit", "save", "descend", "move"):
            assert not app.check_action(action, ())
        logistic_copy.write_text(LOGISTIC.read_text().replace("[[0.1]]", "[[0.2]]"))
        await reload_now(app, pilot)
        assert s.pending is None and not app._guessing()
        assert "Reloaded" in message_of(app)


# --------------------------------------------------------------------------- the README says what is there


def readme_section() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("## Vectors and matrices")
    return text[start: text.index("\n## ", start + 1)]


def test_the_readme_lists_the_tensor_apps_action_keys():
    section = readme_section()
    table = section[section.index("| key | on a tensor graph |"):]
    table = table[: table.index("\n\n")]
    listed = {key for row in table.splitlines()[2:] for key in re.findall(r"`([^`]+)`", row.split("|")[1])}
    bound = {shown(k.strip()) for b in TensorActions.BINDINGS for k in b.key.split(",")}
    assert listed == bound - {"esc", "="}  # esc shows a guess (told in g's row); = is + unshifted


def test_the_readme_names_every_json_field_of_a_tensor_step():
    from engine.tensor_report import to_json

    data = json.loads(to_json(compute_tensor(load_path(LOGISTIC).graph), {}, "lm.yaml"))
    section = readme_section()
    json_part = section[section.index("- `--json`"):]
    json_part = json_part[: json_part.index("\n- ") if "\n- " in json_part else len(json_part)]
    named = set(re.findall(r"`([a-z_]+)`", json_part))
    assert set(data["forward_steps"][0]) - {"index", "node", "expr", "text", "value"} <= named
    assert set(data["backward_steps"][0]) - {"index", "text"} <= named
    for field in ("shape", "child", "parent", "formula", "shapes", "contribution", "reduced_axes", "grad_after",
                  "arrived", "of"):
        assert field in named


def test_several_elements_of_one_row_save_in_place_with_crlf_and_bom(tmp_path):
    from engine.graphfile import save_inputs

    path = tmp_path / "crlf.yaml"
    text = ODD.replace("\n", "\r\n")
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    session = TensorSession(load_path(path))
    session.set_element("X", (0, 0), 10)
    session.set_element("X", (0, 2), -1e-300)
    session.set_element("X", (1, 1), 0.1 + 0.2)
    new = save_inputs(session.loaded, session.inputs)
    expected = text.replace("[[1.0, 2.0, -1.0],   [0.5, -1.5,  2.0]]", "[[10, 2.0, -1e-300],   [0.5, 0.30000000000000004,  2.0]]")
    assert path.read_bytes() == b"\xef\xbb\xbf" + expected.encode()
    assert new.graph.input_by_name["X"].value.tobytes() == session.inputs["X"].tobytes()
