"""The graph as a node tree, rooted at the output; labels are drawn from the session.

Its keys (↑ ↓, enter, → ←, space, j) are ``GraphTree.BINDINGS``, with what the help page says of each.

The app's ``.`` and ``l`` keys put the cursor on the current step's node (see :func:`step_node`):
once, or after every step while :attr:`GraphTree.following` is on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import BindingType
from textual.widget import Widget
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from engine import text as tx
from engine.safe import printable
from engine.session import DebugSession
from tui.keys import Key
from tui.widgets.styles import GRAD, VALUE


@dataclass(frozen=True, slots=True)
class NodeRef:
    """What a tree line stands for.

    Attributes:
        name: The input or node, or None for a heading.
        see_above: True for a repeated node drawn as a leaf (``↪ u, see above``).
        depth: Nesting depth below the (hidden) root, for width arithmetic.
        heading: Text of a heading line.
    """

    name: str | None
    see_above: bool = False
    depth: int = 1
    heading: str = ""
    continues: str | None = None
    """For a subtree moved to the top level because it lies too deep: the node it feeds."""
    below: bool = False
    """For a ``see_above`` leaf whose subtree was moved further down instead."""


CHANGED = Style(bold=True, underline=True)
NAME = Style(bold=True)
MUTED = Style(italic=True)
LIT = Style(bold=True, reverse=True)
WARN = Style(color="yellow", bold=True)
WARNING_MARK = "⚠ "
"""Marks a line whose node a warning of the walk starts at (the mark, not the colour, carries it)."""


class GraphTree(Tree[NodeRef]):
    """A Tree whose labels are computed at render time from the session it is given."""

    # Textual's Tree binds up, down and space already: listed again here for the help page
    BINDINGS: ClassVar[list[BindingType]] = [
        Key("up", "cursor_up", "Up", show=False, section="Finite differences",
            help="move the cursor: the panel nudges the variable under it"),
        Key("down", "cursor_down", "Down", show=False, help_with="cursor_up"),
        Key("enter", "app.edit", "Edit input", show=False),
        Key("right", "app.next", "Next step", show=False),
        Key("left", "app.previous", "Previous step", show=False),
        Key("j", "jump", "Jump to the node's own line, or to the current step's node", show=False, section="The tree",
            help="jump: from a ↪ line to the node's own line"),
        Key("space", "toggle_node", "Expand or collapse", show=False, section="The tree",
            help="expand or collapse a node"),
    ]

    # The cursor line: a dark grey band, so every colour in tui.widgets.styles keeps
    # 4.5 : 1 on it (Textual's default, white on blue, has 3.8 : 1).
    DEFAULT_CSS = """
    GraphTree {
        overflow-x: hidden;  /* a line too long ends in "…"; the detail line under the tree has it in full */
    }
    GraphTree > .tree--cursor {
        background: #404040;
        color: $foreground;
        text-style: bold;
    }
    GraphTree:focus > .tree--cursor {
        background: #404040;
        color: $foreground;
        text-style: bold underline;
    }
    """

    def __init__(self, session: DebugSession, **kwargs) -> None:
        super().__init__(Text("graph"), **kwargs)
        self.session = session
        self.show_root = False
        self.auto_expand = False
        self.primary: dict[str, TreeNode[NodeRef]] = {}
        """The expanded line of each name (its first place in tree order), once it is built."""
        self._children: dict[str | None, list[tuple[str, str]]] = {}
        self._placed: dict[str, tuple[str | None, int, str | None]] = {}
        self._unbuilt: dict[int, TreeNode[NodeRef]] = {}
        self._lit: frozenset[int] = frozenset()
        """The lines of the path shown by "why this gradient?" (marked »)."""
        self._drawn: dict[int, tuple[TreeNode[NodeRef], Text]] = {}
        """The label each line was last drawn with, by node id, until :meth:`redraw` checks it."""
        self.following = False
        """Follow mode (l): the cursor, and so the panels, go to the current step's node after every move."""
        self._followed: tuple | None = None
        """The position and walk the cursor last followed, so that only a move of the walk moves it."""

    def on_mount(self) -> None:
        self.build()

    MAX_NESTING = 24
    """Deeper subtrees start again at the left, as top-level entries that say what they feed."""
    EAGER = 2000
    """Lines built at once; the rest are built when their parent is expanded (space)."""
    REVEAL = 100
    """Lines expanded around each line opened to reveal a name (j, the "why" path): a screenful or
    two, not 2,000 per level (8,000 lines took j on the 100k DAG 0.15 s)."""
    LIGHT_LIMIT = 200
    """How many names of a "why" path :meth:`light_path` marks at most (a screenful or two)."""

    def _plan(self) -> None:
        """Where every name goes, as plain data: a depth-first walk from the output.

        A name is expanded at its first place in tree order; elsewhere it is a leaf
        "see above" (or "continued below" when its subtree lay too deep and was moved
        to the top level).
        """
        graph = self.session.graph
        children: dict[str | None, list[tuple[str, str]]] = {None: []}
        placed: dict[str, tuple[str | None, int, str | None]] = {}  # name -> (parent, depth, feeds)
        stack: list[tuple[str | None, str, int, str | None]] = [(None, graph.output, 1, None)]
        moved: deque[tuple[str, str | None]] = deque()
        while stack or moved:
            if not stack:
                name, consumer = moved.popleft()
                if name not in placed:
                    stack.append((None, name, 1, consumer))
                continue
            parent, name, depth, feeds = stack.pop()
            if name in placed:
                children[parent].append((name, "above"))
                continue
            node = graph.node_by_name.get(name)
            expandable = node is not None and bool(node.operands)
            if expandable and depth > self.MAX_NESTING:
                children[parent].append((name, "below"))
                moved.append((name, parent))
                continue
            placed[name] = (parent, depth, feeds)
            children[parent].append((name, "primary"))
            if expandable:
                children[name] = []
                for operand in reversed(node.operands):
                    stack.append((name, operand, depth + 1, None))
        self._children, self._placed = children, placed

    _holding = False
    """Inside :meth:`_one_layout`: adding a line only marks the lines stale."""
    _held = False

    def _invalidate(self) -> None:
        # Textual's Tree lays itself out again (a refresh with layout, a reset of the root) on
        # every line added or expanded: 8,000 lines built at once by j on the 100k DAG took 0.2 s
        if self._holding:
            self._held = True
            self._tree_lines_cached = None  # read meanwhile, the lines are built afresh
            return
        super()._invalidate()

    @contextmanager
    def _one_layout(self) -> Iterator[None]:
        """Add and expand any number of lines, then lay the tree out once."""
        if self._holding:
            yield
            return
        self._holding, self._held = True, False
        try:
            yield
        finally:
            self._holding = False
            if self._held:
                super()._invalidate()

    def process_label(self, label: str | Text) -> Text:
        """The label as given: every label here is a one-line Text (a name), and is drawn from
        the session anyway; Textual splits each into lines, twice per line added."""
        return label if isinstance(label, Text) else super().process_label(label)

    def _on_resize(self, event: events.Resize) -> None:
        """Work out the lines' widths again only when the width changed.

        Textual's Tree rebuilds every line on any resize; a line's width here depends on the
        tree's width only (see :meth:`get_label_width`), and opening or closing the editor
        changes the height alone: 15,000 lines of the 100k DAG rebuilt for nothing.
        """
        event.prevent_default()  # Tree._on_resize would rebuild them
        self._line_cache.grow(event.size.height)
        if self._tree_lines_cached is not None and event.size.width == self._built_width:
            # the lines drawn are still good (their cache is keyed by line, width and state): a
            # detail line growing by one, under the tree, redraws the tree from that cache
            self.refresh()
        else:
            self._invalidate()

    _built_width = -1
    """The width the lines' widths were last worked out for."""

    def build(self) -> None:
        """Lay the graph out: output at the top, operands as children, shared nodes once."""
        with self._one_layout():
            self._build_lines()

    def _build_lines(self) -> None:
        self.clear()
        self.primary = {}
        self._unbuilt = {}
        self._lit = frozenset()  # line ids start again from 0
        self._drawn = {}
        self._plan()
        graph = self.session.graph
        budget = [self.EAGER]
        self._grow(self.root, None, budget)
        unused = [n for n in graph.names if n not in graph.needed]
        if unused:
            heading = f"not used by {graph.output}"
            group = self.root.add(Text(heading), NodeRef(None, depth=1, heading=heading),
                                  expand=len(unused) <= budget[0])
            self._children["\0unused"] = [(n, "unused") for n in unused]
            self._unbuilt[group.id] = group
            if group.is_expanded:
                self._grow(group, "\0unused", budget)
        self.root.expand()
        self.cursor_line = 0

    def _grow(self, tree_node: TreeNode[NodeRef], name: str | None, budget: list[int]) -> None:
        """Build the lines under ``tree_node`` (standing for ``name``), depth first, within the budget."""
        with self._one_layout():
            self._grow_lines(tree_node, name, budget)

    def _grow_lines(self, tree_node: TreeNode[NodeRef], name: str | None, budget: list[int]) -> None:
        work = [(tree_node, name)]
        while work:
            at, key = work.pop()
            self._unbuilt.pop(at.id, None)
            for child, kind in self._children.get(key, ()):
                if kind == "unused":
                    self.primary[child] = at.add_leaf(Text(child), NodeRef(child, depth=2))
                elif kind != "primary":
                    at.add_leaf(Text(child), NodeRef(child, see_above=True, depth=self._depth(at) + 1,
                                                     below=kind == "below"))
                else:
                    _, depth, feeds = self._placed[child]
                    ref = NodeRef(child, depth=depth, continues=feeds)
                    if child not in self._children:
                        self.primary[child] = at.add_leaf(Text(child), ref)
                        continue
                    budget[0] -= 1
                    now = budget[0] > 0
                    self.primary[child] = line = at.add(Text(child), ref, expand=now)
                    if now:
                        work.append((line, child))
                    else:
                        self._unbuilt[line.id] = line
            budget[0] -= 1

    @staticmethod
    def _depth(node: TreeNode[NodeRef]) -> int:
        return node.data.depth if node.data is not None else 0

    def on_tree_node_expanded(self, event: Tree.NodeExpanded) -> None:
        """Build a line's children the first time it is expanded."""
        node = event.node
        if node.id in self._unbuilt:
            ref = node.data
            key = "\0unused" if ref is not None and ref.name is None else (ref.name if ref else None)
            self._grow(node, key, [self.EAGER])

    def reveal(self, name: str) -> TreeNode[NodeRef] | None:
        """The line of ``name``, building and expanding its ancestors' lines if need be."""
        if name in self.primary:
            return self.primary[name]
        chain = []
        at = self._placed.get(name, (None,))[0] if name in self._placed else None
        while at is not None and at not in self.primary:
            chain.append(at)
            at = self._placed[at][0]
        for ancestor in [at, *reversed(chain)] if at is not None else list(reversed(chain)):
            line = self.primary.get(ancestor)
            if line is not None and line.id in self._unbuilt:
                self._grow(line, ancestor, [self.REVEAL])
                line.expand()
        if name not in self.primary:  # unused names sit under their heading
            for line in list(self._unbuilt.values()):
                if line.data is not None and line.data.name is None:
                    self._grow(line, "\0unused", [10**9])
                    line.expand()
        return self.primary.get(name)

    def set_following(self, on: bool) -> None:
        """Turn follow mode on (the cursor goes to the step's node at the next redraw) or off."""
        self.following = on
        self._followed = None

    def follow(self) -> None:
        """In follow mode, put the cursor on the current step's node if the walk moved since the last time."""
        session = self.session
        where = (session.position, session.walk)
        if not self.following or where == self._followed:
            return
        self._followed = where
        name = self.step_name()
        if name is not None:
            self.select_name(name)

    def redraw(self) -> None:
        """Draw again the lines whose labels the session changed (the layout stays as it is).

        Textual takes ~150 µs to draw a tree line and a label takes ~15-50 µs to work
        out, while a step changes the labels of a few names at most: so the labels
        of the lines on screen that a change can have touched (:meth:`_names_to_check`)
        are worked out again and only those that differ from what the line shows are
        drawn. A line drawn earlier but scrolled out of sight now is marked stale
        instead, so that it is drawn afresh when it comes back into view.
        """
        top = self.scroll_offset.y
        bottom = top + self.size.height
        names = self._names_to_check()
        for node_id, (node, shown) in list(self._drawn.items()):
            if not top <= node.line < bottom:
                del self._drawn[node_id]
                node.refresh()  # invalidates the line's cached drawing
            elif names is not None and (node.data is None or node.data.name not in names):
                continue
            elif not _same(self._label(node), shown):
                node.refresh()

    FEW_STEPS = 64
    """A move of up to this many steps has only the lines of the names it reveals checked."""

    _last_redraw: tuple | None = None
    """What the labels were last checked against (see :meth:`_names_to_check`)."""

    def _names_to_check(self) -> set[str] | None:
        """The names whose lines can read differently since the last redraw, or None for every line.

        A step (n, p) changes a few lines of a 100,000-node chain's screenful: the names it reveals
        (``session.names_revealed_between``) and those the current step marks, before and after
        (● ↓, and the numbers the last step changed). Every line on screen (32 on a full screen,
        40 µs each on the chain: 1.4 ms a key) is checked when anything else that a label reads
        changed too: the session, graph or walk, the notation, the breakpoints, an edit's changes,
        predict mode, a warning of the walk, the width, the "why" path, the lines' layout; or when
        the move is long (f, r, c, t) or reaches the end of the walk.
        """
        s = self.session
        held = (s, s.graph, s.walk, self._tree_lines_cached, self._lit)  # compared by identity
        valued = (s.notation, frozenset(s.breakpoints), self.scrollable_content_region.width)
        values, grads = s.changed_by_last_step()
        roles = values | grads | {n for n in step_roles(s.current) if n is not None}
        simple = (type(self).line_label is GraphTree.line_label and hasattr(s, "names_revealed_between")
                  and not (s.predicting or s.value_changes or s.grad_changes or s.walk.warnings))
        now = (held, valued, simple, s.revealed, roles)
        last, self._last_redraw = self._last_redraw, now
        if last is None or not (simple and last[2]) or last[1] != valued:
            return None
        if any(a is not b for a, b in zip(last[0], held)):
            return None
        before = last[3]
        if abs(s.revealed - before) > self.FEW_STEPS or max(s.revealed, before) >= s.total:
            return None
        return s.names_revealed_between(before, s.revealed) | roles | last[4]

    def get_label_width(self, node: TreeNode[NodeRef]) -> int:
        """An upper bound, without drawing: the expression is cut to fit, the numbers are not."""
        ref = node.data
        if ref is None or ref.name is None:
            return len(ref.heading) if ref else 10
        width, guide, output = self._build_consts or (self.size.width, self.guide_depth, len(self.session.graph.output))
        return max(2 * len(ref.name) + output + 48, width - guide * max(0, ref.depth - 1) - 2)

    _build_consts: tuple[int, int, int] | None = None
    """The tree's width, guide depth and output name's length while Textual lays out its lines."""

    def notify_style_update(self) -> None:
        """Restyle the lines without laying them out again.

        Textual's Tree works out every line's width again on any style change, and taking or
        losing the focus is one (opening or closing the editor, a dialog): 15,000 lines on the
        100k DAG. A style change here changes how lines look, not how many there are or how wide.
        """
        if self._tree_lines_cached is None:
            super().notify_style_update()
            return
        Widget.notify_style_update(self)
        self._line_cache.clear()
        self.refresh()

    def _build(self) -> None:
        # Textual works out every line's width again on each resize and focus change (opening
        # the editor does both): with thousands of lines, reading self.size (~7 µs) and the
        # reactive guide depth once per line took most of it
        self._build_consts = (self.size.width, self.guide_depth, len(self.session.graph.output))
        self._built_width = self.size.width
        try:
            super()._build()
        finally:
            self._build_consts = None

    def light_path(self, names: list[str]) -> None:
        """Mark the lines along a path from the output down (``names[0]`` is the output); [] clears.

        Where the path passes a ``↪ x, see above`` line, that line and x's own line are both marked.
        A path through a deep graph is marked along its first :data:`LIGHT_LIMIT` names: marking
        all 100,000 of a deep chain would build as many lines.
        """
        lit: set[int] = set()
        line = self.reveal(names[0]) if names else None
        if line is not None:
            lit.add(line.id)
        for name in names[1:self.LIGHT_LIMIT]:
            if line is None:
                break
            if line.id in self._unbuilt:
                self._grow(line, line.data.name if line.data else None, [self.REVEAL])
                line.expand()
            step = next((c for c in line.children if c.data is not None and c.data.name == name), None)
            if step is None:  # a subtree moved further down: go on from the name's own line
                step = self.reveal(name)
                if step is None:
                    break
            lit.add(step.id)
            if step.data is not None and step.data.see_above:
                step = self.reveal(name)
                if step is not None:
                    lit.add(step.id)
            line = step
        self._lit = frozenset(lit)
        self.redraw()

    def action_jump(self) -> None:
        """j: from a ``↪`` line to the node's own line; elsewhere, to the current step's node."""
        node = self.cursor_node
        ref = node.data if node is not None else None
        if ref is not None and ref.name is not None and ref.see_above:
            self.select_name(ref.name)
            return
        name = self.step_name()
        if name is not None:
            self.select_name(name)

    def first_input(self, within: int = 10) -> str | None:
        """The input to start the cursor on: the file's first input if its own line is among the
        first ``within`` lines on screen, else the first input line among them, else None (on a
        big graph the inputs lie deep, and a cursor there would open the tree scrolled away from
        the output)."""
        graph = self.session.graph
        lines: list[str] = []
        stack = list(reversed(self.root.children))
        while stack and len(lines) < within:
            node = stack.pop()
            ref = node.data
            if ref is not None and ref.name is not None and not ref.see_above and graph.is_input(ref.name):
                lines.append(ref.name)
            else:
                lines.append("")
            if node.is_expanded:
                stack.extend(reversed(node.children))
        if graph.inputs and graph.inputs[0].name in lines:
            return graph.inputs[0].name
        return next((name for name in lines if name), None)

    def select_name(self, name: str) -> None:
        """Put the cursor on ``name``'s own line, expanding whatever hides it."""
        with self._one_layout():
            node = self.reveal(name)
            if node is None:
                return
            ancestor = node.parent
            while ancestor is not None:
                ancestor.expand()
                ancestor = ancestor.parent
        self._tree_lines  # laid out now: the cursor moves in this frame, not after another
        self.move_cursor(node)
        # its line number is known once the lines are laid out; only the latest call moves it then
        # (the first input's, chosen on mount, must not win over a name chosen just after)
        self._selecting = node
        self.call_after_refresh(self._select_laid_out, node)

    _selecting: TreeNode[NodeRef] | None = None

    def _select_laid_out(self, node: TreeNode[NodeRef]) -> None:
        if node is self._selecting:
            self.move_cursor(node)

    # ------------------------------------------------------------------ labels

    def line_label(self, ref: NodeRef, width: int) -> Text:
        """A name's line, at most ``width`` columns (the tensor app's tree writes shapes instead)."""
        return node_label(self.session, ref, width)

    def step_name(self) -> str | None:
        """The node the current step is about (``.``, ``j`` and follow mode go there)."""
        return step_node(self.session)

    def _label(self, node: TreeNode[NodeRef]) -> Text:
        """The label of a line as the session now has it, before the cursor's style."""
        ref = node.data
        if ref is None or ref.name is None:
            return Text(ref.heading if ref else str(node.label), style=MUTED)
        width = self.scrollable_content_region.width - self.guide_depth * max(0, ref.depth - 1) - 2
        if ref.see_above and not ref.below:
            own = self.primary.get(ref.name)
            label = reference_label(ref.name, hidden=own is None or own.line < 0)
        else:
            label = self.line_label(ref, max(width - 2 * bool(self._lit), 0))
        if node.id in self._lit:
            at = 2 + label.plain.find(ref.name)  # after any ● ↓ ■ mark
            label = Text.assemble(("» ", LIT), label)
            label.stylize(LIT, at, at + len(ref.name))
        return label

    def render_label(self, node: TreeNode[NodeRef], base_style: Style, style: Style) -> Text:
        label = self._label(node)
        self._drawn[node.id] = (node, label.copy())
        label.stylize(style)
        if node._allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            label = Text.assemble((icon, base_style), label)
        room = self._room(node)
        if label.cell_len > room:  # never cut silently: the detail line under the tree has it all
            label.truncate(max(room, 1), overflow="ellipsis")
        return label

    def _room(self, node: TreeNode[NodeRef]) -> int:
        """The columns a line's label has, right of its guides."""
        return self.scrollable_content_region.width - self.guide_depth * max(0, self._depth(node) - 1)

    def detail(self, session: DebugSession | None = None) -> Text:
        """The line under the cursor in full, and its note: what a cut line leaves out (as it
        reads in ``session``, by default the tree's own)."""
        session = session or self.session
        node = self.cursor_node
        ref = node.data if node is not None else None
        if ref is None or ref.name is None:
            return Text(ref.heading if ref is not None else "")
        line = NodeRef(ref.name, depth=1, continues=ref.continues)
        # (another session: the scalar app's step across the pass boundary, see CgtuiApp._show_detail)
        label = self.line_label(line, 10**6) if session is self.session else node_label(session, line, 10**6)
        if ref.name in session.breakpoints and not label.plain.startswith(BREAK_MARK):
            label.append("   ")
            label.append(BREAK_MARK + "breakpoint", Style(bold=True))
        graph = session.graph
        item = graph.node_by_name.get(ref.name) or graph.input_by_name.get(ref.name)
        if item is not None and item.note:
            label.append("\n")
            label.append(f"note: {printable(item.note)}", MUTED)  # from the file: no control character gets through
        return label


def _same(a: Text, b: Text) -> bool:
    """Whether two labels draw the same: same characters, same styles."""
    return a.plain == b.plain and a.style == b.style and a.spans == b.spans


def step_roles(step) -> tuple[str | None, str | None]:
    """The node a step evaluates or whose gradient it changes, and, for a backward step, the node
    whose gradient flows from (a scalar step or a tensor one: every backward step has a child)."""
    if step is None:
        return None, None
    child = getattr(step, "child", None)
    if child is not None:
        return step.parent, child
    return step.node, None


def step_node(session: DebugSession) -> str | None:
    """The node the current step is about: the one it evaluates, or the one whose gradient it changes."""
    return step_roles(session.current)[0]


STEP_MARK = "● "
"""The node the current step evaluates, or whose gradient it changes."""
FLOW_MARK = "↓ "
"""In a backward step, the node whose gradient flows down (to the ● node below it)."""
BREAK_MARK = "■ "
"""A breakpoint. One mark per line, each a different shape: ● or ↓ wins over ■ (the detail line shows both)."""


def _marker(session: DebugSession, name: str) -> str:
    """The one mark before a name: the step's role if it has one, else its breakpoint."""
    node, flows_from = step_roles(session.current)
    if name == node:
        return STEP_MARK
    if name == flows_from:
        return FLOW_MARK
    return BREAK_MARK if name in session.breakpoints else ""


def _number(text: Text, value: float, style: Style, change, changed: bool, number=tx.num) -> None:
    if change is not None:
        text.append(number(change.old), style)
        text.append(" → ")
        text.append(number(change.new), style + CHANGED)
    else:
        text.append(number(value), style + CHANGED if changed else style)


def reference_label(name: str, *, hidden: bool, below: bool = False) -> Text:
    """A line that stands for a node drawn elsewhere: where, truly, and how to get there.

    A node's own line is its first in the tree's order, so a repeated node's is above,
    unless its subtree lay too deep and was moved further down. When the own line is
    inside a collapsed part of the tree, the label says so: "see above" alone sent the
    reader looking for a line they could not see.
    """
    if below:
        where = ", continued below (j)"
    elif hidden:
        where = ", see above (collapsed: j)"
    else:
        where = ", see above"
    return Text.assemble(("↪ ", ""), (name, NAME), (where, MUTED))


def node_label(session: DebugSession, ref: NodeRef, width: int, *, number=tx.num, expression=None,
               shape=None) -> Text:
    """One line as the lecture writes it: mark, name, expression, value, then the gradient
    (``● v = a + u = 11   ∂J/∂v = 3``), shortened to fit.

    The numbers are never shortened: when the line is too narrow, the expression
    loses characters first (ending in …), then disappears.

    Args:
        number: How a value or gradient is written (the tensor tree: a matrix's summary).
        expression: A node's expression as the line writes it (default: as the lecture does).
        shape: What follows the name (the tensor tree: `` (1×5)``), or None for nothing.
    """
    name = ref.name
    assert name is not None
    graph = session.graph
    if ref.see_above:
        return reference_label(name, hidden=False, below=ref.below)
    new_values, new_grads = session.changed_by_last_step()
    head = Text()
    head.append(_marker(session, name), Style(bold=True))
    head.append(name, NAME)
    if shape is not None:
        head.append(shape(name))
    head.append(" = ")
    value = Text()
    if session.value_shown(name):
        _number(value, session.value(name), VALUE, session.value_changes.get(name), name in new_values, number)
    else:
        value.append("?")
    rest = Text()
    grad = session.grad(name)
    if grad is not None:
        rest.append("   ")
        rest.append(tx.d(graph.output, name, session.notation), GRAD)
        rest.append(" = ")
        _number(rest, grad.value, GRAD, session.grad_changes.get(name), name in new_grads, number)
        if grad.of > 1:
            rest.append(f" ({grad.arrived} of {grad.of}{'' if grad.complete else ', so far'})")
    fixed = head.cell_len + value.cell_len + rest.cell_len
    warnings = [w.short for w in session.warnings_at(name)]
    if warnings:  # before the expression, which gives way to it
        warning = WARNING_MARK + "; ".join(warnings)
        room = max(width - fixed - 3, len(WARNING_MARK) + 8)
        if len(warning) > room:
            warning = warning[: room - 1] + "…"
        rest.append("   ")
        rest.append(warning, WARN)
        fixed += 3 + len(warning)
    node = graph.node_by_name.get(name)
    if node is not None:
        expr = tx.pretty(node.expr) if expression is None else expression(node)
        room = width - fixed - 3  # " = " after it
        if room >= 4:
            if len(expr) > room:
                expr = expr[: room - 1] + "…"
            head.append(expr)
            head.append(" = ")
            fixed += len(expr) + 3
    tail = "input" if node is None else ""
    if ref.continues:
        tail = f"(feeds {ref.continues}) {tail}".rstrip()
    if tail and width - fixed - 3 >= len(tail):
        rest.append("   ")
        rest.append(tail, MUTED)
    return Text.assemble(head, value, rest)
