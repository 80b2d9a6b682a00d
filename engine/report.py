"""The headless outputs: ``--trace`` (plain text, like the lecture page) and ``--json``."""

from __future__ import annotations

import json
import math

from engine import text as tx
from engine.finite_diff import FiniteDifference
from engine.steps import Walk


def _j(x: float) -> float | str:
    """A float for strict JSON: non-finite numbers become "nan", "inf", "-inf"."""
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def to_json(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str) -> str:
    """One strict JSON object describing the whole walk."""
    g = walk.graph
    doc = {
        "source": source,
        "title": g.title,
        "description": g.description,
        "output": g.output,
        "inputs": [i.name for i in g.inputs],
        "nodes": [n.name for n in g.nodes],
        "values": {k: _j(walk.values[k]) for k in g.names},
        "grads": {k: _j(walk.grads[k]) for k in g.names},
        "forward_steps": [
            {
                "index": s.index,
                "node": s.node,
                "expr": s.expr,
                "substituted": s.substituted(tx.num),
                "text": tx.forward_line(s),
                "value": _j(s.value),
            }
            for s in walk.forward_steps
        ],
        "backward_steps": [
            {
                "index": s.index,
                "child": s.child,
                "parent": s.parent,
                "upstream": _j(s.upstream),
                "local": _j(s.local),
                "local_formula": s.local_formula,
                "product": _j(s.product),
                "grad_before": _j(s.grad_before),
                "grad_after": _j(s.grad_after),
                "arrived": s.arrived,
                "of": s.of,
                "text": tx.backward_line(s, g.output),
            }
            for s in walk.backward_steps
        ],
        "h": h,
        "fd": {
            name: {
                "h": fd.h,
                "forward": _j(fd.forward),
                "central": _j(fd.central),
                "grad": _j(fd.grad),
                "rel_error_forward": _j(fd.rel_error_forward),
                "rel_error_central": _j(fd.rel_error_central),
                "status": fd.status,
                "kink": fd.kink,
                "trail": [{"node": e.node, "before": _j(e.before), "after": _j(e.after)} for e in fd.trail],
            }
            for name, fd in fds.items()
        },
        "warnings": list(walk.warnings),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def to_trace(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str) -> str:
    """The whole walk as plain text that reads like the lecture page."""
    g = walk.graph
    out = g.output
    lines: list[str] = []
    add = lines.append
    if g.title:
        add(g.title)
    if g.description:
        add(g.description)
    add(f"source: {source}")
    add("")
    add("Inputs")
    for i in g.inputs:
        add(f"  {i.name} = {tx.num(walk.values[i.name])}")
    add("")
    nf = len(walk.forward_steps)
    add(f"Forward pass: left to right, one node at a time ({nf} steps)")
    for s in walk.forward_steps:
        add(f"  forward {s.index + 1}/{nf}  {tx.forward_line(s)}")
    add("")
    nb = len(walk.backward_steps)
    add(f"Backward pass: right to left, one chain-rule multiplication at a time ({nb} steps),")
    add(f"starting from {tx.d(out, out)} = 1")
    pad = " " * len(f"  backward {nb}/{nb}  ")
    nodes = g.node_by_name
    for s in walk.backward_steps:
        add(f"  backward {s.index + 1}/{nb}  {tx.backward_line(s, out)}".ljust(0))
        add(pad + tx.local_line(s, nodes[s.child].expr, out))
    add("")
    add(f"Gradients of {out}")
    for name in g.names:
        note = "" if name in g.needed else f"   ({out} does not depend on {name})"
        add(f"  {tx.d(out, name)} = {tx.num(walk.grads[name])}{note}")
    if fds:
        add("")
        which = "each variable" if len(fds) == len(g.names) else "each input"
        add(f"Finite differences: nudge {which} by h = {tx.num(h)} and watch {out} move")
        for name, fd in fds.items():
            add(f"  {tx.trail_text(fd)}")
            add(f"      one-sided ({tx.num(fd.out_plus)} − {tx.num(fd.out_before)}) / {tx.num(h)}"
                f" = {tx.exact(fd.forward)}   central {tx.exact(fd.central)}")
            add(f"      backprop {tx.d(out, name)} = {tx.num(fd.grad)}   relative error"
                f" {tx.small(fd.rel_error_forward)} (one-sided), {tx.small(fd.rel_error_central)} (central)"
                f"   {tx.status_text(fd)}")
    if walk.warnings:
        add("")
        add("Warnings")
        for w in walk.warnings:
            add(f"  ! {w}")
    return "\n".join(lines)
