"""The headless outputs: ``--trace`` (plain text, like the lecture page) and ``--json``."""

from __future__ import annotations

import functools
import json
import math

from engine import text as tx
from engine.finite_diff import FiniteDifference, trail_ends
from engine.steps import Walk

TRAIL_KEEP = 8
"""Headless output lists a nudge trail's first 8 and last 8 entries, and how many it leaves out between
(through a 100,000-node graph a trail has as many entries, and every variable has one)."""


def _j(x: float) -> float | str:
    """A float for strict JSON: non-finite numbers become "nan", "inf", "-inf"."""
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def to_json(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str) -> str:
    """One strict JSON object describing the whole walk."""
    return "".join(iter_json(walk, fds, h, source))


def iter_json(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str):
    """:func:`to_json` in pieces, to write as they come: the steps of a 100,000-node graph are
    never all held at once (the text is the same as ``json.dumps(…, indent=2)`` of the whole)."""
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
        "forward_steps": _Each(
            {
                "index": s.index,
                "node": s.node,
                "expr": s.expr,
                "substituted": (sub := s.substituted(tx.num)),
                "text": tx.forward_line(s, sub),
                "value": _j(s.value),
            }
            for s in walk.forward_steps
        ),
        "backward_steps": _Each(
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
        ),
        "h": h,
        "fd": _Each((
            (name, {
                "h": fd.h,
                "forward": _j(fd.forward),
                "central": _j(fd.central),
                "grad": _j(fd.grad),
                "rel_error_forward": _j(fd.rel_error_forward),
                "rel_error_central": _j(fd.rel_error_central),
                "status": fd.status,
                "kink": fd.kink,
                **_trail(fd),
            })
            for name, fd in fds.items()
        ), mapping=True),
        "warnings": list(walk.warnings),
    }
    return _stream(doc)


def _trail(fd: FiniteDifference) -> dict:
    """A trail for JSON: its first and last :data:`TRAIL_KEEP` entries, and how many are left out between."""
    head, tail, omitted = trail_ends(fd.trail, TRAIL_KEEP, TRAIL_KEEP)
    return {"trail": [{"node": e.node, "before": _j(e.before), "after": _j(e.after)} for e in head + tail],
            "trail_omitted": omitted}


class _Each:
    """A list (or, with ``mapping``, a dict given as its items) written to JSON one item at a time,
    never held whole."""

    def __init__(self, items, mapping: bool = False) -> None:
        self.items = items
        self.mapping = mapping


_FLAT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",\n      ", ": ")).encode
"""A flat dict as ``indent=2`` writes it two levels down, but by the C encoder (indent turns it off):
the separators carry the line breaks, so only the braces need theirs."""


def _item(item) -> str:
    """A step of a list two levels down, as ``json.dumps(doc, indent=2)`` writes it."""
    if isinstance(item, dict) and item and not any(isinstance(v, (dict, list, tuple)) for v in item.values()):
        return "{\n      " + _FLAT(item)[1:-1] + "\n    }"
    return json.dumps(item, indent=2, ensure_ascii=False, allow_nan=False).replace("\n", "\n    ")


def _stream(doc: dict):
    """``json.dumps(doc, indent=2)`` in pieces; values that are :class:`_Each` are written item by item."""
    dumps = functools.partial(json.dumps, indent=2, ensure_ascii=False, allow_nan=False)
    yield "{"
    for k, (key, value) in enumerate(doc.items()):
        yield ("\n  " if k == 0 else ",\n  ") + dumps(key) + ": "
        if isinstance(value, _Each):
            empty = True
            opening, closing = "{}" if value.mapping else "[]"
            for item in value.items:
                if value.mapping:
                    key, item = item
                    item = dumps(key) + ": " + _item(item)
                else:
                    item = _item(item)
                yield (f"{opening}\n    " if empty else ",\n    ") + item
                empty = False
            yield opening + closing if empty else f"\n  {closing}"
        else:
            yield dumps(value).replace("\n", "\n  ")
    yield "\n}" if doc else "}"


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
            add(f"  {tx.trail_text(fd, limit=2 * TRAIL_KEEP)}")
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


# --------------------------------------------------------------------------- --markdown: a handout

_LATEX_FUNCS = {"exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
                "tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{relu}",
                "abs": None, "sqrt": None, "step": r"\operatorname{step}", "sign": r"\operatorname{sign}"}


def latex(tree, leaf=None) -> str:
    """An expression in LaTeX math: ``b \\cdot c``, ``\\frac{x}{y}``, ``x^{2}``, ``\\sqrt{x}``."""
    from engine import expr as ex

    def name(n: str) -> str:
        head, _, tail = n.partition("_")
        return rf"\pi" if n == "pi" else (f"{head}_{{{tail}}}" if tail else n)

    def go(e, parent: int = 0) -> str:
        if leaf is not None and isinstance(e, (ex.Name, ex.Num, ex.Const)):
            text = leaf(e)
            if text is not None:
                return text
        if isinstance(e, ex.Num):
            return ex.number_text(e.value)
        if isinstance(e, (ex.Name, ex.Const)):
            return name(e.id)
        if isinstance(e, ex.Call):
            if e.func == "sqrt":
                return rf"\sqrt{{{go(e.arg)}}}"
            if e.func == "abs":
                return rf"\left|{go(e.arg)}\right|"
            return rf"{_LATEX_FUNCS[e.func]}\left({go(e.arg)}\right)"
        if isinstance(e, ex.Neg):
            text = f"-{go(e.operand, 3)}"
            return rf"\left({text}\right)" if parent >= 2 else text
        if e.op == "/":
            return rf"\frac{{{go(e.left)}}}{{{go(e.right)}}}"
        if e.op == "**":
            return f"{go(e.left, 5)}^{{{go(e.right)}}}"
        prec = 1 if e.op in "+-" else 2
        sym = r" \cdot " if e.op == "*" else f" {e.op} "
        text = f"{go(e.left, prec)}{sym}{go(e.right, prec + (1 if e.op in '-' else 0))}"
        return rf"\left({text}\right)" if parent > prec else text

    return go(tree)


def _dd(top: str, bottom: str) -> str:
    return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"


def to_markdown(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str) -> str:
    """The whole walk as a Markdown handout, with the formulas in LaTeX math as the lecture notes write them."""
    g = walk.graph
    out = g.output
    nodes = g.node_by_name
    md: list[str] = [f"# {g.title or 'A computation graph'}", ""]
    if g.description:
        md += [g.description, ""]
    md += [f"*From `{source}`, written by cgtui.*", "", "## The graph", ""]
    md += [f"- ${i.name} = {tx.num(walk.values[i.name])}$ (input)" for i in g.inputs]
    md += [f"- ${n.name} = {latex(n.expr)}$" for n in g.nodes]
    md += ["", "## Forward pass: left to right", ""]
    for s in walk.forward_steps:
        values = dict(zip(s.operands, s.operand_values))

        def number(e, values=values):
            from engine import expr as ex

            if isinstance(e, ex.Name):
                text = tx.num(values[e.id])
                return rf"\left({text}\right)" if text.startswith("-") else text
            return None

        parts = [s.node, latex(s.tree)]
        if s.operands:
            parts.append(latex(s.tree, number).replace(r" \cdot ", r" \times "))
        parts.append(tx.num(s.value))
        md.append(f"{s.index + 1}. $" + " = ".join(dict.fromkeys(parts)) + "$")
    md += ["", f"## Backward pass: right to left, one multiplication at a time", "",
           f"Start from ${_dd(out, out)} = 1$.", ""]
    for s in walk.backward_steps:
        local = f"{_dd(s.child, s.parent)} = {latex(s.local_tree)}"
        if tx.num(s.local) != latex(s.local_tree):
            local += f" = {tx.num(s.local)}"
        total = _dd(out, s.parent)
        if s.child == out:
            body = f"{total} = {tx.num(s.product)}"
        else:
            becomes = "=" if s.of == 1 else r"\mathrel{+}="
            body = (f"{total} {becomes} {_dd(out, s.child)} \\cdot {_dd(s.child, s.parent)}"
                    f" = {tx.num(s.upstream)} \\times {tx.num(s.local)} = {tx.num(s.product)}")
        more = "" if s.of == 1 else f" ({s.arrived} of {s.of}: now {tx.num(s.grad_after)})"
        md.append(f"{s.index + 1}. ${body}$, with local ${local}$ (from ${s.child} = {latex(nodes[s.child].expr)}$){more}")
    md += ["", "## The gradients", ""]
    md += [f"- ${_dd(out, n)} = {tx.num(walk.grads[n])}$" for n in g.names]
    if fds:
        md += ["", f"## Checking by nudging: $h = {tx.num(h)}$", "",
               "| variable | nudge trail | one-sided | central | backprop | relative error (central) | |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, fd in fds.items():
            trail = tx.trail_text(fd, limit=8).replace("|", "\\|")
            md.append(f"| ${name}$ | {trail} | {tx.exact(fd.forward)} | {tx.exact(fd.central)} | {tx.num(fd.grad)}"
                      f" | {tx.small(fd.rel_error_central)} | {tx.status_text(fd)} |")
    if walk.warnings:
        md += ["", "## Warnings", ""] + [f"- {w}" for w in walk.warnings]
    return "\n".join(md) + "\n"
