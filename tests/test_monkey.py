"""The churn monkey: random keys at random sizes while the file is rewritten, moved, broken and restored.

Every key the app binds, letters, digits, enter, esc, arrows, space and tab, pressed at
random on terminals from 20 × 5 to 200 × 60, while the graph file underneath is
rewritten (a value changed, an input renamed, a node added), moved away, made invalid
and restored; the disk check is called directly instead of waiting for the poll.

What must hold: the app never crashes (``run_test`` leaves without an exception); every
file the app saves loads and holds the values on screen; every edit is still in the
session, until it is saved or the file no longer has that input.

A fixed seed and a short run by default (a few seconds); ``CGTUI_SOAK=N`` (the same variable
as tests/test_stateful.py) runs N/10 seeds, rounded up, of 1,000 actions each (about a minute each).
"""

from __future__ import annotations

import math
import os
import random
import string
from pathlib import Path

from engine import load_path
from tui.app import CgtuiApp
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree
from tui_helpers import LECTURE, make_app

SOAK = int(os.environ.get("CGTUI_SOAK", "0"))
SEEDS = range(1, 2 + (SOAK - 1) // 10) if SOAK else range(1, 2)  # CGTUI_SOAK=40: seeds 1-4
ACTIONS = 1000 if SOAK else 60  # the suite's run is a smoke test; .ci/run soaks with CGTUI_SOAK=40

BOUND = [key for binding in CgtuiApp.BINDINGS for key in binding.key.split(",")]  # type: ignore[union-attr]
KEYS = sorted(set(BOUND) | set(string.ascii_lowercase) | set(string.digits) | {
    "enter", "escape", "up", "down", "left", "right", "space", "tab", "shift+tab", "backspace", "ctrl+u",
    "full_stop", "minus", "e",
})
KEY_OF = {".": "full_stop", "-": "minus"}
RARE = {"q", "ctrl+q"}
"""Quitting ends a run: pressed now and then, and the monkey opens the app again."""

LECTURE_TEXT = LECTURE.read_text()
VARIANTS = [
    LECTURE_TEXT,
    LECTURE_TEXT.replace("  a: 5\n", "  a: 8\n"),
    LECTURE_TEXT.replace("J: 3 * v", "J: 4 * v"),
    LECTURE_TEXT.replace("  a: 5\n", "  aa: 5\n").replace("v: a + u", "v: aa + u"),  # a renamed
    LECTURE_TEXT.replace("  c: 2\n", "  c: 2\n  d: 1\n").replace("J: 3 * v", "w: d * v\n  J: 3 * w"),
    LECTURE_TEXT.replace("  b: 3\n", "  b: -0.5\n") + "params: [a, b]\n",
]
BROKEN = [
    LECTURE_TEXT.replace("J: 3 * v", "J: 3 * (v"),
    LECTURE_TEXT.replace("v: a + u", "v: a + zz"),
    "inputs: [\n",
    "",
]


def same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class Monkey:
    def __init__(self, seed: int, folder: Path) -> None:
        self.rng = random.Random(seed)
        self.folder = folder
        self.expected: dict[str, float] = {}
        """Edits made in the app and not yet saved: each must still be in the session."""
        self.saves = 0
        self.runs = 0
        self.edits = 0

    def churn(self, app: CgtuiApp):
        """Change the file underneath the app, then let it look."""
        rng = self.rng
        path = app.session.loaded.path
        if path is None:
            return
        away = path.with_name(path.name + ".away")
        what = rng.random()
        if away.exists() and (what < 0.5 or path.exists()):
            os.replace(away, path)  # restored
        elif what < 0.55 and path.exists():
            os.replace(path, away)  # moved away
        elif what < 0.75:
            path.write_text(rng.choice(BROKEN))
        else:
            path.write_text(rng.choice(VARIANTS))
        return app.check_disk(force=rng.random() < 0.5)

    def check(self, app: CgtuiApp, before: dict[str, float], loaded_before, pressed: bool) -> None:
        session = app.session
        reloaded_or_saved = session.loaded is not loaded_before
        # a save in this action: its message, and the session adopted what it wrote (an old
        # "Saved …" still on the message line after the file was broken underneath is not one)
        if app.message.startswith("Saved ") and reloaded_or_saved:
            self.saves += 1
            path = session.loaded.path
            assert path is not None
            on_disk = {i.name: i.value for i in load_path(path).graph.inputs}  # every saved file loads
            assert on_disk.keys() == session.inputs.keys()
            assert all(same(on_disk[n], v) for n, v in session.inputs.items()), (on_disk, session.inputs)
            assert not session.unsaved
            self.expected.clear()
            return
        if pressed and not reloaded_or_saved:
            for name, value in session.inputs.items():
                if name in before and not same(before[name], value):
                    self.expected[name] = value  # an edit (e Enter, or a descent step)
                    self.edits += 1
        for name in list(self.expected):
            if name not in session.inputs:
                del self.expected[name]  # the file no longer has it (and the message said so)
                continue
            assert same(session.inputs[name], self.expected[name]), (name, self.expected[name], session.inputs)
        if not session.unsaved:  # nothing to save: then every edit holds the value the file has
            assert all(same(session.saved_inputs[n], v) for n, v in self.expected.items()), (self.expected, session.saved_inputs)

    async def run_app(self, path: Path, budget: int) -> int:
        """One app, until it quits or the budget is spent; returns the actions taken."""
        rng = self.rng
        app = make_app(path, watch_file=False)  # the monkey calls the disk check itself
        taken = 0
        async with app.run_test(size=(120, 40)) as pilot:
            while taken < budget and app.is_running:
                taken += 1
                before, loaded_before = dict(app.session.inputs), app.session.loaded
                what = rng.random()
                if app.query(InputEditor) and app.query_one(InputEditor).display and rng.random() < 0.4:
                    what = 0.1  # the file changes under an open editor: the moment most likely to lose an edit
                if what < 0.07:
                    await pilot.resize_terminal(rng.randint(20, 200), rng.randint(5, 60))
                    pressed = False
                elif what < 0.2:
                    if (reload := self.churn(app)) is not None:
                        await reload.wait()
                    await pilot.pause()
                    pressed = False
                elif what < 0.35:  # an edit as a person types it, somewhere down the tree
                    number = rng.choice(["7", "-2", "0.5", "1e3", "x", "", "3.25", "1e400"])
                    keys = ["down"] * rng.randint(0, 5) + ["e", "ctrl+u", *[KEY_OF.get(ch, ch) for ch in number]]
                    if rng.random() < 0.6 and app.screen is app.screen_stack[0]:
                        keys = keys[keys.index("e"):]  # straight to an input, as a person who knows the tree
                        app.query_one(GraphTree).select_name(rng.choice(list(app.session.inputs)))
                    ending = rng.choice(["enter", "enter", "escape", None])  # None: left open, the file may change
                    keys += [ending] if ending else []
                    await pilot.press(*keys)
                    if os.environ.get("MONKEY_DEBUG"):
                        print(keys, repr(app.message[:100]), type(app.screen).__name__)
                    pressed = True
                else:
                    key = rng.choice(KEYS)
                    while key in RARE and rng.random() < 0.9:
                        key = rng.choice(KEYS)
                    await pilot.press(key)
                    pressed = True
                if app.is_running:
                    self.check(app, before, loaded_before, pressed)
            self.last_session = app.session
        # leaving run_test re-raises anything that went wrong inside the app
        assert app.return_code in (0, None)
        return taken


async def churn(folder: Path, seed: int, actions: int) -> Monkey:
    """Run the monkey with one seed for ``actions`` actions, opening the app again whenever it quits."""
    path = folder / "w.yaml"
    path.write_text(LECTURE_TEXT)
    monkey = Monkey(seed, folder)
    left = actions
    while left > 0:
        left -= await monkey.run_app(path, left)
        monkey.runs += 1
        current = monkey.last_session.loaded.path
        if current is not None and (current.exists() or current.with_name(current.name + ".away").exists()):
            path = current
        away = path.with_name(path.name + ".away")
        if not path.exists() and away.exists():
            os.replace(away, path)
        try:
            load_path(path)
        except Exception:
            path.write_text(LECTURE_TEXT)
        monkey.expected.clear()  # quitting twice throws the edits away, as asked
    return monkey


async def test_churn_monkey(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # save-as with a typed name writes here
    for seed in SEEDS:
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        await churn(folder, seed, ACTIONS)
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp")]
    assert not leftovers, leftovers  # no save left a temporary file behind
