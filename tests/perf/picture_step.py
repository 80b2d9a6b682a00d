"""A step with the picture shown, against the same step with the tree, on big graphs (#14 §1).

    python tests/perf/picture_step.py                    # chain and dag of 100,000 nodes
    python tests/perf/picture_step.py --size 20000 --keys 8

Two apps on the same generated graph run side by side in tmux (120 × 40) under
tests/perf/probe_app.py, as bench.py runs them: one shows the tree, the other the picture
(v, then its layout is awaited). At each position n and p are pressed alternately on both,
in alternating order, and each key is timed from just before it is sent to the last frame it
caused. The ratio is picture / tree, medians; the goal is that the picture does not slow a
step (≤ 1.2×). The layout's own time (once, in a worker, after v) is printed too.

For the report, not a test: the machine is shared, trust the ratio more than the figures.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import AppRun, Tmux, _goto, med, ms  # noqa: E402


def measure(kind: str, size: int, keys: int, positions: list[str]) -> list[str]:
    tm = Tmux()
    logdir = Path(tempfile.mkdtemp(prefix="cgtui-picture-"))
    apps: list[AppRun] = []
    lines = []
    try:
        args = ["--example", kind, "--size", str(size)]
        tree = AppRun(tm, logdir, f"{kind}-tree", args)
        apps.append(tree)
        picture = AppRun(tm, logdir, f"{kind}-picture", args)
        apps.append(picture)
        t0 = time.perf_counter()
        tm.keys(picture.name, "v")
        while "Laying out" in tm.screen(picture.name) or "Graph: picture" not in tm.screen(picture.name):
            if time.perf_counter() - t0 > 300:
                raise RuntimeError("no picture after 300 s:\n" + tm.screen(picture.name))
            time.sleep(0.05)
        laid_out = time.perf_counter() - t0
        picture.settle(first_timeout=60)
        lines.append(f"{kind} {size:,}: v to the laid-out picture {ms(laid_out)} (once; a worker thread)")
        for position in positions:
            _goto(apps, position)
            got: dict[str, list[float]] = {"tree": [], "picture": []}
            gcs: dict[str, list[float]] = {"tree": [], "picture": []}
            for k in range(keys):
                key = "n" if k % 2 == 0 else "p"
                pair = [("tree", tree), ("picture", picture)]
                for side, app in pair if k % 4 < 2 else pair[::-1]:
                    got[side].append(app.press(key))
                    gcs[side] += app.full_gc
            p, t = med(got["picture"]), med(got["tree"])
            lines.append(f"{kind} {size:,} at {position}: a step with the picture median {ms(p)} (worst"
                         f" {ms(max(got['picture']))}), with the tree {ms(t)} (worst {ms(max(got['tree']))}):"
                         f" ratio {p / t:.2f}× ({'met' if p / t <= 1.2 else 'not met'}: goal ≤ 1.2×);"
                         f" full GCs {len(gcs['picture'])} ({ms(sum(gcs['picture']))}) with the picture,"
                         f" {len(gcs['tree'])} ({ms(sum(gcs['tree']))}) with the tree")
        lines.append(f"{kind} {size:,}: peak memory with the picture {picture.peak_mib():.0f} MiB,"
                     f" with the tree {tree.peak_mib():.0f} MiB")
    finally:
        for app in apps:
            app.close()
        tm.close()
        shutil.rmtree(logdir, ignore_errors=True)
    return lines


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=100_000)
    p.add_argument("--keys", type=int, default=16)
    p.add_argument("--kinds", default="chain,dag")
    p.add_argument("--positions", default="start,mid-forward,mid-backward")
    args = p.parse_args()
    for kind in args.kinds.split(","):
        for line in measure(kind, args.size, args.keys, args.positions.split(",")):
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
