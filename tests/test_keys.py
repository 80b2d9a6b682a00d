"""One key table: every key the app binds is in the README's table and on the help page, and
every key those list is bound (issue #12: keys were described four times and drifted)."""

from __future__ import annotations

import re

from paths import ROOT
from tui.app import CgtuiApp
from tui.widgets.graph_tree import GraphTree
from tui.widgets.help import KEYS
from tui.widgets.picture import PictureView

SHOWN = {"right": "→", "left": "←", "up": "↑", "down": "↓", "left_square_bracket": "[",
         "right_square_bracket": "]", "minus": "-", "plus": "+", "question_mark": "?", "full_stop": "."}
"""How the README and the help page write a key Textual names otherwise."""
NOT_LISTED = {"escape", "equals_sign"}
"""Bound, but described with another key: esc is told with the editor and predict mode; = is + unshifted."""
TREE_OWN = {"space", "↑", "↓"}
"""Keys the tree itself binds (Textual's Tree), listed by the README and the help page."""


def bound_keys() -> set[str]:
    keys = set(TREE_OWN)
    for binding in [*CgtuiApp.BINDINGS, *GraphTree.BINDINGS, *PictureView.BINDINGS]:
        for key in binding.key.split(","):
            if key not in NOT_LISTED:
                keys.add(SHOWN.get(key, key))
    return keys


def readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| key | what it does |"):]
    table = table[: table.index("\n\n")]
    keys = set()
    for row in table.splitlines()[2:]:
        keys |= set(re.findall(r"`([^`]+)`", row.split("|")[1]))
    return keys


def help_keys() -> set[str]:
    keys = set()
    for _, rows in KEYS:
        for key, _ in rows:
            keys |= {k for k in key.split() if not k.isalpha() or len(k) == 1 or k in ("enter", "space", "ctrl+q")}
    return keys


def test_the_readme_lists_exactly_the_bound_keys():
    assert readme_keys() == bound_keys()


def test_the_help_page_lists_every_bound_key():
    assert bound_keys() <= help_keys()
