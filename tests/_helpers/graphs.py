"""Graphs built with the package, for the tests that run one."""

from __future__ import annotations

from typing import Any


def build_graph(dtype: Any = None, shape: tuple[int, ...] = (2, 3), name: str = "g") -> Any:
    """A graph computing ``(x + y) * x`` on two inputs of ``dtype`` and ``shape``."""
    import ge

    builder = ge.GraphBuilder(name)
    dt = ge.DataType.DT_FLOAT if dtype is None else dtype
    x = builder.input(0, dt, shape)
    y = builder.input(1, dt, shape)
    graph = builder.build([(x + y) * x])
    builder.close()
    return graph
