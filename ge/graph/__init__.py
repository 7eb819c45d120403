"""The data plane: GE's enums, tensors, graphs and the eager-style graph builder.

Importing this package loads no native library; C is called on first use.
"""

from __future__ import annotations

from ge.graph import types
from ge.graph.builder import GraphBuilder, TensorHolder
from ge.graph.graph import DumpFormat, Graph, GraphInput
from ge.graph.shape import Shape
from ge.graph.tensor import Tensor
from ge.graph.tensor_desc import TensorDesc
from ge.graph.types import AttrValueType, DataType, Format, Placement

__all__ = [
    "AttrValueType",
    "DataType",
    "DumpFormat",
    "Format",
    "Graph",
    "GraphBuilder",
    "GraphInput",
    "Placement",
    "Shape",
    "Tensor",
    "TensorDesc",
    "TensorHolder",
    "types",
]
