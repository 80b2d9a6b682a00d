"""Small modal questions: where to save, and what to do when the file changed on disk."""

from __future__ import annotations

from typing import ClassVar, Literal

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 80%; max-width: 90; height: auto;
    border: round $warning; background: $surface; padding: 0 1;
}}
{name} Static {{ height: auto; }}
"""


class AskScreen(ModalScreen[str | None]):
    """Asks one question in a field; dismisses with :meth:`answer` of the text typed, or None on escape.

    A subclass says what it asks (``QUESTION``, the field's ``INPUT_ID``) and may read the text
    its own way (:meth:`answer`).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]
    QUESTION: ClassVar[str] = ""
    INPUT_ID: ClassVar[str] = "answer"

    def __init__(self, why: str, suggestion: str = "") -> None:
        super().__init__()
        self.why = why
        self.suggestion = suggestion

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.why))
            yield Static(Text(self.QUESTION, style="bold"))
            yield Input(value=self.suggestion, id=self.INPUT_ID)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def answer(self, text: str) -> str | None:
        return text

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(self.answer(event.value))

    def action_cancel(self) -> None:
        self.dismiss(None)


class SaveAsScreen(AskScreen):
    """Asks for a file name; dismisses with the text typed (None if blank), or None on escape."""

    DEFAULT_CSS = DIALOG_CSS.format(name="SaveAsScreen")
    QUESTION = "Save the graph as (enter saves, esc cancels):"
    INPUT_ID = "save-as-path"

    def answer(self, text: str) -> str | None:
        return text.strip() or None


Choice = Literal["overwrite", "reload", "save_as"]
"""What the conflict dialog can answer (None: cancelled)."""


class ConflictScreen(ModalScreen[Choice | None]):
    """The file changed on disk since cgtui read it: overwrite, reload, save as, or cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "choose('overwrite')", "Overwrite"),
        Binding("l", "choose('reload')", "Reload"),
        Binding("s", "choose('save_as')", "Save as"),
        Binding("escape", "choose(None)", "Cancel"),
    ]
    DEFAULT_CSS = DIALOG_CSS.format(name="ConflictScreen")

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text.assemble(
                (f"{self.source} changed on disk since cgtui read it.\n", "bold"),
                "Saving now would overwrite that change.\n\n",
                ("o", "bold"), "  overwrite it with your values\n",
                ("l", "bold"), "  reload it (your edited inputs are kept where their names still exist)\n",
                ("s", "bold"), "  save under another name\n",
                ("esc", "bold"), "  cancel: nothing is written",
            ))

    def action_choose(self, choice: Choice | None) -> None:
        self.dismiss(choice)
