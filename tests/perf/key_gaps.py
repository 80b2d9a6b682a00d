"""The worst UI-thread stall of every key of the README's table, on a 100k-node graph, in a Pilot run.

    .venv/bin/python tests/perf/key_gaps.py chain 100000
    .venv/bin/python tests/perf/key_gaps.py dag 100000
    .venv/bin/python tests/perf/key_gaps.py mlp 300     # layers 300,300,1 (94k nodes), every w and b a param

A 10 ms ``set_interval`` tick on the UI thread stamps itself; for each key, the longest gap
between two ticks from the key press until the app is quiet again (every worker done and
0.4 s more) is how long the UI was blocked. Not a test: the machine is shared, so the numbers
are for a report, measured a few times.

Each tick also stamps the UI thread's own CPU time (``time.thread_time``): the second column
is the most CPU the UI thread spent between two ticks, which other processes on a loaded
machine do not inflate (a wall-clock gap does include waiting for a core, and a worker
holding the GIL).
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.examples import generate  # noqa: E402
from engine.graphfile import load_bytes  # noqa: E402
from engine.session import DebugSession  # noqa: E402
from tui.app import CgtuiApp  # noqa: E402

# (label, keys): the key table's rows, in an order that keeps each possible (e: on the input)
PLAN = [
    ("↓ (cursor)", ["down"]), ("↑ (cursor)", ["up"]),
    ("n", ["n"]), ("→", ["right"]), ("p", ["p"]), ("←", ["left"]),
    ("f (forward)", ["f"]), ("f (backward)", ["f"]), ("r", ["r"]),
    ("f", ["f"]), ("b", ["b"]), ("c", ["c"]), ("t", ["t"]),
    ("[", ["left_square_bracket"]), ("]", ["right_square_bracket"]),
    ("-", ["minus"]), ("+", ["plus"]),
    ("g (on)", ["g"]), ("g (off)", ["g"]),
    ("? (help)", ["question_mark"]), ("esc (help)", ["escape"]),
    ("space", ["space"]), ("j", ["j"]),
    ("e (open editor on x)", "EDIT_OPEN"), ("esc (editor)", ["escape"]),
    ("e 0.6 enter (commit)", "EDIT_COMMIT"),
    ("y (worker)", ["y"]), ("esc (close why)", ["escape"]),
    ("s (sweep)", ["s"]), ("esc (close sweep)", ["escape"]),
    ("d (descent)", ["d"]), ("d esc (cancel)", ["d", "escape"]), ("- (α)", ["minus"]), ("+ (α)", ["plus"]),
    ("w (save-as dialog)", ["w"]), ("esc (dialog)", ["escape"]),
]


def graph_text(kind: str, size: int) -> str:
    """The generated graph; for mlp, layers size,size,1 with every weight and bias a param (d trains them)."""
    if kind != "mlp":
        return generate(kind, size)
    text = generate("mlp", layers=[size, size, 1])
    names = [line.split(":")[0].strip() for line in text.splitlines() if line.startswith(("  w", "  b"))]
    return text + "params: [" + ", ".join(names) + "]\n"


async def main(kind: str, size: int) -> None:
    loaded = load_bytes(graph_text(kind, size).encode(), f"(example {kind})")
    app = CgtuiApp(DebugSession(loaded), watch_file=False)
    stamps: list[tuple[float, float]] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(1.0)
        app.set_interval(0.01, lambda: stamps.append((time.perf_counter(), time.thread_time())))
        await pilot.pause(0.5)

        async def quiet() -> None:
            await pilot.pause(0.05)
            while any(w.is_running for w in app.workers):
                await asyncio.sleep(0.02)
            await pilot.pause(0.4)

        tree = app.query_one("#tree")

        async def to_input() -> None:  # the cursor onto x (an input)
            from tui.widgets.graph_tree import GraphTree
            assert isinstance(tree, GraphTree)
            tree.select_name("x" if kind == "chain" else "x0")
            await quiet()

        rows = []
        for label, keys in PLAN:
            if label.startswith("e (open"):
                await to_input()
            if label == "d (descent)":  # at the end of the backward pass, as d needs
                app.session.finish(); app.session.finish(); app.redraw()
                await quiet()
            if label == "y (worker)":
                tree.select_name(app.session.graph.output)
                app.session.finish(); app.session.finish(); app.redraw()
                await quiet()
            start, start_cpu = time.perf_counter(), time.thread_time()
            if keys == "EDIT_OPEN":
                await pilot.press("e")
            elif keys == "EDIT_COMMIT":
                await pilot.press("e")
                await quiet()
                start, start_cpu = time.perf_counter(), time.thread_time()
                await pilot.press("ctrl+a" if False else "end", *["backspace"] * 30, "0", ".", "6", "enter")
            else:
                await pilot.press(*keys)
            await quiet()
            end, end_cpu = time.perf_counter(), time.thread_time()
            # (Pilot runs on the UI thread too: its own time at the start and the end counts as the app's)
            mine = [(start, start_cpu)] + [(t, c) for t, c in stamps if start <= t <= end] + [(end, end_cpu)]
            ticks = [t for t, _ in mine]
            worst = max(b - a for a, b in zip(ticks, ticks[1:]))
            cpu = max((b[1] - a[1] for a, b in zip(mine, mine[1:])), default=0.0)
            rows.append((label, worst, cpu))
            print(f"{label:28s} {worst * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms UI CPU   {app.message[:60]!r}",
                  flush=True)
        app.exit()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
