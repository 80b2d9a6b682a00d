"""One table of operations: everything cgtui knows about ``+``, ``tanh``, ``relu``, … in one place.

Each :class:`Op` holds an operation's name, arity, its float implementation
(never raises), its batched implementation (numpy, for many nudges at once),
one local-derivative rule per operand, its printing (plain text and LaTeX), why
it may turn finite numbers into nan or ±inf, whether it has a kink and whether
its derivative is a *selector* (a 0 that means "flat here", not a number to
multiply). The evaluator, the symbolic derivative, the parser's list of
functions, the tape, the batched finite differences, kink detection and the
LaTeX printer all read this table, so an operation added here (see
:func:`register`) works everywhere at once.

A derivative rule is a function, one per operand, ``rule(args, y, d)``: given
the operand expressions ``args``, the operation's own expression ``y`` (its
value, so ``tanh``'s rule can say ``1 - y ** 2``) and the derivative ``d`` of
operand k, the expression for ``d · ∂y/∂args[k]``. For scalars this is both the
forward (tangent) and the backward (vector-Jacobian product) rule: with ``d``
read as the upstream gradient, it is the contribution to operand k.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, Callable, Literal, get_args

_INF = math.inf
_NAN = math.nan


# --------------------------------------------------------------------------- float implementations (never raise)


def isfinite(x: float) -> bool:
    """``math.isfinite`` for floats, without the call: x - x is 0 for a finite x, nan otherwise."""
    return x - x == 0.0


def div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0.0 or a != a:
            return _NAN
        return math.copysign(_INF, a) * math.copysign(1.0, b)


def pow_(a: float, b: float) -> float:
    try:
        r = a ** b
    except ZeroDivisionError:  # 0 ** negative
        return _INF
    except OverflowError:
        odd = b == int(b) and int(b) % 2 == 1 if isfinite(b) else False
        return -_INF if (a < 0 and odd) else _INF
    if isinstance(r, complex):
        return _NAN
    return r


def exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return _INF


def log(a: float) -> float:
    if a > 0.0:
        return math.log(a)
    if a == 0.0:
        return -_INF
    return _NAN


def sqrt(a: float) -> float:
    return math.sqrt(a) if a >= 0.0 else _NAN


def _trig(f: Callable[[float], float]) -> Callable[[float], float]:
    def g(a: float) -> float:
        try:
            return f(a)
        except (ValueError, OverflowError):
            return _NAN

    g.__name__ = f.__name__
    return g


def sigmoid(a: float) -> float:
    if a >= 0.0:
        return 1.0 / (1.0 + math.exp(-a))
    if a < 0.0:
        z = exp(a)
        return z / (1.0 + z)
    return _NAN


def relu(a: float) -> float:
    return a if a > 0.0 or a != a else 0.0


def step(a: float) -> float:
    if a != a:
        return _NAN
    return 1.0 if a > 0.0 else 0.0


def sign(a: float) -> float:
    if a != a:
        return _NAN
    return 0.0 if a == 0.0 else math.copysign(1.0, a)


# --------------------------------------------------------------------------- batched implementations
#
# The batched path must give the same bits as the float path, so that a trail
# (computed one nudge at a time) and an estimate (computed many at once) agree.
# numpy is used only where IEEE 754 fixes the result (+ − × ÷, sqrt, abs, a
# comparison): everything else applies the float implementation element by
# element. numpy is imported on first use, never at startup.


def elementwise(f: Callable[..., float]) -> Callable[..., Any]:
    """A batched implementation that applies the float implementation ``f`` to each column."""

    def batched(*xs):
        import numpy as np

        if len(xs) == 1:
            (x,) = xs
            return np.fromiter(map(f, x.tolist()), float, len(x))
        cols = np.broadcast_arrays(*(np.asarray(x, dtype=float) for x in xs))
        return np.fromiter(map(f, *(c.tolist() for c in cols)), float, cols[0].size)

    batched.__name__ = f"elementwise_{getattr(f, '__name__', 'f')}"
    return batched


def _np_div(a, b):
    import numpy as np

    return np.divide(a, b)


def _np_sqrt(a):
    import numpy as np

    return np.sqrt(a)


def _np_abs(a):
    import numpy as np

    return np.abs(a)


def _np_relu(a):
    import numpy as np

    return np.where((a > 0.0) | (a != a), a, 0.0)


# --------------------------------------------------------------------------- causes of non-finite results


def _overflow(args: tuple[float, ...], result: float) -> str:
    return "overflow"


def _cause_div(args: tuple[float, ...], result: float) -> str:
    return "division by zero" if args[1] == 0.0 else "overflow"


def _cause_pow(args: tuple[float, ...], result: float) -> str:
    a, b = args
    if a == 0.0 and b < 0:
        return "0 to a negative power"
    if a < 0 and result != result:
        return "a negative number to a fractional power"
    return "overflow"


def _cause_log(args: tuple[float, ...], result: float) -> str:
    return "log of 0" if args[0] == 0.0 else "log of a negative number"


def _cause_sqrt(args: tuple[float, ...], result: float) -> str:
    return "sqrt of a negative number"


# --------------------------------------------------------------------------- the table

Rule = Callable[[tuple, Any, Any], Any]
"""``rule(args, y, d)``: the expression for ``d · ∂y/∂args[k]`` (see the module's docstring)."""

Kind = Literal["binary", "unary", "function", "formula"]
"""How an operation is written: a op b, op a, op(a) with a derivative rule, op(a) by a formula."""
KINDS: tuple[Kind, ...] = get_args(Kind)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation. Every field is required: an entry missing one fails when the table is built.

    Attributes:
        name: The key: ``"+"``, ``"neg"`` (unary minus), ``"tanh"``.
        kind: ``"binary"`` (an infix operator), ``"unary"`` (unary minus), ``"function"``
            (a graph file may call it) or ``"formula"`` (only in derivative formulas: step, sign).
        arity: How many operands.
        scalar: The float implementation; never raises (nan or ±inf instead).
        batched: The same on numpy columns, bit for bit (see :func:`elementwise`).
        derivative: One rule per operand: ``rule(args, y, d)`` builds ``d · ∂y/∂args[k]`` with
            the simplifying constructors of :mod:`engine.expr`.
        text: Plain-text printing: the operator's symbol or the function's name.
        precedence: For plain-text printing: + − 1, × ÷ 2, unary minus 3, ** 4, a call 5.
        latex: The LaTeX name (``\\tanh``, ``\\operatorname{relu}``), or None where the LaTeX
            printer writes the operation its own way (``\\sqrt{x}``, ``|x|``, ``\\frac``).
        cause: Why finite operands gave a non-finite result: ``cause(args, result)`` in words.
        kink: Where the operation has a corner (relu and abs: at 0), or None.
        selector: Whether a 0 value of this operation means "the flat branch is selected":
            a factor of a derivative that stops the gradient whatever it multiplies
            (``step``, relu's derivative: inf × step(−1) is 0, not nan).
    """

    name: str
    kind: Kind
    arity: int
    scalar: Callable[..., float]
    batched: Callable[..., Any]
    derivative: tuple[Rule, ...]
    text: str
    precedence: int
    latex: str | None
    cause: Callable[[tuple[float, ...], float], str]
    kink: float | None
    selector: bool

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"operation {self.name!r}: kind must be one of {KINDS}, not {self.kind!r}")
        if self.arity != (2 if self.kind == "binary" else 1):
            raise ValueError(f"operation {self.name!r}: a {self.kind} takes {2 if self.kind == 'binary' else 1} operands")
        if len(self.derivative) != self.arity:
            raise ValueError(f"operation {self.name!r}: one derivative rule per operand ({self.arity}), not {len(self.derivative)}")
        if not all(callable(f) for f in (self.scalar, self.batched, self.cause, *self.derivative)):
            raise ValueError(f"operation {self.name!r}: implementations, rules and cause must be functions")


# The rules build expressions with engine.expr's simplifying constructors; expr
# imports this module, so it is bound at the end of this file (rules run later).
ex: Any = None


def _zero(args, y, d):
    return ex.ZERO


def _outer(f: Callable) -> tuple[Rule]:
    """The rule of a function of one argument whose derivative is ``f(a, y)``: ``f(a, y) · d``."""
    return (lambda args, y, d: ex.mul(f(args[0], y), d),)


def _pow_base(args, y, d):
    a, b = args
    return ex.mul(ex.mul(b, ex.pow_(a, ex.sub(b, ex.ONE))), d)


def _pow_exponent(args, y, d):
    return ex.mul(ex.mul(y, ex.call("log", args[0])), d)


def _binary(name: str, scalar, batched, rules, precedence: int, latex: str, cause=_overflow) -> Op:
    return Op(name, "binary", 2, scalar, batched, rules, name, precedence, latex, cause, None, False)


def _function(name: str, scalar, rules, *, latex: str | None, batched=None, cause=_overflow,
              kind: Kind = "function", kink: float | None = None, selector: bool = False) -> Op:
    return Op(name, kind, 1, scalar, batched or elementwise(scalar), rules, name, 5, latex, cause, kink, selector)


_BUILTIN: tuple[Op, ...] = (
    _binary("+", lambda a, b: a + b, lambda a, b: a + b,
            (lambda args, y, d: d, lambda args, y, d: d), 1, "+"),
    _binary("-", lambda a, b: a - b, lambda a, b: a - b,
            (lambda args, y, d: d, lambda args, y, d: ex.neg(d)), 1, "-"),
    _binary("*", lambda a, b: a * b, lambda a, b: a * b,
            (lambda args, y, d: ex.mul(d, args[1]), lambda args, y, d: ex.mul(args[0], d)), 2, r"\cdot"),
    _binary("/", div, _np_div,
            (lambda args, y, d: ex.div(d, args[1]),
             lambda args, y, d: ex.neg(ex.div(ex.mul(args[0], d), ex.pow_(args[1], ex.Num(2.0))))),
            2, r"\frac", _cause_div),
    _binary("**", pow_, elementwise(pow_), (_pow_base, _pow_exponent), 4, "^", _cause_pow),
    Op("neg", "unary", 1, lambda a: -a, lambda a: -a, (lambda args, y, d: ex.neg(d),), "-", 3, "-",
       _overflow, None, False),
    _function("exp", exp, _outer(lambda a, y: y), latex=r"\exp"),
    _function("log", log, (lambda args, y, d: ex.div(d, args[0]),), latex=r"\log", cause=_cause_log),
    _function("sqrt", sqrt, (lambda args, y, d: ex.div(d, ex.mul(ex.Num(2.0), y)),), latex=None,
              batched=_np_sqrt, cause=_cause_sqrt),
    _function("sin", _trig(math.sin), _outer(lambda a, y: ex.call("cos", a)), latex=r"\sin"),
    _function("cos", _trig(math.cos), _outer(lambda a, y: ex.neg(ex.call("sin", a))), latex=r"\cos"),
    _function("tan", _trig(math.tan), _outer(lambda a, y: ex.add(ex.ONE, ex.pow_(y, ex.Num(2.0)))), latex=r"\tan"),
    _function("tanh", math.tanh, _outer(lambda a, y: ex.sub(ex.ONE, ex.pow_(y, ex.Num(2.0)))), latex=r"\tanh"),
    _function("sigmoid", sigmoid, _outer(lambda a, y: ex.mul(y, ex.sub(ex.ONE, y))), latex=r"\sigma"),
    _function("relu", relu, _outer(lambda a, y: ex.call("step", a)), latex=r"\operatorname{relu}",
              batched=_np_relu, kink=0.0),
    _function("abs", math.fabs, _outer(lambda a, y: ex.call("sign", a)), latex=None, batched=_np_abs, kink=0.0),
    # formula-only: relu' and abs'; flat almost everywhere, so their own derivative is 0
    _function("step", step, (_zero,), latex=r"\operatorname{step}", kind="formula", kink=0.0, selector=True),
    _function("sign", sign, (_zero,), latex=r"\operatorname{sign}", kind="formula", kink=0.0),
)

OPS: dict[str, Op] = {op.name: op for op in _BUILTIN}
"""Every operation by name, in a fixed order (binary operators, unary minus, functions, formula functions)."""

_listeners: list[Callable[[], None]] = []


def on_change(listener: Callable[[], None]) -> None:
    """Call ``listener`` now and whenever the table changes (modules keep derived copies fresh this way)."""
    _listeners.append(listener)
    listener()


def _changed() -> None:
    for listener in _listeners:
        listener()


def register(op: Op) -> Op:
    """Add an operation (a function a graph may call, usually) to the table, everywhere at once."""
    if op.name in OPS:
        raise ValueError(f"operation {op.name!r} already exists")
    OPS[op.name] = op
    _changed()
    return op


def unregister(name: str) -> None:
    """Remove an operation added with :func:`register` (the built-in ones stay)."""
    if name in {op.name for op in _BUILTIN}:
        raise ValueError(f"{name!r} is built in")
    del OPS[name]
    _changed()


def function(name: str, scalar: Callable[[float], float], rule: Callable, *, latex: str | None = None,
             batched: Callable | None = None, cause=_overflow, kink: float | None = None) -> Op:
    """A function of one argument for :func:`register`: ``rule(a, y)`` is its derivative as an expression.

    ``latex`` defaults to ``\\operatorname{name}``; ``batched`` to the float implementation
    applied element by element.
    """
    return _function(name, scalar, _outer(rule), latex=latex if latex is not None else rf"\operatorname{{{name}}}",
                     batched=batched, cause=cause, kink=kink)


def functions(kind: str = "function") -> tuple[str, ...]:
    """The names of the functions of one kind, in table order."""
    return tuple(name for name, op in OPS.items() if op.kind == kind)


class FieldView(Mapping):
    """One field of every function's entry, by name, read from the table when asked (so it
    follows :func:`register`): ``field("latex")["tanh"] == "\\tanh"``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getitem__(self, key: str):
        op = OPS.get(key)
        if op is None or op.kind not in ("function", "formula"):
            raise KeyError(key)
        return getattr(op, self._name)

    def __iter__(self):
        return (name for name, op in OPS.items() if op.kind in ("function", "formula"))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def field(name: str) -> FieldView:
    """A live mapping from each function's name to one field of its entry."""
    return FieldView(name)


def is_function(name: str) -> bool:
    """Whether ``name`` is a function a graph may call or a formula may use."""
    op = OPS.get(name)
    return op is not None and op.kind in ("function", "formula")


from engine import expr as ex  # noqa: E402, F811  (see the note above the rules)
