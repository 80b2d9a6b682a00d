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
