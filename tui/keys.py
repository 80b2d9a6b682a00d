"""One key table: each binding carries what the help page says of it.

``CgtuiApp.BINDINGS`` and ``GraphTree.BINDINGS`` are lists of :class:`Key`; the help page
(tui/widgets/help.py) is built from them, so a key added there, with its ``help`` and
``section``, is on the help page too. A binding without ``help`` (``right`` beside ``n``)
adds its key to the row of the binding with the same action.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key(Binding):
    """A Textual binding with its line on the help page."""

    help: str = ""
    """What the key does, in a line or two (the short ``description`` is the key line's)."""
    section: str = ""
    """The help page's heading it is listed under."""
    help_with: str = ""
    """Another action whose help row this key joins ("]" joins "[" on "[  ]")."""


SHOWN = {"right": "→", "left": "←", "up": "↑", "down": "↓", "left_square_bracket": "[",
         "right_square_bracket": "]", "minus": "-", "plus": "+", "equals_sign": "=", "question_mark": "?",
         "escape": "esc", "full_stop": ".", "comma": ","}
"""How the help page and the README write a key that Textual names otherwise."""


def shown(key: str) -> str:
    """A Textual key name as the help page and the README write it (``left_square_bracket`` → ``[``)."""
    return SHOWN.get(key, key)


def help_rows(*bindings: list) -> dict[str, list[tuple[list[str], str]]]:
    """The help page's rows, by section, in the order the bindings give them.

    Args:
        bindings: Lists of bindings (a class's ``BINDINGS``), the app's first. An action
            bound in several (``app.next`` on the tree) is one row with every key. A binding
            with no ``help`` that joins no row gets its own, from its description, under
            "More keys": no key goes unlisted.

    Returns:
        Each section's rows: the keys as shown, and what they do.
    """
    rows: dict[str, dict[str, tuple[list[str], list[str]]]] = {}
    section_of: dict[str, str] = {}  # action -> the section its row is in
    rest = []
    for binding in (b for group in bindings for b in group):
        action = binding.action.removeprefix("app.")
        if isinstance(binding, Key) and binding.help:
            section_of.setdefault(action, binding.section or "More keys")
            row = rows.setdefault(section_of[action], {}).setdefault(action, ([], []))
            row[1][:] = [binding.help]  # a later binding of the action (a subclass's) says it anew
        rest.append(binding)
    for binding in rest:
        action = binding.action.removeprefix("app.")
        joins = binding.help_with if isinstance(binding, Key) and binding.help_with else action
        if joins not in section_of:
            section_of[joins] = "More keys"
            rows.setdefault("More keys", {})[joins] = ([], [binding.description])
        keys = rows[section_of[joins]][joins][0]
        keys.extend(k for k in (shown(k.strip()) for k in binding.key.split(",")) if k not in keys)
    return {section: [(keys, " ".join(texts)) for keys, texts in actions.values()]
            for section, actions in rows.items()}
