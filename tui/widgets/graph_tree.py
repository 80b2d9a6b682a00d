"""The graph as a node tree, rooted at the output; labels are drawn from the session.

| Key | Action |
| :- | :- |
| up / down | move the cursor (the finite-difference panel follows it) |
| enter | edit the input under the cursor |
| right / left | next / previous step (not horizontal scrolling) |
| space | expand or collapse a node |
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from engine import text as tx
from engine.session import DebugSession
from engine.steps import BackwardStep, ForwardStep


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


VALUE = Style(color="green")
GRAD = Style(color="red")
CHANGED = Style(bold=True, underline=True)
NAME = Style(bold=True)
MUTED = Style(italic=True)


class GraphTree(Tree[NodeRef]):
    """A Tree whose labels are computed at render time from the session it is given."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.edit", "Edit input", show=False),
        Binding("right", "app.next", "Next step", show=False),
        Binding("left", "app.previous", "Previous step", show=False),
    ]

    def __init__(self, session: DebugSession, **kwargs) -> None:
        super().__init__(Text("graph"), **kwargs)
        self.session = session
        self.show_root = False
        self.auto_expand = False
        self.primary: dict[str, TreeNode[NodeRef]] = {}
        """The expanded line of each name (its first place in tree order)."""

    def on_mount(self) -> None:
        self.build()

    MAX_NESTING = 24
    """Deeper subtrees start again at the left, as top-level entries that say what they feed."""

    def build(self) -> None:
        """Lay the graph out: output at the top, operands as children, shared nodes once."""
        self.clear()
        self.primary = {}
        graph = self.session.graph
        stack: list[tuple[TreeNode[NodeRef], str, int, str | None]] = [(self.root, graph.output, 1, None)]
        moved: deque[tuple[str, str | None]] = deque()
        while stack or moved:
            if not stack:  # a subtree that lay too deep: a new top-level entry
                name, consumer = moved.popleft()
                if name not in self.primary:
                    stack.append((self.root, name, 1, consumer))
                continue
            parent, name, depth, continues = stack.pop()
            if name in self.primary:
                parent.add_leaf(Text(name), NodeRef(name, see_above=True, depth=depth))
                continue
            node = graph.node_by_name.get(name)
            if node is None or not node.operands:
                self.primary[name] = parent.add_leaf(Text(name), NodeRef(name, depth=depth, continues=continues))
                continue
            if depth > self.MAX_NESTING:
                consumer = parent.data.name if parent.data is not None else None
                parent.add_leaf(Text(name), NodeRef(name, see_above=True, depth=depth, below=True))
                moved.append((name, consumer))
                continue
            ref = NodeRef(name, depth=depth, continues=continues)
            self.primary[name] = tree_node = parent.add(Text(name), ref, expand=True)
            for operand in reversed(node.operands):
                stack.append((tree_node, operand, depth + 1, None))
        unused = [n for n in graph.names if n not in graph.needed]
        if unused:
            heading = f"not used by {graph.output}"
            group = self.root.add(Text(heading), NodeRef(None, depth=1, heading=heading), expand=True)
            for name in unused:
                self.primary[name] = group.add_leaf(Text(name), NodeRef(name, depth=2))
        self.root.expand()
        self.cursor_line = 0

    def redraw(self) -> None:
        """Draw the visible labels again from the session (the layout stays as it is)."""
        self._updates += 1
        self.refresh()

    def get_label_width(self, node: TreeNode[NodeRef]) -> int:
        """An upper bound, without drawing: the expression is cut to fit, the numbers are not."""
        ref = node.data
        if ref is None or ref.name is None:
            return len(ref.heading) if ref else 10
        numbers = 2 * len(ref.name) + len(self.session.graph.output) + 48
        return max(numbers, self.size.width - self.guide_depth * max(0, ref.depth - 1) - 2)

    def select_name(self, name: str) -> None:
        node = self.primary.get(name)
        if node is not None:
            self.move_cursor(node)

    # ------------------------------------------------------------------ labels

    def render_label(self, node: TreeNode[NodeRef], base_style: Style, style: Style) -> Text:
        ref = node.data
        if ref is None or ref.name is None:
            label = Text(ref.heading if ref else str(node.label), style=MUTED)
        else:
            width = self.size.width - self.guide_depth * max(0, ref.depth - 1) - 2
            label = node_label(self.session, ref, max(width, 0))
        label.stylize(style)
        if node._allow_expand:
            icon = self.ICON_NODE_EXPANDED if node.is_expanded else self.ICON_NODE
            return Text.assemble((icon, base_style), label)
        return label


def _marker(session: DebugSession, name: str) -> str:
    step = session.current
    if isinstance(step, ForwardStep) and step.node == name:
        return "▶ "
    if isinstance(step, BackwardStep):
        if step.parent == name:
            return "▶ "
        if step.child == name:
            return "◇ "
    return ""


def _number(text: Text, value: float, style: Style, change, changed: bool) -> None:
    if change is not None:
        text.append(tx.num(change.old), style)
        text.append(" → ")
        text.append(tx.num(change.new), style + CHANGED)
    else:
        text.append(tx.num(value), style + CHANGED if changed else style)


def node_label(session: DebugSession, ref: NodeRef, width: int) -> Text:
    """One line: marker, name, value, gradient, then the expression, shortened to fit.

    The numbers are never shortened: when the line is too narrow, the expression
    loses characters first (ending in …), then disappears.
    """
    name = ref.name
    assert name is not None
    graph = session.graph
    if ref.see_above:
        return Text.assemble(("↪ ", ""), (name, NAME), (", continued below" if ref.below else ", see above", MUTED))
    new_values, new_grads = session.changed_by_last_step()
    text = Text()
    text.append(_marker(session, name))
    text.append(name, NAME)
    text.append(" = ")
    if session.value_shown(name):
        _number(text, session.value(name), VALUE, session.value_changes.get(name), name in new_values)
    else:
        text.append("?")
    grad = session.grad(name)
    if grad is not None:
        text.append("   ")
        text.append(tx.d(graph.output, name), GRAD)
        text.append(" = ")
        _number(text, grad.value, GRAD, session.grad_changes.get(name), name in new_grads)
        if grad.of > 1:
            text.append(f" ({grad.arrived} of {grad.of}{'' if grad.complete else ', so far'})")
    node = graph.node_by_name.get(name)
    tail = f"← {tx.pretty(node.expr)}" if node is not None else "input"
    if ref.continues:
        tail = f"(feeds {ref.continues}) {tail}"
    room = width - text.cell_len - 3
    if room >= 2:
        if len(tail) > room:
            tail = tail[: room - 1] + "…"
        text.append("   ")
        text.append(tail, MUTED)
    return text
