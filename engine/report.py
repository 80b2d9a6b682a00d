"""The headless outputs: ``--trace`` (plain text, like the lecture page) and ``--json``."""

from __future__ import annotations

import functools
import json
import math
import re
from typing import Callable

from engine import ops
from engine import text as tx
from engine.finite_diff import FiniteDifference, trail_ends
from engine.steps import Walk

TRAIL_KEEP = 8
"""Headless output lists a nudge trail's first 8 and last 8 entries, and how many it leaves out between
(through a 100,000-node graph a trail has as many entries, and every variable has one)."""


def _j(x: float | None) -> float | str | None:
    """A float for strict JSON: non-finite numbers become "nan", "inf", "-inf"; None (no estimate) null."""
    if x is None:
        return None
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def to_json(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str,
            notation: tx.Notation = tx.PARTIAL) -> str:
    """One strict JSON object describing the whole walk (its step texts in ``notation``)."""
    return "".join(iter_json(walk, fds, h, source, notation))


def iter_json(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str,
              notation: tx.Notation = tx.PARTIAL):
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
                "text": tx.backward_line(s, g.output, notation),
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
                "reason": fd.reason,
                **_trail(fd),
            })
            for name, fd in fds.items()
        ), mapping=True),
        "warnings": list(walk.warnings),
    }
    return _stream(doc)


CHAIN_LIMIT = 200
"""Headless output reads each trail link by link (the chain rule in nudges) on graphs of up to
this many variables (a graph for teaching; on a bigger one each variable's paths would bury the rest)."""
CHAIN_PATHS = 3
"""...writing out the first this many paths of each, as the app's panel does."""


def _chain(walk: Walk, fd: FiniteDifference):
    """The chain rule in nudges for ``fd``, or None on a graph too big to list them for every variable."""
    if len(walk.graph.names) > CHAIN_LIMIT or fd.forward is None:
        return None
    from engine.nudge_chain import nudge_chain

    return nudge_chain(walk, fd, limit=CHAIN_PATHS)


def _chain_lines(walk: Walk, fd: FiniteDifference, notation: tx.Notation) -> list[str]:
    chain = _chain(walk, fd)
    return tx.chain_lines(chain, notation, grads=True) if chain is not None else []


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


def _note(note: str | None, sep: str = "   ") -> str:
    """A node's or input's ``note:`` from the file, on the line that shows it (one line)."""
    return f"{sep}({' '.join(note.split())})" if note else ""


def _md_note(note: str | None) -> str:
    """A note in a Markdown list item: its own text, never markup or math (``$`` would open a formula)."""
    if not note:
        return ""
    return ": " + re.sub(r"([\\`*_{}\[\]<>#|~$])", r"\\\1", " ".join(note.split()))


def trace_head(graph, source: str) -> list[str]:
    """A ``--trace``'s first lines, scalar or tensor graph: its title and description (if any), the source, a blank line."""
    return [*(text for text in (graph.title, graph.description) if text), f"source: {source}", ""]


def to_trace(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str,
             notation: tx.Notation = tx.PARTIAL) -> str:
    """The whole walk as plain text that reads like the lecture page, derivatives written in ``notation``."""
    g = walk.graph
    out = g.output
    lines = trace_head(g, source)
    add = lines.append
    add("Inputs")
    for i in g.inputs:
        add(f"  {i.name} = {tx.num(walk.values[i.name])}{_note(i.note)}")
    add("")
    nf = len(walk.forward_steps)
    add(f"Forward pass: left to right, one node at a time ({nf} steps)")
    for s in walk.forward_steps:
        add(f"  forward {s.index + 1}/{nf}  {tx.forward_line(s)}{_note(g.node_by_name[s.node].note)}")
    add("")
    nb = len(walk.backward_steps)
    add(f"Backward pass: right to left, one chain-rule multiplication at a time ({nb} steps),")
    add(f"starting from {tx.d(out, out, notation)} = 1")
    if (reminder := tx.notation_reminder(notation)) is not None:
        add(f"({reminder})")
    pad = " " * len(f"  backward {nb}/{nb}  ")
    nodes = g.node_by_name
    for s in walk.backward_steps:
        add(f"  backward {s.index + 1}/{nb}  {tx.backward_line(s, out, notation)}".ljust(0))
        add(pad + tx.local_line(s, nodes[s.child].expr, out, notation))
    add("")
    add(f"Gradients of {out}")
    for name in g.names:
        note = "" if name in g.needed else f"   ({out} does not depend on {name})"
        add(f"  {tx.d(out, name, notation)} = {tx.num(walk.grads[name])}{note}")
    if fds:
        add("")
        which = "each variable" if len(fds) == len(g.names) else "each input"
        add(f"Finite differences: nudge {which} by h = {tx.num(h)} and watch {out} move")
        for name, fd in fds.items():
            add(f"  {tx.trail_text(fd, limit=2 * TRAIL_KEEP)}")
            if fd.forward is None or fd.central is None:
                add(f"      no estimate; backprop {tx.d(out, name, notation)} = {tx.num(fd.grad)}   {tx.status_text(fd)}")
                continue
            add(f"      one-sided {tx.forward_formula(fd)} = {tx.exact(fd.forward)}   central {tx.exact(fd.central)}")
            add(f"      backprop {tx.d(out, name, notation)} = {tx.num(fd.grad)}   relative error"
                f" {tx.small(fd.rel_error_forward)} (one-sided), {tx.small(fd.rel_error_central)} (central)"
                f"   {tx.status_text(fd)}")
            for line in _chain_lines(walk, fd, notation):
                add(f"      {line}")
    if walk.warnings:
        add("")
        add("Warnings")
        for w in walk.warnings:
            add(f"  ! {tx.warning_text(w, notation)}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- --markdown: a handout

_LATEX_FUNCS = ops.field("latex")  # each function's LaTeX name, from the table of operations (None: written its own way)

# How tightly a piece of TeX binds, for deciding where brackets go: a sum, a product
# (or a fraction, or a number written with "× 10^k"), a leading minus, a power (or a
# function applied), an atom (a name, a plain number, a bracket, a root).
_SUM, _PRODUCT, _MINUS, _POWER, _ATOM = 1, 2, 3, 4, 5


def tex_name(name: str) -> str:
    r"""A name in TeX, the same way in every formula, partial and list of the handout.

    One letter stays as it is (``b``); a name of one underscore between two parts
    is a subscript (``w_10`` → ``w_{10}``, ``loss_total`` →
    ``\mathit{loss}_{\mathit{total}}``); any other name is one italic word with its
    underscores shown (``a_b_c`` → ``\mathit{a\_b\_c}``, ``x_``, ``w1`` →
    ``\mathit{w1}``). No two names come out alike.
    """
    if name == "pi":
        return r"\pi"
    head, _, tail = name.partition("_")
    if head and tail and "_" not in tail:
        return f"{_word(head)}_{{{_word(tail)}}}"
    return _word(name)


def _word(part: str) -> str:
    if len(part) == 1 or part.isdigit():
        return part
    return r"\mathit{" + part.replace("_", r"\_") + "}"


def _tex_number(text: str) -> tuple[str, int]:
    """A number's text (``0.5``, ``-3``, ``1e-12``, ``inf``) in TeX, and how tightly it binds."""
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    if text == "inf":
        body, level = r"\infty", _ATOM
    elif text == "nan":
        body, level = r"\mathrm{nan}", _ATOM
    elif "e" in text:
        mantissa, _, exponent = text.partition("e")
        power = f"10^{{{int(exponent)}}}"
        body, level = (power, _POWER) if mantissa == "1" else (rf"{mantissa} \times {power}", _PRODUCT)
    else:
        body, level = text, _ATOM
    return (sign + body, min(level, _MINUS)) if sign else (body, level)


def tex_num(x: float) -> str:
    r"""A value as the handout shows it: ``6``, ``0.001``, ``2.5 \times 10^{-13}``, ``-\infty``."""
    return _tex_number(tx.num(x))[0]


def _factor(x: float) -> str:
    """A value as a factor of ``\\times``: bracketed when it starts with a minus."""
    text, level = _tex_number(tx.num(x))
    return rf"\left({text}\right)" if level == _MINUS else text


def tex_wrap(text: str) -> str:
    r"""``\left(text\right)``."""
    return rf"\left({text}\right)"


TexPart = Callable[[object], tuple[str, int]]
"""The TeX of an expression and how tightly it binds (``_SUM`` … ``_ATOM``)."""


def latex(tree, values=None, times: str = r" \cdot ",
          extra: Callable[[object, TexPart, Callable[..., str]], tuple[str, int] | None] | None = None) -> str:
    r"""An expression in LaTeX math: ``b \cdot c``, ``\frac{x}{y}``, ``x^{2}``, ``\sqrt{x}``.

    Brackets go wherever TeX would read it otherwise: around a power's base unless it
    is a name, a plain number or a root (``\left(a^{b}\right)^{c}``,
    ``\left(\frac{a}{b}\right)^{2}``, ``\left(-2\right)^{c}``), and around a minus
    sign that does not lead (``a \cdot \left(-3\right)``).

    Args:
        values: Numbers to write in place of names (the forward step's substitution).
        times: The multiplication sign (``*``); ``@``, which only tensor formulas have, is written
            as juxtaposition, its right operand bracketed unless it binds tighter than a product.
        extra: The TeX of the expression kinds this function does not know (the tensor formulas'
            transposes, reductions, gradients), given ``(e, go, operand)``; None for the others.
    """
    from engine import expr as ex

    wrap = tex_wrap

    def go(e) -> tuple[str, int]:
        """The TeX of ``e`` and how tightly it binds."""
        if isinstance(e, ex.Name) and values is not None and e.id in values:
            return _tex_number(tx.num(values[e.id]))
        if isinstance(e, ex.Num):
            return _tex_number(ex.number_text(e.value))
        if isinstance(e, (ex.Name, ex.Const)):
            return tex_name(e.id), _ATOM
        if isinstance(e, ex.Call):
            arg = go(e.arg)[0]
            if e.func == "sqrt":
                return rf"\sqrt{{{arg}}}", _ATOM
            if e.func == "abs":
                return rf"\left|{arg}\right|", _ATOM
            return rf"{_LATEX_FUNCS[e.func]}{wrap(arg)}", _POWER
        if extra is not None and (found := extra(e, go, operand)) is not None:
            return found
        if isinstance(e, ex.Neg):
            return "-" + operand(e.operand, _POWER), _MINUS
        if e.op == "/":
            return rf"\frac{{{go(e.left)[0]}}}{{{go(e.right)[0]}}}", _PRODUCT
        if e.op == "**":
            return f"{operand(e.left, _ATOM)}^{{{go(e.right)[0]}}}", _POWER
        if e.op in ("*", "@"):
            sign = times if e.op == "*" else " "
            return operand(e.left, _PRODUCT, lead=True) + sign + operand(e.right, _PRODUCT + (e.op == "@")), _PRODUCT
        right = operand(e.right, _PRODUCT if e.op == "-" else _SUM)
        return f"{operand(e.left, _SUM, lead=True)} {e.op} {right}", _SUM

    def operand(e, need: int, lead: bool = False) -> str:
        """``e`` as an operand needing at least ``need``; a minus sign that does not lead is bracketed."""
        text, level = go(e)
        if level < need and not (lead and level == _MINUS and need <= _MINUS):
            return wrap(text)
        if level == _MINUS and not lead:
            return wrap(text)
        return text

    return go(tree)[0]


def _dd(top: str, bottom: str, notation: tx.Notation = tx.PARTIAL) -> str:
    r"""A derivative in TeX: ``\frac{\partial J}{\partial v}``, ``\frac{dJ}{dv}``, or ``dv`` (code notation)."""
    if notation.style == "partial":
        return rf"\frac{{\partial {tex_name(top)}}}{{\partial {tex_name(bottom)}}}"
    if notation.style == "code" and top == notation.output:
        return rf"\mathrm{{d}}{tex_name(bottom)}"
    return rf"\frac{{\mathrm{{d}}{tex_name(top)}}}{{\mathrm{{d}}{tex_name(bottom)}}}"


def _tex_text_number(text: str) -> str:
    """A number as :func:`engine.text.differing` wrote it, in TeX."""
    return _tex_number(text)[0]


def _tex_difference(before: float, after: float) -> str:
    """``6.002 - 6``: the pair as the trail writes it (to the digits that tell them apart)."""
    b, a = tx.differing(before, after)
    right, level = _tex_number(b)
    return f"{_tex_text_number(a)} - " + (rf"\left({right}\right)" if level == _MINUS else right)


def chain_markdown(chain, notation: tx.Notation = tx.PARTIAL) -> list[str]:
    r"""The chain rule in nudges as handout lines: ``\frac{\Delta u}{\Delta b} = \frac{6.002 - 6}{3.001 - 3} = 2``."""
    var, out = chain.var, chain.output
    whole = rf"\frac{{\Delta {tex_name(out)}}}{{\Delta {tex_name(var)}}}"
    if var == out or chain.estimate is None or chain.too_long or chain.count == 0:
        return []
    md = []
    many = chain.count > 1
    if many:
        shown = "" if chain.complete else f" (the first {len(chain.paths)})"
        md.append(f"${tex_name(var)}$ reaches ${tex_name(out)}$ by {chain.count:,} paths{shown}; along each,"
                  " a node's other operands are held at their old values.")
        md.append("")
    for k, path in enumerate(chain.paths):
        links = path.links
        keep = tx.CHAIN_LINKS_SHOWN
        shown_links = list(links) if len(links) <= keep + 1 else [*links[:keep // 2], None, *links[-(keep // 2):]]
        route = " \\to ".join([tex_name(var)] + [tex_name(lk.top) if lk is not None else r"\dots"
                                                    for lk in shown_links])
        md.append(f"- {'Path ' + str(k + 1) + ': ' if many else ''}${route}$")
        for lk in shown_links:
            if lk is None:
                md.append(f"  - … {len(links) - 2 * (keep // 2):,} more links …")
                continue
            held = ""
            if lk.held:
                held = " (" + ", ".join(f"${tex_name(n)} = {tex_num(v)}$ held" for n, v in lk.held) + ")"
            md.append(f"  - $\\frac{{\\Delta {tex_name(lk.top)}}}{{\\Delta {tex_name(lk.bottom)}}}"
                      f" = \\frac{{{_tex_difference(lk.top_before, lk.top_after)}}}"
                      f"{{{_tex_difference(lk.bottom_before, lk.bottom_after)}}} = {tex_num(lk.ratio)}$"
                      f"{held}, beside ${_dd(lk.top, lk.bottom, notation)} = {tex_num(lk.local)}$")
        if len(links) > 1:
            factors = [_factor(lk.ratio) for lk in shown_links if lk is not None]
            if len(shown_links) != len(links):
                factors.insert(keep // 2, r"\dots")
            product = " \\times ".join(factors) + f" = {tex_num(path.product)}"
            if not many:
                sign = "=" if tx.num(path.product) == tx.num(chain.estimate) else r"\approx"
                product += f" {sign} {whole}"
            md.append(f"  - ${product}$")
    if many:
        terms = " + ".join(_factor(p.product) for p in chain.paths) + ("" if chain.complete else r" + \dots")
        md.append(f"- Sum of the paths: ${terms} = {tex_num(chain.total)} \\approx {whole} = {tex_num(chain.estimate)}$"
                  " (to first order)")
    if chain.steps:
        symbols, numbers = tx.backprop_terms(chain.steps, out, lambda a, b: _dd(a, b, notation), _factor,
                                             dot=r" \cdot ", times=r" \times ")
        complete = len(chain.steps) == chain.steps_count
        more = "" if complete else r" + \dots"
        end = f" = {tex_num(chain.steps[-1].grad_after)}" if complete else ""
        sums = f"{' + '.join(symbols)}{more} = {' + '.join(numbers)}{more}{end}"
        md.append(f"- Backprop: ${_dd(out, var, notation)} = {sums}$")
    return md


def to_markdown(walk: Walk, fds: dict[str, FiniteDifference], h: float, source: str,
                notation: tx.Notation = tx.PARTIAL) -> str:
    """The whole walk as a Markdown handout, with the formulas in LaTeX math as the lecture notes write them."""
    g = walk.graph
    out = g.output
    nodes = g.node_by_name
    md: list[str] = [f"# {g.title or 'A computation graph'}", ""]
    if g.description:
        md += [g.description, ""]
    md += [f"*From `{source}`, written by cgtui.*", "", "## The graph", ""]
    md += [f"- ${tex_name(i.name)} = {tex_num(walk.values[i.name])}$ (input){_md_note(i.note)}" for i in g.inputs]
    md += [f"- ${tex_name(n.name)} = {latex(n.expr)}${_md_note(n.note)}" for n in g.nodes]
    md += ["", "## Forward pass: left to right", ""]
    for s in walk.forward_steps:
        parts = [tex_name(s.node), latex(s.tree)]
        if s.operands:
            parts.append(latex(s.tree, dict(zip(s.operands, s.operand_values)), times=r" \times "))
        parts.append(tex_num(s.value))
        md.append(f"{s.index + 1}. $" + " = ".join(dict.fromkeys(parts)) + "$")
    md += ["", "## Backward pass: right to left, one multiplication at a time", "",
           f"Start from ${_dd(out, out, notation)} = 1$.", ""]
    if (reminder := tx.notation_reminder(notation)) is not None:
        md += [f"*{reminder.capitalize()}.*", ""]
    for s in walk.backward_steps:
        formula = latex(s.local_tree)
        local = f"{_dd(s.child, s.parent, notation)} = {formula}"
        if tex_num(s.local) != formula:
            local += f" = {tex_num(s.local)}"
        total = _dd(out, s.parent, notation)
        if s.child == out:
            body = f"{total} = {tex_num(s.product)}"
        else:
            becomes = "=" if s.of == 1 else r"\mathrel{+}="
            body = (f"{total} {becomes} {_dd(out, s.child, notation)} \\cdot {_dd(s.child, s.parent, notation)}"
                    f" = {_factor(s.upstream)} \\times {_factor(s.local)} = {tex_num(s.product)}")
        more = "" if s.of == 1 else f" ({s.arrived} of {s.of}: now {tx.num(s.grad_after)})"
        md.append(f"{s.index + 1}. ${body}$, with local ${local}$"
                  f" (from ${tex_name(s.child)} = {latex(nodes[s.child].expr)}$){more}")
    md += ["", "## The gradients", ""]
    md += [f"- ${_dd(out, n, notation)} = {tex_num(walk.grads[n])}$" for n in g.names]
    if fds:
        md += ["", f"## Checking by nudging: $h = {tex_num(h)}$", "",
               "| variable | nudge trail | one-sided | central | backprop | relative error (central) | |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        for name, fd in fds.items():
            trail = tx.trail_text(fd, limit=8).replace("|", "\\|")
            md.append(f"| ${tex_name(name)}$ | {trail} | {tx.exact(fd.forward)} | {tx.exact(fd.central)} | {tx.num(fd.grad)}"
                      f" | {tx.small(fd.rel_error_central)} | {tx.status_text(fd)} |")
    chains = [(name, _chain(walk, fd)) for name, fd in fds.items()]
    chains = [(name, c) for name, c in chains if c is not None and chain_markdown(c, notation)]
    if chains:
        md += ["", "## The chain rule in nudges", "",
               "Each nudge's trail read link by link: how much each node moved for the move below it.", ""]
        for name, c in chains:
            md += [f"### ${tex_name(name)}$", "", *chain_markdown(c, notation), ""]
        md.pop()
    if walk.warnings:
        md += ["", "## Warnings", ""] + [f"- {tx.warning_text(w, notation)}" for w in walk.warnings]
    return "\n".join(md) + "\n"
