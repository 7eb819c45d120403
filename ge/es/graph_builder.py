"""``GraphBuilder``: build a GE graph eagerly, as CANN's ``ge.es.graph_builder``.

Inputs (``create_input``, ``create_inputs``), Consts, vectors, scalars and
variables (``ge.es._constants``), graph/tensor/node attributes and control
dependencies (``ge.es._attributes``), element-wise ops on the holders
(``ge.es.tensor_holder``), outputs (``set_graph_output``) and the graph
(``build_and_reset``, after which the builder refuses every use with a
``RuntimeError``). This package's own ``input``/``build`` stay as additions
(``ge.es._legacy``).

The builder accepts any holders of itself: GE checks shapes and data types
when it compiles the graph (``Session.compile_graph`` or the first run).
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Optional, Union

from ge import _messages
from ge._checks import INT32_MAX, ValueTypeError, as_int, as_int_in
from ge._ffi import api
from ge.es._attributes import AttributesMixin
from ge.es._builder_base import GraphBuilderBuiltError
from ge.es._constants import ConstantsMixin
from ge.es._legacy import LegacyMixin
from ge.es._scopes import attr_scope, control_dependency_scope, current_attrs, current_dependencies
from ge.es._shapes import as_holder_shape
from ge.es.tensor_holder import TensorHolder
from ge.graph.dtypes import as_data_type
from ge.graph.graph import Graph, GraphInput
from ge.graph.types import DataType, Format, coerce_enum

__all__ = [
    "GraphBuilder",
    "GraphBuilderBuiltError",
    "InputType",
    "attr_scope",
    "control_dependency_scope",
]


class InputType(Enum):
    """The op type of a graph input."""

    DATA = "Data"
    REF_DATA = "RefData"
    AIPP_DATA = "AippData"
    ANY_DATA = "AnyData"


def _input_type(value: object) -> InputType:
    if value is None:
        return InputType.DATA
    if isinstance(value, InputType):
        return value
    if isinstance(value, str):
        for member in InputType:
            if member.value == value:
                return member
        raise ValueError(f"type_str must be one of {[m.value for m in InputType]}, got {value!r}")
    raise TypeError(f"type_str must be an InputType, not {type(value).__name__}")


class GraphBuilder(ConstantsMixin, AttributesMixin, LegacyMixin):
    """Builds one graph; ``GraphBuilder(name=None)`` names it ``"graph"``.

    Also a context manager: ``close()`` destroys the native builder and every
    holder it made.
    """

    __slots__ = ()

    # -- inputs -----------------------------------------------------------------------

    def create_input(
        self,
        index: int,
        *,
        name: Optional[str] = None,
        type_str: Optional[InputType] = InputType.DATA,
        data_type: Union[DataType, int, Any] = DataType.DT_FLOAT,
        format: Union[Format, int] = Format.FORMAT_ND,
        shape: Optional[list[int]] = None,
    ) -> TensorHolder:
        """Graph input ``index`` (named ``input_<index>`` unless ``name``), a scalar
        unless ``shape`` (-1: an unknown dim, ``[-2]``: an unknown rank)."""
        self._check_usable("create input")
        number = as_int_in(index, "Input index", 0, INT32_MAX, _messages.INPUT_INDEX)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        kind = _input_type(type_str)
        dt = as_data_type(data_type, "data_type")
        fmt = coerce_enum(Format, format, "format")
        dims = () if shape is None else as_holder_shape(shape)
        return self._add_input(number, name or None, kind.value.encode(), dt, fmt, dims)

    def create_inputs(self, num: int, start_index: int = 0) -> list[TensorHolder]:
        """``num`` inputs ``start_index``, ``start_index + 1``...: DT_FLOAT scalars in ND."""
        self._check_usable("create inputs")
        message = _messages.INPUT_COUNT
        if as_int(num, "num", message) <= 0:
            raise ValueTypeError(message)
        message = _messages.START_INDEX
        start = as_int(start_index, "start_index", message)
        if start < 0:
            raise ValueTypeError(message)
        if start + int(num) - 1 > INT32_MAX:
            raise ValueError(f"input indexes must be at most {INT32_MAX}")
        return [self._default_input(index) for index in range(start, start + int(num))]

    def _default_input(self, index: int) -> TensorHolder:
        """Input ``index`` as ``EsCreateGraphInput`` makes it: a DT_FLOAT scalar in ND."""
        holder = self._holder_call(
            "create inputs",
            "EsCreateGraphInput",
            lambda handle: api.EsCreateGraphInput(handle, index),
            {"index": index},
        )
        self._inputs[index] = GraphInput(index, DataType.DT_FLOAT, (), Format.FORMAT_ND, None)
        return holder

    # -- outputs and the graph ------------------------------------------------------------

    def set_graph_output(self, tensor: TensorHolder, output_index: int) -> None:
        """Make ``tensor`` graph output ``output_index``."""
        self._check_usable("set graph output")
        if not isinstance(tensor, TensorHolder):
            raise TypeError(_messages.OUTPUT_TENSOR)
        index = as_int_in(output_index, "Output index", 0, INT32_MAX, _messages.OUTPUT_INDEX)
        self._set_output(self._own(tensor, "tensor"), index)

    def build_and_reset(self, outputs: Optional[list[TensorHolder]] = None) -> Graph:
        """The graph: ``outputs`` (if given) become outputs 0..n-1 first.

        Afterwards the builder (and its holders, but for ``name``) refuses
        every use with a ``RuntimeError``; a failed build leaves it usable.
        """
        self._check_usable("build_and_reset")
        if outputs is not None:
            if not isinstance(outputs, (list, tuple)):
                raise TypeError(_messages.OUTPUTS_LIST)
            if not all(isinstance(t, TensorHolder) for t in outputs):
                raise TypeError(_messages.OUTPUTS_HOLDERS)
            for position, holder in enumerate(outputs):
                self._own(holder, f"outputs[{position}]")
            for position, holder in enumerate(outputs):
                self.set_graph_output(holder, position)
        return self._build_graph()

    # -- scopes ---------------------------------------------------------------------------

    def _apply_scopes(self, holder: TensorHolder) -> TensorHolder:
        for attr_name, value in current_attrs().items():
            self.set_node_attr(holder, attr_name, value)
        dependencies = current_dependencies()
        if dependencies:
            self.add_control_dependency(holder, list(dependencies))
        return holder
