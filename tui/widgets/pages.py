"""Read-only pages over the debugger: the help, and 'why this gradient?'."""

from __future__ import annotations

from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class PageScreen(ModalScreen[None]):
    """A scrollable page over the app; escape, q or the key that opened it closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    DEFAULT_CSS = """
    PageScreen { align: center middle; }
    PageScreen > VerticalScroll {
        width: 94%; max-width: 116; height: auto; max-height: 96%;
        border: round $accent; background: $surface; padding: 0 1;
    }
    PageScreen Static { height: auto; }
    """

    def __init__(self, title: str, body: RenderableType, closing: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.closing = closing

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            yield Static(self.body, classes="page-body")
            yield Static(Text(f"esc, {self.closing} or q closes this.", style="italic"))


class WhyScreen(PageScreen):
    """Every path from the output down to one variable; y closes it too."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "dismiss", "Close", show=False)]

    def __init__(self, title: str, lines: list[str]) -> None:
        super().__init__(title, Text("\n".join(lines)), "y")
