"""The few text styles the views share, chosen to stay readable on a projector.

Every colour here has a relative luminance of at least 0.45, so against the
dark theme's backgrounds (the panels, the tree, the tree's cursor line) it keeps
a contrast of at least 4.5 : 1 (WCAG AA) in colour and, because Textual's
NO_COLOR filter turns a colour into the grey of the same luminance, without it
too. Meaning never rests on colour alone: a gradient is always written next to
its ``∂J/∂x``, a status next to its word and symbol.
"""

from __future__ import annotations

from rich.style import Style

VALUE = Style(color="#87d787")
"""Values (a light green)."""
GRAD = Style(color="#ff9999")
"""Gradients (a light red)."""
BOLD = Style(bold=True)
MUTED = Style(italic=True)
"""Explanations and hints: italic, in the normal text colour (dim text fails the contrast goal)."""
STATUS_STYLE = {
    "ok": Style(color="#87d787", bold=True),
    "suspect": Style(color="#ffd75f", bold=True),
    "kink": Style(color="#ff87ff", bold=True),
    "lost": Style(color="#87d7ff", bold=True),
    "non-finite": Style(color="#ff9999", bold=True),
}
"""The finite-difference statuses; each also has its own symbol and word (engine.text.STATUS_TEXT)."""
