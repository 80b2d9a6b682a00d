"""cgtui's speed, measured side by side with a baseline in the same run.

    python tests/perf/bench.py           # the full table (a few minutes)
    python tests/perf/bench.py --quick   # a smoke run on small graphs
    python tests/perf/bench.py --json    # the rows as JSON

Each row alternates the measurement and its baseline, takes the median of at
least 5 runs, and prints figure, baseline, ratio, goal and whether it is met.
The machine is noisy: trust the ratios more than the absolute figures.
Key-to-frame times are timestamps of frames the app writes, not pilot.pause().
Needs the bench extra: pip install -e '.[bench]' (micrograd, numpy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine import compute, finite_differences, load_bytes  # noqa: E402
from engine.examples import chain, dag, mlp  # noqa: E402
from engine.tape import tape_of  # noqa: E402


@dataclass
class Row:
    what: str
    figure: str
    baseline: str
    ratio: str
    goal: str
    met: str


def median_pair(run, base, repeat: int) -> tuple[float, float]:
    """Alternate ``run`` and ``base``; the median seconds of each."""
    a, b = [], []
    for _ in range(repeat):
        a.append(run())
        b.append(base())
    return statistics.median(a), statistics.median(b)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


def cgtui_cmd() -> list[str]:
    script = Path(sys.executable).with_name("cgtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


# --------------------------------------------------------------------------- rows


def row_headless(repeat: int) -> Row:
    cmd = cgtui_cmd() + [str(ROOT / "graphs" / "lecture.yaml"), "--json"]
    run = lambda: timed(lambda: subprocess.run(cmd, capture_output=True, check=True))  # noqa: E731
    base = lambda: timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))  # noqa: E731
    t, b = median_pair(run, base, repeat)
    probe = ("import sys, io, contextlib\nfrom tui.cli import run\n"
             "with contextlib.redirect_stdout(io.StringIO()): run([sys.argv[1], '--json'])\n"
             "print(*(m in sys.modules for m in ('textual', 'rich', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", probe, str(ROOT / "graphs" / "lecture.yaml")],
                         capture_output=True, text=True, cwd=ROOT).stdout.split()
    clean = out == ["False", "False", "False"]
    return Row("headless --json on the lecture graph", ms(t), f"python -c pass {ms(b)}", f"{t / b:.1f}×",
               "≤ 0.15 s, no textual/numpy import", "yes" if t <= 0.15 and clean else f"no (imports clean: {clean})")


def _micrograd_graph(n: int, seed: int = 1):
    """The same random DAG as engine.examples.dag(n, unary="relu"), built with micrograd."""
    from micrograd.engine import Value

    rnd = random.Random(seed)
    names = [f"x{i}" for i in range(100)]
    values = {name: rnd.uniform(-1, 1) for name in names}
    spec = []
    for k in range(n - 1):
        a, b = rnd.choice(names[-50:]), rnd.choice(names)
        op = rnd.choice(("+", "*", "f", "-"))
        spec.append((f"n{k}", op, a, b))
        names.append(f"n{k}")
    last = names[-8:]

    def build_and_backprop():
        v = {k: Value(x) for k, x in values.items()}
        for name, op, a, b in spec:
            if op == "+":
                v[name] = v[a] + v[b]
            elif op == "*":
                v[name] = v[a] * v[b]
            elif op == "-":
                v[name] = v[a] - v[b]
            else:
                v[name] = v[a].relu()
        out = v[last[0]]
        for name in last[1:]:
            out = out + v[name]
        out.backward()
        return out

    return build_and_backprop


def row_engine(n: int, repeat: int) -> Row:
    loaded = load_bytes(dag(n, unary="relu").encode(), "dag")
    graph = loaded.graph
    tape_of(graph)  # compiled with the graph, as when a file is opened
    run = lambda: timed(lambda: compute(graph))  # noqa: E731
    base = lambda: timed(_micrograd_graph(n))  # noqa: E731
    t, b = median_pair(run, base, repeat)
    return Row(f"engine forward + backward, random DAG {n:,} nodes", ms(t), f"micrograd {ms(b)}",
               f"{b / t:.1f}× faster", "≥ 10× faster than micrograd", "yes" if b / t >= 10 else "no")


def row_fd(n: int, repeat: int) -> Row:
    graph = load_bytes(dag(n).encode(), "dag").graph
    walk = compute(graph)
    run = lambda: timed(lambda: finite_differences(walk, "inputs"))  # noqa: E731
    base = lambda: timed(lambda: compute(graph))  # noqa: E731
    t, b = median_pair(run, base, repeat)
    return Row(f"finite differences, all 100 inputs (central), {n:,} nodes", ms(t),
               f"one forward+backward {ms(b)}", f"{t / b:.1f}×", "≤ 10 ms, off the UI thread",
               "yes" if t <= 0.010 else "no")


def row_load(n: int, repeat: int) -> Row:
    data = dag(n).encode()
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    run = lambda: timed(lambda: load_bytes(data, "dag"))  # noqa: E731
    base = lambda: timed(lambda: yaml.load(data, Loader=loader))  # noqa: E731
    t, b = median_pair(run, base, max(3, repeat // 2))
    return Row(f"load a {n:,}-node file (parse, check, order)", ms(t), f"PyYAML full load {ms(b)}",
               f"{t / b:.1f}×", "≤ 3 s", "yes" if t <= 3 else "no")


def row_refuse(repeat: int) -> Row:
    lines = ["inputs:", "  x: 1", "nodes:"]
    size, k = 20, 0
    while size < 1024 * 1024 - 40:
        line = f"  n{k}: x * {k % 7 + 1}"
        lines.append(line)
        size += len(line) + 1
        k += 1
    lines.append("  bad: x +")
    data = ("\n".join(lines) + "\n").encode()
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def refuse():
        try:
            load_bytes(data, "big.yaml")
        except Exception:
            pass

    run = lambda: timed(refuse)  # noqa: E731
    base = lambda: timed(lambda: yaml.load(data, Loader=loader))  # noqa: E731
    t, b = median_pair(run, base, max(3, repeat // 2))
    return Row(f"refuse a 1 MiB file ({k:,} nodes, mistake last)", ms(t), f"PyYAML full load {ms(b)}",
               f"{t / b:.1f}×", "< 1 s", "yes" if t < 1 else "no")


def refusal_shapes() -> dict[str, bytes]:
    """1 MiB files that used to take seconds to refuse (issue 11), each with its one mistake last."""
    names = [f"a_rather_long_descriptive_name_for_variable_{k:05d}_" + "q" * 75 for k in range(5300)]
    half = len(names) // 2
    head = ["inputs:"] + [f"  {n}: 1" for n in names[:half]] + ["nodes:"]
    head += [f"  {n}: {names[k - half]} + 1" for k, n in enumerate(names[half:], start=half)]
    typo = names[7][:-1]
    nested = "(" * 24 + "a" + "+a)" * 24
    expression = "+".join([nested] * (4000 // (len(nested) + 1)))
    exprs = ["inputs:", "  a: 1", "nodes:"] + [f"  n{k}: {expression}" for k in range(261)]
    exprs[-1] += " +"
    return {
        f"{len(names):,} long names, one undefined": "\n".join(head + [f"  last: {typo} + 1"]) + "\n",
        f"{len(names):,} long names, params: an unknown one": "\n".join(head + [f"params: [{typo}]"]) + "\n",
        "261 balanced 4,000-character expressions": "\n".join(exprs) + "\n",
    }


def row_refuse_shape(what: str, text: str, repeat: int) -> Row:
    """One of :func:`refusal_shapes`, timed against PyYAML reading the same bytes."""
    data = text.encode()
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def refuse():
        try:
            load_bytes(data, "big.yaml")
        except Exception:
            pass

    run = lambda: timed(refuse)  # noqa: E731
    base = lambda: timed(lambda: yaml.load(data, Loader=loader))  # noqa: E731
    t, b = median_pair(run, base, max(3, repeat // 2))
    return Row(f"refuse a {len(data) / 1048576:.2f} MiB file of {what}", ms(t), f"PyYAML full load {ms(b)}",
               f"{t / b:.1f}×", "< 1 s", "yes" if t < 1 else "no")


# --------------------------------------------------------------------------- the app


def _frame_latency(text: str, presses: int, size: tuple[int, int] = (120, 40)) -> float:
    """Median seconds from posting the key "n" to the next frame the app writes."""
    from engine.session import DebugSession
    from tui.app import CgtuiApp

    async def go() -> float:
        app = CgtuiApp(DebugSession(load_bytes(text.encode(), "bench")), watch_file=False)
        frames: list[float] = []
        original = app._display

        def display(screen, renderable):
            frames.append(time.perf_counter())
            return original(screen, renderable)

        app._display = display
        samples = []
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            for _ in range(presses):
                frames.clear()
                t0 = time.perf_counter()
                await pilot.press("n")
                await pilot.pause()
                after = [f for f in frames if f > t0]
                if after:
                    samples.append(after[0] - t0)
        return statistics.median(samples)

    return asyncio.run(go())


def row_step(n: int, repeat: int, goal_ms: float, ratio_goal: float | None) -> Row:
    lecture = (ROOT / "graphs" / "lecture.yaml").read_text()
    big = dag(n)
    presses = max(5, repeat)
    t = _frame_latency(big, presses)
    b = _frame_latency(lecture, presses)
    ratio = t / b
    met = t * 1000 <= goal_ms and (ratio_goal is None or ratio <= ratio_goal)
    goal = f"≤ {goal_ms:g} ms" + (f" and ≤ {ratio_goal}× the lecture" if ratio_goal else "")
    return Row(f"one step, key to frame, {n:,}-node graph (headless)", ms(t), f"lecture graph {ms(b)}",
               f"{ratio:.2f}×", goal, "yes" if met else "no")


def row_memory(n: int, kind: str = "dag") -> Row:
    code = textwrap.dedent(f"""
        import asyncio, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from engine import load_bytes
        from engine.examples import {kind}
        from engine.session import DebugSession
        from tui.app import CgtuiApp
        text = {kind}({n}) if sys.argv[1] == "big" else open({str(ROOT / 'graphs' / 'lecture.yaml')!r}).read()
        async def go():
            app = CgtuiApp(DebugSession(load_bytes(text.encode(), "m")), watch_file=False)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("n", "n")
        asyncio.run(go())
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the forking parent
        hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")]
        print(int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    """)
    big = float(subprocess.run([sys.executable, "-c", code, "big"], capture_output=True, text=True).stdout.split()[-1])
    small = float(subprocess.run([sys.executable, "-c", code, "small"], capture_output=True, text=True).stdout.split()[-1])
    what = f"peak memory, {n:,}-node graph open in the app" + (" (chain)" if kind == "chain" else "")
    return Row(what, f"{big:.0f} MiB", f"lecture graph {small:.0f} MiB",
               f"{big / small:.1f}×", "≤ 300 MiB", "yes" if big <= 300 else "no")


def _chain_walk(n: int):
    walk = compute(load_bytes(chain(n).encode(), "chain").graph)
    from engine.finite_diff import path_to_output

    path_to_output(walk, "x")  # the graph's caches (what depends on what), as the app has them
    return walk


def row_why(n: int, repeat: int) -> Row:
    """y on the input of a deep chain: every path down to x (the first 12 listed), written out."""
    from engine.paths import why_gradient
    from engine.text import why_parts

    walk = _chain_walk(n)
    out = walk.graph.output
    run = lambda: timed(lambda: why_parts(why_gradient(walk, "x"), out))  # noqa: E731
    base = lambda: timed(lambda: compute(walk.graph))  # noqa: E731
    t, b = median_pair(run, base, repeat)
    return Row(f"y (why this gradient) on x of a {n:,}-node chain: 12 paths of ~{n:,} hops", ms(t),
               f"one forward + backward {ms(b)}", f"{t / b:.2f}×", "≤ 3× a forward + backward, in a worker",
               "yes" if t <= 3 * b else "no")


def row_sweep(n: int, repeat: int) -> Row:
    """s on the input of a deep chain: 25 values of h, each nudged both ways through every node."""
    from engine.finite_diff import finite_difference, h_sweep

    walk = _chain_walk(n)
    run = lambda: timed(lambda: h_sweep(walk, "x"))  # noqa: E731
    base = lambda: timed(lambda: finite_difference(walk, "x"))  # noqa: E731
    t, b = median_pair(run, base, repeat)
    return Row(f"s (the h sweep) on x of a {n:,}-node chain", ms(t), f"one nudge, both ways {ms(b)}",
               f"{t / b:.1f}×", "≤ 25× one nudge (25 h), in a worker", "yes" if t <= 25 * b else "no")


def _child(cmd: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one child process."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"{cmd} exited with {proc.returncode}")
    return time.perf_counter() - t, usage.ru_maxrss / 1024


def row_headless_big(kind: str, n: int, repeat: int) -> Row:
    """--json on a big generated graph (default --fd), against loading and computing it."""
    cmd = cgtui_cmd() + ["--example", kind, "--size", str(n), "--json"]
    base_cmd = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
                f"from engine import compute, load_bytes; from engine.examples import generate; "
                f"compute(load_bytes(generate({kind!r}, {n}).encode(), 'x').graph)"]
    runs, bases = [], []
    for _ in range(repeat):
        runs.append(_child(cmd))
        bases.append(_child(base_cmd))
    t = statistics.median(r[0] for r in runs)
    mem = max(r[1] for r in runs)
    b = statistics.median(r[0] for r in bases)
    met = t <= 20 and mem <= 1024
    return Row(f"headless --json, {kind} {n:,} nodes (default --fd), wall and peak RSS", f"{ms(t)}, {mem:.0f} MiB",
               f"load + forward + backward {ms(b)}", f"{t / b:.1f}×", "≤ 20 s and ≤ 1 GiB", "yes" if met else "no")


BARE_APP = """
from textual.app import App
from textual.widgets import Tree
class Bare(App):
    def compose(self):
        tree = Tree("bare-root")
        tree.root.add_leaf("leaf")
        tree.root.expand()
        yield tree
Bare().run()
"""


def _first_frame(cmd: str, marker: str) -> float:
    socket = f"cgtui-bench-{uuid.uuid4().hex[:8]}"
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    tmux = ["tmux", "-L", socket]
    start = time.perf_counter()
    subprocess.run(tmux + ["new-session", "-d", "-s", "b", "-x", "120", "-y", "40", cmd], env=env, check=True)
    try:
        while time.perf_counter() - start < 30:
            screen = subprocess.run(tmux + ["capture-pane", "-p", "-t", "b"], capture_output=True, text=True).stdout
            if marker in screen:
                return time.perf_counter() - start
            time.sleep(0.005)
        raise RuntimeError(f"{marker!r} never appeared")
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)


def row_startup(repeat: int) -> Row:
    if shutil.which("tmux") is None:
        return Row("startup to first frame (tmux)", "-", "-", "-", "≤ 1.2× a bare Textual app", "not measured: no tmux")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(BARE_APP)
    # Start both from bytecode, as a user does from the second start on (pip compiled Textual
    # at install; an editable cgtui is compiled on first import, unless PYTHONDONTWRITEBYTECODE
    # forbids it, as it does on this project's machine).
    import compileall

    for package in ("engine", "tui"):
        compileall.compile_dir(ROOT / package, quiet=1)
    cmd = " ".join(cgtui_cmd() + [str(ROOT / "graphs" / "lecture.yaml")])
    run = lambda: _first_frame(cmd, "Press n or")  # noqa: E731
    base = lambda: _first_frame(f"{sys.executable} {f.name}", "bare-root")  # noqa: E731
    t, b = median_pair(run, base, repeat)
    os.unlink(f.name)
    return Row("startup: cgtui graphs/lecture.yaml to its first frame (tmux)", ms(t), f"bare Textual Tree app {ms(b)}",
               f"{t / b:.2f}×", "≤ 1.2× the bare app", "yes" if t / b <= 1.2 else "no")


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small graphs, few repeats: a smoke run")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = p.parse_args(argv)
    repeat = 3 if args.quick else 5
    small, big = (1_000, 2_000) if args.quick else (10_000, 100_000)
    rows = [
        lambda: row_startup(repeat),
        lambda: row_headless(repeat),
        lambda: row_step(small, repeat, 16, 1.5),
        lambda: row_step(big, 3 if args.quick else 5, 100, None),
        lambda: row_engine(small, repeat),
        lambda: row_engine(big, 3 if args.quick else 5),
        lambda: row_fd(small, repeat),
        lambda: row_load(big, repeat),
        lambda: row_refuse(repeat),
        *[lambda what=what, text=text: row_refuse_shape(what, text, repeat) for what, text in refusal_shapes().items()],
        lambda: row_memory(big),
        lambda: row_memory(big, "chain"),
        lambda: row_why(big, 3 if args.quick else 5),
        lambda: row_sweep(big, 3 if args.quick else 5),
        lambda: row_headless_big("chain", big, 1 if args.quick else 3),
        lambda: row_headless_big("dag", big, 1 if args.quick else 3),
    ]
    done = []
    for make in rows:
        row = make()
        done.append(row)
        if not args.json:
            print(f"{row.what}\n    {row.figure}  vs  {row.baseline}   ratio {row.ratio}   goal {row.goal}   met: {row.met}",
                  flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in done], indent=2, ensure_ascii=False))
    else:
        print("\n| what | figure | baseline | ratio | goal | met |\n| --- | --- | --- | --- | --- | --- |")
        for r in done:
            print(f"| {r.what} | {r.figure} | {r.baseline} | {r.ratio} | {r.goal} | {r.met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
