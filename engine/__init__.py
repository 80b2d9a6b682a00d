"""cgtui's engine: graph files, evaluation, backprop steps and finite differences, as data.

Pure Python: it never imports textual or rich, so the headless command line and
the tests use it alone.
"""

from __future__ import annotations

from engine.errors import GraphError
from engine.finite_diff import DEFAULT_H, FiniteDifference, TrailEntry, finite_difference, finite_differences
from engine.graph import Graph, Input, Node
from engine.graphfile import BUILTIN_NAME, LoadedGraph, SourceError, load_builtin, load_bytes, load_path, parse_graph
from engine.steps import BackwardStep, ForwardStep, Walk, compute

__version__ = "0.1.0"

__all__ = [
    "BUILTIN_NAME", "DEFAULT_H", "BackwardStep", "FiniteDifference", "ForwardStep", "Graph",
    "GraphError", "Input", "LoadedGraph", "Node", "SourceError", "TrailEntry", "Walk", "compute",
    "finite_difference", "finite_differences", "load_builtin", "load_bytes", "load_path", "parse_graph",
]
