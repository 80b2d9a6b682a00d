"""The help screen: cgtui's own keys, grouped, built from the bindings (tui/keys.py)."""

from __future__ import annotations

from typing import ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType

from engine import text as tx
from tui.keys import help_rows
from tui.widgets.pages import PageScreen

SECTIONS = ("Stepping", "Inputs and the file", "Finite differences", "Understanding",
            "Gradient descent (graphs with params:)", "The classroom", "The tree", "App")
"""The help page's headings, in order; a section no key names is left out, one not listed here comes last."""

NOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "The tree": (
        ("●", "the node the current step evaluates or changes the gradient of"),
        ("↓", "in a backward step, the node whose gradient flows into ●"),
        ("■", "a breakpoint (under ● or ↓, the detail line says so)"),
        ("underlined", "a number the last step or edit changed"),
        ("↪ u", "a node used again: where its own line is (j goes there)"),
    ),
    "App": (
        ("cgtui -h", "the command line: -e EXPR, --trace, --markdown, --svg, serve"),
    ),
}
"""What is not a key: the tree's marks, the command line. Listed before the section's keys."""


def help_sections(*bindings: list, notes: dict | None = None,
                  sections: tuple[str, ...] = SECTIONS) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each section's title and rows (a mark or keys, what it means), from the bindings and NOTES.

    Args:
        bindings: The ``BINDINGS`` lists to describe, the app's first (see :func:`tui.keys.help_rows`).
        notes: What is not a key, by section (default :data:`NOTES`, the scalar app's).
        sections: The headings' order.
    """
    notes = NOTES if notes is None else notes
    rows = help_rows(*bindings)
    order = [s for s in sections if s in rows or s in notes] + [s for s in rows if s not in sections]
    return [(title, [*notes.get(title, ()), *(("  ".join(keys), what) for keys, what in rows.get(title, ()))])
            for title in order]


def help_table(*bindings: list, notation: tx.Notation = tx.PARTIAL, columns: int = 1, width: int = 120,
               notes: dict | None = None, sections: tuple[str, ...] = SECTIONS) -> Group | Table:
    """Each group's title, then its keys beside what they do (one key column for all groups).

    Derivatives are written in ``notation`` (the line of ``o`` itself names all three). With
    ``columns=2`` (a wide terminal, ``width`` columns) the groups are set in two columns of
    about equal height, lines wrapped, so the whole page fits on a screen of 40 lines.
    """
    out = notation.output or "J"
    sections = help_sections(*bindings, notes=notes, sections=sections)
    key_width = max(len(key) for _, rows in sections for key, _ in rows)
    parts = []
    for group, rows in sections:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True, width=key_width)
        table.add_column()
        for key, what in rows:
            if key != "o":
                what = what.replace("∂J/∂w", tx.d(out, "w", notation))
            table.add_row(Text(key), Text(what))
        parts.append(Group(Text(group, style="bold underline"), table))
    if columns < 2:
        return Group(*parts)
    room = max(20, (width - 8) // 2 - key_width - 2)  # a column's text width, within the page's border
    sizes = [1 + sum(-(-len(what) // room) for _, what in rows) for _, rows in sections]
    split = min(range(len(parts) + 1), key=lambda k: max(sum(sizes[:k]), sum(sizes[k:])))
    page = Table.grid(padding=(0, 4), expand=True)
    page.add_column(ratio=1)
    page.add_column(ratio=1)
    page.add_row(Group(*parts[:split]), Group(*parts[split:]))
    return page


class HelpScreen(PageScreen):
    """Lists cgtui's keys; ? closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("question_mark", "dismiss", "Close", show=False)]

    WIDE = 110
    """From this many columns the page is set in two columns."""

    def __init__(self, *bindings: list, notation: tx.Notation = tx.PARTIAL, width: int = 80,
                 notes: dict | None = None, sections: tuple[str, ...] = SECTIONS) -> None:
        """
        Args:
            bindings: The ``BINDINGS`` lists whose keys the page lists, the app's first.
            notation: How derivatives are written (``o``).
            width: The terminal's width: two columns from :attr:`WIDE` on.
            notes: What is not a key, by section (default: the scalar app's tree marks).
            sections: The headings' order.
        """
        columns = 2 if width >= self.WIDE else 1
        super().__init__("cgtui keys", help_table(*bindings, notation=notation, columns=columns, width=width,
                                                  notes=notes, sections=sections), "?")
