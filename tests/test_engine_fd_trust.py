"""Finite differences a learner can trust (issue 10).

- one arithmetic: the batched path (numpy, many nudges at once) gives exactly the
  bits of the one-at-a-time path, so an estimate is its own trail's arithmetic and
  no variable says ``kink`` for a corner it cannot reach;
- a nudge lost to rounding (x + h == x) says ``lost``, not ``non-finite``;
- a status never depends on the output's units;
- a ``suspect`` status says why, in words.
"""

from __future__ import annotations

import json
import math
import sys
import typing

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine import compute, finite_difference, finite_differences, load_bytes, load_path
from engine import finite_diff as fdm
from engine import ops
from engine import expr as ex
from engine import text as tx
from engine.report import to_json, to_trace
from test_engine_oracle import expression
from tui.cli import run
from soak import examples

LECTURE = "graphs/lecture.yaml"


def walk_of(text: str, **values):
    return compute(load_bytes(text.encode(), "t.yaml").graph, values or None)


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (a != a and b != b)
    return a == b


def assert_same_record(got: fdm.FiniteDifference, one: fdm.FiniteDifference) -> None:
    for field in ("var", "h", "out_before", "out_plus", "out_minus", "forward", "central", "grad",
                  "rel_error_forward", "rel_error_central", "status", "kink", "reason"):
        assert same(getattr(got, field), getattr(one, field)), (one.var, field, getattr(got, field), getattr(one, field))
    assert all(e.node == f.node and same(e.before, f.before) and same(e.after, f.after)
               for e, f in zip(got.trail, one.trail)) and len(got.trail) == len(one.trail)


# --------------------------------------------------------------------------- 1. no spurious kink on the batched path

ISSUE_1 = """\
inputs: {a: 0.4139300569082687, b: 1, c: 2, d: 3}
nodes:
  t: tanh(a)
  k: abs(t - 0.39180454423828653)
  p: b * c
  q: p + d
  J: q + k
"""


def test_issue_1_only_what_reaches_the_corner_says_kink():
    walk = walk_of(ISSUE_1)
    assert walk.values["k"] == 0.0  # the corner, exactly, in the forward pass
    fds = finite_differences(walk, "all")  # 9 variables: the batched path
    assert len(fds) >= fdm.BATCH_MIN
    for name in ("b", "c", "d", "p", "q", "J"):
        assert fds[name].status == "ok", fds[name]
    for name in ("a", "t"):  # nudging a or t moves k's argument off 0
        assert fds[name].status == "kink" and fds[name].kink == "k"
    for name, fd in fds.items():
        assert_same_record(fd, finite_difference(walk, name))


# --------------------------------------------------------------------------- 2. an estimate is its own trail's arithmetic


@st.composite
def graph_with_corner(draw):
    """A random graph (the oracle's expressions) plus, often, a relu/abs exactly at its corner
    behind a function numpy and math may round differently (tanh, exp, log, sin, a power)."""
    n_inputs = draw(st.integers(1, 4))
    inputs = {f"x{k}": draw(st.floats(-2, 2, allow_nan=False)) for k in range(n_inputs)}
    nodes: dict[str, str] = {}
    for k in range(draw(st.integers(1, 6))):
        nodes[f"n{k}"] = draw(expression([*inputs, *nodes], depth=2))
    out = list(nodes)[-1]
    if draw(st.booleans()):
        x = draw(st.sampled_from(list(inputs)))
        f = draw(st.sampled_from(["tanh", "exp", "sin", "sigmoid", "log_sq", "pow"]))
        value = inputs[x]
        if f == "log_sq":
            inner, v = f"log({x} ** 2 + 1)", math.log(value**2 + 1)
        elif f == "pow":
            inner, v = f"({x} ** 2 + 1) ** 1.7", (value**2 + 1) ** 1.7
        else:
            inner, v = f"{f}({x})", ex.FUNCTION_IMPL[f](value)
        kink = draw(st.sampled_from(["relu", "abs"]))
        nodes["kz"] = f"{kink}({inner} - {v!r})" if v >= 0 else f"{kink}({inner} + {-v!r})"
        nodes["J"] = f"{out} + kz"
    lines = ["inputs:", *(f"  {k}: {v!r}" for k, v in inputs.items()), "nodes:",
             *(f'  {k}: "{t}"' for k, t in nodes.items())]
    return "\n".join(lines) + "\n"


def _reaches_a_corner(walk, fd) -> bool:
    graph = walk.graph
    downstream = set(fdm.path_to_output(walk, fd.var))
    return fd.kink in downstream and any(f"{k}(" in graph.node_by_name[fd.kink].text for k in ("relu", "abs"))


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph_with_corner(), st.sampled_from([1e-3, 1e-6, 1e-9, 1e-12, 0.5]))
def test_every_record_is_its_own_trails_arithmetic(text, h):
    walk = walk_of(text)
    names = list(walk.graph.names)
    batched = fdm._batched(walk, names, h)
    out = walk.graph.output
    for name in names:
        one = finite_difference(walk, name, h)
        assert_same_record(batched[name], one)
        for fd in (one, batched[name]):
            first, last = fd.trail[0], fd.trail[-1]
            if fd.status == "lost":
                assert fd.forward is None and fd.central is None
            elif last.node == out:  # the output moves with the nudge
                assert same(fd.forward, ex._div(last.after - last.before, first.after - first.before)), fd
                assert (last.after == last.before) == (fd.forward == 0.0) or not math.isfinite(fd.forward)
            if fd.status == "kink":
                assert _reaches_a_corner(walk, fd), fd


# --------------------------------------------------------------------------- 4. a lost nudge


def test_issue_4_a_lost_nudge_says_lost(capsys):
    walk = walk_of("inputs: {a: 1e16}\nnodes:\n  J: 2 * a\n")
    fd = finite_difference(walk, "a", 1e-3)
    assert 1e16 + 1e-3 == 1e16
    assert fd.status == "lost"
    assert fd.forward is fd.central is fd.rel_error_forward is fd.rel_error_central is None
    assert fd.reason == "h is below the spacing of floats at a: a + h rounds to a; try a larger h"
    assert finite_difference(walk, "a", 4.0).status == "ok"  # a larger h moves it
    assert run(["-e", "J = 2*a", "--set", "a=1e16", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fd"]["a"]["status"] == "lost"
    assert doc["fd"]["a"]["forward"] is None and doc["fd"]["a"]["central"] is None
    assert doc["fd"]["a"]["reason"] == fd.reason
    assert run(["-e", "J = 2*a", "--set", "a=1e16", "--trace"]) == 0
    trace = capsys.readouterr().out
    assert tx.STATUS_TEXT["lost"] in trace and "a + h rounds to a; try a larger h" in trace
    assert "non-finite" not in trace and "nan" not in trace


def test_lost_only_for_a_lost_nudge():
    # x − h rounds to x but x + h does not: lost too (the central estimate needs both)
    x = 2.0**53
    walk = walk_of(f"inputs: {{a: {x!r}}}\nnodes:\n  J: 3 * a\n")
    assert x + 1.0 == x and x - 1.0 != x
    assert finite_difference(walk, "a", 1.0).status == "lost"
    # a non-finite output is non-finite whatever h is
    walk = walk_of("inputs: {a: 1e308}\nnodes:\n  J: a * 10\n")
    assert finite_difference(walk, "a").status == "non-finite"


def test_statuses_are_a_literal_each_with_its_own_symbol():
    assert set(typing.get_args(fdm.Status)) == {"ok", "suspect", "kink", "lost", "non-finite"}
    assert set(tx.STATUS_TEXT) == set(typing.get_args(fdm.Status))
    symbols = [text.split()[0] for text in tx.STATUS_TEXT.values()]
    assert len(set(symbols)) == len(symbols)


# --------------------------------------------------------------------------- 5. a scale-free floor


@pytest.mark.parametrize("scale", ["", "1e-12 * "])
def test_issue_5_sixteen_percent_off_is_suspect_in_any_units(scale):
    walk = walk_of(f"inputs: {{a: 0}}\nnodes:\n  J: {scale}sin(1000 * a)\n")
    fd = finite_difference(walk, "a", 1e-3)
    exact = math.sin(1.0) / 1e-3 / 1000  # the central estimate is sin(1000 h) / (1000 h) of the gradient
    assert math.isclose(fd.central / fd.grad, exact, rel_tol=1e-9) and 1 - exact > 0.15
    assert fd.status == "suspect" and fd.reason == fdm.TRUNCATION


def test_issue_5_a_power_says_the_same_in_any_units():
    plain = finite_difference(walk_of("inputs: {a: 1}\nnodes:\n  J: a ** 100\n"), "a")
    scaled = finite_difference(walk_of("inputs: {a: 1}\nnodes:\n  J: 1e-12 * a ** 100\n"), "a")
    assert plain.status == scaled.status == "suspect"


@settings(max_examples=examples(80), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(graph_with_corner(), st.integers(-30, 30), st.sampled_from([1e-3, 1e-6, 1e-10, 0.3]))
def test_a_status_never_depends_on_the_outputs_units(text, k, h):
    """Multiply the output by 10^k: every variable keeps its status (borderline cases aside,
    where rounding the scaled numbers can tip the relative error or the floor)."""
    walk = walk_of(text)
    out = walk.graph.output
    assume(all(math.isfinite(v) and abs(v) < 1e6 for v in walk.values.values()))
    scaled = walk_of(text + f"  S: \"1e{k} * {out}\"\noutput: S\n")
    for name in walk.graph.names:
        fd, fs = finite_difference(walk, name, h), finite_difference(scaled, name, h)
        # below the normal range (2.2e-308) a float keeps fewer digits, and scaling can
        # underflow a gradient to 0 (x = 2.2e-313 gave ∂J/∂x = 8.9e-313, suspect, and 0 at
        # 10^-12, ok): units that leave the range of full precision are not the same units
        numbers = (fd.grad, fd.central, fd.out_before, fs.grad, fs.central, fs.out_before)
        if any(v is not None and v != 0 and abs(v) < sys.float_info.min for v in numbers) or (fd.grad == 0) != (fs.grad == 0):
            continue
        if fd.status in ("ok", "suspect") and fs.status in ("ok", "suspect"):
            floor = fdm.rounding_floor(fd.out_before, fd.out_plus, fd.out_minus, (fd.trail[0].after - (fd.trail[0].before - h)))
            near = (0.5 < fd.rel_error_central / fdm.SUSPECT_REL < 2
                    or 0.25 < max(abs(fd.grad), abs(fd.central)) / floor < 4 if floor else False)
            # an error within a few of the estimate's own roundings is noise: scaling J by 10^k
            # re-rounds every number, so the noise (and a status decided by it) can change
            noise = floor and abs(fd.grad - fd.central) <= 4 * floor
            if noise:
                continue
            if near:
                continue
        assert fd.status == fs.status, (name, fd, fs)


# --------------------------------------------------------------------------- 6. a suspect status says why


def test_lecture_at_tiny_h_says_rounding():
    walk = compute(load_path(LECTURE).graph)
    fd = finite_difference(walk, "b", 1e-12)
    assert fd.status == "suspect"
    assert fd.reason == fdm.ROUNDING == "rounding error dominates: h is too small (try a larger h)"
    assert fd.reason in tx.status_text(fd)
    assert finite_differences(walk, "all", 1e-12)["b"].reason == fdm.ROUNDING
    # and the page's h is fine
    assert finite_difference(walk, "b").status == "ok" and finite_difference(walk, "b").reason is None


def test_a_large_h_says_truncation():
    fd = finite_difference(walk_of("inputs: {a: 2}\nnodes:\n  J: a ^ 3\n"), "a", 1.0)
    assert fd.status == "suspect" and fd.reason == fdm.TRUNCATION == "truncation error: h is too large (try a smaller h)"


@pytest.fixture
def wrong_sin():
    """A function whose derivative rule is wrong (2 cos x instead of cos x)."""
    op = ops.register(ops.function("wrongsin", ops.OPS["sin"].scalar, lambda a, y: ex.mul(ex.Num(2.0), ex.call("cos", a))))
    yield op
    ops.unregister("wrongsin")


def test_a_wrong_gradient_says_it_may_be_wrong(wrong_sin, capsys):
    walk = walk_of("inputs: {a: 0.3}\nnodes:\n  J: wrongsin(a)\n")
    fd = finite_difference(walk, "a")
    assert fd.status == "suspect" and fd.reason == fdm.WRONG and "may be wrong" in fd.reason
    trace = to_trace(walk, {"a": fd}, 1e-3, "t.yaml")
    assert fd.reason in trace
    assert json.loads(to_json(walk, {"a": fd}, 1e-3, "t.yaml"))["fd"]["a"]["reason"] == fd.reason


def test_panel_shows_lost_and_the_reason_in_words():
    from engine.graphfile import load_bytes as load
    from engine.session import DebugSession
    from tui.widgets.panels import fd_text

    session = DebugSession(load(b"inputs: {a: 1e16}\nnodes:\n  J: 2 * a\n", "t.yaml"))
    session.finish()
    session.finish()
    assert session.at_end
    text = " ".join(fd_text(session, "a", 200).plain.split())
    assert "a + h rounds to a; try a larger h" in text and tx.STATUS_TEXT["lost"] in text and "nan" not in text
    session = DebugSession(load_path(LECTURE), h=1e-12)
    session.finish()
    session.finish()
    text = " ".join(fd_text(session, "b", 60).plain.split())
    assert tx.STATUS_TEXT["suspect"] in text and fdm.ROUNDING in text
