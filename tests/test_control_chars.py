"""No byte from a file or a file name reaches the terminal as a control character.

A hostile title retitles the terminal (OSC 2), a description sets the user's
clipboard (OSC 52), a file name colours or splits the one-line refusal. Every
output mode, every error message and the app's screen and title show them escaped.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from engine.safe import json_printable, printable
from tui.cli import run
from test_cli import COMMAND, ENV
from tui_helpers import make_app, screen_text, widget_text

RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters that must never be written: C0 except newline and tab, DEL, C1 (ESC included)."""

# YAML allows these escaped in double-quoted strings; \e is ESC, \a is BEL, \x9b is CSI
HOSTILE = r'''title: "T\e]2;PWNED\a\e[2J\x9b31m"
description: "D\e]52;c;cm0gLXJmIH4K\a\rover"
inputs:
  a: {value: 5, note: "N\e[31mred\x07\x7f"}
  b: 3
  c: 2
nodes:
  u: {expr: b * c, note: "M\e]8;;http://x\e\\link"}
  v: a + u
  J: 3 * v
'''
HOSTILE_NAME = "evil\x1b[31m\nname.yaml"


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    path = tmp_path / HOSTILE_NAME
    path.write_text(HOSTILE)
    return path


def test_printable_escapes_every_control_character():
    assert printable("a\x1b]2;x\x07b") == "a\\x1b]2;x\\x07b"
    assert printable("\x9b31m\x7f\x00") == "\\x9b31m\\x7f\\x00"
    assert printable("line\n\tnext\r") == "line\n\tnext\\r"
    assert printable("line\n\tnext", one_line=True) == "line\\n\\tnext"
    assert printable("J = 3(a + bc) → 33 ∂J/∂b") == "J = 3(a + bc) → 33 ∂J/∂b"
    text = json.dumps({"t": "x\x9by\x7f\u2028"}, ensure_ascii=False)
    assert RAW.search(text)
    assert not RAW.search(json_printable(text)) and json.loads(json_printable(text)) == {"t": "x\x9by\x7f\u2028"}


@pytest.mark.parametrize("mode", ["--trace", "--markdown", "--json"])
def test_every_output_mode_escapes_the_file(hostile, mode):
    proc = subprocess.run([*COMMAND, str(hostile), mode], capture_output=True, env=ENV, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode("utf-8")
    assert not RAW.search(out), RAW.findall(out)
    assert proc.stderr == b""
    assert "PWNED" in out and "\\x1b]2;PWNED" in out or "\\u001b]2;PWNED" in out
    if mode == "--json":
        doc = json.loads(out)
        assert doc["title"] == "T\x1b]2;PWNED\x07\x1b[2J\x9b31m"  # the same data, escaped only on the wire
    else:
        assert "\\x1b]52;c;" in out and "\\x9b31m" in out


@pytest.mark.parametrize("mode", ["--trace", "--json", None])
def test_a_refusal_naming_a_hostile_file_is_one_safe_line(tmp_path, mode, capsys):
    bad = tmp_path / HOSTILE_NAME
    bad.write_text("inputs:\n  a: 1\nnodes:\n  J: a + zz\n")
    status = run([str(bad)] + ([mode] if mode else []))
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.startswith("cgtui: ") and err.count("\n") == 1, err
    assert not RAW.search(err), err
    assert "evil\\x1b[31m\\nname.yaml" in err


def test_a_usage_error_quoting_control_characters_is_one_safe_line(capsys):
    status = run(["--set", "a\x1b]2;x\x07=1\n2"])
    out, err = capsys.readouterr()
    assert status == 2
    assert err.count("\n") == 1 and not RAW.search(err), err


async def test_the_app_shows_the_hostile_file_escaped(hostile):
    app = make_app(hostile, watch_file=False)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        screen = screen_text(app)
        assert not RAW.search(screen), RAW.findall(screen)
        assert "\\x1b]2;PWNED" in widget_text(app, "#title")
        for title in (app.title, app.sub_title, app.screen.title or "", app.screen.sub_title or ""):
            assert not RAW.search(title)
        # the file breaks: the refusal naming the file is one line, escaped
        hostile.write_text("inputs: [\n")
        app.watch_file = True
        await app.check_disk(force=True).wait()  # the reload runs in a thread
        await pilot.pause()
        message = widget_text(app, "#message")
        assert not RAW.search(message)
        assert "evil\\x1b[31m\\nname.yaml" in message
        assert not RAW.search(screen_text(app))


async def test_the_conflict_and_save_as_dialogs_show_the_file_name_escaped(hostile):
    from tui.widgets.dialogs import ConflictScreen, SaveAsScreen

    app = make_app(hostile, watch_file=False)
    async with app.run_test(size=(160, 40)) as pilot:
        app.session.set_input("a", 7.0)
        hostile.write_text(HOSTILE + "# changed elsewhere\n")
        await pilot.press("w")
        await pilot.pause()  # the dialog is drawn a refresh after it is pushed (missed on a loaded machine)
        assert isinstance(app.screen, ConflictScreen)
        assert not RAW.search(screen_text(app)) and "evil\\x1b[31m\\nname.yaml" in screen_text(app)
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, SaveAsScreen)
        assert not RAW.search(screen_text(app)) and "evil\\x1b[31m\\nname.yaml" in screen_text(app)
        await pilot.press("escape")
        assert app.session.unsaved


@pytest.mark.parametrize("text", [
    'inputs:\n  a: 1\nnodes:\n  J: "a + \\e]2;PWNED\\a"\n',  # an expression quoted in the refusal
    'inputs:\n  a: 1\nnodes:\n  J: a\n"\\e]52;c;eA==\\a": 1\n',  # an unknown key quoted in the refusal
    'title: "\\x9b2J"\ninputs:\n  a: "\\e[31m"\nnodes:\n  J: a\n',  # a value that is not a number
])
def test_a_refusal_quoting_the_file_is_one_safe_line(tmp_path, text, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    assert run([str(bad), "--trace"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("cgtui: ") and err.count("\n") == 1, err
    assert not RAW.search(err), err
