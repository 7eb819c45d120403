"""``GraphBuilder`` and ``TensorHolder`` where this package had them: the one
builder class lives in ``ge.es`` (``ge.es.graph_builder``)."""

from __future__ import annotations

from ge.es.graph_builder import GraphBuilder
from ge.es.tensor_holder import TensorHolder

__all__ = ["GraphBuilder", "TensorHolder"]
