"""Tensor graphs' speed (#15): a 784-100-10 network on a batch of 100, and a 10000-100-10 one
(X and W1 of 10⁶ elements), against plain numpy.

    python tests/perf/tensor_bench.py          # the rows, as text
    python tests/perf/tensor_bench.py --json   # the same, figures as numbers

Rows (each side timed alternately in the same process, the best of several runs, since
the machine is shared: trust the ratio more than the milliseconds):

- the whole walk headless: ``compute_tensor`` (every forward and backward step as data:
  values, formulas, shape arithmetic, contributions) against the same forward and
  backward pass written directly in numpy (the course's dZ2 = A2 − Y … db1 lines, which
  compute only the parameters' gradients), and against numpy computing every input's
  gradient as the walk does (X's is one more 784×100×100 product);
- one step: the walk's time divided by its number of steps, and the time to format one
  backward step for --trace (its largest, ∂J/∂W1's 100×784 contribution).

Goals (issue #15): a step under 100 ms headless; forward + backward within 3× of numpy.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # before numpy loads BLAS:
    os.environ.setdefault(_var, "1")  # on a shared 2-core machine, waking BLAS threads between calls costs ms
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from engine import parse_graph  # noqa: E402
from engine.examples import generate  # noqa: E402
from engine.tensor_graph import compute_tensor  # noqa: E402
from engine.tensor_report import matrix_lines  # noqa: E402

NETWORK = generate("mlp-batch")  # 784-100-10 on a batch of 100 (cgtui --example mlp-batch)


def numpy_pass(X, Y, W1, b1, W2, b2):
    """The course's forward and backward pass, written directly."""
    m = X.shape[1] * Y.shape[0]  # mean over every element of L, as the graph's J
    A1 = np.tanh(W1 @ X + b1)
    A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    J = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    dZ2 = (A2 - Y) / m
    dW2 = dZ2 @ A1.T
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)
    dW1 = dZ1 @ X.T
    db1 = np.sum(dZ1, axis=1, keepdims=True)
    return J, dW1, db1, dW2, db2


def numpy_all(X, Y, W1, b1, W2, b2):
    """The same, also computing the gradients of X and Y, as the graph's walk does (every input's)."""
    m = X.shape[1] * Y.shape[0]
    A1 = np.tanh(W1 @ X + b1)
    A2 = 1 / (1 + np.exp(-(W2 @ A1 + b2)))
    J = -np.mean(Y * np.log(A2) + (1 - Y) * np.log(1 - A2))
    dY = (np.log(1 - A2) - np.log(A2)) / m
    dZ2 = (A2 - Y) / m
    dW2 = dZ2 @ A1.T
    db2 = np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = W2.T @ dZ2 * (1 - A1 ** 2)
    dW1 = dZ1 @ X.T
    db1 = np.sum(dZ1, axis=1, keepdims=True)
    dX = W1.T @ dZ1
    return J, dW1, db1, dW2, db2, dX, dY


def best(f, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


NETWORKS = {"784-100-10, batch 100": None,  # cgtui --example mlp-batch
            "10000-100-10, batch 100: X and W1 hold 10⁶ elements each": [10000, 100, 10]}
"""The default example, and one whose largest tensors have 10⁶ elements (issue #15's speed goal)."""


def rows_for(label: str, layers: list[int] | None, runs: int) -> list[dict]:
    graph = parse_graph(NETWORK if layers is None else generate("mlp-batch", layers=layers))
    values = {i.name: i.value for i in graph.inputs}
    walk = compute_tensor(graph)
    J, dW1, *_ = numpy_pass(**values)
    assert np.allclose(walk.grads["W1"], dW1, rtol=1e-9, atol=1e-15), "the two sides must compute the same"
    assert np.allclose(walk.grads["X"], numpy_all(**values)[5], rtol=1e-9, atol=1e-15)
    ours = theirs = same = float("inf")
    for _ in range(runs):  # alternate, so that both sides see the same load
        ours = min(ours, best(lambda: compute_tensor(graph), 1))
        theirs = min(theirs, best(lambda: numpy_pass(**values), 1))
        same = min(same, best(lambda: numpy_all(**values), 1))
    steps = len(walk.forward_steps) + len(walk.backward_steps)
    biggest = next(s for s in walk.backward_steps if s.parent == "W1")
    fmt = best(lambda: matrix_lines(biggest.contribution), runs)
    shape = "×".join(map(str, biggest.contribution.shape))
    return [
        {"what": f"whole walk headless ({label})", "ms": ours * 1e3, "baseline_ms": theirs * 1e3,
         "ratio": ours / theirs, "goal": "within 3× of numpy", "met": ours / theirs <= 3},
        {"what": f"the same ({label}), against numpy computing every input's gradient (X and Y too)",
         "ms": ours * 1e3, "baseline_ms": same * 1e3, "ratio": ours / same, "goal": "within 3× of numpy",
         "met": ours / same <= 3},
        {"what": f"one step ({label}: walk / {steps} steps)", "ms": ours / steps * 1e3, "goal": "under 100 ms",
         "met": ours / steps < 0.1},
        {"what": f"format ∂J/∂W1's step for --trace ({shape})", "ms": fmt * 1e3, "goal": "under 100 ms",
         "met": fmt < 0.1},
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--json", action="store_true")
    p.add_argument("--runs", type=int, default=7)
    args = p.parse_args(argv)
    rows = [row for label, layers in NETWORKS.items() for row in rows_for(label, layers, args.runs)]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            base = f"  numpy {r['baseline_ms']:.1f} ms  ratio {r['ratio']:.2f}" if "ratio" in r else ""
            print(f"{r['what']}: {r['ms']:.1f} ms{base}  goal {r['goal']}: {'met' if r['met'] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
