"""Numbers and (nested) lists of numbers as operands of ``TensorHolder`` ops.

The rule is CANN's (``ge.es.tensor_like`` of its Python package, and
``EsTensorLike`` of GE's C++ builder): an ``int`` becomes an INT64 scalar, a
``float`` a FLOAT scalar, a list an INT64 Const of the list's shape, or a
FLOAT one when any element is a float. The Const keeps that data type: GE
promotes the op's data types when it compiles the graph (FLOAT with INT64 is
FLOAT, INT32 with INT64 is INT64, FLOAT16 with FLOAT is FLOAT).

As in CANN's package, a ``bool`` is the integer 0 or 1, and any other value
(``None`` included) is a ``TypeError`` with CANN's message, from the methods
and the operators alike. One addition: numpy integer, bool and floating
scalars count as ``int`` and ``float``.

This module is CANN's path for the rule. The conversion needs the holder
class, whose operators use it, so :func:`convert_to_tensor_holder` and
:func:`is_tensor_like` live in :mod:`ge.es.tensor_holder`, and the number
predicates in ``ge.es._numbers``; all are importable from here.
"""

from __future__ import annotations

from ge.es._numbers import Number, TensorLike, is_integer, is_real
from ge.es.tensor_holder import convert_to_tensor_holder, is_tensor_like

__all__ = [
    "Number",
    "TensorLike",
    "convert_to_tensor_holder",
    "is_integer",
    "is_real",
    "is_tensor_like",
]
