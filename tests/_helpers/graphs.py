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


def run_once(session: Any, graph: Any, *inputs: Any) -> list[Any]:
    """Add ``graph`` to ``session`` as graph 1, run it once on the numpy ``inputs``, and
    return the outputs as numpy arrays; every tensor is closed and the graph removed."""
    from ge import Tensor

    session.add_graph(1, graph)
    tensors = [Tensor.from_numpy(a) for a in inputs]
    try:
        outputs = session.run_graph(1, tensors)
        arrays = [o.numpy() for o in outputs]
        for o in outputs:
            o.close()
        return arrays
    finally:
        for t in tensors:
            t.close()
        session.remove_graph(1)
