"""The app for graphs of vectors and matrices (#15): step, move inside a matrix, zoom into an element.

A first, separate app: the scalar app's tree, panels and editor assume numbers
throughout, so a tensor graph opens here instead. It owns one
:class:`~engine.tensor_session.TensorSession` and draws it; every number comes
from the engine.

==========  ===========================================================
Key         Does
==========  ===========================================================
n           the next step
p           the previous step
f           to the end of the forward pass
←  ↑  ↓  →  move the cursor inside the step's matrix
z           zoom: the element under the cursor as its scalar sum
c           nudge that element (a backward step into an input) and compare
q           quit
==========  ===========================================================
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, ScrollableContainer
from textual.widgets import Static

from engine import tensor_expr as te
from engine import text as tx
from engine.safe import printable
from engine.tensor_graph import TensorBackwardStep, TensorForwardStep, trail_text
from engine.tensor_session import TensorSession
from tui.tensor_actions import TensorActions, hidden_step

WINDOW_ROWS, WINDOW_COLS = 8, 6
"""The part of a matrix shown around the cursor."""
KEY_LINE = "n next  p back  f end of forward  ←↑↓→ move in the matrix  z zoom  c check  q quit"


def _window(size: int, at: int, span: int) -> range:
    start = max(0, min(at - span // 2, size - span))
    return range(start, min(size, start + span))


def matrix_text(a, cursor: tuple[int, int]) -> Text:
    """The matrix around the cursor, aligned, the element under the cursor in reverse video and ‹bracketed›
    (its place never rests on colour alone), with row and column numbers and "…" where rows or columns go on."""
    out = Text()
    if a.ndim == 0:
        out.append(f"‹{tx.num(float(a))}›", style="reverse")
        return out
    rows, cols = a.shape
    rr, cc = _window(rows, cursor[0], WINDOW_ROWS), _window(cols, cursor[1], WINDOW_COLS)
    cells = {(i, j): tx.num(float(a[i, j])) for i in rr for j in cc}
    width = max(max(len(c) for c in cells.values()) + 2, max(len(str(j)) for j in cc) + 2)
    label = len(str(rows - 1)) + 1
    out.append(" " * (label + 2) + "".join(str(j).rjust(width) for j in cc) + (" …" if cc.stop < cols else "") + "\n",
               style="dim")
    if rr.start > 0:
        out.append(" " * label + "  ⋮\n", style="dim")
    for i in rr:
        out.append(f"{i}".rjust(label) + " [", style="dim")
        if cc.start > 0:
            out.append(" …")
        for j in cc:
            text = cells[i, j]
            if (i, j) == cursor:
                out.append(f"‹{text}›".rjust(width), style="reverse")
            else:
                out.append(f" {text} ".rjust(width))
        if cc.stop < cols:
            out.append(" …")
        out.append(" ]\n", style="dim")
    if rr.stop < rows:
        out.append(" " * label + "  ⋮\n", style="dim")
    return out


class TensorApp(TensorActions, App):
    """Step through a tensor graph; see the module's docstring for the keys."""

    CSS = """
    #names { width: 30; border-right: solid $panel; }
    #body { width: 1fr; }
    #step, #detail { width: auto; height: auto; }
    #detail { margin-top: 1; }
    #keys { dock: bottom; height: 1; background: $panel; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next", "next"), Binding("p", "back", "back"), Binding("f", "finish_forward", "end of forward"),
        Binding("up", "move(-1, 0)", show=False), Binding("down", "move(1, 0)", show=False),
        Binding("left", "move(0, -1)", show=False), Binding("right", "move(0, 1)", show=False),
        Binding("z", "zoom", "zoom"), Binding("c", "check", "check"), Binding("q", "quit", "quit"),
    ]

    def __init__(self, session: TensorSession) -> None:
        super().__init__()
        self.session = session
        self.title = printable(session.graph.title or session.source, one_line=True)

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Static(id="names")
            with ScrollableContainer(id="body"):  # lines are never wrapped: a matrix keeps its columns
                yield Static(id="step")
                yield Static(id="detail")
        yield from self.compose_actions()  # e w d g (tui/tensor_actions.py)
        yield Static(Text(KEY_LINE), id="keys")

    def on_mount(self) -> None:
        self.redraw()

    # ------------------------------------------------------------------ actions

    def action_next(self) -> None:
        self.session.next()
        self.redraw()

    def action_back(self) -> None:
        self.session.back()
        self.redraw()

    def action_finish_forward(self) -> None:
        self.session.finish_forward()
        self.redraw()

    def action_move(self, di: int, dj: int) -> None:
        self.session.move(di, dj)
        self.redraw()

    def action_zoom(self) -> None:
        self.session.zoomed = not self.session.zoomed
        self.redraw()

    def action_check(self) -> None:
        if self.session.check() is None:
            self.notify("c nudges an element of an input: on a backward step into an input", timeout=3)
        self.redraw()

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        self.query_one("#names", Static).update(self._names())
        self.query_one("#step", Static).update(self._step())
        self.query_one("#detail", Static).update(self._detail())
        self.show_actions()

    def _names(self) -> Text:
        s = self.session
        g = s.graph
        shown_values = {st.node for st in s.walk.forward_steps[: s.revealed]}  # revealed: a guess may hold one back
        nf = len(s.walk.forward_steps)
        shown_grads = {st.parent for st in s.walk.backward_steps[: max(0, s.revealed - nf)] if st.complete}
        current = s.step
        here = None if current is None else (current.node if isinstance(current, TensorForwardStep) else current.parent)
        out = Text()
        for name in g.names:
            marks = ("v" if name in shown_values or g.is_input(name) else "·") + ("g" if name in shown_grads else "·")
            shape = te.shape_text(g.shapes[name]) if s.shape_shown(name) else "?"  # predict mode asks for it
            line = f"{'▸' if name == here else ' '} {printable(name, one_line=True)} ({shape}) {marks}\n"
            out.append(line, style="bold" if name == here else "")
        out.append("\nv value known, g gradient complete", style="dim")
        return out

    def _step(self) -> Text:
        s = self.session
        st = s.step
        out = Text()
        nf, nb = len(s.walk.forward_steps), len(s.walk.backward_steps)
        if st is None:
            out.append(printable(s.graph.title or s.source, one_line=True) + "\n", style="bold")
            out.append(f"{nf} forward steps, then {nb} vector-Jacobian products. Press n to start.\n")
            return out
        if s.pending is not None:  # predict mode: the result waits for a guess (tui/tensor_actions.py)
            return hidden_step(s)
        if isinstance(st, TensorForwardStep):
            out.append(f"forward {st.index + 1}/{nf}   ", style="dim")
            out.append(f"{st.node} = {st.course}\n", style="bold")
            out.append(f"shapes  {st.shape_text}\n")
            out.append(f"{st.node} =\n")
        else:
            out.append(f"backward {st.index + 1}/{nb}   ", style="dim")
            out.append(f"{tx.d(s.graph.output, st.parent)} += {st.formula}", style="bold")
            out.append(f"   ({st.arrived} of {st.of})\n")
            out.append(f"shapes  {st.shapes}\n")
            if st.reduction:
                out.append(st.reduction + "\n")
            out.append("this step =\n")
        out.append_text(matrix_text(s.matrix, s.cursor))
        if isinstance(st, TensorBackwardStep) and st.of > 1:
            out.append(f"{tx.d(s.graph.output, st.parent)} is now ({st.arrived} of {st.of} arrived):\n")
            out.append_text(matrix_text(st.grad_after, s.cursor))
        return out

    def _detail(self) -> Text:
        s = self.session
        out = Text()
        st = s.step
        if st is None or s.pending is not None:
            return out
        i, j = s.cursor
        if s.zoomed:
            z = s.zoom()
            if z is not None:
                out.append("zoom  " + z.text + "\n")
            else:
                where = f"[{i},{j}]" if s.matrix.ndim else ""
                out.append(f"zoom  {st.node}{where} = {tx.num(float(s.matrix[i, j] if s.matrix.ndim else s.matrix))}\n")
        if s.nudge is not None:
            n = s.nudge
            out.append(f"nudge {trail_text(n)}\n")
            out.append(f"      central {tx.exact(n.central)}   backprop {tx.num(n.grad)}   relative error "
                       f"{tx.small(n.rel_error)}   {n.status}\n")
        return out
