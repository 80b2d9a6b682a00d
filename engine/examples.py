"""Generated graph files, for trying cgtui (and measuring it) on big graphs.

Each generator returns the text of a graph file, so what cgtui opens is exactly
what ``--save`` would write.
"""

from __future__ import annotations

import random
from typing import Literal

KINDS = ("chain", "dag", "mlp")


def chain(size: int) -> str:
    """A deep chain: each node feeds the next, ``n_k = tanh(n_(k-1)) + 0.5 * x``."""
    lines = [f"# A chain of {size} nodes: every gradient flows through all the nodes after it.",
             f"title: chain of {size} nodes", "inputs:", "  x: 0.5", "nodes:", "  n0: tanh(x)"]
    lines += [f"  n{k}: tanh(n{k - 1}) + 0.5 * x" for k in range(1, size)]
    return "\n".join(lines) + "\n"


def dag(size: int, seed: int = 1, inputs: int = 100, unary: str = "tanh") -> str:
    """A wide random DAG: each node combines a recent node with any earlier name.

    ``unary`` is the one function used (micrograd, the benchmark's baseline, has relu but no tanh).
    """
    rnd = random.Random(seed)
    names = [f"x{i}" for i in range(inputs)]
    lines = [f"# A random DAG of {size} nodes over {inputs} inputs (seed {seed}).",
             f"title: random DAG of {size} nodes", "inputs:"]
    lines += [f"  {name}: {rnd.uniform(-1, 1):.4f}" for name in names]
    lines.append("nodes:")
    for k in range(size - 1):
        a, b = rnd.choice(names[-50:]), rnd.choice(names)
        op = rnd.choice(("+", "*", "f", "-"))
        lines.append(f"  n{k}: {f'{unary}({a})' if op == 'f' else f'{a} {op} {b}'}")
        names.append(f"n{k}")
    lines.append(f"  J: {' + '.join(names[-8:])}")
    return "\n".join(lines) + "\n"


def mlp(layers: list[int], n_inputs: int = 4, seed: int = 1) -> str:
    """A multilayer perceptron unrolled to scalars, with a squared-error loss.

    Every product w·h is a node, every neuron's sum z and activation h too (tanh
    in hidden layers, identity in the last), and ``L = Σ (out − y)²``.
    """
    rnd = random.Random(seed)
    lines = [f"# A multilayer perceptron {n_inputs} -> {' -> '.join(map(str, layers))}, unrolled to scalars.",
             f"title: MLP {n_inputs}-{'-'.join(map(str, layers))}", "inputs:"]
    previous = [f"x{i}" for i in range(n_inputs)]
    lines += [f"  {x}: {rnd.uniform(-1, 1):.4f}" for x in previous]
    nodes: list[str] = []
    for li, width in enumerate(layers, start=1):
        current = []
        last = li == len(layers)
        for j in range(width):
            products = []
            for i, h in enumerate(previous):
                w = f"w{li}_{j}_{i}"
                lines.append(f"  {w}: {rnd.uniform(-1, 1) / len(previous) ** 0.5:.4f}")
                p = f"p{li}_{j}_{i}"
                nodes.append(f"  {p}: {w} * {h}")
                products.append(p)
            b = f"b{li}_{j}"
            lines.append(f"  {b}: 0")
            z = f"z{li}_{j}"
            while len(products) > 64:  # long sums in parts, so no expression grows too deep
                part = f"s{li}_{j}_{len(nodes)}"
                nodes.append(f"  {part}: {' + '.join(products[:64])}")
                products = [part] + products[64:]
            nodes.append(f"  {z}: {' + '.join(products)} + {b}")
            if last:
                current.append(z)
            else:
                h = f"h{li}_{j}"
                nodes.append(f"  {h}: tanh({z})")
                current.append(h)
        previous = current
    targets = []
    for j, out in enumerate(previous):
        y = f"y{j}"
        lines.append(f"  {y}: {rnd.uniform(-1, 1):.4f}")
        targets.append(f"({out} - {y}) ^ 2")
    nodes.append(f"  L: {' + '.join(targets)}")
    return "\n".join(lines + ["nodes:"] + nodes + ["output: L"]) + "\n"


def generate(kind: Literal["chain", "dag", "mlp"], size: int = 1000, layers: list[int] | None = None, seed: int = 1) -> str:
    """The text of a generated graph file of ``kind`` (one of :data:`KINDS`)."""
    if kind == "chain":
        return chain(size)
    if kind == "dag":
        return dag(size, seed)
    if kind == "mlp":
        return mlp(layers or [16, 16, 1], seed=seed)
    raise ValueError(f"unknown example {kind!r} (choose from {', '.join(KINDS)})")
