"""Tensor operations beside the table of operations: numpy implementations and vector-Jacobian rules.

Keyed by the same names as :data:`engine.ops.OPS` (``"+"``, ``"tanh"``, …) plus the
tensor-only ``"@"``, ``"T"``, ``"sum"`` and ``"mean"``.

An elementwise operation's vector-Jacobian product is the table's own derivative rule
read backward: ``rule(args, y, d)`` builds ``d · ∂y/∂args[k]`` elementwise, which for
an elementwise ``y`` is exactly the VJP with upstream ``d``; when the operand was
broadcast, the result is then summed back to the operand's shape
(:class:`~engine.tensor_expr.Unbroadcast`). The tensor-only rules are in :data:`VJP`.
A node's formula for one operand composes these rules along every path from the
node's root to that operand (:func:`vjp`), so ``Z = w.T @ X + b`` gives
``∂J/∂w = X · (∂J/∂Z)ᵀ`` and ``∂J/∂b = sum(∂J/∂Z, axis=1)``.

numpy is imported here at module level: only tensor graphs load this module.
"""

from __future__ import annotations

import math
from typing import Callable, Mapping

import numpy as np

from engine import expr as ex
from engine import ops
from engine.tensor_expr import Grad, Reduce, Shape, Spread, Transpose, Unbroadcast, unbroadcast_axes


def _sigmoid(a):
    return np.exp(-np.logaddexp(0.0, -a))


def _relu(a):
    return np.where((a > 0.0) | (a != a), a, 0.0)


def _step(a):
    return np.where(a != a, np.nan, (a > 0.0) * 1.0)


NUMPY: dict[str, Callable] = {
    "+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide, "**": np.power, "@": np.matmul,
    "neg": np.negative, "exp": np.exp, "log": np.log, "sqrt": np.sqrt, "sin": np.sin, "cos": np.cos,
    "tan": np.tan, "tanh": np.tanh, "sigmoid": _sigmoid, "relu": _relu, "abs": np.abs,
    "step": _step, "sign": np.sign,
}
"""Each operation on numpy arrays (elementwise ones broadcast), by the table's names."""


def transposed(e):
    """``eᵀ``, simplified: ``(xᵀ)ᵀ = x``, ``(A · B)ᵀ = Bᵀ · Aᵀ``, a number is its own transpose."""
    if isinstance(e, Transpose):
        return e.arg
    if isinstance(e, ex.Bin) and e.op == "@":
        return ex.Bin("@", transposed(e.right), transposed(e.left))
    if isinstance(e, (ex.Num, ex.Const)):
        return e
    return Transpose(e, True)


def _matmul_left(args, y, d, shape):
    return ex.Bin("@", d, transposed(args[1]))


def _matmul_right(args, y, d, shape):
    return ex.Bin("@", transposed(args[0]), d)


def _transpose(args, y, d, shape):
    return transposed(d)


def _count(shape: Shape, axis: int | None) -> int:
    if not shape:
        return 1
    return math.prod(shape) if axis is None else shape[axis]


def _sum(args, y, d, shape):
    return Spread(d, shape) if shape else d


def _mean(args, y, d, shape):
    return _sum(args, y, ex.div(d, ex.Num(float(_count(shape, y.axis)))), shape)


TensorRule = Callable[[tuple, object, object, Shape], object]
"""``rule(args, y, d, shape)``: the VJP formula for one operand, given the upstream ``d`` and the operand's shape."""

VJP: dict[str, tuple[TensorRule, ...]] = {
    "@": (_matmul_left, _matmul_right),
    "T": (_transpose,),
    "sum": (_sum,),
    "mean": (_mean,),
}
"""The vector-Jacobian rules of the operations that are not elementwise, one per operand."""


def _parts(e) -> tuple[str, tuple]:
    """An operation's key in the tables and its operands."""
    if isinstance(e, ex.Bin):
        return e.op, (e.left, e.right)
    if isinstance(e, ex.Neg):
        return "neg", (e.operand,)
    if isinstance(e, ex.Call):
        return e.func, (e.arg,)
    if isinstance(e, Transpose):
        return "T", (e.arg,)
    if isinstance(e, Reduce):
        return e.func, (e.arg,)
    raise TypeError(type(e).__name__)  # pragma: no cover


def vjp(tree, target: str, d, shapes: dict, y=None):
    """The formula of ∂out/∂target through ``tree``, given ∂out/∂tree as the formula ``d``; None if unused.

    Args:
        shapes: Every sub-tree's shape (see :func:`engine.tensor_expr.infer`).
        y: What to call ``tree`` itself in the formula (the node's name, for the root).
    """
    if isinstance(tree, ex.Name):
        return d if tree.id == target else None
    if isinstance(tree, (ex.Num, ex.Const)):
        return None
    key, args = _parts(tree)
    me = tree if y is None else y
    total = None
    for k, arg in enumerate(args):
        if not _uses(arg, target):
            continue
        if key in VJP:
            down = VJP[key][k](args, tree, d, shapes[arg])
        else:
            down = ops.OPS[key].derivative[k](args, me, d)
            axes = unbroadcast_axes(shapes[arg], shapes[tree])
            if axes:
                down = Unbroadcast(down, axes, shapes[arg])
        term = vjp(arg, target, down, shapes)
        if term is not None:
            total = term if total is None else ex.add(total, term)
    return total


def _uses(tree, name: str) -> bool:
    stack = [tree]
    while stack:
        e = stack.pop()
        if isinstance(e, ex.Name):
            if e.id == name:
                return True
        elif isinstance(e, ex.Bin):
            stack += (e.left, e.right)
        elif isinstance(e, ex.Neg):
            stack.append(e.operand)
        elif isinstance(e, (ex.Call, Transpose, Reduce, Spread, Unbroadcast)):
            stack.append(e.arg)
    return False


def evaluate(tree, values: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray] | None = None) -> np.ndarray:
    """The value of a tree (an expression or a VJP formula) on numpy arrays; never raises for arithmetic."""
    with np.errstate(all="ignore"):
        return _eval(tree, values, grads)


def _is_selector(e) -> bool:
    return isinstance(e, ex.Call) and ops.OPS[e.func].selector


def _eval(e, values, grads):
    if isinstance(e, ex.Name):
        return values[e.id]
    if isinstance(e, ex.Num):
        return np.array(e.value)
    if isinstance(e, ex.Const):
        return np.array(ex.CONSTANTS[e.id])
    if isinstance(e, Grad):
        return grads[e.name]
    if isinstance(e, ex.Bin):
        a, b = _eval(e.left, values, grads), _eval(e.right, values, grads)
        r = NUMPY[e.op](a, b)
        if e.op == "*" and (_is_selector(e.left) or _is_selector(e.right)):
            sel = a if _is_selector(e.left) else b
            r = np.where(sel == 0.0, 0.0, r)  # the flat branch stops the gradient: inf × 0 is not nan here
        return r
    if isinstance(e, ex.Neg):
        return -_eval(e.operand, values, grads)
    if isinstance(e, ex.Call):
        return NUMPY[e.func](_eval(e.arg, values, grads))
    if isinstance(e, Transpose):
        return _eval(e.arg, values, grads).T
    if isinstance(e, Reduce):
        a = _eval(e.arg, values, grads)
        if a.ndim == 0:
            return a
        f = np.sum if e.func == "sum" else np.mean
        return f(a, keepdims=True) if e.axis is None else f(a, axis=e.axis, keepdims=True)
    if isinstance(e, Spread):
        return np.broadcast_to(_eval(e.arg, values, grads), e.shape)
    if isinstance(e, Unbroadcast):
        a = _eval(e.arg, values, grads)
        return np.sum(a, axis=e.axes, keepdims=bool(e.shape)).reshape(e.shape)
    raise TypeError(type(e).__name__)  # pragma: no cover
