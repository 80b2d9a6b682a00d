"""The shared-state URL (``?step=6&set=a=7&view=picture&notation=d``): read, checked, never run."""

from __future__ import annotations

import pytest

from engine import load_path
from engine.session import DebugSession
from paths import LECTURE
from tui.share import MAX_QUERY, parse_share


@pytest.fixture
def session() -> DebugSession:
    return DebugSession(load_path(LECTURE))


def test_the_issues_example_is_read_whole(session):
    share = parse_share("step=6&set=a=7&view=picture&notation=d", session)
    assert share.step == 6
    assert share.inputs == {"a": 7.0}
    assert share.view == "picture"
    assert share.notation == "d"
    assert share.problems == []


def test_several_sets_and_percent_encoding(session):
    share = parse_share("set=a%3D-0.5&set=b=1e3&step=0", session)
    assert share.inputs == {"a": -0.5, "b": 1000.0}
    assert share.step == 0


@pytest.mark.parametrize("query, word", [
    ("step=99", "step=99"),            # out of range (the lecture has 8 steps)
    ("step=-1", "step=-1"),
    ("step=2.5", "step=2.5"),
    ("step=__import__('os')", "step="),
    ("set=u=3", "u"),                   # a node, not an input
    ("set=z=3", "z"),                   # no such input
    ("set=a=nan", "a"),
    ("set=a=1e999", "a"),
    ("set=a", "set=a"),                 # no value
    ("view=sideways", "sideways"),
    ("notation=latex", "latex"),
    ("rm=-rf", "rm"),                   # unknown parameter
])
def test_bad_parameters_are_ignored_with_a_message(session, query, word):
    share = parse_share(query, session)
    assert share.step is None and share.inputs == {} and share.view is None and share.notation is None
    assert len(share.problems) == 1
    assert word in share.problems[0]
    assert share.problems[0].startswith("ignored")


def test_good_parameters_survive_bad_ones(session):
    share = parse_share("step=3&bogus=1&set=a=x&set=c=5", session)
    assert share.step == 3 and share.inputs == {"c": 5.0}
    assert len(share.problems) == 2


def test_textual_serves_own_parameters_are_not_reported(session):
    share = parse_share("fontsize=20&delay=1&step=1", session)
    assert share.problems == [] and share.step == 1


def test_control_characters_and_long_values_are_not_echoed_raw(session):
    share = parse_share("x%1b%5D52%3Bc%3Bevil%07=" + "y" * 5000, session)
    text = " ".join(share.problems)
    assert "\x1b" not in text and "\x07" not in text
    assert len(text) < 300


def test_an_oversized_query_is_refused_whole(session):
    share = parse_share("step=1&" + "a" * MAX_QUERY, session)
    assert share.step is None
    assert share.problems and "long" in share.problems[0]


def test_an_empty_query_says_nothing(session):
    share = parse_share("", session)
    assert share.problems == [] and share.step is None


def test_a_repeated_step_keeps_the_first(session):
    share = parse_share("step=2&step=5", session)
    assert share.step == 2 and len(share.problems) == 1
