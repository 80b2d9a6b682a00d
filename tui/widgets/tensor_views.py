"""The tensor app's views: the scalar app's tree and picture taught shapes, the matrix panel, the
finite-difference panel's text.

Each draws from a :class:`~engine.tensor_session.TensorSession`; none holds state of its own
(the cursor, the matrix browsed, the zoom live in the session).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.style import Style
from rich.text import Text
from textual.binding import BindingType

from engine import tensor_expr as te
from engine import text as tx
from engine.safe import printable
from engine.tensor_graph import CLOSER, GREAT, TensorForwardStep, trail_text
from engine.tensor_session import TensorSession, summary
from tui.keys import Key
from tui.widgets.graph_tree import GraphTree, NodeRef, node_label
from tui.widgets.panels import TextView, flow
from tui.widgets.picture import BOX_TEXT_MAX, PictureView
from tui.widgets.styles import BOLD, GRAD, MUTED, STATUS_STYLE, VALUE

WINDOW_ROWS = 8
"""The rows of a matrix shown around the cursor."""
WINDOW_COLS = 6
"""The most columns shown around the cursor (fewer when the panel is narrow)."""

def _e(x: float) -> str:
    """``1e-7`` as the course writes it (not ``1e-07``)."""
    return f"{x:.0e}".replace("e-0", "e-")


VERDICT = {"great": f"great (below {_e(GREAT)})", "look closer": f"look closer ({_e(GREAT)} to {_e(CLOSER)})",
           "wrong": f"wrong (above {_e(CLOSER)})", "non-finite": "non-finite", "skipped": "skipped"}
"""The course's verdict bands, as the panel says them."""
VERDICT_STYLE = {"great": STATUS_STYLE["ok"], "look closer": STATUS_STYLE["suspect"], "wrong": STATUS_STYLE["non-finite"],
                 "non-finite": STATUS_STYLE["non-finite"], "skipped": STATUS_STYLE["lost"]}
PICTURE_BOX = 22
"""The widest a box's text gets with its expression (wider: the name and the shape alone)."""
CHECK_FORMULA = "‖g_approx − g‖₂ / (‖g_approx‖₂ + ‖g‖₂)"


def shape_of(session: TensorSession, name: str) -> str:
    """``(1×5)``, ``(scalar)``; ``(?)`` while predict mode asks for it."""
    if not session.shape_shown(name):
        return "(?)"
    return f"({te.shape_text(session.graph.shapes[name])})"


def _window(size: int, at: int, span: int) -> range:
    start = max(0, min(at - span // 2, size - span))
    return range(start, min(size, start + span))


def matrix_text(a, cursor: tuple[int, int], width: int = 120, style: Style | None = None) -> Text:
    """The matrix around the cursor, aligned, the element under the cursor in reverse video and ‹bracketed›
    (its place never rests on colour alone), with row and column numbers and "…" where rows or columns go on.

    Args:
        width: The columns the text may take: as many matrix columns are shown as fit (at least one).
        style: The numbers' colour (values green, gradients red).
    """
    out = Text()
    a = np.asarray(a)
    if a.ndim == 0:
        out.append(f"‹{tx.num(float(a))}›", style="reverse")
        return out
    rows, cols = a.shape
    rr = _window(rows, cursor[0], WINDOW_ROWS)
    label = len(str(rows - 1)) + 1
    # each cell as wide as the widest number of the rows shown, in the widest window of columns
    # (a 100×784 matrix is not formatted whole for a window of 8×6)
    near = _window(cols, cursor[1], WINDOW_COLS)
    cell = max(len(tx.num(float(x))) for x in np.asarray(a[rr.start:rr.stop, near.start:near.stop]).reshape(-1)) + 2
    cell = max(cell, len(str(cols - 1)) + 2)
    fit = max(1, (width - label - 2 - 4) // cell)
    cc = _window(cols, cursor[1], min(WINDOW_COLS, fit))
    lead = " …" if cc.start > 0 else ""
    out.append(" " * (label + 2 + len(lead)) + "".join(str(j).rjust(cell) for j in cc)
               + (" …" if cc.stop < cols else "") + "\n", style="dim")
    if rr.start > 0:
        out.append(" " * label + "  ⋮\n", style="dim")
    for i in rr:
        out.append(f"{i}".rjust(label) + " [", style="dim")
        out.append(lead)
        for j in cc:
            text = tx.num(float(a[i, j]))
            if (i, j) == tuple(cursor):
                out.append(f"‹{text}›".rjust(cell), style="reverse")
            else:
                out.append(f" {text} ".rjust(cell), style=style)
        if cc.stop < cols:
            out.append(" …")
        out.append(" ]\n", style="dim")
    if rr.stop < rows:
        out.append(" " * label + "  ⋮\n", style="dim")
    return out


# --------------------------------------------------------------------------- the tree


def tensor_label(session: TensorSession, ref: NodeRef, width: int) -> Text:
    """The scalar tree's line with the node's shape after its name, its expression in the course's
    notation and its value and gradient summarised (the matrix panel has every element):
    ``● Z (1×5) = wᵀ · X + b = [0.475 … 1.725]   ∂J/∂Z = …``."""
    return node_label(session, ref, width, number=summary,
                      expression=lambda node: printable(te.to_text(node.expr, course=True), one_line=True),
                      shape=lambda name: f" {shape_of(session, name)}")


class TensorTree(GraphTree):
    """The scalar app's tree (its layout, lazy lines, jump, follow) with each node's shape, value and gradient."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Key("up", "cursor_up", "Up", show=False, section="The tree",
            help="(tree) the cursor to another node: the detail line under the tree has it in full"),
        Key("down", "cursor_down", "Down", show=False, help_with="cursor_up"),
        Key("enter", "app.open_node", "Open its matrix", show=False, section="The matrix",
            help="(tree, picture) open the node's value and gradient: the cursor moves among their elements"),
        Key("right", "app.next", "Next step", show=False),
        Key("left", "app.back", "Previous step", show=False),
        Key("j", "jump", "Jump", show=False, section="The tree",
            help="(tree) jump: from a ↪ line to the node's own line, else to the current step's node"),
        Key("space", "toggle_node", "Expand or collapse", show=False, section="The tree",
            help="(tree) expand or collapse a node"),
    ]

    def line_label(self, ref: NodeRef, width: int) -> Text:
        return tensor_label(self.session, ref, width)


# --------------------------------------------------------------------------- the picture


class TensorPicture(PictureView):
    """The lecture's picture of a tensor graph: each box says the node's name, shape and expression,
    its value above it and its gradient below (summarised), edges as for scalars."""

    BINDINGS: ClassVar[list[BindingType]] = [Key("enter", "app.open_node", "Open its matrix", show=False)]

    def number(self, value) -> str:
        return summary(value, digits=3)

    def input_label(self, name: str) -> str:
        return f"{printable(name, one_line=True)} {shape_of(self.session, name)} = {self.number(self.session.value(name))}"

    def box_text(self, item) -> str:
        """``Z (1×5) = wᵀ · X + b``; the expression left out when it would make the box wider than
        :data:`PICTURE_BOX` (the detail line under the tree, and the step panel, have it)."""
        name = printable(item.name, one_line=True)
        text = f"{name} {shape_of(self.session, item.name)}"
        node = self.session.graph.node_by_name[item.name]
        expr = printable(te.to_text(node.expr, course=True), one_line=True)
        if len(text) + 3 + len(expr) <= PICTURE_BOX:
            text += " = " + expr
        return text if len(text) <= BOX_TEXT_MAX else text[: BOX_TEXT_MAX - 1] + "…"


# --------------------------------------------------------------------------- the step and the matrix


def step_text(session: TensorSession, width: int = 120) -> Text:
    """The step panel: the step (formula, shapes, reduction), its matrix around the cursor, the
    gradient after it, and the zoom; or, while a node is browsed, that node's value and gradient."""
    if session.browsing is not None:
        return _browse_text(session, width)
    if session.pending is not None:  # predict mode: the result waits for a guess
        from tui.tensor_actions import hidden_step

        return hidden_step(session)
    s = session.step
    out = Text()
    nf, nb = len(session.walk.forward_steps), len(session.walk.backward_steps)
    graph = session.graph
    if s is None:
        out.append(printable(graph.title or session.source, one_line=True) + "\n", style="bold")
        out.append(f"{nf} forward steps, then {nb} vector-Jacobian products. Press n to start.\n")
        return out
    if isinstance(s, TensorForwardStep):
        out.append(f"forward {s.index + 1}/{nf}   ", style="dim")
        out.append(f"{s.node} = {s.course}\n", style="bold")
        out.append(f"shapes  {s.shape_text}\n")
        out.append(f"{s.node} {shape_of(session, s.node)} =\n")
        out.append_text(matrix_text(s.value, session.cursor, width, VALUE))
    else:
        out.append(f"backward {s.index + 1}/{nb}   ", style="dim")
        out.append(f"{tx.d(graph.output, s.parent)} += {s.formula}", style="bold")
        out.append(f"   ({s.arrived} of {s.of})\n")
        out.append(f"shapes  {s.shapes}\n")
        if s.reduction:
            out.append(s.reduction + "\n")
        out.append(f"this step {shape_of(session, s.parent)} =\n")
        out.append_text(matrix_text(s.contribution, session.cursor, width, GRAD))
        if s.of > 1:
            out.append(f"{tx.d(graph.output, s.parent)} is now ({s.arrived} of {s.of} arrived):\n")
            out.append_text(matrix_text(s.grad_after, session.cursor, width, GRAD))
    out.append_text(zoom_text(session, width))
    return out


def _browse_text(session: TensorSession, width: int) -> Text:
    name = session.browsing
    out = Text()
    kind = "an input" if session.graph.is_input(name) else "a node"
    out.append(f"{name} {shape_of(session, name)}", style="bold")
    out.append(f", {kind}: its value and its gradient   (esc: back to the step)\n", style=MUTED)
    if session.value_shown(name):
        out.append(f"{name} =\n")
        out.append_text(matrix_text(session.value(name), session.cursor, width, VALUE))
    else:
        out.append(f"{name} = ?  (its forward step is still to come)\n", style=MUTED)
    grad = session.grad(name)
    d = tx.d(session.graph.output, name)
    if grad is None:
        out.append(f"{d} = ?  (no contribution has arrived yet)\n", style=MUTED)
    else:
        so_far = "" if grad.complete else f", so far: {grad.arrived} of {grad.of} arrived"
        out.append(f"{d} ({'complete' if grad.complete else 'partial'}{so_far}) =\n")
        out.append_text(matrix_text(grad.value, session.cursor, width, GRAD))
    return out


def zoom_text(session: TensorSession, width: int = 120) -> Text:
    """The element under the cursor as its scalar sum, and, once n/p step its terms, the term and the sum so far."""
    out = Text()
    if not session.zoomed or session.step is None:
        return out
    z = session.zoom()
    if z is None:
        m = session.matrix
        value = tx.num(float(m[session.cursor] if m.ndim else m))
        out.append(f"zoom  {session.matrix_name}{session.element_text()} = {value}\n", style="bold")
        out.append("      (a forward step's element is its value: zoom writes a backward step's element as its sum)\n",
                   style=MUTED)
        return out
    out.append("zoom  ", style="bold")
    out.append(z.text + "\n")
    n = len(z.terms)
    if not n:
        out.append("      one term: elementwise, the formula at this element\n", style=MUTED)
        return out
    k = session.term
    if k is None:
        out.append(f"      {n} terms: n adds them one at a time, p takes one back, esc or z leaves\n", style=MUTED)
        return out
    if k == 0:
        out.append(f"      0 of {n} terms added: the sum so far is 0\n")
        return out
    term = z.terms[k - 1]
    value = float(np.prod(term))
    so_far = float(sum(float(np.prod(t)) for t in z.terms[:k]))
    body = z.formula[3:] if z.formula.startswith("Σₖ ") else None
    name = body.replace("[k,", f"[{k - 1},").replace(",k]", f",{k - 1}]") if body else f"term {k}"
    factors = " × ".join(tx.num(x) if x >= 0 else f"({tx.num(x)})" for x in term)
    line = f"      term {k} of {n}: {name} = {factors}"
    if len(term) > 1:
        line += f" = {tx.num(value)}"
    out.append(line + "\n")
    out.append(f"      the sum so far ({k} of {n}) = ", style=MUTED)
    out.append(tx.num(so_far) + "\n", style=BOLD)
    if k == n:
        out.append(f"      every term added: {tx.num(z.value)}, this step's element\n", style=MUTED)
    return out


class MatrixPanel(TextView, can_focus=True):
    """The step panel: while it has the focus the arrows move the cursor among the elements."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Key("up", "app.move(-1, 0)", "Up", show=False, section="The matrix",
            help="(matrix) move the cursor among the elements: the panels follow it"),
        Key("down", "app.move(1, 0)", "Down", show=False, help_with="move(-1, 0)"),
        Key("left", "app.move(0, -1)", "Left", show=False, help_with="move(-1, 0)"),
        Key("right", "app.move(0, 1)", "Right", show=False, help_with="move(-1, 0)"),
    ]

    DEFAULT_CSS = """
    MatrixPanel:focus { background: $boost; }
    """

    _session: TensorSession | None = None

    def show(self, session: TensorSession) -> None:
        self._session = session
        width = self.content_size.width or 120
        self.show_text(step_text(session, width))

    def on_resize(self) -> None:
        """As many matrix columns as the new width holds (the picture view narrows the panel)."""
        if self._session is not None:
            self.show(self._session)


# --------------------------------------------------------------------------- finite differences


def fd_text(session: TensorSession, width: int = 80, working: str | None = None) -> Text:
    """The finite-difference panel: the element nudged, its trail, the estimates against backprop's
    element; and the last whole-tensor gradient check (c) of that input.

    Args:
        working: What a worker is computing meanwhile ("nudging …"), shown in place of the numbers.
    """
    out = Text()
    target = session.fd_target()
    if target is None:
        out.append("Nudges one element of an input: step to a backward step into an input "
                   "(∂J/∂w += …), or open an input from the tree (tab, ↑ ↓, enter).", style=MUTED)
        return out
    name, i, j = target
    where = session.element_text()
    o = session.graph.output
    out.append(f"nudge {name}{where} by h = {tx.num(session.h)}", style=BOLD)
    out.append("   ([ ÷10  ] ×10)\n", style=MUTED)
    nudge = session.shown_nudge()
    if nudge is None:
        out.append((working or "nudging …") + "\n", style=MUTED)
    else:
        out.append_text(flow(trail_text(nudge).split(" → "), width, sep=" → ", indent="    "))
        out.append("\n")
        for label, value, style in (("central   (J(+h) − J(−h)) / 2h", nudge.central, GRAD),
                                    ("one-sided (J(+h) − J) / h", nudge.forward, None)):
            out.append_text(flow([label, Text.assemble("= ", (tx.exact(value), style))], width, indent="    "))
            out.append("\n")
        grad = session.grad(name)
        if grad is None or not grad.complete:
            got = "not reached yet" if grad is None else f"so far {grad.arrived} of {grad.of}"
            out.append(f"backprop {tx.d(o, name)}{where}: {got}: step the backward pass to compare.\n", style=MUTED)
        else:
            out.append(f"backprop {tx.d(o, name)}{where} = ")
            out.append(tx.num(nudge.grad) + "\n", style=GRAD + BOLD)
            out.append_text(flow([f"relative error {tx.small(nudge.rel_error)}",
                                  Text(VERDICT.get(nudge.status, nudge.status), VERDICT_STYLE.get(nudge.status))],
                                 width, sep="   ", indent="    "))
            out.append("\n")
            if nudge.reason:
                out.append(f"  {nudge.reason} (])\n", style=MUTED)
    check = session.shown_check()
    if check is None:
        out.append(f"c: check all of {name} at once, {CHECK_FORMULA}", style=MUTED)
        return out
    out.append(f"gradient check of all of {name} ({te.shape_text(session.graph.shapes[name])}), central, h = {tx.num(check.h)}:\n")
    out.append(f"  {CHECK_FORMULA} = ")
    if check.rel_error is None:
        out.append(f"skipped: {check.reason}", style=VERDICT_STYLE["skipped"])
        return out
    out.append(tx.small(check.rel_error) + "   ", style=BOLD)
    out.append(VERDICT.get(check.status, check.status), style=VERDICT_STYLE.get(check.status))
    if check.reason:
        out.append(f"\n  {check.reason} (])", style=MUTED)
    return out
