"""Expressions: a whitelisted syntax tree, float evaluation that never raises,
symbolic derivatives and printing.

An expression is parsed with :mod:`ast` and converted, node by node, into the
small frozen tree below; anything outside the whitelist is refused with a
:class:`GraphError`. Nothing is ever passed to ``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import keyword
import math
import re
import warnings
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Union

from engine import ops
from engine.ops import isfinite
from engine.errors import GraphError

MAX_EXPR_CHARS = 10_000
"""Longest expression accepted, checked before parsing (long input makes ``ast`` fail hard)."""
MAX_DEPTH = 200
"""Deepest syntax tree accepted, counting parentheses and operator chains."""

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
FUNCTIONS: tuple[str, ...] = ()
"""Functions a graph file may call, each of one argument (from :mod:`engine.ops`)."""
FORMULA_FUNCTIONS: tuple[str, ...] = ()
"""Functions that appear only in derivative formulas: relu' and abs' (from :mod:`engine.ops`)."""
FUNCTION_IMPL: dict[str, Callable[[float], float]] = {}
"""Each function's float implementation, by name (from :mod:`engine.ops`)."""
_NOT_A_NAME: frozenset[str] = frozenset()


def _sync_with_table() -> None:
    """Derive this module's names from the table of operations (again whenever it changes)."""
    global FUNCTIONS, FORMULA_FUNCTIONS, _NOT_A_NAME
    FUNCTIONS = ops.functions("function")
    FORMULA_FUNCTIONS = ops.functions("formula")
    FUNCTION_IMPL.clear()
    FUNCTION_IMPL.update((name, ops.OPS[name].scalar) for name in FUNCTIONS + FORMULA_FUNCTIONS)
    _PREC.clear()
    _PREC.update((name, op.precedence) for name, op in ops.OPS.items() if op.kind == "binary")
    _NOT_A_NAME = frozenset(keyword.kwlist) | frozenset(FUNCTIONS) | frozenset(FORMULA_FUNCTIONS)


_PREC: dict[str, int] = {}
"""Each binary operator's precedence in plain text (from :mod:`engine.ops`)."""

ops.on_change(_sync_with_table)

# --------------------------------------------------------------------------- tree


@dataclass(frozen=True, slots=True)
class Num:
    """A number; always a float."""

    value: float


@dataclass(frozen=True, slots=True)
class Name:
    """A reference to an input or a node."""

    id: str


@dataclass(frozen=True, slots=True)
class Const:
    """``pi`` or ``e``."""

    id: str


@dataclass(frozen=True, slots=True)
class Neg:
    """Unary minus."""

    operand: Expr


@dataclass(frozen=True, slots=True)
class Bin:
    """A binary operation: one of ``+ - * / **``."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    """A call of one of :data:`FUNCTIONS` (or, in formulas, ``step``/``sign``)."""

    func: str
    arg: Expr


Expr = Union[Num, Name, Const, Neg, Bin, Call]

ZERO = Num(0.0)
ONE = Num(1.0)


def names(expr: Expr) -> tuple[str, ...]:
    """The distinct names an expression uses, in order of first appearance."""
    if isinstance(expr, Bin) and isinstance(expr.left, (Name, Num, Const)) and isinstance(expr.right, (Name, Num, Const)):
        found = [e.id for e in (expr.left, expr.right) if isinstance(e, Name)]
        return tuple(dict.fromkeys(found))
    seen: dict[str, None] = {}
    stack = [expr]
    pop, push = stack.pop, stack.append
    while stack:  # (exact classes: the expression types are final)
        e = pop()
        cls = type(e)
        if cls is Bin:
            push(e.right)
            push(e.left)
        elif cls is Name:
            seen.setdefault(e.id, None)
        elif cls is Neg:
            push(e.operand)
        elif cls is Call:
            push(e.arg)
    return tuple(seen)


def walk(expr: Expr) -> Iterator[Expr]:
    """Every sub-expression, outermost first."""
    stack = [expr]
    while stack:
        e = stack.pop()
        yield e
        if isinstance(e, Neg):
            stack.append(e.operand)
        elif isinstance(e, Bin):
            stack.append(e.right)
            stack.append(e.left)
        elif isinstance(e, Call):
            stack.append(e.arg)


# --------------------------------------------------------------------------- parsing

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_FORBIDDEN_OPS = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.BitXor: "^",
}
_CONSTRUCTS = {
    ast.Attribute: "attribute access", ast.Subscript: "subscripts", ast.Compare: "comparisons",
    ast.BoolOp: "'and'/'or'", ast.Lambda: "lambdas", ast.IfExp: "'if'/'else'",
    ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts", ast.Set: "sets",
    ast.ListComp: "comprehensions", ast.SetComp: "comprehensions", ast.DictComp: "comprehensions",
    ast.GeneratorExp: "comprehensions", ast.JoinedStr: "strings", ast.NamedExpr: "':='",
    ast.Starred: "'*' unpacking", ast.Await: "'await'", ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'", ast.Slice: "slices",
}


def _max_paren_depth(text: str) -> int:
    depth = best = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    return best


def _ast_depth(tree: ast.AST) -> int:
    best = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        best = max(best, depth)
        if best > MAX_DEPTH:
            return best
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return best


_ATOM = r"(?:[A-Za-z_][A-Za-z0-9_]*|(?:[1-9][0-9]*|0)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"
_SIMPLE = re.compile(rf"[ \t]*({_ATOM})[ \t]*(?:(\*\*|\^|[-+*/])[ \t]*({_ATOM})[ \t]*)?\Z")
_SIMPLE_CALL = re.compile(r"[ \t]*([a-z]+)\([ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\)[ \t]*\Z")


def _simple_atom(token: str) -> Expr | None:
    if token[0].isdigit():
        value = float(token)
        return Num(value) if math.isfinite(value) else None
    if token in _NOT_A_NAME:
        return None  # let the full parser say what is wrong
    return Const(token) if token in CONSTANTS else Name(token)


def _parse_simple(text: str) -> Expr | None:
    """``a * b``, ``3 * v``, ``u``, ``tanh(n)``: most nodes, read without ``ast``.

    Gives exactly the tree the full parser gives, or None to leave it to the full parser.
    """
    m = _SIMPLE.match(text)
    if m is not None:
        first, op, second = m.groups()
        left = _simple_atom(first)
        if left is None or op is None:
            return left
        right = _simple_atom(second)
        if right is None:
            return None
        return Bin("**" if op == "^" else op, left, right)
    m = _SIMPLE_CALL.match(text)
    if m is not None:
        func, name = m.groups()
        if func in FUNCTIONS:
            arg = _simple_atom(name)
            return Call(func, arg) if arg is not None else None
    return None


def parse(text: str) -> Expr:
    """Parse expression text in graph-file syntax into an :data:`Expr`.

    ``^`` is read as ``**``. Raises :class:`GraphError` (without a line; the
    caller knows where the text came from) for anything not whitelisted.
    """
    if isinstance(text, str) and len(text) < 200 and (simple := _parse_simple(text)) is not None:
        return simple
    return _parse_full(text)


def _parse_full(text: str) -> Expr:
    """:func:`parse` through ``ast`` and the whitelist, for any text."""
    if not isinstance(text, str):
        raise GraphError("an expression must be text")
    if len(text) > MAX_EXPR_CHARS:
        raise GraphError(f"expression is too long ({len(text):,} characters; at most {MAX_EXPR_CHARS:,})")
    if not text.strip():
        raise GraphError("expression is empty")
    if not text.isascii() or _CONTROL.search(text):
        for ch in text:
            if ord(ch) > 127 or (ord(ch) < 32 and ch not in "\t\n\r"):
                raise GraphError(f"character {ch!r} is not allowed in an expression")
    # (the depth of brackets is at most their number: count in C before walking in Python)
    if sum(map(text.count, "([{")) > MAX_DEPTH // 2 and _max_paren_depth(text) > MAX_DEPTH // 2:
        raise GraphError(f"expression is nested too deeply (more than {MAX_DEPTH // 2} parentheses)")
    source = text.replace("^", "**").strip()
    try:
        with warnings.catch_warnings():  # "1if x else 2" warns on stderr: never print
            warnings.simplefilter("ignore")
            tree = ast.parse(source, mode="eval")
    except SyntaxError as err:
        where = f" at column {err.offset}" if err.offset else ""
        raise GraphError(f"syntax error in {text.strip()!r}{where}") from None
    except (ValueError, RecursionError, MemoryError, OverflowError):
        raise GraphError(f"expression {_short(text)!r} is too long or too deep to read") from None
    # Below the root, every level of the tree but the last (a name's context, an
    # operator) is written with at least one character of its own, so a short
    # text cannot be too deep. A long one is measured while it is converted
    # (``depth`` is the level in ``ast``'s tree, as ``_ast_depth`` counts it), not
    # by a walk of its own first: that walk took as long as the conversion.
    try:
        return _convert(tree.body, source, 2)
    except _TooDeep:
        raise GraphError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)") from None
    except GraphError:
        if len(source) + 2 > MAX_DEPTH and _ast_depth(tree) > MAX_DEPTH:  # too deep is said first
            raise GraphError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)") from None
        raise


_IDENT = re.compile(r"(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)")
"""A name in expression text (not the letters of a number such as ``1e3`` or ``0x1f``)."""
SHAPES_KEPT = 20_000
"""At most this many expression shapes are remembered (the memory is cleared when full)."""
_SHAPES: dict[tuple, Expr] = {}


def parse_shape(text: str) -> tuple[Expr, tuple[str, ...]]:
    """:func:`parse` as a shape and its operands: the tree with its operands named ``"0"``, ``"1"``, …

    ``n7: tanh(n6) + 0.5 * x`` and ``n8: tanh(n7) + 0.5 * x`` have one shape,
    ``tanh(0) + 0.5 * 1``: a generated graph of 100,000 nodes has a handful, so each is
    parsed once, by :func:`parse`, and shared (:func:`rename` gives a node its own tree).
    Two texts share a shape only when they are the same text but for the names in
    it (each the same way round), and a shape is remembered only if its first text's
    operands, as the parser finds them, are exactly the names read from the text;
    anything else is parsed on its own. So a text is refused exactly as :func:`parse`
    refuses it, with the same message.

    Returns:
        The shape (shared: never changed), and the distinct names the text uses, in
        order of first appearance (:func:`names`).
    """
    if not isinstance(text, str) or len(text) > MAX_EXPR_CHARS:
        tree = parse(text)  # raises
        return _shape_of(tree)
    parts = _IDENT.split(text)
    seen: dict[str, int] = {}
    not_names = _NOT_A_NAME
    for k in range(1, len(parts), 2):
        word = parts[k]
        if word in not_names or word in CONSTANTS:
            continue
        index = seen.get(word)
        if index is None:
            index = seen[word] = len(seen)
        parts[k] = index
    key = tuple(parts)
    shape = _SHAPES.get(key)
    if shape is not None:
        return shape, tuple(seen)
    tree = parse(text)
    shape, operands = _shape_of(tree)
    if operands == tuple(seen):
        if len(_SHAPES) >= SHAPES_KEPT:
            _SHAPES.clear()
        _SHAPES[key] = shape
    return shape, operands


def _shape_of(tree: Expr) -> tuple[Expr, tuple[str, ...]]:
    operands = names(tree)
    index = {name: str(k) for k, name in enumerate(operands)}
    return map_names(tree, index.__getitem__), operands


def rename(shape: Expr, operands: tuple[str, ...]) -> Expr:
    """A shape (see :func:`parse_shape`) with its operands ``"0"``, ``"1"``, … named ``operands``."""
    return map_names(shape, lambda k: operands[int(k)])


def map_names(tree: Expr, rename: Callable[[str], str]) -> Expr:
    """``tree`` with every name ``n`` replaced by ``rename(n)`` (iterative: any depth)."""
    cls = type(tree)
    if cls is Name:
        return Name(rename(tree.id))
    if cls is Num or cls is Const:
        return tree
    # post-order over an explicit stack: children are built before their parent
    out: list[Expr] = []
    stack: list[tuple[Expr, bool]] = [(tree, False)]
    while stack:
        e, done = stack.pop()
        cls = type(e)
        if cls is Name:
            out.append(Name(rename(e.id)))
        elif cls is Num or cls is Const:
            out.append(e)
        elif not done:
            stack.append((e, True))
            if cls is Bin:
                stack.append((e.right, False))
                stack.append((e.left, False))
            elif cls is Neg:
                stack.append((e.operand, False))
            else:
                stack.append((e.arg, False))
        elif cls is Bin:
            right = out.pop()
            out.append(Bin(e.op, out.pop(), right))
        elif cls is Neg:
            out.append(Neg(out.pop()))
        else:
            out.append(Call(e.func, out.pop()))
    return out[0]


class _TooDeep(Exception):
    """The expression's tree goes deeper than ``MAX_DEPTH`` levels."""


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _convert(node: ast.AST, source: str, depth: int) -> Expr:
    """The whitelisted :data:`Expr` for an ``ast`` node at level ``depth`` of its tree.

    Raises:
        GraphError: for anything not whitelisted.
        _TooDeep: below ``MAX_DEPTH`` levels (so the recursion stays bounded).
    """
    cls = type(node)
    if depth >= MAX_DEPTH and cls is not ast.Constant:  # its children (a name's context, an operator) are deeper
        raise _TooDeep
    if cls is ast.BinOp:
        op = _BINOPS.get(type(node.op))
        if op is None:
            symbol = _FORBIDDEN_OPS.get(type(node.op), type(node.op).__name__)
            raise GraphError(f"operator {symbol!r} is not allowed (in {_piece(node, source)!r})")
        return Bin(op, _convert(node.left, source, depth + 1), _convert(node.right, source, depth + 1))
    if cls is ast.Name:
        known = _LEAVES.get(node.id)
        if known is not None:
            return known
        if not NAME_RE.match(node.id):
            raise GraphError(f"{node.id!r} is not a valid name")
        if node.id in FUNCTIONS or node.id in FORMULA_FUNCTIONS:
            raise GraphError(f"{node.id!r} is a function: write {node.id}(...)")
        if len(_LEAVES) >= 100_000:
            _LEAVES.clear()
        leaf = _LEAVES[node.id] = Const(node.id) if node.id in CONSTANTS else Name(node.id)
        return leaf
    if cls is ast.Constant:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GraphError(f"{_piece(node, source)!r} is not allowed: an expression holds numbers, names, + - * / ** and functions")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise GraphError(f"number {_piece(node, source)!r} is too large")
        return Num(number)
    if cls is ast.UnaryOp:
        if isinstance(node.op, ast.USub):
            return Neg(_convert(node.operand, source, depth + 1))
        if isinstance(node.op, ast.UAdd):
            return _convert(node.operand, source, depth + 1)
        symbol = {ast.Not: "not", ast.Invert: "~"}.get(type(node.op), type(node.op).__name__)
        raise GraphError(f"operator {symbol!r} is not allowed (in {_piece(node, source)!r})")
    if cls is ast.Call:
        func = node.func
        if not isinstance(func, ast.Name):
            raise GraphError(f"{_piece(node, source)!r} is not allowed: only the functions {', '.join(FUNCTIONS)} can be called")
        if func.id not in FUNCTIONS:
            raise GraphError(f"unknown function {func.id!r}: the functions are {', '.join(FUNCTIONS)}")
        if node.keywords or len(node.args) != 1 or isinstance(node.args[0], ast.Starred):
            raise GraphError(f"{func.id!r} takes exactly one argument (in {_piece(node, source)!r})")
        if depth + 1 >= MAX_DEPTH:  # the function's name has a context below it
            raise _TooDeep
        return Call(func.id, _convert(node.args[0], source, depth + 1))
    construct = _CONSTRUCTS.get(cls, cls.__name__)
    raise GraphError(f"{_piece(node, source)!r} is not allowed ({construct})")


_LEAVES: dict[str, Expr] = {}
"""Each name read so far, checked, as its (immutable) leaf: a long expression names the same few
again and again, and checking and building each took half of its conversion."""


def _piece(node: ast.AST, source: str) -> str:
    """The text of ``node`` in ``source``, shortened, for a message."""
    return _short(ast.get_source_segment(source, node) or type(node).__name__)


# --------------------------------------------------------------------------- evaluation

_INF = math.inf
_NAN = math.nan


# the float implementations live in the table of operations; these two names stay for their users
_div = ops.div
_pow = ops.pow_


def _binary(op: str, a: float, b: float) -> float:
    return ops.OPS[op].scalar(a, b)


def _cause(e: Expr, args: tuple[float, ...], result: float) -> str:
    """Why an operation on finite numbers gave a non-finite result (the table's words)."""
    if isinstance(e, Bin):
        return ops.OPS[e.op].cause(args, result)
    if isinstance(e, Call):
        return ops.OPS[e.func].cause(args, result)
    return "overflow"


def evaluate(expr: Expr, env: Mapping[str, float], causes: list[str] | None = None) -> float:
    """The value of ``expr`` with names looked up in ``env``; never raises for arithmetic.

    Non-finite results (nan, ±inf) propagate. When ``causes`` is given, the first
    operation that turns finite operands into a non-finite result is described there.

    A selector that is 0 (``step(a)`` with a ≤ 0: the flat side of relu) makes the
    product or quotient it is a factor of 0, whatever the other factor is: in
    ``step(a) / (2 * sqrt(relu(a)))`` at a = −1 the flat branch is selected, so the
    value is 0, not 0 / 0.
    """
    return _evaluate(expr, env, causes)[0]


def _evaluate(expr: Expr, env: Mapping[str, float], causes: list[str] | None) -> tuple[float, bool]:
    """The value, and whether it is a selected zero (see :func:`evaluate`)."""
    if isinstance(expr, Num):
        return expr.value, False
    if isinstance(expr, Name):
        return float(env[expr.id]), False
    if isinstance(expr, Bin):
        a, za = _evaluate(expr.left, env, causes)
        b, zb = _evaluate(expr.right, env, causes)
        if (za or zb) if expr.op == "*" else (za and expr.op == "/"):
            return 0.0, True
        r = ops.OPS[expr.op].scalar(a, b)
        if causes is not None and not causes and not isfinite(r) and isfinite(a) and isfinite(b):
            causes.append(f"{_cause(expr, (a, b), r)} in {to_text(expr)!r}")
        return r, False
    if isinstance(expr, Neg):
        a, za = _evaluate(expr.operand, env, causes)
        return -a, za
    if isinstance(expr, Call):
        a, _ = _evaluate(expr.arg, env, causes)
        op = ops.OPS[expr.func]
        r = op.scalar(a)
        if causes is not None and not causes and not isfinite(r) and isfinite(a):
            causes.append(f"{_cause(expr, (a,), r)} in {to_text(expr)!r}")
        return r, op.selector and r == 0.0
    return CONSTANTS[expr.id], False


# --------------------------------------------------------------------------- simplifying constructors


def _is(e: Expr, value: float) -> bool:
    return isinstance(e, Num) and e.value == value


def _fold(value: float) -> Num | None:
    return Num(value) if isfinite(value) else None


def neg(a: Expr) -> Expr:
    if isinstance(a, Num):
        return Num(-a.value) if a.value != 0.0 else ZERO
    if isinstance(a, Neg):
        return a.operand
    if isinstance(a, Bin) and a.op == "-":
        return sub(a.right, a.left)
    if isinstance(a, Bin) and a.op in "*/" and isinstance(a.left, Num) and (a.op == "*" or a.left.value < 0):
        return Bin(a.op, Num(-a.left.value), a.right)
    return Neg(a)


def _split_coefficient(e: Expr) -> tuple[float, Expr]:
    if isinstance(e, Bin) and e.op == "*" and isinstance(e.left, Num):
        return e.left.value, e.right
    return 1.0, e


def add(a: Expr, b: Expr) -> Expr:
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if isinstance(a, Num) and isinstance(b, Num) and (n := _fold(a.value + b.value)):
        return n
    if isinstance(b, Neg):
        return sub(a, b.operand)
    if isinstance(b, Num) and b.value < 0:
        return sub(a, Num(-b.value))
    if isinstance(a, Neg):
        return sub(b, a.operand)
    ka, ra = _split_coefficient(a)
    kb, rb = _split_coefficient(b)
    if ra == rb and not isinstance(ra, Num):
        return mul(Num(ka + kb), ra)
    return Bin("+", a, b)


def sub(a: Expr, b: Expr) -> Expr:
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return neg(b)
    if isinstance(a, Num) and isinstance(b, Num) and (n := _fold(a.value - b.value)):
        return n
    if isinstance(b, Neg):
        return add(a, b.operand)
    if isinstance(b, Num) and b.value < 0:
        return add(a, Num(-b.value))
    if a == b:
        return ZERO
    ka, ra = _split_coefficient(a)
    kb, rb = _split_coefficient(b)
    if ra == rb and not isinstance(ra, Num):
        return mul(Num(ka - kb), ra)
    if isinstance(a, Neg):
        return neg(add(a.operand, b))
    return Bin("-", a, b)


def mul(a: Expr, b: Expr) -> Expr:
    if _is(a, 0.0) or _is(b, 0.0):
        return ZERO
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if isinstance(a, Num) and isinstance(b, Num) and (n := _fold(a.value * b.value)):
        return n
    if isinstance(b, Num) and not isinstance(a, Num):
        a, b = b, a
    if _is(a, -1.0):
        return neg(b)
    if isinstance(a, Neg):
        return neg(mul(a.operand, b))
    if isinstance(b, Neg):
        return neg(mul(a, b.operand))
    if isinstance(a, Num) and isinstance(b, Bin) and b.op == "*" and isinstance(b.left, Num):
        if n := _fold(a.value * b.left.value):
            return mul(n, b.right)
    if isinstance(a, Num) and isinstance(b, Bin) and b.op == "/" and isinstance(b.left, Num):
        if n := _fold(a.value * b.left.value):
            return div(n, b.right)
    if isinstance(b, Bin) and b.op == "/" and _is(b.left, 1.0):
        return div(a, b.right)
    if isinstance(a, Bin) and a.op == "/" and _is(a.left, 1.0):
        return div(b, a.right)
    if a == b:
        return pow_(a, Num(2.0))
    return Bin("*", a, b)


def div(a: Expr, b: Expr) -> Expr:
    if _is(b, 1.0):
        return a
    if _is(a, 0.0):
        return ZERO
    if isinstance(a, Num) and isinstance(b, Num) and b.value != 0.0 and (n := _fold(a.value / b.value)):
        return n
    if _is(b, -1.0):
        return neg(a)
    if isinstance(a, Neg):
        return neg(div(a.operand, b))
    if isinstance(a, Num) and a.value < 0:
        return neg(div(Num(-a.value), b))
    if isinstance(b, Neg):
        return neg(div(a, b.operand))
    if a == b:
        return ONE
    return Bin("/", a, b)


def pow_(a: Expr, b: Expr) -> Expr:
    if _is(b, 1.0):
        return a
    if _is(b, 0.0):
        return ONE
    if isinstance(a, Num) and isinstance(b, Num):
        value = _pow(a.value, b.value)
        if isfinite(value):
            return Num(value)
    return Bin("**", a, b)


def call(func: str, arg: Expr) -> Expr:
    return Call(func, arg)


# --------------------------------------------------------------------------- derivatives


def derivative(expr: Expr, x: str) -> Expr:
    """The symbolic derivative of ``expr`` with respect to the name ``x``, simplified."""
    return _rebuild(_derivative(expr, x))


_REBUILD = {"+": add, "-": sub, "*": mul, "/": div, "**": pow_}


def _rebuild(e: Expr) -> Expr:
    """``e`` rebuilt bottom-up through the simplifying constructors.

    The product, quotient and power rules copy pieces of the node's own expression
    into the derivative; rebuilding folds their constant parts (``3 * 2 * x`` has
    the derivative ``6``, not ``3 * 2``).
    """
    if isinstance(e, Bin):
        return _REBUILD[e.op](_rebuild(e.left), _rebuild(e.right))
    if isinstance(e, Neg):
        return neg(_rebuild(e.operand))
    if isinstance(e, Call):
        return Call(e.func, _rebuild(e.arg))
    return e


def _derivative(expr: Expr, x: str) -> Expr:
    """The chain rule over the table: each operand's rule applied to that operand's derivative, summed."""
    if isinstance(expr, (Num, Const)):
        return ZERO
    if isinstance(expr, Name):
        return ONE if expr.id == x else ZERO
    if isinstance(expr, Bin):
        op, args = ops.OPS[expr.op], (expr.left, expr.right)
    elif isinstance(expr, Neg):
        op, args = ops.OPS["neg"], (expr.operand,)
    else:
        op, args = ops.OPS[expr.func], (expr.arg,)
    total: Expr | None = None
    for rule, arg in zip(op.derivative, args):
        d = _derivative(arg, x)
        if _is(d, 0.0):
            continue
        term = rule(args, expr, d)
        total = term if total is None else add(total, term)
    return ZERO if total is None else total


# --------------------------------------------------------------------------- printing



def _prec(e: Expr) -> int:
    if isinstance(e, Bin):
        return _PREC[e.op]
    if isinstance(e, Neg) or (isinstance(e, Num) and (e.value < 0 or math.copysign(1.0, e.value) < 0)):
        return 3
    return 5


def number_text(value: float) -> str:
    """A float as it would be written in a graph file: ``2``, ``0.5``, ``0.001``."""
    if value != value:
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == int(value) and abs(value) < 1e16:
        return str(int(value))
    return repr(value)


def to_text(
    expr: Expr,
    *,
    times: str = " * ",
    power: str = " ** ",
    leaf: Callable[[Expr], str | None] | None = None,
) -> str:
    """Print ``expr`` with as few parentheses as keep its meaning.

    ``times`` and ``power`` choose the symbols (graph-file syntax by default; the
    screen uses `` · `` and ``^``). ``leaf`` may replace a leaf's text, which is
    how numbers are substituted for names.
    """

    def go(e: Expr) -> str:
        if leaf is not None and isinstance(e, (Name, Num, Const)):
            text = leaf(e)
            if text is not None:
                return text
        if isinstance(e, Num):
            return number_text(e.value)
        if isinstance(e, (Name, Const)):
            return e.id
        if isinstance(e, Call):
            return f"{e.func}({go(e.arg)})"
        if isinstance(e, Neg):
            inner = go(e.operand)
            return f"-{inner}" if _prec(e.operand) >= 4 else f"-({inner})"
        p = _PREC[e.op]
        left, right = go(e.left), go(e.right)
        lp, rp = _prec(e.left), _prec(e.right)
        if e.op == "**":
            if lp <= 4:
                left = f"({left})"
            if rp < 4:
                right = f"({right})"
            return f"{left}{power}{right}"
        if lp < p:
            left = f"({left})"
        if rp <= p or rp == 3:
            right = f"({right})"
        sym = times if e.op == "*" else f" {e.op} "
        return f"{left}{sym}{right}"

    return go(expr)
