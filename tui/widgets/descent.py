"""The output's value over the gradient-descent steps taken with ``d``.

Mounted on the first ``d``, so the plot library is imported only by those who use it.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot


class DescentPlot(PlotextPlot):
    """The output after each descent step (step 0: before the first)."""

    DEFAULT_CSS = """
    DescentPlot { height: 1fr; }
    """

    def show(self, history: list[float], output: str) -> None:
        """Draw ``output``'s value before the first step (step 0) and after each one."""
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        steps = list(range(len(history)))
        finite = [(k, j) for k, j in zip(steps, history) if j - j == 0]
        if finite:
            plt.plot([k for k, _ in finite], [j for _, j in finite], marker="dot")
        plt.xlabel("descent step")
        plt.ylabel(output)
        if len(steps) <= 10:
            plt.xticks(steps, [str(k) for k in steps])
        self.refresh()
