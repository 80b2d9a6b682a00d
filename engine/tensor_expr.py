"""Tensor expressions: the scalar syntax plus ``@``, ``x.T``, ``transpose``, ``sum`` and ``mean``.

A tensor graph's node is parsed here, not by :mod:`engine.expr`: the scalar
parser keeps refusing ``@`` and attributes, so every scalar graph reads exactly as
before. The tree reuses the scalar classes (:class:`~engine.expr.Num`,
:class:`~engine.expr.Name`, :class:`~engine.expr.Bin` — with ``"@"`` as one more
operator —, :class:`~engine.expr.Call` for the elementwise functions) and adds
:class:`Transpose` and :class:`Reduce`; the vector-Jacobian formulas of
:mod:`engine.tensor_ops` add :class:`Grad`, :class:`Spread` and :class:`Unbroadcast`.

Values are 2-D numpy arrays, or 0-d ones for numbers; a shape is ``()`` or
``(rows, columns)``.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass
from typing import Callable

from engine import expr as ex
from engine.errors import GraphError

TENSOR_FUNCTIONS = ("transpose", "sum", "mean")
"""Functions only tensor graphs know (besides every elementwise function of the table)."""
Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Transpose:
    """``x.T`` (``attr``) or ``transpose(x)``."""

    arg: object
    attr: bool = True


@dataclass(frozen=True, slots=True)
class Reduce:
    """``sum(x)``, ``sum(x, axis=0)``, ``mean(x, axis=1)``: results stay 2-D (keepdims)."""

    func: str
    arg: object
    axis: int | None = None


@dataclass(frozen=True, slots=True)
class Grad:
    """∂out/∂name: the upstream gradient in a vector-Jacobian formula."""

    name: str


@dataclass(frozen=True, slots=True)
class Spread:
    """``arg * ones(shape)``: a gradient copied back over the elements a sum or mean added up."""

    arg: object
    shape: Shape


@dataclass(frozen=True, slots=True)
class Unbroadcast:
    """``sum(arg, axis=…)``: the gradient of an operand that was broadcast, summed back to its shape."""

    arg: object
    axes: tuple[int, ...]
    shape: Shape


# --------------------------------------------------------------------------- parsing

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}


def parse(text: str) -> object:
    """Tensor expression text -> tree; :class:`GraphError` (no line) for anything not whitelisted."""
    if not isinstance(text, str):
        raise GraphError("an expression must be text")
    if len(text) > ex.MAX_EXPR_CHARS:
        raise GraphError(f"expression is too long ({len(text):,} characters; at most {ex.MAX_EXPR_CHARS:,})")
    if not text.strip():
        raise GraphError("expression is empty")
    for ch in text:
        if ord(ch) > 127 or (ord(ch) < 32 and ch not in "\t\n\r"):
            raise GraphError(f"character {ch!r} is not allowed in an expression")
    if ex._max_paren_depth(text) > ex.MAX_DEPTH // 2:
        raise GraphError(f"expression is nested too deeply (more than {ex.MAX_DEPTH // 2} parentheses)")
    source = text.replace("^", "**").strip()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise GraphError(f"syntax error in {text.strip()!r}{where}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise GraphError(f"expression {ex._short(text)!r} is too long or too deep to read") from None
    if ex._ast_depth(tree) > ex.MAX_DEPTH:
        raise GraphError(f"expression is nested too deeply (more than {ex.MAX_DEPTH} levels)")
    return _convert(tree.body, source)


def _piece(node: ast.AST, source: str) -> str:
    return ex._short(ast.get_source_segment(source, node) or type(node).__name__)


def _known_functions() -> str:
    return ", ".join((*ex.FUNCTIONS, *TENSOR_FUNCTIONS))


def _convert(node: ast.AST, source: str) -> object:
    cls = type(node)
    if cls is ast.BinOp:
        op = _BINOPS.get(type(node.op))
        if op is None:
            symbol = ex._FORBIDDEN_OPS.get(type(node.op), type(node.op).__name__)
            raise GraphError(f"operator {symbol!r} is not allowed (in {_piece(node, source)!r})")
        return ex.Bin(op, _convert(node.left, source), _convert(node.right, source))
    if cls is ast.Name:
        if not ex.NAME_RE.match(node.id):
            raise GraphError(f"{node.id!r} is not a valid name")
        if node.id in ex.FUNCTIONS or node.id in ex.FORMULA_FUNCTIONS or node.id in TENSOR_FUNCTIONS:
            raise GraphError(f"{node.id!r} is a function: write {node.id}(...)")
        return ex.Const(node.id) if node.id in ex.CONSTANTS else ex.Name(node.id)
    if cls is ast.Constant:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GraphError(f"{_piece(node, source)!r} is not allowed: an expression holds numbers, names, "
                             "+ - * / ** @, .T and functions")
        try:
            number = float(value)
        except OverflowError:
            number = float("inf")
        if number - number != 0.0:
            raise GraphError(f"number {_piece(node, source)!r} is too large")
        return ex.Num(number)
    if cls is ast.UnaryOp:
        if isinstance(node.op, ast.USub):
            return ex.Neg(_convert(node.operand, source))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, source)
        symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)
        raise GraphError(f"operator {symbol!r} is not allowed (in {_piece(node, source)!r})")
    if cls is ast.Attribute:
        if node.attr != "T":
            raise GraphError(f"{_piece(node, source)!r} is not allowed: the only attribute is .T (the transpose)")
        return Transpose(_convert(node.value, source), True)
    if cls is ast.Call:
        return _call(node, source)
    construct = ex._CONSTRUCTS.get(cls, cls.__name__)
    raise GraphError(f"{_piece(node, source)!r} is not allowed ({construct})")


def _call(node: ast.Call, source: str) -> object:
    func = node.func
    if not isinstance(func, ast.Name):
        raise GraphError(f"{_piece(node, source)!r} is not allowed: only the functions {_known_functions()} can be called")
    name = func.id
    if name not in ex.FUNCTIONS and name not in TENSOR_FUNCTIONS:
        raise GraphError(f"unknown function {name!r}: the functions are {_known_functions()}")
    for kw in node.keywords:
        if kw.arg != "axis" or name not in ("sum", "mean"):
            what = f"{kw.arg}=" if kw.arg else "**"
            raise GraphError(f"{what!r} is not allowed (in {_piece(node, source)!r}): the only keyword argument "
                             "is axis=, of sum and mean")
    if len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
        hint = " (write the axis as axis=0 or axis=1)" if name in ("sum", "mean") and len(node.args) == 2 else ""
        raise GraphError(f"{name!r} takes exactly one argument (in {_piece(node, source)!r}){hint}")
    arg = _convert(node.args[0], source)
    if name == "transpose":
        return Transpose(arg, False)
    if name in ("sum", "mean"):
        axis = None
        if node.keywords:
            value = node.keywords[0].value
            if not (isinstance(value, ast.Constant) and type(value.value) is int and value.value in (0, 1)):
                raise GraphError(f"axis must be 0 (down the rows) or 1 (along the columns), in {_piece(node, source)!r}")
            axis = value.value
        return Reduce(name, arg, axis)
    return ex.Call(name, arg)


def names(tree: object) -> tuple[str, ...]:
    """The distinct names a tree uses, in order of first appearance."""
    seen: dict[str, None] = {}
    stack = [tree]
    while stack:
        e = stack.pop()
        if isinstance(e, ex.Name):
            seen.setdefault(e.id, None)
        else:
            stack.extend(reversed(children(e)))
    return tuple(seen)


def children(e: object) -> tuple:
    """The sub-trees of a tree node, left to right."""
    if isinstance(e, ex.Bin):
        return (e.left, e.right)
    if isinstance(e, ex.Neg):
        return (e.operand,)
    if isinstance(e, ex.Call):
        return (e.arg,)
    if isinstance(e, (Transpose, Reduce, Spread, Unbroadcast)):
        return (e.arg,)
    return ()


# --------------------------------------------------------------------------- shapes


def shape_text(shape: Shape) -> str:
    """``4×3``; ``scalar`` for a number."""
    return "×".join(map(str, shape)) if shape else "scalar"


class ShapeError(Exception):
    """Shapes that do not fit: ``text`` names the operation (file syntax), ``shapes`` the shapes, ``why`` the rule."""

    def __init__(self, text: str, shapes: str, why: str) -> None:
        super().__init__(f"{text}: {shapes}: {why}")


def broadcast(a: Shape, b: Shape) -> Shape | None:
    """The shape of an elementwise result (numpy's rules for 2-D), or None when they do not fit."""
    if not a:
        return b
    if not b:
        return a
    out = []
    for x, y in zip(a, b):
        if x != y and 1 not in (x, y):
            return None
        out.append(max(x, y))
    return tuple(out)


def reduced(shape: Shape, axis: int | None) -> Shape:
    if not shape:
        return ()
    if axis is None:
        return (1, 1)
    return (1, shape[1]) if axis == 0 else (shape[0], 1)


def infer(tree: object, shapes: dict[str, Shape], memo: dict | None = None) -> Shape:
    """The shape of ``tree``; ``memo`` (when given) gets every sub-tree's shape.

    Raises:
        ShapeError: for the first operation, innermost first, whose operands do not fit.
    """
    memo = {} if memo is None else memo

    def go(e) -> Shape:
        got = memo.get(e)
        if got is not None:
            return got
        if isinstance(e, ex.Name):
            s = shapes[e.id]
        elif isinstance(e, (ex.Num, ex.Const)):
            s = ()
        elif isinstance(e, Grad):
            s = shapes[e.name]
        elif isinstance(e, ex.Bin):
            a, b = go(e.left), go(e.right)
            if e.op == "@":
                s = _matmul_shape(e, a, b)
            else:
                s = broadcast(a, b)
                if s is None:
                    rows = a[0] != b[0] and 1 not in (a[0], b[0])
                    dim, x, y = ("rows", a[0], b[0]) if rows else ("columns", a[1], b[1])
                    raise ShapeError(to_text(e), f"({shape_text(a)}) {e.op} ({shape_text(b)})",
                                     f"cannot broadcast: {dim} {x} and {y} differ and neither is 1")
        elif isinstance(e, (ex.Neg, ex.Call)):
            s = go(children(e)[0])
        elif isinstance(e, Transpose):
            a = go(e.arg)
            s = a[::-1]
        elif isinstance(e, Reduce):
            a = go(e.arg)
            if not a and e.axis is not None:
                raise ShapeError(to_text(e), "(scalar)", "a number has no axes")
            s = reduced(a, e.axis)
        elif isinstance(e, (Spread, Unbroadcast)):
            go(e.arg)
            s = e.shape
        else:  # pragma: no cover - every tree class is above
            raise TypeError(type(e).__name__)
        memo[e] = s
        return s

    return go(tree)


def _matmul_shape(e: ex.Bin, a: Shape, b: Shape) -> Shape:
    shapes = f"({shape_text(a)}) @ ({shape_text(b)})"
    if not a or not b:
        raise ShapeError(to_text(e), shapes, "@ multiplies two matrices; to scale by a number, use *")
    if a[1] != b[0]:
        raise ShapeError(to_text(e), shapes, f"the inner sizes {a[1]} and {b[0]} differ")
    return (a[0], b[1])


def unbroadcast_axes(small: Shape, big: Shape) -> tuple[int, ...]:
    """The axes along which a gradient of shape ``big`` is summed to an operand of shape ``small``."""
    if not small:
        return tuple(range(len(big)))
    return tuple(k for k in range(len(big)) if small[k] == 1 and big[k] != 1)


# --------------------------------------------------------------------------- printing

_PREC = {"+": 1, "-": 1, "*": 2, "/": 2, "@": 2, "**": 4}


def _prec(e) -> int:
    if isinstance(e, ex.Bin):
        return _PREC[e.op]
    if isinstance(e, ex.Neg) or (isinstance(e, ex.Num) and e.value < 0):
        return 3
    if isinstance(e, Spread):
        return 2
    return 5


def to_text(tree: object, *, course: bool = False, grad: Callable[[str], str] | None = None,
            leaf: Callable[[object], str | None] | None = None) -> str:
    """Print a tree with as few parentheses as keep its meaning.

    Args:
        course: The course's notation (``wᵀ · X``, ``A1²``) instead of the file's (``w.T @ X``, ``A1 ** 2``).
        grad: How to write :class:`Grad` leaves (default ``∂name``).
        leaf: May replace the text of a leaf or a transposed leaf (how numbers are put in place of names).
    """

    def go(e) -> str:
        if leaf is not None and (text := leaf(e)) is not None:
            return text
        if isinstance(e, ex.Num):
            return ex.number_text(e.value)
        if isinstance(e, (ex.Name, ex.Const)):
            return e.id
        if isinstance(e, Grad):
            return grad(e.name) if grad is not None else f"∂{e.name}"
        if isinstance(e, ex.Call):
            return f"{e.func}({go(e.arg)})"
        if isinstance(e, Transpose):
            inner = go(e.arg)
            if course or e.attr:
                if _prec(e.arg) < 5 or isinstance(e.arg, Grad) and course:
                    inner = f"({inner})"
                return f"{inner}ᵀ" if course else f"{inner}.T"
            return f"transpose({inner})"
        if isinstance(e, Reduce):
            return f"{e.func}({go(e.arg)}" + (f", axis={e.axis})" if e.axis is not None else ")")
        if isinstance(e, Unbroadcast):
            if len(e.axes) == 1 and e.shape:
                return f"sum({go(e.arg)}, axis={e.axes[0]})"
            return f"sum({go(e.arg)})"
        if isinstance(e, Spread):
            inner = go(e.arg)
            if _prec(e.arg) < 2:
                inner = f"({inner})"
            return f"{inner} * ones({shape_text(e.shape)})"
        if isinstance(e, ex.Neg):
            inner = go(e.operand)
            return f"-{inner}" if _prec(e.operand) >= 4 else f"-({inner})"
        p = _PREC[e.op]
        left, right = go(e.left), go(e.right)
        lp, rp = _prec(e.left), _prec(e.right)
        if e.op == "**":
            if lp <= 4:
                left = f"({left})"
            if course and isinstance(e.right, ex.Num) and e.right.value == 2.0:
                return f"{left}²"
            if rp < 4:
                right = f"({right})"
            return f"{left}^{right}" if course else f"{left} ** {right}"
        if lp < p:
            left = f"({left})"
        if rp <= p or rp == 3:
            right = f"({right})"
        sym = " · " if course and e.op == "@" else f" {e.op} "
        return f"{left}{sym}{right}"

    return go(tree)


def shape_steps(tree: object, memo: dict) -> str:
    """The shape arithmetic of a tree: ``(1×2)·(2×3) + (1×1 → 1×3) → (1×3)``.

    Leaves (and transposed leaves) show their shapes; an operand that an elementwise
    operation broadcasts shows what it becomes (``1×1 → 1×3``); square brackets group.
    ``memo`` holds every sub-tree's shape (from :func:`infer`).
    """

    def leafish(e) -> bool:
        return isinstance(e, (ex.Name, ex.Num, ex.Const, Grad)) or (isinstance(e, Transpose) and leafish(e.arg))

    def sub(e, need: int, target: Shape | None = None, right: bool = False) -> str:
        text, p = go(e, target)
        return f"[{text}]" if p < need or (right and p == need and p < 5) else text

    def go(e, target: Shape | None = None) -> tuple[str, int]:
        s = memo[e]
        spread = target is not None and bool(target) and target != s
        if isinstance(e, ex.Num):  # a number written in the file is shown as itself
            return ex.number_text(e.value), (5 if e.value >= 0 else 3)
        if leafish(e):
            return (f"({shape_text(s)} → {shape_text(target)})" if spread else f"({shape_text(s)})"), 5
        if isinstance(e, ex.Bin) and e.op == "@":
            text, p = f"{sub(e.left, 2)}·{sub(e.right, 2, right=True)}", 2
        elif isinstance(e, ex.Bin):
            p = _PREC[e.op]
            if e.op == "**" and isinstance(e.right, ex.Num) and e.right.value == 2.0:
                text = f"{sub(e.left, 5, s)}²"
            else:
                text = f"{sub(e.left, p, s)} {e.op} {sub(e.right, p, s, right=True)}"
        elif isinstance(e, ex.Neg):
            text, p = f"-{sub(e.operand, 3)}", 3
        elif isinstance(e, ex.Call):
            inner = go(e.arg)[0]
            text, p = (f"{e.func}{inner}" if leafish(e.arg) else f"{e.func}[{inner}]"), 5
        elif isinstance(e, Transpose):
            text, p = f"{sub(e.arg, 5)}ᵀ", 5
        elif isinstance(e, Reduce):
            how = f", axis={e.axis}" if e.axis is not None else ""
            text, p = f"{e.func}[{go(e.arg)[0]}{how}]", 5
        elif isinstance(e, Unbroadcast):
            how = f", axis={e.axes[0]}" if len(e.axes) == 1 and e.shape else ""
            text, p = f"sum[{go(e.arg)[0]}{how}]", 5
        elif isinstance(e, Spread):
            text, p = f"{sub(e.arg, 2)} * ones({shape_text(e.shape)})", 2
        else:  # pragma: no cover - every tree class is above
            raise TypeError(type(e).__name__)
        if spread:
            return f"[{text} → {shape_text(target)}]", 5
        return text, p

    if leafish(tree):
        return go(tree)[0]
    return f"{go(tree)[0]} → ({shape_text(memo[tree])})"
