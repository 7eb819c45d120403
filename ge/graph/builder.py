"""``GraphBuilder``: build a graph eagerly from inputs and element-wise ops.

``TensorHolder`` values stand for the tensors of the graph being built; the
builder owns them. ``build(outputs)`` turns the builder into a ``Graph`` and
consumes it: the builder and every holder it made are unusable afterwards
(``ValueError``), and the native builder is destroyed there and then.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any, Callable, ClassVar, NoReturn, Optional, Union

import numpy as np

from ge._checks import as_dims, encode_text
from ge._ffi import api
from ge._ffi.marshal import check_ge, ge_error
from ge._native import NativeObject
from ge.graph.dtypes import as_data_type
from ge.graph.graph import Graph, GraphInput
from ge.graph.types import DataType, Format, coerce_enum

__all__ = ["GraphBuilder", "TensorHolder"]

_UNKNOWN_DIM = -1


def _encode_name(name: object, what: str) -> Optional[bytes]:
    return None if name is None else encode_text(name, what)


class GraphBuilder(NativeObject):
    """Builds one graph: ``input(...)`` holders, ``+ - * /`` on them, ``build(outputs)``."""

    __slots__ = ("_built", "_inputs", "_name", "_op_count")

    _kind: ClassVar[str] = "graph builder"

    _built: bool
    _inputs: dict[int, GraphInput]
    _name: str
    _op_count: int

    def __init__(self, name: str) -> None:
        self._built = False
        self._inputs = {}
        self._op_count = 0
        if not isinstance(name, str):
            raise TypeError(f"name must be a str, not {type(name).__name__}")
        encoded = _encode_name(name, "name")
        self._name = name
        handle = api.EsCreateGraphBuilder(encoded)
        if not handle:
            raise ge_error("EsCreateGraphBuilder", None, {"name": name})
        super().__init__(int(handle))

    def _release(self, handle: int) -> None:
        api.EsDestroyGraphBuilder(handle)

    def _raise_closed(self, *why: Any) -> NoReturn:
        if getattr(self, "_built", False):
            raise ValueError(
                f"graph builder {self._name!r} already built its graph; a GraphBuilder and "
                "its TensorHolders cannot be used after build(): create a new GraphBuilder"
            )
        super()._raise_closed(*why)

    def _next_op_label(self, op_name: str) -> str:
        self._op_count += 1
        return f"{op_name}_{self._op_count}"

    @property
    def name(self) -> str:
        """The name given to the builder (and to the graph it builds)."""
        return self._name

    @property
    def built(self) -> bool:
        """Whether ``build`` was called (the builder is then unusable)."""
        return self._built

    def input(
        self,
        index: int,
        dtype: Union[DataType, int, Any],
        shape: Sequence[int],
        format: Union[Format, int] = Format.FORMAT_ND,
        name: Optional[str] = None,
    ) -> TensorHolder:
        """Declare graph input ``index`` (a ``Data`` node) and return its holder.

        ``dtype`` is a ``DataType`` or a numpy dtype; ``shape`` a sequence of
        ints where -1 is an unknown dim. Indices must end up being ``0..n-1``.
        """
        self.handle  # noqa: B018 - refuse a built or closed builder first
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an int, not {type(index).__name__}")
        index = int(index)
        if index < 0:
            raise ValueError(f"index must be >= 0, got {index}")
        if index in self._inputs:
            raise ValueError(f"graph input {index} is already declared")
        data_type = as_data_type(dtype)
        dims = as_dims(shape, min_dim=_UNKNOWN_DIM)
        fmt = coerce_enum(Format, format, "format")
        encoded = _encode_name(name, "name")
        c_dims = (ctypes.c_int64 * max(len(dims), 1))(*dims)
        with self._calling() as builder:
            holder = api.EsCreateGraphInputWithDetails(
                builder, index, encoded, None, int(data_type), int(fmt), c_dims, len(dims)
            )
        if not holder:
            raise ge_error(
                "EsCreateGraphInputWithDetails",
                None,
                {"index": index, "data_type": data_type.name, "shape": dims},
            )
        self._inputs[index] = GraphInput(index, data_type, dims, fmt, name)
        return TensorHolder(self, int(holder), f"input {index}")

    def build(self, outputs: Union[TensorHolder, Sequence[TensorHolder]]) -> Graph:
        """The graph with ``outputs`` (one holder or a sequence) as outputs 0..n-1.

        Consumes the builder: afterwards it and its holders raise ``ValueError``.
        """
        self.handle  # noqa: B018 - refuse a built or closed builder first
        if isinstance(outputs, TensorHolder):
            holders: list[TensorHolder] = [outputs]
        elif isinstance(outputs, Sequence) and not isinstance(outputs, (str, bytes)):
            holders = list(outputs)
        else:
            raise TypeError(
                "outputs must be a TensorHolder or a sequence of them, "
                f"not {type(outputs).__name__}"
            )
        if not holders:
            raise ValueError("a graph needs at least one output")
        for position, holder in enumerate(holders):
            if not isinstance(holder, TensorHolder):
                raise TypeError(
                    f"outputs[{position}] must be a TensorHolder, not {type(holder).__name__}"
                )
            if holder.builder is not self:
                raise ValueError(f"outputs[{position}] belongs to another GraphBuilder")
        indices = sorted(self._inputs)
        if indices != list(range(len(indices))):
            raise ValueError(f"graph input indices must be 0..n-1, got {indices}")
        inputs = tuple(self._inputs[i] for i in indices)
        try:
            with self._calling() as builder:
                self._built = True
                for position, holder in enumerate(holders):
                    status = api.EsSetGraphOutput(holder._handle, position)
                    check_ge(status, "EsSetGraphOutput", {"index": position})
                handle = api.EsBuildGraphAndReset(builder)
                if not handle:
                    raise ge_error("EsBuildGraphAndReset", None, {"name": self._name})
                graph = Graph._adopt(int(handle))
        finally:
            self.close()
        graph._remember(inputs, len(holders))
        return graph

    def __repr__(self) -> str:
        state = "built" if self._built else "closed" if self.closed else "open"
        return f"{type(self).__name__}({self._name!r}, {state})"


_OpFn = Callable[[Any, Any], Any]


class TensorHolder:
    """A tensor of a graph being built (owned by its ``GraphBuilder``).

    Supports ``+``, ``-``, ``*`` and ``/`` with holders of the same builder.
    """

    __slots__ = ("_builder", "_handle", "_origin")

    __array_ufunc__ = None  # numpy operands defer to us, and we refuse them (TypeError)

    def __init__(self, builder: GraphBuilder, handle: int, origin: str) -> None:
        self._builder = builder
        self._handle = handle
        self._origin = origin

    @property
    def builder(self) -> GraphBuilder:
        """The builder that owns this holder."""
        return self._builder

    def _binary(self, other: TensorHolder, op_name: str) -> TensorHolder:
        if other._builder is not self._builder:
            raise ValueError(f"cannot {op_name} tensors of two different GraphBuilders")
        function: _OpFn = getattr(api, f"Es{op_name}")
        with self._builder._calling():  # refuses a built or closed builder
            handle = function(self._handle, other._handle)
        if not handle:
            raise ge_error(f"Es{op_name}", None, {"x1": self._origin, "x2": other._origin})
        return TensorHolder(self._builder, int(handle), self._builder._next_op_label(op_name))

    def __add__(self, other: object) -> TensorHolder:
        if not isinstance(other, TensorHolder):
            return NotImplemented
        return self._binary(other, "Add")

    def __sub__(self, other: object) -> TensorHolder:
        if not isinstance(other, TensorHolder):
            return NotImplemented
        return self._binary(other, "Sub")

    def __mul__(self, other: object) -> TensorHolder:
        if not isinstance(other, TensorHolder):
            return NotImplemented
        return self._binary(other, "Mul")

    def __truediv__(self, other: object) -> TensorHolder:
        if not isinstance(other, TensorHolder):
            return NotImplemented
        return self._binary(other, "Div")

    def __repr__(self) -> str:
        return f"TensorHolder({self._origin}, builder={self._builder.name!r})"
