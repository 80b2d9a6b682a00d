"""One measurement in a fresh process (for bench.py): prints a JSON list of seconds.

    python tests/perf/child.py MODE GC [ARGS]

GC is "on" (Python's default, as a user runs) or "off" (``gc.disable()`` before anything
is timed). Each side of a comparison runs in its own process with the same GC setting,
so neither pays for the other's heap.

Modes:
    engine-many N R     cgtui: a random DAG of N nodes loaded, its tape built; R timed compute()s
    engine-once N       cgtui: the same DAG loaded; one timed tape build + compute()
    micrograd-many N R  micrograd: R timed builds of the same DAG as Values + backward()
    micrograd-once N    micrograd: one timed build + backward()
    load FILE           cgtui: load_bytes of the file's bytes (parse, check, order)
    refuse FILE         cgtui: load_bytes of a file it must refuse (fails if it loads)
    yaml FILE           PyYAML: a full load with the C loader when there is one
"""

from __future__ import annotations

import gc
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def micrograd_dag(n: int, seed: int = 1):
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


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main(argv: list[str]) -> list[float]:
    mode, gc_setting, *args = argv
    if gc_setting == "off":
        gc.disable()
    if mode.startswith("engine"):
        from engine import compute, load_bytes
        from engine.examples import dag
        from engine.tape import tape_of

        graph = load_bytes(dag(int(args[0]), unary="relu").encode(), "dag").graph
        if mode == "engine-once":
            assert "tape" not in graph._cache, "loading built the tape: time the load instead"
            return [timed(lambda: compute(graph))]  # compute() builds the tape on first use
        tape_of(graph)
        return [timed(lambda: compute(graph)) for _ in range(int(args[1]))]
    if mode.startswith("micrograd"):
        run = micrograd_dag(int(args[0]))
        return [timed(run) for _ in range(int(args[1]) if mode == "micrograd-many" else 1)]
    data = Path(args[0]).read_bytes()
    if mode == "yaml":
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return [timed(lambda: yaml.load(data, Loader=loader))]
    from engine import SourceError, load_bytes

    if mode == "load":
        return [timed(lambda: load_bytes(data, "file"))]
    if mode == "refuse":
        t = time.perf_counter()
        try:
            load_bytes(data, "file")
        except SourceError:
            return [time.perf_counter() - t]
        raise SystemExit("the file was not refused")
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
