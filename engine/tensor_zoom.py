"""Zooming into one element of a tensor step: its value as the scalar sum it is.

A backward step's contribution is a matrix; element ``[i, j]`` of it is a plain
scalar computation, and that is what a learner checks by hand::

    ∂J/∂w[1,0] = Σₖ X[1,k] · ∂J/∂Z[0,k] = 4 × 0.1 + 5 × (−0.2) + 6 × 0.3 = 1.2

Three forms: a matrix product at the top of the formula (a sum over the inner
index), an un-broadcast (a sum over the reduced axis), and an elementwise formula
(the same formula with each operand's element in place of its name). Anything
else is shown by its value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine import expr as ex
from engine import tensor_expr as te
from engine import tensor_ops as to
from engine import text as tx
from engine.tensor_graph import TensorWalk

TERMS_SHOWN = 8
"""A sum of more terms shows its first 4 and last 2 around "…" (the value is always the whole sum)."""


@dataclass(frozen=True, slots=True)
class Zoom:
    """One element of a step's result, as a scalar computation.

    Attributes:
        target: ``∂J/∂w[1,0]``.
        formula: ``Σₖ X[1,k] · ∂J/∂Z[0,k]``, or the elementwise formula at the element.
        terms: The numbers each term multiplies (pairs for a product, one number for a plain sum);
            empty for an elementwise formula.
        substituted: The formula with numbers: ``4 × 0.1 + 5 × (−0.2) + 6 × 0.3``.
        value: The element, recomputed from the terms (equal to the step's element up to rounding).
    """

    target: str
    formula: str
    terms: tuple[tuple[float, ...], ...]
    substituted: str
    value: float

    @property
    def text(self) -> str:
        parts = [self.target, self.formula, self.substituted, tx.num(self.value)]
        return " = ".join(dict.fromkeys(p for p in parts if p))


def _at(a: np.ndarray, i: int, j: int) -> float:
    """Element [i, j] of a value as broadcasting reads it (a number, a row, a column, 1×1)."""
    if a.ndim == 0:
        return float(a)
    return float(a[i if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0])


def _factor(x: float) -> str:
    text = tx.num(x)
    return f"({text})" if text.startswith("-") else text


def _indexed(e, grad, first: str, second: str) -> str:
    """``X[1,k]`` for X, ``∂J/∂Z[0,k]`` for (∂J/∂Z)ᵀ at [k,0]: a transposed leaf is read with swapped indices."""
    if isinstance(e, te.Transpose) and isinstance(e.arg, (ex.Name, te.Grad)):
        return _indexed(e.arg, grad, second, first)
    if isinstance(e, ex.Name):
        return f"{e.id}[{first},{second}]"
    if isinstance(e, te.Grad):
        return f"{grad(e.name)}[{first},{second}]"
    return f"({te.to_text(e, course=True, grad=grad)})[{first},{second}]"


def _sum_text(terms: list[str]) -> str:
    if len(terms) > TERMS_SHOWN:
        terms = [*terms[:4], "…", *terms[-2:]]
    return " + ".join(terms)


def zoom(walk: TensorWalk, k: int, i: int, j: int) -> Zoom:
    """Element ``[i, j]`` of backward step ``k``'s contribution, as its scalar computation.

    Raises:
        IndexError: no such step or element.
    """
    step = walk.backward_steps[k]
    out = walk.graph.output
    shape = step.contribution.shape
    if shape == ():
        if (i, j) != (0, 0):
            raise IndexError("a number has one element, [0,0]")
        where = ""
    else:
        if not (0 <= i < shape[0] and 0 <= j < shape[1]):
            raise IndexError(f"[{i},{j}] is outside ({te.shape_text(shape)})")
        where = f"[{i},{j}]"

    def grad(name: str) -> str:
        return tx.d(out, name)

    target = f"{grad(step.parent)}{where}"
    f = step.formula_tree
    values, grads = walk.values, walk.grads
    if isinstance(f, ex.Bin) and f.op == "@":
        a, b = to.evaluate(f.left, values, grads), to.evaluate(f.right, values, grads)
        pairs = tuple((float(a[i, n]), float(b[n, j])) for n in range(a.shape[1]))
        formula = f"Σₖ {_indexed(f.left, grad, str(i), 'k')} · {_indexed(f.right, grad, 'k', str(j))}"
        text = _sum_text([f"{_factor(x)} × {_factor(y)}" for x, y in pairs])
        return Zoom(target, formula, pairs, text, float(sum(x * y for x, y in pairs)))
    if isinstance(f, te.Unbroadcast):
        inner = np.broadcast_to(to.evaluate(f.arg, values, grads), te.infer(f.arg, walk.graph.shapes))
        if not f.shape:
            picked = inner.reshape(-1)
            index = "all"
        elif f.axes == (1,):
            picked = inner[i, :]
            index = f"{i},k"
        elif f.axes == (0,):
            picked = inner[:, j]
            index = f"k,{j}"
        else:
            picked = inner.reshape(-1)
            index = "all"
        name = te.to_text(f.arg, course=True, grad=grad)
        name = name if isinstance(f.arg, (ex.Name, te.Grad)) else f"({name})"
        formula = f"Σ {name}" if index == "all" else f"Σₖ {name}[{index}]"
        terms = tuple((float(x),) for x in picked)
        return Zoom(target, formula, terms, _sum_text([_factor(x[0]) for x in terms]), float(sum(x[0] for x in terms)))
    if _elementwise(f):
        f = _unspread(f)  # a number copied to every element: each element is that number
        def index(a: np.ndarray) -> str:
            if a.ndim == 0:
                return ""
            return f"[{i if a.shape[0] > 1 else 0},{j if a.shape[1] > 1 else 0}]"

        def named(e):
            if isinstance(e, ex.Name):
                return e.id + index(values[e.id])
            if isinstance(e, te.Grad):
                return grad(e.name) + index(grads[e.name])
            return None

        def number(e):
            if isinstance(e, ex.Name):
                return _factor(_at(values[e.id], i, j))
            if isinstance(e, te.Grad):
                return _factor(_at(grads[e.name], i, j))
            return None

        used = te.names(f)
        ups = _grads_in(f)
        formula = te.to_text(f, course=True, leaf=named)
        substituted = te.to_text(f, course=True, leaf=number).replace(" * ", " × ")
        value = _at(to.evaluate(f, {n: np.asarray(_at(values[n], i, j)) for n in used},
                                {n: np.asarray(_at(grads[n], i, j)) for n in ups}), 0, 0)
        return Zoom(target, formula, (), substituted, value)
    value = float(step.contribution[i, j]) if shape else float(step.contribution)
    return Zoom(target, te.to_text(f, course=True, grad=grad) + where, (), "", value)


def _elementwise(tree) -> bool:
    """Whether a formula is elementwise all through (no @, transpose or sum inside; a spread number is)."""
    stack = [tree]
    while stack:
        e = stack.pop()
        if isinstance(e, (te.Transpose, te.Reduce, te.Unbroadcast)) or (isinstance(e, ex.Bin) and e.op == "@"):
            return False
        stack.extend(te.children(e))
    return True


def _grads_in(tree) -> tuple[str, ...]:
    """The names whose gradients a formula reads (its :class:`~engine.tensor_expr.Grad` leaves)."""
    found: dict[str, None] = {}
    stack = [tree]
    while stack:
        e = stack.pop()
        if isinstance(e, te.Grad):
            found.setdefault(e.name, None)
        stack.extend(te.children(e))
    return tuple(found)


def _unspread(e):
    """The formula without its :class:`~engine.tensor_expr.Spread` nodes (elementwise, each is its number)."""
    if isinstance(e, te.Spread):
        return _unspread(e.arg)
    if isinstance(e, ex.Bin):
        return ex.Bin(e.op, _unspread(e.left), _unspread(e.right))
    if isinstance(e, ex.Neg):
        return ex.Neg(_unspread(e.operand))
    if isinstance(e, ex.Call):
        return ex.Call(e.func, _unspread(e.arg))
    return e
