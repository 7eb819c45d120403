"""What a session knows of its graphs, so that it can raise GE's precise codes itself.

CANN's ``ge::Session`` says FAILED for a duplicate or unknown graph id (and
PARAM_INVALID for an unknown one in ``CompileGraph``); GE's graph manager
knows the precise codes (``GE_GRAPH_GRAPH_ALREADY_EXIST``,
``GE_GRAPH_GRAPH_NOT_EXIST``). The session keeps the ids it added in a
:class:`GraphTable` and raises those codes before calling C.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional


@dataclass
class GraphState:
    """One graph of a session."""

    compiled: bool = False
    """Compiled by ``compile_graph``: GE runs it with ``load_graph`` and
    ``run_graph_with_stream_async`` only (``run_graph``: UNSUPPORTED)."""
    memory_from: Optional[Any] = None
    """The allocator trampoline of the stream GE loaded the graph on: GE took
    the graph's own memory from it and gives it back when the graph goes."""
    inputs: tuple[Any, Any] = ((), None)
    """The input handles of the graph's last run and their C array, reused while
    the same handles come back (an inference loop): ``(list of ints, array)``.
    Replaced whole, never changed (a run on another thread reads it once); the
    ``()`` start never equals a list."""


class GraphTable:
    """The graph ids of one session, safe from many threads.

    No lock is held while C runs: an id is reserved (or taken out) under the
    lock, the C call made, and the change kept or undone.
    """

    __slots__ = ("_graphs", "_lock")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graphs: dict[int, GraphState] = {}

    def get(self, graph_id: int) -> Optional[GraphState]:
        """The state of ``graph_id``, None when the session has no such graph."""
        return self._graphs.get(graph_id)

    def reserve(self, graph_id: int) -> bool:
        """Take ``graph_id`` for a new graph; False when it is taken."""
        with self._lock:
            if graph_id in self._graphs:
                return False
            self._graphs[graph_id] = GraphState()
            return True

    def take(self, graph_id: int) -> Optional[GraphState]:
        """Remove ``graph_id``: its state, or None when there is no such graph."""
        with self._lock:
            return self._graphs.pop(graph_id, None)

    def put(self, graph_id: int, state: GraphState) -> None:
        """Put a taken graph back (its removal failed)."""
        with self._lock:
            self._graphs.setdefault(graph_id, state)

    def memory_allocators(self) -> tuple[Any, ...]:
        """Every allocator trampoline that GE took some graph's own memory from."""
        with self._lock:
            found = {id(s.memory_from): s.memory_from for s in self._graphs.values()}
        return tuple(t for t in found.values() if t is not None)

    def clear(self) -> None:
        """Forget every graph (the session is gone)."""
        with self._lock:
            self._graphs.clear()
