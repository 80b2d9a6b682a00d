"""The ``cgtui`` command: arguments, loading, the headless modes, and opening the app.

The only module that reads ``sys.argv``. Textual is imported only when the app
opens, so ``--json`` and ``--trace`` start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn, Sequence

from engine import DEFAULT_H, SourceError, __version__, compute, finite_differences, load_builtin, load_path
from engine import GraphError
from engine.examples import KINDS, generate
from engine.graphfile import load_bytes, write_new
from engine.safe import json_printable, printable
from engine.text import parse_number


FD_ALL_LIMIT = 2000
"""Above this many inputs and nodes, --fd defaults to the inputs: each variable's nudge
re-evaluates everything after it, so all of them cost time quadratic in the graph."""


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
        epilog="Without FILE, cgtui opens the built-in lecture graph J = 3(a + bc). "
        "'cgtui serve FILE' serves the app to browsers (see 'cgtui serve --help').",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="a graph file (YAML); default: the built-in lecture graph")
    p.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                   help="override an input's value (repeatable)")
    p.add_argument("--fd-step", metavar="H", help=f"the finite-difference nudge h (default {DEFAULT_H:g})")
    p.add_argument("--fd", choices=("inputs", "all", "none"), default=None,
                   help="which variables get finite differences in --json/--trace (default: all, or only "
                   f"the inputs for graphs of over {FD_ALL_LIMIT:,} variables, where all would take minutes)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", action="store_true", help="print the whole walk as one JSON object and exit")
    mode.add_argument("--trace", action="store_true", help="print the whole walk as plain text and exit")
    mode.add_argument("--markdown", action="store_true",
                      help="print the whole walk as a Markdown handout (formulas in LaTeX math) and exit")
    mode.add_argument("--svg", metavar="OUT.svg",
                      help="write the app's screen at --step N to OUT.svg (for handouts and slides) and exit,"
                      " without opening a terminal")
    p.add_argument("--notation", choices=("partial", "d", "code"), default="partial",
                   help="how derivatives are written, in the app and every output: partial ∂J/∂v (default),"
                   " d dJ/dv (the lecture page's), code dv (the course's code: dv stands for dJ/dv)")
    p.add_argument("--present", action="store_true",
                   help="presentation mode: larger spacing, no transcript, high contrast (the key P in the app)")
    shot = p.add_argument_group("--svg")
    shot.add_argument("--step", type=int, default=0, metavar="N", help="the step to draw (default 0, the start)")
    shot.add_argument("--view", choices=("tree", "picture"), default=None, help="the view to draw (default: tree)")
    big = p.add_argument_group("generated graphs (instead of FILE)")
    big.add_argument("-e", "--expr", metavar="'J = 3*(a + b*c)'",
                     help="build the graph from one expression, one node per operation (u, v, …); "
                     "give every input with --set")
    big.add_argument("--example", choices=KINDS, help="open a generated graph: a deep chain, a random DAG, an MLP; "
                     "mlp-batch: a vectorized network on a batch of 100 (a tensor graph)")
    big.add_argument("--size", action="append", default=[], metavar="N",
                     help="nodes in --example chain or dag (default 1000); with --svg, WIDTHxHEIGHT is the screen's"
                     " size (default 120x40): give --size twice for both")
    big.add_argument("--layers", metavar="A,B,…", help="layer widths of --example mlp (default 16,16,1) or mlp-batch "
                     "(with the input's first; default 784,100,10)")
    big.add_argument("--save", metavar="PATH", help="write the generated graph (-e or --example) to PATH, a new file, and open that")
    p.add_argument("--version", action="version", version=f"cgtui {__version__}")
    # what `cgtui serve` runs for each visitor (tui/serve.py): a browser session at a URL's state
    p.add_argument("--browser", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--share", default="", metavar="QUERY", help=argparse.SUPPRESS)
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


def _load(args):
    if args.expr is not None:
        if args.file is not None or args.example is not None:
            raise UsageError("give one of FILE, -e or --example")
        values = {}
        for pair in args.set:
            name, sep, text = pair.partition("=")
            try:
                values[name.strip()] = parse_number(text)
            except ValueError as err:
                raise UsageError(f"--set {name.strip()}: {err}") from None
        from engine import oneliner  # only for -e

        try:
            text = oneliner.graph_text(args.expr, values).encode()
        except GraphError as err:
            raise UsageError(f"-e: {err.message}") from None
        return _generated(text, "(expression)", args.save)
    if args.example is None:
        if args.save is not None:
            raise UsageError("--save goes with -e or --example")
        return load_path(args.file) if args.file is not None else load_builtin()
    if args.file is not None:
        raise UsageError("give either FILE or --example, not both")
    size = _node_count(args.size)
    if size < 1 or size > 1_000_000:
        raise UsageError(f"--size: {size} is not between 1 and 1,000,000")
    layers = None
    if args.layers is not None:
        try:
            layers = [int(w) for w in args.layers.split(",")]
        except ValueError:
            raise UsageError(f"--layers: write widths such as 64,64,1, not {args.layers!r}") from None
        if not layers or min(layers) < 1 or sum(layers) > 10_000:
            raise UsageError(f"--layers: widths must be at least 1 (and at most 10,000 neurons in all): {args.layers!r}")
        if args.example == "mlp-batch" and len(layers) < 2:
            raise UsageError("--layers: mlp-batch needs the input's width and at least one layer's, such as 784,100,10")
    return _generated(generate(args.example, size, layers).encode(), f"(example {args.example})", args.save)


def _screen_sizes(sizes: list[str]) -> list[str]:
    return [t for t in sizes if "x" in t.lower()]


def _node_count(sizes: list[str]) -> int:
    """``--size N`` for ``--example`` (the last one; a screen size WxH is for ``--svg``)."""
    counts = [t for t in sizes if "x" not in t.lower()]
    if not counts:
        return 1000
    text = counts[-1]
    try:
        return int(text)
    except ValueError:
        raise UsageError(f"--size: write a number of nodes such as 1000 (or, with --svg, a screen size such as"
                         f" 120x40), not {text!r}") from None


def _svg_options(args) -> tuple[int, int] | None:
    """The screen size for ``--svg`` (None without it); refuses ``--step``/``--view``/``WxH`` without it.

    Raises:
        UsageError: an option that cannot be followed.
    """
    screens = _screen_sizes(args.size)
    counts = [t for t in args.size if t not in screens]
    if args.svg is None:
        for given, option in ((args.step != 0, "--step"), (args.view is not None, "--view"),
                              (bool(screens), f"--size {screens[-1] if screens else ''}")):
            if given:
                raise UsageError(f"{option} goes with --svg OUT.svg (the screen to draw)")
        return None
    from tui.classroom import parse_size

    if counts and args.example is None:
        raise UsageError(f"--size {counts[-1]}: with --svg, write the screen size as WIDTHxHEIGHT, such as 120x40")
    try:
        size = parse_size(screens[-1]) if screens else (120, 40)
    except ValueError as err:
        raise UsageError(f"--size: {err}") from None
    target = Path(args.svg).expanduser()
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"--svg {args.svg}: is a folder; give a file name such as {target / 'step.svg'}")
    if not folder.is_dir():
        raise UsageError(f"--svg {args.svg}: there is no folder {folder}")
    if not os.access(folder, os.W_OK):
        raise UsageError(f"--svg {args.svg}: the folder {folder} cannot be written")
    return size


def _generated(text: bytes, name: str, save: str | None):
    """A generated graph, written first to ``save`` (a new file) when asked."""
    if save is None:
        return load_bytes(text, name)
    try:
        write_new(save, text)
    except OSError as err:
        raise UsageError(f"--save: cannot write {save}: {err.strerror or err}") from None
    return load_path(save)


def say(message: str) -> None:
    """One ``cgtui:`` line on stderr; control characters (from a file or its name) escaped."""
    print(f"cgtui: {printable(message, one_line=True)}", file=sys.stderr)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["serve"]:  # `cgtui serve FILE`: a file named serve is ./serve
        from tui.serve import run_serve

        return run_serve(argv[1:])
    try:
        args = build_parser().parse_args(argv)
        h = _fd_step(args.fd_step)
        screen = _svg_options(args)
        loaded = _load(args)
        if getattr(loaded.graph, "tensor", False):  # vectors and matrices: their own outputs and app
            return _run_tensor(args, loaded)
        overrides = _overrides(args.set, loaded.graph)
    except (UsageError, SourceError) as err:
        say(str(err))
        return 2
    from engine.text import Notation

    notation = Notation(args.notation, loaded.graph.output)
    if screen is not None:
        return _write_svg(loaded, overrides, h, args, screen)

    if args.json or args.trace or args.markdown:
        from engine.report import iter_json, to_markdown, to_trace

        walk = compute(loaded.graph, overrides)
        fd_mode = args.fd or ("all" if len(loaded.graph.names) <= FD_ALL_LIMIT else "inputs")
        fds = finite_differences(walk, fd_mode, h)
        if args.json:
            # written as it is made (the whole text of a 100,000-node graph is never held); JSON
            # escapes C0 itself, json_printable the rest, character by character, so chunk by chunk
            chunks = map(json_printable, iter_json(walk, fds, h, loaded.source, notation))
        else:  # nothing from the file reaches the terminal as a control character
            render = to_markdown if args.markdown else to_trace
            chunks = (printable(render(walk, fds, h, printable(loaded.source, one_line=True), notation)),)
        try:
            for chunk in chunks:
                sys.stdout.write(chunk)
            sys.stdout.write("\n")
            sys.stdout.flush()
        except BrokenPipeError:  # `cgtui --trace | head`
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 0

    if args.browser:
        from tui.browser import run_browser_session

        return run_browser_session(loaded, overrides, h, args.share)
    return _open_app(loaded, overrides, h, args.notation, args.present)


def _run_tensor(args, loaded) -> int:
    """``--json``, ``--trace`` or ``--markdown`` of a tensor graph, or its own app (tui/tensor_app.py)."""
    from engine.tensor_graph import TENSOR_H, compute_tensor, gradient_check
    from engine import tensor_report

    graph = loaded.graph
    if args.svg is not None:
        raise UsageError(f"--svg draws the scalar app's screen; {loaded.source} is a graph of vectors and matrices "
                         "(--trace, --json or --markdown write its walk)")
    overrides = {}
    for name, value in _overrides(args.set, graph).items():
        if graph.shapes[name]:
            raise UsageError(f"--set {name}: {name!r} is a matrix ({'×'.join(map(str, graph.shapes[name]))}); "
                             "change it in the file")
        overrides[name] = value
    h = _fd_step(args.fd_step) if args.fd_step is not None else TENSOR_H
    if not (args.json or args.trace or args.markdown):
        from engine.tensor_session import TensorSession
        from tui.tensor_app import TensorApp

        TensorApp(TensorSession(loaded, overrides, h)).run()
        return 0
    walk = compute_tensor(graph, overrides)
    checked = graph.params or tuple(i.name for i in graph.inputs)  # the course checks the parameters
    checks = {} if args.fd == "none" else {name: gradient_check(walk, name, h) for name in checked}
    if args.json:
        text = json_printable(tensor_report.to_json(walk, checks, loaded.source))
    else:
        render = tensor_report.to_markdown if args.markdown else tensor_report.to_trace
        text = printable(render(walk, checks, printable(loaded.source, one_line=True)))
    try:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def _write_svg(loaded, overrides: dict[str, float], h: float, args, size: tuple[int, int]) -> int:
    """``--svg``: the app's screen at step N, drawn headless, written to the file; the exit status."""
    from engine.session import DebugSession
    from tui.classroom import render_svg

    session = DebugSession(loaded, overrides, h)
    session.set_notation(args.notation)
    if not 0 <= args.step <= session.total:
        say(f"--step {args.step}: {printable(loaded.source, one_line=True)} has {session.total} steps"
            f" ({session.n_forward} forward, {session.n_backward} backward): give 0 to {session.total}")
        return 2
    while session.position < args.step:
        session.step()
    try:
        svg = render_svg(session, size, args.view, args.present)
    except ValueError as err:
        say(f"--view {args.view}: {err}")
        return 2
    try:
        Path(args.svg).expanduser().write_text(svg, encoding="utf-8")
    except OSError as err:
        say(f"--svg {args.svg}: cannot write it: {err.strerror or err}")
        return 2
    return 0


def _open_app(loaded, overrides: dict[str, float], h: float, notation: str = "partial", present: bool = False) -> int:
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    session = DebugSession(loaded, overrides, h)
    session.set_notation(notation)
    app = CgtuiApp(session, present=present)
    try:
        app.run()
    except Exception:  # outside the app's own handling (the driver, the terminal): the same rescue
        import traceback

        traceback.print_exc()
        return after_app(app, crashed=True)
    finally:
        app.session.close()  # a big graph's helper process goes now, not at interpreter exit
    return after_app(app)


RECOVERED = ".cgtui-recovered"
"""What a crash appends to the graph file's name to keep the unsaved edits beside it."""


def after_app(app, *, crashed: bool = False) -> int:
    """The exit status once the app is closed; after a crash, keep the unsaved edits and say where.

    The traceback is already printed (by Textual, or by ``_open_app``); this adds one ``cgtui:``
    line under it.

    Args:
        crashed: The app's ``run()`` itself raised (Textual's return code is then not set).
    """
    if not crashed and not app.return_code:
        return 0
    session = app.session
    if not session.unsaved:
        say("crashed (the error is above); there were no unsaved edits, so nothing was lost.")
        return 1
    try:
        where = _recover(session)
    except Exception as err:  # the last resort: the values themselves, in the message
        values = ", ".join(f"{n} = {v!r}" for n, v in session.inputs.items())
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
        say(f"crashed (the error is above) and could not write the recovery file ({reason}); "
            f"your input values were: {values}")
        return 1
    say(f"crashed (the error is above); your unsaved edits are in {where} (the graph file with your "
        "input values; rename it to use it).")
    return 1


def _recover(session) -> str:
    """Write the session's input values into a copy of its graph file beside it, a new file; return its name.

    The text is what ``w`` would have written; graphs without a file go to the current folder
    under the name ``w`` proposes for them.
    """
    from engine.graphfile import with_inputs
    from tui.sync import unsaved_graph

    loaded = session.loaded
    data = (b"\xef\xbb\xbf" if loaded.bom else b"") + with_inputs(loaded, session.inputs).encode("utf-8")
    base = loaded.path if loaded.path is not None else Path(unsaved_graph(loaded.source)[1])
    for k in range(1, 100):
        target = base.with_name(base.name + RECOVERED + (f".{k}" if k > 1 else ""))
        try:
            write_new(target, data)
        except FileExistsError:
            continue
        return str(target)
    raise FileExistsError(f"{base.name}{RECOVERED} … .99 all exist")


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":  # pragma: no cover
    main()
