"""``TensorDesc``: a tensor's metadata (shape, format, data type, origin shape and
format) as a GE ``ge::TensorDesc``, as CANN's ``ge.graph.TensorDesc``.

Every setter returns the description, so calls chain::

    desc = TensorDesc([1, 3, 224, 224], Format.FORMAT_NCHW, DataType.DT_FLOAT)
    desc.set_shape([2, 3]).set_data_type(DataType.DT_INT32).set_format(Format.FORMAT_ND)

``Shape`` and the ``UNKNOWN_*`` constants are importable from here too, as in
CANN's package.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, ClassVar, Optional, TypeVar, Union

from typing_extensions import Self

from ge import _messages
from ge._ffi import api, made
from ge._ffi.handles import TensorDescHandle
from ge._ffi.marshal import check_ge, ge_error
from ge._native import C_FINALIZER, NativeObject
from ge.graph._dims import c_dims, take_dims
from ge.graph.shape import (
    UNKNOWN_DIM,
    UNKNOWN_DIM_NUM,
    UNKNOWN_DIM_SIZE,
    Shape,
    as_shape_dims,
)
from ge.graph.types import DataType, Format, coerce_enum

__all__ = [
    "UNKNOWN_DIM",
    "UNKNOWN_DIM_NUM",
    "UNKNOWN_DIM_SIZE",
    "Shape",
    "TensorDesc",
    "enum_from_ge",
    "format_from_ge",
]

_PRIMARY_FORMAT_MASK = 0xFF
_E = TypeVar("_E", bound=IntEnum)


def enum_from_ge(enum: type[_E], value: int, api_name: str) -> _E:
    """A value GE returned as a member of ``enum``; ``ValueError`` when it is none
    (as CANN's package raises)."""
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{api_name} returned {value}, which is not a {enum.__name__}") from None


def format_from_ge(value: int, api_name: str) -> Format:
    """A format GE returned; one with a sub-format in its upper bits reads as its
    primary format (the low byte)."""
    if value > _PRIMARY_FORMAT_MASK:
        try:
            return Format(value & _PRIMARY_FORMAT_MASK)
        except ValueError:
            pass
    return enum_from_ge(Format, value, api_name)


class TensorDesc(NativeObject):
    """A GE tensor description (owns its handle).

    ``TensorDesc(shape=None, format=FORMAT_ND, data_type=DT_FLOAT)``: ``shape`` a
    list of ints (None: a scalar; -1 is an unknown dim, ``[-2]`` an unknown
    rank). Wrong types raise ``TypeError``, a failed GE call ``GeError`` (a
    ``RuntimeError``).
    """

    __slots__ = ()

    _kind: ClassVar[str] = "tensor desc"
    _handle_type: ClassVar[Optional[type]] = TensorDescHandle
    _c_finalize: ClassVar[bool] = True
    __del__ = C_FINALIZER  # freed in C with the object (ge._ffi.owned)

    def __init__(
        self,
        shape: Optional[list[int]] = None,
        format: Union[Format, int] = Format.FORMAT_ND,
        data_type: Union[DataType, int] = DataType.DT_FLOAT,
    ) -> None:
        fmt = coerce_enum(Format, format, "format", _messages.FORMAT)
        dt = coerce_enum(DataType, data_type, "data_type", _messages.DESC_DATA_TYPE)
        dims = as_shape_dims(shape, "shape")
        array, count = c_dims(dims)
        handle = made.GeApiWrapper_TensorDesc_Create(array, count, int(fmt), int(dt))
        if not handle:
            raise ge_error(
                "TensorDesc_Create", None, {"shape": dims, "format": fmt.name, "data_type": dt.name}
            )
        super().__init__(handle)

    @classmethod
    def _adopt(cls, handle: Any) -> Self:
        """Wrap a description handle this object now owns (destroyed when closed)."""
        if not handle:
            raise ValueError("cannot adopt a NULL tensor desc handle")
        desc = cls.__new__(cls)
        NativeObject.__init__(desc, handle)
        return desc

    def _release(self, handle: Any) -> None:
        handle.__class__ = TensorDescHandle  # disarmed (ge._ffi.owned), no call before C's
        api.GeApiWrapper_TensorDesc_Destroy(handle)

    # -- shapes -------------------------------------------------------------

    def _dims_of(self, getter: Any, api_name: str) -> Shape:
        with self._calling() as handle:
            return Shape._of(take_dims(getter, handle, api_name))

    def _set_dims(self, setter: Any, api_name: str, shape: object, what: str) -> Self:
        dims = as_shape_dims(shape, what)
        array, count = c_dims(dims)
        with self._exclusive() as handle:
            check_ge(setter(handle, array, count), api_name, {what: dims})
        return self

    def get_shape(self) -> Shape:
        """The shape (a copy: changing it changes nothing here)."""
        return self._dims_of(api.GeApiWrapper_TensorDesc_GetShape, "TensorDesc_GetShape")

    def set_shape(self, shape: list[int]) -> Self:
        """Set the shape (a list of ints); returns the description."""
        return self._set_dims(
            api.GeApiWrapper_TensorDesc_SetShape, "TensorDesc_SetShape", shape, "shape"
        )

    def get_origin_shape(self) -> Shape:
        """The origin shape (``[]`` until set)."""
        return self._dims_of(
            api.GeApiWrapper_TensorDesc_GetOriginShape, "TensorDesc_GetOriginShape"
        )

    def set_origin_shape(self, shape: list[int]) -> Self:
        """Set the origin shape (a list of ints); returns the description."""
        return self._set_dims(
            api.GeApiWrapper_TensorDesc_SetOriginShape,
            "TensorDesc_SetOriginShape",
            shape,
            "origin_shape",
        )

    # -- enums --------------------------------------------------------------

    def _set_enum(
        self, setter: Any, api_name: str, value: Union[DataType, Format], what: str
    ) -> Self:
        with self._exclusive() as handle:
            check_ge(setter(handle, int(value)), api_name, {what: value.name})
        return self

    def get_format(self) -> Format:
        """The format; ``ValueError`` if GE reports a value that is no ``Format``."""
        with self._calling() as handle:
            value = int(api.GeApiWrapper_TensorDesc_GetFormat(handle))
        return format_from_ge(value, "TensorDesc_GetFormat")

    def set_format(self, format: Union[Format, int]) -> Self:
        """Set the format; returns the description."""
        fmt = coerce_enum(Format, format, "format", _messages.FORMAT)
        return self._set_enum(
            api.GeApiWrapper_TensorDesc_SetFormat, "TensorDesc_SetFormat", fmt, "format"
        )

    def get_origin_format(self) -> Format:
        """The origin format (``FORMAT_ND`` until set)."""
        with self._calling() as handle:
            value = int(api.GeApiWrapper_TensorDesc_GetOriginFormat(handle))
        return format_from_ge(value, "TensorDesc_GetOriginFormat")

    def set_origin_format(self, format: Union[Format, int]) -> Self:
        """Set the origin format; returns the description."""
        fmt = coerce_enum(Format, format, "format", _messages.FORMAT)
        return self._set_enum(
            api.GeApiWrapper_TensorDesc_SetOriginFormat,
            "TensorDesc_SetOriginFormat",
            fmt,
            "origin_format",
        )

    def get_data_type(self) -> DataType:
        """The data type; ``ValueError`` if GE reports a value that is no ``DataType``."""
        with self._calling() as handle:
            value = int(api.GeApiWrapper_TensorDesc_GetDataType(handle))
        return enum_from_ge(DataType, value, "TensorDesc_GetDataType")

    def set_data_type(self, data_type: Union[DataType, int]) -> Self:
        """Set the data type; returns the description."""
        dt = coerce_enum(DataType, data_type, "data_type", _messages.DESC_DATA_TYPE)
        return self._set_enum(
            api.GeApiWrapper_TensorDesc_SetDataType, "TensorDesc_SetDataType", dt, "data_type"
        )

    # -- properties ---------------------------------------------------------

    @property
    def shape(self) -> Shape:
        """:meth:`get_shape`."""
        return self.get_shape()

    @property
    def origin_shape(self) -> Shape:
        """:meth:`get_origin_shape`."""
        return self.get_origin_shape()

    @property
    def format(self) -> Format:
        """:meth:`get_format`."""
        return self.get_format()

    @property
    def origin_format(self) -> Format:
        """:meth:`get_origin_format`."""
        return self.get_origin_format()

    @property
    def data_type(self) -> DataType:
        """:meth:`get_data_type`."""
        return self.get_data_type()

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        return (
            f"{type(self).__name__}(shape={self.get_shape()}, format={self.get_format()}, "
            f"data_type={self.get_data_type()})"
        )
