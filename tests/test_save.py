"""Saving edited inputs back into the graph file: in place, atomically, never over someone's change."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engine import load_bytes, load_path
from engine.graphfile import ChangedOnDisk, SaveError, save_inputs
from paths import ROOT


COMMENTED = """\
# a graph with everything a person might write
title: 'quoted title'   # trailing comment
inputs:
  a:   5        # spaced
  b: {value: 3, note: "the b of the lecture"}
  c: 2.0e+0
  d: -1
nodes:
  # nodes in any order
  J: 3 * v
  v: a + u
  u: b*c + d
output: J
"""


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "g.yaml"
    path.write_text(COMMENTED)
    return path


def test_only_the_edited_values_change_byte_for_byte(graph_file):
    loaded = load_path(graph_file)
    new = save_inputs(loaded, {"a": 7.0, "b": 0.25, "c": 2.0, "d": -1.0})
    before = COMMENTED.splitlines(keepends=True)
    after = graph_file.read_text().splitlines(keepends=True)
    assert len(before) == len(after)
    differ = [k for k, (x, y) in enumerate(zip(before, after)) if x != y]
    assert differ == [3, 4]
    assert after[3] == "  a:   7        # spaced\n"
    assert after[4] == '  b: {value: 0.25, note: "the b of the lecture"}\n'
    assert new.graph.input_by_name["a"].value == 7.0
    assert load_path(graph_file).graph.input_by_name["b"].value == 0.25


def test_saved_values_round_trip_exactly(graph_file):
    values = {"a": 0.1 + 0.2, "b": -1e-300, "c": 123456789.123, "d": 1e22}
    save_inputs(load_path(graph_file), values)
    again = load_path(graph_file).graph
    assert {i.name: i.value for i in again.inputs} == values


def test_crlf_and_bom_are_kept(tmp_path):
    path = tmp_path / "w.yaml"
    data = b"\xef\xbb\xbfinputs:\r\n  a: 5\r\nnodes:\r\n  J: 2 * a\r\n"
    path.write_bytes(data)
    save_inputs(load_path(path), {"a": 6.0})
    assert path.read_bytes() == data.replace(b"a: 5", b"a: 6")


def test_a_change_on_disk_is_never_overwritten_silently(graph_file):
    loaded = load_path(graph_file)
    graph_file.write_text(COMMENTED + "# someone else's line\n")
    with pytest.raises(ChangedOnDisk):
        save_inputs(loaded, {"a": 9.0})
    assert graph_file.read_text().endswith("# someone else's line\n")
    save_inputs(loaded, {"a": 9.0}, overwrite_changes=True)
    assert "a:   9" in graph_file.read_text()


def test_an_interrupted_write_leaves_the_old_file_whole(graph_file, monkeypatch):
    loaded = load_path(graph_file)

    def power_cut(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", power_cut)
    with pytest.raises(SaveError, match="Input/output error"):
        save_inputs(loaded, {"a": 9.0})
    assert graph_file.read_text() == COMMENTED
    assert [p.name for p in graph_file.parent.iterdir()] == ["g.yaml"]  # no temporary file left


def test_a_full_disk_changes_nothing(graph_file, monkeypatch):
    loaded = load_path(graph_file)

    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SaveError, match="No space left on device"):
        save_inputs(loaded, {"a": 9.0})
    assert graph_file.read_text() == COMMENTED
    assert [p.name for p in graph_file.parent.iterdir()] == ["g.yaml"]


def test_a_read_only_folder_is_a_clear_error(graph_file, monkeypatch):
    import tempfile

    loaded = load_path(graph_file)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)  # root ignores chmod, so refuse as the OS would
    with pytest.raises(SaveError, match="Permission denied"):
        save_inputs(loaded, {"a": 9.0})
    assert graph_file.read_text() == COMMENTED


def test_a_vanished_folder_is_a_clear_error(graph_file):
    loaded = load_path(graph_file)
    shutil.rmtree(graph_file.parent)
    with pytest.raises(SaveError, match="does not exist"):
        save_inputs(loaded, {"a": 9.0}, graph_file.parent / "again.yaml")


def test_the_built_in_graph_saves_only_under_a_new_name(tmp_path):
    from engine import load_builtin

    loaded = load_builtin()
    with pytest.raises(SaveError, match="built-in"):
        save_inputs(loaded, {"a": 7.0})
    target = tmp_path / "mine.yaml"
    new = save_inputs(loaded, {"a": 7.0, "b": 3.0, "c": 2.0}, target)
    assert new.path == target and new.graph.input_by_name["a"].value == 7.0
    lecture = (ROOT / "graphs" / "lecture.yaml").read_text()
    assert target.read_text() == lecture.replace("  a: 5\n", "  a: 7\n")
    assert (ROOT / "engine" / "data" / "lecture.yaml").read_text() == lecture


def test_file_mode_is_kept(graph_file):
    graph_file.chmod(0o640)
    save_inputs(load_path(graph_file), {"a": 1.0})
    assert graph_file.stat().st_mode & 0o777 == 0o640


def test_every_example_saves_and_reloads(tmp_path):
    for example in sorted((ROOT / "graphs").glob("*.yaml")):
        path = tmp_path / example.name
        shutil.copy(example, path)
        loaded = load_path(path)
        values = {i.name: i.value + 1.5 for i in loaded.graph.inputs}
        save_inputs(loaded, values)
        assert {i.name: i.value for i in load_path(path).graph.inputs} == values
        original = example.read_text().splitlines()
        saved = path.read_text().splitlines()
        assert len(original) == len(saved)
        changed = sum(a != b for a, b in zip(original, saved))
        assert changed == len(values)


def test_load_bytes_knows_no_file():
    loaded = load_bytes(b"inputs:\n  a: 1\nnodes:\n  J: a\n", "x")
    with pytest.raises(SaveError):
        save_inputs(loaded, {"a": 2.0})
