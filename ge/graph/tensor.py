"""``Tensor``: a GE tensor, with CANN's ``ge.graph.Tensor`` API and numpy in and
out in one copy.

CANN's calls: ``Tensor(data=None, file_path=None, data_type=DT_FLOAT,
format=FORMAT_ND, shape=None, placement=PLACEMENT_HOST)``, ``get_data()`` /
``data``, ``get_data_type()`` / ``data_type``, ``set_data_type()``,
``get_format()`` / ``format``, ``set_format()``, ``get_shape()`` / ``shape``
(a :class:`~ge.graph.Shape`, a list), ``get_placement()`` / ``placement``,
``get_tensor_desc()``, ``to_device()``, ``to_host()``, ``str()``.

This package's additions: ``Tensor.from_numpy``, ``numpy()``, ``__array__``,
``dtype``, ``ndim``, ``size``, ``nbytes``, ``close()`` and the context manager.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from typing import Any, ClassVar, Optional, Union

import numpy as np
from typing_extensions import Self

from ge import _callback_errors, _ffi, _lifecycle, _messages, _native
from ge._allocator_registry import registry
from ge._checks import fspath_bytes
from ge._ffi import api, made, owned
from ge._ffi.handles import TensorHandle
from ge._ffi.marshal import check_ge, failure, ge_error
from ge._native import NativeObject
from ge.graph import _tensor_create
from ge.graph._dims import take_dims
from ge.graph._tensor_data import data_to_array
from ge.graph._tensor_read import (
    RAW_GET_DATA,
    RAW_GET_SIZE,
    LossyTextWarning,
    read_raw,
    read_text,
)
from ge.graph.dtypes import (
    _from_numpy_cache,
    _to_numpy_cache,
    from_numpy_dtype,
    itemsize,
    to_numpy_dtype,
)
from ge.graph.shape import Shape, as_shape_dims
from ge.graph.tensor_desc import TensorDesc, enum_from_ge, format_from_ge
from ge.graph.types import DataType, Format, Placement, coerce_enum

__all__ = ["RAW_GET_DATA", "RAW_GET_SIZE", "LossyTextWarning", "Tensor"]

PathLike = Union[str, "os.PathLike[str]"]
TensorLike = Union[int, float, bool, complex, list[Any]]
"""What :meth:`Tensor.get_data` returns: a number, or nested lists of numbers."""


def _run_failure(
    api_name: str, graph_id: int, stream: Optional[int], count: int, what: str
) -> Exception:
    """The error of a run that succeeded without usable outputs."""
    context: dict[str, object] = {"graph_id": graph_id}
    if stream is not None:
        context["stream"] = stream
    if what == "no array":
        message = f"GE ran the graph but returned no array for its {count} output(s)"
    else:
        message = f"GE returned {what}"
    return failure(api_name, message, context)


def _as_plain_array(array: object) -> np.ndarray[Any, Any]:
    """``from_numpy``'s argument as an exact ``ndarray``: a numpy scalar as a 0-d
    array; a subclass viewed as an ``ndarray`` (a subclass may lie in shape,
    dtype, nbytes..., the buffer's own are read from C); else ``TypeError``."""
    if isinstance(array, np.generic):
        return np.asarray(array)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"array must be a numpy.ndarray, not {type(array).__name__}")
    return np.ndarray.view(array, np.ndarray)


def _as_format(value: object) -> Format:
    return coerce_enum(Format, value, "format", _messages.FORMAT)


_ndarray = np.ndarray
_empty = np.empty
_memmove = ctypes.memmove
_addressof = ctypes.addressof
_c_char_from_buffer = ctypes.c_char.from_buffer
_get_ident = threading.get_ident
_ES_DATA_TYPES = _tensor_create.ES_DATA_TYPES
_dims_cache = _tensor_create._dims_cache
"""``EsCreateEsCTensor``'s dims of each shape seen (made by ``fill_from_array``)."""

_live_allocators = registry.alive
"""Every live Python allocator trampoline (the registry's table, read without a lock)."""

_Taken = owned.Taken
_HOST = int(Placement.PLACEMENT_HOST)
_DEVICE = int(Placement.PLACEMENT_DEVICE)


class Tensor(NativeObject):
    """A GE tensor (owns its handle): data, shape, data type, format, placement.

    ``Tensor(data=None, file_path=None, data_type=DT_FLOAT, format=FORMAT_ND,
    shape=None, placement=PLACEMENT_HOST)``, as in CANN's package:

    * ``data``: a list of numbers, converted to ``data_type``. ``shape`` None
      means a scalar (so a flat list must hold one value); else ``shape``
      must hold exactly the values given. Nested lists, numbers and numpy
      arrays are taken too and keep their own shape when ``shape`` is None.
    * ``file_path``: a raw binary file of ``data_type`` elements; its leading
      bytes fill ``shape`` (None: a scalar).
    * neither: GE's empty tensor (no data), described as ``data_type``,
      ``format`` and ``shape``.
    * both: ``RuntimeError``.
    * ``placement=PLACEMENT_DEVICE`` moves the new tensor to the device.

    Every data type with a numpy dtype can be sent, DOUBLE, BF16 (with
    ``ml_dtypes``) and complex ones included. ``Tensor.from_numpy(array)`` is
    the direct way from numpy.
    """

    __slots__ = ("_dims", "_dtype", "_placement")

    _kind: ClassVar[str] = "tensor"
    _handle_type: ClassVar[Optional[type]] = TensorHandle
    _c_finalize: ClassVar[bool] = True

    _dims: Optional[tuple[int, ...]]
    _dtype: Optional[DataType]
    _placement: Optional[int]
    """GE's placement, once read by :meth:`numpy` (or known: from_numpy makes host
    tensors); None or unset: ask GE. Only ``_move`` changes it, exclusively
    (no call in flight), and it forgets it first; it is read and written by
    calls counted in flight only."""

    def __init__(
        self,
        data: object = None,
        file_path: Optional[PathLike] = None,
        data_type: Union[DataType, int] = DataType.DT_FLOAT,
        format: Union[Format, int] = Format.FORMAT_ND,
        shape: Optional[list[int]] = None,
        placement: Union[Placement, int] = Placement.PLACEMENT_HOST,
    ) -> None:
        self._dims = None
        self._dtype = None
        dt = coerce_enum(DataType, data_type, "data_type", _messages.TENSOR_DATA_TYPE)
        fmt = coerce_enum(Format, format, "format", _messages.FORMAT)
        where = coerce_enum(Placement, placement, "placement", _messages.TENSOR_PLACEMENT)
        dims = None if shape is None else tuple(as_shape_dims(shape, "Shape", min_dim=0))
        if data is not None and file_path is not None:
            raise RuntimeError(_messages.TENSOR_DATA_OR_FILE)
        if data is not None:
            array = data_to_array(data, to_numpy_dtype(dt), dims)
            self._dims = _tensor_create.fill_from_array(self, array, dt, fmt)
        elif file_path is not None:
            path = fspath_bytes(file_path, "file_path")
            self._dims = _tensor_create.fill_from_file(self, path, dt, fmt, dims)
        else:
            _tensor_create.fill_empty(self, dt, fmt, dims)
        self._dtype = dt
        if where is Placement.PLACEMENT_DEVICE:
            try:
                self.to_device()
            except BaseException:
                self.close()
                raise

    @classmethod
    def from_numpy(
        cls,
        array: Union[np.ndarray[Any, Any], np.generic],
        format: Union[Format, int] = Format.FORMAT_ND,
    ) -> Self:
        """A host tensor holding a copy of ``array`` (any strides and byte order)."""
        # The data path's hot call: what runs after GE's copy finds the core's
        # cache full of the copied bytes (at 1 MiB, each line touched is a miss),
        # so the common case (an exact ndarray of a type EsCreateEsCTensor takes,
        # C-contiguous, native order) is written out here: no call of the
        # package's own but the C one. Anything else goes the general way.
        if type(array) is not _ndarray:
            array = _as_plain_array(array)
        fmt = format if type(format) is Format else _as_format(format)
        dtype = array.dtype
        dt = _from_numpy_cache.get(dtype)
        if dt is None:
            dt = from_numpy_dtype(dtype)
        tensor = cls.__new__(cls)
        tensor._dims = None
        tensor._dtype = dt
        if dt in _ES_DATA_TYPES and dtype.isnative:
            try:  # the address only of a writable, C-contiguous, non-empty array
                address = _addressof(_c_char_from_buffer(array))  # type: ignore[arg-type]
            except (TypeError, ValueError, BufferError):
                address = 0
            dims: tuple[int, ...] = array.shape
            c_dims = _dims_cache.get(dims)
            if address and c_dims is not None:
                # NativeObject.__init__ written out: the fields first, the handle last
                tensor._calls = []
                tensor._owner = None
                tensor._release_locks = ()
                tensor._epoch = _lifecycle.native_epoch
                handle = made.EsCreateEsCTensor(address, c_dims, len(dims), dt, fmt)
                if not handle:
                    raise ge_error(
                        "CreateTensor",
                        None,
                        {"shape": dims, "data_type": dt.name, "format": fmt.name},
                    )
                tensor._param = handle  # an owning TensorHandle (ge._ffi.owned), kept armed
                tensor._handle = handle.value  # last: the tensor owns it from here
                tensor._dims = dims
                tensor._placement = _HOST  # EsCreateEsCTensor makes host tensors
                return tensor
        tensor._dims = _tensor_create.fill_from_array(tensor, array, dt, fmt)
        tensor._placement = _HOST  # both ways make host tensors
        return tensor

    @classmethod
    def _adopt(cls, handle: Any) -> Self:
        """Wrap a tensor handle (an ``int``, or the ``TensorHandle`` C returned) this
        object now owns (freed when it is closed)."""
        if not isinstance(handle, TensorHandle) and (
            isinstance(handle, bool) or not isinstance(handle, int)
        ):
            raise TypeError(f"handle must be an int, not {type(handle).__name__}")
        if not handle:
            raise ValueError("cannot adopt a NULL tensor handle")
        tensor = cls.__new__(cls)
        tensor._dims = None
        tensor._dtype = None
        NativeObject.__init__(tensor, handle)
        return tensor

    @classmethod
    def _adopt_outputs(
        cls,
        outputs: Any,
        count: Any,
        taking: Any,
        api_name: str,
        graph_id: int,
        stream: Optional[int],
        locks: tuple[Any, ...],
    ) -> list[Tensor]:
        """Own the output tensors of a run: ``outputs`` and ``count`` are the run's
        out-parameters, ``taking`` their :class:`~ge._ffi.owned.Taking`.

        ``list(taking)``, one C-level call, hands every output to an owning
        ``TensorHandle`` (and frees the array); each tensor takes its own, kept
        armed (``_param``). Whatever interrupts this, what no tensor took is
        freed in C when it goes: nothing to clean up here. Each tensor is built
        by hand (no ``__init__``: the least a tensor needs; shape and data type
        are read when asked for). ``locks``: the Python allocators
        (trampolines) the outputs' memory comes from; with some, the tensors
        keep their handles plain (disarmed), so that their (Python) finalizer
        releases them, which defers a release inside that allocator's callback
        and reports what its ``free`` raises to the output's stream, never to
        whatever call the collector interrupted. A run that succeeded without
        an array, or with a NULL tensor, is an error.
        """
        if not outputs:  # nothing to take: the count is of the tensors GE lost
            n = count.value
            count.value = 0
            raise _run_failure(api_name, graph_id, stream, n, "no array")
        new = cls.__new__
        epoch = _lifecycle.native_epoch
        tensors: list[Tensor] = []
        append = tensors.append
        handles = list(taking)  # owning handles, the array freed: one C call
        taking.__class__ = _Taken  # exhausted: dropped with no finalizer to run
        handles.pop()  # (FreeTensorArray's None)
        for handle in handles:
            if handle:
                tensor = new(cls)
                tensor._dims = None
                tensor._dtype = None
                tensor._calls = []
                tensor._owner = None
                tensor._release_locks = locks
                tensor._epoch = epoch
                tensor._param = handle  # armed: freed in C with the tensor unless released
                tensor._handle = handle.value  # the tensor owns it from here
                if locks:  # (no call since the stores above: no signal lands between)
                    handle.__class__ = TensorHandle  # disarmed: see above
                append(tensor)
        if len(tensors) != count.value:
            for tensor in tensors:
                tensor.close()
            raise _run_failure(api_name, graph_id, stream, count.value, "a NULL output tensor")
        return tensors

    def _release(self, handle: Any) -> list[BaseException]:
        # Destroying an output of an async run frees its block through the
        # allocator's FreeFn: carry what the callback raises to the caller.
        # With no Python allocator alive in the process no callback can run
        # (a block of one keeps it alive until freed): no collecting block.
        if not _live_allocators:
            if handle.__class__ is not TensorHandle:  # armed (else: allocator output)
                handle.__class__ = TensorHandle  # disarmed (ge._ffi.owned), no call before C's
            api.GeApiWrapper_Tensor_DestroyEsCTensor(handle)
            return []
        with _callback_errors.collecting() as errors:
            if handle.__class__ is not TensorHandle:
                handle.__class__ = TensorHandle  # disarmed (ge._ffi.owned)
            api.GeApiWrapper_Tensor_DestroyEsCTensor(handle)
        return errors

    def _finalize(self, handle: Any) -> None:
        # No caller to raise to: what FreeFn raises is kept for the next
        # session call on the output's stream (ge._allocator_bridge).
        if handle.__class__ is not TensorHandle:
            handle.__class__ = TensorHandle  # disarmed (ge._ffi.owned), no call before C's
        api.GeApiWrapper_Tensor_DestroyEsCTensor(handle)

    def close(self) -> None:
        """Release the native tensor once no call uses it; harmless when closed.

        ``NativeObject.close`` in one frame for the common case (every output
        of a run is closed so): no Python allocator alive (no callback can
        run), no allocator lock to refuse, no call in flight and nobody else
        closing or changing it. The same protocol: under ``_turns`` the close
        records itself (owner, handle taken) *before* it looks at the calls in
        flight, which record themselves before they read the handle; it keeps
        its turn until the tensor is destroyed, so that another closer waits
        for "released". Anything else: ``NativeObject.close``.
        """
        if (
            self._release_locks
            or _live_allocators
            or self._handle is None
            or self._epoch != _lifecycle.native_epoch
        ):
            NativeObject.close(self)
            return
        taken = releasing = False
        try:
            # the lock's own (C) __enter__/__exit__: an interrupt cannot leave it held
            with _native._turns._lock:  # type: ignore[attr-defined]
                handle = self._handle
                if handle is not None and self._owner is None:
                    taken = True  # first: the ``finally`` below ends a turn never begun harmlessly
                    self._owner = _get_ident()
                    self._handle = None  # no call starts from here (they read it after recording)
                    if self._calls or (_native._runs and _native._in_run(self)):
                        self._handle = handle  # calls in flight: the full protocol waits
                        self._owner = None
                        taken = False
            if taken:
                param = self._param
                releasing = True  # stores up to C's destroy: no signal handler runs between
                if param.__class__ is not TensorHandle:  # armed (else: allocator output)
                    param.__class__ = TensorHandle  # disarmed (ge._ffi.owned), no call before C's
                api.GeApiWrapper_Tensor_DestroyEsCTensor(param)
        except BaseException:
            if taken and not releasing:  # interrupted before the release: it stays open
                self._handle = handle
            raise
        finally:
            if taken:
                self._owner = None  # the turn ends (destroyed, or left open by an interrupt)
                if _native._waiting:
                    _native.wake_waiters()
        if not taken:  # being closed or changed by another thread, or in use: it waits
            NativeObject.close(self)

    # -- description --------------------------------------------------------

    def _get_dims(self) -> tuple[int, ...]:
        dims = self._dims
        if dims is None:
            dims = self._dims = self._in_flight((), _shape_of)
        elif self._handle is None:
            self._raise_closed()
        return dims

    def get_shape(self) -> Shape:
        """The dims, as a :class:`~ge.graph.Shape` (a list; ``[]`` for a scalar)."""
        return Shape._of(self._get_dims())

    @property
    def shape(self) -> Shape:
        """:meth:`get_shape`: ``t.shape == [2, 3]``."""
        return Shape._of(self._get_dims())

    def get_data_type(self) -> DataType:
        """The data type; ``ValueError`` if GE reports a value that is no ``DataType``."""
        dtype = self._dtype
        if dtype is None:
            value = int(self._in_flight((), api.GeApiWrapper_Tensor_GetDataType))
            dtype = self._dtype = enum_from_ge(DataType, value, "GetDataType")
        elif self._handle is None:
            self._raise_closed()
        return dtype

    @property
    def data_type(self) -> DataType:
        """:meth:`get_data_type`."""
        return self.get_data_type()

    @property
    def dtype(self) -> DataType:
        """The data type (:meth:`get_data_type`)."""
        return self.get_data_type()

    def set_data_type(self, data_type: Union[DataType, int]) -> Self:
        """Describe the data as ``data_type`` (the bytes are kept); returns the tensor."""
        dt = coerce_enum(DataType, data_type, "data_type", _messages.TENSOR_DATA_TYPE)
        with self._exclusive() as handle:
            self._dtype = None
            status = api.GeApiWrapper_Tensor_SetDataType(handle, _tensor_create.int_ref(int(dt)))
            check_ge(status, "SetDataType", {"data_type": dt.name})
        return self

    def get_format(self) -> Format:
        """The format (the primary one when GE reports a sub-format too);
        ``ValueError`` if GE reports a value that is no ``Format``."""
        value = int(self._in_flight((), api.GeApiWrapper_Tensor_GetFormat))
        return format_from_ge(value, "GetFormat")

    @property
    def format(self) -> Format:
        """:meth:`get_format`."""
        return self.get_format()

    def set_format(self, format: Union[Format, int]) -> Self:
        """Describe the data as laid out in ``format``; returns the tensor."""
        fmt = coerce_enum(Format, format, "format", _messages.FORMAT)
        with self._exclusive() as handle:
            status = api.GeApiWrapper_Tensor_SetFormat(handle, _tensor_create.int_ref(int(fmt)))
            check_ge(status, "SetFormat", {"format": fmt.name})
        return self

    def get_placement(self) -> Placement:
        """Where the data is now (not cached: it moves); ``ValueError`` if GE
        reports a value that is no ``Placement``."""
        value = int(self._in_flight((), api.GeApiWrapper_Tensor_GetPlacement))
        return enum_from_ge(Placement, value, "GetPlacement")

    @property
    def placement(self) -> Placement:
        """:meth:`get_placement`."""
        return self.get_placement()

    def get_tensor_desc(self) -> TensorDesc:
        """A copy of the description: changing it does not change the tensor."""
        with self._calling() as handle:
            desc = made.GeApiWrapper_Tensor_GetTensorDesc(handle)
            if not desc:
                raise ge_error("GetTensorDesc", None, {})
            return TensorDesc._adopt(desc)  # a TensorDescHandle: kept as is

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self._get_dims())

    @property
    def ndim(self) -> int:
        """The number of dims."""
        return len(self._get_dims())

    @property
    def nbytes(self) -> int:
        """Bytes of data the shape needs: elements times the size of one."""
        return self.size * itemsize(self.get_data_type())

    # -- placement ----------------------------------------------------------

    def to_device(self) -> Self:
        """Move the data of a host tensor to the device (in place); returns the
        tensor. ``ValueError`` for a tensor that is not on the host."""
        self._move(
            _HOST,
            api.GeApiWrapper_Tensor_ToDevice,
            "ToDevice",
            _messages.TO_DEVICE,
        )
        return self

    def to_host(self) -> Self:
        """Move the data of a device tensor to the host (in place); returns the
        tensor. ``ValueError`` for a tensor that is not on the device."""
        self._move(
            _DEVICE,
            api.GeApiWrapper_Tensor_ToHost,
            "ToHost",
            _messages.TO_HOST,
        )
        return self

    def _move(self, origin: int, function: Any, name: str, refusal: str) -> None:
        """Check the placement, then call ``ToDevice``/``ToHost`` (neither is a
        no-op in GE). The old block may be freed through an allocator's FreeFn,
        so carry what callbacks raise to the caller."""
        with self._exclusive() as handle:
            self._placement = None  # (numpy() asks GE again)
            if api.GeApiWrapper_Tensor_GetPlacement(handle) != origin:
                raise ValueError(refusal)
            with _callback_errors.collecting() as errors:
                status = function(handle)
        _callback_errors.raise_with(ge_error(name, status, {}) if status else None, errors)

    # -- data ---------------------------------------------------------------

    def numpy(self) -> np.ndarray[Any, Any]:
        """A new array (owning its memory) with a copy of the data, of the
        tensor's shape (however long GE's storage is)."""
        return self._in_flight((), _read, self)

    def get_data(self) -> TensorLike:
        """The values: a number for a scalar, else nested lists (through numpy)."""
        array = self.numpy()
        if array.dtype.kind == "V" or array.dtype.name == "bfloat16":
            array = array.astype(np.float32)
        values: TensorLike = array.tolist()
        return values

    @property
    def data(self) -> TensorLike:
        """:meth:`get_data`."""
        return self.get_data()

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray[Any, Any]:
        """numpy's array protocol: always a new array (``copy=False`` is refused)."""
        if copy is not None and not isinstance(copy, (bool, np.bool_)):
            raise TypeError(f"copy must be True, False or None, not {type(copy).__name__}")
        if copy is False:
            raise ValueError("a Tensor's data cannot be viewed without a copy")
        wanted: Optional[np.dtype[Any]] = None
        if dtype is not None:
            try:
                wanted = np.dtype(dtype)
            except (TypeError, ValueError):
                raise
            except Exception as exc:
                raise TypeError(f"not a numpy data type: {type(dtype).__name__}") from exc
            if wanted.subdtype is not None:  # would add dimensions (and could be huge)
                raise TypeError(f"dtype {wanted} is a subarray type: __array__ keeps the shape")
        array = self.numpy()
        if wanted is not None:
            array = array.astype(wanted, copy=False)
        return array

    def __str__(self) -> str:
        """CANN's text: format, data type, shape and data, one per line."""
        return f"""
        Tensor format is {self.get_format()},
        data_type is {self.get_data_type()},
        shape is {self.get_shape()},
        data is {self.get_data()}
        """

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        try:
            return (
                f"{type(self).__name__}(shape={self.get_shape()}, "
                f"dtype={self.get_data_type().name}, format={self.get_format().name}, "
                f"placement={self.get_placement().name})"
            )
        except Exception as exc:
            return f"{type(self).__name__}(<{type(exc).__name__}: {exc}>)"


def _shape_of(handle: Any) -> tuple[int, ...]:
    """The dims GE reports for the tensor ``handle`` (in flight)."""
    return take_dims(api.GeApiWrapper_Tensor_GetShape, handle, "GetShape")


def _read(handle: Any, tensor: Tensor) -> np.ndarray[Any, Any]:
    """:meth:`Tensor.numpy` of ``tensor``, in flight (``handle``: its live handle;
    ``_move()``, which changes the placement, waits for this call)."""
    dims = tensor._dims
    dt = tensor._dtype
    if dims is None or dt is None:  # not asked yet (an output of a run)
        dims = tensor._get_dims()
        dt = tensor.get_data_type()
    np_dtype = _to_numpy_cache.get(dt)
    if np_dtype is None:
        np_dtype = to_numpy_dtype(dt)
    bound = api.__dict__  # the raw-bytes functions, once bound (else: has())
    get_data = bound.get(RAW_GET_DATA)
    get_size = bound.get(RAW_GET_SIZE)
    raw = get_data is not None and get_size is not None
    if not raw:
        raw = _ffi.has(RAW_GET_DATA) and _ffi.has(RAW_GET_SIZE)
    try:
        placement = tensor._placement
    except AttributeError:  # (a tensor built without __init__: an output)
        placement = None
    if placement is None:
        placement = tensor._placement = api.GeApiWrapper_Tensor_GetPlacement(handle)
    if placement == _DEVICE:
        if raw:
            return read_raw(handle, dims, np_dtype, True)
        raise ValueError(
            "this tensor's data is on the device and this GE has no raw-bytes access "
            "to it: call to_host() first"
        )
    if not raw:
        return read_text(handle, dims, np_dtype)
    if get_data is None or get_size is None:  # bound by has() just now
        return read_raw(handle, dims, np_dtype, False)
    # read_raw's host path, written out (see from_numpy: the cache is cold)
    out = _empty(dims, np_dtype)
    logical = out.nbytes
    source = get_data(handle) if logical and get_size(handle) >= logical else None
    if not source:  # no data, too little, or nothing to copy: read_raw says which
        return read_raw(handle, dims, np_dtype, False)
    try:  # a new array: the buffer protocol gives its address (not for bfloat16)
        target = _addressof(_c_char_from_buffer(out))  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        return read_raw(handle, dims, np_dtype, False)
    _memmove(target, source, logical)
    return out
