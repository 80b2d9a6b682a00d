"""Reading and writing graph files safely: huge numbers, FIFOs and devices, links and owners, precision.

Each test here was a reproducer of issue 11 before it was fixed.
"""

from __future__ import annotations

import difflib
import math
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from engine import SourceError, load_bytes, load_path
from engine.graphfile import save_inputs
from paths import LECTURE, ROOT

_SCRIPT = Path(sys.executable).with_name("cgtui")
COMMAND = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "tui"]


def cgtui(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, cwd=ROOT, timeout=timeout,
                          env={**os.environ, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8")


def one_refusal_line(proc: subprocess.CompletedProcess, path: Path) -> str:
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"cgtui: {path}: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    return proc.stderr


# --------------------------------------------------------------------------- huge hex and octal numbers

HUGE = {
    "input-hex": ("inputs:\n  a: 0x" + "f" * 300 + "\nnodes:\n  J: 2 * a\n", 2, "input 'a'"),
    "input-oct": ("inputs:\n  a: {value: 0o" + "7" * 400 + "}\nnodes:\n  J: 2 * a\n", 2, "input 'a'"),
    "node-oct": ("inputs:\n  a: 1\nnodes:\n  J: 0o" + "7" * 400 + "\n", 4, "node 'J'"),
    "node-hex-in-expression": ("inputs:\n  a: 1\nnodes:\n  J: 0x" + "f" * 300 + " * a\n", 4, "node 'J'"),
    "alpha-hex": ("inputs:\n  a: 1\nnodes:\n  J: 2 * a\nalpha: 0x" + "1" * 300 + "\n", 5, "alpha"),
}


@pytest.mark.parametrize("case", sorted(HUGE))
def test_a_huge_hex_or_octal_number_is_refused_with_its_line(case):
    text, line, who = HUGE[case]
    with pytest.raises(SourceError) as caught:
        load_bytes(text.encode(), "huge.yaml")
    message = str(caught.value)
    assert message.startswith(f"huge.yaml: line {line}: ") and who in message
    assert "too large" in message or "positive number" in message
    assert len(message) < 300  # the 300 digits are not all quoted back


def test_a_huge_hex_number_from_the_command_line(tmp_path):
    path = tmp_path / "hex.yaml"
    path.write_text(HUGE["input-hex"][0])
    err = one_refusal_line(cgtui(str(path), "--json"), path)
    assert "line 2" in err and "too large" in err


# --------------------------------------------------------------------------- only regular files are read


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    with pytest.raises(SourceError, match="is a FIFO"):
        load_path(fifo)
    err = one_refusal_line(cgtui(str(fifo), "--json", timeout=20), fifo)  # it used to hang forever
    assert "is a FIFO" in err


def test_a_file_swapped_for_a_fifo_after_the_check_is_refused_on_the_open_file(tmp_path, monkeypatch):
    fifo = tmp_path / "f.yaml"
    os.mkfifo(fifo)
    regular = (tmp_path / "r.yaml")
    regular.write_text("x")
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda path, *a, **k: real_stat(regular) if Path(path) == fifo else real_stat(path, *a, **k))
    with pytest.raises(SourceError, match="is a FIFO"):
        load_path(fifo)


def test_a_device_and_a_directory_are_refused_naming_their_kind(tmp_path):
    with pytest.raises(SourceError, match="is a character device"):
        load_path("/dev/null")
    with pytest.raises(SourceError, match="is a directory"):
        load_path(tmp_path)
    err = one_refusal_line(cgtui("/dev/null", "--trace"), Path("/dev/null"))
    assert "is a character device" in err


def test_a_symlink_to_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "f"
    os.mkfifo(fifo)
    (tmp_path / "g.yaml").symlink_to(fifo)
    with pytest.raises(SourceError, match="is a FIFO"):
        load_path(tmp_path / "g.yaml")


def test_saving_over_a_fifo_neither_hangs_nor_writes_into_it(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(LECTURE.read_text())
    loaded = load_path(path)
    path.unlink()
    os.mkfifo(path)
    with pytest.raises(Exception) as caught:  # ChangedOnDisk: it is not what was read
        save_inputs(loaded, {"a": 7.0, "b": 3.0, "c": 2.0})
    assert type(caught.value).__name__ == "ChangedOnDisk"
    with pytest.raises(Exception, match="FIFO"):
        save_inputs(loaded, {"a": 7.0, "b": 3.0, "c": 2.0}, overwrite_changes=True)
    assert stat.S_ISFIFO(path.stat().st_mode)


# --------------------------------------------------------------------------- saving keeps links, owner, mode and precision


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "real.yaml"
    path.write_text(LECTURE.read_text())
    return path


def test_saving_through_a_symlink_writes_its_target(graph_file, tmp_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(graph_file.name)  # relative, as people make them
    save_inputs(load_path(link), {"a": 7.0, "b": 3.0, "c": 2.0})
    assert link.is_symlink() and os.readlink(link) == graph_file.name
    assert "  a: 7\n" in graph_file.read_text()
    assert [p.name for p in sorted(tmp_path.iterdir())] == ["link.yaml", "real.yaml"]  # no temporary file left


def test_saving_a_hard_linked_file_keeps_the_link(graph_file, tmp_path):
    other = tmp_path / "other.yaml"
    os.link(graph_file, other)
    inode = graph_file.stat().st_ino
    save_inputs(load_path(graph_file), {"a": 7.0, "b": 3.0, "c": 2.0})
    assert graph_file.stat().st_ino == inode == other.stat().st_ino
    assert graph_file.stat().st_nlink == 2
    assert "  a: 7\n" in other.read_text()
    assert other.read_text() == LECTURE.read_text().replace("  a: 5\n", "  a: 7\n")


def test_a_full_disk_leaves_a_hard_linked_file_as_it_was(graph_file, tmp_path, monkeypatch):
    os.link(graph_file, tmp_path / "other.yaml")
    loaded = load_path(graph_file)

    def full(fd, offset, length):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "posix_fallocate", full)
    with pytest.raises(Exception, match="No space left on device"):
        save_inputs(loaded, {"a": 12345678.25, "b": 3.0, "c": 2.0})  # longer than "5": needs room
    assert graph_file.read_text() == LECTURE.read_text()


def test_saving_keeps_the_mode(graph_file):
    graph_file.chmod(0o640)
    save_inputs(load_path(graph_file), {"a": 7.0, "b": 3.0, "c": 2.0})
    assert stat.S_IMODE(graph_file.stat().st_mode) == 0o640


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to someone else")
def test_saving_keeps_the_owner(graph_file):
    os.chown(graph_file, 12345, 23456)
    graph_file.chmod(0o6640)  # set-id bits too: chown clears them, so the mode comes after
    save_inputs(load_path(graph_file), {"a": 7.0, "b": 3.0, "c": 2.0})
    st = graph_file.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456)
    assert stat.S_IMODE(st.st_mode) == 0o6640
    assert "  a: 7\n" in graph_file.read_text()


def test_saving_asks_for_the_owner_back(graph_file, monkeypatch):
    st = graph_file.stat()
    calls = []
    real_stat = os.stat

    def stat_of(path, *args, **kwargs):  # the temporary file seems to belong to someone else
        result = real_stat(path, *args, **kwargs)
        if Path(path).name.startswith(".real.yaml."):
            return os.stat_result((result.st_mode, result.st_ino, result.st_dev, result.st_nlink,
                                   st.st_uid + 1, st.st_gid + 1, *tuple(result)[6:]))
        return result

    monkeypatch.setattr(os, "stat", stat_of)
    monkeypatch.setattr(os, "chown", lambda path, uid, gid: calls.append((uid, gid)))
    save_inputs(load_path(graph_file), {"a": 7.0, "b": 3.0, "c": 2.0})
    assert calls == [(st.st_uid, st.st_gid)]


def test_a_refused_chown_does_not_stop_the_save(graph_file, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(1, "Operation not permitted")

    os.chown(graph_file, os.getuid() + 1 if os.geteuid() == 0 else os.getuid(), os.getgid())
    monkeypatch.setattr(os, "chown", refuse)
    save_inputs(load_path(graph_file), {"a": 7.0, "b": 3.0, "c": 2.0})
    assert "  a: 7\n" in graph_file.read_text()


def test_negative_zero_is_saved_as_negative_zero(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text("inputs:\n  a: 1\nnodes:\n  J: 1 / a\n")
    save_inputs(load_path(path), {"a": -0.0})
    assert path.read_text() == "inputs:\n  a: -0.0\nnodes:\n  J: 1 / a\n"
    value = load_path(path).graph.input_by_name["a"].value
    assert value == 0 and math.copysign(1, value) == -1


def test_zero_and_negative_zero_are_different_values_to_save(tmp_path):
    path = tmp_path / "inv.yaml"
    path.write_text("inputs:\n  a: 0\nnodes:\n  J: 1 / a\n")
    save_inputs(load_path(path), {"a": -0.0})
    assert "  a: -0.0\n" in path.read_text()


def test_floats_are_saved_bit_for_bit(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text("inputs:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\nnodes:\n  J: a + b + c + d\n")
    values = {"a": 1 / 3, "b": -2.5e-308, "c": 5e-324, "d": 123456789012345678.0}
    save_inputs(load_path(path), values)
    again = load_path(path).graph.input_by_name
    assert {n: again[n].value.hex() for n in values} == {n: v.hex() for n, v in values.items()}


# --------------------------------------------------------------------------- refusals that name the line


def test_nul_bytes_are_refused_with_their_line():
    with pytest.raises(SourceError) as caught:
        load_bytes(b"inputs:\n  a: 1\nnodes:\n  J: a\x00\n", "nul.yaml")
    assert str(caught.value).startswith("nul.yaml: line 4: ") and "binary" in str(caught.value)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_are_refused_on_line_1_saying_so(codec):
    data = "inputs:\n  a: 1\nnodes:\n  J: a\n".encode(codec)
    with pytest.raises(SourceError) as caught:
        load_bytes(data, "wide.yaml")
    message = str(caught.value)
    assert message.startswith("wide.yaml: line 1: ") and ("UTF-16" in message or "UTF-32" in message)
    assert "UTF-8" in message


def test_a_long_cycle_is_named_briefly():
    n = 50_000
    text = "inputs:\n  a: 1\nnodes:\n" + "".join(f"  u{k}: u{k % n + 1} + a\n" for k in range(1, n + 1))
    with pytest.raises(SourceError) as caught:
        load_bytes(text.encode(), "cycle.yaml")
    message = str(caught.value)
    assert len(message) < 200, message[:300]
    assert message.startswith("cycle.yaml: line 4: cycle: u1 → ")
    assert message.endswith("→ u1 (50,000 nodes)")
    assert " … " in message


def test_a_short_cycle_is_named_in_full():
    text = "inputs:\n  a: 1\nnodes:\n  u: w + a\n  v: u\n  w: v\n"
    with pytest.raises(SourceError) as caught:
        load_bytes(text.encode(), "cycle.yaml")
    assert str(caught.value) == "cycle.yaml: line 4: cycle: u → v → w → u"


# --------------------------------------------------------------------------- U+2028, U+2029 and NEL are ordinary characters in a comment

SEPARATORS = ["\u2028", "\u2029", "\u0085"]


@pytest.mark.parametrize("sep", SEPARATORS)
def test_line_separators_inside_comments_are_ordinary_characters(sep, tmp_path):
    text = (f"# a header{sep}with: a separator\n"
            f"inputs:\n  a: 1   # one{sep}two: three\n  b: 2\n"
            f"nodes:  #{sep}x\n  J: a * b  # {sep}-{sep}\n")
    path = tmp_path / "sep.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_path(path)
    assert [i.name for i in loaded.graph.inputs] == ["a", "b"]
    assert loaded.graph.output == "J"
    save_inputs(loaded, {"a": 7.0, "b": 2.0})
    assert path.read_text(encoding="utf-8") == text.replace("a: 1 ", "a: 7 ")  # every other character kept


def test_a_long_comment_full_of_separators_is_one_comment():
    from engine.graphfile import _comment_separators_blanked

    text = "inputs: {a: 1}  # \u2028b: 2\nnodes: {J: a}\n# " + "\u2028x: y" * 20_000 + "\n"
    loaded = load_bytes(text.encode(), "long.yaml")
    assert [i.name for i in loaded.graph.inputs] == ["a"] and loaded.text == text
    assert _comment_separators_blanked(text) == text.replace("\u2028", " ")


def test_a_hash_inside_quotes_does_not_start_a_comment():
    text = "title: 'x # y\u2028z: 1'\ninputs:\n  a: 1\nnodes:\n  J: a\n"
    loaded = load_bytes(text.encode(), "q.yaml")  # the quoted scalar is left to YAML as it was
    assert loaded.graph.title is not None and loaded.graph.title.startswith("x # y")


# --------------------------------------------------------------------------- "did you mean" stays cheap


def _counting_close_matches(monkeypatch) -> list[int]:
    sizes: list[int] = []
    real = difflib.get_close_matches

    def counting(word, possibilities, *args, **kwargs):
        possibilities = list(possibilities)
        sizes.append(len(possibilities))
        return real(word, possibilities, *args, **kwargs)

    monkeypatch.setattr(difflib, "get_close_matches", counting)
    return sizes


def _long_names_file(bad_operand: str | None, bad_param: str | None, count: int = 5300) -> bytes:
    names = [f"quite_a_long_descriptive_variable_name_number_{k:05d}_" + "x" * 100 for k in range(count)]
    half = count // 2
    body = ["inputs:"] + [f"  {n}: 1" for n in names[:half]] + ["nodes:"]
    body += [f"  {n}: {names[k - half]} + 1" for k, n in enumerate(names[half:], start=half)]
    if bad_operand:
        body.append(f"  last: {bad_operand} + 1")
    if bad_param:
        body.append(f"params: [{names[0]}, {bad_param}]")
    return ("\n".join(body) + "\n").encode()


def test_did_you_mean_compares_a_bounded_number_of_names(monkeypatch):
    data = _long_names_file("quite_a_long_descriptive_variable_name_number_00007_" + "x" * 99, None)
    assert len(data) > 900_000
    sizes = _counting_close_matches(monkeypatch)
    with pytest.raises(SourceError) as caught:
        load_bytes(data, "big.yaml")
    assert "did you mean 'quite_a_long_descriptive_variable_name_number_00007_" in str(caught.value)
    assert sizes and max(sizes) <= 200


def test_did_you_mean_for_params_compares_a_bounded_number_of_names(monkeypatch):
    data = _long_names_file(None, "quite_a_long_descriptive_variable_name_number_00009_" + "x" * 101)
    sizes = _counting_close_matches(monkeypatch)
    with pytest.raises(SourceError) as caught:
        load_bytes(data, "big.yaml")
    assert "did you mean 'quite_a_long_descriptive_variable_name_number_00009_" in str(caught.value)
    assert sizes and max(sizes) <= 200


def test_did_you_mean_still_finds_a_typo_in_a_small_graph():
    with pytest.raises(SourceError, match="did you mean 'alpha1'"):
        load_bytes(b"inputs:\n  alpha1: 1\n  beta: 2\nnodes:\n  J: alhpa1 * beta\n", "t.yaml")
    with pytest.raises(SourceError, match="did you mean 'w1'"):
        load_bytes(b"inputs:\n  w1: 1\nnodes:\n  J: w1\nparams: [w11]\n", "t.yaml")


def test_long_expressions_are_walked_once(monkeypatch):
    """The depth of a long expression is measured while it is converted, not by a walk of its own first."""
    from engine import expr as ex

    walks = []
    real = ex._ast_depth
    monkeypatch.setattr(ex, "_ast_depth", lambda tree: walks.append(1) or real(tree))
    deep = "(" * 24 + "a" + "+a)" * 24
    body = "+".join([deep] * 40)
    text = "inputs:\n  a: 1\nnodes:\n" + "".join(f"  n{k}: {body}\n" for k in range(20)) + "  bad: a +\n"
    with pytest.raises(SourceError, match="line 24: node 'bad': syntax error"):
        load_bytes(text.encode(), "long.yaml")
    assert walks == []
    too_deep = "inputs:\n  a: 1\nnodes:\n  J: " + "+".join(["a"] * 300) + "\n"
    with pytest.raises(SourceError, match="nested too deeply \\(more than 200 levels\\)"):
        load_bytes(too_deep.encode(), "deep.yaml")
