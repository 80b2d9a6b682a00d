"""The app for graphs of vectors and matrices (#15): the scalar app's screen, taught shapes.

It owns one :class:`~engine.tensor_session.TensorSession` and draws it; every number comes
from the engine. The screen is the scalar app's: the graph on the left (the tree, or the
lecture's picture with ``v``), the step on the right with its matrix, the finite-difference
panel under it, a message line and the key line.

Two places take the arrows, and ``tab`` goes from one to the other:

- **the matrix** (the step panel; it has the focus at the start): ← ↑ ↓ → move the cursor
  among the elements of the step's result (and of the gradient after it), or of the node opened
  from the tree. The finite-difference panel nudges the element under the cursor when it belongs
  to an input, ``z`` writes it as its scalar sum.
- **the graph** (the tree, or the picture): ↑ ↓ move among the nodes (the detail line under the
  tree says the line in full), ← → step as in the scalar app, ``enter`` opens the node's value and
  gradient in the matrix panel, and the focus goes there. ``esc`` (or any step) comes back to the step's matrix.

The keys are :attr:`TensorApp.BINDINGS` (and the tree's and the matrix panel's): the key
line and the help page (``?``) are built from them, so a mixin adding keys (``BINDINGS`` of
its own :class:`~tui.keys.Key` s, on a base class of ``TensorApp``) is on both.

For mixins (tui/tensor_actions.py; a mixin of keys subclasses ``textual.app.App``, since Textual
merges the ``BINDINGS`` of its DOM classes only, and comes before ``TensorApp``'s ``App`` in the
bases): :meth:`TensorApp.redraw` draws everything again from the
session; :meth:`TensorApp.say` puts one line on the message line (``#message``);
:meth:`TensorApp.replace_session` takes a new session (a reload), rebuilding the tree and the
picture; :meth:`TensorApp.recomputed` says the session's walk was replaced in place (an edit, a
descent step): the panels forget the nudge and the check of the old walk.
"""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.css.query import NoMatches
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Tree

from engine.safe import printable
from engine.tensor_graph import ElementNudge, GradientCheck
from engine.tensor_session import TensorSession
from engine.text import num
from tui.keys import Key
from tui.tensor_actions import TensorActions
from tui.widgets.keyline import KeyLine, shown_keys
from tui.widgets.panels import TextView, TooSmall
from tui.widgets.tensor_views import MatrixPanel, TensorPicture, TensorTree, fd_text

H_MIN, H_MAX = 1e-12, 1e-1
"""The nudge's range ([ and ] divide and multiply h by 10)."""
INLINE_ELEMENTS = 20_000
"""Graphs of up to this many elements in all nudge and check at once; bigger ones in a worker thread."""

NOTES: dict[str, tuple[tuple[str, str], ...]] = {
    "The tree": (
        ("Z (1×5)", "each node's shape; its value once its forward step is taken, its gradient once one arrives"),
        ("[a … b]", "a matrix summarised: its first and last element (the matrix panel has them all)"),
        ("●", "the node the current step evaluates or adds a gradient to"),
        ("↓", "in a backward step, the node whose gradient flows into ●"),
    ),
    "The matrix": (
        ("‹x›", "the element under the cursor (a window around it: ⋮ and … where the matrix goes on)"),
    ),
}
SECTIONS = ("Stepping", "The matrix", "Understanding", "Finite differences", "Inputs and the file",
            "Gradient descent (graphs with params:)", "The tree", "App")


class TensorApp(TensorActions, App):
    """Step through a tensor graph; see the module's docstring for the screen and the keys."""

    TITLE = "cgtui"
    ENABLE_COMMAND_PALETTE = False
    MIN_WIDTH, MIN_HEIGHT = 60, 15
    """Below this the screen says "too small" and ignores every key but quit (as the scalar app)."""
    SIDE_BY_SIDE = 150
    """From this many columns the picture view keeps the tree beside the picture."""
    WIDE = 110
    """From this many columns the picture takes more of the width than the panels."""
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (MIN_WIDTH, "-wide-enough"), (WIDE, "-wide"),
                              (SIDE_BY_SIDE, "-side-by-side")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (MIN_HEIGHT, "-tall-enough")]

    CSS = """
    Screen { layout: vertical; }
    #title { height: 1; padding: 0 1; background: $boost; }
    #main { height: 1fr; }
    #left { width: 38%; min-width: 26; border: round $primary; border-title-color: $foreground; }
    #views { height: 1fr; }
    #tree { height: 1fr; }
    #picture { display: none; }
    #left.-picture { width: 50%; }
    Screen.-wide #left.-picture, Screen.-side-by-side #left.-picture { width: 62%; }
    #left.-picture #tree { display: none; }
    Screen.-side-by-side #left.-picture #tree { display: block; width: 35%; border-right: solid $secondary; }
    #detail { height: auto; min-height: 3; max-height: 5; padding: 0 1; border-top: solid $secondary; }
    #right { width: 1fr; }
    #step, #fd { border: round $secondary; padding: 0 1; border-title-color: $foreground; }
    #step { height: auto; max-height: 65%; min-height: 6; }
    #fd { height: 1fr; min-height: 5; }
    #step:focus-within { border: round $accent; }
    #step MatrixPanel, #fd TextView { height: auto; }
    #message { height: auto; max-height: 3; padding: 0 1; }
    #too-small { display: none; height: 1fr; content-align: center middle; text-align: center; }
    Screen.-narrow #main, Screen.-narrow #title, Screen.-narrow #message,
    Screen.-short #main, Screen.-short #title, Screen.-short #message { display: none; }
    Screen.-narrow #too-small, Screen.-short #too-small { display: block; }
    """

    # The one key table (the key line shows each description, the help page each help line);
    # TensorTree.BINDINGS and MatrixPanel.BINDINGS add the keys of the graph and of the matrix.
    BINDINGS: ClassVar[list[BindingType]] = [
        Key("n", "next", "Next", section="Stepping",
            help="next step: forward node by node, then backward edge by edge; while zoomed, the next term of the sum"),
        Key("p", "back", "Back", section="Stepping",
            help="previous step; while zoomed, takes the last term added back"),
        Key("f", "finish", "Finish", section="Stepping",
            help="finish the pass: the end of the forward pass, then of the backward pass"),
        Key("r", "reset", "Reset", show=False, section="Stepping", help="back to the start"),
        Key("tab", "switch_focus", "Graph ↔ matrix", priority=True, section="The matrix",
            help="the arrows to the graph (↑ ↓ nodes, ← → steps) or to the matrix (← ↑ ↓ → elements)"),
        Key("escape", "leave", "Back to the step", show=False, section="The matrix",
            help="leave the zoom; else back from an opened node to the step's matrix"),
        Key("full_stop", "show_step", "Current step's node", show=False, section="The matrix",
            help="the step's matrix, and the tree's cursor to the step's node"),
        Key("z", "zoom", "Zoom", section="Understanding",
            help="zoom: the element under the cursor as its scalar sum (n/p step its terms; esc or z leaves)"),
        Key("c", "check", "Check", section="Finite differences",
            help="the course's gradient check of the whole input the panel nudges: central differences "
                 "over every element, ‖g_approx − g‖₂ / (‖g_approx‖₂ + ‖g‖₂)"),
        Key("left_square_bracket", "h_down", "h÷10", show=False, section="Finite differences",
            help=f"h ÷ 10, h × 10 (from {H_MIN:g} to {H_MAX:g}); the panel nudges the cursor's element of an input by h"),
        Key("right_square_bracket", "h_up", "h×10", show=False, help_with="h_down"),
        Key("v", "view", "Picture", section="The tree",
            help="the picture: the graph left to right as the lecture draws it, shapes in the boxes (↑ ↓ its nodes)"),
        Key("question_mark", "help", "Help", section="App", help="this help"),
        Key("q", "quit", "Quit", section="App", help="quit"),
        Key("ctrl+q", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(self, session: TensorSession) -> None:
        super().__init__()
        self.session = session
        self.message = ""
        self.view = "tree"
        self._working: dict[str, tuple] = {}
        """What each worker group ("nudge", "check") is computing: its key, so a stale answer is dropped."""

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield TextView(id="title")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                with Horizontal(id="views"):
                    yield TensorTree(self.session, id="tree")
                    yield TensorPicture(self.session, id="picture")
                yield TextView(id="detail")
            with Vertical(id="right"):
                with VerticalScroll(id="step", can_focus=False):  # a tall matrix scrolls (mouse wheel)
                    yield MatrixPanel(id="matrix")
                with VerticalScroll(id="fd", can_focus=False):
                    yield TextView(id="fd-text")
        yield from self.compose_actions()  # e w d g: the editor and the guess field (tui/tensor_actions.py)
        yield TextView(id="message")
        yield TooSmall(Text(f"The terminal is too small for cgtui:\nmake it at least"
                            f" {self.MIN_WIDTH} × {self.MIN_HEIGHT}.", style="bold"), id="too-small")
        yield KeyLine(shown_keys(self), id="keys")

    def on_mount(self) -> None:
        self.query_one("#left").border_title = "Graph"
        self.query_one("#step").border_title = "Step"
        self.query_one("#fd").border_title = "Finite differences"
        self.title = printable(self.session.graph.title or self.session.source, one_line=True)
        if self.session.graph.description:
            self.message = printable(" ".join(self.session.graph.description.split()), one_line=True)
        self.query_one(MatrixPanel).focus()
        # the graph's cursor starts on the first input, as in the scalar app
        tree = self.query_one(TensorTree)
        start = tree.first_input() or self.session.graph.output
        self.session.selected = start
        tree.select_name(start)
        self.redraw()

    # ------------------------------------------------------------------ state down

    @property
    def selected(self) -> str | None:
        """The name under the graph's cursor (the picture reads it)."""
        return self.session.selected

    def select(self, name: str) -> None:
        """Move the graph's cursor to ``name`` (the picture asks this)."""
        self.session.selected = name
        self.query_one(TensorTree).select_name(name)
        self.redraw()

    def redraw(self) -> None:
        """Draw every view again from the session (mixins call this after changing it)."""
        s = self.session
        title = printable(s.graph.title or "computation graph", one_line=True)
        self.query_one("#title", TextView).show_text(Text.assemble(
            ("cgtui", "bold"), "  ", (title, "bold"), "   ", (printable(s.source, one_line=True), "italic")))
        tree = self.query_one(TensorTree)
        tree.redraw()
        if self.view == "picture":
            self.query_one(TensorPicture).redraw()
        self.query_one("#detail", TextView).show_text(tree.detail())
        self.query_one(MatrixPanel).show(s)
        name = s.matrix_name
        step_title = f"Step: {name}{s.element_text()}" if name and s.browsing is None else "Step"
        if s.browsing is not None:
            step_title = f"{s.browsing}: value and gradient (esc: the step)"
        self.query_one("#step").border_title = step_title
        self._draw_fd()
        message = self.query_one("#message", TextView)
        message.show_text(Text(self.message))
        message.display = bool(self.message)
        self.show_actions()
        self._show_keys()

    def _show_keys(self) -> None:
        self.query_one(KeyLine).show(shown_keys(self))

    def say(self, message: str) -> None:
        """One line on the message line (``#message``) until the next (file names and such shown escaped)."""
        self.message = printable(message, one_line=True)
        self.redraw()

    def replace_session(self, session: TensorSession) -> None:
        """Show another session (a reload): the tree and the picture are built again for its graph."""
        self.session = session
        self._working = {}
        tree, picture = self.query_one(TensorTree), self.query_one(TensorPicture)
        tree.session = picture.session = session
        tree.build()
        self.redraw()

    def recomputed(self) -> None:
        """The session's walk was replaced (an edit, a descent step): draw it; nudges and checks start again."""
        self._working = {}
        self.redraw()

    # ------------------------------------------------------------------ finite differences

    @property
    def _small(self) -> bool:
        """Whether the graph is small enough to nudge and check on the UI thread (well under a frame)."""
        return sum(v.size for v in self.session.walk.values.values()) <= INLINE_ELEMENTS

    def _draw_fd(self) -> None:
        s = self.session
        working = None
        target = s.fd_target()
        if target is not None and s.shown_nudge() is None:
            key = (s.walk, s.h, target)
            if self._small:
                s.set_nudge(s.nudge_now(), s.walk)
            elif self._working.get("nudge") != key:
                self._working["nudge"] = key
                # a description of its own: Textual's default is the repr of the call, which would write
                # out every matrix of the walk (seconds on mlp-batch)
                self.run_worker(partial(self._nudge_in_thread, s, key), thread=True, exclusive=True, group="nudge",
                                description=f"nudge {target[0]}{s.element_text()}", exit_on_error=False)
            working = f"nudging {target[0]} … (a forward pass of the nodes it feeds, in the background)"
        panel = self.query_one("#fd")
        title = f"Finite differences: {target[0]}{s.element_text()}" if target else "Finite differences"
        if panel.border_title != title:
            panel.border_title = title
        width = self.query_one("#fd-text", TextView).content_size.width or 60
        self.query_one("#fd-text", TextView).show_text(fd_text(s, width, working))

    def _nudge_in_thread(self, session: TensorSession, key: tuple) -> None:
        walk, h, (name, i, j) = key
        from engine.tensor_graph import nudge_element

        found = nudge_element(walk, name, i, j, h=h)
        self.call_from_thread(self._nudged, session, key, found)

    def _nudged(self, session: TensorSession, key: tuple, found: ElementNudge) -> None:
        if self._working.get("nudge") == key:
            del self._working["nudge"]
        if session is self.session and session.walk is key[0]:
            session.set_nudge(found, key[0])
            self.redraw()

    # ------------------------------------------------------------------ actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out what cannot happen now (None greys a key on the key line, False leaves it out)."""
        s = self.session
        if self.too_small and action != "quit":
            return False
        acting = super().check_action(action, parameters)  # an open guess or edit holds the keys (tensor_actions)
        if acting is not True:
            return acting
        zoom_steps = s.zoomed and s.zoom() is not None and bool(s.zoom().terms)
        if action == "next":
            return True if zoom_steps or s.position < s.total else None
        if action in ("back", "reset"):
            return True if zoom_steps or s.position > 0 else None
        if action == "finish":
            return None if s.position == s.total else True
        if action == "zoom":
            return None if s.matrix is None else True
        if action == "check":
            return None if s.check_target() is None else True
        return True

    @property
    def too_small(self) -> bool:
        width, height = self.size
        return width < self.MIN_WIDTH or height < self.MIN_HEIGHT

    @on(TooSmall.Shown)
    def _too_small_shown(self) -> None:
        self.set_focus(None)
        self._show_keys()

    @on(TooSmall.Hidden)
    def _too_small_hidden(self) -> None:
        self.query_one(MatrixPanel).focus()
        self._show_keys()

    def _stepped(self) -> None:
        """After a step: the tree follows the step's node (the matrix shown is the step's)."""
        name = self.session.step_node()
        if name is not None:
            self.session.selected = name
            self.query_one(TensorTree).select_name(name)
        self.message = ""
        self.redraw()

    def action_next(self) -> None:
        s = self.session
        if s.zoomed and s.zoom() is not None and s.zoom().terms:
            if not s.step_term(1):
                self.say(f"Every term of the sum is added ({len(s.zoom().terms)}): esc or z leaves the zoom.")
            self.redraw()
            return
        s.next()
        self._stepped()

    def action_back(self) -> None:
        s = self.session
        if s.zoomed and s.term is not None:
            s.step_term(-1)
            self.redraw()
            return
        s.back()
        self._stepped()

    def action_finish(self) -> None:
        s = self.session
        s.go(s.n_forward if s.position < s.n_forward else s.total)
        self._stepped()

    def action_reset(self) -> None:
        self.session.go(0)
        self._stepped()

    def action_move(self, di: int, dj: int) -> None:
        self.session.move(di, dj)
        self.redraw()

    def action_zoom(self) -> None:
        s = self.session
        if s.matrix is None:
            self.say("Nothing to zoom into yet: n takes the first step.")
            return
        s.zoomed = not s.zoomed
        s.term = None
        self.redraw()

    def action_leave(self) -> None:
        s = self.session
        if s.pending is not None:  # predict mode: esc shows the hidden result (tui/tensor_actions.py)
            self.action_skip_guess()
            return
        if s.zoomed:
            s.zoomed, s.term = False, None
        elif s.browsing is not None:
            s.browse(None)
        self.redraw()

    def action_show_step(self) -> None:
        s = self.session
        s.browse(None)
        name = s.step_node()
        if name is not None:
            self.select(name)
        self.query_one(MatrixPanel).focus()
        self.redraw()

    def action_open_node(self) -> None:
        """enter on the graph: the selected node's value and gradient in the matrix panel, which takes the arrows."""
        name = self.session.selected
        if name is None:
            return
        self.session.browse(name)
        self.query_one(MatrixPanel).focus()
        self.say(f"{name}: ← ↑ ↓ → move among its elements; esc goes back to the step's matrix, tab to the graph.")

    def action_switch_focus(self) -> None:
        graph = self.query_one(TensorPicture) if self.view == "picture" else self.query_one(TensorTree)
        if self.focused is self.query_one(MatrixPanel):
            graph.focus()
        else:
            self.query_one(MatrixPanel).focus()

    def action_h_down(self) -> None:
        self._scale_h(0.1)

    def action_h_up(self) -> None:
        self._scale_h(10.0)

    def _scale_h(self, by: float) -> None:
        s = self.session
        h = s.h * by
        if not H_MIN * 0.999 <= h <= H_MAX * 1.001:
            self.say(f"h stays {num(s.h)}: it goes from {H_MIN:g} to {H_MAX:g}.")
            return
        s.h = float(f"{h:.1g}")
        self.say(f"h = {num(s.h)}")

    def action_check(self) -> None:
        """c: the course's gradient check of the whole input the panel nudges (in a worker on a big graph)."""
        s = self.session
        name = s.check_target()
        if name is None:
            self.say("c checks an input's whole gradient: step to a backward step into an input, or open one from the tree.")
            return
        key = (s.walk, s.h, name)
        if self._small:
            found = s.gradient_check(name)
            self.say(f"Gradient check of {name}: {found.status}.")
            return
        if self._working.get("check") == key:
            return
        self._working["check"] = key
        self.say(f"Checking {name}: two forward passes per element, in the background …")
        self.run_worker(partial(self._check_in_thread, s, key), thread=True, exclusive=True, group="check",
                        description=f"gradient check of {name}", exit_on_error=False)

    def _check_in_thread(self, session: TensorSession, key: tuple) -> None:
        from engine.tensor_graph import gradient_check

        walk, h, name = key
        found = gradient_check(walk, name, h=h)
        self.call_from_thread(self._checked, session, key, found)

    def _checked(self, session: TensorSession, key: tuple, found: GradientCheck) -> None:
        if self._working.get("check") == key:
            del self._working["check"]
        if session is self.session and session.walk is key[0]:
            session.check, session.check_walk = found, key[0]
            self.say(f"Gradient check of {key[2]}: {found.status}.")

    def action_view(self) -> None:
        """v: the tree ↔ the picture (beside the tree from SIDE_BY_SIDE columns)."""
        self.view = "picture" if self.view == "tree" else "tree"
        picture = self.query_one(TensorPicture)
        self.query_one("#left").set_class(self.view == "picture", "-picture")
        picture.display = self.view == "picture"
        self.query_one("#left").border_title = "Graph: picture (↑ ↓ move, v tree)" if self.view == "picture" else "Graph"
        if self.focused is not self.query_one(MatrixPanel):
            (picture if self.view == "picture" else self.query_one(TensorTree)).focus()
        self.say("The picture: each box the node's name, shape and expression, its value above, its gradient below."
                 if self.view == "picture" else "")

    def action_help(self) -> None:
        from tui.widgets.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            # every class's own keys, bases first (a mixin's too), but for Textual's App's
            own = [cls.__dict__["BINDINGS"] for cls in reversed(type(self).__mro__)
                   if "BINDINGS" in cls.__dict__ and not cls.__module__.startswith("textual.")]
            self.push_screen(HelpScreen(*own, MatrixPanel.BINDINGS, TensorTree.BINDINGS, width=self.size.width,
                                        notes=NOTES, sections=SECTIONS))

    # ------------------------------------------------------------------ the graph's cursor

    @on(Tree.NodeHighlighted)
    def _cursor_moved(self, event: Tree.NodeHighlighted) -> None:
        ref = event.node.data
        try:
            tree = self.query_one(TensorTree)
        except NoMatches:  # a reload's rebuild highlighted a line as the app was closing: nothing to show
            return
        if ref is not None and ref.name is not None and (self.view == "tree" or self.focused is tree):
            self.session.selected = ref.name
        self.query_one("#detail", TextView).show_text(tree.detail())
        if self.view == "picture":
            self.query_one(TensorPicture).redraw()
