"""Steps written out as the lecture page writes them.

Shared by ``--trace`` and the TUI, so both say the same thing. Plain strings:
the TUI styles them, this module never does.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from engine import expr as ex
from engine.finite_diff import EPS, FiniteDifference, Sweep, trail_ends
from engine.nudge_chain import TRAIL_LIMIT
from engine.steps import BackwardStep, ForwardStep

_DECIMAL = re.compile(r"\s*[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\s*\Z")

STATUS_TEXT = {"ok": "✓ ok", "suspect": "⚠ suspect", "kink": "◆ kink", "lost": "∅ lost", "non-finite": "✗ non-finite"}
"""Each status with a symbol, so its meaning never rests on colour alone."""


def parse_number(text: str) -> float:
    """A finite decimal number, as the graph file, ``--set`` and the editor accept.

    Raises:
        ValueError: with a message saying what is wrong.
    """
    if not text.strip():
        raise ValueError("nothing was typed: write a decimal number such as 5, -0.5 or 1e-3")
    if not _DECIMAL.match(text):
        raise ValueError(f"{text.strip()!r} is not a number (write a decimal number such as 5, -0.5 or 1e-3)")
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is too large")
    return value


def num(x: float) -> str:
    """A value for reading: whole numbers bare, others to 10 significant digits."""
    if x != x:
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if x == 0:
        return "0"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return f"{x:.10g}"


def exact(x: float | None) -> str:
    """A value to the last digit (for estimates, whose error is the point); "none" for no estimate."""
    if x is None:
        return "none"
    if x != x or math.isinf(x):
        return num(x)
    return repr(x)


def supported(x: float | None, reach: float) -> str:
    """An estimate to the digits its arithmetic supports: rounded at the decimal place of ``reach``,
    how far float rounding alone can move it (``6.000000000000888`` at a reach of 7e-12 is
    ``6.000000000001``). Never longer than :func:`exact`; that when ``reach`` says nothing."""
    full = exact(x)
    if x is None or not math.isfinite(x) or not math.isfinite(reach) or reach <= 0 or abs(x) >= 1e15:
        return full
    places = -math.floor(math.log10(reach))
    if places > 20:
        return full
    text = f"{round(x, places):.{max(places, 0)}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text if len(text) < len(full) else full


def estimate_reach(out_values: tuple[float, ...], step: float) -> float:
    """How far float rounding alone can move an estimate: one rounding of the output over the nudge."""
    return EPS * max(abs(v) for v in out_values) / abs(step) if step else math.inf


def small(x: float | None) -> str:
    """A relative error: ``1.5e-13``; "none" for no estimate."""
    if x is None:
        return "none"
    return num(x) if x != x or x == 0 else f"{x:.1e}"


@dataclass(frozen=True, slots=True)
class Notation:
    """How a derivative is written: a value handed to every function that writes one.

    Attributes:
        style: One of :data:`NOTATIONS`: ``"partial"`` (``∂J/∂v``, the default), ``"d"``
            (``dJ/dv``, as the lecture page writes it) or ``"code"`` (``dv``, the course's
            code convention: ``dv`` stands for dJ/dv, the derivative of the output).
        output: The graph's output, for ``"code"``: a derivative of the output is written
            ``dv``; any other (a local derivative ∂u/∂b) as ``du/db``.
    """

    style: str = "partial"
    output: str | None = None

    def __post_init__(self) -> None:
        if self.style not in NOTATIONS:
            raise ValueError(f"unknown notation {self.style!r} (choose one of {', '.join(NOTATIONS)})")


NOTATIONS = ("partial", "d", "code")
"""The notations, in the order ``o`` cycles them."""
PARTIAL = Notation()


def d(top: str, bottom: str, notation: Notation = PARTIAL) -> str:
    """``∂top/∂bottom``; ``dtop/dbottom`` or, in code notation for the output's derivative, ``dbottom``."""
    style = notation.style
    if style == "partial":
        return f"∂{top}/∂{bottom}"
    if style == "code" and top == notation.output:
        return f"d{bottom}"
    return f"d{top}/d{bottom}"


_LOCAL_DERIVATIVE = re.compile(r"local derivative ∂(\w+)/∂(\w+) = ")


def warning_text(warning: str, notation: Notation = PARTIAL) -> str:
    """A walk's warning with its local derivative written in ``notation`` (``dv/db`` for ``∂v/∂b``)."""
    if notation.style == "partial":
        return warning
    return _LOCAL_DERIVATIVE.sub(lambda m: f"local derivative {d(m[1], m[2], notation)} = ", warning, count=1)


def notation_reminder(notation: Notation) -> str | None:
    """The one line that says what ``dv`` means, in code notation (None otherwise)."""
    if notation.style != "code" or notation.output is None:
        return None
    out = notation.output
    return (f"code notation: dx stands for d{out}/dx, the derivative of the output {out} with respect to x;"
            " the course's code writes it so")


def pretty(tree: ex.Expr) -> str:
    """An expression for reading: ``b · c``, ``x^2``."""
    return ex.to_text(tree, times=" · ", power="^")


def forward_line(step: ForwardStep, substituted: str | None = None) -> str:
    """``u = b · c = 3 × 2 = 6`` (``substituted``: ``step.substituted(num)``, if the caller has it already)."""
    parts = [step.node, pretty(step.tree)]
    if step.operands:
        parts.append(substituted if substituted is not None else step.substituted(num))
    if parts[-1] != num(step.value):
        parts.append(num(step.value))
    return " = ".join(parts)


def backward_line(step: BackwardStep, output: str, notation: Notation = PARTIAL) -> str:
    """The multiplication itself: ``∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6``.

    When the parent gets several contributions, ``+=`` and the running total in words:
    ``∂J/∂x += ∂J/∂y · ∂y/∂x = 3 × 3 = 9;  ∂J/∂x = 9 so far (1 of 2)``, then
    ``…;  ∂J/∂x = 15 (2 of 2: complete)`` (``→ 9   1 of 2`` read as nonsense).
    """
    total = d(output, step.parent, notation)
    if step.child == output:
        # upstream is ∂J/∂J = 1: the total is the local derivative itself
        body = num(step.product)
    else:
        body = (f"{d(output, step.child, notation)} · {d(step.child, step.parent, notation)}"
                f" = {_factor(step.upstream)} × {_factor(step.local)} = {num(step.product)}")
    if step.of == 1:
        return f"{total} = {body}"
    # the running total said as the lecture would: "= 6 so far", then "= 8 (2 of 2: complete)"
    if step.arrived < step.of:
        return f"{total} += {body};  {total} = {num(step.grad_after)} so far ({step.arrived} of {step.of})"
    return f"{total} += {body};  {total} = {num(step.grad_after)} ({step.arrived} of {step.of}: complete)"


def question_line(step: ForwardStep | BackwardStep, output: str, notation: Notation = PARTIAL) -> str:
    """A step with its number hidden, for predict mode.

    ``u = b · c = 3 × 2 = ?``; ``∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × ∂u/∂b = ?`` (the
    local derivative is the learner's to work out, the upstream gradient is known).
    """
    if isinstance(step, ForwardStep):
        parts = [step.node, pretty(step.tree)]
        if step.operands:
            parts.append(step.substituted(num))
        return " = ".join([*parts, "?"])
    total = d(output, step.parent, notation)
    local = d(step.child, step.parent, notation)
    if step.child == output:  # ∂J/∂J = 1 upstream: the local derivative is all there is
        body = "?"
    else:
        body = f"{d(output, step.child, notation)} · {local} = {_factor(step.upstream)} × {local} = ?"
    if step.of == 1:
        return f"{total} = {body}"
    return f"{total} += {body}   (contribution {step.arrived} of {step.of}: this product only)"


def step_line(step: ForwardStep | BackwardStep, output: str, notation: Notation = PARTIAL) -> str:
    """A step written out whole: :func:`forward_line` or :func:`backward_line`."""
    return forward_line(step) if isinstance(step, ForwardStep) else backward_line(step, output, notation)


def verdict(answer, step: ForwardStep | BackwardStep, output: str, notation: Notation = PARTIAL) -> str:
    """How a guess (an :class:`~engine.quiz.Answer`) went, with the step written out whole.

    ``Right: u = b · c = 3 × 2 = 6.`` / ``Not quite: you said 5; u = b · c = 3 × 2 = 6.``
    / ``Not scored: u = b · c = 3 × 2 = 6.``
    """
    line = step_line(step, output, notation)
    guess = answer.guess
    if guess is None:
        return f"Not scored: {line}."
    if answer.right:
        said = "" if num(guess) == num(answer.answer) else f" (you said {num(guess)})"
        return f"Right{said}: {line}."
    return f"Not quite: you said {num(guess)}; {line}."


def local_line(step: BackwardStep, child_expr: ex.Expr, output: str, notation: Notation = PARTIAL) -> str:
    """Where the local derivative comes from: ``u = b · c, so local ∂u/∂b = c = 2``."""
    formula = pretty(step.local_tree)
    value = num(step.local)
    local = f"local {d(step.child, step.parent, notation)} = {formula}"
    if formula != value:
        local += f" = {value}"
    line = f"{step.child} = {pretty(child_expr)}, so {local}"
    if step.selected:
        line += (f"; 0 here means {step.child} is flat in {step.parent} (its flat branch is selected),"
                 f" so nothing flows back: the product is 0, not {num(step.upstream)} × 0 = nan")
    if step.child == output:
        line += f"; with {d(output, output, notation)} = 1: 1 × {_factor(step.local)} = {num(step.product)}"
    return line


def _factor(x: float) -> str:
    text = num(x)
    return f"({text})" if text.startswith("-") else text


DIFFERENCE_DIGITS = 1e-3
"""How closely the difference of two printed values must match the floats' difference."""


def differing(before: float, after: float) -> tuple[str, str]:
    """Two values as :func:`num` writes them, or with as many more digits as it takes to show their difference.

    At a tiny nudge, 33 and 33.000000000006 are both "33" to ten digits, and to
    thirteen digits "33" and "33.00000000001", whose difference is off by 70 %.
    So the pair is written to the fewest digits (up to ``repr``) at which the texts
    differ and their difference, read back, is the floats' difference to three
    digits: the arithmetic shown is the arithmetic done. Equal values stay equal.
    """
    a, b = num(before), num(after)
    if before == after or not (math.isfinite(before) and math.isfinite(after)):
        return a, b
    want = after - before

    def shows_the_difference(a: str, b: str) -> bool:
        got = float(b) - float(a)
        return a != b and (got == want or abs(got - want) <= DIFFERENCE_DIGITS * abs(want))

    if shows_the_difference(a, b):
        return a, b
    for digits in range(11, 18):
        a, b = f"{before:.{digits}g}", f"{after:.{digits}g}"
        if shows_the_difference(a, b):
            return a, b
    return repr(before), repr(after)


def trail_entry(entry) -> str:
    """One :class:`~engine.finite_diff.TrailEntry`: ``b: 3 → 3.001`` (``b: 3 → 3.000000000001`` at h = 1e-12)."""
    before, after = differing(entry.before, entry.after)
    return f"{entry.node}: {before} → {after}"


def _nudged_by(fd: FiniteDifference, x_after: float, x_before: float, size: float) -> str:
    """The divisor: the nudge actually taken, ``(3.001 − 3)``, or ``size`` when it is exactly that."""
    if x_after - x_before == size:
        return exact(size)
    after, before = differing(x_before, x_after)[::-1]
    return f"({after} − {_bracket(before)})"


def forward_formula(fd: FiniteDifference) -> str:
    """The one-sided estimate's arithmetic: ``(33.006 − 33) / (3.001 − 3)``.

    The numbers are the trail's, to as many digits as tell them apart; the divisor
    is ``(x + h) − x`` as the floats have it (just h when that is exactly h).
    """
    x = fd.trail[0].before
    before, after = differing(fd.out_before, fd.out_plus)
    return f"({after} − {_bracket(before)}) / {_nudged_by(fd, x + fd.h, x, fd.h)}"


def central_formula(fd: FiniteDifference) -> str:
    """The central estimate's arithmetic: ``(33.006 − 32.994) / (3.001 − 2.999)``."""
    x = fd.trail[0].before
    minus, plus = differing(fd.out_minus, fd.out_plus)
    return f"({plus} − {_bracket(minus)}) / {_nudged_by(fd, x + fd.h, x - fd.h, 2 * fd.h)}"


def _bracket(text: str) -> str:
    """A number subtracted: ``(-2)`` rather than ``− -2``."""
    return f"({text})" if text.startswith("-") else text


def trail_text(fd: FiniteDifference, limit: int | None = None) -> str:
    """``b: 3 → 3.001, u: 6 → 6.002, …``; with ``limit``, the first and last few and "… k more"."""
    if limit is None:
        parts, hidden = [tuple(fd.trail)], 0
    else:
        head, tail, hidden = trail_ends(fd.trail, max(1, (limit + 1) // 2), max(1, limit - (limit + 1) // 2))
        parts = [head, tail]
    entries = [trail_entry(e) for e in parts[0]]
    if hidden:
        entries.append(f"… {hidden} more")
    entries += [trail_entry(e) for e in parts[-1]] if len(parts) > 1 else []
    return ", ".join(entries)


def status_text(fd: FiniteDifference) -> str:
    """``⚠ suspect: rounding error dominates: h is too small (try a larger h)``: the status, and why."""
    text = STATUS_TEXT[fd.status]
    if fd.status == "kink" and fd.kink:
        text += f" (relu/abs at its corner in {fd.kink!r})"
    if fd.reason:
        text += f": {fd.reason}"
    return text


def why_lines(why, output: str, notation: Notation = PARTIAL) -> list[str]:
    """A :class:`~engine.paths.WhyGradient` written out: every path, its factors, their sum."""
    head, paths, foot = why_parts(why, output, notation)
    return head + [line for path in paths for line in path] + foot


def why_parts(why, output: str, notation: Notation = PARTIAL) -> tuple[list[str], list[list[str]], list[str]]:
    """:func:`why_lines` in three parts: the lines before the paths, each path's lines, the lines after."""
    name = why.name
    head = [f"{d(output, name, notation)} = {num(why.grad)}: the sum, over every path from {output} down to {name},"
            " of the local derivatives multiplied along it."]
    if why.count == 0:
        head.append(f"No path leads from {output} to {name}: {output} does not depend on it, so the gradient is 0.")
        return head, [], []
    if name == output:
        head.append(f"{d(output, output, notation)} = 1: nudging {output} moves {output} by as much.")
        return head, [], []
    head.append("")
    head.append(f"{why.count} path{'s' if why.count != 1 else ''}:" if why.complete
                else f"{why.count:,} paths; the first {len(why.paths)}:")
    paths = []
    for path in why.paths:
        # a path through a deep graph is written as its first and last hops, and how many between
        parts = _shown_hops(path.hops)
        gap = len(path.hops) - sum(len(p) for p in parts)
        names = [[p[0].child] + [h.parent for h in p] for p in parts]
        route = f" → … {gap:,} more hops … → ".join(" → ".join(n) for n in names)
        symbols, formulas, numbers = (
            f"{sep}…{sep}".join(sep.join(fmt(h) for h in p) for p in parts)
            for fmt, sep in ((lambda h: d(h.child, h.parent, notation), " · "), (lambda h: _wrap(pretty(h.formula)), " · "),
                             (lambda h: _factor(h.local), " × ")))
        line = f"    {symbols}"
        if formulas != numbers.replace(" × ", " · "):
            line += f" = {formulas}"
        paths.append([f"  {route}", f"{line} = {numbers} = {num(path.product)}"])
    foot = [""]
    if why.complete:
        terms = " + ".join(_factor(p.product) for p in why.paths)
        agree = "✓" if why.total == why.grad or abs(why.total - why.grad) <= 1e-12 * max(1.0, abs(why.grad)) else "≠"
        foot.append(f"sum of the paths: {terms} = {num(why.total)}   {agree} {d(output, name, notation)} = {num(why.grad)}"
                    if len(why.paths) > 1 else f"{agree} {d(output, name, notation)} = {num(why.grad)}")
    else:
        foot.append(f"… and {why.count - len(why.paths):,} more paths; all of them add up to {num(why.grad)}.")
    return head, paths, foot


PATH_HOPS_SHOWN = 12
"""A longer path is written as its first and last six hops, and how many are left out between."""


def _shown_hops(hops) -> list[list]:
    """The hops of a path to write out: all of them, or the first and the last few (two runs)."""
    n = len(hops)
    if n <= PATH_HOPS_SHOWN + 1:
        return [list(hops)]
    cut = PATH_HOPS_SHOWN // 2
    return [list(hops[:cut]), list(hops[n - cut:])]


def path_names(path) -> list[str]:
    """The names along a :class:`~engine.paths.GradientPath`, from the output down."""
    names = getattr(path.hops, "names", None)
    if names is not None:
        return names()
    return [path.hops[0].child] + [h.parent for h in path.hops] if path.hops else []


def _wrap(formula: str) -> str:
    return f"({formula})" if any(op in formula for op in (" + ", " - ")) else formula


def sweep_lines(sweep: Sweep, h: float, output: str, value: float | None = None,
                notation: Notation = PARTIAL) -> list[str]:
    """What the h sweep's plot shows, in words and numbers (the plot's caption).

    Args:
        value: The output's value: rounding error can reach about EPS·|value|/h (what nudging
            by h can resolve). Below that, a small error is rounding cancelling by luck, not a
            better h; and a graph whose error at the largest h stays within that reach is linear
            in the variable (no truncation error, no V).
        notation: How the derivative is written.
    """
    grad = d(output, sweep.var, notation)
    lines = [f"{grad} = {num(sweep.grad)} by backprop; the plot shows each estimate's error"
             f" |estimate − {_factor(sweep.grad)}| (× one-sided, • central; the vertical line is your h)."]
    here = next((p for p in sweep.points if p.h == h), None)
    if here is not None:
        lines.append(f"At your h = {num(h)}: one-sided {small(here.error_forward)},"
                     f" central {small(here.error_central)}.")
    finite = [p for p in sweep.points if math.isfinite(p.error_forward) and math.isfinite(p.error_central)]
    if not finite:
        lines.append("No estimate is finite at any h: the output is not finite near this point.")
        return lines
    if not sweep.moves:
        lines.append(f"{output} does not depend on {sweep.var}: nudging it moves nothing, so both estimates"
                     " are 0 at every h, as the gradient is.")
        return lines
    if all(p.error_forward == 0 and p.error_central == 0 for p in sweep.points):
        lines.append(f"Every estimate is exact: {output} moves in proportion to {sweep.var} here, so there is"
                     " no truncation error, and no rounding showed.")
        return lines
    scale = abs(value) if value is not None and math.isfinite(value) and value != 0 else abs(sweep.grad) or 1.0

    def reach(p) -> float:
        """How far rounding alone can move an estimate at this h."""
        return EPS * scale / p.h

    def best(central: bool):
        """The h whose error is smallest where rounding cannot have made it small by luck."""
        return min(finite, key=lambda p: max(p.error_central if central else p.error_forward, reach(p)))

    widest = max(finite, key=lambda p: p.h)
    if widest.error_forward <= 10 * reach(widest):
        lines.append(f"{output} is linear in {sweep.var} here: no truncation error, so no V. What error there is"
                     f" is rounding, which grows as h shrinks (∝ 1/h): the largest h is the best here.")
    else:
        c, f = best(True), best(False)
        lines.append(f"Best h: central about {c.h:.2g} (error within {small(max(c.error_central, reach(c)))}),"
                     f" one-sided about {f.h:.2g} (within {small(max(f.error_forward, reach(f)))}).")
        lines.append("Right of the V, truncation error falls with h (one-sided ∝ h, central ∝ h²);"
                     " left of it, rounding error grows as 1/h.")
    lucky = [p for p in finite if min(p.error_forward, p.error_central) < reach(p) / 10 and p.h < 1e-4]
    if lucky:
        p = min(lucky, key=lambda p: min(p.error_forward, p.error_central))
        lines.append(f"A tiny error at a small h (such as {small(min(p.error_forward, p.error_central))}"
                     f" at h = {p.h:.2g}) is rounding errors cancelling by luck: there, rounding could be off"
                     f" by {small(reach(p))}.")
    return lines


# --------------------------------------------------------------------------- the chain rule in nudges

CHAIN_LINKS_SHOWN = 12
"""A longer path is written as its first and last six links, and how many lie between."""


def _delta(top: str, bottom: str) -> str:
    return f"Δ{top}/Δ{bottom}"


def link_line(link, notation: Notation = PARTIAL, grads: bool = False) -> str:
    """``Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2``; with ``grads``, the local derivative beside it.

    The numbers are the trail's, written as :func:`trail_entry` writes them. A link whose
    node saw other operands move too says which it held: ``(q held at 6)``.
    """
    t0, t1 = differing(link.top_before, link.top_after)
    b0, b1 = differing(link.bottom_before, link.bottom_after)
    line = f"{_delta(link.top, link.bottom)} = ({t1} − {_bracket(t0)})/({b1} − {_bracket(b0)}) = {num(link.ratio)}"
    if link.held:
        line += " (" + ", ".join(f"{name} held at {num(value)}" for name, value in link.held) + ")"
    if grads:
        value = num(link.local)
        formula = pretty(link.formula) if link.formula is not None else value
        line += f"   {d(link.top, link.bottom, notation)} = {formula}" + (f" = {value}" if formula != value else "")
    return line


def _product(factors: list[str], hidden: int) -> str:
    if hidden:
        half = len(factors) // 2
        factors = [*factors[:half], f"… ({hidden:,} more)", *factors[half:]]
    return " × ".join(factors)


def _agrees(a: float, b: float | None) -> str:
    """``=`` when two numbers read the same as :func:`num` writes them, ``≈`` otherwise."""
    return "=" if b is not None and num(a) == num(b) else "≈"


CHAIN_TERMS_SHOWN = 6
"""A sum of more path products (or backward steps) than this is written as its first few and how many more."""


def _sum(terms: list[str], more: int) -> str:
    """``a + b + c``, or its first :data:`CHAIN_TERMS_SHOWN` terms and ``+ … (k more)``."""
    more += max(0, len(terms) - CHAIN_TERMS_SHOWN)
    text = " + ".join(terms[:CHAIN_TERMS_SHOWN])
    return f"{text} + … ({more:,} more)" if more else text


def chain_lines(chain, notation: Notation = PARTIAL, grads: bool = False, paths: int | None = None) -> list[str]:
    """A :class:`~engine.nudge_chain.NudgeChain` written as the lecture page checks the chain rule.

    ``Δu/Δb = (6.002 − 6)/(3.001 − 3) = 2``, one line per link from the nudged variable up
    to the output, then their product ``2 × 1 × 3 = 6 = ΔJ/Δb``. With several paths, each
    path's links and product, then the sum of the products beside ΔJ/Δx. With ``grads``
    (once the gradient is revealed), each link's local derivative beside it and the backward
    pass's own multiplication: ``backprop: ∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6``.
    ``paths``: write out at most this many of the listed paths.
    """
    var, out = chain.var, chain.output
    whole = _delta(out, var)
    if var == out:
        return [f"{whole} = 1: nudging {out} moves {out} by as much."]
    if chain.estimate is None:
        return []
    if chain.too_long:
        return [f"(the chain rule link by link is shown for trails of up to {TRAIL_LIMIT:,} entries)"]
    if chain.count == 0:
        return [f"{out} does not depend on {var}: no path, nothing moves."]
    lines = []
    many = chain.count > 1
    listed = chain.paths if paths is None else chain.paths[:paths]
    if many:
        shown = "" if len(listed) == chain.count else f" (the first {len(listed)})"
        lines.append(f"{var} reaches {out} by {chain.count:,} paths{shown}; along each, a node's other"
                     " operands are held:")
    for k, path in enumerate(listed):
        links = path.links
        if len(links) > CHAIN_LINKS_SHOWN + 1:
            half = CHAIN_LINKS_SHOWN // 2
            parts, hidden = [list(links[:half]), list(links[-half:])], len(links) - 2 * half
        else:
            parts, hidden = [list(links)], 0
        names = [[parts[0][0].bottom] + [lk.top for lk in parts[0]]] + [[lk.top for lk in p] for p in parts[1:]]
        route = f" → … {hidden:,} more → ".join(" → ".join(n) for n in names)
        lines.append(f"path {k + 1}: {route}" if many else f"chain rule in nudges, {route}:")
        for p_k, p in enumerate(parts):
            if p_k:
                lines.append(f"  … {hidden:,} more links …")
            lines += [f"  {link_line(lk, notation, grads)}" for lk in p]
        factors = [_factor(lk.ratio) for p in parts for lk in p]
        product = f"  {_product(factors, hidden)} = {num(path.product)}" if len(links) > 1 else ""
        if not many:
            if product:
                product += f" {_agrees(path.product, chain.estimate)} {whole}"
            if _agrees(path.product, chain.estimate) != "=":
                product += f" (one-sided estimate {whole} = {num(chain.estimate)})"
        elif grads:
            product += f"   backprop along it: {num(path.grad_product)}"
        if product:
            lines.append(product)
    if many:
        terms = _sum([_factor(p.product) for p in chain.paths], chain.count - len(chain.paths))
        if chain.complete:
            lines.append(f"sum of the paths: {terms} = {num(chain.total)} ≈ {whole} = {num(chain.estimate)}"
                         " (to first order)")
        else:  # a sum of some of the paths is no estimate of anything
            lines.append(f"the paths' products: {terms}; all {chain.count:,} add up to {whole} ="
                         f" {num(chain.estimate)} to first order")
    zero = next((lk.bottom for p in chain.paths for lk in p.links if lk.bottom_after == lk.bottom_before), None)
    if zero is not None:
        lines.append(f"Δ{zero} = 0: the nudge did not move {zero} (flat there, or the move was lost to"
                     " rounding), so the links above it are 0/0; the backward pass's derivative is the limit they"
                     " stand for.")
    if grads and chain.steps:
        lines.append(f"backprop: {backprop_sum(chain, notation)}")
    return lines


def backprop_terms(steps, out: str, deriv, factor, dot: str = " · ", times: str = " × ") -> tuple[list[str], list[str]]:
    """Each backward step into a variable as a term of the chain-rule sum: its symbols
    (``∂J/∂u · ∂u/∂b``; the local derivative alone when the child is the output) and its numbers
    (``3 × 2``). ``deriv(top, bottom)`` and ``factor(x)`` write them (plain text or LaTeX)."""
    symbols, numbers = [], []
    for s in steps:
        if s.child == out:
            symbols.append(deriv(s.child, s.parent))
            numbers.append(factor(s.local))
        else:
            symbols.append(f"{deriv(out, s.child)}{dot}{deriv(s.child, s.parent)}")
            numbers.append(f"{factor(s.upstream)}{times}{factor(s.local)}")
    return symbols, numbers


def backprop_sum(chain, notation: Notation = PARTIAL) -> str:
    """The backward pass's multiplications into the variable, written as one sum.

    ``∂J/∂b = ∂J/∂u · ∂u/∂b = 3 × 2 = 6``; at fan-out
    ``∂f/∂x = ∂f/∂p · ∂p/∂x + ∂f/∂q · ∂q/∂x = 6 × 1 + 3 × 3 = 15``.
    """
    out, var = chain.output, chain.var
    steps = chain.steps
    if len(steps) == 1 and steps[0].of == 1:
        return backward_line(steps[0], out, notation)
    symbols, numbers = backprop_terms(steps, out, lambda a, b: d(a, b, notation), _factor)
    more = chain.steps_count - len(steps)
    end = f" = {num(steps[-1].grad_after)}" if not more else ""
    return f"{d(out, var, notation)} = {_sum(symbols, more)} = {_sum(numbers, more)}{end}"
