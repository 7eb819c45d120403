"""Numbers and nested lists of numbers, as the builder's calls take them.

``bool`` is never a number for the builder's own calls (``create_const_int64``
and the like); as an operand of a holder op (:func:`flatten`,
:func:`is_operand_integer`) it is the integer 0 or 1, as CANN's package takes
it. Numpy integer and floating scalars count as ``int`` and ``float``. What
becomes of operands is ``ge.es.tensor_like``'s rule.
"""

from __future__ import annotations

from typing import Union

import numpy as np
from typing_extensions import TypeGuard

from ge import _messages

__all__ = ["Number", "TensorLike", "flatten", "is_integer", "is_operand_integer", "is_real"]

Number = Union[int, float]
TensorLike = Union[Number, list["TensorLike"]]


def is_integer(value: object) -> TypeGuard[Union[int, np.integer]]:
    """An ``int`` or numpy integer, not a ``bool``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_operand_integer(value: object) -> TypeGuard[Union[int, np.integer, np.bool_]]:
    """An integer operand: an ``int`` (``bool`` too, as CANN takes it), a numpy integer or bool."""
    return isinstance(value, (int, np.integer, np.bool_))


def is_real(value: object) -> TypeGuard[Union[float, np.floating]]:
    """A ``float`` or numpy floating scalar."""
    return isinstance(value, (float, np.floating))


def flatten(value: list[object]) -> tuple[list[Number], list[int]]:
    """The leaves of a nested operand list and its shape (``[[1, 2], [3, 4]]``: ``[2, 2]``);
    a ``bool`` leaf is the integer 0 or 1."""
    if not value:
        return [], [0]

    def walk(current: object) -> tuple[list[Number], list[int]]:
        """The leaves and the shape of ``current``."""
        if is_operand_integer(current):
            return [int(current)], []
        if is_real(current):
            return [float(current)], []
        if not isinstance(current, list) or not current:
            raise TypeError(_messages.NESTED_LIST)
        flat, inner = walk(current[0])
        for element in current[1:]:
            more, shape = walk(element)
            if shape != inner:
                raise ValueError(_messages.IRREGULAR_LIST)
            flat.extend(more)
        return flat, [len(current), *inner]

    return walk(value)
