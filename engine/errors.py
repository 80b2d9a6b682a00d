"""The one error the engine raises for a graph it cannot use."""

from __future__ import annotations


class GraphError(Exception):
    """A graph file or expression that cgtui refuses.

    Attributes:
        message: What is wrong, naming the offending name or construct in quotes.
        line: The 1-based line in the file where it is, when known.
        name: The input or node concerned, when there is one.
    """

    def __init__(self, message: str, line: int | None = None, name: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.name = name

    def describe(self, source: str) -> str:
        """One line naming the source and the line: ``FILE: line N: message``."""
        where = f"{source}: line {self.line}" if self.line is not None else source
        return f"{where}: {self.message}"

    def __str__(self) -> str:
        if self.line is not None:
            return f"line {self.line}: {self.message}"
        return self.message
