"""Tensor graphs: matrix inputs, shape checks before anything runs, and the walk as data.

A graph file becomes a tensor graph as soon as one input is a matrix (written as
rows, ``X: [[1, 2, 3], [4, 5, 6]]``) or generated (``W1: {randn: [4, 2], seed: 1,
scale: 0.01}``, ``b1: {zeros: [4, 1]}``); every other graph is read exactly as
before by :mod:`engine.graph`. Scalars stay numbers (0-d arrays here).

The walk has one forward step per node and one backward step per (node, operand)
edge, in the scalar walk's order; each backward step is one vector-Jacobian
product, with its formula in the course's notation, its shape arithmetic, the
numbers, and the un-broadcast sum of an operand that was broadcast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

import numpy as np

from engine import expr as ex
from engine import tensor_expr as te
from engine import tensor_ops as to
from engine.errors import GraphError
from engine.finite_diff import EPS
from engine.graph import (NamedGraph, NodeSource, _dependency_order, check_name, check_operands,
                          check_output_and_params)

FLAT_HINT = "write [[1], [2]] for a column or [[1, 2]] for a row"
MAX_ELEMENTS = 10_000_000
"""The most elements one input may have (written or generated)."""
GENERATORS = ("randn", "zeros")


@dataclass(frozen=True, slots=True)
class TensorInput:
    """An input holding a matrix (2-D array) or a number (0-d array).

    Attributes:
        span: Where the value stands in the file text (None for a matrix or a generated one:
            they are not edited in place yet).
        generated: How it was made (``randn 4×2, seed 1, scale 0.01``), or None when written out.
    """

    name: str
    value: np.ndarray
    line: int | None = None
    note: str | None = None
    span: tuple[int, int] | None = None
    generated: str | None = None
    element_spans: tuple[tuple[tuple[int, int], ...], ...] | None = None
    """Where each element of a matrix written out stands in the file text, row by row (for saving one in place)."""

    @property
    def shape(self) -> te.Shape:
        return self.value.shape


@dataclass(frozen=True, slots=True)
class TensorNode:
    """A computed node of a tensor graph; ``shapes`` holds the shape of every sub-tree of ``expr``."""

    name: str
    expr: object
    operands: tuple[str, ...]
    line: int | None = None
    note: str | None = None
    shapes: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def text(self) -> str:
        return te.to_text(self.expr)


@dataclass(frozen=True)
class TensorGraph(NamedGraph):
    """A checked tensor graph: every shape fits, the output is a number or 1×1."""

    inputs: tuple[TensorInput, ...]
    nodes: tuple[TensorNode, ...]
    output: str
    title: str | None = None
    description: str | None = None
    params: tuple[str, ...] = ()
    alpha: float | None = None
    shapes: dict = field(default_factory=dict, compare=False, repr=False)
    tensor = True
    """Tells a tensor graph from a scalar one (``getattr(graph, "tensor", False)``)."""

    @cached_property
    def forward_texts(self) -> tuple[str, ...]:
        """Each node's shape arithmetic (it depends on the shapes only, never on the numbers)."""
        return tuple(te.shape_steps(node.expr, node.shapes) for node in self.nodes)

    @cached_property
    def edge_texts(self) -> tuple[tuple[str, str, tuple[int, ...] | None, str | None], ...]:
        """For each edge: its formula in the course's notation, its shape arithmetic, the axes an
        un-broadcast sums and that sum in words (all fixed by the graph: computed once)."""
        from engine.text import d

        out = []
        for child, parent, formula in self.edges:
            shape = self.shapes[parent]
            pre, axes = (formula.arg, formula.axes) if isinstance(formula, te.Unbroadcast) else (formula, None)
            memo: dict = {}
            te.infer(formula, self.shapes, memo)
            arithmetic = te.shape_steps(pre, memo)
            reduction = None
            if axes is not None:
                reduction = f"un-broadcast {parent}: {axes_text(axes, shape)}"
                arithmetic += f" → un-broadcast: {axes_text(axes, shape)}"
            arithmetic += f" = shape of {parent} {'✓' if memo[formula] == shape else '✗'}"
            text = te.to_text(formula, course=True, grad=lambda name: d(self.output, name))
            out.append((text, arithmetic, axes, reduction))
        return tuple(out)

    @cached_property
    def edges(self) -> tuple[tuple[str, str, object], ...]:
        """``(child, parent, formula)`` for every edge the output depends on, in backward-step order."""
        out = []
        for node in reversed(self.nodes):
            if node.name not in self.needed:
                continue
            for operand in node.operands:
                formula = to.vjp(node.expr, operand, te.Grad(node.name), node.shapes, y=_own_name(node))
                if te.infer(formula, self.shapes) != self.shapes[operand]:  # simplified to a number (x - x is 0)
                    formula = te.Spread(formula, self.shapes[operand])
                out.append((node.name, operand, formula))
        return tuple(out)


def _own_name(node: TensorNode) -> ex.Name:
    """What a node's own expression is called in its formulas (``tanh``'s rule says ``1 - A1²``)."""
    return ex.Name(node.name)


# --------------------------------------------------------------------------- the file


def tensor_input(name: str, key_line: int, value) -> TensorInput:
    """An input of a tensor graph from graphfile's tree node: a number, rows, or a generator."""
    from engine import graphfile as gf

    note = None
    if value.kind == "map":
        keys = [k.value for k, _ in value.items if k.kind == "scalar"]
        gen = [k for k in keys if k in GENERATORS]
        if gen:
            return _generated(name, key_line, value, gen)
        fields = gf._fields(value, f"input {name!r}", ("value", "note"), "value")
        note = gf._text_field(fields["note"], "note") if "note" in fields else None
        value = fields["value"]
    if value.kind == "seq":
        rows = _rows(name, value)  # (checked first: every item is then a row of numbers)
        spans = tuple(tuple((item.start, item.end) for item in row.items) for row in value.items)
        return TensorInput(name, rows, key_line, note, None, None, spans)
    number = gf._number(value, name)
    return TensorInput(name, np.array(number), key_line, note, (value.start, value.end))


def _rows(name: str, node) -> np.ndarray:
    from engine import graphfile as gf

    if not node.items:
        raise GraphError(f"input {name!r}: the matrix is empty ({FLAT_HINT})", node.line, name)
    if any(item.kind != "seq" for item in node.items):
        flat = all(item.kind == "scalar" for item in node.items)
        why = "a flat list is neither a number nor a matrix" if flat else "each row must be a list of numbers"
        raise GraphError(f"input {name!r}: {why} ({FLAT_HINT})", node.line, name)
    width = len(node.items[0].items)
    rows = []
    for r, row in enumerate(node.items):
        if len(row.items) != width:
            raise GraphError(f"input {name!r}: row {r + 1} has {len(row.items)} numbers, row 1 has {width} "
                             "(every row of a matrix has the same length)", row.line, name)
        if not width:
            raise GraphError(f"input {name!r}: row {r + 1} is empty ({FLAT_HINT})", row.line, name)
        for item in row.items:
            if item.kind == "seq":
                raise GraphError(f"input {name!r}: more than 2 dimensions (a matrix is a list of rows of numbers)",
                                 item.line, name)
            if item.kind != "scalar":
                raise GraphError(f"input {name!r}: row {r + 1} holds a mapping, not a number", item.line, name)
        rows.append([gf._number(item, name) for item in row.items])
    if len(rows) * width > MAX_ELEMENTS:
        raise GraphError(f"input {name!r}: too many elements (at most {MAX_ELEMENTS:,})", node.line, name)
    return np.array(rows, dtype=float)


def _generated(name: str, line: int, node, gen: list[str]) -> TensorInput:
    from engine import graphfile as gf

    what = f"input {name!r}"
    if len(gen) > 1:
        raise GraphError(f"{what}: give one of randn or zeros, not both", node.line, name)
    kind = gen[0]
    allowed = (kind, "seed", "scale", "note") if kind == "randn" else (kind, "note")
    fields = gf._fields(node, what, allowed, kind)
    shape_node = fields[kind]
    usage = f"{what}: write {kind}: [rows, columns], such as {kind}: [4, 2]"
    if shape_node.kind != "seq" or len(shape_node.items) != 2 or any(i.kind != "scalar" for i in shape_node.items):
        raise GraphError(usage, shape_node.line, name)
    dims = []
    for item in shape_node.items:
        v = gf._resolve(item)
        if not isinstance(v, float) or isinstance(v, bool) or not math.isfinite(v) or v != int(v):
            raise GraphError(usage, item.line, name)
        if not 1 <= v <= MAX_ELEMENTS:
            raise GraphError(f"{what}: each size must be between 1 and {MAX_ELEMENTS:,}", item.line, name)
        dims.append(int(v))
    if dims[0] * dims[1] > MAX_ELEMENTS:
        raise GraphError(f"{what}: too many elements (at most {MAX_ELEMENTS:,})", shape_node.line, name)
    note = gf._text_field(fields["note"], "note") if "note" in fields else None
    shape = tuple(dims)
    if kind == "zeros":
        return TensorInput(name, np.zeros(shape), line, note, None, f"zeros {te.shape_text(shape)}")
    seed, scale = 0, 1.0
    if "seed" in fields:
        v = gf._resolve(fields["seed"])
        if not isinstance(v, float) or isinstance(v, bool) or not math.isfinite(v) or v != int(v) or v < 0:
            raise GraphError(f"{what}: the seed must be a whole number, 0 or more", fields["seed"].line, name)
        seed = int(v)
    if "scale" in fields:
        scale = gf._number(fields["scale"], name)
    value = np.random.default_rng(seed).standard_normal(shape) * scale
    return TensorInput(name, value, line, note, None, f"randn {te.shape_text(shape)}, seed {seed}, scale {scale:g}")


RESERVED_HERE = frozenset((*te.TENSOR_FUNCTIONS, "ones"))


def build_tensor_graph(inputs: list, nodes: list[NodeSource], output: str | None = None, output_line: int | None = None,
                       title: str | None = None, description: str | None = None,
                       params: list[tuple[str, int | None]] = (), alpha: float | None = None,
                       alpha_line: int | None = None) -> TensorGraph:
    """Check names, parse expressions, fix the order and check every shape (the rules of
    :func:`engine.graph.build_graph`, plus shapes).

    ``inputs`` may hold scalar :class:`~engine.graph.Input` objects; they become numbers here.
    """
    inputs = [i if isinstance(i, TensorInput) else TensorInput(i.name, np.array(float(i.value)), i.line, i.note, i.span)
              for i in inputs]
    if not nodes:
        raise GraphError("the graph has no nodes: 'nodes' needs at least one")
    defined: dict[str, int | None] = {}
    for what, items in (("input", inputs), ("node", nodes)):
        for item in items:
            check_name(item.name, item.line, what)
            if item.name in RESERVED_HERE:
                raise GraphError(f"{what} name {item.name!r} is reserved (a function of tensor graphs)", item.line, item.name)
            if item.name in defined:
                first = defined[item.name]
                also = f" (first defined on line {first})" if first is not None else ""
                raise GraphError(f"{item.name!r} is defined twice{also}", item.line, item.name)
            defined[item.name] = item.line
    parsed = []
    for source in nodes:
        try:
            tree = te.parse(source.text)
        except GraphError as err:
            raise GraphError(f"node {source.name!r}: {err.message}", source.line, source.name) from None
        operands = te.names(tree)
        check_operands(source, operands, defined)
        parsed.append(TensorNode(source.name, tree, operands, source.line, source.note))
    input_names = {i.name for i in inputs}
    output, marked = check_output_and_params(nodes, defined, input_names, output, output_line, params, alpha, alpha_line)
    ordered = _dependency_order(parsed, input_names)
    shapes: dict[str, te.Shape] = {i.name: i.shape for i in inputs}
    for node in ordered:
        try:
            shapes[node.name] = te.infer(node.expr, shapes, node.shapes)
        except te.ShapeError as err:
            raise GraphError(f"node {node.name!r}: {err}", node.line, node.name) from None
    if shapes[output] not in ((), (1, 1)):
        line = output_line if output_line is not None else next(n.line for n in ordered if n.name == output)
        raise GraphError(f"output {output!r} is ({te.shape_text(shapes[output])}): the output must be a number or 1×1 "
                         "(sum or mean it)", line, output)
    return TensorGraph(tuple(inputs), tuple(ordered), output, title, description, marked, alpha, shapes)


# --------------------------------------------------------------------------- the walk


@dataclass(frozen=True, slots=True)
class TensorForwardStep:
    """Evaluating one node: ``shape_text`` is its shape arithmetic, ``(1×2)·(2×3) + (1×1 → 1×3) → (1×3)``."""

    index: int
    node: str
    tree: object
    operands: tuple[str, ...]
    shape: te.Shape
    shape_text: str
    value: np.ndarray

    @property
    def expr(self) -> str:
        return te.to_text(self.tree)

    @property
    def course(self) -> str:
        """The expression in the course's notation: ``wᵀ · X + b``."""
        return te.to_text(self.tree, course=True)


@dataclass(frozen=True, slots=True)
class TensorBackwardStep:
    """One vector-Jacobian product along the edge ``child ← parent``: ``∂out/∂parent += formula``.

    Attributes:
        formula_tree: The VJP formula (with :class:`~engine.tensor_expr.Grad` leaves for ∂out/∂child).
        formula: It in the course's notation: ``X · (∂J/∂Z)ᵀ``.
        shapes: Its shape arithmetic: ``(2×3)·(3×1) → (2×1) = shape of w ✓``.
        reduced_axes: The axes summed to undo a broadcast of ``parent``, or None.
        reduction: That sum in words: ``un-broadcast b: sum over axis 1 → (1×1)``, or None.
        upstream: ∂out/∂child.
        contribution: This step's term, the shape of ``parent``.
        arrived, of: Which of ``parent``'s contributions this is, and how many it gets.
    """

    index: int
    child: str
    parent: str
    formula_tree: object
    formula: str
    shapes: str
    reduced_axes: tuple[int, ...] | None
    reduction: str | None
    upstream: np.ndarray
    contribution: np.ndarray
    grad_before: np.ndarray
    grad_after: np.ndarray
    arrived: int
    of: int

    @property
    def complete(self) -> bool:
        return self.arrived == self.of


@dataclass(frozen=True)
class TensorWalk:
    graph: TensorGraph
    values: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    forward_steps: list[TensorForwardStep]
    backward_steps: list[TensorBackwardStep]
    warnings: tuple[str, ...]

    @property
    def output(self) -> str:
        return self.graph.output


def axes_text(axes: tuple[int, ...], shape: te.Shape) -> str:
    """``sum over axis 1 → (1×1)``."""
    if not shape:
        return "sum over all elements → scalar"
    which = f"axis {axes[0]}" if len(axes) == 1 else "axes " + " and ".join(map(str, axes))
    return f"sum over {which} → ({te.shape_text(shape)})"


def forward_values(graph: TensorGraph, inputs: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every input's and node's value."""
    values = {i.name: i.value for i in graph.inputs}
    if inputs:
        values.update({k: np.asarray(v, dtype=float) for k, v in inputs.items()})
    for node in graph.nodes:
        values[node.name] = to.evaluate(node.expr, values)
    return values


def output_value(graph: TensorGraph, values: Mapping[str, np.ndarray], only: frozenset[str] | None = None) -> float:
    """The output, as a float, for values of the inputs (only the nodes it needs are evaluated).

    Args:
        only: Evaluate just these nodes, taking the others from ``values`` (the nodes
            downstream of a nudged input: the rest cannot move).
    """
    env = dict(values)
    for node in graph.nodes:
        if node.name in graph.needed and (only is None or node.name in only):
            env[node.name] = to.evaluate(node.expr, env)
    return float(np.asarray(env[graph.output]).reshape(()))


def downstream(graph: TensorGraph, name: str) -> frozenset[str]:
    """The nodes whose value depends on ``name``."""
    moved = {name}
    for node in graph.nodes:
        if any(o in moved for o in node.operands):
            moved.add(node.name)
    return frozenset(moved - {name})


def compute_tensor(graph: TensorGraph, inputs: Mapping[str, object] | None = None) -> TensorWalk:
    """Evaluate a tensor graph forward and backward; every step as data.

    Args:
        inputs: Values overriding the file's, by input name (each of its input's shape).
    """
    values = forward_values(graph, inputs)
    out = graph.output
    forward = [TensorForwardStep(k, node.name, node.expr, node.operands, graph.shapes[node.name], text,
                                 values[node.name])
               for k, (node, text) in enumerate(zip(graph.nodes, graph.forward_texts))]
    grads = {out: np.ones(graph.shapes[out])}  # the others as their contributions arrive
    edges = graph.edges
    of: dict[str, int] = {}
    for _, parent, _ in edges:
        of[parent] = of.get(parent, 0) + 1
    arrived: dict[str, int] = {}
    backward = []
    for k, ((child, parent, formula), (text, arithmetic, axes, reduction)) in enumerate(zip(edges, graph.edge_texts)):
        contribution = to.evaluate(formula, values, grads)
        if not contribution.flags.writeable or contribution.dtype != np.float64:  # a spread view, or a number
            contribution = np.array(contribution, dtype=float)
        before = grads.get(parent)
        if before is None:  # the first contribution is the gradient so far (no 0 + c over a big matrix)
            before, after = np.broadcast_to(0.0, graph.shapes[parent]), contribution
        else:
            after = before + contribution
        grads[parent] = after
        arrived[parent] = arrived.get(parent, 0) + 1
        backward.append(TensorBackwardStep(k, child, parent, formula, text, arithmetic, axes, reduction,
                                           grads[child], contribution, before, after, arrived[parent], of[parent]))
    for name in graph.names:  # what the output does not depend on
        if name not in grads:
            grads[name] = np.zeros(graph.shapes[name])
    grads = {name: grads[name] for name in graph.names}
    warnings = []
    for node in graph.nodes:
        v = values[node.name]
        if not np.isfinite(v).all() and all(np.isfinite(values[o]).all() for o in node.operands):
            bad = int(np.size(v) - np.count_nonzero(np.isfinite(v)))
            warnings.append(f"node {node.name!r} has {bad} non-finite element{'s' if bad != 1 else ''} (nan or inf)")
    return TensorWalk(graph, values, grads, forward, backward, tuple(warnings))


# --------------------------------------------------------------------------- the course's gradient check

GREAT, CLOSER = 1e-7, 1e-3
"""The course's bands: below 1e-7 great; up to 1e-3 look closer; above, wrong."""
TENSOR_H = 1e-6
"""The default nudge of the gradient check (the course uses 1e-7; central differences allow more)."""
CHECK_LIMIT = 2000
"""Inputs of more elements are not checked by default (each element costs two forward passes)."""


@dataclass(frozen=True, slots=True)
class GradientCheck:
    """The course's whole-tensor check of one input: ``‖g_approx − g‖₂ / (‖g_approx‖₂ + ‖g‖₂)``."""

    name: str
    h: float
    approx: np.ndarray | None
    grad: np.ndarray
    rel_error: float | None
    status: str
    reason: str | None = None


def rounding_floor(j: float, step: float) -> float:
    """How far a central difference can be off by rounding alone: ``J(x ± h)`` are each within a few
    units in the last place of ``|J|`` (four, as the scalar engine allows), divided by the step taken."""
    return 4 * EPS * j / abs(step) if step else math.inf


def within_rounding(diff: float, floor: float, h: float, what: str = "|central − backprop|") -> str:
    """The words for a difference that rounding alone explains."""
    from engine.text import num, small

    return (f"within rounding: {what} = {small(diff)} is below what rounding J(x ± h) alone can give"
            f" ({small(floor)}); backprop agrees as far as h = {num(h)} can tell; a larger h tells more")


def check_status(rel: float | None) -> str:
    if rel is None:
        return "skipped"
    if not math.isfinite(rel):
        return "non-finite"
    if rel < GREAT:
        return "great"
    return "look closer" if rel <= CLOSER else "wrong"


def gradient_check(walk: TensorWalk, name: str, h: float = TENSOR_H, limit: int = CHECK_LIMIT) -> GradientCheck:
    """Central differences over every element of input ``name`` against backprop's gradient."""
    graph = walk.graph
    grad = walk.grads[name]
    base = dict(walk.values)
    moved = downstream(graph, name)
    x = np.array(base[name], dtype=float)
    if x.size > limit:
        return GradientCheck(name, h, None, grad, None, "skipped", f"{x.size:,} elements (the check stops at {limit:,})")
    approx = np.zeros(x.shape)
    floors = np.zeros(x.size)
    j0 = abs(float(np.asarray(base[graph.output]).reshape(())))
    flat, out = x.reshape(-1), approx.reshape(-1)
    for k in range(flat.size):
        keep = flat[k]
        flat[k] = keep + h
        up_h = flat[k] - keep
        plus = output_value(graph, {**base, name: x}, moved)
        flat[k] = keep - h
        down_h = keep - flat[k]
        minus = output_value(graph, {**base, name: x}, moved)
        flat[k] = keep
        out[k] = (plus - minus) / (up_h + down_h)
        floors[k] = rounding_floor(max(j0, abs(plus), abs(minus)), up_h + down_h)
    top = float(np.linalg.norm(approx - grad))
    bottom = float(np.linalg.norm(approx) + np.linalg.norm(grad))
    rel = 0.0 if bottom == 0 and top == 0 else (top / bottom if bottom else math.inf)
    status, floor = check_status(rel), float(np.linalg.norm(floors))
    reason = within_rounding(top, floor, h, "‖g_approx − g‖₂") if status in ("look closer", "wrong") and top <= floor else None
    return GradientCheck(name, h, approx, grad, rel, status, reason)


# --------------------------------------------------------------------------- gradient descent


def descent_step(walk: TensorWalk, alpha: float | None = None) -> dict[str, np.ndarray]:
    """The parameters after one step of gradient descent, ``p := p − α ∂out/∂p`` (the graph's α by default).

    Returns every input's value (the others unchanged), ready for :func:`compute_tensor`.
    """
    from engine.graph import DEFAULT_ALPHA

    graph = walk.graph
    if alpha is None:
        alpha = graph.alpha if graph.alpha is not None else DEFAULT_ALPHA
    values = {i.name: walk.values[i.name] for i in graph.inputs}
    for name in graph.params:
        values[name] = values[name] - alpha * walk.grads[name]
    return values


def with_element(text: str, graph: TensorGraph, name: str, i: int, j: int, value: float) -> str:
    """The file's text with element ``[i, j]`` of the matrix ``name`` replaced where it stands.

    Only that number's characters change: comments, layout and every other byte stay.

    Raises:
        ValueError: the input is generated or a number, or ``[i, j]`` is outside it.
    """
    from engine.graphfile import value_text

    item = graph.input_by_name[name]
    if item.element_spans is None:
        raise ValueError(f"{name!r} is {'generated (' + item.generated + ')' if item.generated else 'not a matrix'}: "
                         "it has no elements written in the file")
    rows = item.element_spans
    if not (0 <= i < len(rows) and 0 <= j < len(rows[0])):
        raise ValueError(f"[{i},{j}] is outside {name!r} ({te.shape_text(item.shape)})")
    start, end = rows[i][j]
    return text[:start] + value_text(float(value)) + text[end:]


# --------------------------------------------------------------------------- nudging one element


@dataclass(frozen=True, slots=True)
class Moved:
    """One node in a nudge's trail: how many of its elements moved, and the largest change."""

    node: str
    moved: int
    size: int
    largest: float


@dataclass(frozen=True, slots=True)
class ElementNudge:
    """Element ``[i, j]`` of input ``name`` nudged by h: the estimates against backprop's element, and the trail.

    Attributes:
        forward: ``(J(x + h) − J(x)) / h``, dividing by the step actually taken.
        central: ``(J(x + h) − J(x − h)) / 2h``.
        grad: Backprop's ∂J/∂name[i, j].
        rel_error: ``|central − grad| / max(|central|, |grad|)`` (0 when both are 0).
        trail: The nodes that moved under ``x + h``, in dependency order.
    """

    name: str
    index: tuple[int, int] | tuple[()]
    h: float
    forward: float
    central: float
    grad: float
    rel_error: float
    status: str
    trail: tuple[Moved, ...]
    reason: str | None = None
    """Why a difference beyond "great" says nothing about backprop: it is within the estimate's rounding."""


def nudge_element(walk: TensorWalk, name: str, i: int = 0, j: int = 0, h: float = TENSOR_H) -> ElementNudge:
    """Nudge one element of an input (a number's only element is [0, 0]) and watch the output move.

    Raises:
        IndexError: ``[i, j]`` is outside the input.
    """
    graph = walk.graph
    base = dict(walk.values)
    x = np.array(base[name], dtype=float)
    index: tuple = () if x.ndim == 0 else (i, j)
    if x.ndim == 0 and (i, j) != (0, 0) or x.ndim and not (0 <= i < x.shape[0] and 0 <= j < x.shape[1]):
        raise IndexError(f"[{i},{j}] is outside {name!r} ({te.shape_text(x.shape)})")
    moved = downstream(graph, name)
    keep = float(x[index])

    def at(value: float) -> dict[str, np.ndarray]:
        env = {**base, name: x.copy()}
        env[name][index] = value
        for node in graph.nodes:
            if node.name in moved:
                env[node.name] = to.evaluate(node.expr, env)
        return env

    up, down = keep + h, keep - h
    plus, minus = at(up), at(down)
    j0 = float(np.asarray(base[graph.output]).reshape(()))
    jp = float(np.asarray(plus[graph.output]).reshape(()))
    jm = float(np.asarray(minus[graph.output]).reshape(()))
    forward = (jp - j0) / (up - keep)
    central = (jp - jm) / (up - down)
    grad = float(np.asarray(walk.grads[name])[index])
    top, bottom = abs(central - grad), max(abs(central), abs(grad))
    rel = 0.0 if top == 0 else (top / bottom if bottom else math.inf)
    status = check_status(rel)
    floor = rounding_floor(max(abs(j0), abs(jp), abs(jm)), up - down)
    reason = within_rounding(top, floor, h) if status in ("look closer", "wrong") and top <= floor else None
    trail = []
    for node in graph.nodes:
        if node.name in moved:
            change = np.abs(np.asarray(plus[node.name]) - np.asarray(base[node.name]))
            count = int(np.count_nonzero(change))
            if count:
                trail.append(Moved(node.name, count, int(change.size), float(change.max())))
    return ElementNudge(name, index, h, forward, central, grad, rel, status, tuple(trail), reason)


TRAIL_SHOWN = 4
"""A trail of more nodes names its first 2 and last 2 around "…"."""


def trail_text(nudge: ElementNudge) -> str:
    """``w[1,0] +h → Z (5 of 5 moved) → A (5 of 5) → L (5 of 5) → J (1 of 1)``."""
    where = f"[{nudge.index[0]},{nudge.index[1]}]" if nudge.index else ""
    parts = [f"{m.node} ({m.moved} of {m.size}{' moved' if k == 0 else ''})" for k, m in enumerate(nudge.trail)]
    if len(parts) > TRAIL_SHOWN:
        parts = [*parts[:2], f"… {len(parts) - 4} more", *parts[-2:]]
    return " → ".join([f"{nudge.name}{where} +h", *parts])
