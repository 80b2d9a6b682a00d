"""Reading graph files: the only module that touches the file system.

The YAML is read as a stream of events (PyYAML, with libyaml when present), not
loaded into Python objects, so that:

* nothing in a file is ever constructed or executed (tags, anchors and aliases
  are refused before anything is built);
* nesting is walked with an explicit stack, never recursion;
* scalars are resolved by YAML 1.2's core schema (``1e-3`` is a number, ``yes``
  is text) by this module, not by the YAML library;
* every value keeps its line and its character offsets, so that an edited input
  can later be written back in place with every comment and all formatting kept.
"""

from __future__ import annotations

import gc
import math
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import yaml

from engine.errors import GraphError
from engine.expr import number_text
from engine.graph import Graph, Input, NodeSource, build_graph

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NESTING = 32
BUILTIN_NAME = "(built-in lecture graph)"
TOP_KEYS = ("title", "description", "inputs", "nodes", "output", "params", "alpha")

try:  # libyaml is ten times faster when PyYAML was built with it
    _Loader = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _Loader = yaml.SafeLoader

_ScalarEvent, _AliasEvent, _DocumentStartEvent = yaml.ScalarEvent, yaml.AliasEvent, yaml.DocumentStartEvent
_MappingStartEvent, _MappingEndEvent = yaml.MappingStartEvent, yaml.MappingEndEvent
_SequenceStartEvent, _SequenceEndEvent = yaml.SequenceStartEvent, yaml.SequenceEndEvent


@dataclass(frozen=True)
class LoadedGraph:
    """A graph with the text it was read from.

    Attributes:
        graph: The checked graph.
        source: How to name it in messages: a path, or :data:`BUILTIN_NAME`.
        text: The file's text, kept so that saving can replace values in place.
        path: The file, or None for the built-in graph.
    """

    graph: Graph
    source: str
    text: str
    path: Path | None
    bom: bool = False


class SourceError(Exception):
    """A graph that cannot be used, with where it came from; ``str()`` is the one-line message."""

    def __init__(self, source: str, error: GraphError) -> None:
        super().__init__(error.describe(source))
        self.source = source
        self.error = error


# --------------------------------------------------------------------------- public entry points


def load_path(path: str | os.PathLike[str]) -> LoadedGraph:
    """Read and check a graph file.

    Raises:
        SourceError: for a file that cannot be read or used; its text names the file.
    """
    p = Path(path)
    source = str(path)
    try:
        if p.is_dir():
            raise GraphError("is a folder, not a graph file")
        size = p.stat().st_size
        if size > MAX_FILE_BYTES:
            raise GraphError(f"file is too large ({size / 1048576:.1f} MiB; at most 20 MiB)")
        with p.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise SourceError(source, GraphError("no such file")) from None
    except PermissionError:
        raise SourceError(source, GraphError("permission denied")) from None
    except GraphError as err:
        raise SourceError(source, err) from None
    except OSError as err:
        raise SourceError(source, GraphError(f"cannot read the file ({err.strerror or err})")) from None
    return load_bytes(data, source, p)


def load_builtin() -> LoadedGraph:
    """The lecture graph shipped inside the package (a copy of ``graphs/lecture.yaml``)."""
    data = resources.files("engine").joinpath("data", "lecture.yaml").read_bytes()
    return load_bytes(data, BUILTIN_NAME, None)


def load_bytes(data: bytes, source: str, path: Path | None = None) -> LoadedGraph:
    """Decode and check graph-file bytes; ``source`` names them in messages."""
    try:
        text = _decode(data)
        with _collector_paused():
            graph = parse_graph(text)
    except GraphError as err:
        raise SourceError(source, err) from None
    return LoadedGraph(graph, source, text, path, data.startswith(b"\xef\xbb\xbf"))


@contextmanager
def _collector_paused():
    """Hold Python's cyclic garbage collector while a file is read.

    Reading builds several small objects per definition (events, marks, tree
    nodes, parsed expressions), none of them in reference cycles. With the
    collector running, every 700 allocations start a collection that walks the
    young objects, and the older generations are walked again and again as the
    file grows: on a 1 MiB file that is 40 % of the reading. Reference counting
    still frees everything as usual; the collector resumes (if it was on) at the
    end, whatever happens.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise GraphError("file is too large (at most 20 MiB)")
    if not data.strip():
        raise GraphError("file is empty")
    if b"\x00" in data:
        raise GraphError("not a text file (it holds binary data)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise GraphError("not a text file (not valid UTF-8)", line) from None
    return text


# --------------------------------------------------------------------------- YAML events -> a small tree


@dataclass(slots=True)
class _Y:
    """A YAML node as read from events: a scalar, a mapping or a sequence."""

    kind: str  # "scalar" | "map" | "seq"
    line: int
    start: int
    end: int
    value: str = ""
    plain: bool = False
    items: list | None = None  # map: [(key _Y, value _Y)], seq: [_Y]


def _events_to_tree(text: str) -> _Y:
    """The YAML text as a tree of :class:`_Y`, refusing what a graph file may not hold.

    This loop runs once per event, two per definition (66,000 definitions in a
    1 MiB file), so it takes events from the parser directly rather than through
    ``yaml.parse``'s generator, dispatches on their exact class, and attaches
    each node to its parent inline.
    """
    stack: list[_Y] = []
    pending_key: list[_Y | None] = []  # per open mapping: the key read, waiting for its value
    root: _Y | None = None
    documents = 0
    loader = _Loader(text)
    try:
        next_event = loader.get_event
        while (ev := next_event()) is not None:
            cls = type(ev)
            if cls is _ScalarEvent or cls is _MappingStartEvent or cls is _SequenceStartEvent:
                mark = ev.start_mark
                line = mark.line + 1
                if ev.anchor is not None:
                    raise GraphError(f"YAML anchors ('&{ev.anchor}') are not allowed in a graph file", line)
                if ev.tag is not None:
                    raise GraphError(f"YAML tags ({ev.tag!r}) are not allowed in a graph file", line)
                if cls is _ScalarEvent:
                    node = _Y("scalar", line, mark.index, ev.end_mark.index, ev.value, ev.style in (None, ""))
                else:
                    node = _Y("map" if cls is _MappingStartEvent else "seq", line, mark.index, ev.end_mark.index, items=[])
                    if len(stack) >= MAX_NESTING:
                        raise GraphError("the YAML is nested too deeply", line)
                if stack:  # attach to the open collection
                    parent = stack[-1]
                    if parent.kind == "seq":
                        parent.items.append(node)
                    elif pending_key[-1] is None:
                        pending_key[-1] = node
                    else:
                        parent.items.append((pending_key[-1], node))
                        pending_key[-1] = None
                elif root is None:
                    root = node
                if cls is not _ScalarEvent:
                    stack.append(node)
                    pending_key.append(None)
            elif cls is _MappingEndEvent or cls is _SequenceEndEvent:
                stack.pop()
                pending_key.pop()
            elif cls is _DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise GraphError("the file holds several YAML documents; a graph file holds one", ev.start_mark.line + 1)
            elif cls is _AliasEvent:
                raise GraphError(f"YAML aliases ('*{ev.anchor}') are not allowed in a graph file", ev.start_mark.line + 1)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise GraphError(f"not valid YAML: {problem}", mark.line + 1 if mark else None) from None
    except RecursionError:  # pragma: no cover - the event parser does not recurse
        raise GraphError("the YAML is nested too deeply") from None
    finally:
        loader.dispose()
    if root is None:
        raise GraphError("file is empty")
    return root


# --------------------------------------------------------------------------- YAML 1.2 core schema

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(nan|NaN|NAN)\Z")


_NULLS = frozenset(("null", "Null", "NULL", "~", ""))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


def _resolve(node: _Y) -> object:
    """The value of a scalar by YAML 1.2's core schema: float, bool, None or str."""
    v = node.value
    if not node.plain:
        return v
    if v in _NULLS:
        return None
    if v in _BOOLS:
        return _BOOLS[v]
    if not (v[0].isdigit() or v[0] in "+-."):  # most expressions start with a name: no number
        return v
    if _INT.match(v) or _FLOAT.match(v):
        try:
            return float(v)
        except OverflowError:  # pragma: no cover - float() gives inf instead
            return math.inf
    if _OCT.match(v):
        return float(int(v[2:], 8))
    if _HEX.match(v):
        return float(int(v[2:], 16))
    if _INF.match(v):
        return -math.inf if v.startswith("-") else math.inf
    if _NAN.match(v):
        return math.nan
    return v


def _describe(value: object) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, float):
        return repr(value)
    return f"text {value!r}"


# --------------------------------------------------------------------------- schema


def _mapping(node: _Y, what: str) -> list[tuple[str, _Y, _Y]]:
    """A mapping's entries as ``(key text, key node, value node)``, refusing duplicates."""
    if node.kind != "map":
        raise GraphError(f"{what} must be a mapping of names to values", node.line)
    seen: dict[str, int] = {}
    out = []
    for key, value in node.items:
        if key.kind != "scalar":
            raise GraphError(f"a key in {what} must be a plain name", key.line)
        name = key.value
        if name in seen:
            raise GraphError(f"duplicate key {name!r} in {what} (first on line {seen[name]})", key.line, name)
        seen[name] = key.line
        out.append((name, key, value))
    return out


def _text_field(node: _Y, what: str) -> str:
    if node.kind != "scalar":
        raise GraphError(f"{what!r} must be text", node.line)
    return node.value


def _number(node: _Y, name: str) -> float:
    if node.kind != "scalar":
        raise GraphError(f"input {name!r}: the value must be a number", node.line, name)
    value = _resolve(node)
    if not isinstance(value, float) or isinstance(value, bool):
        raise GraphError(f"input {name!r}: the value must be a number, not {_describe(value)}", node.line, name)
    if not math.isfinite(value):
        raise GraphError(f"input {name!r}: the value must be a finite number, not {node.value!r}", node.line, name)
    return value


def _fields(node: _Y, owner: str, allowed: tuple[str, ...], required: str) -> dict[str, _Y]:
    fields = {}
    for key, key_node, value in _mapping(node, owner):
        if key not in allowed:
            raise GraphError(f"{owner}: unknown key {key!r} (allowed: {', '.join(allowed)})", key_node.line, key)
        fields[key] = value
    if required not in fields:
        raise GraphError(f"{owner}: the key {required!r} is missing", node.line)
    return fields


def parse_graph(text: str) -> Graph:
    """Check graph-file text and build the :class:`Graph`.

    Raises:
        GraphError: with the line where known.
    """
    root = _events_to_tree(text)
    if root.kind != "map":
        raise GraphError("a graph file must be a YAML mapping with the keys inputs, nodes (and optionally title, description, output)", root.line)
    top: dict[str, _Y] = {}
    for key, key_node, value in _mapping(root, "the file"):
        if key not in TOP_KEYS:
            raise GraphError(f"unknown top-level key {key!r} (allowed: {', '.join(TOP_KEYS)})", key_node.line, key)
        top[key] = value
    for key in ("inputs", "nodes"):
        if key not in top:
            raise GraphError(f"the top-level key {key!r} is missing", None, key)

    for key in ("inputs", "nodes"):  # say where an empty one is (build_graph cannot)
        if top[key].kind == "map" and not top[key].items:
            raise GraphError(f"{key!r} is empty: the graph needs at least one {key[:-1]}", top[key].line, key)
    inputs: list[Input] = []
    for name, key_node, value in _mapping(top["inputs"], "'inputs'"):
        note = None
        if value.kind == "map":
            fields = _fields(value, f"input {name!r}", ("value", "note"), "value")
            note = _text_field(fields["note"], "note") if "note" in fields else None
            value = fields["value"]
        number = _number(value, name)
        inputs.append(Input(name, number, key_node.line, note, (value.start, value.end)))

    nodes: list[NodeSource] = []
    for name, key_node, value in _mapping(top["nodes"], "'nodes'"):
        note = None
        if value.kind == "map":
            fields = _fields(value, f"node {name!r}", ("expr", "note"), "expr")
            note = _text_field(fields["note"], "note") if "note" in fields else None
            value = fields["expr"]
        if value.kind != "scalar":
            raise GraphError(f"node {name!r}: the expression must be text or a number", value.line, name)
        resolved = _resolve(value)
        if resolved is None or isinstance(resolved, bool):
            raise GraphError(f"node {name!r}: the expression must be text or a number, not {_describe(resolved)}", value.line, name)
        nodes.append(NodeSource(name, value.value, key_node.line, note))

    output = output_line = None
    if "output" in top:
        output = _text_field(top["output"], "output")
        output_line = top["output"].line
    title = _text_field(top["title"], "title") if "title" in top else None
    description = _text_field(top["description"], "description") if "description" in top else None
    params = _params(top["params"]) if "params" in top else []
    alpha = alpha_line = None
    if "alpha" in top:
        node = top["alpha"]
        alpha, alpha_line = _resolve(node) if node.kind == "scalar" else None, node.line
        if not isinstance(alpha, float) or isinstance(alpha, bool) or not (math.isfinite(alpha) and alpha > 0):
            raise GraphError("alpha (the learning rate) must be a positive number such as 0.1", node.line, "alpha")
    return build_graph(inputs, nodes, output, output_line, title, description, params, alpha, alpha_line)


def _params(node: _Y) -> list[tuple[str, int]]:
    """``params: [w1, w2, b]``: the names with their lines."""
    if node.kind != "seq" or not node.items:
        raise GraphError("params must be a list of input names, such as [w1, w2, b]", node.line, "params")
    out = []
    for item in node.items:
        if item.kind != "scalar":
            raise GraphError("params must be a list of input names, such as [w1, w2, b]", item.line, "params")
        out.append((item.value, item.line))
    return out


# --------------------------------------------------------------------------- writing values back


class ChangedOnDisk(Exception):
    """The file is no longer what cgtui read: saving would overwrite someone's change."""


class SaveError(Exception):
    """The file could not be written; nothing was half-written. ``str()`` is one line."""


def with_inputs(loaded: LoadedGraph, values: dict[str, float]) -> str:
    """The file's text with each changed input value replaced where it stands.

    Only the characters of the values that changed are touched: comments, key
    order, quoting and every other byte stay as they were.
    """
    text = loaded.text
    edits = []
    for i in loaded.graph.inputs:
        new = values.get(i.name, i.value)
        if new != i.value and i.span is not None:
            edits.append((i.span, number_text(float(new))))
    for (start, end), replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def disk_stamp(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None if it cannot be seen: a cheap "did it change?"."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def unchanged_on_disk(loaded: LoadedGraph) -> bool:
    """Whether the file still holds exactly the text cgtui read."""
    if loaded.path is None:
        return True
    try:
        data = loaded.path.read_bytes()
    except OSError:
        return False
    return data == _encode(loaded.text, loaded.bom)


def _encode(text: str, bom: bool) -> bytes:
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def save_inputs(loaded: LoadedGraph, values: dict[str, float], path: str | os.PathLike[str] | None = None,
                *, overwrite_changes: bool = False) -> LoadedGraph:
    """Write the input values back into the graph file, atomically.

    Args:
        loaded: The graph as read (its text and where each value stands).
        values: The input values to write.
        path: Another file to write ("save as"); by default the file read.
        overwrite_changes: Write even if the file changed on disk since it was read.

    Returns:
        The graph as now written.

    Raises:
        ChangedOnDisk: the file changed since it was read (and not ``overwrite_changes``).
        SaveError: the file or its folder cannot be written (read-only, full disk,
            vanished folder, no file to save to): nothing was changed on disk.
    """
    if path is None:
        if loaded.path is None:
            raise SaveError("the built-in lecture graph has no file: save it under a name of your own")
        target = loaded.path
        if not overwrite_changes and not unchanged_on_disk(loaded):
            raise ChangedOnDisk(str(target))
    else:
        target = Path(path).expanduser()
    text = with_inputs(loaded, values)
    data = _encode(text, loaded.bom)
    new = load_bytes(data, str(path) if path is not None else loaded.source, target)  # what is written must load
    _atomic_write(target, data)
    return replace(new, source=str(path) if path is not None else loaded.source)


def _atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``target``, then rename it over ``target``."""
    folder = target.parent if str(target.parent) else Path(".")
    fd = None
    tmp = None
    try:
        if target.is_dir():
            raise SaveError(f"cannot save: {target} is a folder")
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, target.stat().st_mode & 0o7777)
        except FileNotFoundError:
            os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        tmp = None
    except SaveError:
        raise
    except OSError as err:
        reason = err.strerror or str(err)
        if isinstance(err, FileNotFoundError):
            reason = f"the folder {folder} does not exist"
        raise SaveError(f"cannot save {target}: {reason}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def write_new(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a new file; refuse (FileExistsError) to replace one that exists."""
    with open(path, "xb") as f:
        f.write(data)
