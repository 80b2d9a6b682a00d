"""Text from a file, made safe to write to a terminal.

A graph file's title, description and notes, and a file's own name, may hold
bytes that a terminal obeys rather than shows: ESC starts escape sequences
(``ESC ] 2 ; … BEL`` retitles the window, ``ESC ] 52 ; c ; …`` sets the
clipboard), U+009B is CSI on its own, BEL rings, CR rewrites the line. Every
output mode and every widget passes such text through :func:`printable` (or
:func:`json_printable` for JSON) at the point where it leaves for the terminal,
so no control character from a file reaches it raw.
"""

from __future__ import annotations

import re

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""C0 except tab and newline, DEL, and C1 (U+0080–U+009F)."""
_CONTROL_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f]")
"""The same, with tab and newline as well: a one-line message stays one line."""
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\x1b": "\\x1b"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _NAMED.get(char) or f"\\x{ord(char):02x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """``text`` with every control character written out as an escape (``\\x1b``, ``\\x9b``).

    Args:
        text: Text that may come from a file or a file name.
        one_line: Escape newline and tab too (``\\n``, ``\\t``), for one-line messages,
            titles and labels; otherwise they are kept, as in ``--trace`` and ``--markdown``.
    """
    pattern = _CONTROL_ONE_LINE if one_line else _CONTROL
    return pattern.sub(_escape, text) if pattern.search(text) else text


_JSON_RAW = re.compile("[\x7f-\x9f\u2028\u2029]")
"""What ``json.dumps(..., ensure_ascii=False)`` leaves raw that a terminal may obey (C0 it escapes itself)."""


def json_printable(text: str) -> str:
    """JSON text with DEL and C1 characters (and U+2028/9) as ``\\u00XX`` escapes: the same JSON, safe to print.

    Such characters can only stand inside JSON strings, where ``\\uXXXX`` means the same character.
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
