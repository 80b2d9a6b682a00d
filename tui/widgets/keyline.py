"""The key line at the bottom: the app's shown bindings, in one widget drawn in one go.

Textual's ``Footer`` is a container of one widget per key: it fills itself a refresh after the
first frame and composes its keys again on every ``refresh_bindings`` (each focus change, each
key greyed out or back): several frames and layouts for what is one line of text. Here the line
is worked out from ``BINDINGS`` and ``check_action`` and drawn again only when which keys can
act changes (:meth:`KeyLine.show`).
"""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.widget import Widget

BOLD = Style(bold=True)

KeyState = tuple[tuple[str, str, bool], ...]
"""(key as shown, description, can act now) of every key on the line."""


def shown_keys(app) -> KeyState:
    """The keys the line shows now: the app's bindings with ``show=True``, in their order.

    ``check_action`` decides as for Textual's footer: True shows a key, None shows it greyed
    out (it cannot act now), False leaves it out.
    """
    keys = []
    seen = set()
    # every class's own BINDINGS, bases first, as Textual merges them: a subclass may add keys,
    # or bind a key again (a browser session labels w "Download"), which keeps the key's place
    by_key: dict[str, Binding] = {}
    for cls in reversed(type(app).__mro__):
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding):
                for key in binding.key.split(","):
                    by_key[key.strip()] = binding
    for binding in by_key.values():
        if not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        state = app.check_action(binding.action, ())
        if state is False:
            continue
        keys.append((app.get_key_display(binding), binding.description, state is not None))
    return tuple(keys)


class KeyLine(Widget):
    """One line of keys: `` n Next  p Back …``; a key that cannot act now is in italics, greyed."""

    COMPONENT_CLASSES = {"keyline--key", "keyline--description", "keyline--disabled"}

    # The key in the footer's colours; a key that cannot act now: italic and a lighter grey,
    # still 4.5 : 1 on the footer's background (Textual's dim is 3.8 : 1).
    DEFAULT_CSS = """
    KeyLine {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyLine > .keyline--key {
        color: $footer-key-foreground;
        text-style: bold;
    }
    KeyLine > .keyline--description {
        color: $footer-description-foreground;
    }
    KeyLine > .keyline--disabled {
        color: #a0a0a0;
        text-style: italic;
    }
    """

    def __init__(self, keys: KeyState = (), **kwargs) -> None:
        super().__init__(**kwargs)
        self._keys = keys

    @property
    def keys(self) -> KeyState:
        """What the line shows."""
        return self._keys

    def show(self, keys: KeyState) -> None:
        """Show these keys; draws again only if they differ from what is shown (the size stays)."""
        if keys != self._keys:
            self._keys = keys
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keyline--key", partial=True)
        description_style = self.get_component_rich_style("keyline--description", partial=True)
        disabled = self.get_component_rich_style("keyline--disabled", partial=True)
        # " n Next  p Back …" as Textual's footer writes it; on a narrow screen "n Next p Back …",
        # rather than the last keys (help, quit) cut off
        pad = " " if sum(len(k) + len(d) + 3 for k, d, _ in self._keys) <= self.size.width else ""
        parts: list[tuple[str, Style]] = []
        for key, description, active in self._keys:
            parts.append((f"{pad}{key} ", key_style if active else disabled + BOLD))
            parts.append((f"{description} ", description_style if active else disabled))
        return Text.assemble(*parts, no_wrap=True, overflow="crop")
