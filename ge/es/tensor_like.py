"""Numbers and (nested) lists of numbers as operands of ``TensorHolder`` ops.

The rule is CANN's (``ge.es.tensor_like`` of its Python package, and
``EsTensorLike`` of GE's C++ builder): an ``int`` becomes an INT64 scalar, a
``float`` a FLOAT scalar, a list an INT64 Const of the list's shape, or a
FLOAT one when any element is a float. The Const keeps that data type: GE
promotes the op's data types when it compiles the graph (FLOAT with INT64 is
FLOAT, INT32 with INT64 is INT64, FLOAT16 with FLOAT is FLOAT).

Departures from CANN's package, both refusals of what it would mishandle: a
``bool`` (or a list holding one) is a ``TypeError``, not an integer; numpy
integer and floating scalars count as ``int`` and ``float``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Union

import numpy as np
from typing_extensions import TypeGuard

if TYPE_CHECKING:
    from ge.es.graph_builder import GraphBuilder
    from ge.es.tensor_holder import TensorHolder

__all__ = [
    "Number",
    "TensorLike",
    "convert_to_tensor_holder",
    "is_integer",
    "is_real",
    "is_tensor_like",
]

Number = Union[int, float]
TensorLike = Union[Number, list["TensorLike"]]

_MESSAGE = "Value must be TensorHolder or int|float or nested lists of int|float"


def is_integer(value: object) -> TypeGuard[Union[int, np.integer]]:
    """An ``int`` or numpy integer, not a ``bool``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: object) -> TypeGuard[Union[float, np.floating]]:
    """A ``float`` or numpy floating scalar."""
    return isinstance(value, (float, np.floating))


def is_tensor_like(value: object) -> TypeGuard[Union[TensorHolder, TensorLike]]:
    """Whether ``value`` may be an operand: a holder, a number or a list (checked later)."""
    from ge.es.tensor_holder import TensorHolder

    return isinstance(value, (TensorHolder, list)) or is_integer(value) or is_real(value)


def _flatten(value: list[object]) -> tuple[list[Number], list[int]]:
    """The leaves of a nested list and its shape (``[[1, 2], [3, 4]]``: ``[2, 2]``)."""
    if not value:
        return [], [0]

    def walk(current: object) -> tuple[list[Number], list[int]]:
        """The leaves and the shape of ``current``."""
        if is_integer(current):
            return [int(current)], []
        if is_real(current):
            return [float(current)], []
        if not isinstance(current, list) or not current:
            raise TypeError("Value must be int|float or nested lists of int|float")
        flat, inner = walk(current[0])
        for element in current[1:]:
            more, shape = walk(element)
            if shape != inner:
                raise ValueError("Irregular nested list: all sub-lists must have the same shape")
            flat.extend(more)
        return flat, [len(current), *inner]

    return walk(value)


def convert_to_tensor_holder(value: object, owner_builder: GraphBuilder) -> TensorHolder:
    """``value`` as a holder of ``owner_builder``: itself if it is a holder, else a Const."""
    from ge.es.tensor_holder import TensorHolder

    if isinstance(value, TensorHolder):
        return value
    if is_integer(value):
        return owner_builder.create_scalar_int64(int(value))
    if is_real(value):
        return owner_builder.create_scalar_float(float(value))
    if isinstance(value, list):
        flat, shape = _flatten(value)
        if any(isinstance(v, float) for v in flat):
            return owner_builder.create_const_float(flat, shape=shape)
        return owner_builder.create_const_int64([int(v) for v in flat], shape=shape)
    raise TypeError(f"{_MESSAGE}, not {type(value).__name__}")
