"""The state a shared URL asks for: ``?step=6&set=a=7&view=picture&notation=d``.

``cgtui serve`` hands a page's query, as text, to the session it starts; this module reads it
against that session's graph. Every value is checked (a step in range, an existing input set to
a finite number, a known view or notation); anything else is left out with a one-line reason for
the app's message line. Nothing in a query is ever evaluated or run. No textual import here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from engine.safe import printable
from engine.text import parse_number

MAX_QUERY = 4096
"""A longer query is refused whole: no sharing link needs more."""

VIEWS = ("tree", "picture")
NOTATIONS = {"partial": "partial", "∂": "partial", "d": "d", "dJ/dv": "d", "code": "code", "dv": "code"}
"""The names a URL may give a notation, and which one each means: ∂J/∂v, dJ/dv, dv."""
SERVES_OWN = ("fontsize", "delay")
"""Parameters textual-serve's page reads itself: not ours to report."""


@dataclass
class Share:
    """What a shared URL asks for, already checked; None where it asks nothing (or nothing valid)."""

    step: int | None = None
    """Steps taken (0 is the start), within the walk."""
    inputs: dict[str, float] = field(default_factory=dict)
    """Input values to open with."""
    view: str | None = None
    """"tree" or "picture"."""
    notation: str | None = None
    """"partial", "d" or "code"."""
    problems: list[str] = field(default_factory=list)
    """One line for each parameter left out, and why."""


def _shown(text: str, limit: int = 40) -> str:
    """A piece of the URL fit to quote in a message: escaped, and cut short."""
    text = printable(text, one_line=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_share(query: str, session) -> Share:
    """Read ``query`` (the part of a URL after ``?``) against ``session``'s graph and walk."""
    share = Share()
    if not query:
        return share
    if len(query) > MAX_QUERY:
        share.problems.append(f"ignored the URL's parameters: too long ({len(query):,} characters)")
        return share
    try:
        pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=100)
    except ValueError:
        share.problems.append("ignored the URL's parameters: more than 100 of them")
        return share
    graph = session.graph
    for key, value in pairs:
        said = f"{_shown(key)}={_shown(value)}"
        if key == "step":
            if share.step is not None:
                share.problems.append(f"ignored {said}: the step is already {share.step}")
            elif value.isascii() and value.isdigit() and int(value) <= session.total:
                share.step = int(value)
            else:
                share.problems.append(f"ignored step={_shown(value)}: give a whole number from 0 to {session.total}")
        elif key == "set":
            name, sep, number = value.partition("=")
            if not sep:
                share.problems.append(f"ignored set={_shown(value)}: write set=NAME=NUMBER, such as set=a=7")
            elif name not in graph.input_by_name:
                inputs = ", ".join(i.name for i in graph.inputs[:10])
                share.problems.append(f"ignored set={_shown(value)}: there is no input {_shown(name)!r} (inputs: {inputs})")
            else:
                try:
                    share.inputs[name] = parse_number(number)
                except ValueError as err:
                    share.problems.append(f"ignored set={_shown(value)}: {_shown(str(err), 80)}")
        elif key == "view":
            if value in VIEWS:
                share.view = value
            else:
                share.problems.append(f"ignored view={_shown(value)}: the views are {' and '.join(VIEWS)}")
        elif key == "notation":
            if value in NOTATIONS:
                share.notation = NOTATIONS[value]
            else:
                share.problems.append(f"ignored notation={_shown(value)}: write partial (∂J/∂v), d (dJ/dv) or code (dv)")
        elif key not in SERVES_OWN:
            share.problems.append(f"ignored {said}: not a cgtui parameter (step, set, view, notation)")
    return share
