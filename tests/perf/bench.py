"""cgtui's speed as a user gets it, measured side by side with a baseline in the same run.

    python tests/perf/bench.py           # the full table (about 9 minutes)
    python tests/perf/bench.py --quick   # a smoke run on small graphs (under a minute)
    python tests/perf/bench.py --json    # the rows as JSON, with the figures as numbers
    python tests/perf/bench.py --only startup,step  # some rows (the groups: see --help)
    python tests/perf/bench.py --only step --graphs chain:100000 --positions "after f"  # one step row

Each row alternates the measurement and its baseline in the same run. The machine is
noisy: trust the ratios more than the absolute figures.

- The app is timed in a real terminal: tmux, one server for both sides of a row, driven
  through one control-mode client (no process spawned per key or per screen capture).
- Startup runs to the complete screen: every panel's text and the footer's last key.
- A step is timed from just before the key is sent to the last frame it caused (the
  next 150 ms are quiet), stamped where Textual's writer thread has flushed the frame
  to the terminal (tests/perf/probe_app.py), at four positions, with the median and
  the worst key, against the lecture graph at the same position, key by key. The same
  app runs give the finite-difference panel's row (a step while its worker nudges)
  and peak memory.
- Engine, load and refusal rows run each side in a fresh process with the same GC
  setting (tests/perf/child.py).

Needs tmux and the bench extra: pip install -e '.[bench]' (micrograd, numpy).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from engine.examples import chain, dag  # noqa: E402

LECTURE = ROOT / "graphs" / "lecture.yaml"
SIZE = (120, 40)


@dataclass
class Row:
    what: str
    figure: str
    baseline: str
    ratio_text: str
    goal: str
    met: str
    """"yes", or "no" followed by what was missed."""
    figure_s: float
    baseline_s: float
    ratio: float
    """figure_s / baseline_s, except "× faster" rows: baseline_s / figure_s."""
    extra: dict = field(default_factory=dict)
    """More numbers: worst keys, the second baseline, per-run samples."""


def ms(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 10 else f"{x:.1f} s"


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def yes_no(ok: bool, why: str = "") -> str:
    return "yes" if ok else ("no" + (f" ({why})" if why else ""))


def cgtui_cmd() -> list[str]:
    script = Path(sys.executable).with_name("cgtui")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tui"]


def child(mode: str, gc_setting: str, *args) -> list[float]:
    """Run tests/perf/child.py in a fresh process; its list of seconds."""
    out = subprocess.run([sys.executable, str(HERE / "child.py"), mode, gc_setting, *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"child.py {mode} failed: {out.stderr.strip()[-400:]}")
    return json.loads(out.stdout)


def compile_sources() -> None:
    """Bytecode for cgtui, as a user's second start has it (pip compiled Textual at install;
    an editable cgtui is compiled on first import, unless PYTHONDONTWRITEBYTECODE forbids it,
    as it does on this project's machine)."""
    import compileall

    for package in ("engine", "tui"):
        compileall.compile_dir(ROOT / package, quiet=1)


# --------------------------------------------------------------------------- tmux


class Tmux:
    """One tmux server, commanded through one control-mode client.

    A control-mode client reads commands on stdin and answers each between
    %begin and %end: sending a key or capturing a screen costs no new process
    (a ``tmux`` command line would cost a fork and exec, ~3 ms of CPU, each time).
    """

    def __init__(self) -> None:
        if shutil.which("tmux") is None:
            raise RuntimeError("tmux is not installed")
        self.socket = f"cgtui-bench-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if k != "TMUX"}
        self.base = ["tmux", "-L", self.socket, "-f", "/dev/null"]
        subprocess.run(self.base + ["new-session", "-d", "-s", "keep", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                                    "sleep 100000"], env=env, check=True)
        self.proc = subprocess.Popen(self.base + ["-C", "attach", "-t", "keep"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env, bufsize=1)
        self.n = 0
        self._sync = 0

    def _send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def _block(self) -> tuple[list[str], bool]:
        """The next answer: its lines, and whether it is an error."""
        assert self.proc.stdout is not None
        lines: list[str] = []
        inside = False
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the tmux control client went away")
            if line.startswith("%begin"):
                inside, lines = True, []
            elif line.startswith(("%end", "%error")) and inside:
                return lines, line.startswith("%error")
            elif inside:
                lines.append(line)
            # anything else is a notification (%sessions-changed, %output, …)

    def cmd(self, command: str) -> list[str]:
        """Run one tmux command; its output lines.

        Each command is followed by a numbered echo, and the answer is the one just
        before that echo: the attach's own (empty) answer can come late, and would
        otherwise shift every answer by one.
        """
        self._sync += 1
        token = f"sync-{self._sync}"
        self._send(f"{command}\ndisplay-message -p {token}")
        answers = []
        while True:
            lines, error = self._block()
            if lines == [token + "\n"]:
                break
            answers.append((lines, error))
        lines, error = answers[-1] if answers else ([], False)
        if error:
            raise RuntimeError(f"tmux {command!r}: " + "".join(lines).strip())
        return lines

    def launch(self, command: str) -> str:
        """A new session running ``command`` in a 120 × 40 window; its name."""
        self.n += 1
        name = f"r{self.n}x"  # r1x is no prefix of r10x: tmux matches targets by prefix
        self.cmd(f"new-session -d -s {name} -x {SIZE[0]} -y {SIZE[1]} {shlex.quote(command)}")
        return name

    def screen(self, name: str) -> str:
        return "".join(self.cmd(f"capture-pane -p -t {name}"))

    def keys(self, name: str, *keys: str) -> None:
        self.cmd(f"send-keys -t {name} " + " ".join(keys))

    def pane_pid(self, name: str) -> int:
        out = self.cmd(f"list-panes -t {name} -F '#{{pane_pid}}'")
        if not out:
            raise RuntimeError(f"tmux session {name} is gone (its program ended)")
        return int(out[0])

    def kill(self, name: str, pids: tuple[int, ...] = ()) -> None:
        """End a session and wait (up to 3 s) until its processes are gone, so they steal no CPU."""
        pids = pids or (self.pane_pid(name),)
        self.cmd(f"kill-session -t {name}")
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.01)

    def close(self) -> None:
        try:
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=5)
        finally:
            subprocess.run(self.base + ["kill-server"], capture_output=True)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- startup

BARE_TREE = """
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

BARE_TREE_FOOTER = """
from textual.app import App
from textual.binding import Binding
from textual.widgets import Footer, Tree
class Bare(App):
    ENABLE_COMMAND_PALETTE = False  # as cgtui: no palette key in the footer
    BINDINGS = [Binding("n", "next", "Next"), Binding("p", "back", "Back"), Binding("f", "finish", "Finish"),
                Binding("e", "edit", "Edit input"), Binding("w", "save", "Save"),
                Binding("question_mark", "help", "Help"), Binding("q", "quit", "Quit")]
    def compose(self):
        tree = Tree("bare-root")
        tree.root.add_leaf("leaf")
        tree.root.expand()
        yield tree
        yield Footer()
    def action_next(self): pass
    def action_back(self): pass
    def action_finish(self): pass
    def action_edit(self): pass
    def action_save(self): pass
    def action_help(self): pass
Bare().run()
"""

# Text from every part of cgtui's first screen on the lecture graph; the footer's last key last.
CGTUI_MARKERS = ("cgtui  Derivatives with a computation graph", "─ Graph ─", "J = 3 · v = ?", "c = 2   input",
                 "─ Step ─", "start (forward 0/3)", "Press n or → to evaluate", "─ Finite differences: a ─",
                 "nudge a by h = 0.001", "The estimates appear", "─ Transcript ─", "Nothing yet.", "? Help  q Quit")


def _to_screen(tm: Tmux, command: str, markers: tuple[str, ...], timeout: float = 30) -> float:
    """Seconds from launching ``command`` in tmux until every marker is on its screen."""
    t0 = time.perf_counter()
    name = tm.launch(command)
    pid = tm.pane_pid(name)
    try:
        while True:
            t = time.perf_counter()  # the screen captured below is at least this recent
            screen = tm.screen(name)
            if all(m in screen for m in markers):
                return t - t0
            if t - t0 > timeout:
                missing = [m for m in markers if m not in screen]
                raise RuntimeError(f"never on screen: {missing!r}\n{screen}")
            time.sleep(0.002)
    finally:
        tm.kill(name, (pid,))


def row_startup(repeat: int) -> Row:
    compile_sources()
    tmp = Path(tempfile.mkdtemp(prefix="cgtui-bench-"))
    (tmp / "bare_tree.py").write_text(BARE_TREE)
    (tmp / "bare_footer.py").write_text(BARE_TREE_FOOTER)
    py = shlex.quote(sys.executable)
    sides = {
        "cgtui": (" ".join(map(shlex.quote, cgtui_cmd() + [str(LECTURE)])), CGTUI_MARKERS),
        "footer": (f"{py} {tmp / 'bare_footer.py'}", ("bare-root", "? Help  q Quit")),
        "tree": (f"{py} {tmp / 'bare_tree.py'}", ("bare-root", "leaf")),
    }
    times: dict[str, list[float]] = {k: [] for k in sides}
    tm = Tmux()
    try:
        for side in sides:  # one unmeasured start each: the page cache, tmux's first session
            _to_screen(tm, *sides[side])
        order = list(sides)
        for k in range(repeat):
            for side in order[k % 3:] + order[:k % 3]:  # each side in each place of the round
                times[side].append(_to_screen(tm, *sides[side]))
    finally:
        tm.close()
        shutil.rmtree(tmp, ignore_errors=True)
    t, b, tree = med(times["cgtui"]), med(times["footer"]), med(times["tree"])
    return Row(f"startup: cgtui graphs/lecture.yaml to its complete screen, every panel and the key line (tmux, "
               f"median of {repeat})",
               f"{ms(t)} (worst {ms(max(times['cgtui']))})",
               f"bare Textual Tree + Footer app {ms(b)}; Tree only {ms(tree)} ({t / tree:.2f}×)",
               f"{t / b:.2f}×", "≤ 1.3× the bare Tree + Footer app", yes_no(t / b <= 1.3),
               t, b, t / b, {"worst_s": max(times["cgtui"]), "tree_only_s": tree, "ratio_tree_only": t / tree,
                             "samples": times})


# --------------------------------------------------------------------------- steps in tmux


class AppRun:
    """cgtui in a tmux session under tests/perf/probe_app.py, which logs its frames."""

    QUIET = 0.15
    """A key's frames are over when none has come for this long."""

    def __init__(self, tm: Tmux, logdir: Path, label: str, args: list[str]) -> None:
        self.tm = tm
        self.label = label
        self.log = logdir / f"{label}.log"
        self.log.touch()
        self._offset = 0
        self.frames: list[float] = []
        self.events: list[tuple[str, float, str]] = []  # fd-start / fd-end, with the name nudged
        self.fd_cpu: dict[tuple[float, str], float] = {}
        """The CPU time of the finite-difference panel's worker thread for each nudge, by its fd-end event."""
        self.pid: int | None = None
        self.first = 0.0
        """The last :meth:`press`'s first frame, seconds after the key."""
        self.full_gc: list[float] = []
        """The full garbage collections during the last :meth:`press`, in seconds."""
        probe = [sys.executable, str(HERE / "probe_app.py"), str(self.log), "--", *args]
        self.name = tm.launch(" ".join(map(shlex.quote, probe)))
        # started: a 100k graph loads for seconds before the first frame; then the footer's
        # keys, and a while without frames
        deadline = time.perf_counter() + 120
        while "q Quit" not in tm.screen(self.name):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{label}: no complete screen after 120 s:\n" + tm.screen(self.name))
            time.sleep(0.05)
        self.settle(quiet=0.5)

    def poll(self) -> None:
        with open(self.log, "rb") as f:
            f.seek(self._offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode().splitlines():
            kind, value, *rest = line.split()
            if kind == "frame":
                self.frames.append(float(value))
            elif kind == "pid":
                self.pid = int(value)
            else:
                self.events.append((kind, float(value), rest[0] if rest else ""))
                if kind == "fd-end" and len(rest) > 1:
                    self.fd_cpu[float(value), rest[0]] = float(rest[1])

    def settle(self, first_timeout: float = 10, quiet: float = 0.3) -> None:
        """Wait until the app has drawn and then been quiet for ``quiet`` seconds (or has not
        drawn at all for a second: a key that changes nothing, such as r at the start)."""
        start = time.perf_counter()
        seen = len(self.frames)
        while True:
            time.sleep(0.005)
            self.poll()
            now = time.perf_counter()
            last = max(self.frames[-1] if len(self.frames) > seen else start, start)
            if now - last >= quiet and (len(self.frames) > seen or now - start > 1.0):
                return
            if now - start > first_timeout:
                raise RuntimeError(f"{self.label}: no quiet screen after {first_timeout} s:\n"
                                   + self.tm.screen(self.name))

    def press(self, key: str, timeout: float = 10) -> float:
        """Seconds from just before sending ``key`` to the last frame it caused."""
        self.poll()
        seen = len(self.frames)
        t0 = time.perf_counter()
        self.tm.keys(self.name, key)
        while True:
            time.sleep(0.002)
            self.poll()
            mine = [f for f in self.frames[seen:] if f > t0]
            now = time.perf_counter()
            if mine and now - mine[-1] >= self.QUIET:
                self.first = mine[0] - t0
                self.full_gc = [float(n) for k, t, n in self.events if k == "gc2" and t0 < t <= mine[-1]]
                return mine[-1] - t0
            if now - t0 > timeout:
                raise RuntimeError(f"{self.label}: no frame for {key!r} within {timeout} s")

    def wait_event(self, kind: str, after: float, name: str, timeout: float = 30) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < timeout:
            self.poll()
            for k, t, n in self.events:
                if k == kind and t > after and n == name:
                    return t
            time.sleep(0.002)
        raise RuntimeError(f"{self.label}: no {kind} within {timeout} s")

    def peak_mib(self) -> float:
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM"):
                    return int(line.split()[1]) / 1024
        raise RuntimeError("no VmHWM")

    def close(self) -> None:
        self.tm.kill(self.name, (self.pid,) if self.pid else ())


POSITIONS = {  # how to get there: real keys where the app has them, the probe's hidden keys else
    "start": ("r",),
    "mid-forward": ("F5",),
    "after f": ("r", "f"),
    "mid-backward": ("F6",),
}


def _goto(apps: list[AppRun], position: str) -> None:
    for app in apps:
        app.tm.keys(app.name, *POSITIONS[position])
    for app in apps:
        app.settle(first_timeout=60)


def step_rows(kind: str, n: int, positions: list[str], keys: int, fd_pairs: int) -> list[Row]:
    """Rows for one generated graph in the app: a step at each position, the finite-difference
    panel's worker during a step, and peak memory."""
    rows: list[Row] = []
    tm = Tmux()
    logdir = Path(tempfile.mkdtemp(prefix="cgtui-bench-"))
    apps: list[AppRun] = []
    try:
        big = AppRun(tm, logdir, f"{kind}{n}", ["--example", kind, "--size", str(n)])
        apps.append(big)
        lecture = AppRun(tm, logdir, "lecture", [str(LECTURE)])
        apps.append(lecture)
        graph = f"{kind} {n:,}"
        for position in positions:
            _goto(apps, position)
            got: dict[str, list[float]] = {"big": [], "lecture": []}
            first: dict[str, list[float]] = {"big": [], "lecture": []}
            full_gc: list[float] = []  # the big graph's
            for k in range(keys):
                key = "n" if k % 2 == 0 else "p"  # n then p: each key a step, the position kept
                pair = [("big", big), ("lecture", lecture)]
                for side, app in pair if k % 4 < 2 else pair[::-1]:
                    got[side].append(app.press(key))
                    first[side].append(app.first)
                    if side == "big":
                        full_gc += app.full_gc
            t, b = med(got["big"]), med(got["lecture"])
            worst = max(got["big"])
            ok = t / b <= 1.5 and worst <= 0.100
            why = ", ".join(x for x, bad in ((f"median {t / b:.1f}× the lecture", t / b > 1.5),
                                             (f"worst {ms(worst)}", worst > 0.100)) if bad)
            rows.append(Row(f"a step (n/p), key to last frame, {graph} at {position} (tmux, {keys} keys)",
                            f"median {ms(t)}, worst {ms(worst)} (first frame: median {ms(med(first['big']))}; "
                            + (f"{len(full_gc)} full GC{'s' if len(full_gc) > 1 else ''}, up to {ms(max(full_gc))})"
                               if full_gc else "no full GC)"),
                            f"lecture graph median {ms(b)}, worst {ms(max(got['lecture']))} "
                            f"(first frame {ms(med(first['lecture']))})",
                            f"{t / b:.2f}×", "median ≤ 1.5× the lecture's; every key ≤ 100 ms", yes_no(ok, why),
                            t, b, t / b, {"worst_s": worst, "baseline_worst_s": max(got["lecture"]),
                                          "first_frame_s": med(first["big"]), "full_gc_s": full_gc,
                                          "baseline_first_frame_s": med(first["lecture"]),
                                          "samples": got["big"], "baseline_samples": got["lecture"]}))
        if fd_pairs:
            try:
                rows.append(_fd_row(big, graph, fd_pairs))
            except RuntimeError as err:  # e.g. the panel no longer has the worker probe_app.py wraps
                rows.append(Row(f"finite-difference panel's worker during a step, {graph}", "-", "-", "-",
                                "a step with it: median and worst each ≤ 1.5× those of a step without it",
                                f"no (not measured: {str(err).splitlines()[0]})", 0.0, 0.0, 0.0))
        peak, lecture_peak = big.peak_mib(), lecture.peak_mib()
        rows.append(Row(f"peak memory (VmHWM), {graph} open in the app, stepped"
                        + (" and nudged" if fd_pairs else "") + " as above", f"{peak:.0f} MiB",
                        f"lecture graph {lecture_peak:.0f} MiB", f"{peak / lecture_peak:.1f}×", "≤ 300 MiB",
                        yes_no(peak <= 300), peak * 2**20, lecture_peak * 2**20, peak / lecture_peak))
    finally:
        for app in apps:
            app.close()
        tm.close()
        shutil.rmtree(logdir, ignore_errors=True)
    return rows


def _fd_row(app: AppRun, graph: str, pairs: int) -> Row:
    """The finite-difference panel's worker and a step sent while it runs, against a step alone.

    F7 (tests/perf/probe_app.py) points the panel at the first input with nothing cached, as a
    cursor move onto a variable not nudged yet does, and holds the workers' results undrawn
    until F8: the frames after the key are the step's own, while the nudge holds the GIL.
    The step without the worker is taken on the same screen: F9 points the panel at the same
    input with workers that nudge nothing, so both steps draw the cursor on the input and the
    panel's "nudging …"; the difference is what the nudge running meanwhile costs the step.
    """
    _goto([app], "after f")
    name = f"x{0 if graph.startswith('dag') else ''}"  # the first input, which F7 nudges

    def workers_done(since: float) -> float:
        """Wait until every worker started since ``since`` has ended; the last end."""
        deadline = time.perf_counter() + 60
        while time.perf_counter() < deadline:
            app.poll()
            starts = [t for k, t, n in app.events if k == "fd-start" and t >= since and n == name]
            ends = [t for k, t, n in app.events if k == "fd-end" and t >= since and n == name]
            if starts and len(ends) >= len(starts):
                return max(ends)
            time.sleep(0.005)
        raise RuntimeError(f"{app.label}: the finite-difference worker never ended")

    def release() -> None:
        app.tm.keys(app.name, "F8")
        app.settle()

    def cpu() -> float:
        """The app process's CPU time so far (all its threads), in seconds."""
        with open(f"/proc/{app.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def waited() -> float:
        """Seconds the app's threads have waited for a core so far (the scheduler's run-queue delay,
        summed over the threads alive now): a step's share shows how much a nudge running beside it
        keeps its threads from the cores."""
        total = 0
        for tid in os.listdir(f"/proc/{app.pid}/task"):
            try:
                with open(f"/proc/{app.pid}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[1])
            except (OSError, IndexError, ValueError):  # (a thread gone meanwhile; no schedstats)
                pass
        return total / 1e9

    def timed(key: str, waits: list[float], gcs: list[list[float]]) -> float:
        """:meth:`AppRun.press`, the app's threads' wait for a core meanwhile in ``waits``, and the
        full collections inside it in ``gcs``."""
        w = waited()
        took = app.press(key)
        waits.append(waited() - w)
        gcs.append(app.full_gc)
        return took

    def drawn(since: float, quiet: float = 0.03) -> None:
        """Wait until the frames a key sent at ``since`` caused are out (none for ``quiet`` seconds)."""
        deadline = time.perf_counter() + 5
        while time.perf_counter() < deadline:
            app.poll()
            mine = [f for f in app.frames if f > since]
            if mine and time.perf_counter() - mine[-1] >= quiet:
                return
            time.sleep(0.002)

    alone, worker_with, with_step, without, cpu_alone, worker_cpu = [], [], [], [], [], []
    wait_with, wait_without = [], []
    gc_with: list[list[float]] = []  # the full collections inside each timed step with the worker
    gc_without: list[list[float]] = []  # and without
    first_with, first_without = [], []
    skipped = 0

    def step_with_worker(key: str, back: str) -> None:
        """A step while the worker runs, undone (not timed) after."""
        nonlocal skipped
        t = time.perf_counter()
        app.tm.keys(app.name, "F7")
        s = app.wait_event("fd-start", t, name)
        drawn(t)  # the panel's "nudging …" frames are out before the key
        if any(k == "fd-end" and x > s and n == name for k, x, n in app.events):
            skipped += 1  # the nudge was over before the key: nothing to measure with it
        else:
            with_step.append(timed(key, wait_with, gc_with))
            first_with.append(app.first)
            worker_with.append(workers_done(s) - s)
        release()
        app.press(back)  # where the pair started (not timed): both steps are the same move

    def step_without_worker(key: str, back: str) -> None:
        """The same step on the same screen without it: F9 points the panel at the input as F7
        does, but its worker nudges nothing (the cursor on the input, "nudging …" shown)."""
        t = time.perf_counter()
        app.tm.keys(app.name, "F9")
        app.wait_event("fd-start", t, name)
        drawn(t)  # as before the step with the worker
        without.append(timed(key, wait_without, gc_without))
        first_without.append(app.first)
        release()
        app.press(back)

    # one untimed step each way first: the first step into the backward pass builds what later
    # ones reuse, and it fell on the side timed first (until 2026-12-01, always the worker's)
    app.press("n")
    app.press("p")
    for k in range(pairs):
        # at the pass boundary, as the step rows "after f": n crosses into the backward pass (from
        # the forward pass done), p back (from the first backward step); each timed step is undone
        # before the next, so the step with the worker and the one without are the same move
        key, back = ("n", "p") if k % 2 == 0 else ("p", "n")
        if key == "p":
            app.press("n")  # to the first backward step (not timed)
        # the worker alone: how long the panel's nudge takes in the app, and the app's own CPU
        # time meanwhile (the nudge's, unless it runs in another process)
        c = cpu()
        t = time.perf_counter()
        app.tm.keys(app.name, "F7")
        s = app.wait_event("fd-start", t, name)
        e = workers_done(s)
        alone.append(e - s)
        cpu_alone.append(cpu() - c)
        if (e, name) in app.fd_cpu:
            worker_cpu.append(app.fd_cpu[e, name])
        release()
        # with and without in turn, each side first in every other pair of pairs
        sides = (step_with_worker, step_without_worker)
        for side in (sides if k // 2 % 2 == 0 else sides[::-1]):
            side(key, back)
        if key == "p":
            app.press("p")  # back to the forward pass done, where the pairs start
    if not with_step:
        return Row(f"finite-difference panel's worker during a step, {graph}", "-", "-", "-",
                   "a step with it: median and worst each ≤ 1.5× those of a step without it",
                   "no (the nudge ended before any step could start: nothing measured)",
                   0.0, 0.0, 0.0, {"worker_alone_s": alone})
    worst, base = max(with_step), med(without)
    median_ratio, worst_ratio = med(with_step) / base, worst / max(without)
    # On a shared machine a step's own time varies by 2× between keys (the baseline's worst is
    # itself far above its median), so the row compares like with like: the median step with the
    # worker against the median without, and the worst against the worst, alternated key by key.
    ok = median_ratio <= 1.5 and worst_ratio <= 1.5
    why = ", ".join(x for x, bad in ((f"median {median_ratio:.2f}×", median_ratio > 1.5),
                                     (f"worst {worst_ratio:.2f}×", worst_ratio > 1.5)) if bad)
    return Row(f"finite-difference panel's worker (nudge of the first input, every later node) during a step, "
               f"{graph}, after f (tmux, {len(with_step)} steps alternated with as many without)",
               f"step with the worker running: median {ms(med(with_step))}, worst {ms(worst)} "
               f"(first frame: median {ms(med(first_with))}; the app's threads waited for a core "
               f"{ms(med(wait_with))} a step, median)",
               f"step without: median {ms(base)}, worst {ms(max(without))} (first frame: median "
               f"{ms(med(first_without))}; waited for a core {ms(med(wait_without))}); the worker alone "
               f"{ms(med(alone))}, with a step {ms(med(worker_with))}; the app's own CPU time during the nudge "
               f"{ms(med(cpu_alone))} (in clock ticks), the worker thread's "
               + (f"{ms(med(worker_cpu))}" if worker_cpu else "not logged"),
               f"median {median_ratio:.2f}×, worst {worst_ratio:.2f}×",
               "a step with it: median and worst each ≤ 1.5× those of a step without it",
               yes_no(ok, why), med(with_step), base, median_ratio,
               {"median_with_s": med(with_step), "worst_with_s": worst, "worst_without_s": max(without),
                "worst_ratio": worst_ratio, "worst_over_median_without": worst / base,
                "first_frame_with_s": med(first_with), "first_frame_without_s": med(first_without),
                "worker_alone_s": med(alone), "worker_during_step_s": med(worker_with),
                "app_cpu_during_nudge_s": med(cpu_alone), "skipped": skipped, "samples": with_step,
                "baseline_samples": without, "worker_thread_cpu_s": worker_cpu,
                "waited_for_a_core_s": wait_with, "baseline_waited_for_a_core_s": wait_without,
                "full_gc_with_s": gc_with, "full_gc_without_s": gc_without})


# --------------------------------------------------------------------------- headless and engine


def row_headless(repeat: int) -> Row:
    cmd = cgtui_cmd() + [str(LECTURE), "--json"]
    a, b = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True)
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        b.append(time.perf_counter() - t)
    t, b_ = med(a), med(b)
    probe = ("import sys, io, contextlib\nfrom tui.cli import run\n"
             "with contextlib.redirect_stdout(io.StringIO()): run([sys.argv[1], '--json'])\n"
             "print(*(m in sys.modules for m in ('textual', 'rich', 'numpy')))")
    out = subprocess.run([sys.executable, "-c", probe, str(LECTURE)], capture_output=True, text=True,
                         cwd=ROOT).stdout.split()
    clean = out == ["False", "False", "False"]
    why = ", ".join(x for x, bad in ((f"{ms(t)}", t > 0.15), ("imports textual, rich or numpy", not clean)) if bad)
    return Row("headless --json on the lecture graph", ms(t), f"python -c pass {ms(b_)}", f"{t / b_:.1f}×",
               "≤ 0.15 s, no textual/numpy import", yes_no(t <= 0.15 and clean, why), t, b_, t / b_)


def engine_rows(n: int, repeat: int, runs: int, gc_setting: str) -> list[Row]:
    """cgtui's engine against micrograd on the same random DAG, each side in its own process."""
    many_c, many_m, once_c, once_m = [], [], [], []
    for _ in range(repeat):
        many_c.append(med(child("engine-many", gc_setting, n, runs)))
        many_m.append(med(child("micrograd-many", gc_setting, n, runs)))
        once_c += child("engine-once", gc_setting, n)
        once_m += child("micrograd-once", gc_setting, n)
    rows = []
    gc_note = "GC on, as by default" if gc_setting == "on" else "GC off"
    for what, c, m, goal in (("compile once, run many: compute() with the tape built", many_c, many_m, 10),
                             ("build + run once: tape build + compute()", once_c, once_m, 2)):
        t, b = med(c), med(m)
        rows.append(Row(f"engine forward + backward, {what}, random DAG {n:,} nodes "
                        f"(fresh processes, {gc_note}, {repeat} each)",
                        ms(t), f"micrograd build + backward {ms(b)}",
                        f"{b / t:.1f}× faster" if b >= t else f"{t / b:.1f}× slower",
                        f"≥ {goal}× faster than micrograd", yes_no(b / t >= goal), t, b, b / t,
                        {"samples": c, "baseline_samples": m}))
    return rows


def _write(data: str | bytes, tmp: Path, name: str) -> Path:
    path = tmp / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def mistake_last(size: int) -> bytes:
    """``size`` bytes of short nodes, the last one unfinished (``bad: x +``)."""
    lines = ["inputs:", "  x: 1", "nodes:"]
    total, k = 20, 0
    while total < size - 40:
        line = f"  n{k}: x * {k % 7 + 1}"
        lines.append(line)
        total += len(line) + 1
        k += 1
    lines.append("  bad: x +")
    return ("\n".join(lines) + "\n").encode()


def long_names(size: int) -> bytes:
    """``size`` bytes of inputs with random 186-character names (~5,400 in 1 MiB), then one node
    using a name never defined: the last name with its last letter changed, so that "did you
    mean" compares it with every name (random letters make each comparison as slow as it gets;
    names sharing a long stem are matched faster)."""
    import random

    rnd = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz_"
    lines, names, total = ["inputs:"], [], 20
    while total < size - 400:
        name = "v" + "".join(rnd.choice(letters) for _ in range(185))
        names.append(name)
        lines.append(f"  {name}: 1")
        total += len(lines[-1]) + 1
    lines += ["nodes:", f"  out: {names[-1][:-1]}Q * 2"]
    return ("\n".join(lines) + "\n").encode()


def unknown_param(size: int) -> bytes:
    """Like :func:`long_names`, with the near-miss name in ``params:`` instead of an expression."""
    text = long_names(size).decode()
    head, _, _ = text.rpartition("nodes:")
    names = [line.split(":")[0].strip() for line in head.splitlines()[1:] if line.strip()]
    return (head + f"nodes:\n  out: {names[-1]} * 2\nparams: [{names[-1][:-1]}Q]\n").encode()


def long_expressions(size: int) -> bytes:
    """Balanced 4,000-character expressions, the last one with a syntax error (#11 item 8: 1.8 s for 1 MiB)."""
    nested = "(" * 24 + "a" + "+a)" * 24
    expression = "+".join([nested] * (4000 // (len(nested) + 1)))
    lines = ["inputs:", "  a: 1", "nodes:"]
    for k in range(max(1, size // (len(expression) + 10))):
        lines.append(f"  n{k}: {expression}")
    lines[-1] += " +"
    return ("\n".join(lines) + "\n").encode()


def load_rows(sizes: tuple[int, ...], refuse_size: int, repeat: int) -> list[Row]:
    tmp = Path(tempfile.mkdtemp(prefix="cgtui-bench-"))
    rows = []
    try:
        cases = [(f"load a {kind} file of {n:,} nodes (parse, check, order)", "load",
                  _write(gen(n), tmp, f"{kind}{n}.yaml"), 3.0)
                 for n in sizes for kind, gen in (("dag", dag), ("chain", chain))]
        data = mistake_last(refuse_size)
        count = data.count(b"\n") - 3
        cases.append((f"refuse a {refuse_size / 2**20:.2g} MiB file ({count:,} nodes, the mistake last)",
                      "refuse", _write(data, tmp, "mistake.yaml"), 1.0))
        data = long_names(refuse_size)
        count = data.count(b"\n") - 3  # inputs:, nodes:, out
        cases.append((f"refuse a {refuse_size / 2**20:.2g} MiB file of {count:,} long names, the last one using "
                      "an undefined name (#11 item 8)", "refuse", _write(data, tmp, "names.yaml"), 1.0))
        cases.append((f"refuse a {refuse_size / 2**20:.2g} MiB file of long names, params: naming an unknown one",
                      "refuse", _write(unknown_param(refuse_size), tmp, "params.yaml"), 1.0))
        data = long_expressions(refuse_size)
        count = data.count(b"\n  n")
        cases.append((f"refuse a {refuse_size / 2**20:.2g} MiB file of {count:,} balanced 4,000-character"
                      " expressions, the mistake last", "refuse", _write(data, tmp, "exprs.yaml"), 1.0))
        for what, mode, path, goal in cases:
            a, b = [], []
            for _ in range(repeat):
                a += child(mode, "on", path)
                b += child("yaml", "on", path)
            t, b_ = med(a), med(b)
            rows.append(Row(f"{what} (fresh processes, GC on, {repeat} each)", ms(t), f"PyYAML full load {ms(b_)}",
                            f"{t / b_:.1f}×", f"{'≤' if mode == 'load' else '<'} {goal:g} s",
                            yes_no(t <= goal if mode == "load" else t < goal), t, b_, t / b_,
                            {"worst_s": max(a), "samples": a, "baseline_samples": b}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# --------------------------------------------------------------------------- big graphs: y, s, headless


def _chain_walk(n: int):
    from engine import compute, load_bytes
    from engine.finite_diff import path_to_output

    walk = compute(load_bytes(chain(n).encode(), "chain").graph)
    path_to_output(walk, "x")  # the graph's caches (what depends on what), as the app has them
    return walk


def _alternate(run, base, repeat: int) -> tuple[list[float], list[float]]:
    a, b = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        run()
        a.append(time.perf_counter() - t)
        t = time.perf_counter()
        base()
        b.append(time.perf_counter() - t)
    return a, b


def big_rows(n: int, repeat: int) -> list[Row]:
    """y and s on the input of a deep chain (the app runs both in a worker), and --json on chain and dag."""
    from engine import compute
    from engine.finite_diff import finite_difference, h_sweep
    from engine.paths import why_gradient
    from engine.text import why_parts

    walk = _chain_walk(n)
    out = walk.graph.output
    rows = []
    a, b = _alternate(lambda: why_parts(why_gradient(walk, "x"), out), lambda: compute(walk.graph), repeat)
    t, b_ = med(a), med(b)
    rows.append(Row(f"y (why this gradient) on x of a {n:,}-node chain: 12 paths of ~{n:,} hops", ms(t),
                    f"one forward + backward {ms(b_)}", f"{t / b_:.2f}×", "≤ 3× a forward + backward, in a worker",
                    yes_no(t <= 3 * b_), t, b_, t / b_, {"worst_s": max(a)}))
    a, b = _alternate(lambda: h_sweep(walk, "x"), lambda: finite_difference(walk, "x"), repeat)
    t, b_ = med(a), med(b)
    rows.append(Row(f"s (the h sweep) on x of a {n:,}-node chain", ms(t), f"one nudge, both ways {ms(b_)}",
                    f"{t / b_:.1f}×", "≤ 25× one nudge (25 h), in a worker", yes_no(t <= 25 * b_), t, b_, t / b_,
                    {"worst_s": max(a)}))
    for kind in ("chain", "dag"):
        cmd = cgtui_cmd() + ["--example", kind, "--size", str(n), "--json"]
        walls, mems = [], []
        for _ in range(max(1, repeat // 2)):
            t0 = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status):
                raise RuntimeError(f"{cmd} failed")
            walls.append(time.perf_counter() - t0)
            mems.append(usage.ru_maxrss / 1024)
        t, mem = med(walls), max(mems)
        rows.append(Row(f"headless --json, {kind} {n:,} nodes (default --fd): wall and peak RSS",
                        f"{ms(t)}, {mem:.0f} MiB", "goal only", "-", "≤ 20 s and ≤ 1 GiB",
                        yes_no(t <= 20 and mem <= 1024), t, 20.0, t / 20.0, {"peak_mib": mem}))
    return rows


def tensor_rows(runs: int) -> list[Row]:
    """Tensor graphs (#15): tests/perf/tensor_bench.py in its own process (it sets BLAS to one thread
    before numpy loads), its rows as this table's."""
    out = subprocess.run([sys.executable, str(HERE / "tensor_bench.py"), "--json", "--runs", str(runs)],
                         capture_output=True, text=True, check=True)
    rows = []
    for r in json.loads(out.stdout):
        t = r["ms"] / 1000
        base = r["baseline_ms"] / 1000 if "baseline_ms" in r else 0.1  # a goal-only row: against its 100 ms
        rows.append(Row(r["what"], ms(t), f"numpy {ms(base)}" if "baseline_ms" in r else "goal only",
                        f"{t / base:.2f}×" if "baseline_ms" in r else "-", r["goal"],
                        yes_no(r["met"], f"{t / base:.2f}×" if "baseline_ms" in r else ms(t)), t, base, t / base))
    return rows


# --------------------------------------------------------------------------- main


def plan(quick: bool, graphs_only: list[tuple[str, int]] | None = None, positions_only: list[str] | None = None,
         keys_only: int | None = None) -> dict[str, list]:
    """The rows by name, each a list of functions returning rows.

    ``graphs_only``, ``positions_only`` and ``keys_only`` narrow the step group (``--graphs``,
    ``--positions``, ``--keys``): one row is then measured in a minute instead of the group's ten,
    without the finite-difference row (the fd group has it).
    """
    if quick:
        graphs = [("chain", 1_000, 0), ("dag", 2_000, 0)]
        positions, keys, repeat = list(POSITIONS), 2, 3
        fd = [("chain", 20_000)]  # the smallest chain whose nudge outlasts a step (over 2,000 names: a worker)
        engine_sizes, engine_repeat, runs, load_sizes, refuse_size = (2_000,), 2, 3, (2_000,), 128 * 1024
    else:
        graphs = [("chain", 10_000, 0), ("dag", 10_000, 0), ("chain", 100_000, 10), ("dag", 100_000, 10)]
        positions, keys, repeat = list(POSITIONS), 13, 11  # 4 × 13 = 52 keys per graph
        fd = []  # the 100k graphs above do it
        engine_sizes, engine_repeat, runs, load_sizes, refuse_size = (10_000, 100_000), 5, 5, (100_000,), 2**20
    if graphs_only is not None:
        graphs, fd = [(kind, n, 0) for kind, n in graphs_only], []
    if positions_only is not None:
        positions = positions_only
    if keys_only is not None:
        keys = keys_only
    return {
        "startup": [lambda: [row_startup(repeat)]],
        "headless": [lambda: [row_headless(5 if quick else 11)]],
        "step": [lambda g=g: step_rows(g[0], g[1], positions, keys, g[2]) for g in graphs]
        + [lambda g=g: step_rows(g[0], g[1], [], 0, 3) for g in fd],
        # the finite-difference and memory rows alone (the step group has them too, after its steps)
        "fd": [lambda g=g: step_rows(g[0], g[1], [], 0, 3 if quick else 12)
               for g in ([("chain", 20_000)] if quick else [("chain", 100_000), ("dag", 100_000)])],
        "engine": [lambda n=n: engine_rows(n, engine_repeat, runs, "on") for n in engine_sizes],
        "engine-gc-off": [] if quick else [lambda n=n: engine_rows(n, engine_repeat, runs, "off")
                                           for n in engine_sizes],
        "load": [lambda: load_rows(load_sizes, refuse_size, 2 if quick else 5)],
        "big": [lambda: big_rows(2_000 if quick else 100_000, 2 if quick else 3)],
        "tensor": [lambda: tensor_rows(3 if quick else 11)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small graphs, few repeats: a smoke run")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--only", help="comma-separated row groups: startup, headless, step (with the finite-difference "
                   "and memory rows), fd (those two alone), engine, engine-gc-off, load, big (y, s and --json on 100k), "
                   "tensor (#15)")
    p.add_argument("--graphs", help="the step group on these graphs only, comma-separated KIND:SIZE "
                   "(chain:100000,dag:10000), without their finite-difference row")
    p.add_argument("--positions", help=f"the step group at these positions only, comma-separated ({', '.join(POSITIONS)})")
    p.add_argument("--keys", type=int, help="keys per step row (default 13, --quick 2)")
    args = p.parse_args(argv)
    graphs_only = positions_only = None
    if args.graphs:
        try:
            graphs_only = [(kind, int(size)) for kind, size in (g.split(":") for g in args.graphs.split(","))]
        except ValueError:
            p.error(f"--graphs {args.graphs!r}: write KIND:SIZE, comma-separated (chain:100000)")
        if any(kind not in ("chain", "dag") for kind, _ in graphs_only):
            p.error(f"--graphs {args.graphs!r}: the kinds are chain and dag")
    if args.positions:
        positions_only = args.positions.split(",")
        unknown = [x for x in positions_only if x not in POSITIONS]
        if unknown:
            p.error(f"unknown positions {unknown}; choose from {', '.join(POSITIONS)}")
    groups = plan(args.quick, graphs_only, positions_only, args.keys)
    names = args.only.split(",") if args.only else [n for n in groups if n != "fd"]  # (step has its rows)
    unknown = [n for n in names if n not in groups]
    if unknown:
        p.error(f"unknown row groups {unknown}; choose from {', '.join(groups)}")
    done: list[Row] = []
    for name in names:
        for make in groups[name]:
            for row in make():
                done.append(row)
                if not args.json:
                    print(f"{row.what}\n    {row.figure}  vs  {row.baseline}   ratio {row.ratio_text}   "
                          f"goal {row.goal}   met: {row.met}", flush=True)
    if args.json:
        print(json.dumps([asdict(r) for r in done], indent=2, ensure_ascii=False))
    else:
        print("\n| what | figure | baseline | ratio | goal | met |\n| --- | --- | --- | --- | --- | --- |")
        for r in done:
            print(f"| {r.what} | {r.figure} | {r.baseline} | {r.ratio_text} | {r.goal} | {r.met} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
