"""Acting on a tensor graph in its app (#15): edit one element, save it in place, follow the file,
gradient descent, predict mode.

:class:`TensorActions` is a base of :class:`~tui.tensor_app.TensorApp` (which draws the walk);
everything here drives the engine's :class:`~engine.tensor_session.TensorSession` and reuses the
scalar app's pieces: the input editor, :class:`~tui.sync.FileSync` for reloads, saves and
conflicts, the save dialogs.

==========  ===========================================================
Key         Does
==========  ===========================================================
e           edit one element: the one under the cursor on a backward step into an input,
            else the element typed in (``w[1,0]``); enter commits, esc cancels
w           save the edited elements into the file in place (every other byte kept)
d           one step of gradient descent on ``params:``
-  +        α ÷ 2, α × 2
g           predict mode: each step's result hidden until its shape or an element is guessed
esc         show a hidden result unscored
==========  ===========================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.message import Message

from engine import tensor_expr as te
from engine import text as tx
from engine.graphfile import LoadedGraph, value_text
from engine.session import ALPHA_MAX, ALPHA_MIN
from engine.tensor_graph import TensorForwardStep
from engine.tensor_session import Index, element_label, parse_element, read_guess
from tui.keys import Key
from tui.sync import FileSync
from tui.widgets.dialogs import DIALOG_CSS, AskScreen
from tui.widgets.editor import EditValue, InputEditor, Question

FILE, DESCENT, PREDICT = "Inputs and the file", "Gradient descent (graphs with params:)", "Understanding"


def hidden_step(s) -> Text:
    """The step predict mode holds back (the step panel shows this): its formula and operands' shapes,
    its result a question."""
    st = s.step
    out = Text()
    nf, nb = len(s.walk.forward_steps), len(s.walk.backward_steps)
    if isinstance(st, TensorForwardStep):
        out.append(f"forward {st.index + 1}/{nf}   ", style="dim")
        out.append(f"{st.node} = {st.course}\n", style="bold")
        shapes = ", ".join(f"{o} ({te.shape_text(s.graph.shapes[o])})" for o in st.operands)
        out.append(f"shapes  {shapes} → ?\n{st.node} = ?\n")
    else:
        out.append(f"backward {st.index + 1}/{nb}   ", style="dim")
        out.append(f"{tx.d(s.graph.output, st.parent)} += {st.formula}\n", style="bold")
        out.append("this step = ?\n")
    out.append("Predict mode: type its shape (2x3) or the number asked below; esc shows it.", style="italic")
    return out


class TensorFileSync(FileSync):
    """The file's side of the tensor app: FileSync's poll, saves and conflicts, with a tensor graph's
    words (which elements were saved) and refusing a file that is no longer a tensor graph."""

    _writing: list[str] = []

    def write(self, path: str | None, overwrite: bool = False):
        self._writing = self.app.session_changes()
        return super().write(path, overwrite)

    def saved_message(self, new) -> str:
        what = ", ".join(self._writing[:6]) + (f" and {len(self._writing) - 6} more" if len(self._writing) > 6 else "")
        return f"Saved {what or 'the graph (no value differed from the file)'} to {new.source}; every other byte as it was."

    def refusal_of(self, new) -> str | None:
        if not getattr(new.graph, "tensor", False):
            return "is now a graph of numbers only, which opens in the scalar app"
        return None


@dataclass
class ShapeOrNumberGuessed(Message):
    """A guess at a hidden tensor step was committed: a shape or a number (:func:`engine.tensor_session.read_guess`)."""

    text: str


@dataclass
class ShapeOrNumberRefused(Message):
    """The guess typed is neither a shape nor a finite number."""

    reason: str


class ShapeOrNumberCancelled(Message):
    """esc: show the answer unscored."""


class ShapeOrNumber(Question):
    """The editor's question while predict mode holds a step back: its shape, or the number of the element
    under the cursor. The text goes up whole (a shape is no number), once the engine can read it."""

    def __init__(self, prompt: str) -> None:
        self.prompt = f" {prompt}  "
        self.text = ""

    def parse(self, text: str) -> str:
        read_guess(text)  # ValueError, in one line, when it is neither a shape nor a finite number
        return text

    def committed(self, value: str) -> Message:
        return ShapeOrNumberGuessed(value)

    def refused(self, reason: str) -> Message:
        return ShapeOrNumberRefused(reason)

    def cancelled(self) -> Message:
        return ShapeOrNumberCancelled()


class ElementScreen(AskScreen):
    """Asks which element to edit (``w[1,0]``); dismisses with the text typed, or None on escape."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ElementScreen")
    QUESTION = "Edit which element? (enter opens it, esc cancels)"
    INPUT_ID = "element-name"


class ActionsBar(Vertical):
    """The editor (an element's value, or a guess at a step held back), under the walk."""

    DEFAULT_CSS = """
    ActionsBar { height: auto; }
    ActionsBar #editor { height: 3; }
    ActionsBar #editor Label { height: 3; content-align: left middle; text-style: bold; }
    ActionsBar Input { width: 1fr; }
    """


class TensorActions(App):
    """Edit, save, reload, descend and predict on a tensor graph; see the module's docstring.

    The app composes :meth:`compose_actions` and calls :meth:`show_actions` at the end of each redraw.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Key("e", "edit", "Edit", section=FILE, show=False, help="edit one element: the cursor's in an input's matrix, else the one you name (w[1,0])"),
        Key("w", "save", "Save", section=FILE, show=False, help="save the edited elements into the file, every other byte kept"),
        Key("d", "descend", "Descend", section=DESCENT, show=False, help="p := p − α ∂J/∂p on every parameter (params:)"),
        Key("minus", "alpha_down", "α÷2", show=False, section=DESCENT, help="α ÷ 2 / α × 2"),
        Key("plus,equals_sign", "alpha_up", "α×2", show=False, help_with="alpha_down"),
        Key("g", "predict", "Predict", section=PREDICT, show=False, help="predict: guess each step's shape or one element"),
        Key("escape", "skip_guess", "show it", show=False, help_with="predict"),
    ]

    watch_file = True
    """Reload the graph file when it changes on disk (a test turns it off before running)."""
    POLL_SECONDS = 1.0
    message = ""
    _quit_armed = False
    _edit_at: tuple[str, Index] | None = None
    """The element the open editor edits."""

    # ------------------------------------------------------------------ widgets

    def compose_actions(self) -> ComposeResult:
        with ActionsBar():
            editor = InputEditor(id="editor")
            editor.display = False
            yield editor

    @on(events.Mount)
    def _start_actions(self) -> None:
        self.sync = TensorFileSync(self)
        if self.watch_file:
            self.set_interval(self.POLL_SECONDS, self.check_disk)

    def show_actions(self) -> None:
        """Draw the status line, and open or close the guess to match the session (any redraw
        also disarms q's second press)."""
        s = self.session
        self._quit_armed = False
        if s.pending is not None and not self._guessing():
            self._close_editor()
            self.query_one(InputEditor).ask_question(ShapeOrNumber(s.question()))
        elif s.pending is None and self._guessing():
            self.query_one(InputEditor).close()
            self._focus_walk()
        parts = ["e edit", "w save"]
        if s.graph.params:
            parts.append(f"d descend, α = {tx.num(s.alpha)} (- +)")
        if s.descent:
            parts.append(f"{s.graph.output} {tx.num(s.descent[0])} → {tx.num(s.descent[-1])} in "
                         f"{len(s.descent) - 1} step{'s' if len(s.descent) != 2 else ''}")
        if s.predicting:
            parts.append(f"g predict: forward {s.score(False)}, backward {s.score(True)}")
        else:
            parts.append("g predict")
        if s.unsaved:
            parts.append(f"[unsaved: {', '.join(s.unsaved_names())}]")
        status = " · ".join(parts)  # on the finite-difference panel's lower border: no row of its own
        box = self.query_one("#fd")
        if box.border_subtitle != status:
            box.border_subtitle = status

    def _focus_walk(self) -> None:
        from tui.widgets.tensor_views import MatrixPanel

        self.screen.set_focus(self.query_one(MatrixPanel))

    def _asking(self) -> Question | None:
        """The editor's open question (None: closed, or not composed yet: the key line asks check_action first)."""
        found = self.query(InputEditor)
        return found.first().question if found and found.first().display else None

    def _editing(self) -> bool:
        return isinstance(self._asking(), EditValue)

    def _guessing(self) -> bool:
        return isinstance(self._asking(), ShapeOrNumber)

    def _close_editor(self) -> None:
        editor = self.query_one(InputEditor)
        if self._editing():
            editor.close()
            self._edit_at = None
            self._focus_walk()

    def session_changes(self) -> list[str]:
        """The elements whose value differs from the file's (``w[1,0] = 0.75``), for the save's message."""
        out = []
        graph = self.session.graph
        for name, value in self.session.edited.items():
            old = graph.input_by_name[name].value
            if value.ndim == 0:
                out.append(f"{name} = {tx.num(float(value))}")
                continue
            for i, j in zip(*np.nonzero((value != old) | (np.signbit(value) != np.signbit(old)))):
                out.append(f"{element_label(name, (int(i), int(j)))} = {tx.num(float(value[i, j]))}")
        return out

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """While a guess or an edit is open, only quitting (and esc) act."""
        if action in ("quit", "help"):
            return True
        if action in ("skip_guess", "leave") and self.session.pending is not None:
            return True  # esc shows the hidden result
        if action == "skip_guess":
            return False
        if self.session.pending is not None or self._editing():
            return None if action in ("next", "back", "edit", "save") else False
        return super().check_action(action, parameters)

    # ------------------------------------------------------------------ e: one element

    def action_edit(self) -> None:
        s = self.session
        target = s.edit_target()
        if target is not None:
            self._open_editor(*target)
            return
        written = [i for i in s.graph.inputs if i.generated is None] or list(s.graph.inputs)
        first = next((i for i in written if i.name in s.graph.params), written[0])  # a parameter, if one is written
        suggestion = element_label(first.name, (0, 0) if first.value.ndim else ())
        names = ", ".join(f"{i.name} ({te.shape_text(i.shape)})" for i in s.graph.inputs)
        self.push_screen(ElementScreen(f"The cursor is on no input's element (it is on a backward step into an "
                                       f"input, or on an input opened from the tree). Inputs: {names}.", suggestion), self._element_chosen)

    def _element_chosen(self, text: str | None) -> None:
        if text is None:
            self.say("Nothing to edit: esc.")
            return
        try:
            name, index = parse_element(self.session.graph, text)
        except ValueError as err:
            self.say(f"{err}; nothing changed.")
            return
        self._open_editor(name, index)

    def _open_editor(self, name: str, index: Index) -> None:
        s = self.session
        try:
            s.editable(name)
        except ValueError as err:
            self.say(f"{err}.")
            return
        label = element_label(name, index)
        self._edit_at = (name, index)
        # every digit (value_text: the shortest text that reads back as the same float)
        self.query_one(InputEditor).open(label, s.value_of(name, index))
        self.say(f"Editing {label}: type a number, enter commits, esc cancels.")

    def _edit_gone(self, label: str) -> bool:
        """Whether the element an editor message names is no longer there (a reload took it); if so, say so."""
        at = self._edit_at
        if at is not None and element_label(*at) == label:
            name, index = at
            item = self.session.graph.input_by_name.get(name)
            if item is not None and item.generated is None and len(index) == item.value.ndim \
                    and all(k < n for k, n in zip(index, item.value.shape)):
                return False
        self._close_editor()
        self.say(f"{label} is no longer an element of an input written in the file (it was reloaded): nothing changed.")
        return True

    @on(InputEditor.ValueEdited)
    def _element_edited(self, event: InputEditor.ValueEdited) -> None:
        event.stop()
        if self._edit_gone(event.name):
            return
        name, index = self._edit_at
        s = self.session
        try:
            edit = s.set_element(name, index, event.value)
        except (ValueError, IndexError, KeyError) as err:
            self.say(f"{err}; {event.name} stays {tx.num(s.value_of(name, index))}.")
            return
        self._close_editor()
        if edit is None:
            self.say(f"{event.name} stays {value_text(event.value)}: nothing changed.")
            return
        self.recomputed()  # the panels forget the old walk's nudge and check
        shown = tx.num if tx.num(edit.old) != tx.num(edit.new) else value_text  # 10 digits may not tell them apart
        out = s.graph.output
        self.say(f"{edit.label}: {shown(edit.old)} → {shown(edit.new)}. Everything recomputed;"
                 f" {out} {tx.num(edit.before)} → {tx.num(edit.after)}.")

    @on(InputEditor.Refused)
    def _element_refused(self, event: InputEditor.Refused) -> None:
        event.stop()
        if self._edit_gone(event.name):
            return
        self.say(f"{event.reason}; {event.name} stays {tx.num(self.session.value_of(*self._edit_at))}.")

    @on(InputEditor.Cancelled)
    def _element_cancelled(self, event: InputEditor.Cancelled) -> None:
        event.stop()
        if self._edit_gone(event.name):
            return
        value = self.session.value_of(*self._edit_at)
        self._close_editor()
        self.say(f"Edit cancelled; {event.name} stays {tx.num(value)}.")

    # ------------------------------------------------------------------ w, and the file changing on disk

    async def action_save(self) -> None:
        await self.sync.save()

    def check_disk(self, force: bool = False):
        """Reload the graph file if it changed on disk (:meth:`FileSync.check`); the poll calls it."""
        return self.sync.check(force)

    def adopt(self, new: LoadedGraph) -> None:
        """Show a new version of the graph file, reloaded by :class:`TensorFileSync`."""
        s = self.session
        editing = element_label(*self._edit_at) if self._edit_at is not None and self._editing() else None
        changes = s.replace_graph(new)
        if editing is not None:
            name, index = self._edit_at
            item = s.graph.input_by_name.get(name)
            if item is None or item.generated is not None or item.value.ndim != len(index) \
                    or any(k >= n for k, n in zip(index, item.value.shape)):
                self._close_editor()
                changes.append(f"{editing} is no longer an element written in the file, so its edit is closed")
        if self._guessing():
            self.query_one(InputEditor).close()
            self._focus_walk()
        self.replace_session(s)  # the tree and the picture are built again for the new graph
        self.say(f"Reloaded {new.source}: {'; '.join(changes) if changes else 'nothing in the graph changed'}.")

    async def action_quit(self) -> None:
        """Quit; with unsaved edits, only when asked twice."""
        s = self.session
        if s.unsaved and not self._quit_armed:
            self.say(f"Unsaved changes ({', '.join(s.unsaved_names())}): q again quits without saving them, w saves.")
            self._quit_armed = True
            return
        self.exit()

    # ------------------------------------------------------------------ d, - and +: gradient descent

    def action_descend(self) -> None:
        s = self.session
        try:
            step = s.descend()
        except ValueError as err:
            self.say(f"d: {err}.")
            return
        self.recomputed()
        name, index, change = step.largest
        out = s.graph.output
        self.say(f"Descent step {step.number} with α = {tx.num(step.alpha)}: "
                 f"{', '.join(f'{p} −= α·{tx.d(out, p)}' for p in step.params)} (the largest change: "
                 f"{tx.num(change)} in {element_label(name, index)}); {out} {tx.num(step.before)} → {tx.num(step.after)}.")

    def action_alpha_down(self) -> None:
        self._scale_alpha(0.5)

    def action_alpha_up(self) -> None:
        self._scale_alpha(2.0)

    def _scale_alpha(self, factor: float) -> None:
        s = self.session
        if not s.graph.params:
            self.say("α is the learning rate of d, and this graph marks no params: list inputs under params: to train them.")
            return
        if not s.scale_alpha(factor):
            edge, end = (ALPHA_MIN, "smallest") if factor < 1 else (ALPHA_MAX, "largest")
            self.say(f"α = {tx.num(edge)} is the {end} cgtui offers.")
            return
        self.say(f"α = {tx.num(s.alpha)} (the learning rate of d)")

    # ------------------------------------------------------------------ g: predict mode

    def action_predict(self) -> None:
        s = self.session
        s.set_predicting(not s.predicting)
        if s.predicting:
            self.say("Predict mode: n hides each step's result until you guess its shape (such as 2x1) or the"
                     " element under the cursor (enter); esc shows it. f reveals without asking; g turns it off.")
        else:
            self.say("Predict mode off: every step shows its result.")

    @on(ShapeOrNumberGuessed)
    def _guessed(self, event: ShapeOrNumberGuessed) -> None:
        event.stop()
        s = self.session
        if s.pending is None:  # the file was reloaded meanwhile
            return
        try:
            answer = s.guess(event.text)
        except ValueError as err:
            self._guess_refused(ShapeOrNumberRefused(str(err)))
            return
        self.say(answer.text)

    @on(ShapeOrNumberRefused)
    def _guess_refused(self, event: ShapeOrNumberRefused) -> None:
        event.stop()
        self.say(f"{event.reason}; type your guess again, or esc to see the answer.")

    @on(ShapeOrNumberCancelled)
    def _guess_cancelled(self, event: ShapeOrNumberCancelled) -> None:
        event.stop()
        self.action_skip_guess()

    def action_skip_guess(self) -> None:
        """esc: show the hidden result, unscored."""
        s = self.session
        if s.pending is None:
            return
        self.say(s.guess(None).text)
