"""Read-only panels: the current step, the finite differences, the transcript.

Each is handed the session and draws from it; none holds state of its own.
"""

from __future__ import annotations

import bisect
from functools import partial

from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from engine import text as tx
from engine.session import DebugSession
from engine.steps import BackwardStep, ForwardStep

VALUE = Style(color="green")
GRAD = Style(color="red")
BOLD = Style(bold=True)
MUTED = Style(italic=True)
STATUS_STYLE = {"ok": Style(color="green", bold=True), "suspect": Style(color="yellow", bold=True),
                "kink": Style(color="magenta", bold=True), "non-finite": Style(color="red", bold=True)}


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

    def show_text(self, text: Text) -> None:
        if not same_text(self._text, text):
            self._text = text
            self.update(text)


def step_text(session: DebugSession) -> Text:
    """The current step written out as on the lecture page, with phase and progress."""
    graph = session.graph
    out = graph.output
    text = Text()
    text.append(session.progress(), BOLD)
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
        text.append(tx.question_line(step, out), BOLD)
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
            text.append(f"Next, the backward pass, starting from {tx.d(out, out)} = 1.", MUTED)
            if session.predicting:
                text.append(f"\nYour predictions in the forward pass: {session.score(False)}.", BOLD)
        return text
    assert isinstance(step, BackwardStep)
    text.append(f"   {tx.d(out, step.child)} flows into {step.parent}\n")
    text.append(tx.backward_line(step, out), GRAD + BOLD)
    text.append("\n")
    text.append(tx.local_line(step, graph.node_by_name[step.child].expr, out))
    if step.of > 1 and not step.complete:
        text.append(f"\n{tx.d(out, step.parent)} is not complete yet: {step.arrived} of {step.of} contributions.", MUTED)
    if session.at_end:
        text.append("\nBackward pass done: every gradient is complete.", MUTED)
        if session.predicting:
            text.append(f"\nYour predictions in the backward pass: {session.score(True)}.", BOLD)
        if graph.params:
            text.append(f"\nd: one step of gradient descent on {', '.join(graph.params)}"
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


def fd_text(session: DebugSession, name: str | None, width: int = 80, trail_limit: int = 8) -> Text:
    """Finite differences for ``name``, revealing nothing before its step.

    Args:
        width: The panel's content width; lines break between whole numbers.
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
    entries = [f"{e.node}: {tx.num(e.before)} → {tx.num(e.after)}" if e is not None
               else f"… {n_shown - trail_limit} more" for e in shown]
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
    h = session.h
    for label, top, bottom, step, value in (
        ("one-sided estimate", fd.out_plus, fd.out_before, h, fd.forward),
        ("central estimate  ", fd.out_plus, fd.out_minus, 2 * h, fd.central),
    ):
        text.append("\n")
        text.append_text(flow([label, f"({tx.num(top)} − {tx.num(bottom)}) / {tx.num(step)}",
                               Text.assemble("= ", (tx.exact(value), GRAD))], width, indent="    "))
    grad = session.grad(name)
    text.append(f"\nbackprop {tx.d(out, name)} ")
    if grad is None or not grad.complete:
        got = f"so far {tx.num(grad.value)}, {grad.arrived} of {grad.of}" if grad is not None else "not reached yet"
        text.append(f"({got}): step the backward pass to compare.", MUTED)
        return text
    text.append("= ")
    text.append(tx.num(grad.value), GRAD + BOLD)
    text.append("\n")
    text.append_text(flow(["relative error", f"one-sided {tx.small(fd.rel_error_forward)}",
                           f"central {tx.small(fd.rel_error_central)}",
                           Text(tx.status_text(fd), STATUS_STYLE[fd.status])], width, sep="   ", indent="    "))
    return text


def transcript_text(session: DebugSession, limit: int = 400) -> Text:
    """The steps taken so far, one line each (the last ``limit``)."""
    out = session.graph.output
    steps = session.steps_taken(last=limit)
    text = Text()
    if not steps:
        text.append("Nothing yet.", MUTED)
        return text
    skipped = session.revealed - len(steps)
    if skipped:
        text.append(f"… {skipped} earlier steps\n", MUTED)
    lines = []
    for k, step in enumerate(steps, start=skipped + 1):
        if isinstance(step, ForwardStep):
            lines.append(Text.assemble((f"{k:>3}  ", MUTED), (tx.forward_line(step), VALUE)))
        else:
            if step.index == 0:
                lines.append(Text(f"     backward pass, from {tx.d(out, out)} = 1", style=MUTED))
            lines.append(Text.assemble((f"{k:>3}  ", MUTED), (tx.backward_line(step, out), GRAD)))
    text.append(Text("\n").join(lines))
    return text


class StepPanel(TextView):
    """The current step."""

    def show(self, session: DebugSession) -> None:
        self.show_text(step_text(session))


class FdPanel(TextView):
    """Finite differences for the variable under the tree cursor."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._showing: tuple[DebugSession, str | None] | None = None

    def show(self, session: DebugSession, name: str | None) -> None:
        self._showing = (session, name)
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
            self.show_text(Text(f"nudging {name} by h = {tx.num(session.h)} …", style=MUTED))
            self.run_worker(partial(self._compute, session, name), thread=True, exclusive=True, group="fd")
            return
        width = self.content_size.width or 80
        self.show_text(fd_text(session, name, width=max(width, 20)))

    def _compute(self, session: DebugSession, name: str) -> None:
        """In a worker thread: fill the session's cache, then draw on the UI thread."""
        session.fd(name)
        self.app.call_from_thread(self._draw)


class Transcript(VerticalScroll, can_focus=False):
    """The steps so far, scrolled to the latest."""

    def compose(self):
        yield Static(id="transcript-text")

    def show(self, session: DebugSession) -> None:
        self.query_one("#transcript-text", Static).update(transcript_text(session))
        self.scroll_end(animate=False)
