"""Every character of text on screen keeps a contrast of 4.5 : 1 (WCAG AA), with and without NO_COLOR.

Issue #13, bug 1: under NO_COLOR the gradients, the step formula, the estimates and the
panel titles came out as grey 237 on 235/233 (about 1.3–1.6 : 1). The test reads the
screen's cells as Textual composes them (its line filters applied: NO_COLOR's monochrome
filter among them) and computes the ratio of every non-blank, non-box-drawing character.
"""

from __future__ import annotations

import pytest

from tests.tui_helpers import LECTURE, make_app, until

MIN_RATIO = 4.5


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_wcag_examples():
    assert contrast((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast((118, 118, 118), (255, 255, 255)) == pytest.approx(4.54, abs=0.01)  # WCAG's #767676
    assert contrast((59, 59, 59), (39, 39, 39)) < 1.5  # the reported failure


def low_contrast_cells(app) -> list[tuple[float, str]]:
    """(ratio, text) of every run of text on screen below MIN_RATIO."""
    bad = []
    for strip in app.screen._compositor.render_strips():
        for segment in strip:
            style = segment.style
            text = "".join(ch for ch in segment.text if not ch.isspace() and not 0x2500 <= ord(ch) <= 0x259F)
            if not text or segment.control:
                continue
            assert style is not None and style.color is not None and style.bgcolor is not None, segment
            fg, bg = tuple(style.color.get_truecolor()), tuple(style.bgcolor.get_truecolor())
            if style.reverse:
                fg, bg = bg, fg
            ratio = contrast(fg, bg)
            if ratio < MIN_RATIO:
                bad.append((round(ratio, 2), text))
    return bad


# Each state: the keys that reach it. Together they put on screen every kind of text the
# walk shows: values, gradients, step formulas, estimates and statuses, the transcript's
# backward lines, the editor, predict mode's question, the help page.
STATES = {
    "start": [],
    "mid-forward": ["n", "n"],
    "mid-backward": ["f", "n", "n", "n"],
    "done": ["f", "f"],
    "editing": ["e"],  # the cursor starts on a, an input
    "predicting": ["g", "n"],
    "help": ["question_mark"],
    "why": ["f", "f", "y"],
    "sweep": ["f", "f", "s"],  # a page beside the tree, the title and its own key line left uncovered
    "picture-forward": ["v", "n"],  # the picture view: values, the step's double box, the cursor
    "picture-backward": ["v", "f", "n", "n", "n"],  # gradients, the heavy edge, arrowheads
}


@pytest.mark.parametrize("no_color", [False, True], ids=["colour", "NO_COLOR"])
@pytest.mark.parametrize("state", list(STATES))
async def test_every_character_has_contrast(monkeypatch, state, no_color):
    """At 120 × 40, then the same state at 80 × 24 (one app resized, not one app a size: the suite
    started 44 apps here, a tenth of its Pilot CPU)."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")  # read when the App is built
    else:
        monkeypatch.delenv("NO_COLOR", raising=False)
    app = make_app(LECTURE, watch_file=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for key in STATES[state]:
            await pilot.press(key)
        await pilot.pause()
        assert low_contrast_cells(app) == []
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: app.screen._compositor.size == (80, 24))
        strips = app.screen._compositor.render_strips()
        assert (len(strips), strips[0].cell_length) == (24, 80)  # laid out again at the new size
        assert low_contrast_cells(app) == [], "at 80 × 24"
