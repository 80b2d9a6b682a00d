"""Generated tensor graphs: ``--example mlp-batch``, a vectorized network on a batch of examples."""

from __future__ import annotations

BATCH = 100
"""Examples in the batch of ``--example mlp-batch`` (one per column of X)."""


def mlp_batch(layers: list[int], batch: int = BATCH, seed: int = 1) -> str:
    """A network of ``layers`` widths (the first is the input's) on ``batch`` random examples, vectorized.

    tanh hidden layers, a sigmoid output layer, the mean cross-entropy over every output
    and example: ``784,100,10`` is the MNIST-sized network of issue #15's speed row
    (W1 is 100×784, X is 784×100). The weights are drawn with ``randn`` and scaled by
    ``1/sqrt(fan-in)``; the labels are 0 but for a 1 in each column's first row.
    """
    if len(layers) < 2:
        raise ValueError("mlp-batch needs at least two widths: the input's and the output's")
    widths = "-".join(map(str, layers))
    lines = [f"# A {widths} network on a batch of {batch} examples, vectorized (one example per column).",
             f"title: {widths} network on a batch of {batch}",
             f"description: tanh hidden layers, a sigmoid output, J = mean cross-entropy over {batch} examples",
             "inputs:",
             f"  X: {{randn: [{layers[0]}, {batch}], seed: {seed}}}",
             f"  Y: [{', '.join('[' + ', '.join(['1' if r == 0 else '0'] * batch) + ']' for r in range(layers[-1]))}]"]
    nodes = []
    previous = "X"
    for k in range(1, len(layers)):
        lines.append(f"  W{k}: {{randn: [{layers[k]}, {layers[k - 1]}], seed: {seed + k}, "
                     f"scale: {1 / layers[k - 1] ** 0.5:.6g}}}")
        lines.append(f"  b{k}: {{zeros: [{layers[k]}, 1]}}")
        nodes.append(f"  Z{k}: W{k} @ {previous} + b{k}")
        last = k == len(layers) - 1
        nodes.append(f"  A{k}: {'sigmoid' if last else 'tanh'}(Z{k})")
        previous = f"A{k}"
    out = previous
    nodes.append(f"  L: -(Y * log({out}) + (1 - Y) * log(1 - {out}))")
    nodes.append("  J: mean(L)")
    params = ", ".join(f"{p}{k}" for k in range(1, len(layers)) for p in ("W", "b"))
    return "\n".join(lines + ["nodes:"] + nodes + ["output: J", f"params: [{params}]"]) + "\n"
