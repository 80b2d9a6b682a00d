"""Read-only screens over the debugger: the help, and 'why this gradient?' (the h sweep builds on them too)."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from rich.console import RenderableType
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, OptionList, Static
from textual.widgets.option_list import Option


class OverlayScreen(ModalScreen[None]):
    """A read-only screen over the app: escape or q closes it (subclasses add the key that opened it).

    It covers neither the app's title line (the screen is transparent there) nor the bottom
    line, where its own key line says which keys act now: the app's keys do not, while it is open.
    Subclasses compose their page in :meth:`compose_body`, its box with ``margin-top: 1`` (off
    the title line) and a height that leaves the key line (``1fr``, or at most ``100%``).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close"),
        Binding("q", "dismiss", "Close", show=False),
    ]

    # transparent: the app shows, undimmed, where the page does not cover it (a dimmed title
    # would lose its contrast)
    DEFAULT_CSS = """
    OverlayScreen { background: $background 0%; align: center top; }
    """

    def compose(self) -> ComposeResult:
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        yield from ()

    SHOWS_THE_WALK = False
    """True for screens worked out from the walk when opened: the app closes them when the graph is reloaded."""


class PageScreen(OverlayScreen):
    """A scrollable page over the app; escape, q or the key that opened it closes it."""

    DEFAULT_CSS = """
    PageScreen > VerticalScroll {
        width: 100%; max-width: 120; height: auto; max-height: 100%; margin-top: 1;
        border: round $accent; border-title-color: $foreground; background: $surface; padding: 0 1;
    }
    PageScreen Static { height: auto; }
    """

    def __init__(self, title: str, body: RenderableType, closing: str) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.closing = closing

    def compose_body(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            yield Static(self.body, classes="page-body")
            yield Static(Text(f"esc, {self.closing} or q closes this.", style="italic"))


class WhyScreen(OverlayScreen):
    """Every path from the output down to one variable, beside the tree.

    ↑ ↓ choose a path; ``show_path`` is told its names, for the tree to mark
    its lines ». Escape, q or y closes it.
    """

    SHOWS_THE_WALK = True
    BINDINGS: ClassVar[list[BindingType]] = [Binding("y", "dismiss", "Close", show=False)]

    DEFAULT_CSS = """
    WhyScreen { align: right top; }
    WhyScreen > Vertical {
        width: 57%; height: 1fr; margin-top: 1;
        border: round $accent; background: $surface; padding: 0 1;
    }
    WhyScreen Static { height: auto; }
    WhyScreen OptionList, WhyScreen OptionList:focus { height: auto; max-height: 1fr; border: none; padding: 0; }
    /* the chosen path as the tree's cursor line: Textual's white on blue is 3.8 : 1 */
    WhyScreen OptionList > .option-list--option-highlighted,
    WhyScreen OptionList:focus > .option-list--option-highlighted {
        background: #404040; color: $foreground; text-style: bold;
    }
    """

    def __init__(self, title: str, head: list[str], paths: list[tuple[list[str], list[str]]], foot: list[str],
                 show_path: Callable[[list[str]], None]) -> None:
        """
        Args:
            paths: Each path's lines, and its names from the output down.
            show_path: Called with the names of the path under the cursor.
        """
        super().__init__()
        self.show_path = show_path
        self.title_text = title
        self.head, self.paths, self.foot = head, paths, foot

    def compose_body(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            yield Static(Text("\n".join(self.head)))
            if self.paths:
                yield OptionList(*(Option(Text("\n".join(lines))) for lines, _ in self.paths))
            yield Static(Text("\n".join(self.foot)))
            more = "↑ ↓ choose a path, marked » in the tree; " if len(self.paths) > 1 else (
                "The path is marked » in the tree. " if self.paths else "")
            yield Static(Text(f"{more}esc, y or q closes this.", style="italic"))

    def on_mount(self) -> None:
        if self.paths:
            options = self.query_one(OptionList)
            options.highlighted = 0
            options.focus()
            self.show_path(self.paths[0][1])

    @on(OptionList.OptionHighlighted)
    def _chosen(self, event: OptionList.OptionHighlighted) -> None:
        self.show_path(self.paths[event.option_index][1])
