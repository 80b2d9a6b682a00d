"""The walk through a graph, as data: forward steps, then backward steps.

A forward step evaluates one node. A backward step is one chain-rule
multiplication along one edge ``child ← parent``::

    ∂out/∂parent += ∂out/∂child · ∂child/∂parent
                    (upstream)     (local)

Nodes are visited in reverse dependency order, so each child's gradient is
complete before it flows on. A parent used by several children receives one
step from each, and each step says how many of its contributions have arrived.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from engine import expr as ex
from engine.graph import Graph


def isfinite(x: float) -> bool:
    return x - x == 0.0


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """Evaluating one node.

    Attributes:
        index: 0-based position among the forward steps.
        node: The node evaluated.
        tree: Its expression.
        operand_values: The values of its operands, in the order of ``operands``.
        operands: The names it uses.
        value: The value it gets.
    """

    index: int
    node: str
    tree: ex.Expr
    operands: tuple[str, ...]
    operand_values: tuple[float, ...]
    value: float

    @property
    def expr(self) -> str:
        """The expression in graph-file syntax: ``b * c``."""
        return ex.to_text(self.tree)

    def substituted(self, fmt) -> str:
        """The expression with numbers in place of names: ``3 × 2``.

        Args:
            fmt: How to write a number (the caller chooses the precision).
        """
        values = dict(zip(self.operands, self.operand_values))

        def leaf(e: ex.Expr) -> str | None:
            if isinstance(e, ex.Name):
                text = fmt(values[e.id])
                return f"({text})" if text.startswith("-") else text
            return None

        return ex.to_text(self.tree, times=" × ", leaf=leaf)


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One chain-rule multiplication: ``∂out/∂parent += upstream × local``.

    Attributes:
        index: 0-based position among the backward steps.
        child: The node whose gradient flows down (complete by now).
        parent: The operand of ``child`` that receives it.
        upstream: ∂out/∂child, the total gradient of the child.
        local_tree: ∂child/∂parent as a simplified formula.
        local: That formula's value.
        product: upstream × local: this step's contribution.
        grad_before: The parent's accumulated gradient before the step.
        grad_after: The parent's accumulated gradient after it.
        arrived: Which contribution to ``parent`` this is (1-based).
        of: How many contributions ``parent`` receives in all.
    """

    index: int
    child: str
    parent: str
    upstream: float
    local_tree: ex.Expr
    local: float
    product: float
    grad_before: float
    grad_after: float
    arrived: int
    of: int

    @property
    def local_formula(self) -> str:
        """∂child/∂parent as a formula in graph-file syntax (right-hand side only)."""
        return ex.to_text(self.local_tree)

    @property
    def complete(self) -> bool:
        """Whether this step completes the parent's gradient."""
        return self.arrived == self.of


@dataclass(frozen=True)
class Walk:
    """Everything a graph computes for one set of input values.

    Attributes:
        graph: The graph.
        values: Every input's and node's value.
        grads: ∂output/∂name for every input and node (0 where the output does
            not depend on it).
        forward_steps: One per node, in dependency order.
        backward_steps: One per edge the output depends on, in reverse
            dependency order.
        warnings: Where a non-finite number first appears, and why.
    """

    graph: Graph
    values: dict[str, float]
    grads: dict[str, float]
    forward_steps: tuple[ForwardStep, ...]
    backward_steps: tuple[BackwardStep, ...]
    warnings: tuple[str, ...]

    @property
    def output(self) -> str:
        return self.graph.output


def _num(x: float) -> str:
    return ex.number_text(x) if not isfinite(x) or x == int(x) else f"{x:.10g}"


def compute(graph: Graph, inputs: Mapping[str, float] | None = None) -> Walk:
    """Evaluate ``graph`` forward and backward.

    Args:
        graph: The graph.
        inputs: Values overriding the file's, by input name.

    Never raises for arithmetic: a non-finite value or local derivative is
    carried on, and a warning names where it starts and why.
    """
    values: dict[str, float] = {i.name: float(i.value) for i in graph.inputs}
    if inputs:
        values.update({k: float(v) for k, v in inputs.items()})
    warnings: list[str] = []
    forward: list[ForwardStep] = []
    for k, node in enumerate(graph.nodes):
        args = tuple(values[o] for o in node.operands)
        value = ex.evaluate(node.expr, values)
        if not isfinite(value) and all(isfinite(a) for a in args):
            causes: list[str] = []
            ex.evaluate(node.expr, values, causes)
            why = causes[0] if causes else "overflow"
            warnings.append(f"node {node.name!r} is {_num(value)}: {why}")
        values[node.name] = value
        forward.append(ForwardStep(k, node.name, node.expr, node.operands, args, value))

    grads, backward = _backward(graph, values, warnings)
    return Walk(graph, values, grads, tuple(forward), tuple(backward), tuple(warnings))


def _backward(graph: Graph, values: dict[str, float], warnings: list[str]) -> tuple[dict[str, float], list[BackwardStep]]:
    needed = graph.needed
    grads = {name: 0.0 for name in graph.names}
    grads[graph.output] = 1.0
    of: dict[str, int] = {}
    for node in graph.nodes:
        if node.name in needed:
            for operand in node.operands:
                of[operand] = of.get(operand, 0) + 1
    arrived: dict[str, int] = {}
    locals_ = graph.local_derivatives
    steps: list[BackwardStep] = []
    for node in reversed(graph.nodes):
        if node.name not in needed:
            continue
        upstream = grads[node.name]
        for parent in node.operands:
            tree = locals_[(node.name, parent)]
            local = ex.evaluate(tree, values)
            if not isfinite(local) and isfinite(values[node.name]):
                causes: list[str] = []
                ex.evaluate(tree, values, causes)
                why = f": {causes[0]}" if causes else ""
                warnings.append(
                    f"local derivative ∂{node.name}/∂{parent} = {ex.to_text(tree)} is {_num(local)}"
                    f" at {parent} = {_num(values[parent])}{why}"
                )
            product = upstream * local
            before = grads[parent]
            after = before + product
            grads[parent] = after
            arrived[parent] = arrived.get(parent, 0) + 1
            steps.append(
                BackwardStep(len(steps), node.name, parent, upstream, tree, local, product,
                             before, after, arrived[parent], of[parent])
            )
    return grads, steps

