"""How long the random tests run: a short run in the suite, the full one in a soak.

``CGTUI_SOAK=N`` (``.ci/run`` sets 40) runs every property test at its full number of examples
(and, in tests/test_stateful.py and tests/test_monkey.py, N random runs of the app; in
tests/test_tensor_app.py, 250 random keys a graph instead of 60). Without it each property test
runs a quarter of them, so that ``pytest`` stays quick to work with.
(Plain Python, importable by engine tests without loading Textual.)
"""

from __future__ import annotations

import os

SOAK = int(os.environ.get("CGTUI_SOAK", "0") or 0)


def examples(full: int) -> int:
    """Hypothesis's ``max_examples`` for a test whose full run is ``full`` examples: all of them in
    a soak, a quarter (at least 10) in the suite."""
    return full if SOAK else min(full, max(10, full // 4))
