"""The number field under the panels: one widget that asks one question at a time.

Each question has its own answers, posted as messages; the field changes nothing itself.

- :meth:`InputEditor.open` (:class:`EditValue`): an input's new value. It answers
  :class:`InputEditor.ValueEdited` (name, value), :class:`InputEditor.Refused` (name, reason)
  or :class:`InputEditor.Cancelled` (name).
- :meth:`InputEditor.ask` (:class:`Guess`): a guess at the hidden step's number, in predict mode.
  It answers :class:`InputEditor.Guessed` (value), :class:`InputEditor.GuessRefused` (reason) or
  :class:`InputEditor.GuessCancelled`.

Another question (another kind of value, its own messages) is a :class:`Question` subclass,
asked with :meth:`InputEditor.ask_question`.

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


class Question:
    """What the field asks: its prompt, its first text, how the text is read, and the message each answer posts."""

    prompt: str = ""
    text: str = ""

    def parse(self, text: str) -> float:
        """The value typed; ValueError (its message says why, in one line) if it is refused."""
        return tx.parse_number(text)

    def committed(self, value: float) -> Message:
        raise NotImplementedError

    def refused(self, reason: str) -> Message:
        raise NotImplementedError

    def cancelled(self) -> Message:
        raise NotImplementedError


class InputEditor(Horizontal):
    """Shown while a question is open; posts its answer, changes nothing itself."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel", show=False)]

    # ---- an input's value (open)

    @dataclass
    class ValueEdited(Message):
        """A valid value was committed."""

        name: str
        """The input edited."""
        value: float
        """Its new value."""

    @dataclass
    class Refused(Message):
        """The text committed is not a finite decimal number."""

        name: str
        """The input being edited."""
        reason: str
        """Why, in one line."""

    @dataclass
    class Cancelled(Message):
        """Escape: nothing changes."""

        name: str
        """The input that was being edited."""

    # ---- a guess at the hidden step (ask)

    @dataclass
    class Guessed(Message):
        """A guess was committed."""

        value: float

    @dataclass
    class GuessRefused(Message):
        """The guess typed is not a finite decimal number."""

        reason: str
        """Why, in one line."""

    @dataclass
    class GuessCancelled(Message):
        """Escape: show the answer, unscored."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.question: Question | None = None
        """The question open (None: the field is closed)."""

    @property
    def name_edited(self) -> str | None:
        """The input whose value is being edited (None when closed or asking something else)."""
        return self.question.name if isinstance(self.question, EditValue) else None

    @property
    def guessing(self) -> bool:
        """Whether the field asks for a guess."""
        return isinstance(self.question, Guess)

    def compose(self) -> ComposeResult:
        yield Label("", id="editor-prompt")
        yield Input(id="editor-input")

    def open(self, name: str, value: float) -> None:
        """Show the field for ``name`` holding ``value``, and focus it."""
        self.ask_question(EditValue(name, value))

    def ask(self) -> None:
        """Show an empty field for a guess at the hidden step's number, and focus it."""
        self.ask_question(Guess())

    def ask_question(self, question: Question) -> None:
        """Show the field with ``question``'s prompt and text, and focus it."""
        self.question = question
        self.query_one("#editor-prompt", Label).update(question.prompt)
        field = self.query_one(Input)
        with field.prevent(Input.Changed):
            field.value = question.text
        self.display = True
        # focus now, not after the queued keys (field.focus() would): a quick "n 6 enter" must reach the field
        self.screen.set_focus(field)
        field.action_end()

    def close(self) -> None:
        self.question = None
        self.display = False

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        question = self.question
        if question is None:
            return
        try:
            value = question.parse(event.value)
        except ValueError as err:
            self.post_message(question.refused(str(err)))
            return
        self.post_message(question.committed(value))

    def action_cancel(self) -> None:
        if self.question is not None:
            self.post_message(self.question.cancelled())


class EditValue(Question):
    """An input's new value: the field holds its value to every digit."""

    def __init__(self, name: str, value: float) -> None:
        self.name = name
        self.prompt = f" {name} = "
        # every digit (the shortest text that reads back as the same float): a rounded text,
        # committed unchanged, would change the value
        self.text = value_text(value)

    def committed(self, value: float) -> Message:
        return InputEditor.ValueEdited(self.name, value)

    def refused(self, reason: str) -> Message:
        return InputEditor.Refused(self.name, reason)

    def cancelled(self) -> Message:
        return InputEditor.Cancelled(self.name)


class Guess(Question):
    """A guess at the hidden step's number: the field starts empty."""

    prompt = " your guess: "

    def committed(self, value: float) -> Message:
        return InputEditor.Guessed(value)

    def refused(self, reason: str) -> Message:
        return InputEditor.GuessRefused(reason)

    def cancelled(self) -> Message:
        return InputEditor.GuessCancelled()
