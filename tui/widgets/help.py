"""The help screen: cgtui's own keys, grouped."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from tui.widgets.pages import PageScreen

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Stepping", (
        ("n  →", "next step: the forward steps, then the backward steps"),
        ("p  ←", "previous step (every step can be undone)"),
        ("f", "finish the current pass (at the end of the forward pass: the backward pass)"),
        ("r", "reset to the start"),
        ("b", "set or clear a breakpoint on the node under the cursor (⊙ in the tree)"),
        ("c", "continue to the next breakpoint: before a node is evaluated, before its gradient's first"
              " contribution; or to the end of the pass"),
        ("t", "run to the node under the cursor: until it has its value, then its complete gradient"),
    )),
    ("Inputs and the file", (
        ("e  enter", "edit the input under the cursor (enter commits, esc cancels)"),
        ("w", "save the input values into the graph file (comments and layout kept)"),
        ("", "the file is watched: a change made elsewhere is reloaded within a second"),
    )),
    ("Finite differences", (
        ("↑  ↓", "move the cursor: the panel nudges the variable under it"),
        ("[", "h ÷ 10 (down to 1e-12)"),
        ("]", "h × 10 (up to 1)"),
    )),
    ("Understanding", (
        ("y", "why this gradient: every path from the output down to the node under the cursor,"
              " its local derivatives multiplied, and their sum (once its gradient is complete)"),
    )),
    ("The tree", (
        ("●", "the node the current step evaluates, or whose gradient it changes"),
        ("○", "in a backward step, the node whose gradient flows down"),
        ("underlined", "a number the last step or edit changed (old → new after an edit)"),
        ("↪ u", "a node used again: its line is further up"),
        ("space", "expand or collapse a node"),
    )),
    ("App", (
        ("?", "this help"),
        ("q  ctrl+q", "quit (with unsaved edits: press q twice)"),
    )),
)


def help_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    for group, rows in KEYS:
        table.add_row(Text(group, style="bold underline"), "")
        for key, what in rows:
            table.add_row(Text(key), Text(what))
    return table


class HelpScreen(PageScreen):
    """Lists cgtui's keys; ? closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("question_mark", "dismiss", "Close", show=False)]

    def __init__(self) -> None:
        super().__init__("cgtui keys", help_table(), "?")
