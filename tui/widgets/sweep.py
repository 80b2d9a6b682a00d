"""The h sweep: finite-difference error against h, one-sided and central, on log axes.

Imported only when ``s`` is pressed: the plot library (textual-plotext) costs a
sixth of a second to import, which startup should not pay.
"""

from __future__ import annotations

import math
import time
from functools import partial
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static
from textual.worker import get_current_worker
from textual_plotext import PlotextPlot

from engine import text as tx
from engine.finite_diff import SWEEP_HS, Sweep, h_sweep
from engine.session import DebugSession
from tui.widgets.pages import OverlayScreen
from tui.widgets.panels import FdPanel

class _Closed(Exception):
    """Raised in the sweep's worker once its screen has closed."""


MARK_COLOUR = {True: (135, 215, 255), False: (255, 215, 135)}
"""Central and one-sided marks: light enough for 4.5 : 1 on the page (plotext's defaults are 2.6 : 1).
The marks' shapes (• and ×) carry the difference; the colours only help."""

FLOOR = 1e-17
"""An error of exactly 0 has no logarithm: it is drawn here, and the caption says so."""

def plot_series(sweep: Sweep, central: bool) -> tuple[list[tuple[list[float], list[float]]], list[float]]:
    """What to draw, as log10 h and log10 error: the runs of non-zero errors (each a line), and
    the h of each error that is exactly 0 (drawn as a point at 1e-17, never joined to a line)."""
    runs: list[tuple[list[float], list[float]]] = []
    zeros: list[float] = []
    joined = False
    for p in sweep.points:
        e = p.error_central if central else p.error_forward
        x = math.log10(p.h)
        if e == 0.0:
            zeros.append(x)
        if not (e > 0.0 and math.isfinite(e)):
            joined = False
            continue
        if not joined:
            runs.append(([], []))
            joined = True
        runs[-1][0].append(x)
        runs[-1][1].append(math.log10(e))
    return runs, zeros


def decade_ticks(low: float, high: float, most: int = 7) -> tuple[list[float], list[str]]:
    """Ticks at whole decades between two log10 values, labelled ``1e-8``."""
    first, last = math.floor(low), math.ceil(high)
    step = max(1, math.ceil((last - first) / most))
    ticks = list(range(first, last + 1, step))
    return [float(t) for t in ticks], [f"1e{t}" for t in ticks]


class SweepScreen(OverlayScreen):
    """The h sweep for one variable; escape, q or s closes it."""

    SHOWS_THE_WALK = True
    BINDINGS: ClassVar[list[BindingType]] = [Binding("s", "dismiss", "Close", show=False)]

    DEFAULT_CSS = """
    SweepScreen > Vertical {
        width: 100%; max-width: 120; height: 1fr; margin-top: 1;
        border: round $accent; background: $surface; padding: 0 1;
    }
    SweepScreen PlotextPlot { height: 1fr; min-height: 8; }
    SweepScreen Static { height: auto; }
    """

    def __init__(self, session: DebugSession, name: str) -> None:
        super().__init__()
        self.session = session
        self.var = name
        self.h = session.h
        self.sweep: Sweep | None = None

    def compose_body(self) -> ComposeResult:
        out = self.session.graph.output
        with Vertical() as box:
            box.border_title = f"h sweep: the error of the estimates of {tx.d(out, self.var, self.session.notation)} against h"
            yield PlotextPlot()
            yield Static(Text(f"nudging {self.var} by 25 values of h …", style="italic"), id="sweep-caption")
            yield Static(Text("esc, s or q closes this.", style="italic"))

    def on_mount(self) -> None:
        session, name = self.session, self.var
        hs = sorted({*SWEEP_HS, self.h}, reverse=True)
        if len(session.graph.names) <= FdPanel.INLINE_LIMIT:  # the app's one limit for work in a thread
            self.show(h_sweep(session.walk, name, hs))
        else:
            # described: Textual would otherwise describe the worker by repr() of the partial, walk and all (1.5 s)
            self.run_worker(partial(self._sweep, session.walk, name, hs), description="h sweep", thread=True,
                            exclusive=True, group="sweep", exit_on_error=False)

    def _sweep(self, walk, name: str, hs: list[float]) -> None:
        """In a worker thread: sweep, saying how far it got; closing the screen (esc) stops it."""
        worker = get_current_worker()

        def tick(done: int, total: int) -> None:
            if worker.is_cancelled:
                raise _Closed
            time.sleep(0)  # lets the UI thread take the GIL now
            self.app.call_from_thread(self._progress, f"nudging {name} by {total} values of h … {done} done;"
                                                      " esc stops this.")

        try:
            sweep = h_sweep(walk, name, hs, tick)
        except _Closed:
            return
        if not worker.is_cancelled:
            self.app.call_from_thread(self.show, sweep)

    def _progress(self, message: str) -> None:
        if self.sweep is None and self.is_attached:
            self.query_one("#sweep-caption", Static).update(Text(message, style="italic"))

    def show(self, sweep: Sweep) -> None:
        """Draw the sweep and write its caption."""
        self.sweep = sweep
        out = self.session.graph.output
        plt = self.query_one(PlotextPlot).plt
        plt.clear_data()
        plt.clear_figure()
        drawn = []
        zeros = 0
        # no legend in the plot (at 80 × 24 it covered the data): the caption names the marks.
        # Central as a line first, one-sided as points on top: where they coincide (a graph
        # linear in the variable), both still show
        for central, marker in ((True, "dot"), (False, "x")):
            runs, exact = plot_series(sweep, central)
            colour = MARK_COLOUR[central]
            for xs, ys in runs:
                (plt.plot if central else plt.scatter)(xs, ys, marker=marker, color=colour)
                drawn += ys
            if exact:
                plt.scatter(exact, [math.log10(FLOOR)] * len(exact), marker=marker, color=colour)
                drawn.append(math.log10(FLOOR))
                zeros += len(exact)
        plt.vline(math.log10(self.h))
        plt.xlabel("h (log scale)")
        plt.ylabel("|error|")
        plt.xticks(*decade_ticks(math.log10(min(p.h for p in sweep.points)), math.log10(max(p.h for p in sweep.points))))
        if drawn:
            plt.yticks(*decade_ticks(min(drawn), max(drawn)))
        self.query_one(PlotextPlot).refresh()
        lines = tx.sweep_lines(sweep, self.h, out, self.session.value(out), self.session.notation)
        if zeros:
            lines.append(f"{zeros} error{'s are' if zeros > 1 else ' is'} exactly 0, drawn at 1e-17.")
        self.query_one("#sweep-caption", Static).update(Text("\n".join(lines)))
