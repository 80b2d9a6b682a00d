"""Pictures of the lecture graph's screen, so a layout change shows as a picture diff in review.

The lecture graph at the start, mid-forward, mid-backward and done, at 80 × 24 and 120 × 40,
with and without NO_COLOR, and the too-small screen. The other tests assert the text and the
state; these only catch what no assertion names (a border lost, a panel moved). After a
Textual or Rich upgrade, or a deliberate change of the screen, look at the pictures and run
``pytest tests/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import load_path
from engine.session import DebugSession
from paths import ROOT
from tui.app import CgtuiApp
from tui_helpers import screen_text

STAGES = {"start": 0, "forward": 2, "backward": 6, "done": 8}
"""Where each picture is taken: how many steps in (forward 2/3; backward 3/5, ∂J/∂u = 3)."""


async def screenshot(monkeypatch, size: tuple[int, int], steps: int, no_color: bool) -> str:
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the app is built
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.chdir(ROOT)  # the title shows the file's name as given: graphs/lecture.yaml everywhere
    app = CgtuiApp(DebugSession(load_path(Path("graphs/lecture.yaml"))), watch_file=False)
    async with app.run_test(size=size) as pilot:
        for _ in range(steps):
            await pilot.press("n")
        for _ in range(40):  # the key line is drawn a refresh or two after the first frame
            await pilot.pause()
            if "Quit" in screen_text(app).split("\n")[-1]:
                break
        await pilot.pause()
        assert app.session.position == steps
        return app.export_screenshot(title="cgtui")


@pytest.mark.parametrize("no_color", [False, True], ids=["color", "no-color"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pytest.mark.parametrize("stage", list(STAGES))
async def test_lecture_screen(monkeypatch, snapshot, stage: str, size: tuple[int, int], no_color: bool):
    svg = await screenshot(monkeypatch, size, STAGES[stage], no_color)
    snapshot(f"lecture-{stage}-{size[0]}x{size[1]}{'-no-color' if no_color else ''}.svg", svg)


async def test_too_small_screen(monkeypatch, snapshot):
    svg = await screenshot(monkeypatch, (40, 10), 0, False)
    snapshot("too-small-40x10.svg", svg)


def test_a_changed_screen_fails_and_shows_both_pictures(tmp_path: Path):
    """The comparison itself: a differing picture fails, naming a page with both side by side."""
    from snapshot import SNAPSHOTS, compare

    stored = SNAPSHOTS / "too-small-40x10.svg"
    changed = stored.read_text(encoding="utf-8").replace("too&#160;small", "too&#160;SMALL")
    with pytest.raises(AssertionError, match="differs") as failure:
        compare(stored.name, changed, update=False, tmp_path=tmp_path)
    page = tmp_path / "too-small-40x10.html"
    assert str(page) in str(failure.value)
    text = page.read_text(encoding="utf-8")
    assert "too&#160;SMALL" in text and "too&#160;small" in text
    compare(stored.name, stored.read_text(encoding="utf-8"), update=False, tmp_path=tmp_path)  # the same passes
