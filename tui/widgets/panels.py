"""Read-only panels: the current step, the finite differences, the transcript.

Each is handed the session and draws from it; none holds state of its own.
"""

from __future__ import annotations

import bisect
import copy
from collections.abc import Iterable
from functools import partial

from rich.style import Style
from rich.text import Text
from textual import events
from textual.css.scalar import Unit
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.visual import visualize
from textual.widget import Widget
from textual.widgets import Static

from engine import text as tx
from engine.session import DebugSession
from engine.steps import BackwardStep, ForwardStep
from tui.widgets.styles import BOLD, GRAD, MUTED, STATUS_STYLE, VALUE



def same_text(a: Text | None, b: Text) -> bool:
    """Whether two texts draw the same: same characters, same styles.

    (``Text.__eq__`` leaves out the base style.)
    """
    return a is not None and a.plain == b.plain and a.style == b.style and a.spans == b.spans


class TextView(Static):
    """A Static that shows a Text and skips updates that would draw the same.

    Updating a Static lays the screen out again and repaints every line an
    update touches; a step leaves most views as they were.
    """

    def __init__(self, text: Text | None = None, **kwargs) -> None:
        super().__init__(text if text is not None else "", **kwargs)
        self._text = text
        self._tallest: tuple[object, int, int] = (None, 0, 0)
        """For :meth:`show_tallest`: (the key, the width, the most lines a text of that key took)."""
        self._measured: dict[tuple[str, int], int] = {}
        """Lines of the last texts measured, by their characters and the width."""
        self._shown_lines: tuple[int, int] | None = None
        """(the width, the lines) of the text shown, when known."""

    def show_tallest(self, text: Text, key: object, also: Iterable[Text] = (), at_least: int = 0) -> None:
        """Show ``text`` ending in blank lines, as tall as the tallest text shown with the same ``key``
        at this width so far, as the texts ``also`` (measured, not shown), and ``at_least`` lines.

        A view whose text grows by a line and shrinks back (a step, then the next) then keeps its
        height, and the screen is not laid out again: a change of height costs two more frames, three
        where the tree scrolls (Textual draws it and its scrollbar once more).
        """
        width = self.content_size.width
        if not width:
            self.show_text(text)
            return
        lines = self._lines(text, width)
        seen, seen_width, tallest = self._tallest
        if seen != key or seen_width != width:
            tallest = 0
        tallest = max(tallest, lines, at_least, *(self._lines(other, width) for other in also))
        self._tallest = (key, width, tallest)
        if tallest > lines:
            text = text.copy()
            text.append("\n" * (tallest - lines))
        self.show_text(text, lines=tallest)

    def _lines(self, text: Text, width: int) -> int:
        """How many lines ``text`` takes at ``width`` (wrapped as shown; 1-2 ms for a long text, so the
        last few are kept: at the pass boundary each step's text is measured as shown and as across)."""
        key = (text.plain, width)
        found = self._measured.get(key)
        if found is None:
            if len(self._measured) >= 8:
                self._measured.clear()
            found = self._measured[key] = visualize(self, text).get_height(self.styles, width)
        return found

    def show_text(self, text: Text, lines: int | None = None) -> None:
        """Show ``text``; ``lines``: how many lines it takes at the present width, if known."""
        if same_text(self._text, text):
            return
        self._text = text
        # Laying the screen out again (and repainting what it moves) costs a frame of its own
        # work: only when the text's height changes. (A repaint clears the cached height, so a
        # later layout measures the new text.)
        width = self.content_size.width
        shown, self._shown_lines = self._shown_lines, (width, lines) if lines is not None else None
        if lines is not None and shown == (width, lines):
            self.update(text, layout=False)  # as many lines as the text before it: the same height
            return
        before = self._height(width)
        self.update(text, layout=False)
        after = self._height(width)
        if before is None or after != before:
            self.refresh(layout=True)

    def _height(self, width: int) -> int | None:
        """The height the text takes with min-height and max-height applied (None: not known here)."""
        if not width:
            return None
        height = self.get_content_height(Size(0, 0), Size(0, 0), width) + self.styles.gutter.height
        for rule, bound in ((self.styles.min_height, max), (self.styles.max_height, min)):
            if rule is not None:
                if rule.unit != Unit.CELLS:
                    return None
                height = bound(height, int(rule.value))
        return height


PARAMS_NAMED = 6
"""Parameters the step panel names (an MLP has thousands; the panel would wrap them all, every step)."""


def step_text(session: DebugSession) -> Text:
    """The current step written out as on the lecture page, with phase and progress, and the
    breakpoint the walk is stopped before, if any (where c stopped, said where the eye is)."""
    text = _step_body(session)
    out = session.graph.output
    for name, kind in session.breakpoints_here():
        what = f"evaluates {name}" if kind == "value" else f"is the first contribution to {tx.d(out, name)}"
        text.append(f"\n■ breakpoint on {name}: the next step ({session.position + 1}/{session.total}) {what}"
                    " (n takes it, c goes on).", BOLD)
    return text


def _step_body(session: DebugSession) -> Text:
    graph = session.graph
    out = graph.output
    text = Text()
    text.append(session.progress(), BOLD)
    if session.position:  # the transcript numbers every step: say this one's number too
        text.append(f" · step {session.position}/{session.total}", MUTED)
    if session.predicting:
        text.append(f"   predicting: {session.score(session.position > session.n_forward)}", MUTED)
    step = session.current
    if step is None:
        names = list(session.inputs)
        inputs = ", ".join(f"{n} = {tx.num(session.value(n))}" for n in names[:8])
        if len(names) > 8:
            inputs += f" and {len(names) - 8} more"
        text.append(f"\nInputs: {inputs}.\n")
        text.append("Press n or → to evaluate the first node, left to right.", MUTED)
        return text
    if session.pending is not None:
        text.append("   your turn\n")
        text.append(tx.question_line(step, out, session.notation), BOLD)
        text.append("\n")
        if isinstance(step, BackwardStep):
            text.append(f"{step.child} = {tx.pretty(graph.node_by_name[step.child].expr)}. ")
        text.append("Type your guess below, enter: within 0.5 % counts as right; esc shows the answer.", MUTED)
        return text
    if isinstance(step, ForwardStep):
        text.append(f"   evaluating {step.node}\n")
        text.append(tx.forward_line(step), VALUE + BOLD)
        if session.position == session.n_forward:
            text.append(f"\nForward pass done: {out} = {tx.num(session.value(out))}. ")
            text.append(f"Next, the backward pass, starting from {tx.d(out, out, session.notation)} = 1.", MUTED)
            if session.predicting:
                text.append(f"\nYour predictions in the forward pass: {session.score(False)}.", BOLD)
        return text
    assert isinstance(step, BackwardStep)
    text.append(f"   {tx.d(out, step.child, session.notation)} flows into {step.parent}\n")
    text.append(tx.backward_line(step, out, session.notation), GRAD + BOLD)
    text.append("\n")
    text.append(tx.local_line(step, graph.node_by_name[step.child].expr, out, session.notation))
    if step.of > 1 and not step.complete:
        text.append(f"\n{tx.d(out, step.parent, session.notation)} is not complete yet: {step.arrived} of {step.of} contributions.", MUTED)
    if session.at_end:
        text.append("\nBackward pass done: every gradient is complete.", MUTED)
        if session.predicting:
            text.append(f"\nYour predictions in the backward pass: {session.score(True)}.", BOLD)
        if graph.params:
            params = graph.params
            named = ", ".join(params[:PARAMS_NAMED]) + (f" and {len(params) - PARAMS_NAMED} more"
                                                       if len(params) > PARAMS_NAMED else "")
            text.append(f"\nd: one step of gradient descent on {named}"
                        f" with α = {tx.num(session.alpha)} (- and + halve and double α).", MUTED)
    return text


def flow(units: list[Text | str], width: int, sep: str = " ", indent: str = "  ") -> Text:
    """Join units into lines of at most ``width`` cells, breaking only between units.

    A trail entry such as ``J: 33 → 33.006`` is one unit, so it is never split.
    """
    out = Text()
    line_len = 0
    for k, unit in enumerate(units):
        unit = unit if isinstance(unit, Text) else Text(unit)
        if k == 0:
            out.append_text(unit)
            line_len = unit.cell_len
        elif line_len + len(sep) + unit.cell_len <= width:
            out.append(sep)
            out.append_text(unit)
            line_len += len(sep) + unit.cell_len
        else:
            out.append(sep.rstrip() + "\n" + indent)
            out.append_text(unit)
            line_len = len(indent) + unit.cell_len
    return out


def fd_text(session: DebugSession, name: str | None, width: int = 80, trail_limit: int = 8,
            full: bool = False) -> Text:
    """Finite differences for ``name``, revealing nothing before its step.

    Args:
        width: The panel's content width; lines break between whole numbers.
        full: Estimates to their last digit; otherwise to the digits the arithmetic supports
            (a line says so when that drops a tail of float rounding).
    """
    text = Text()
    if name is None:
        text.append("Move the cursor to a variable to nudge it.", MUTED)
        return text
    out = session.graph.output
    text.append_text(flow([Text(f"nudge {name} by h = {tx.num(session.h)}", BOLD),
                           Text("([ ÷10  ] ×10)", MUTED)], width, sep="   "))
    text.append("\n")
    if session.pending is not None:
        text.append("Hidden until you guess: the nudge would give the answer away.", MUTED)
        return text
    fd = session.fd(name)
    trail = fd.trail
    # the trail is in evaluation order, so what is shown is its beginning: found by bisection,
    # and only the entries drawn are written (a trail through a 100,000-node chain has 100,000)
    n_shown = bisect.bisect_left(trail, True, key=lambda e: not session.value_shown(e.node))
    hidden = [e.node for e in trail[n_shown:n_shown + 4]]
    n_hidden = len(trail) - n_shown
    if n_shown > trail_limit:
        head = trail_limit // 2
        tail = trail_limit - head
        shown = [*trail[:head], None, *trail[n_shown - tail:n_shown]]
    else:
        shown = list(trail[:n_shown])
    entries = [tx.trail_entry(e) if e is not None else f"… {n_shown - trail_limit} more" for e in shown]
    if entries:
        text.append_text(flow([e + "," for e in entries[:-1]] + entries[-1:], width, indent=""))
    else:
        text.append("(nothing evaluated yet)")
    if hidden:
        names = ", ".join(hidden) + (f" and {n_hidden - 4} more" if n_hidden > 4 else "")
        text.append("\n")
        text.append_text(flow([Text(f"{names}: not evaluated yet.", MUTED),
                               Text("The estimates appear when the forward pass is done.", MUTED)], width))
        return text
    grad = session.grad(name)
    if session.predicting and (grad is None or not grad.complete):
        # the estimates would give away a gradient still to be guessed (the trail may show)
        text.append("\n")
        text.append(f"Estimates hidden in predict mode until {tx.d(out, name, session.notation)} is revealed: step the backward"
                    " pass to it and guess.", MUTED)
        return text
    lost = fd.forward is None or fd.central is None
    if lost:  # the nudge is lost: no estimate to show
        text.append("\n")
        text.append_text(flow(["no estimate:", *f"{fd.reason}.".split(" ")], width, indent="    "))
    tails = False  # whether rounding an estimate to its supported digits dropped a tail
    if not lost:
        x = fd.trail[0].before
        reaches = (tx.estimate_reach((fd.out_before, fd.out_plus), (x + fd.h) - x),
                   tx.estimate_reach((fd.out_plus, fd.out_minus), (x + fd.h) - (x - fd.h)))
    for label, formula, value, reach in () if lost else (
        ("one-sided estimate", tx.forward_formula(fd), fd.forward, reaches[0]),
        ("central estimate  ", tx.central_formula(fd), fd.central, reaches[1]),
    ):
        text.append("\n")
        top, bottom = formula.split(" / ", 1)  # two units, so a narrow panel breaks the line at the division
        rounded = tx.supported(value, reach)
        tails = tails or rounded != tx.exact(value)
        text.append_text(flow([label, top, f"/ {bottom}", Text.assemble("= ", (tx.exact(value) if full else rounded, GRAD))],
                              width, indent="    "))
    # said once, last, so that backprop and the status keep their place
    tail_note = Text()
    if tails:
        note = ("every digit; the tail is float rounding (z: rounded)" if full else
                "rounded: the tail is float rounding (z: every digit)")
        tail_note.append("\n")
        tail_note.append_text(flow([Text(w, MUTED) for w in note.split(" ")], width, indent="    "))
    text.append(f"\nbackprop {tx.d(out, name, session.notation)} ")
    if grad is None or not grad.complete:
        got = f"so far {tx.num(grad.value)}, {grad.arrived} of {grad.of}" if grad is not None else "not reached yet"
        text.append(f"({got}): step the backward pass to compare.", MUTED)
        chain_text(text, session, name, width, grads=False)
        return text.append_text(tail_note)
    text.append("= ")
    text.append(tx.num(grad.value), GRAD + BOLD)
    text.append("\n")
    status = tx.status_text(fd)
    if fd.reason:  # the words follow the status, wrapped between words
        status = status[: -len(fd.reason) - 2]
    text.append_text(flow(["relative error", f"one-sided {tx.small(fd.rel_error_forward)}",
                           f"central {tx.small(fd.rel_error_central)}",
                           Text(status, STATUS_STYLE[fd.status])], width, sep="   ", indent="    "))
    if fd.reason and fd.status != "lost":  # (a lost nudge said why above)
        text.append("\n")
        text.append_text(flow([f"{w}" for w in f"{fd.reason}.".split(" ")], width, indent="    "))
    chain_text(text, session, name, width, grads=True)
    return text.append_text(tail_note)


CHAIN_INLINE_LIMIT = 2000
"""On graphs up to this many variables the chain in nudges is worked out when drawn; on bigger
ones by the panel's worker, with the nudge (until then it is left out)."""


def chain_text(text: Text, session: DebugSession, name: str, width: int, grads: bool) -> None:
    """Append the chain rule in nudges (:func:`engine.text.chain_lines`), each line wrapped between its parts."""
    if len(session.graph.names) > CHAIN_INLINE_LIMIT and not session.chain_ready(name):
        return
    lines = tx.chain_lines(session.nudge_chain(name), session.notation, grads=grads)
    for k, line in enumerate(lines):
        text.append("\n")
        if k == 0 or line.startswith("path "):
            heading = flow(line.split(" "), width, indent="    ")
            heading.stylize(BOLD)
            text.append_text(heading)
            continue
        units: list[str] = []
        for c, chunk in enumerate(line.strip().split("   ")):
            parts = chunk.split(" = ")
            chunk_units = [parts[0]] + [f"= {p}" for p in parts[1:]]
            if c:
                chunk_units[0] = "  " + chunk_units[0]
            units += chunk_units
        units[0] = line[: len(line) - len(line.lstrip())] + units[0]
        text.append_text(flow(units, width, indent="      "))


def transcript_line(session: DebugSession, line: int) -> Text:
    """Line ``line`` (0-based) of the transcript: a step, or the backward pass's heading.

    Lines are worked out when drawn, so a step costs the same on a graph of any size.
    """
    out = session.graph.output
    nf = session.n_forward
    if line < nf:
        step = session.walk.forward_steps[line]
        return Text.assemble((f"{line + 1:>3}  ", MUTED), (tx.forward_line(step), VALUE))
    if line == nf:
        return Text(f"     backward pass, from {tx.d(out, out, session.notation)} = 1", style=MUTED)
    k = line - nf - 1  # the backward step's index; its number is one past the lines above it, less the heading
    step = session.walk.backward_steps[k]
    return Text.assemble((f"{nf + k + 1:>3}  ", MUTED), (tx.backward_line(step, out, session.notation), GRAD))


def transcript_length(session: DebugSession) -> int:
    """How many lines the transcript has: one per step shown, and a heading once the backward pass begins."""
    revealed = session.revealed
    return revealed + (1 if revealed > session.n_forward else 0)


class StepPanel(TextView):
    """The current step.

    The panel keeps the height of its tallest step so far, in both passes (shorter steps end in
    blank lines): on a big graph long names wrap a step to 3 lines, the next to 4, and each change
    of height laid the screen out again. At the pass boundary (the forward pass done, and the first
    backward step) it also measures the step across it, so that ``f`` then ``n`` and ``p`` back
    and forth there keep one height.
    """

    _session: DebugSession | None = None

    def show(self, session: DebugSession) -> None:
        self._session = session
        across = across_the_boundary(session)
        self.show_tallest(step_text(session), (session, session.graph),
                          also=[step_text(across)] if across is not None else [])

    def on_resize(self) -> None:
        # The first show comes before the first layout, with no width to measure at: measured now,
        # the start's text (the inputs, often taller than a step) counts for the tallest, and the
        # first n and p do not change the panel's height (each laid the screen out: 50-130 ms).
        if self._session is not None:
            self.show(self._session)


def across_the_boundary(session: DebugSession) -> DebugSession | None:
    """At the end of the forward pass, the session one step on; at the first backward step, one
    step back; elsewhere None. A shallow copy moved with its own step()/back(): this session is
    not changed (a move only rebinds the copy's attributes)."""
    nf = session.n_forward
    if session.position not in (nf, nf + 1) or session.total == nf:
        return None
    other = copy.copy(session)
    if session.position == nf:
        other.step()
    else:
        other.back()
    return other


class FdPanel(TextView):
    """Finite differences for the variable under the tree cursor."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._showing: tuple[DebugSession, str | None] | None = None
        self._nudging: tuple | None = None
        """The nudge the running worker computes (the session, and its cache key), if any."""
        self._worker = None

    full = False
    """Estimates to their last digit (z), rather than to the digits the arithmetic supports."""

    def show(self, session: DebugSession, name: str | None, full: bool = False) -> None:
        self._showing = (session, name)
        self.full = full
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    INLINE_LIMIT = 2000
    """Graphs up to this many variables nudge at once; bigger ones in a worker thread."""

    def _draw(self) -> None:
        if self._showing is None:
            return
        session, name = self._showing
        if name is not None and not session.fd_ready(name) and len(session.graph.names) > self.INLINE_LIMIT:
            # as tall as the panel is (blank lines under the words): a move onto a variable not nudged
            # yet does not lay the screen out twice, once for this line and once for the estimates
            width = self.content_size.width
            shown = self._shown_lines[1] if self._shown_lines is not None and self._shown_lines[0] == width else 0
            self.show_tallest(Text(f"nudging {name} by h = {tx.num(session.h)} …", style=MUTED),
                              (session, name, "nudging"), at_least=shown)
            # every redraw meanwhile (a step, a resize) comes here again: the nudge under way
            # draws when it ends, and a second one would only share the interpreter with it
            nudge = (session, name, session.h, id(session.walk))
            if self._nudging != nudge or self._worker is None or self._worker.is_finished:
                self._nudging = nudge
                self._worker = self.run_worker(partial(self._compute, session, name), thread=True, exclusive=True,
                                               group="fd")
            return
        width = max(self.content_size.width or 80, 20)
        # at the pass boundary, as tall as the text across it (the output's gradient appears with the
        # first backward step): n and p there keep the panel's height, and the screen is not laid out
        across = across_the_boundary(session)
        self.show_tallest(fd_text(session, name, width=width, full=self.full),
                          (session, session.graph, name, session.h, self.full) if across is not None else object(),
                          also=[fd_text(across, name, width=width, full=self.full)] if across is not None else [])

    def _compute(self, session: DebugSession, name: str) -> None:
        """In a worker thread: fill the session's cache, then draw on the UI thread."""
        session.fd(name)
        session.nudge_chain(name)
        self.app.call_from_thread(self._draw)


class Transcript(Widget, can_focus=False):
    """The steps so far, one line each, ending at the latest.

    It draws only the lines on screen, each worked out from the session when drawn
    (Textual's line API): a step draws the panel's lines again and nothing else, with no
    layout (it has no scroll range whose size a step would change; the mouse wheel looks
    back, and the next step comes back to the latest). A line too long for the panel ends
    in "…"; the step panel shows the current step in full.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._session: DebugSession | None = None
        self._lines = 0
        self._back = 0
        """How many lines the mouse wheel has looked back from the latest."""
        self._strips: dict[int, Strip] = {}
        """Lines drawn, by their number (see :meth:`render_line`)."""

    def show(self, session: DebugSession) -> None:
        # Always drawn again (no layout: only the lines on screen): the count alone does not
        # say what changed ("Nothing yet." and the first step are both one line; an edit
        # rewrites the numbers of every line and keeps the count).
        self._session, self._lines, self._back = session, transcript_length(session) or 1, 0
        self.refresh()

    def _top(self) -> int:
        """The first line on screen."""
        return max(0, self._lines - self.size.height - self._back)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        back = min(self._back + 2, max(0, self._lines - self.size.height))
        if back != self._back:
            self._back = back
            self.refresh()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        if self._back:
            self._back = max(0, self._back - 2)
            self.refresh()

    _drawn: tuple = ()
    """What the lines in ``_strips`` were drawn from: the session, its walk and notation, the width
    and the style."""

    _style = Style()
    """The widget's style, worked out once per drawing of its lines (:meth:`render_lines`)."""

    def render_lines(self, crop: Region) -> list[Strip]:
        self._style = self.rich_style  # (~0.3 ms: it walks the ancestors' styles)
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        line = self._top() + y
        session = self._session
        if session is None or line >= self._lines:
            return Strip.blank(width, self._style)
        if not transcript_length(session):
            return self._strip(Text("Nothing yet.", MUTED), width)
        # A step moves every line on screen up by one: each line is drawn once (a forward step
        # of a long expression takes ~0.4 ms to write out) and kept while what it shows stands.
        drawn = (session, session.walk, session.notation, width, self._style)
        if len(drawn) != len(self._drawn) or any(a is not b for a, b in zip(drawn[:3], self._drawn)) \
                or drawn[3:] != self._drawn[3:] or len(self._strips) > 4 * self.size.height:
            self._drawn, self._strips = drawn, {}
        strip = self._strips.get(line)
        if strip is None:
            strip = self._strips[line] = self._strip(transcript_line(session, line), width)
        return strip

    def _strip(self, text: Text, width: int) -> Strip:
        if text.cell_len > width:
            text.truncate(width, overflow="ellipsis")
        segments = list(text.render(self.app.console))
        return Strip(segments, text.cell_len).extend_cell_length(width).apply_style(self._style)


class TooSmall(Static):
    """The message shown instead of everything when the terminal is too small (app.tcss shows it).

    It tells the app when it appears and disappears, so the app can take the focus away
    from the hidden fields and give it back.
    """

    class Shown(Message):
        """The terminal became too small: only this message is on screen."""

    class Hidden(Message):
        """The terminal is large enough again."""

    def on_show(self) -> None:
        self.post_message(self.Shown())

    def on_hide(self) -> None:
        self.post_message(self.Hidden())
