"""Fixtures shared by the test files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from paths import LECTURE


@pytest.fixture
def lecture_copy(tmp_path: Path) -> Path:
    """A copy of graphs/lecture.yaml in the test's own folder, to edit, save and rewrite."""
    path = tmp_path / "w.yaml"
    shutil.copy(LECTURE, path)
    return path
