"""This package's own builder calls, kept on ``GraphBuilder`` beside CANN's:
``input(index, dtype, shape, format, name)`` and ``build(outputs)``.

``build`` consumes the builder: it closes it (the native builder and every
holder with it) whatever happens, and any later use raises
``GraphBuilderBuiltError`` (a ``ValueError`` and a ``RuntimeError``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

from ge._checks import INT32_MAX, as_dims, as_int_in
from ge.es._builder_base import BuilderBase, encode_optional
from ge.es.tensor_holder import TensorHolder
from ge.graph.dtypes import as_data_type
from ge.graph.graph import Graph
from ge.graph.types import DataType, Format, coerce_enum

__all__ = ["LegacyMixin"]


class LegacyMixin(BuilderBase):
    """``input`` and ``build``, as this package had them before ``ge.es``."""

    __slots__ = ()

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
        self._check_usable("create input")
        number = as_int_in(index, "index", 0, INT32_MAX)
        if number in self._inputs:
            raise ValueError(f"graph input {number} is already declared")
        data_type = as_data_type(dtype)
        dims = as_dims(shape, min_dim=-1)
        fmt = coerce_enum(Format, format, "format")
        encode_optional(name, "name")
        return self._add_input(number, name, None, data_type, fmt, dims)

    def build(self, outputs: Union[TensorHolder, Sequence[TensorHolder]]) -> Graph:
        """The graph with ``outputs`` (one holder or a sequence) as outputs 0..n-1.

        Consumes the builder: afterwards it and its holders raise
        ``GraphBuilderBuiltError``.
        """
        self._check_usable("build")
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
            if holder._builder is not self:
                raise ValueError(f"outputs[{position}] belongs to another GraphBuilder")
        indices = sorted(self._inputs)
        if indices != list(range(len(indices))):
            raise ValueError(f"graph input indices must be 0..n-1, got {indices}")
        try:
            for position, holder in enumerate(holders):
                self._set_output(holder, position)
            return self._build_graph()
        finally:
            self._built = True
            self.close()
