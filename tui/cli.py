"""The ``cgtui`` command: arguments, loading, the headless modes, and opening the app.

The only module that reads ``sys.argv``. Textual is imported only when the app
opens, so ``--json`` and ``--trace`` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import NoReturn, Sequence

from engine import BUILTIN_NAME, DEFAULT_H, SourceError, __version__, compute, finite_differences, load_builtin, load_path
from engine.text import parse_number


class UsageError(Exception):
    """A command line that cannot be followed; the message is one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not argparse's usage block
        raise UsageError(f"{message} (see 'cgtui --help')")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="cgtui",
        description="Step through a computation graph: forward node by node, backward one "
        "chain-rule multiplication at a time, checked by finite differences.",
        epilog="Without FILE, cgtui opens the built-in lecture graph J = 3(a + bc).",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="a graph file (YAML); default: the built-in lecture graph")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override an input's value (repeatable)")
    p.add_argument("--fd-step", metavar="H", help=f"the finite-difference nudge h (default {DEFAULT_H:g})")
    p.add_argument("--fd", choices=("inputs", "all", "none"), default="all",
                   help="which variables get finite differences in --json/--trace (default: all)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the whole walk as one JSON object and exit")
    mode.add_argument("--trace", action="store_true", help="print the whole walk as plain text and exit")
    p.add_argument("--version", action="version", version=f"cgtui {__version__}")
    return p


def _overrides(pairs: Sequence[str], graph) -> dict[str, float]:
    values: dict[str, float] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise UsageError(f"--set {pair!r}: write NAME=VALUE, for example --set a=7")
        if name in graph.node_by_name:
            raise UsageError(f"--set {name}: {name!r} is a node, not an input; only inputs can be set")
        if name not in graph.input_by_name:
            known = ", ".join(i.name for i in graph.inputs)
            raise UsageError(f"--set {name}: there is no input {name!r} (inputs: {known})")
        try:
            values[name] = parse_number(text)
        except ValueError as err:
            raise UsageError(f"--set {name}: {err}") from None
    return values


def _fd_step(text: str | None) -> float:
    if text is None:
        return DEFAULT_H
    try:
        h = parse_number(text)
    except ValueError as err:
        raise UsageError(f"--fd-step: {err}") from None
    if h <= 0:
        raise UsageError(f"--fd-step: h must be greater than 0, not {text.strip()!r}")
    return h


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    try:
        args = build_parser().parse_args(argv)
        h = _fd_step(args.fd_step)
        loaded = load_path(args.file) if args.file is not None else load_builtin()
        overrides = _overrides(args.set, loaded.graph)
    except UsageError as err:
        print(f"cgtui: {err}", file=sys.stderr)
        return 2
    except SourceError as err:
        print(f"cgtui: {err}", file=sys.stderr)
        return 2

    if args.json or args.trace:
        from engine.report import to_json, to_trace

        walk = compute(loaded.graph, overrides)
        fds = finite_differences(walk, args.fd, h)
        render = to_json if args.json else to_trace
        text = render(walk, fds, h, loaded.source)
        try:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `cgtui --trace | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0

    return _open_app(loaded, overrides, h)


def _open_app(loaded, overrides: dict[str, float], h: float) -> int:
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    CgtuiApp(DebugSession(loaded, overrides, h)).run()
    return 0


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
