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

import bisect
import errno
import gc
import math
import os
import re
import stat
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Literal

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

    Only a regular file is read (or a link to one): a FIFO would block the read
    forever and a device has no end, so they are refused by their kind before
    anything is read.

    Raises:
        SourceError: for a file that cannot be read or used; its text names the file.
    """
    source = str(path)
    try:
        data = read_regular(path)
    except GraphError as err:
        raise SourceError(source, err) from None
    return load_bytes(data, source, Path(path))


def read_regular(path: str | os.PathLike[str], limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a regular file, refusing anything else without blocking.

    Its kind is checked before it is opened, and again on the open descriptor: the
    file is opened without waiting (``O_NONBLOCK``: opening a FIFO with no writer
    would block), so one swapped for a FIFO after the first check cannot hang the read.

    Raises:
        GraphError: no such file, permission denied, not a regular file, too large.
    """
    try:
        mode = os.stat(path).st_mode  # a device is not even opened (opening some has effects)
        if not stat.S_ISREG(mode):
            raise GraphError(f"is {_kind(mode)}, not a graph file")
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise GraphError("no such file") from None
    except PermissionError:
        raise GraphError("permission denied") from None
    except OSError as err:
        raise GraphError(f"cannot read the file ({err.strerror or err})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise GraphError(f"is {_kind(st.st_mode)}, not a graph file")
        if st.st_size > limit:
            raise GraphError(f"file is too large ({st.st_size / 1048576:.1f} MiB; at most {limit // 1048576} MiB)")
        chunks = []
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, min(left, 1 << 20))):
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as err:
        raise GraphError(f"cannot read the file ({err.strerror or err})") from None
    finally:
        os.close(fd)


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, for a message: "a FIFO", "a directory"."""
    return next((name for test, name in _KINDS if test(mode)), "a special file")


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
    wide = _wide_encoding(data)
    if wide:
        raise GraphError(f"not a UTF-8 text file (it is {wide}: save it as UTF-8)", 1)
    nul = data.find(b"\x00")
    if nul >= 0:
        raise GraphError("not a text file (it holds binary data)", data.count(b"\n", 0, nul) + 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise GraphError("not a text file (not valid UTF-8)", line) from None
    return text


_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
              (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


def _wide_encoding(data: bytes) -> str | None:
    """ "UTF-16" or "UTF-32" for text in those encodings (by their BOM, or ASCII with NUL bytes between), else None."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    head = data[:64]
    if len(head) >= 8 and b"\x00" in head:
        if head[1::2].count(0) == len(head[1::2]) or head[0::2].count(0) == len(head[0::2]):
            zeros = head.count(0)
            return "UTF-32" if zeros >= 3 * len(head) // 4 - 1 else "UTF-16"
    return None


# --------------------------------------------------------------------------- YAML events -> a small tree


@dataclass(slots=True)
class _Y:
    """A YAML node as read from events: a scalar, a mapping or a sequence."""

    kind: Literal["scalar", "map", "seq"]
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


_SEPARATORS = re.compile("[\u2028\u2029\x85]")
_BREAKS = re.compile("[\r\n]")
_BLANKED = str.maketrans({"\u2028": " ", "\u2029": " ", "\x85": " "})


def _comment_separators_blanked(text: str) -> str:
    """``text`` with each U+2028, U+2029 and NEL inside a comment replaced by a space.

    YAML 1.2 reads them as ordinary characters (1.1 read them as line breaks, and so
    do PyYAML and libyaml): inside a comment, what follows one would otherwise be
    read as YAML. A character becomes one character, so every offset stays where it
    was and saving still writes the file's own text. Which ones are in comments is
    told by the YAML scanner itself: a comment is a ``#`` between tokens, up to the
    end of its line. Elsewhere they are left to the YAML reader, as before.
    """
    if _SEPARATORS.search(text) is None or "#" not in text:
        return text
    positions = [m.start() for m in _SEPARATORS.finditer(text)]
    candidate = text.translate(_BLANKED)
    starts: list[int] = []
    ends: list[int] = []  # running maximum of the token ends up to each start
    loader = _Loader(candidate)
    complete = True
    try:
        while (token := loader.get_token()) is not None:
            starts.append(token.start_mark.index)
            ends.append(max(token.end_mark.index, ends[-1] if ends else 0))
    except yaml.YAMLError:
        complete = False  # classify what was scanned; the reader will say what is wrong
    finally:
        loader.dispose()
    breaks = [m.start() for m in _BREAKS.finditer(candidate)]
    first_hash: dict[int, int] = {}  # where a stretch between tokens starts on its line -> its first '#', or -1
    chars = list(text)
    for pos in positions:
        k = bisect.bisect_right(starts, pos) - 1
        if k < 0 or pos < ends[k]:
            continue  # before the first token, or inside one (a scalar)
        if not complete and starts[-1] <= pos:
            continue  # the scanner stopped before getting past it
        b = bisect.bisect_left(breaks, pos)  # the line's end, and the break before it
        line_start = breaks[b - 1] + 1 if b > 0 else 0
        region = max(line_start, ends[k])
        if region not in first_hash:  # each stretch is searched once, to its line's end
            first_hash[region] = candidate.find("#", region, breaks[b] if b < len(breaks) else len(candidate))
        if 0 <= first_hash[region] < pos:
            chars[pos] = " "
    return "".join(chars)


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
    if _OCT.match(v) or _HEX.match(v):
        try:  # int() takes any length; float() of one beyond 1.8e308 raises
            return float(int(v[2:], 8 if v[1] == "o" else 16))
        except OverflowError:
            return math.inf
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
        shown = node.value if len(node.value) <= 40 else node.value[:39] + "…"
        if _OCT.match(node.value) or _HEX.match(node.value):
            raise GraphError(f"input {name!r}: the number {shown!r} is too large (at most about 1.8e308)", node.line, name)
        raise GraphError(f"input {name!r}: the value must be a finite number, not {shown!r}", node.line, name)
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
    root = _events_to_tree(_comment_separators_blanked(text))
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
    entries = _mapping(top["inputs"], "'inputs'")
    tensor = any(_is_tensor_value(value) for _, _, value in entries)
    if tensor:  # a matrix among the inputs: a tensor graph (numpy is loaded only then)
        from engine import tensor_graph
    for name, key_node, value in entries:
        if tensor:
            inputs.append(tensor_graph.tensor_input(name, key_node.line, value))
            continue
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
        if alpha == math.inf and (_OCT.match(node.value) or _HEX.match(node.value)):
            shown = node.value if len(node.value) <= 40 else node.value[:39] + "…"
            raise GraphError(f"alpha (the learning rate): the number {shown!r} is too large", node.line, "alpha")
        if not isinstance(alpha, float) or isinstance(alpha, bool) or not (math.isfinite(alpha) and alpha > 0):
            raise GraphError("alpha (the learning rate) must be a positive number such as 0.1", node.line, "alpha")
    build = tensor_graph.build_tensor_graph if tensor else build_graph
    return build(inputs, nodes, output, output_line, title, description, params, alpha, alpha_line)


def _is_tensor_value(node: _Y) -> bool:
    """Whether an input's value is a list (a matrix, or a flat list to refuse with a hint) or generated."""
    if node.kind == "map":
        for key, value in node.items:
            if key.kind == "scalar" and (key.value in ("randn", "zeros") or key.value == "value" and value.kind == "seq"):
                return True
    return node.kind == "seq"


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
    if getattr(loaded.graph, "tensor", False):  # matrices: each changed element where it stands
        from engine.tensor_session import with_tensor_inputs

        return with_tensor_inputs(loaded, values)
    text = loaded.text
    edits = []
    for i in loaded.graph.inputs:
        new = float(values.get(i.name, i.value))
        if not same_float(new, i.value) and i.span is not None:
            edits.append((i.span, value_text(new)))
    for (start, end), replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def same_float(a: float, b: float) -> bool:
    """Whether two values are the same number, telling 0 from -0 (``0.0 == -0.0`` in Python)."""
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


def value_text(value: float) -> str:
    """A value as written into a graph file: the shortest text that reads back bit for bit.

    Whole numbers are written bare (``7``), others by ``repr`` (``0.3333333333333333``);
    negative zero is ``-0.0``, since ``-0`` is read as the integer 0 (and 1/a would flip sign).
    """
    if value == 0 and math.copysign(1.0, value) < 0:
        return "-0.0"
    return number_text(value)


def disk_stamp(path: Path) -> tuple[int, int] | None:
    """(mtime in ns, size) of a file, or None if it cannot be seen: a cheap "did it change?"."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def unchanged_on_disk(loaded: LoadedGraph) -> bool:
    """Whether the file still holds exactly the text cgtui read (a FIFO or a device never does)."""
    if loaded.path is None:
        return True
    try:
        data = read_regular(loaded.path)
    except GraphError:
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
    """Write ``data`` into the file ``target`` names, keeping what makes it that file.

    * A symbolic link stays a link: its target is written (the path is resolved first).
    * A file with one name is replaced atomically: a temporary file beside it,
      given the file's mode and (where permitted) its owner, is renamed over it.
    * A file with several hard links is written in place, so that every name still
      shows the same file: the room is reserved first (a full disk fails before a
      byte changes), then the bytes are written and the rest cut off.
    * Anything but a regular file (a FIFO, a device, a directory) is refused.
    """
    real = Path(os.path.realpath(target))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise SaveError(f"cannot save {target}: {err.strerror or err}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise SaveError(f"cannot save: {target} is {_kind(st.st_mode)}, not a regular file")
    if st is not None and st.st_nlink > 1:
        _write_in_place(target, real, data)
    else:
        _replace_atomically(target, real, st, data)


def _replace_atomically(target: Path, real: Path, st: os.stat_result | None, data: bytes) -> None:
    folder = real.parent
    fd = None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{real.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            fd = None
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if st is None:
            os.chmod(tmp, 0o644)
        else:
            if hasattr(os, "chown") and (st.st_uid, st.st_gid) != (os.stat(tmp).st_uid, os.stat(tmp).st_gid):
                try:  # only root (or a member of the group) may; otherwise the saver owns it
                    os.chown(tmp, st.st_uid, st.st_gid)
                except OSError:
                    pass
            os.chmod(tmp, stat.S_IMODE(st.st_mode))  # after chown, which clears set-id bits
        os.replace(tmp, real)
        tmp = None
    except OSError as err:
        reason = err.strerror or str(err)
        if isinstance(err, FileNotFoundError):
            reason = f"the folder {target.parent} does not exist"
        raise SaveError(f"cannot save {target}: {reason}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


def _write_in_place(target: Path, real: Path, data: bytes) -> None:
    try:
        fd = os.open(real, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise SaveError(f"cannot save {target}: {err.strerror or err}") from None
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode):
            raise SaveError(f"cannot save: {target} is {_kind(now.st_mode)}, not a regular file")
        try:
            if len(data) > now.st_size and hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, len(data))  # ENOSPC here, before any byte is changed
        except OSError as err:
            if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                raise
        os.lseek(fd, 0, os.SEEK_SET)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    except OSError as err:
        raise SaveError(f"cannot save {target}: {err.strerror or err}") from None
    finally:
        os.close(fd)


def write_new(path: str | os.PathLike[str], data: bytes) -> None:
    """Write a new file; refuse (FileExistsError) to replace one that exists."""
    with open(path, "xb") as f:
        f.write(data)
