"""A graph from one expression: ``J = 3*(a + b*c)`` becomes u = b·c, v = a + u, J = 3·v.

Every operation becomes a node, named u, v, w, … in evaluation order (as the
lecture names them); names and numbers stay inside the node that uses them.
"""

from __future__ import annotations

import itertools
import json
import keyword

from engine import expr as ex
from engine.errors import GraphError
from engine.graph import RESERVED

NODE_NAMES = ("u", "v", "w", "p", "q", "r", "s", "t", "z")


def _fresh(taken: set[str]):
    for name in itertools.chain(NODE_NAMES, (f"n{k}" for k in itertools.count(1))):
        if name not in taken:
            taken.add(name)
            yield name


def graph_text(line: str, values: dict[str, float]) -> str:
    """The text of a graph file for ``OUTPUT = EXPRESSION`` (or a bare expression, output ``J``).

    Args:
        line: The expression, e.g. ``J = 3*(a + b*c)``.
        values: A value for every name the expression uses.

    Raises:
        GraphError: for an expression the graph file would refuse, or a name without a value.
    """
    output, sep, body = line.partition("=")
    if not sep:
        output, body = "J", line
    output = output.strip()
    if not ex.NAME_RE.match(output) or keyword.iskeyword(output) or output in RESERVED:
        raise GraphError(f"{output!r} cannot name the output: write NAME = EXPRESSION, e.g. J = 3*(a + b*c)")
    tree = ex.parse(body)
    inputs = ex.names(tree)
    if output in inputs:
        raise GraphError(f"the output {output!r} also appears in its own expression")
    missing = [n for n in inputs if n not in values]
    if missing:
        raise GraphError(f"no value for {', '.join(repr(n) for n in missing)}: add --set {missing[0]}=VALUE")
    if not inputs:
        raise GraphError("the expression uses no names: give it at least one input, e.g. J = 3*a")
    fresh = _fresh(set(inputs) | {output})
    nodes: list[tuple[str, ex.Expr]] = []

    def node_of(e: ex.Expr, top: bool = False) -> ex.Expr:
        """``e`` with every operation below it made a node; the operation itself made one too."""
        if isinstance(e, (ex.Num, ex.Name, ex.Const)):
            return e
        if isinstance(e, ex.Bin):
            inner: ex.Expr = ex.Bin(e.op, node_of(e.left), node_of(e.right))
        elif isinstance(e, ex.Neg):
            inner = ex.Neg(node_of(e.operand))
        else:
            inner = ex.Call(e.func, node_of(e.arg))
        name = output if top else next(fresh)
        nodes.append((name, inner))
        return ex.Name(name)

    node_of(tree, top=True)
    if not nodes:  # "J = a": one node that copies a
        nodes.append((output, tree))
    lines = [f"# {output} = {ex.to_text(tree)}, one node per operation (made by cgtui -e)",
             f"title: {json.dumps(f'{output} = {ex.to_text(tree)}')}", "inputs:"]
    lines += [f"  {n}: {ex.number_text(float(values[n]))}" for n in inputs]
    lines.append("nodes:")
    lines += [f"  {name}: {ex.to_text(e)}" for name, e in nodes]
    lines.append(f"output: {output}")
    return "\n".join(lines) + "\n"
