"""The tensor app's drawing on mlp-batch (784-100-10 on a batch of 100), step by step, headless.

    python tests/perf/tensor_app_redraw.py

For every position of the walk: the step panel's text, the tree's labels, the finite-difference
panel's text, and the whole redraw after a step (``_stepped``: the tree's cursor, every view),
in ms. The nudge itself runs in a worker thread on a graph this big (it is waited for between
positions, not timed). Timed in one process on a shared machine: read the figures together.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine import load_bytes  # noqa: E402
from engine.examples import generate  # noqa: E402
from engine.tensor_session import TensorSession  # noqa: E402
from tui.tensor_app import TensorApp  # noqa: E402
from tui.widgets.tensor_views import TensorTree, fd_text, step_text  # noqa: E402


async def main() -> None:
    app = TensorApp(TensorSession(load_bytes(generate("mlp-batch").encode(), "(mlp-batch)")))
    async with app.run_test(size=(120, 40)):
        s = app.session
        worst = 0.0
        for k in range(s.total + 1):
            s.go(k)
            t0 = time.perf_counter()
            step_text(s, 70)
            t1 = time.perf_counter()
            app.query_one(TensorTree).redraw()
            t2 = time.perf_counter()
            fd_text(s, 60)
            t3 = time.perf_counter()
            app._stepped()
            t4 = time.perf_counter()
            await app.workers.wait_for_complete()
            worst = max(worst, t4 - t3)
            print(f"{k:3} {s.step_node() or '(start)':8} step {1000 * (t1 - t0):5.1f}  tree {1000 * (t2 - t1):5.1f}  "
                  f"fd {1000 * (t3 - t2):5.1f}  redraw {1000 * (t4 - t3):5.1f} ms")
        print(f"the slowest redraw: {1000 * worst:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
