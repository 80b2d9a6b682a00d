"""The headless outputs of a tensor graph: ``--json`` and ``--trace``.

The JSON has the scalar document's keys, with tensors as nested lists (numbers stay
numbers), ``shapes`` of every name, forward steps with ``shape`` and ``shape_text``,
backward steps with ``formula``, ``shapes``, ``contribution``, ``reduced_axes``,
``grad_after``, ``arrived`` and ``of``, and ``gradient_check`` (the course's check of
each input) in place of the scalar nudges.
"""

from __future__ import annotations

import json
import math

import numpy as np

from engine import tensor_expr as te
from engine import text as tx
from engine.report import trace_head
from engine.tensor_graph import GradientCheck, TensorWalk

SHOWN = 6
"""Matrices of up to 6 rows and 6 columns are written in full; larger ones keep their corners around "…"."""


def _j(x: float):
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def tensor_json(a) -> object:
    """A value for strict JSON: a number for a 0-d array, nested lists (rows) for a matrix."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return _j(float(a))
    rows = a.tolist()
    if np.isfinite(a).all():
        return rows
    return [[_j(x) for x in row] for row in rows]


def _shape(s: te.Shape) -> list[int]:
    return list(s)


def to_json(walk: TensorWalk, checks: dict[str, GradientCheck], source: str) -> str:
    g = walk.graph
    out = g.output
    doc = {
        "source": source,
        "title": g.title,
        "description": g.description,
        "output": out,
        "inputs": [i.name for i in g.inputs],
        "nodes": [n.name for n in g.nodes],
        "shapes": {k: _shape(g.shapes[k]) for k in g.names},
        "values": {k: tensor_json(walk.values[k]) for k in g.names},
        "grads": {k: tensor_json(walk.grads[k]) for k in g.names},
        "forward_steps": [
            {
                "index": s.index,
                "node": s.node,
                "expr": s.expr,
                "shape": _shape(s.shape),
                "shape_text": s.shape_text,
                "text": forward_text(s),
                "value": tensor_json(s.value),
            }
            for s in walk.forward_steps
        ],
        "backward_steps": [
            {
                "index": s.index,
                "child": s.child,
                "parent": s.parent,
                "formula": s.formula,
                "shapes": s.shapes,
                "upstream": tensor_json(s.upstream),
                "contribution": tensor_json(s.contribution),
                "reduced_axes": list(s.reduced_axes) if s.reduced_axes is not None else None,
                "reduction": s.reduction,
                "grad_before": tensor_json(s.grad_before),
                "grad_after": tensor_json(s.grad_after),
                "arrived": s.arrived,
                "of": s.of,
                "text": backward_text(s, out),
            }
            for s in walk.backward_steps
        ],
        "gradient_check": {
            name: {
                "h": c.h,
                "approx": tensor_json(c.approx) if c.approx is not None else None,
                "grad": tensor_json(c.grad),
                "rel_error": _j(c.rel_error) if c.rel_error is not None else None,
                "status": c.status,
                "reason": c.reason,
            }
            for name, c in checks.items()
        },
        "warnings": list(walk.warnings),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False)


def forward_text(s) -> str:
    """``Z = wᵀ · X + b   (1×2)·(2×5) + (1×1 → 1×5) → (1×5)``."""
    return f"{s.node} = {s.course}   {s.shape_text}"


def backward_text(s, out: str) -> str:
    """``∂J/∂w += X · (∂J/∂Z)ᵀ   (1 of 1)``."""
    return f"{tx.d(out, s.parent)} += {s.formula}   ({s.arrived} of {s.of})"


def _cells(a: np.ndarray, limit: int) -> list[list[str]]:
    """The matrix's numbers as text, with its middle rows and columns replaced by "…" beyond ``limit``."""
    rows, cols = a.shape
    keep_r = list(range(rows)) if rows <= limit else [*range(3), None, *range(rows - 2, rows)]
    keep_c = list(range(cols)) if cols <= limit else [*range(3), None, *range(cols - 2, cols)]
    out = []
    for r in keep_r:
        if r is None:
            out.append(["⋮" if c is not None else "⋱" for c in keep_c])
        else:
            out.append(["…" if c is None else tx.num(float(a[r, c])) for c in keep_c])
    return out


def matrix_lines(a, limit: int = SHOWN) -> list[str]:
    """A value as lines of text: ``2`` for a number, ``[ 1  2  3 ]`` per row for a matrix, aligned."""
    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return [tx.num(float(a))]
    cells = _cells(a, limit)
    widths = [max(len(row[k]) for row in cells) for k in range(len(cells[0]))]
    return ["[ " + "  ".join(c.rjust(w) for c, w in zip(row, widths)) + " ]" for row in cells]


def _value(lines: list[str], prefix: str, indent: str) -> list[str]:
    if len(lines) == 1:
        return [prefix + lines[0]]
    return [prefix.rstrip()] + [indent + line for line in lines]


def to_trace(walk: TensorWalk, checks: dict[str, GradientCheck], source: str) -> str:
    """The whole walk as plain text: formulas, shapes, and the numbers (large matrices with "…")."""
    g = walk.graph
    out = g.output
    lines = trace_head(g, source)
    add = lines.append
    add("Inputs")
    for i in g.inputs:
        made = f"   ({i.generated})" if i.generated else ""
        lines += _value(matrix_lines(walk.values[i.name]), f"  {i.name} ({te.shape_text(i.shape)}) = ", "      ")
        if made:
            lines[-1] += made
    add("")
    nf = len(walk.forward_steps)
    add(f"Forward pass: one node at a time ({nf} steps)")
    for s in walk.forward_steps:
        head = f"  forward {s.index + 1}/{nf}  "
        add(head + forward_text(s))
        lines += _value(matrix_lines(s.value), " " * len(head) + f"{s.node} = ", " " * (len(head) + 4))
    add("")
    nb = len(walk.backward_steps)
    add(f"Backward pass: one vector-Jacobian product at a time ({nb} steps), starting from {tx.d(out, out)} = 1")
    for s in walk.backward_steps:
        head = f"  backward {s.index + 1}/{nb}  "
        pad = " " * len(head)
        add(head + backward_text(s, out))
        add(pad + "shapes: " + s.shapes)
        if s.reduction:
            add(pad + s.reduction)
        lines += _value(matrix_lines(s.contribution), pad + "this step: ", pad + "    ")
        if s.of > 1:
            lines += _value(matrix_lines(s.grad_after), pad + f"{tx.d(out, s.parent)} is now: ", pad + "    ")
    add("")
    add(f"Gradients of {out}")
    for name in g.names:
        note = "" if name in g.needed else f"   ({out} does not depend on {name})"
        lines += _value(matrix_lines(walk.grads[name]), f"  {tx.d(out, name)} ({te.shape_text(g.shapes[name])}) = ",
                        "      ")
        lines[-1] += note
    if checks:
        add("")
        h = next(iter(checks.values())).h
        add(f"Gradient check: central differences with h = {tx.num(h)} over every element,")
        add("‖g_approx − g‖₂ / (‖g_approx‖₂ + ‖g‖₂): below 1e-7 great, up to 1e-3 look closer, above wrong")
        for name, c in checks.items():
            if c.rel_error is None:
                add(f"  {name}: skipped ({c.reason})")
            else:
                add(f"  {name}: {tx.small(c.rel_error)}   {c.status}" + (f": {c.reason}" if c.reason else ""))
    if walk.warnings:
        add("")
        add("Warnings")
        for w in walk.warnings:
            add(f"  ! {w}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- --markdown: the handout, matrices in bmatrix

_SUM, _PRODUCT, _MINUS, _POWER, _ATOM = 1, 2, 3, 4, 5


def tex_matrix(a, limit: int = SHOWN) -> str:
    r"""A value in TeX: a number, or ``\begin{bmatrix} 1 & 2 \\ 3 & 4 \end{bmatrix}`` (large ones around dots)."""
    from engine.report import tex_num

    a = np.asarray(a, dtype=float)
    if a.ndim == 0:
        return tex_num(float(a))
    rows = []
    for row in _cells(a, limit):
        cells = []
        for c in row:
            cells.append({"…": r"\cdots", "⋮": r"\vdots", "⋱": r"\ddots"}.get(c) or tex_num(float(c)))
        rows.append(" & ".join(cells))
    return r"\begin{bmatrix} " + r" \\ ".join(rows) + r" \end{bmatrix}"


def tex_shape(shape: te.Shape) -> str:
    return r" \times ".join(map(str, shape)) if shape else "1"


def tensor_latex(tree, out: str) -> str:
    r"""A tensor expression or VJP formula in TeX: ``X \left(\frac{\partial J}{\partial Z}\right)^{T}``.

    :func:`engine.report.latex` writes it, elementwise products as ``\odot``; this adds the kinds
    only tensor formulas have.
    """
    from engine.report import latex, tex_name, tex_wrap

    def extra(e, go, operand) -> tuple[str, int] | None:
        if isinstance(e, te.Grad):
            return rf"\frac{{\partial {tex_name(out)}}}{{\partial {tex_name(e.name)}}}", _ATOM
        if isinstance(e, te.Transpose):
            base = tex_wrap(go(e.arg)[0]) if isinstance(e.arg, te.Grad) else operand(e.arg, _ATOM)
            return f"{base}^{{T}}", _POWER
        if isinstance(e, (te.Reduce, te.Unbroadcast)):
            if isinstance(e, te.Reduce):
                func, axis = e.func, e.axis
            else:
                func, axis = "sum", (e.axes[0] if len(e.axes) == 1 and e.shape else None)
            how = "" if axis is None else rf", \text{{axis}}={axis}"
            return rf"\operatorname{{{func}}}\left({go(e.arg)[0]}{how}\right)", _POWER
        if isinstance(e, te.Spread):
            return rf"{operand(e.arg, _PRODUCT, lead=True)} \cdot \mathbf{{1}}_{{{tex_shape(e.shape)}}}", _PRODUCT
        return None

    return latex(tree, times=r" \odot ", extra=extra)


def to_markdown(walk: TensorWalk, checks: dict[str, GradientCheck], source: str) -> str:
    """The whole walk as a Markdown handout: formulas in LaTeX, matrices in ``bmatrix``, shapes in code spans."""
    from engine.report import tex_name

    g = walk.graph
    out = g.output

    def dd(name: str) -> str:
        return rf"\frac{{\partial {tex_name(out)}}}{{\partial {tex_name(name)}}}"

    def shape_of(name: str) -> str:
        return f"`{te.shape_text(g.shapes[name])}`"

    md: list[str] = [f"# {g.title or 'A computation graph of vectors and matrices'}", ""]
    if g.description:
        md += [g.description, ""]
    md += [f"*From `{source}`, written by cgtui. `⊙` is the elementwise product; a product written without a "
           "sign is the matrix product.*", "", "## The graph", ""]
    md += [f"- ${tex_name(i.name)} = {tex_matrix(walk.values[i.name])}$ {shape_of(i.name)} (input"
           + (f", {i.generated})" if i.generated else ")") for i in g.inputs]
    md += [f"- ${tex_name(n.name)} = {tensor_latex(n.expr, out)}$ {shape_of(n.name)}" for n in g.nodes]
    md += ["", "## Forward pass: one node at a time", ""]
    for s in walk.forward_steps:
        md.append(f"{s.index + 1}. ${tex_name(s.node)} = {tensor_latex(s.tree, out)} = {tex_matrix(s.value)}$, "
                  f"shapes `{s.shape_text}`")
    md += ["", "## Backward pass: one vector-Jacobian product at a time", "", f"Start from ${dd(out)} = 1$.", ""]
    for s in walk.backward_steps:
        line = (f"{s.index + 1}. ${dd(s.parent)} \\mathrel{{+}}= {tensor_latex(s.formula_tree, out)}"
                f" = {tex_matrix(s.contribution)}$, shapes `{s.shapes}`")
        if s.reduction:
            line += f", {s.reduction}"
        if s.of > 1:
            line += f" ({s.arrived} of {s.of}: now ${tex_matrix(s.grad_after)}$)"
        md.append(line)
    md += ["", "## The gradients", ""]
    md += [f"- ${dd(n)} = {tex_matrix(walk.grads[n])}$ {shape_of(n)}" for n in g.names]
    if checks:
        md += ["", "## Gradient check", "",
               r"Central differences over every element, $\frac{\lVert g_{approx} - g \rVert_2}"
               r"{\lVert g_{approx} \rVert_2 + \lVert g \rVert_2}$: below $10^{-7}$ great, up to $10^{-3}$ "
               "look closer, above wrong.", "", "| input | h | relative error | |", "| --- | --- | --- | --- |"]
        for name, c in checks.items():
            rel = tx.small(c.rel_error) if c.rel_error is not None else f"skipped ({c.reason})"
            verdict = c.status + (f": {c.reason}" if c.rel_error is not None and c.reason else "")
            md.append(f"| ${tex_name(name)}$ | {tx.num(c.h)} | {rel} | {verdict.replace('|', chr(92) + '|')} |")
    if walk.warnings:
        md += ["", "## Warnings", ""] + [f"- {w}" for w in walk.warnings]
    return "\n".join(md) + "\n"
