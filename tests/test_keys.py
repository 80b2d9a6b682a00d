"""One key table: the help page is built from the bindings; every key the app binds is in the
README's table and on the help page, and every key those list is bound (issue #12: keys were
described four times and drifted)."""

from __future__ import annotations

import re

from paths import ROOT
from textual.binding import Binding
from tui.app import CgtuiApp
from tui.keys import Key, shown
from tui.widgets.graph_tree import GraphTree
from tui.widgets.help import help_sections

NOT_IN_README = {"escape", "equals_sign"}
"""Bound, but the README tells them with another key: esc with the editor and predict mode; = is + unshifted."""


def bound_keys(*bindings: list) -> set[str]:
    return {shown(key) for group in bindings for binding in group for key in binding.key.split(",")}


def readme_keys() -> set[str]:
    text = (ROOT / "README.md").read_text()
    table = text[text.index("| key | what it does |"):]
    table = table[: table.index("\n\n")]
    keys = set()
    for row in table.splitlines()[2:]:
        keys |= set(re.findall(r"`([^`]+)`", row.split("|")[1]))
    return keys


def help_keys(*bindings: list) -> dict[str, str]:
    """Each key on the help page, and what its row says."""
    return {key: what for _, rows in help_sections(*bindings) for keys, what in rows for key in keys.split("  ")}


def test_the_readme_lists_exactly_the_bound_keys():
    hidden = {shown(k) for k in NOT_IN_README}
    assert readme_keys() == bound_keys(CgtuiApp.BINDINGS, GraphTree.BINDINGS) - hidden


def test_the_help_page_lists_every_bound_key_with_its_explanation():
    on_page = help_keys(CgtuiApp.BINDINGS, GraphTree.BINDINGS)
    assert bound_keys(CgtuiApp.BINDINGS, GraphTree.BINDINGS) <= on_page.keys()
    for binding in [*CgtuiApp.BINDINGS, *GraphTree.BINDINGS]:
        if isinstance(binding, Key) and binding.help:
            assert on_page[shown(binding.key.split(",")[0])] == binding.help
    assert on_page["→"] == on_page["n"] and on_page["enter"] == on_page["e"]  # one row an action
    assert on_page["]"] == on_page["["] and on_page["ctrl+q"] == on_page["q"]


def test_every_explained_key_is_under_a_heading_of_the_page():
    titles = [title for title, _ in help_sections(CgtuiApp.BINDINGS, GraphTree.BINDINGS)]
    assert "More keys" not in titles, "a binding with help= but no section="
    assert titles[0] == "Stepping" and titles[-1] == "App"


def test_a_key_added_to_the_bindings_is_on_the_help_page():
    """Adding a key in one place (BINDINGS) puts it on the help page, with or without its own help."""
    added = [*CgtuiApp.BINDINGS,
             Key("z", "zoom", "Zoom", section="Understanding", help="zoom into the node under the cursor"),
             Binding("x", "explode", "Explode")]
    sections = dict(help_sections(added, GraphTree.BINDINGS))
    assert ("z", "zoom into the node under the cursor") in sections["Understanding"]
    assert ("x", "Explode") in sections["More keys"]


def test_a_subclass_binding_says_its_action_anew():
    """A browser session binds w again as Download: its help replaces the base's, on the same row."""
    from tui.browser import BrowserApp

    on_page = help_keys(CgtuiApp.BINDINGS, BrowserApp.BINDINGS, GraphTree.BINDINGS)
    assert on_page["w"].startswith("download the graph file")
