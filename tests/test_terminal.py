"""The real ``cgtui`` command in a real terminal (tmux): keys in, screen text out."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from paths import ROOT

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (CI installs it)")


def _command(graph: str) -> str:
    script = Path(sys.executable).with_name("cgtui")
    exe = str(script) if script.exists() else f"{sys.executable} -m tui"
    return f"cd {ROOT} && {exe} {graph}; echo EXITED $?; sleep 5"


class Tmux:
    def __init__(self, width: int, height: int, graph: str = "graphs/lecture.yaml") -> None:
        self.socket = f"cgtui-test-{uuid.uuid4().hex[:8]}"
        self.run("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), _command(graph))

    def run(self, *args: str) -> str:
        env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "NO_COLOR")}
        env["TERM"] = "xterm-256color"
        out = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, env=env, timeout=20)
        return out.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "t")

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        raise AssertionError(f"{text!r} never appeared; the screen was:\n{screen}")

    def keys(self, *keys: str) -> None:
        for key in keys:
            self.run("send-keys", "-t", "t", key)
            time.sleep(0.15)

    def close(self) -> None:
        self.run("kill-server")


@pytest.fixture
def term():
    t = Tmux(100, 30)
    yield t
    t.close()


def test_the_lecture_in_a_real_terminal(term):
    term.wait_for("Press n or → to evaluate")
    term.keys("n")
    term.wait_for("u = b · c = 3 × 2 = 6")
    term.keys("n", "n")
    screen = term.wait_for("J = 3 · v = 3 × 11 = 33")
    assert "Forward pass done: J = 33" in screen
    term.keys("Right", "Right", "Right", "Right")
    term.wait_for("∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6")
    term.keys("Down", "Down")  # from a, the first input, to u and b
    screen = term.wait_for("J: 33 → 33.006")
    assert "b: 3 → 3.001, u: 6 → 6.002, v: 11 → 11.002" in screen
    term.keys("Left")
    term.wait_for("backward 3/5")
    term.keys("q")
    term.wait_for("EXITED 0")


def test_an_outside_edit_while_stepping_in_a_real_terminal(tmp_path):
    graph = tmp_path / "lecture.yaml"
    original = (ROOT / "graphs" / "lecture.yaml").read_text()
    graph.write_text(original)
    term = Tmux(100, 30, str(graph))
    try:
        term.wait_for("Press n or → to evaluate")
        term.keys("n", "n", "n")
        term.wait_for("J = 3 · v = 3 × 11 = 33")
        # a teacher edits and saves the file in an editor beside cgtui
        graph.write_text(original.replace("J: 3 * v", "J: 4 * v"))
        screen = term.wait_for("Reloaded")
        term.wait_for("J = 44")
        assert "forward 3/3" in term.screen()
        graph.write_text(original.replace("J: 3 * v", "J: 4 * (v"))
        screen = term.wait_for("syntax error")
        assert "J = 44" in screen  # the last good graph stays
        graph.write_text(original)
        term.wait_for("J = 33")
        term.keys("q")
        term.wait_for("EXITED 0")
    finally:
        term.close()


def test_predict_sweep_and_descent_in_a_real_terminal():
    term = Tmux(100, 30, "graphs/logistic.yaml")
    try:
        term.wait_for("Press n or → to evaluate")
        term.keys("g", "n")
        term.wait_for("your guess:")
        term.keys("0", ".", "1", "Enter")  # z = w1 · x1 + w2 · x2 + b = 0.5 - 0.5 + 0.1
        term.wait_for("Right: z = w1 · x1 + w2 · x2 + b")
        term.keys("g", "f", "f")
        term.wait_for("Backward pass done")
        term.keys("Up", "s")  # from x1, the first input, up to w1: the h sweep for w1
        screen = term.wait_for("Best h: central")
        assert "1e-13" in screen and "h sweep" in screen
        term.keys("s", "d")  # s again closes the sweep (Esc would wait for tmux's escape-time)
        screen = term.wait_for("Descent step 1 with α = 0.5")
        assert "L 0.6443966601 → 0.1968878428" in " ".join(screen.split())
        term.wait_for("L by descent step (α now 0.5)")
        term.keys("q", "q")  # the weights are unsaved edits now: q twice
        term.wait_for("EXITED 0")
    finally:
        term.close()


def test_a_burst_of_keys_in_a_real_terminal(term):
    """Keys sent in one go (a paste, tmux send-keys): eight n's fill the transcript to its last
    line (three lines stayed blank), and 'e 8 Enter' edits a (the 8 was lost: a: 5 → 5)."""
    term.wait_for("Press n or")
    term.run("send-keys", "-t", "t", *"nnn")
    time.sleep(0.3)
    term.run("send-keys", "-t", "t", *"nnnnn")
    screen = term.wait_for("backward 5/5")
    time.sleep(0.5)
    screen = term.screen()
    assert "8  ∂J/∂c = ∂J/∂u · ∂u/∂c = 3 × 3 = 9" in screen, screen
    term.run("send-keys", "-t", "t", "r")  # the cursor is on a
    time.sleep(0.5)
    term.run("send-keys", "-t", "t", "e", "8", "Enter")
    screen = term.wait_for("a: 5 → 8")
    # a step key right behind enter: it was typed into the field before enter's answer came
    # back ("'9n' is not a number")
    term.run("send-keys", "-t", "t", "e", "9", "Enter", "n")
    screen = term.wait_for("forward 1/3")
    assert "a = 9" in screen and "not a number" not in screen, screen


def _picture_lines(screen: str) -> list[str]:
    """The picture's panel on the screen: the lines inside the Graph panel's border."""
    lines = screen.split("\n")
    top = next(y for y, line in enumerate(lines) if "Graph: picture" in line)
    right = lines[top].index("╮")
    body = []
    for line in lines[top + 1:]:
        if not line.startswith("│") or line[1:2] == "─":  # the border, or the detail line under the picture
            break
        body.append(line[1:right])
    return body


def _at(lines: list[str], text: str) -> tuple[int, int]:
    hits = [(line.index(text), y) for y, line in enumerate(lines) if text in line]
    assert len(hits) == 1, (text, hits, "\n".join(lines))
    return hits[0]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_the_picture_in_a_real_terminal(size):
    """v draws the lecture's picture: inputs left of the nodes that use them, every edge left to
    right into a box, the values above the boxes only once their step is taken."""
    term = Tmux(*size)
    try:
        term.wait_for("Press n or → to evaluate")
        term.keys("v")
        lines = _picture_lines(term.wait_for("J = 3·v"))
        pos = {name: _at(lines, text) for name, text in
               (("a", "a = 5"), ("b", "b = 3"), ("c", "c = 2"), ("u", "u = b·c"), ("v", "v = a + u"), ("J", "J = 3·v"))}
        for operand, node in (("b", "u"), ("c", "u"), ("a", "v"), ("u", "v"), ("v", "J")):
            assert pos[operand][0] < pos[node][0], (operand, node, "\n".join(lines))
        arrows = [(x, y) for y, line in enumerate(lines) for x, ch in enumerate(line) if ch == "▶"]
        assert len(arrows) == 3 and all(lines[y][x + 1] == "│" for x, y in arrows)
        assert not any("◀" in line for line in lines)

        def value_over(name: str) -> str:
            x, y = pos[name]
            return lines[y - 2][x:].split(" ")[0]

        assert [value_over(n) for n in "uvJ"] == ["?", "?", "?"]
        term.keys("n")
        lines = _picture_lines(term.wait_for("u = b · c = 3 × 2 = 6"))
        assert [value_over(n) for n in "uvJ"] == ["6", "?", "?"]
        assert lines[pos["u"][1]][pos["u"][0] - 1] == "║"  # the step's node: a double box
        term.keys("n", "n")
        lines = _picture_lines(term.wait_for("J = 3 · v = 3 × 11 = 33"))
        assert [value_over(n) for n in "uvJ"] == ["6", "11", "33"]
        term.keys("Down", "Down", "Down")  # the cursor from a to u: the finite-difference panel nudges u
        term.wait_for("Finite differences: u")
        term.keys("v")
        term.wait_for("u = b · c = 6")  # the tree again
    finally:
        term.close()
