"""The output's value over the gradient-descent steps taken with ``d``.

Mounted on the first ``d``, so the plot library is imported only by those who use it.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from engine import text as tx
from engine.session import DebugSession


class DescentPlot(PlotextPlot):
    """The output after each descent step (step 0: before the first)."""

    DEFAULT_CSS = """
    DescentPlot { height: 1fr; }
    """

    def show(self, session: DebugSession) -> None:
        history = session.descent
        out = session.graph.output
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        steps = list(range(len(history)))
        finite = [(k, j) for k, j in zip(steps, history) if j - j == 0]
        if finite:
            plt.plot([k for k, _ in finite], [j for _, j in finite], marker="dot")
        plt.xlabel("descent step")
        plt.ylabel(out)
        if len(steps) <= 10:
            plt.xticks(steps, [str(k) for k in steps])
        self.refresh()
        if self.parent is not None:
            self.parent.border_title = f"{out} by descent step, α = {tx.num(session.alpha)}"
