"""The help screen: cgtui's own keys, grouped, built from the bindings (tui/keys.py)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from tui.keys import help_rows
from tui.widgets.pages import PageScreen

SECTIONS = ("Stepping", "Inputs and the file", "Finite differences", "Understanding",
            "Gradient descent (graphs with params:)", "The tree", "App")
"""The help page's headings, in order; a section no key names is left out, one not listed here comes last."""

NOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "The tree": (
        ("●", "the node the current step evaluates, or whose gradient it changes"),
        ("↓", "in a backward step, the node whose gradient flows down into the ● node"),
        ("■", "a breakpoint (● and ↓ show first; the line under the tree says ■ breakpoint)"),
        ("underlined", "a number the last step or edit changed (old → new after an edit)"),
        ("↪ u", "a node used again: its own line is further up (or, said so, inside a collapsed line)"),
    ),
    "App": (
        ("cgtui -h", "the command line: -e EXPR (a graph from one expression), --markdown (a handout), --trace"),
    ),
}
"""What is not a key: the tree's marks, the command line. Listed before the section's keys."""


def help_sections(*bindings: list) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each section's title and rows (a mark or keys, what it means), from the bindings and NOTES.

    Args:
        bindings: The ``BINDINGS`` lists to describe, the app's first (see :func:`tui.keys.help_rows`).
    """
    rows = help_rows(*bindings)
    order = [s for s in SECTIONS if s in rows or s in NOTES] + [s for s in rows if s not in SECTIONS]
    return [(title, [*NOTES.get(title, ()), *(("  ".join(keys), what) for keys, what in rows.get(title, ()))])
            for title in order]


def help_table(*bindings: list) -> Group:
    """Each group's title, then its keys beside what they do (one key column for all groups)."""
    sections = help_sections(*bindings)
    width = max(len(key) for _, rows in sections for key, _ in rows)
    parts = []
    for group, rows in sections:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, width=width)
        table.add_column()
        for key, what in rows:
            table.add_row(Text(key), Text(what))
        parts += [Text(group, style="bold underline"), table]
    return Group(*parts)


class HelpScreen(PageScreen):
    """Lists cgtui's keys; ? closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("question_mark", "dismiss", "Close", show=False)]

    def __init__(self, *bindings: list) -> None:
        """
        Args:
            bindings: The ``BINDINGS`` lists whose keys the page lists, the app's first.
        """
        super().__init__("cgtui keys", help_table(*bindings), "?")
