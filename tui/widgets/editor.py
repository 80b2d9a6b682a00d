"""The input editor: one field that edits one input's value, or takes a guess in predict mode.

| Key | Action |
| :- | :- |
| enter | commit (a finite decimal number; anything else is refused) |
| escape | cancel, keeping the old value |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Label

from engine import text as tx
from engine.graphfile import value_text


class InputEditor(Horizontal):
    """Shown while an input is being edited; posts what happened, changes nothing itself."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    @dataclass
    class ValueEdited(Message):
        """A valid value was committed."""

        name: str
        """The input edited."""
        value: float
        """Its new value."""
        guess: bool = False
        """A guess for a hidden step, not an input's value (``name`` is then "guess")."""

    @dataclass
    class Refused(Message):
        """The text committed is not a finite decimal number."""

        name: str
        """The input being edited."""
        reason: str
        """Why, in one line."""
        guess: bool = False

    @dataclass
    class Cancelled(Message):
        """Escape: nothing changes."""

        name: str
        """The input that was being edited."""
        guess: bool = False

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.name_edited: str | None = None
        self.guessing = False

    def compose(self) -> ComposeResult:
        yield Label("", id="editor-prompt")
        yield Input(id="editor-input")

    def open(self, name: str, value: float) -> None:
        """Show the field for ``name`` holding ``value``, and focus it."""
        # every digit (the shortest text that reads back as the same float): a rounded text,
        # committed unchanged, would change the value
        self._open(name, f" {name} = ", value_text(value), guessing=False)

    def ask(self) -> None:
        """Show an empty field for a guess at the hidden step's number, and focus it."""
        self._open("guess", " your guess: ", "", guessing=True)

    def _open(self, name: str, prompt: str, text: str, guessing: bool) -> None:
        self.name_edited = name
        self.guessing = guessing
        self.query_one("#editor-prompt", Label).update(prompt)
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = text
        self.display = True
        # focus now, not after the queued keys (field.focus() would): a quick "n 6 enter" must reach the field
        self.screen.set_focus(field)
        field.action_end()

    def close(self) -> None:
        self.name_edited = None
        self.guessing = False
        self.display = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.name_edited is None:
            return
        try:
            value = tx.parse_number(event.value)
        except ValueError as err:
            self.post_message(self.Refused(self.name_edited, str(err), self.guessing))
            return
        self.post_message(self.ValueEdited(self.name_edited, value, self.guessing))

    def action_cancel(self) -> None:
        if self.name_edited is not None:
            self.post_message(self.Cancelled(self.name_edited, self.guessing))
