"""Where things are, for every test: the checkout, the example graphs, the lecture graph.

(Plain constants, importable by engine tests without loading Textual; fixtures are in conftest.py.)
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRAPHS = ROOT / "graphs"
LECTURE = GRAPHS / "lecture.yaml"
