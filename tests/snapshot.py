"""SVG snapshots of the screen, compared with the files in tests/snapshots/.

pytest-textual-snapshot would do this, but its 1.1.0 pins syrupy 4.8.0, which requires
pytest < 9 (pip silently downgrades pytest to install it). This is the same idea in a few
lines: Textual's own ``App.export_screenshot()`` SVG, with the run-specific class prefix
(``terminal-759654032-r1``) normalised, compared with a stored file. ``pytest
--snapshot-update`` rewrites the stored files; on a mismatch the actual SVG and an HTML page
showing the stored and actual pictures side by side are written to the test's tmp dir, and
the failure names the page.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
_RUN_ID = re.compile(r"terminal-\d+")


def normalise(svg: str) -> str:
    """The SVG without what changes between two runs of the same screen (a hash of its content)."""
    return _RUN_ID.sub("terminal", svg)


def side_by_side(name: str, expected: str, actual: str) -> str:
    """An HTML page with the stored picture on the left and the actual one on the right."""
    def cell(title: str, svg: str) -> str:
        return f"<td><h2>{html.escape(title)}</h2>{svg}</td>"

    return (f"<!doctype html><meta charset='utf-8'><title>{html.escape(name)}</title>"
            "<style>td{vertical-align:top;width:50%} svg{width:100%;height:auto}</style>"
            f"<table><tr>{cell('stored: tests/snapshots/' + name, expected)}{cell('actual', actual)}</tr></table>")


def compare(name: str, svg: str, *, update: bool, tmp_path: Path) -> None:
    """Assert that ``svg`` matches the stored ``name`` (or store it, with ``update``)."""
    stored = SNAPSHOTS / name
    actual = normalise(svg)
    if update:
        stored.write_text(actual, encoding="utf-8")
        return
    if not stored.exists():
        raise AssertionError(f"no stored snapshot {stored}: run pytest --snapshot-update and look at it")
    expected = stored.read_text(encoding="utf-8")
    if expected == actual:
        return
    (tmp_path / name).write_text(actual, encoding="utf-8")
    page = tmp_path / (name.removesuffix(".svg") + ".html")
    page.write_text(side_by_side(name, expected, actual), encoding="utf-8")
    raise AssertionError(f"the screen differs from tests/snapshots/{name}: see {page} "
                         "(pytest --snapshot-update stores the new picture, once it is right)")
