"""'Why this gradient?': every path from the output down to a variable, multiplied out and summed."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class WhyScreen(ModalScreen[None]):
    """Shows the paths; escape, y or q closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("y", "dismiss", "Close", show=False),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    WhyScreen { align: center middle; }
    WhyScreen > VerticalScroll {
        width: 94%; height: auto; max-height: 90%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    WhyScreen Static { height: auto; }
    """

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__()
        self.title_text = title
        self.lines = lines

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            yield Static(Text("\n".join(self.lines)), id="why-text")
            yield Static(Text("esc, y or q closes this.", style="italic"))
