"""Fixtures shared by the test files."""

from __future__ import annotations

import shutil
from pathlib import Path

import os

import pytest
from hypothesis import settings

from paths import LECTURE

# On CI the property tests replay the same examples every run (a red CI blocks a landing, so it
# must not hinge on a lucky draw); a developer's run explores new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def lecture_copy(tmp_path: Path) -> Path:
    """A copy of graphs/lecture.yaml in the test's own folder, to edit, save and rewrite."""
    path = tmp_path / "w.yaml"
    shutil.copy(LECTURE, path)
    return path


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="rewrite the SVG snapshots in tests/snapshots/ from the screens as they are now")


@pytest.fixture
def snapshot(request: pytest.FixtureRequest, tmp_path: Path):
    """``snapshot(name, svg)``: compare an SVG screenshot with tests/snapshots/NAME (see tests/snapshot.py)."""
    from snapshot import compare

    update = request.config.getoption("--snapshot-update")

    def check(name: str, svg: str) -> None:
        compare(name, svg, update=update, tmp_path=tmp_path)

    return check
