"""The cgtui app: owns the session, binds the step keys, hands state down to the views.

Its keys are ``CgtuiApp.BINDINGS`` (and ``GraphTree.BINDINGS``): each says what it does there,
and the help page is built from them.
"""

from __future__ import annotations

import functools
import gc
import inspect
import time
import weakref
from collections.abc import Callable
from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import App, ComposeResult, ScreenStackError
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Input, Tree
from textual.worker import Worker, get_current_worker

from engine import text as tx
from engine.graphfile import LoadedGraph, same_float, value_text
from engine.safe import printable
from engine.session import ALPHA_MAX, ALPHA_MIN, H_MAX, H_MIN, DebugSession
from engine.tape import tape_of
from tui.keys import Key
from tui.sync import FileSync
from tui.widgets.editor import InputEditor
from tui.widgets.graph_tree import GraphTree, NodeRef, step_node
from tui.widgets.keyline import KeyLine, shown_keys
from tui.widgets.picture import PictureView
from tui.widgets.panels import FdPanel, StepPanel, TextView, TooSmall, Transcript, across_the_boundary

# The help and "why" pages and engine.paths are imported when first
# opened: the first frame does not need them, and every module costs startup time.

SCALES = {"h_down": ("h", 0.1), "h_up": ("h", 10.0), "alpha_down": ("alpha", 0.5), "alpha_up": ("alpha", 2.0)}
"""The actions that scale h or α: what each multiplies, and by how much."""
BOUNDS = {"h": (H_MIN, H_MAX), "alpha": (ALPHA_MIN, ALPHA_MAX)}


def waits_for_edit(key: str):
    """Refuse the action, saying why, while an edit of a big graph is worked out in a worker.

    These keys move through the walk or change it (or save the inputs): taken meanwhile, they
    would act on numbers about to be replaced, or make the edit stale. The user presses them
    again once the message line says the edit is done.
    """
    def wrap(action):
        if inspect.iscoroutinefunction(action):
            @functools.wraps(action)
            async def waiting(self, *args):
                if self._refused_during_edit(key):
                    return None
                return await action(self, *args)
        else:
            @functools.wraps(action)
            def waiting(self, *args):
                if self._refused_during_edit(key):
                    return None
                return action(self, *args)
        return waiting
    return wrap


class JobCancelled(Exception):
    """Raised in a worker thread once esc has cancelled its job."""


def _why(walk, name: str, tick=None, notation: tx.Notation = tx.PARTIAL) -> tuple:
    """The paths to ``name`` and their text (in a worker thread, for a big graph: nothing here touches the screen)."""
    from engine.paths import why_gradient

    why = why_gradient(walk, name, tick=tick)
    head, paths, foot = tx.why_parts(why, walk.graph.output, notation)
    named = [(lines, tx.path_names(path)) for lines, path in zip(paths, why.paths)]
    return walk, name, why, head, named, foot


class CgtuiApp(App[None]):
    """Steps through one graph. Build it with an already-loaded session."""

    CSS_PATH = "app.tcss"
    TITLE = "cgtui"
    ENABLE_COMMAND_PALETTE = False
    # Below 60 × 15 the screen gets -narrow or -short and app.tcss shows "too small" instead;
    # while it does, every key but quit is ignored (see check_action and _too_small_shown).
    MIN_WIDTH, MIN_HEIGHT = 60, 15
    SIDE_BY_SIDE = 150
    """From this many columns the picture view shows the tree beside the picture."""
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (MIN_WIDTH, "-wide-enough"), (SIDE_BY_SIDE, "-side-by-side")]
    VIEWS = ("tree", "picture")
    # from 36 lines the finite-difference panel may take more of the column (the chain in nudges)
    VERTICAL_BREAKPOINTS = [(0, "-short"), (MIN_HEIGHT, "-tall-enough"), (36, "-tall")]
    SAVE_HINT: ClassVar[str] = "w saves"
    """How the quit prompt says to keep unsaved edits (a browser session downloads them)."""

    # The one key table: the key line shows each description, the help page each help line
    # (grouped by section); a key added here is on both. GraphTree.BINDINGS adds the tree's keys.
    BINDINGS: ClassVar[list[BindingType]] = [
        Key("n", "next", "Next", section="Stepping",
            help="next step: forward node by node, then backward edge by edge"),
        Key("right", "next", "Next", show=False),
        Key("p", "previous", "Back", section="Stepping", help="previous step (every step can be undone)"),
        Key("left", "previous", "Back", show=False),
        Key("f", "finish", "Finish", section="Stepping",
            help="finish the pass (after the forward pass: the backward pass)"),
        Key("r", "reset", "Reset", show=False, section="Stepping", help="reset to the start"),
        Key("b", "breakpoint", "Breakpoint", show=False, section="Stepping",
            help="breakpoint on the cursor's node (■): stop before its value and its gradient"),
        Key("c", "continue", "Continue", show=False, section="Stepping",
            help="continue to the next breakpoint or the end of the pass"),
        Key("t", "run_to", "Run to cursor", show=False, section="Stepping",
            help="run to the cursor's node: its value, then its complete gradient"),
        Key("e", "edit", "Edit input", section="Inputs and the file",
            help="edit the input under the cursor (enter commits, esc cancels)"),
        Key("left_square_bracket", "h_down", "h÷10", show=False, section="Finite differences",
            help=f"h ÷ 10, h × 10 (from {H_MIN:g} to {H_MAX:g})"),
        Key("right_square_bracket", "h_up", "h×10", show=False, help_with="h_down"),
        Key("w", "save", "Save", section="Inputs and the file",
            help="save the inputs into the graph file (its layout kept)"),
        Key("y", "why", "Why this gradient?", show=False, section="Understanding",
            help="why this gradient: every path down to the node, and their sum"),
        Key("g", "predict", "Predict", show=False, section="Understanding",
            help="predict: each number hidden until you guess it (esc shows it)"),
        Key("s", "sweep", "h sweep", show=False, section="Understanding",
            help="the h sweep: both estimates' error against h, for the cursor's node"),
        Key("d", "descend", "Descend", show=False, section="Gradient descent (graphs with params:)",
            help="w := w − α ∂J/∂w on every parameter, recompute, plot J"),
        Key("minus", "alpha_down", "α÷2", show=False, section="Gradient descent (graphs with params:)",
            help="α ÷ 2 / α × 2 (the file's alpha:, or 0.1)"),
        Key("plus,equals_sign", "alpha_up", "α×2", show=False, help_with="alpha_down"),
        Key("full_stop", "show_step", "Current step's node", show=False, section="The tree",
            help="the cursor to the current step's node, expanding lines"),
        Key("l", "follow", "Follow the steps", show=False, section="The tree",
            help="follow mode: the cursor goes to each step's node"),
        Key("z", "full_digits", "Every digit of the estimates", show=False, section="Finite differences",
            help="the estimates to every digit, or rounded where rounding starts"),
        Key("o", "notation", "Notation", show=False, section="The classroom",
            help="notation: ∂J/∂w → dJ/dw (the page's) → dw (code: dw is dJ/dw)"),
        Key("P", "present", "Present", show=False, section="The classroom",
            help="presentation mode: more space, no transcript, high contrast"),
        Key("x", "screenshot", "Save SVG", show=False, section="The classroom",
            help="save the screen as an SVG file (a fresh name)"),
        Key("v", "view", "Picture", show=False, section="The tree",
            help="the picture: the graph left to right as the lecture draws it (↑ ↓ its nodes)"),
        Key("question_mark", "help", "Help", section="App", help="this help"),
        Key("q", "quit", "Quit", section="App", help="quit (with unsaved edits: press q twice)"),
        Key("ctrl+q", "quit", "Quit", show=False, priority=True),
        # esc: listed with g (it shows a guessed step's answer); it also cancels y or an edit worked out in a thread
        Key("escape", "skip_guess", "Show the answer", show=False, help_with="predict"),
    ]

    # repaint=False: each view repaints what it changes; the default would repaint
    # the whole screen once more after every change
    revision: reactive[int] = reactive(0, init=False, repaint=False)
    """Bumped whenever the session changes; the views redraw from it."""
    selected: reactive[str | None] = reactive(None, init=False, repaint=False)
    """The variable under the cursor, which the finite-difference panel nudges: the name on the tree
    cursor's line, kept while the cursor is on a heading (which names none; keys that act on the
    cursor's node read :attr:`cursor_name` and ask for a node there). Only the tree's cursor sets
    it: a view that wants another variable calls :meth:`select`, which moves the cursor."""

    POLL_SECONDS = 1.0
    """How often the graph file is checked for changes made elsewhere."""

    def __init__(self, session: DebugSession, *, watch_file: bool = True, present: bool = False) -> None:
        """
        Args:
            session: The session to show, already loaded.
            watch_file: Reload the graph file when it changes on disk.
            present: Open in presentation mode (``--present``).
        """
        super().__init__()
        self._frozen_graph: weakref.ref | None = None  # the big graph :meth:`_freeze` froze, if any
        self._present_at_start = present
        self.session = session
        self.watch_file = watch_file
        self.message = ""
        self._quit_armed = False
        self._held: list[events.Key] | None = None
        """Keys typed after enter or esc in the editor, until its answer is taken (see _hold_key)."""
        self.full_digits = False
        """z: the finite-difference estimates to every digit (float rounding's tail included)."""
        self._editor: InputEditor | None = None
        self._descent_drawn: tuple[list[float], int] | None = None
        """Which descent run (the list itself), and how many of its steps, the plot shows."""
        self._warned: frozenset[str] = frozenset()
        """The warnings revealed when the screen was last drawn (each is said once when it appears)."""
        self._job: Worker | None = None
        """Long work started by a key (y on a big graph), which esc cancels."""
        self._edit_job: tuple[str, float, float] | None = None
        """The edit (name, old, new) whose recompute the job (``_job``) works out, on a big graph."""
        self._descent_job: object | None = None
        """The descent step (d) the job works out, on a big graph (a token its result names)."""
        self.view = "tree"
        """Which view of the graph is shown: "tree", or "picture" (with the tree beside it when wide)."""
        self.sync = FileSync(self)
        """The graph file: the poll, reloads and saves."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TextView(id="title")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Horizontal(id="views"):
                    yield GraphTree(self.session, id="tree")
                    yield PictureView(self.session, id="picture")
                yield TextView(id="detail")  # the line under the cursor in full, and its note
                yield Vertical(id="descent")  # the plot is mounted here on the first d
            with Vertical(id="right"):
                # in scrolling boxes: on a short screen a panel scrolls (mouse wheel) instead of
                # being cut, and the transcript keeps its lines
                with VerticalScroll(id="step", can_focus=False):
                    yield StepPanel()
                with VerticalScroll(id="fd", can_focus=False):
                    yield FdPanel()
                yield Transcript(id="transcript")
        editor = InputEditor(id="editor")
        editor.display = False
        yield editor
        yield TextView(id="message")
        # two short lines, so "60 × 15" is never split
        yield TooSmall(Text(f"The terminal is too small for cgtui:\nmake it at least"
                            f" {self.MIN_WIDTH} × {self.MIN_HEIGHT}.", style="bold"), id="too-small")
        yield KeyLine(shown_keys(self), id="keys")  # drawn in the first frame, as it is then

    def on_mount(self) -> None:
        self.query_one("#step").border_title = "Step"
        self.query_one("#fd").border_title = "Finite differences"
        self.query_one("#transcript").border_title = "Transcript"
        self.query_one("#left").border_title = "Graph"
        tree = self.query_one(GraphTree)
        tree.focus()
        # the cursor starts on the first input (the first thing the panels can say something
        # about), if its line is built already; without the watcher, which would draw
        # everything once before the redraw below
        graph = self.session.graph
        start = tree.first_input() or graph.output
        if start != graph.output:
            tree.select_name(start)
        self.set_reactive(CgtuiApp.selected, start)
        if self.watch_file:
            self.set_interval(self.POLL_SECONDS, self.check_disk)
        hidden = len(self.session.walk.warnings) - len(self.session.warnings_shown())
        if hidden:
            self.message = (f"⚠ {hidden} warning{'s' if hidden != 1 else ''} in this walk (a number that is not"
                            " finite): each is marked ⚠ beside its node when the steps reach it.")
        elif self.session.graph.description:  # the file's own words about the graph, until the first message
            self.message = printable(" ".join(self.session.graph.description.split()), one_line=True)
        self._show_notation()
        if self._present_at_start:
            self.presenting = True
        if self.view != "tree":  # asked for before the screen was built (set_view)
            self.set_view(self.view)
            self.call_later(self._focus_view)  # after the tree's focus() above, which is deferred
        self.redraw()
        self._freeze()

    def _freeze(self) -> None:
        """Put a big graph, its tape and the tree's lines out of the collector's reach: they live as
        long as the app, and a full collection walking them took 0.1–0.8 s at a random key on a
        100,000-node graph. (Small graphs are left alone: frozen objects are never collected.)

        Collected first, so that no garbage is frozen; and when the graph is a new one (a reload),
        what was frozen before is thawed first: the graph it replaces and its tape refer to each
        other, so only the collector frees them, and frozen they would stay for good. A new walk of
        the same graph (an edit, a descent step) is frozen once drawn, with what drawing it made."""
        graph = self.session.graph
        frozen = self._frozen_graph() if self._frozen_graph is not None else None
        replaced = self._frozen_graph is not None and frozen is not graph
        if replaced:
            gc.unfreeze()  # collected and frozen again once drawn, when the old tree's lines are gone
        big = len(graph.names) > FdPanel.INLINE_LIMIT
        self._frozen_graph = weakref.ref(graph) if big else None
        if big and frozen is not graph:  # (an edit's or a descent step's walk: frozen once drawn, below)
            # the backward steps' indexes of edges by parent, and each edge's node and operand, built
            # now to be frozen with the rest: the first steps into the backward pass built them (50-100
            # ms on a 100k graph, in a key; the edges' nodes 17-34 ms more since the tape makes them
            # when first asked), and every full collection after that walked their lists (47,000 on
            # the 100k DAG: +20-60 ms)
            tape = tape_of(graph)
            tape.edges_of_parent, tape.edges_of_name, tape.edge_node  # noqa: B018 (cached properties: built here)
            if not replaced:
                gc.collect()
                gc.freeze()
        if big or replaced:
            self.call_after_refresh(self._freeze_drawn)

    def _freeze_drawn(self) -> None:
        """Once the screen is drawn, freeze what drawing it built: the tree's lines are laid out when first
        drawn (8,000 lines and their paths on the 100k chain, with Textual's caches of the lines drawn, ~38,000
        objects), after the freeze above, and every full collection walked them: 6-17 ms of CPU (32 ms
        inside a step, wall time, under load) against ~1-3 ms once frozen. Collected first, so that no
        garbage already made is frozen (frozen objects are never collected)."""
        gc.collect()
        gc.freeze()

    # ------------------------------------------------------------------ state down

    def redraw(self) -> None:
        """Bump the revision so every view draws the session again."""
        self.revision += 1

    def watch_revision(self) -> None:
        session = self.session
        if session.pending is None and self._editing() and self._editor.guessing:
            self._close_editor()  # its question was answered elsewhere, or the graph changed
        # the title and the file name come from the file: shown with their control characters escaped
        title = printable(session.graph.title or "computation graph", one_line=True)
        unsaved = ("[unsaved edits]  ", "bold") if self._unsaved() else ""
        self.query_one("#title", TextView).show_text(Text.assemble(
            ("cgtui", "bold"), "  ", (title, "bold"), "   ", unsaved, (printable(session.source, one_line=True), "italic")))
        tree = self.query_one(GraphTree)
        tree.follow()
        tree.redraw()
        if self.view == "picture":
            self.query_one(PictureView).redraw()
        self._show_detail()
        self.query_one(StepPanel).show(session)
        self.query_one(Transcript).show(session)
        self.query_one(FdPanel).show(session, self.selected, self.full_digits)
        fd_title = f"Finite differences: {self.selected}" if self.selected else "Finite differences"
        if self.query_one("#fd").border_title != fd_title:
            self.query_one("#fd").border_title = fd_title
        self._announce_warnings()
        self.query_one("#message", TextView).show_text(Text(self.message))
        self._show_descent()
        self._show_keys()

    def _show_keys(self) -> None:
        """The key line, drawn again only when which keys can act changed."""
        self.query_one(KeyLine).show(shown_keys(self))

    def _unsaved(self) -> bool:
        """``session.unsaved``, worked out again only when the session holds new input dicts: it compares
        every input (92,000 on an MLP whose weights are params: ~50 ms, on every redraw). The session
        replaces ``inputs`` and ``saved_inputs`` whenever a value changes; it never edits them in place."""
        s = self.session
        known = self._unsaved_known
        if known is None or known[0] is not s.inputs or known[1] is not s.saved_inputs:
            known = self._unsaved_known = (s.inputs, s.saved_inputs, s.unsaved)
        return known[2]

    _unsaved_known: tuple[dict, dict, bool] | None = None

    def _announce_warnings(self) -> None:
        """Put the warnings that just appeared (by a step, an edit or a reload) first on the message line."""
        shown = self.session.warnings_shown()
        if not shown and not self._warned:
            return
        new = [w.text for w in shown if w.text not in self._warned]
        self._warned = frozenset(w.text for w in shown)
        if new:
            more = f" (and {len(new) - 1} more, marked ⚠ in the tree)" if len(new) > 1 else ""
            self.message = f"⚠ {new[0]}{more}" + (f"\n{self.message}" if self.message else "")

    def watch_selected(self) -> None:
        self.redraw()

    @property
    def too_small(self) -> bool:
        """Whether the screen shows only the "too small" message (keys but quit are ignored)."""
        width, height = self.size
        return width < self.MIN_WIDTH or height < self.MIN_HEIGHT

    @on(TooSmall.Shown)
    def _too_small_shown(self) -> None:
        # Textual drops the focus of a widget the screen hides: nothing can take keys now
        self.set_focus(None)
        self._show_keys()  # every key but quit is left out

    @on(TooSmall.Hidden)
    def _too_small_hidden(self) -> None:
        """The panels are back: the focus returns to the open field, or to the tree."""
        if self._editing():
            self.set_focus(self.query_one(InputEditor).query_one(Input))
        else:
            self._focus_view()
        self._show_keys()

    def say(self, message: str) -> None:
        """Show one line under the panels until the next message.

        File names and refusals quoting a file may hold control characters: they are shown escaped.
        """
        self.message = printable(message, one_line=True)
        self._quit_armed = False
        self.redraw()

    # ------------------------------------------------------------------ messages up

    async def on_event(self, event: events.Event) -> None:
        """Run a key's binding at once when the tree has the focus, in the order keys came.

        Textual forwards each key to the widget focused when the key is dequeued, and the
        binding runs later, in that widget's queue. In a burst ("e 8 enter" from a paste,
        tmux send-keys or a fast typist) the 8 and the enter were forwarded to the tree
        before e's action had moved the focus to the editor, and were lost. Running the
        tree's and the app's bindings here, in the app's queue, moves the focus before the
        next key is looked at; keys for a focused field are forwarded as usual.

        A key whose binding is greyed out now (p at the start) is dropped here too, as it
        would be if it were handled now: forwarded, it would reach the bindings only after
        the keys behind it had run, be checked again then, and run out of order ("r f" at the
        start reset the pass f had just finished).
        """
        if isinstance(event, events.Key) and not event.is_forwarded and self._hold_key(event):
            return
        if isinstance(event, events.Key) and not event.is_forwarded and isinstance(self.focused, (GraphTree, PictureView)):
            active = self.screen.active_bindings.get(event.key)
            if active is not None and not active.binding.priority:
                event.stop()
                if active.enabled:
                    await self.run_action(active.binding.action, active.node)
                return
        await super().on_event(event)

    def _hold_key(self, event: events.Key) -> bool:
        """Hold the keys that come after enter or esc in the editor until the editor's answer is taken.

        The field's answer (committed, refused, cancelled) reaches the app as a message, after
        the keys behind it have been typed into the still-open field: "e 9 enter n" gave
        "'9n' is not a number". Held keys are posted again, in order, once the answer is taken
        (:meth:`_release_keys`); True when ``event`` was held.
        """
        if self._held is not None:
            event.stop()
            self._held.append(event)
            return True
        if event.key in ("enter", "escape") and self._editing() and self.focused is self._editor.query_one(Input):
            self._held = []
            self._hold_timer = self.set_timer(2.0, self._release_keys)  # should the answer never come (0.5 s ran out under load)
        return False

    _hold_timer = None

    def _release_keys(self) -> None:
        if self._hold_timer is not None:  # a stale timer must not release a later hold's keys early
            self._hold_timer.stop()
            self._hold_timer = None
        held, self._held = self._held, None
        for key in held or ():
            self.post_message(events.Key(key.key, key.character))

    @on(Tree.NodeHighlighted)
    def _cursor_moved(self, event: Tree.NodeHighlighted) -> None:
        ref: NodeRef | None = event.node.data
        tree = self.query_one(GraphTree)
        # in the picture view the tree's cursor moves by itself as the tree loses its height: that
        # is nobody's choice (the picture moves the selection through select(); beside it, the
        # tree does when it has the keys)
        if ref is not None and ref.name is not None and (self.view == "tree" or self.focused is tree):
            self.selected = ref.name
        self._show_detail()

    def _show_detail(self) -> None:
        """The line under the cursor in full, under the tree. It keeps its height while the cursor stays
        on a line (and, at the pass boundary, the height the line takes across it): a change of height
        resizes the tree, and the screen is laid out and drawn again (three frames on a narrow screen,
        where the output's line wraps once its gradient shows)."""
        tree = self.query_one(GraphTree)
        across = across_the_boundary(self.session)
        self.query_one("#detail", TextView).show_tallest(
            tree.detail(), (self.session, self.session.graph, tree.cursor_node),
            also=[tree.detail(across)] if across is not None else [])

    # ------------------------------------------------------------------ the views

    def set_view(self, name: str) -> None:
        """Show the graph as a tree or as the lecture's picture (``name``: "tree" or "picture").

        The picture takes the keys (↑ ↓ move through the nodes); from
        :attr:`SIDE_BY_SIDE` columns the tree stays beside it.
        """
        if name not in self.VIEWS:
            raise ValueError(f"unknown view {name!r} (choose from {', '.join(self.VIEWS)})")
        self.view = name
        try:
            picture = self.query_one(PictureView)
        except (ScreenStackError, NoMatches):
            return  # before the screen is built: on_mount shows it

        self.query_one("#left").set_class(name == "picture", "-picture")
        picture.display = name == "picture"
        self._show_graph_title()
        if not self._editing() and not self.too_small:
            self._focus_view()
        self.redraw()

    def _show_graph_title(self) -> None:
        """The Graph panel's title: the view shown, and follow mode when it is on."""
        title = "Graph: picture (↑ ↓ move, v tree)" if self.view == "picture" else "Graph"
        if self.query_one(GraphTree).following:
            title += " · follow (l)"
        self.query_one("#left").border_title = title

    def action_view(self) -> None:
        """v: the tree ↔ the picture."""
        self.set_view("picture" if self.view == "tree" else "tree")
        if self.view == "picture":
            self.say("The picture: ↑ ↓ move through the nodes, j to the current step's node; v back to the tree.")
        else:
            self.say("")

    @on(InputEditor.ValueEdited)
    @on(InputEditor.Refused)
    @on(InputEditor.Cancelled)
    @on(InputEditor.Guessed)
    @on(InputEditor.GuessRefused)
    @on(InputEditor.GuessCancelled)
    def _editor_answered(self, event: Message) -> None:
        """Take the editor's answer, then the keys typed after it (held meanwhile)."""
        {InputEditor.ValueEdited: self._value_edited, InputEditor.Refused: self._value_refused,
         InputEditor.Cancelled: self._edit_cancelled, InputEditor.Guessed: self._guess_committed,
         InputEditor.GuessRefused: self._guess_refused, InputEditor.GuessCancelled: self._guess_cancelled,
         }[type(event)](event)
        self._release_keys()

    def _value_edited(self, event: InputEditor.ValueEdited) -> None:
        if self._vanished(event.name):
            return
        old = self.session.inputs[event.name]
        if same_float(old, event.value):  # committed unchanged: the walk, the descent run and the score stay
            self._close_editor()
            self.say(f"{event.name} stays {tx.num(old)}: nothing changed.")
            return
        self._close_editor()
        if len(self.session.graph.names) <= FdPanel.INLINE_LIMIT:
            values, grads = self.session.set_input(event.name, event.value)
            self._say_edited(event.name, old, event.value, values, grads)
            return
        self._edit_in_worker(event.name, old, event.value)

    def _edit_in_worker(self, name: str, old: float, value: float) -> None:
        """Recompute a big graph for an edit in a worker thread (esc cancels); the UI thread applies it.

        The worker only reads the session (:meth:`DebugSession.plan_edit`); the session takes
        the result on the UI thread, unless an edit, a reload or a step came meanwhile.
        While it runs the keys that move or change the walk are refused with a message
        (see :func:`waits_for_edit`).
        """
        session = self.session
        base = session.walk  # the walk the edit was made on: a result from any other is stale
        what = f"{name}: {tx.num(old)} → {tx.num(value)}"
        job = self._edit_job = (name, old, value)
        self.say(f"Recomputing everything for {what} … (esc cancels the edit)")

        def work() -> None:
            tick = self._ticker(lambda done: f"Recomputing everything for {what} … {done} % (esc cancels the edit)")
            # a collection meanwhile walks every object made since the last gc.freeze (0.05-0.13 s
            # a time, with the GIL held): the walk made here is freed by reference counts, and
            # frozen once applied
            collecting = gc.isenabled()
            gc.disable()
            try:
                recomputed = session.plan_edit(name, value, tick)
            except JobCancelled:
                return
            finally:
                if collecting:
                    gc.enable()
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self._edit_worked_out, recomputed, job, base)

        self._job = self.run_worker(work, thread=True, exclusive=True, group="job", name="edit", exit_on_error=False)

    def _edit_worked_out(self, recomputed, job: tuple[str, float, float], base) -> None:
        """Take an edit worked out in a worker, unless the session moved on meanwhile (then say so)."""
        if self._edit_job is not job:  # esc came after the worker had finished, before this ran
            return
        self._job = None
        self._edit_job = None
        name, old, value = job
        if recomputed.base is not base or not self.session.apply(recomputed):
            self.say(f"The edit {name} = {tx.num(value)} was not applied: the graph changed while it was"
                     f" worked out (reloaded); {name} = {tx.num(self.session.inputs.get(name, old))}. Edit it again.")
            return
        self._freeze()  # the new walk lives as long as the last one did
        self._say_edited(name, old, value, recomputed.value_changes, recomputed.grad_changes)

    def _refused_during_edit(self, key: str) -> bool:
        """Whether an edit or a descent step is being worked out; if so, say that ``key`` must wait for it."""
        if not self._edit_running():
            return False
        if self._edit_job is None:
            self.message = f"Still working out the descent step: press {key} again once it is done (esc cancels it)."
        else:
            name, _, value = self._edit_job
            self.message = (f"Still recomputing everything for {name} = {tx.num(value)}: press {key} again once"
                            f" it is done (esc cancels the edit).")
        self.query_one("#message", TextView).show_text(Text(self.message))
        return True

    def _edit_running(self) -> bool:
        return (self._edit_job is not None or self._descent_job is not None) and self._job_running()

    def _say_edited(self, name: str, old: float, value: float, values: dict, grads: dict) -> None:
        out = self.session.graph.output
        changed = len(values) + len(grads) - (1 if name in values else 0)
        note = f"; {changed} revealed number{'s' if changed != 1 else ''} changed (old → new)" if changed else ""
        shown = tx.num if tx.num(old) != tx.num(value) else value_text  # 10 digits may not tell them apart
        self.say(f"{name}: {shown(old)} → {shown(value)}. Everything recomputed{note}."
                 + (f" {out} = {tx.num(self.session.value(out))}." if self.session.value_shown(out) else ""))

    def _value_refused(self, event: InputEditor.Refused) -> None:
        if self._vanished(event.name):
            return
        self.say(f"{event.reason}; {event.name} stays {tx.num(self.session.inputs[event.name])}.")

    def _edit_cancelled(self, event: InputEditor.Cancelled) -> None:
        if self._vanished(event.name):
            return
        self._close_editor()
        self.say(f"Edit cancelled; {event.name} stays {tx.num(self.session.inputs[event.name])}.")

    def _guess_committed(self, event: InputEditor.Guessed) -> None:
        self._guessed(event.value)

    def _guess_refused(self, event: InputEditor.GuessRefused) -> None:
        self.say(f"{event.reason}; type your guess again, or esc to see the answer.")

    def _guess_cancelled(self, event: InputEditor.GuessCancelled) -> None:
        self._guessed(None)

    def _vanished(self, name: str) -> bool:
        """Whether the input an editor message names is gone (the file was reloaded meanwhile); if so, say so.

        The reload closes an editor whose input went, but a message posted just before it can
        still arrive after it.
        """
        if name in self.session.inputs:
            return False
        if self._editing() and self._editor.name_edited is not None:
            self._close_editor()
        self.say(f"{name} is no longer an input (the file was reloaded): nothing was changed.")
        return True

    def action_skip_guess(self) -> None:
        """Escape with the focus away from the guess field: cancel long work (y), or show the answer, unscored."""
        if self._job_running():
            self._job.cancel()
            self._job = None
            if self._edit_job is not None:
                name, old, value = self._edit_job
                self._edit_job = None
                self.say(f"Edit cancelled; {name} stays {tx.num(old)} (not {tx.num(value)}).")
            elif self._descent_job is not None:
                self._descent_job = None
                self.say("Descent step cancelled: nothing changed.")
            else:
                self.say("Cancelled.")
            return
        self._guessed(None)

    def _guessed(self, value: float | None) -> None:
        """Judge the guess (None: esc, show it unscored) and reveal the step."""
        self._close_editor()
        if self.session.pending is None:  # the graph was reloaded meanwhile
            return
        answer = self.session.guess(value)
        self.say(tx.verdict(answer, self.session.current, self.session.graph.output, self.session.notation))

    def _close_editor(self) -> None:
        self.query_one(InputEditor).close()
        # at once, not after the queued keys (focus() would): the keys held behind enter go to the view
        self._focus_view()

    def _focus_view(self) -> None:
        """Give the keys to the view shown: the picture, or the tree. Now, not after the keys already
        queued (``focus()`` would): in a burst ("v ↑ ↑ e") the ↑ after v belong to the picture."""
        view = self.query_one(PictureView) if self.view == "picture" else self.query_one(GraphTree)
        view.screen.set_focus(view)

    # ------------------------------------------------------------------ actions

    def _editing(self) -> bool:
        editor = self._editor
        if editor is None:  # before compose, or on another screen's turn
            found = self.query(InputEditor)
            editor = self._editor = found.first() if found else None
        return editor is not None and editor.display

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what cannot happen now (None greys a key on the key line, False leaves it out)."""
        s = self.session
        if self.too_small and action != "quit":
            return False  # the screen shows only "too small": nothing may happen unseen
        if action == "skip_guess":
            return s.pending is not None or self._job_running()
        if action in ("notation", "screenshot", "present"):
            return True  # they change how things are written or shown, never the walk: even mid-guess
        if s.pending is not None and action not in ("quit", "help"):
            return None if action in ("next", "previous", "finish", "edit", "save") else False  # guess first
        if self._editing() and action not in ("quit", "help"):
            return None if action in ("next", "previous", "finish", "edit") else True
        if action in ("next", "finish", "continue"):
            return None if s.at_end else True
        if action in ("previous", "reset"):
            return None if s.position == 0 else True
        if action in SCALES and SCALES[action][0] == "alpha" and not s.graph.params:
            return None  # no params: there is no learning rate to change
        return True

    # check_action greys these out where they cannot happen, so they always move
    @waits_for_edit("n")
    def action_next(self) -> None:
        self._move(self.session.step)
        if self.session.pending is not None:
            self.query_one(InputEditor).ask()

    @waits_for_edit("p")
    def action_previous(self) -> None:
        self._move(self.session.back)

    @waits_for_edit("f")
    def action_finish(self) -> None:
        self._move(self.session.finish)

    @waits_for_edit("r")
    def action_reset(self) -> None:
        self._move(self.session.reset)

    def _move(self, how) -> None:
        how()
        self.say("")

    @property
    def cursor_name(self) -> str | None:
        """The input or node on the tree cursor's line; None on a heading line."""
        node = self.query_one(GraphTree).cursor_node
        return node.data.name if node is not None and node.data is not None else None

    def select(self, name: str) -> None:
        """Make ``name`` the variable under the cursor, from any view: the tree's cursor goes to its
        own line (expanding whatever hides it) and :attr:`selected` follows at once."""
        if name not in self.session.graph.names:
            raise KeyError(name)
        self.query_one(GraphTree).select_name(name)
        self.selected = name

    def action_show_step(self) -> None:
        """.: the cursor to the current step's node, expanding whatever hides it."""
        name = step_node(self.session)
        if name is None:
            self.say("No step taken yet: n takes the first, then . shows its node.")
            return
        self.query_one(GraphTree).select_name(name)

    def action_follow(self) -> None:
        """l: follow mode on or off; the Graph panel's title says which."""
        tree = self.query_one(GraphTree)
        tree.set_following(not tree.following)
        self._show_graph_title()
        if tree.following:
            self.say("Follow mode: after every step the cursor goes to the step's node, and the panels with it."
                     " l turns it off.")
        else:
            self.say("Follow mode off: the cursor stays where you put it.")

    def action_full_digits(self) -> None:
        self.full_digits = not self.full_digits
        self.say("Estimates to every digit: the tail is float rounding. z rounds them again." if self.full_digits
                 else "Estimates rounded to the digits float rounding leaves true. z shows every digit.")

    def action_breakpoint(self) -> None:
        name = self.cursor_name
        if name is None:
            self.say("Move the cursor to a node or an input, then press b.")
            return
        on = self.session.toggle_breakpoint(name)
        self.say(f"Breakpoint {'set on' if on else 'cleared from'} {name}"
                 + (": c stops before it is evaluated and before its gradient's first contribution." if on else "."))

    @waits_for_edit("c")
    def action_continue(self) -> None:
        self.session.continue_()
        here = self.session.breakpoints_here()
        self.say(f"Stopped at the breakpoint on {here[0][0]}." if here else "")

    @waits_for_edit("t")
    def action_run_to(self) -> None:
        name = self.cursor_name
        if name is None:
            self.say("Move the cursor to a node or an input, then press t.")
            return
        if not self.session.run_to(name):
            self.say(f"{name} has its value and its complete gradient already.")
        else:
            self.say("")

    @waits_for_edit("e")
    def action_edit(self) -> None:
        name = self.cursor_name
        graph = self.session.graph
        if name is None or not graph.is_input(name):
            inputs = ", ".join(i.name for i in graph.inputs)
            self.say(f"Only inputs can be edited ({inputs}): move the cursor to one with ↑ ↓, then press e or enter.")
            return
        self.query_one(InputEditor).open(name, self.session.inputs[name])
        self.say(f"Editing {name}: type a number, enter commits, esc cancels.")

    # [ ] - + : at a bound each says so (- and + are greyed out on a graph without params)
    def action_h_down(self) -> None:
        self._scale("h_down")

    def action_h_up(self) -> None:
        self._scale("h_up")

    def action_alpha_down(self) -> None:
        self._scale("alpha_down")

    def action_alpha_up(self) -> None:
        self._scale("alpha_up")

    def _scale(self, action: str) -> None:
        what, factor = SCALES[action]
        if not getattr(self.session, f"scale_{what}")(factor):  # at a bound: say so, rather than nothing
            low, high = BOUNDS[what]
            edge, end = (low, "smallest") if factor < 1 else (high, "largest")
            why = (" (below it rounding error swamps every estimate)" if what == "h" and factor < 1
                   else " (above it the estimates are about the secant, not the slope)" if what == "h" else "")
            self.say(f"{'h' if what == 'h' else 'α'} = {tx.num(edge)} is the {end} cgtui offers{why}.")
            return
        if what == "h":
            self.say(f"h = {tx.num(self.session.h)}")
        else:
            self.say(f"α = {tx.num(self.session.alpha)} (the learning rate of d)")

    @waits_for_edit("g")
    def action_predict(self) -> None:
        session = self.session
        session.set_predicting(not session.predicting)
        if session.predicting:
            self.say("Predict mode: n hides each step's number until you type your guess (enter); esc shows it."
                     " f, c and t reveal without asking. g turns it off (after esc, if a guess is open).")
        else:
            self.say("Predict mode off: every step shows its number.")

    @waits_for_edit("s")
    def action_sweep(self) -> None:
        """Plot the finite-difference error against h for the variable under the cursor."""
        name = self.cursor_name
        if name is None:
            self.say("Move the cursor to a node or an input, then press s.")
            return
        if not self._gradient_complete(name, "s", "The h sweep compares the estimates with"):
            return
        from tui.widgets.sweep import SweepScreen  # imports the plot library only when it is used

        self.push_screen(SweepScreen(self.session, name))

    @waits_for_edit("d")
    def action_descend(self) -> None:
        """One step of gradient descent; on a big graph worked out in a worker (esc cancels it)."""
        session = self.session
        if len(session.graph.names) <= FdPanel.INLINE_LIMIT:
            try:
                changes = session.descend()
            except ValueError as err:
                self.say(f"d: {err}.")
                return
            self._say_descended(changes)
            return
        why = session.descent_blocked()
        if why:
            self.say(f"d: {why}.")
            return
        token = self._descent_job = object()
        self.say("Working out a descent step … (esc cancels it)")

        def work() -> None:
            tick = self._ticker(lambda done: f"Working out a descent step … {done} % (esc cancels it)")
            collecting = gc.isenabled()
            gc.disable()  # as for an edit: a collection in the worker would hold the GIL for long
            try:
                planned = session.plan_descent(tick)
            except JobCancelled:
                return
            except ValueError as err:
                planned = err
            finally:
                if collecting:
                    gc.enable()
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self._descent_worked_out, planned, token)

        self._job = self.run_worker(work, thread=True, exclusive=True, group="job", name="descent", exit_on_error=False)

    def _descent_worked_out(self, planned, token: object) -> None:
        """Take a descent step worked out in a worker, unless esc or a reload came meanwhile."""
        if self._descent_job is not token:  # esc came after the worker had finished
            return
        self._job = None
        self._descent_job = None
        if isinstance(planned, ValueError):
            self.say(f"d: {planned}.")
            return
        if not self.session.take_descent(planned):
            self.say("The descent step was not taken: the graph changed while it was worked out (reloaded). Press d again.")
            return
        self._freeze()  # the new walk lives as long as the last one did
        self._say_descended(planned.changes)

    def _say_descended(self, changes: dict) -> None:
        session = self.session
        shown = list(changes.items())[:self.DESCENT_SHOWN]
        moved = ", ".join(f"{p} {tx.num(c.old)} → {tx.num(c.new)}" for p, c in shown)
        if len(changes) > len(shown):
            moved += f" and {len(changes) - len(shown)} more"
        history = session.descent
        self.say(f"Descent step {len(history) - 1} with α = {tx.num(session.alpha)}: {moved};"
                 f" {session.graph.output} {tx.num(history[-2])} → {tx.num(history[-1])}.")

    DESCENT_SHOWN = 6
    """Parameters whose change the message names (an MLP has thousands)."""

    def _show_descent(self) -> None:
        """Plot the output over the descent steps, once there are some; hide the plot when a new run starts."""
        box = self.query_one("#descent")
        session = self.session
        history = session.descent
        box.display = bool(history)
        if not history:
            return
        title = f"{session.graph.output} by descent step (α now {tx.num(session.alpha)})"
        if box.border_title != title:
            box.border_title = title
        if self._descent_drawn is not None and self._descent_drawn[0] is history \
                and self._descent_drawn[1] == len(history):
            return
        self._descent_drawn = (history, len(history))
        from tui.widgets.descent import DescentPlot  # imports the plot library on the first d

        found = box.query(DescentPlot)
        if found:
            found.first().show(history, session.graph.output)
        else:
            plot = DescentPlot()
            box.mount(plot)
            # drawn once mounted, with the history as it is then (another d may come first)
            self.call_after_refresh(lambda: plot.show(self.session.descent, self.session.graph.output))

    # ------------------------------------------------------------------ the classroom (tui/classroom.py)

    def set_notation(self, name: str) -> bool:
        """Write every derivative in notation ``name`` ("partial", "d" or "code"); False (said) if unknown."""
        from tui.classroom import notation_message

        try:
            self.session.set_notation(name)
        except ValueError as err:
            self.say(f"{err}; the notation stays {self.session.notation_style}.")
            return False
        self._show_notation()
        self.query_one(Transcript).refresh()  # its lines are drawn from the session, but only when it grows
        self.say(notation_message(self.session))
        return True

    def action_notation(self) -> None:
        self.set_notation(tx.NOTATIONS[(tx.NOTATIONS.index(self.session.notation_style) + 1) % len(tx.NOTATIONS)])

    def _show_notation(self) -> None:
        """The code notation's reminder under the tree, while it is on."""
        out = self.session.graph.output
        code = self.session.notation_style == "code"
        self.query_one("#left").border_subtitle = f"code notation: dx means d{out}/dx" if code else None

    presenting: reactive[bool] = reactive(False, init=False)
    """Presentation mode: larger spacing, no transcript, high contrast, the picture view where there is one."""

    def set_presenting(self, on: bool) -> None:
        self.presenting = on

    def watch_presenting(self, on: bool) -> None:
        from tui.classroom import PRESENT_CLASS

        self.screen_stack[0].set_class(on, PRESENT_CLASS)
        if on:
            self._view_before_presenting = getattr(self, "view", "tree")
            picture = self.set_view_if_present("picture")
            note = "" if picture else "; no picture view in this version"
            self.say(f"Presentation mode (P leaves it): transcript hidden, high contrast{note}.")
        else:
            self.set_view_if_present(getattr(self, "_view_before_presenting", "tree"))  # the view it was in
            self.say("Presentation mode off: the transcript is back.")

    def action_present(self) -> None:
        self.presenting = not self.presenting

    def set_view_if_present(self, view: str) -> bool:
        """Switch to ``view`` ("tree" or "picture") where the app has views; whether it is shown now."""
        set_view = getattr(self, "set_view", None)
        if set_view is None:
            return view == "tree"
        set_view(view)
        return getattr(self, "view", view) == view

    def action_screenshot(self) -> None:
        """Save the screen as it is now as an SVG file, under a fresh name (never over another file)."""
        from tui.classroom import save_screenshot
        from tui.sync import refusal

        try:
            target = save_screenshot(self.session, self.export_screenshot(
                title=f"cgtui {printable(self.session.source, one_line=True)}"))
        except (OSError, RuntimeError, ValueError) as err:
            self.say(f"cgtui: cannot save the screen: {refusal(err)}. Nothing was written.")
            return
        self.say(f"Saved the screen as {target}.")

    def action_help(self) -> None:
        from tui.widgets.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            # cgtui's own keys (not Textual's App's), bases first: a subclass's help for an action replaces its base's
            own = [cls.__dict__.get("BINDINGS", []) for cls in reversed(type(self).__mro__) if issubclass(cls, CgtuiApp)]
            self.push_screen(HelpScreen(*own, GraphTree.BINDINGS, notation=self.session.notation, width=self.size.width))

    def _gradient_complete(self, name: str, key: str, needs: str = "") -> bool:
        """Whether ``name``'s gradient is revealed in full; if not, say how to get there, then ``key``.

        Args:
            needs: What ``key`` does with the gradient, opening the message ("The h sweep compares …").
        """
        grad = self.session.grad(name)
        if grad is not None and grad.complete:
            return True
        d = tx.d(self.session.graph.output, name, self.session.notation)
        subject = f"{needs} {d}, which" if needs else d
        self.say(f"{subject} is not complete yet: step the backward pass to it (f finishes a pass), then {key}.")
        return False

    @waits_for_edit("y")
    def action_why(self) -> None:
        """Every path from the output down to the node under the cursor, once its gradient is complete.

        On a big graph the paths are worked out in a worker thread (esc cancels it);
        the screen opens when they are ready.
        """
        name = self.cursor_name
        if name is None:
            self.say("Move the cursor to a node or an input, then press y.")
            return
        if not self._gradient_complete(name, "y"):
            return
        walk = self.session.walk
        if len(self.session.graph.names) <= FdPanel.INLINE_LIMIT:
            self._show_why(_why(walk, name, notation=self.session.notation))
            return
        what = f"the paths from {self.session.graph.output} down to {name}"
        self.say(f"Working out {what} … (esc cancels)")
        notation = self.session.notation

        def work() -> None:
            tick = self._ticker(lambda done: f"Working out {what} … {done} % (esc cancels)")
            try:
                found = _why(walk, name, tick, notation)
            except JobCancelled:
                return
            if not get_current_worker().is_cancelled:
                self.call_from_thread(self._show_why, found)

        self._job = self.run_worker(work, thread=True, exclusive=True, group="job", exit_on_error=False)

    def _ticker(self, message: Callable[[int], str]) -> Callable[[int, int], None]:
        """A ``tick`` for engine work in this worker thread: raises :class:`JobCancelled` once esc
        cancelled the worker, and says how far it got (each tenth)."""
        worker = get_current_worker()
        shown = [0]

        def tick(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise JobCancelled
            time.sleep(0)  # lets the UI thread take the GIL now, not when the interpreter next switches
            tenth = 10 * done // max(total, 1)
            if tenth > shown[0]:
                shown[0] = tenth
                self.call_from_thread(self._progress, message(10 * tenth))

        return tick

    def _progress(self, message: str) -> None:
        """Say how far long work got: the message line only (a redraw of every view would cost a frame)."""
        if self._job_running():
            self.message = message
            self.query_one("#message", TextView).show_text(Text(message))

    def _job_running(self) -> bool:
        return self._job is not None and self._job.is_running

    def _show_why(self, found: tuple) -> None:
        """Open the "why" screen with paths worked out from ``walk`` (unless the walk has changed since)."""
        from tui.widgets.pages import WhyScreen

        self._job = None
        walk, name, why, head, named, foot = found
        if walk is not self.session.walk:
            self.say("The numbers changed while the paths were worked out: press y again.")
            return
        out = self.session.graph.output
        self.say("")
        tree = self.query_one(GraphTree)
        self.push_screen(WhyScreen(f"Why {tx.d(out, name, self.session.notation)} = {tx.num(why.grad)}?", head, named, foot, tree.light_path),
                         lambda _: tree.light_path([]))

    async def action_quit(self) -> None:
        """Quit; with unsaved edits (or one still being worked out), only when asked twice."""
        if self._edit_running() and not self._quit_armed:
            if self._edit_job is None:
                self.say("The descent step is still being worked out: q again quits without it.")
            else:
                name, _, value = self._edit_job
                self.say(f"The edit {name} = {tx.num(value)} is still being recomputed: q again quits without it.")
            self._quit_armed = True
            return
        if self.session.unsaved and not self._quit_armed:
            edits = ", ".join(f"{n} = {tx.num(v)}" for n, v in self.session.inputs.items()
                              if v != self.session.saved_inputs.get(n))
            self.say(f"Unsaved edits ({edits}): q again quits without saving them, {self.SAVE_HINT}.")
            self._quit_armed = True
            return
        self.exit()

    # ------------------------------------------------------------------ the file

    @waits_for_edit("w")
    async def action_save(self) -> None:
        await self.sync.save()

    def check_disk(self, force: bool = False) -> Worker | None:
        """Reload the graph file if it changed on disk (see :meth:`FileSync.check`); the poll calls it."""
        return self.sync.check(force)

    def adopt(self, new: LoadedGraph) -> None:
        """Show a new version of the graph file (reloaded by :class:`FileSync`): every view follows it."""
        tree = self.query_one(GraphTree)
        while len(self.screen_stack) > 1 and getattr(self.screen, "SHOWS_THE_WALK", False):
            self.pop_screen()  # "why" and the h sweep explain the old graph's numbers
        here = self.selected
        editing = self._editor.name_edited if self._editing() else None
        changes = self.session.replace_graph(new)
        tree.build()
        if editing is not None and editing not in self.session.inputs:
            self._close_editor()  # its input went: a commit would have nothing to change
            changes.append(f"{editing} is no longer an input, so its edit is closed")
        self.select(here if here in self.session.graph.names else self.session.graph.output)
        what = "; ".join(changes) if changes else "nothing in the graph changed"
        self.say(f"Reloaded {new.source}: {what}.")
        self._freeze()
