"""``ge.es``: eager-style graph building, as CANN's package of the same name.

``GraphBuilder`` makes inputs, Consts and ops (``TensorHolder``), and builds
the graph. Importing this package loads no native library.
"""

from __future__ import annotations

from ge.es.graph_builder import (
    GraphBuilder,
    GraphBuilderBuiltError,
    InputType,
    attr_scope,
    control_dependency_scope,
)
from ge.es.tensor_holder import TensorHolder

__all__ = [
    "GraphBuilder",
    "GraphBuilderBuiltError",
    "InputType",
    "TensorHolder",
    "attr_scope",
    "control_dependency_scope",
]
