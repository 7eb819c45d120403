"""``TensorHolder``: a tensor of a graph being built, and the element-wise ops on it.

A holder is made by its ``GraphBuilder`` (never directly) and owned by it. The
ops ``add``/``sub``/``mul``/``div`` and the operators ``+ - * /`` (both ways)
take another holder of the same builder, a number or a (nested) list of
numbers, which becomes a Const as CANN makes it (``ge.es.tensor_like``: the
rule; :func:`convert_to_tensor_holder` here applies it): an
``int`` an INT64 scalar, a ``float`` a FLOAT scalar, a list an INT64 Const, or
a FLOAT one if it holds a float. The builder accepts any shapes and data
types; GE checks them (and promotes the data types) when it compiles the
graph.
"""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union

from typing_extensions import TypeGuard

from ge import _messages
from ge._ffi import api, made
from ge._ffi.handles import CLOSED
from ge._ffi.marshal import check_ge, ge_error, take_string
from ge.es._numbers import TensorLike, flatten, is_operand_integer, is_real
from ge.es._shapes import as_holder_shape
from ge.graph.dtypes import as_data_type
from ge.graph.types import DataType, Format, coerce_enum

if TYPE_CHECKING:
    from ge.es._builder_base import BuilderBase
    from ge.es.graph_builder import GraphBuilder

__all__ = ["TensorHolder", "convert_to_tensor_holder", "is_tensor_like"]

Operand = Union["TensorHolder", TensorLike]


class TensorHolder:
    """A tensor of a graph being built (owned by its ``GraphBuilder``)."""

    __slots__ = ("__weakref__", "_builder", "_handle")

    __array_ufunc__ = None  # numpy operands defer to the reflected operators

    _builder: GraphBuilder
    _handle: Any
    """Its ``TensorHolderHandle`` (what C returned, kept in its kind)."""

    def __init__(self) -> None:
        raise RuntimeError(_messages.HOLDER_DIRECT)

    @classmethod
    def _create(cls, builder: BuilderBase, handle: Any) -> TensorHolder:
        """Wrap a holder handle (the ``TensorHolderHandle`` C returned) that
        ``builder`` (a ``GraphBuilder``) made and owns."""
        holder = cls.__new__(cls)
        holder._builder = builder  # type: ignore[assignment]
        holder._handle = handle
        return holder

    @property
    def _as_parameter_(self) -> Any:
        """What ctypes passes to C for this holder: its typed handle, or, once its
        builder is closed (built and closed, or closed), :data:`~ge._ffi.handles.CLOSED`,
        which every argtype refuses (an ``ArgumentError``, never a dead holder
        reaching C). The holders die with their builder in C. The package's own
        calls pass ``_handle`` inside the builder's guard (which refuses a closed
        builder): a property read by ctypes is Python code, where a signal's
        ``KeyboardInterrupt`` would be turned into an ``ArgumentError``."""
        return CLOSED if self._builder._handle is None else self._handle

    # -- the builder ------------------------------------------------------------

    def get_owner_builder(self) -> GraphBuilder:
        """The ``GraphBuilder`` that made (and owns) this holder."""
        return self._builder

    @property
    def builder(self) -> GraphBuilder:
        """The ``GraphBuilder`` that owns this holder (``get_owner_builder()``)."""
        return self._builder

    @property
    def name(self) -> str:
        """The name of the node that produces this tensor (``input_0``, ``Add_3``...).

        Also readable after ``build_and_reset()`` while the built graph lives.
        """
        with self._builder._calling():
            node = api.EsGetProducer(self._handle)
            if not node:
                raise ge_error("EsGetProducer", None, {})
            name = take_string(made.GeApiWrapper_GNode_GetName(node))
        if name is None:
            raise ge_error("GNode_GetName", None, {})
        return name

    # -- the output description (chainable) ---------------------------------------

    def _set(self, operation: str, api_name: str, call: Callable[[Any], int]) -> TensorHolder:
        self._builder._check_usable(operation)
        with self._builder._calling():
            status = call(self._handle)
        check_ge(status, api_name, {"tensor": self._handle.value})
        return self

    def set_data_type(self, data_type: Union[DataType, int, Any]) -> TensorHolder:
        """Set the tensor's data type (a ``DataType``, its value or a numpy dtype)."""
        self._builder._check_usable("set data type")
        dt = as_data_type(data_type, "data_type", _messages.HOLDER_DATA_TYPE)
        return self._set("set data type", "EsSetDataType", lambda h: api.EsSetDataType(h, int(dt)))

    def set_format(self, format: Union[Format, int]) -> TensorHolder:
        """Set the tensor's format."""
        self._builder._check_usable("set format")
        fmt = coerce_enum(Format, format, "format", _messages.HOLDER_FORMAT)
        return self._set("set format", "EsSetFormat", lambda h: api.EsSetFormat(h, int(fmt)))

    def set_shape(self, shape: Sequence[int]) -> TensorHolder:
        """Set the tensor's shape (-1: an unknown dim, ``[-2]``: an unknown rank)."""
        self._builder._check_usable("set shape")
        dims = as_holder_shape(shape)
        c_dims = (ctypes.c_int64 * max(len(dims), 1))(*dims)
        return self._set("set shape", "EsSetShape", lambda h: api.EsSetShape(h, c_dims, len(dims)))

    # -- ops ------------------------------------------------------------------------

    def _op(self, other: Operand, op_name: str) -> TensorHolder:
        builder = self._builder
        builder._check_usable(op_name.lower())
        right = convert_to_tensor_holder(other, builder)
        return self._apply(right, op_name)

    def _apply(self, right: TensorHolder, op_name: str) -> TensorHolder:
        builder = self._builder
        if right._builder is not builder:
            raise ValueError(
                f"Cannot perform {op_name.lower()}: tensors from different GraphBuilders "
                f"({builder.name!r} vs {right._builder.name!r})"
            )
        function: Callable[[Any, Any], Any] = getattr(api, f"Es{op_name}")
        return builder._holder_call(
            op_name.lower(),
            f"Es{op_name}",
            lambda _: function(self._handle, right._handle),
            {"x1": self._handle.value, "x2": right._handle.value},
        )

    def _reflected(self, other: Operand, op_name: str) -> TensorHolder:
        builder = self._builder
        builder._check_usable(op_name.lower())
        return convert_to_tensor_holder(other, builder)._apply(self, op_name)

    def add(self, other: Operand) -> TensorHolder:
        """``self + other`` (``EsAdd``)."""
        return self._op(other, "Add")

    def sub(self, other: Operand) -> TensorHolder:
        """``self - other`` (``EsSub``)."""
        return self._op(other, "Sub")

    def mul(self, other: Operand) -> TensorHolder:
        """``self * other`` (``EsMul``)."""
        return self._op(other, "Mul")

    def div(self, other: Operand) -> TensorHolder:
        """``self / other`` (``EsDiv``)."""
        return self._op(other, "Div")

    def __add__(self, other: Operand) -> TensorHolder:
        return self.add(other)

    def __sub__(self, other: Operand) -> TensorHolder:
        return self.sub(other)

    def __mul__(self, other: Operand) -> TensorHolder:
        return self.mul(other)

    def __truediv__(self, other: Operand) -> TensorHolder:
        return self.div(other)

    def __radd__(self, other: Operand) -> TensorHolder:
        return self.add(other)  # as CANN: x + c

    def __rsub__(self, other: Operand) -> TensorHolder:
        return self._reflected(other, "Sub")

    def __rmul__(self, other: Operand) -> TensorHolder:
        return self.mul(other)  # as CANN: x * c

    def __rtruediv__(self, other: Operand) -> TensorHolder:
        return self._reflected(other, "Div")

    def __copy__(self) -> NoReturn:
        raise RuntimeError("TensorHolder does not support copy")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise RuntimeError("TensorHolder does not support deepcopy")

    def __reduce__(self) -> NoReturn:
        raise TypeError("cannot pickle TensorHolder: its builder owns a native handle")

    def __repr__(self) -> str:
        return f"TensorHolder(0x{self._handle.value:x}, builder={self._builder.name!r})"


def is_tensor_like(value: object) -> TypeGuard[Union[TensorHolder, TensorLike]]:
    """Whether ``value`` may be an operand: a holder, a number or a list (checked later)."""
    return isinstance(value, (TensorHolder, list)) or is_operand_integer(value) or is_real(value)


def convert_to_tensor_holder(value: object, owner_builder: GraphBuilder) -> TensorHolder:
    """``value`` as a holder of ``owner_builder``: itself if it is a holder, else a Const."""
    if isinstance(value, TensorHolder):
        return value
    if is_operand_integer(value):
        return owner_builder.create_scalar_int64(int(value))
    if is_real(value):
        return owner_builder.create_scalar_float(float(value))
    if isinstance(value, list):
        flat, shape = flatten(value)
        if any(isinstance(v, float) for v in flat):
            return owner_builder.create_const_float(flat, shape=shape)
        return owner_builder.create_const_int64([int(v) for v in flat], shape=shape)
    raise TypeError(f"{_messages.OPERAND}; got {type(value).__name__}")
