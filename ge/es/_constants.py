"""``GraphBuilder``'s Consts, vectors, scalars and variables (``EsCreateConst*``,
``EsCreateVector*``, ``EsCreateScalar*``, ``EsCreateVariable``).

The checks are CANN's (``create_const_*``: a single value or a list, the value
count matching the shape; ``shape=None``: a scalar for a single value, 1-D
for a list; a single value with no dims is made with ``create_scalar_*``),
plus what CANN's package lets through to crash or wrap silently: values out of
the element type's range and negative dims are ``ValueError``.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

from ge import _messages
from ge._checks import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, SIZE_T_MAX, UINT32_MAX, as_int_in
from ge._ffi import api
from ge._ffi.marshal import encode_text
from ge._ffi.signatures import CONST_ELEMENT_TYPES
from ge.es._builder_base import BuilderBase
from ge.es._numbers import is_integer, is_real
from ge.es._shapes import as_const_shape
from ge.es.tensor_holder import TensorHolder

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["ConstantsMixin"]

IntValues = Union[int, list[int]]
FloatValues = Union[float, list[float]]


@dataclass(frozen=True)
class _Element:
    """One element type of the Const functions."""

    suffix: str  # of the C functions: Int64, Int32, UInt64, UInt32, Float
    low: Optional[int] = None  # integer range; None for float
    high: Optional[int] = None

    @property
    def ctype(self) -> Any:
        """The ctypes type of one element."""
        return CONST_ELEMENT_TYPES[self.suffix]

    @property
    def is_float(self) -> bool:
        """Whether the elements are FLOAT (no integer range)."""
        return self.low is None

    def check(self, value: object) -> Union[int, float]:
        """One element: ``TypeError`` for a wrong type, ``ValueError`` out of range."""
        if self.is_float:
            if is_integer(value) or is_real(value):
                return float(value)
            raise TypeError(_messages.VALUE_NUMBER)
        if not is_integer(value):
            raise TypeError(_messages.VALUE_INT)
        number = int(value)
        assert self.low is not None and self.high is not None
        if not self.low <= number <= self.high:
            if self.low == 0 and number < 0:
                raise ValueError(f"Value must be non-negative for {self.suffix.lower()}")
            raise ValueError(
                f"Value must be in range [{self.low}, {self.high}] for {self.suffix.lower()}"
            )
        return number


_ELEMENTS = {
    "int64": _Element("Int64", INT64_MIN, INT64_MAX),
    "int32": _Element("Int32", INT32_MIN, INT32_MAX),
    "uint64": _Element("UInt64", 0, SIZE_T_MAX),
    "uint32": _Element("UInt32", 0, UINT32_MAX),
    "float": _Element("Float"),
}


def _single(element: _Element, value: object) -> bool:
    return is_real(value) or is_integer(value) if element.is_float else is_integer(value)


class ConstantsMixin(BuilderBase):
    """Consts, vectors, scalars and variables of a ``GraphBuilder``."""

    __slots__ = ()

    def _scalar(self, kind: str, value: object) -> TensorHolder:
        self._check_usable("create scalar")
        element = _ELEMENTS[kind]
        checked = element.check(value)
        function = getattr(api, f"EsCreateScalar{element.suffix}")
        return self._holder_call(
            "create scalar",
            f"EsCreateScalar{element.suffix}",
            lambda handle: function(handle, element.ctype(checked)),
            {"value": checked},
        )

    def _values(self, element: _Element, value: object) -> list[Union[int, float]]:
        if not isinstance(value, list):
            raise TypeError(
                "Value must be a list of numbers"
                if element.is_float
                else "Value must be a list of integers"
            )
        return [element.check(v) for v in value]

    def _vector(self, kind: str, value: object) -> TensorHolder:
        self._check_usable("create vector")
        element = _ELEMENTS[kind]
        values = self._values(element, value)
        array = (element.ctype * max(len(values), 1))(*values)
        function = getattr(api, f"EsCreateVector{element.suffix}")
        return self._holder_call(
            "create vector",
            f"EsCreateVector{element.suffix}",
            lambda handle: function(handle, array, len(values)),
            {"count": len(values)},
        )

    def _const(self, kind: str, value: object, shape: Optional[Sequence[int]]) -> TensorHolder:
        self._check_usable("create constant")
        element = _ELEMENTS[kind]
        if _single(element, value):
            values = [element.check(value)]
            dims = () if shape is None else as_const_shape(shape)
        elif isinstance(value, list):
            values = self._values(element, value)
            dims = (len(values),) if shape is None else as_const_shape(shape)
        else:
            what = (
                "a number or list of numbers"
                if element.is_float
                else "an integer or list of integers"
            )
            raise TypeError(f"Value must be {what}")
        if not dims and len(values) == 1:
            return self._scalar(kind, values[0])
        expected = 1
        for d in dims:
            expected *= d
        if len(values) != expected:
            raise ValueError(
                f"Value count ({len(values)}) doesn't match shape {list(dims)} "
                f"(expected {expected} elements)"
            )
        array = (element.ctype * max(len(values), 1))(*values)
        c_dims = (ctypes.c_int64 * max(len(dims), 1))(*dims)
        function = getattr(api, f"EsCreateConst{element.suffix}")
        return self._holder_call(
            "create constant",
            f"EsCreateConst{element.suffix}",
            lambda handle: function(handle, array, c_dims, len(dims)),
            {"shape": dims},
        )

    # -- Consts ---------------------------------------------------------------------

    def create_const_int64(
        self, value: IntValues, shape: Optional[Sequence[int]] = None
    ) -> TensorHolder:
        """An INT64 Const: one value (a scalar) or a list (1-D, or of ``shape``)."""
        return self._const("int64", value, shape)

    def create_const_int32(
        self, value: IntValues, shape: Optional[Sequence[int]] = None
    ) -> TensorHolder:
        """An INT32 Const: one value (a scalar) or a list (1-D, or of ``shape``)."""
        return self._const("int32", value, shape)

    def create_const_uint64(
        self, value: IntValues, shape: Optional[Sequence[int]] = None
    ) -> TensorHolder:
        """A UINT64 Const: one value (a scalar) or a list (1-D, or of ``shape``)."""
        return self._const("uint64", value, shape)

    def create_const_uint32(
        self, value: IntValues, shape: Optional[Sequence[int]] = None
    ) -> TensorHolder:
        """A UINT32 Const: one value (a scalar) or a list (1-D, or of ``shape``)."""
        return self._const("uint32", value, shape)

    def create_const_float(
        self, value: FloatValues, shape: Optional[Sequence[int]] = None
    ) -> TensorHolder:
        """A FLOAT Const: one number (a scalar) or a list (1-D, or of ``shape``)."""
        return self._const("float", value, shape)

    # -- vectors --------------------------------------------------------------------

    def create_vector_int64(self, value: list[int]) -> TensorHolder:
        """A 1-D INT64 Const of the list ``value``."""
        return self._vector("int64", value)

    def create_vector_int32(self, value: list[int]) -> TensorHolder:
        """A 1-D INT32 Const of the list ``value``."""
        return self._vector("int32", value)

    def create_vector_uint64(self, value: list[int]) -> TensorHolder:
        """A 1-D UINT64 Const of the list ``value``."""
        return self._vector("uint64", value)

    def create_vector_uint32(self, value: list[int]) -> TensorHolder:
        """A 1-D UINT32 Const of the list ``value``."""
        return self._vector("uint32", value)

    def create_vector_float(self, value: list[float]) -> TensorHolder:
        """A 1-D FLOAT Const of the list ``value``."""
        return self._vector("float", value)

    # -- scalars --------------------------------------------------------------------

    def create_scalar_int64(self, value: int) -> TensorHolder:
        """An INT64 scalar Const."""
        return self._scalar("int64", value)

    def create_scalar_int32(self, value: int) -> TensorHolder:
        """An INT32 scalar Const."""
        return self._scalar("int32", value)

    def create_scalar_uint64(self, value: int) -> TensorHolder:
        """A UINT64 scalar Const."""
        return self._scalar("uint64", value)

    def create_scalar_uint32(self, value: int) -> TensorHolder:
        """A UINT32 scalar Const."""
        return self._scalar("uint32", value)

    def create_scalar_float(self, value: float) -> TensorHolder:
        """A FLOAT scalar Const."""
        return self._scalar("float", value)

    # -- variables ------------------------------------------------------------------

    def create_variable(self, index: int, name: str) -> TensorHolder:
        """A ``Variable`` node named ``name`` (DT_FLOAT, a scalar until set).

        On the stand-in a variable reads as zeros of its data type and shape.
        """
        self._check_usable("create variable")
        number = as_int_in(index, "index", INT32_MIN, INT32_MAX, "Index must be an integer")
        if not isinstance(name, str):
            raise TypeError(_messages.VARIABLE_NAME)
        encoded = encode_text(name, "name")
        return self._holder_call(
            "create variable",
            "EsCreateVariable",
            lambda handle: api.EsCreateVariable(handle, number, encoded),
            {"index": number, "name": name},
        )
