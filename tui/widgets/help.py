"""The help screen: cgtui's own keys, grouped."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from engine import text as tx
from tui.widgets.pages import PageScreen

KEYS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Stepping", (
        ("n  →", "next step: the forward steps, then the backward steps"),
        ("p  ←", "previous step (every step can be undone)"),
        ("f", "finish the current pass (at the end of the forward pass: the backward pass)"),
        ("r", "reset to the start"),
        ("b", "breakpoint on the node under the cursor (■): stop before its value, before its gradient"),
        ("c", "continue to the next breakpoint, or to the end of the pass"),
        ("t", "run to the node under the cursor: until it has its value, then its complete gradient"),
    )),
    ("Inputs and the file", (
        ("e  enter", "edit the input under the cursor (enter commits, esc cancels)"),
        ("w", "save the inputs into the graph file (layout kept); changes made elsewhere are reloaded"),
    )),
    ("Finite differences", (
        ("↑  ↓", "move the cursor: the panel nudges the variable under it"),
        ("[  ]", "h ÷ 10, h × 10 (from 1e-12 to 1)"),
        ("z", "the estimates to every digit, or rounded to what float rounding leaves true"),
    )),
    ("Understanding", (
        ("y", "why this gradient: every path down to the node, its factors and their sum; ↑ ↓ mark one »"),
        ("g", "predict, then reveal: n hides each number until you guess it (0.5 % counts; esc shows it)"),
        ("s", "the h sweep: error of both estimates against h, 1e-1 to 1e-13, for the node under the cursor"),
    )),
    ("Gradient descent (graphs with params:)", (
        ("d", "after the backward pass: w := w − α ∂J/∂w on every parameter, recompute, and plot J"),
        ("-  +", "α ÷ 2 / α × 2 (the file's alpha:, or 0.1)"),
    )),
    ("The classroom", (
        ("o", "notation: ∂J/∂w → dJ/dw (the lecture page's) → dw (the course's code: dw stands for dJ/dw)"),
        ("P", "presentation mode: larger spacing, no transcript, high contrast; P again leaves it"),
        ("x", "save the screen as an SVG file beside the graph (a fresh name, never over a file)"),
    )),
    ("The tree", (
        ("●", "the node the current step evaluates, or whose gradient it changes"),
        ("↓", "in a backward step, the node whose gradient flows down into the ● node"),
        ("■", "a breakpoint (● and ↓ show first; the line under the tree says ■ breakpoint)"),
        ("underlined", "a number the last step or edit changed (old → new after an edit)"),
        ("↪ u", "a node used again: its own line is further up (or, said so, inside a collapsed line)"),
        ("j", "jump: from a ↪ line to the node's own line, elsewhere to the current step's node"),
        (".", "the cursor to the current step's node, expanding the lines that hide it"),
        ("l", "follow mode: after every step the cursor, and the panels, go to the step's node"),
        ("space  v", "expand or collapse a node; v: the picture, the graph left to right"),
    )),
    ("App", (
        ("cgtui -h", "the command line: -e EXPR (a graph from one expression), --markdown (a handout), --trace"),
        ("?", "this help"),
        ("q  ctrl+q", "quit (with unsaved edits: press q twice)"),
    )),
)


def help_table(notation: tx.Notation = tx.PARTIAL) -> Group:
    """Each group's title, then its keys beside what they do (one key column for all groups).

    Derivatives are written in ``notation`` (the line of ``o`` itself names all three).
    """
    out = notation.output or "J"
    width = max(len(key) for _, rows in KEYS for key, _ in rows)
    parts = []
    for group, rows in KEYS:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, width=width)
        table.add_column()
        for key, what in rows:
            if key != "o":
                what = what.replace("∂J/∂w", tx.d(out, "w", notation))
            table.add_row(Text(key), Text(what))
        parts += [Text(group, style="bold underline"), table]
    return Group(*parts)


class HelpScreen(PageScreen):
    """Lists cgtui's keys; ? closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("question_mark", "dismiss", "Close", show=False)]

    def __init__(self, notation: tx.Notation = tx.PARTIAL) -> None:
        super().__init__("cgtui keys", help_table(notation), "?")
