"""The graph as the lecture draws it: left to right, boxes and arrows (issue #14 §1).

| Key | Action |
| :- | :- |
| up / down | the cursor to the previous / next node in reading order (column by column, top to bottom) |
| enter | edit the input under the cursor |
| j | jump: the cursor to the current step's node |

Every other key is the app's, as in the tree (← → step). The layout comes from
:mod:`engine.layout`; this widget draws the part of it that is on screen, from the session's
state, every time the session changes: nothing is revealed before its step, exactly as in the
tree. The cursor is the app's ``selected``: this widget asks the app to move it (``select``) and draws it.
"""

from __future__ import annotations

import bisect
import gc
import time
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from engine import expr as ex
from engine import text as tx
from engine.layout import Item, Layout, layout
from engine.safe import printable
from engine.session import DebugSession
from tui.widgets.graph_tree import step_roles
from tui.widgets.styles import GRAD, VALUE

BOX_TEXT_MAX = 24
"""An expression longer than this is cut (…) in its box; the detail line has it in full."""
STUB_MAX = 22
"""The widest a stub's label gets."""
INLINE_NAMES = 2000
"""Graphs with more names are laid out in a worker thread (the screen goes on meanwhile)."""

U, D, L, R = 1, 2, 4, 8
LIGHT = {L | R: "─", L: "─", R: "─", U | D: "│", U: "│", D: "│", D | R: "┌", D | L: "┐", U | R: "└",
         U | L: "┘", U | D | R: "├", U | D | L: "┤", D | L | R: "┬", U | L | R: "┴", U | D | L | R: "┼"}
HEAVY = {L | R: "━", L: "━", R: "━", U | D: "┃", U: "┃", D: "┃", D | R: "┏", D | L: "┓", U | R: "┗",
         U | L: "┛", U | D | R: "┣", U | D | L: "┫", D | L | R: "┳", U | L | R: "┻", U | D | L | R: "╋"}
BOX = ("┌", "─", "┐", "│", "└", "┘", "├")
CURRENT_BOX = ("╔", "═", "╗", "║", "╚", "╝", "╟")
"""The current step's node: a double box, so it stands out by shape, not by colour alone."""

LINE = Style(color="#a8a8a8")
"""Edges: a light grey that keeps 4.5 : 1 on the dark background."""
LIT = Style(color="#ffd75f", bold=True)
"""The current step's node and, in the backward pass, its edge (drawn heavy as well)."""
CURSOR = Style(reverse=True, bold=True)
NAME = Style(bold=True)
MUTED = Style(italic=True)
CHANGED = Style(bold=True, underline=True)
WARN = Style(color="yellow", bold=True)
"""A ⚠ beside a value that is not finite where it starts (the mark, not the colour, carries it)."""


@dataclass(frozen=True, slots=True)
class Shown:
    """What the last drawing covered (the tests read where each name went)."""

    first: int
    last: int
    top: int
    rows: int
    boxes: dict[str, tuple[int, int, int]]
    """Each input or node drawn: (x, y, width) of its name's line on the widget."""


def box_text(item: Item, graph) -> str:
    """``u = b·c``: a node's expression as the page writes it, cut to :data:`BOX_TEXT_MAX`."""
    node = graph.node_by_name[item.name]
    text = f"{item.name} = {ex.to_text(node.expr, times='·', power='^')}"
    text = printable(text, one_line=True)
    return text if len(text) <= BOX_TEXT_MAX else text[: BOX_TEXT_MAX - 1] + "…"


def stub_label(item: Item) -> str:
    """A stub's words: ``x ╌`` for a far operand, ``╌▶ n7, n8 +97`` for far consumers."""
    if item.kind == "from":
        return item.name if len(item.name) < STUB_MAX - 2 else item.name[: STUB_MAX - 3] + "…"
    names = list(item.far)
    text = "╌▶ " + names[0]
    shown = 1
    while shown < len(names) and len(text) + len(names[shown]) + 2 <= STUB_MAX - 8:
        text += ", " + names[shown]
        shown += 1
    if shown < len(names):
        text += f" +{len(names) - shown:,}"
    return text


class PictureView(Widget, can_focus=True):
    """Draws the window of the picture around the cursor."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Previous node", show=False),
        Binding("down", "move(1)", "Next node", show=False),
        Binding("enter", "app.edit", "Edit input", show=False),
        Binding("j", "jump", "Jump to the current step's node", show=False),
    ]

    DEFAULT_CSS = """
    PictureView {
        height: 1fr;
        width: 1fr;
    }
    """

    def __init__(self, session: DebugSession, **kwargs) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.lay: Layout | None = None
        """The layout of :attr:`laid_out_graph`, once worked out."""
        self.laid_out_graph = None
        self._working = None
        """The graph a worker is laying out, if any."""
        self._progress = 0
        self.first = 0
        """The first column shown (perhaps in part)."""
        self.shift = 0
        """Where the first column starts: 0, or left of the window (cut) so that the cursor's column has room."""
        self.top = 0
        """The first row of the picture shown (under the header line, when there is one)."""
        self._lines: list[Strip] = []
        self._widths: dict[int, int] = {}
        self._widths_key = None
        self.shown: Shown | None = None

    # ------------------------------------------------------------------ the layout

    def ensure_layout(self) -> bool:
        """Lay the session's graph out if it is not yet (in a worker on a big graph); True when ready."""
        graph = self.session.graph
        if self.lay is not None and self.laid_out_graph is graph:
            return True
        if len(graph.names) <= INLINE_NAMES:
            self._adopt(graph, layout(graph))
            return True
        if self._working is not graph:
            self._working = graph
            self._progress = 0
            self.run_worker(lambda: self._lay_out(graph), thread=True, exclusive=True, group="picture",
                            exit_on_error=False)
        return False

    def _lay_out(self, graph) -> None:
        worker = get_current_worker()
        shown = [0]

        def tick(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise RuntimeError("cancelled")
            time.sleep(0)  # lets the UI thread take the GIL now
            tenth = 10 * done // max(total, 1)
            if tenth > shown[0]:
                shown[0] = tenth
                self.app.call_from_thread(self._show_progress, graph, 10 * tenth)

        try:
            found = layout(graph, tick)
        except RuntimeError:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self._adopt, graph, found)

    def _show_progress(self, graph, percent: int) -> None:
        if self._working is graph:
            self._progress = percent
            self.redraw()

    def _adopt(self, graph, found: Layout) -> None:
        if graph is not self.session.graph:
            return  # reloaded meanwhile: the next draw lays the new graph out
        self._working = None
        self.lay, self.laid_out_graph = found, graph
        self._widths = {}
        self.first = self.top = self.shift = 0
        if len(graph.names) > INLINE_NAMES:
            gc.freeze()  # lives as long as the graph: out of the collector's reach (see CgtuiApp._freeze)
        self.redraw()

    # ------------------------------------------------------------------ keys

    def _cursor(self) -> str | None:
        name = getattr(self.app, "selected", None)
        lay = self.lay
        if lay is None or name not in lay.where:
            return None
        return name

    def action_move(self, by: int) -> None:
        name = self._cursor()
        if name is not None:
            self._ask(self.lay.step(name, by))
        elif self.lay is not None and self.lay.reading:
            self._ask(self.lay.items[self.lay.reading[0]].name)

    def action_jump(self) -> None:
        name, _ = step_roles(self.session.current)
        if name is not None:
            self._ask(name)

    def _ask(self, name: str) -> None:
        self.app.select(name)  # the app owns the selection; at once, not by a message: in a burst (↓ ↓ e) each key acts on the name the one before chose

    # ------------------------------------------------------------------ what a box says

    def number(self, value) -> str:
        """A value or gradient as its box shows it (the tensor picture writes a matrix's summary)."""
        return tx.num(value)

    def input_label(self, name: str) -> str:
        """An input's line, ``a = 5`` (the tensor picture adds the shape)."""
        return f"{name} = {self.number(self.session.value(name))}"

    def box_text(self, item: Item) -> str:
        """A node's line inside its box (the tensor picture adds the shape)."""
        return box_text(item, self.session.graph)

    # ------------------------------------------------------------------ drawing

    def on_resize(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        """Draw the window again from the session (only what is on screen is worked out)."""
        if not self.display or not self.ensure_layout():
            self._lines = [Strip([Segment(f" Laying out the picture of {len(self.session.graph.names):,} names"
                                          f" … {self._progress} %", self.rich_style + MUTED)])] if self.display else []
            self.refresh()
            return
        width, height = self.size
        if width <= 0 or height <= 0:
            return
        self._follow(width, height)
        old, self._lines = self._lines, self._draw(width, height)
        if len(old) != len(self._lines):
            self.refresh()
            return
        # a step changes a few lines of the window: repaint those (a whole repaint of a 40-line
        # window cost the terminal a frame several times the tree's)
        for y, (before, now) in enumerate(zip(old, self._lines)):
            if before != now:
                self.refresh(Region(0, y, width, 1))

    def render_line(self, y: int) -> Strip:
        if y < len(self._lines):
            return self._lines[y]
        return Strip.blank(self.size.width, self.rich_style)

    # -- geometry

    def _column_width(self, k: int) -> int:
        """Columns wide enough for every label the walk can show there (known in full from the start)."""
        session = self.session
        key = (session.walk, tx.d("J", "x"))
        if key != self._widths_key:
            self._widths, self._widths_key = {}, key
        found = self._widths.get(k)
        if found is not None:
            return found
        lay, graph, walk = self.lay, session.graph, session.walk
        out = graph.output
        warned = {w.name for w in session.warning_sites()} if walk.warnings else ()
        width = 1
        for i in lay.columns[k]:
            item = lay.items[i]
            if item.kind in ("input", "node"):
                name = item.name
                grad = f"{tx.d(out, name)} = {self.number(walk.grads.get(name, 0.0))}"
                fan_in = len(graph.consumers.get(name, ()))
                if fan_in > 1:
                    grad += f" ({fan_in} of {fan_in})"
                value = self.number(walk.values[name])
                if item.kind == "input":
                    w = max(len(self.input_label(name)) + 3, len(grad) + (3 if name in warned else 1))
                else:
                    # a blank after the gradient, before the next channel's lines (the last column has none)
                    w = max(len(self.box_text(item)) + 2, len(value) + 6, len(grad) + (k + 1 < len(lay.columns)))
            elif item.kind in ("from", "to"):
                w = len(stub_label(item)) + 3
            else:
                w = 1
            width = max(width, w)
        self._widths[k] = width
        return width

    def _channel_width(self, k: int, rows: tuple[int, int] | None) -> int:
        return max(3, self.lay.channel(k, rows).tracks + 2)

    def _x_of(self, k: int, first: int, rows: tuple[int, int] | None = None) -> tuple[int, int]:
        """(left, right) of column ``k`` when column ``first`` starts at x = 0."""
        x = 0
        for c in range(first, k):
            x += self._column_width(c) + self._channel_width(c, rows)
        return x, x + self._column_width(k) - 1

    def _fits(self, width: int, height: int) -> bool:
        lay = self.lay
        return len(lay.columns) <= 40 and lay.height <= height and \
            self._x_of(len(lay.columns) - 1, 0)[1] < width

    def _follow(self, width: int, height: int) -> None:
        """Pan so that the cursor's node is in view (the view stays put while it is)."""
        lay = self.lay
        if self._fits(width, height):
            self.first = self.top = self.shift = 0
            return
        name = self._cursor()
        if name is None:
            return
        rows = height - 1  # the header line
        item = lay.items[lay.where[name]]
        if not (self.top <= item.top and item.top + item.height <= self.top + rows):
            self.top = max(0, item.top - rows // 3)
        window = (self.top, self.top + rows - 1)
        k = item.column
        first = min(self.first, len(lay.columns) - 1)
        left, right = self._x_of(k, first, window)
        if k < first or left + self.shift < 0 or right + self.shift >= width:
            # the cursor's column whole, starting 2/5 of the way across if it has room (else at
            # the right edge); the columns before it fill the rest, the first of them perhaps cut
            x = max(0, min(width * 2 // 5, width - self._column_width(k)))
            c = k
            while c > 0 and x > 0:
                c -= 1
                x -= self._column_width(c) + self._channel_width(c, window)
            self.first, self.shift = c, min(x, 0)

    # -- the drawing itself

    def _draw(self, width: int, height: int) -> list[Strip]:
        lay, session = self.lay, self.session
        graph = session.graph
        fits = self._fits(width, height)
        head = 0 if fits else 1
        rows = height - head
        top = self.top
        window = (top, top + rows - 1)
        chars = [[" "] * width for _ in range(rows)]
        styles: list[list[Style | None]] = [[None] * width for _ in range(rows)]
        masks: dict[tuple[int, int], list[int]] = {}  # (x, y) -> [light arms, heavy arms]

        node_lit, flows_from = step_roles(session.current)
        edge_lit: set[tuple[int, int]] = set()
        lit_items: set[int] = set()
        if flows_from is not None and session.pending is None:
            for a, b in lay.route(node_lit, flows_from):
                edge_lit.add((a, b))
                lit_items.add(a)  # the line out of the source (or out of a pass item on the way)
        cursor = self._cursor()
        new_values, new_grads = session.changed_by_last_step()

        def put(x: int, y: int, text: str, style: Style | None = None) -> None:
            y -= top
            if not 0 <= y < rows:
                return
            for c in text:
                if 0 <= x < width:
                    chars[y][x] = c
                    styles[y][x] = style
                x += 1

        def arm(x: int, y: int, bits: int, heavy: bool) -> None:
            y -= top
            if 0 <= y < rows and 0 <= x < width:
                cell = masks.setdefault((x, y), [0, 0])
                cell[1 if heavy else 0] |= bits

        def hline(x1: int, x2: int, y: int, heavy: bool, open_left: bool = True, open_right: bool = True) -> None:
            for x in range(x1, x2 + 1):
                bits = (L if x > x1 or open_left else 0) | (R if x < x2 or open_right else 0)
                if bits:
                    arm(x, y, bits, heavy)

        def vline(x: int, y1: int, y2: int, heavy: bool) -> None:
            for y in range(y1, y2 + 1):
                arm(x, y, (U if y > y1 else 0) | (D if y < y2 else 0), heavy)

        # the columns in view
        shown_cols = []
        x = self.shift
        k = self.first
        while k < len(lay.columns) and x < width:
            w = self._column_width(k)
            shown_cols.append((k, x, w))
            x += w + self._channel_width(k, None if fits else window) if k + 1 < len(lay.columns) else w
            k += 1
        boxes: dict[str, tuple[int, int, int]] = {}
        out = graph.output
        for k, x0, w in shown_cols:
            col = lay.columns[k]
            # the items whose rows meet the window (the column is ordered by rows)
            start = bisect.bisect_left(col, top - 5, key=lambda i: lay.items[i].top)
            end = bisect.bisect_right(col, top + rows, key=lambda i: lay.items[i].top)
            for i in col[start:end]:
                item = lay.items[i]
                heavy = i in lit_items
                name = item.name
                if item.kind == "input":
                    lit = name == node_lit
                    label = self.input_label(name)
                    change = session.value_changes.get(name)
                    if change is not None and len(label) + len(tx.num(change.old)) + 3 <= w - 3:
                        label = f"{name} = {tx.num(change.old)} → {tx.num(change.new)}"  # an edit, until the next step
                    style = (CURSOR if name == cursor else NAME) + (LIT if lit else Style())
                    put(x0, item.top, "●" if lit else "⊙" if name in session.breakpoints else " ", LIT if lit else None)
                    put(x0 + 1, item.top, label, style)
                    boxes[name] = (x0 + 1, item.top - top + head, len(label))
                    if lay.succs[i]:
                        hline(x0 + len(label) + 2, x0 + w - 1, item.top, heavy, open_left=False)
                    self._grad(put, x0 + 1, item.top + 1, name, out, name in new_grads, w - 1)
                elif item.kind == "node":
                    lit = name == node_lit
                    text = self.box_text(item)
                    bw = len(text)
                    tl, hz, tr, vt, bl, br, tee = CURRENT_BOX if lit else BOX
                    frame = LIT if lit else LINE
                    at = x0 + 1
                    if name in session.breakpoints:
                        put(at, item.top, "⊙ ", NAME)
                        at += 2
                    if session.value_shown(name):
                        change = session.value_changes.get(name)
                        value_style = VALUE + (CHANGED if name in new_values or change is not None else Style())
                        value = self.number(session.value(name))
                        if change is not None and at + len(value) + len(tx.num(change.old)) + 5 <= x0 + w:
                            put(at, item.top, f"{tx.num(change.old)} → ", VALUE)  # an edit, until the next step
                            at += len(tx.num(change.old)) + 3
                        put(at, item.top, value, value_style)
                        if session.warnings_at(name):  # a number that is not finite starts here
                            put(at + len(value) + 1, item.top, "⚠", WARN)
                    else:
                        put(at, item.top, "?", MUTED)
                    put(x0, item.top + 1, tl + hz * bw + tr, frame)
                    put(x0, item.top + 2, vt, frame)
                    put(x0 + 1, item.top + 2, text, (CURSOR if name == cursor else NAME) + (LIT if lit else Style()))
                    put(x0 + bw + 1, item.top + 2, tee if lay.succs[i] else vt, frame)
                    put(x0, item.top + 3, bl + hz * bw + br, frame)
                    boxes[name] = (x0 + 1, item.top + 2 - top + head, len(text))
                    if lay.succs[i]:
                        hline(x0 + bw + 2, x0 + w - 1, item.top + 2, heavy, open_left=False)
                    self._grad(put, x0 + 1, item.top + 4, name, out, name in new_grads, w - 1)
                elif item.kind == "pass":
                    hline(x0, x0 + w - 1, item.top, heavy)
                elif item.kind == "from":
                    label = stub_label(item)
                    put(x0, item.top, label, MUTED)
                    hline(x0 + len(label) + 1, x0 + w - 1, item.top, heavy, open_left=False)
                else:  # to
                    put(x0, item.top, stub_label(item), MUTED)
            # channel to the next column
            if k + 1 < len(lay.columns):
                self._route(lay, k, x0 + w, None if fits else window, edge_lit, hline, vline, put)
            # what lies above and below the window in this column
            above, below = start, len(col) - end
            if not fits:
                above = bisect.bisect_left(col, top, key=lambda i: lay.items[i].top)
                below = len(col) - bisect.bisect_right(col, top + rows - 1, key=lambda i: lay.items[i].top + lay.items[i].height - 1)
                if above:
                    put(x0, top, f"▲ {above:,} more"[:w].ljust(min(w, 12)), MUTED)
                if below:
                    put(x0, top + rows - 1, f"▼ {below:,} more"[:w].ljust(min(w, 12)), MUTED)
        for (cx, cy), (light, heavy) in masks.items():
            if chars[cy][cx] != " ":
                continue  # text wins over a line (a count, a label)
            if heavy:
                chars[cy][cx] = HEAVY[heavy | light]
                styles[cy][cx] = LIT
            else:
                chars[cy][cx] = LIGHT[light]
                styles[cy][cx] = LINE
        self.shown = Shown(shown_cols[0][0] if shown_cols else 0, shown_cols[-1][0] if shown_cols else 0,
                           top, rows, boxes)
        strips = []
        if head:
            strips.append(Strip(self._header(shown_cols, width), width).apply_style(self.rich_style))
        for y in range(rows):
            strips.append(_strip(chars[y], styles[y], self.rich_style))
        return strips

    def _grad(self, put, x: int, y: int, name: str, out: str, changed: bool, room: int) -> None:
        grad = self.session.grad(name)
        if grad is None:
            return
        text = f"{tx.d(out, name)} = {self.number(grad.value)}"
        if not grad.complete:
            text += f" ({grad.arrived} of {grad.of})"
        change = self.session.grad_changes.get(name)
        if change is not None:  # an edit changed it: old → new where it fits, until the next step
            edited = f"{tx.d(out, name)} = {tx.num(change.old)} → {tx.num(change.new)}"
            if len(edited) <= room:
                text = edited
        put(x, y, text, GRAD + (CHANGED if changed or change is not None else Style()))
        if self.session.graph.is_input(name) and self.session.warnings_at(name):
            put(x + len(text) + 1, y, "⚠", WARN)

    def _route(self, lay: Layout, k: int, cx: int, rows, edge_lit, hline, vline, put) -> None:
        """The links from column ``k`` to ``k + 1`` in the channel starting at x = ``cx``."""
        ch = lay.channel(k, rows)
        cw = max(3, ch.tracks + 2)
        items = lay.items
        end = cx + cw - 1  # the arrowhead's cell
        for target, track, lo, hi, sources in ch.nets:
            t_row = items[target].port
            lit_in = any((s, target) in edge_lit for s in sources)
            head = "▶" if items[target].kind in ("node", "input") else None
            if track == 0:
                hline(cx, end - 1 if head else end, t_row, lit_in)
            else:
                for s in sources:
                    lit = (s, target) in edge_lit
                    hline(cx, cx + track, items[s].port, lit, open_right=False)
                    vline(cx + track, min(items[s].port, t_row), max(items[s].port, t_row), lit)
                vline(cx + track, lo, hi, False)
                hline(cx + track, end - 1 if head else end, t_row, lit_in, open_left=False)
            if head:
                put(end, t_row, head, LIT if lit_in else LINE)

    def _header(self, shown_cols, width: int) -> list[Segment]:
        lay = self.lay
        n = len(lay.columns)
        first = shown_cols[0][0] if shown_cols else 0
        last = shown_cols[-1][0] if shown_cols else 0
        left = f"◀ … {first:,} more" if first else ""
        right = f"{n - 1 - last:,} more … ▶" if last < n - 1 else ""
        middle = f"columns {first + 1:,}–{last + 1:,} of {n:,}"
        room = width - len(left) - len(right)
        if room >= len(middle) + 2:
            pad = room - len(middle)
            line = left + " " * (pad // 2) + middle + " " * (pad - pad // 2) + right
        else:
            line = (left + " " + right).ljust(width)
        return [Segment(line[:width], MUTED)]


def _strip(chars: list[str], styles: list[Style | None], base: Style) -> Strip:
    """One row of cells as segments, a segment per run of one style (over the widget's own colours)."""
    segments = []
    start = 0
    for x in range(1, len(chars) + 1):
        if x == len(chars) or styles[x] is not styles[start]:
            style = styles[start]
            segments.append(Segment("".join(chars[start:x]), base + style if style is not None else base))
            start = x
    return Strip(segments)
