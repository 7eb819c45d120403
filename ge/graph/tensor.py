"""``Tensor``: a GE tensor handle and its data, to and from numpy in one copy."""

from __future__ import annotations

import ctypes
import math
import os
from collections.abc import Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np
from typing_extensions import Self

from ge import _callback_errors, _ffi
from ge._checks import as_dims, fspath_bytes
from ge._ffi import api
from ge._ffi.marshal import check_acl, check_ge, failure, ge_error, take_string
from ge._native import NativeObject
from ge.graph.dtypes import from_numpy_dtype, itemsize, to_numpy_dtype
from ge.graph.types import DataType, Format, Placement, coerce_enum

__all__ = ["Tensor"]

RAW_GET_DATA = "_ZNK2ge6Tensor7GetDataEv"
"""``const uint8_t *ge::Tensor::GetData() const``: the raw-bytes fast path."""
RAW_GET_SIZE = "_ZNK2ge6Tensor7GetSizeEv"
"""``size_t ge::Tensor::GetSize() const``."""

_DEVICE_TO_HOST = 2  # aclrtMemcpyKind
_PRIMARY_FORMAT_MASK = 0xFF

PathLike = Union[str, "os.PathLike[str]"]


def _data_to_array(data: object, np_dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """``data`` (nested lists, a number or an ndarray) as an array of ``np_dtype``."""
    if isinstance(data, (str, bytes, bytearray, memoryview)) or not isinstance(
        data, (list, tuple, np.ndarray, np.generic, int, float, complex)
    ):
        raise TypeError(
            "data must be a list (nested lists allowed), a number or a numpy array, "
            f"not {type(data).__name__}"
        )
    probe = data if isinstance(data, np.ndarray) else np.asarray(data)
    if probe.dtype.kind == "O":
        for item in probe.flat:
            if isinstance(item, (bool, np.bool_)) or not isinstance(
                item, (int, float, complex, np.number)
            ):
                raise TypeError(f"data must hold numbers, not {type(item).__name__} values")
    elif probe.dtype.kind not in "biufc":
        try:
            from_numpy_dtype(probe.dtype)
        except TypeError:
            raise TypeError(f"data must hold numbers, not {probe.dtype} values") from None
    try:
        # Convert the original values: numpy then refuses Python ints that do not fit.
        return np.asarray(data, dtype=np_dtype)
    except OverflowError as exc:
        raise ValueError(f"data does not fit {np_dtype}: {exc}") from None


def _read_file(path: object, np_dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """The raw binary file ``path`` as a 1-d array of ``np_dtype`` (native byte order)."""
    name = fspath_bytes(path, "file_path")
    with open(name, "rb") as stream:
        raw = stream.read()
    if len(raw) % np_dtype.itemsize:
        raise ValueError(
            f"{os.fsdecode(name)!r} holds {len(raw)} bytes, not a whole number of "
            f"{np_dtype} elements ({np_dtype.itemsize} bytes each)"
        )
    return np.frombuffer(raw, dtype=np_dtype)


class Tensor(NativeObject):
    """A GE tensor (owns its handle): data, shape, dtype, format and placement.

    ``Tensor(data=None, file_path=None, data_type=DT_FLOAT, format=FORMAT_ND,
    shape=None, placement=PLACEMENT_HOST)`` builds one GE-style: ``data`` is a
    number, nested lists or an ndarray, converted to ``data_type``;
    ``file_path`` a raw binary file of ``data_type`` elements; ``shape``
    (optional) reshapes either and must keep the element count. With neither
    ``data`` nor ``file_path``, ``shape`` gives a zero-filled tensor, and no
    ``shape`` GE's empty tensor (no data). ``Tensor.from_numpy(array)`` is the
    direct way from numpy.
    """

    __slots__ = ("_dtype", "_shape")

    _kind: ClassVar[str] = "tensor"

    _shape: Optional[tuple[int, ...]]
    _dtype: Optional[DataType]

    def __init__(
        self,
        data: object = None,
        file_path: Optional[PathLike] = None,
        data_type: Union[DataType, int] = DataType.DT_FLOAT,
        format: Union[Format, int] = Format.FORMAT_ND,
        shape: Optional[Sequence[int]] = None,
        placement: Union[Placement, int] = Placement.PLACEMENT_HOST,
    ) -> None:
        self._shape = None
        self._dtype = None
        dt = coerce_enum(DataType, data_type, "data_type")
        fmt = coerce_enum(Format, format, "format")
        where = coerce_enum(Placement, placement, "placement")
        dims = None if shape is None else as_dims(shape)
        if data is not None and file_path is not None:
            raise ValueError("give data or file_path, not both")
        empty = data is None and file_path is None and dims is None
        if empty:
            handle = api.GeApiWrapper_Tensor_CreateTensor()
            if not handle:
                raise ge_error("CreateTensor", None, {})
        else:
            np_dtype = to_numpy_dtype(dt)
            if data is not None:
                array = _data_to_array(data, np_dtype)
            elif file_path is not None:
                array = _read_file(file_path, np_dtype)
            else:
                array = np.zeros(dims, dtype=np_dtype)
            if dims is not None and dims != array.shape:
                if math.prod(dims) != array.size:
                    raise ValueError(
                        f"shape {dims} holds {math.prod(dims)} elements but the data has "
                        f"{array.size}"
                    )
                array = array.reshape(dims)
            handle = _create(array, dt, fmt)
        super().__init__(handle)
        try:
            if empty:
                self._describe(dt, fmt)
            if where is Placement.PLACEMENT_DEVICE:
                self.to_device()
        except BaseException:
            self.close()
            raise

    def _describe(self, data_type: DataType, fmt: Format) -> None:
        """Set the dtype and format of a tensor that has no data yet."""
        with self._exclusive() as handle:
            value = ctypes.c_int(int(data_type))
            status = api.GeApiWrapper_Tensor_SetDataType(handle, ctypes.byref(value))
            check_ge(status, "SetDataType")
            value = ctypes.c_int(int(fmt))
            check_ge(api.GeApiWrapper_Tensor_SetFormat(handle, ctypes.byref(value)), "SetFormat")

    @classmethod
    def from_numpy(
        cls,
        array: Union[np.ndarray[Any, Any], np.generic],
        format: Union[Format, int] = Format.FORMAT_ND,
    ) -> Self:
        """A host tensor holding a copy of ``array`` (any strides and byte order)."""
        if isinstance(array, np.generic):
            array = np.asarray(array)
        if not isinstance(array, np.ndarray):
            raise TypeError(f"array must be a numpy.ndarray, not {type(array).__name__}")
        fmt = coerce_enum(Format, format, "format")
        dt = from_numpy_dtype(array.dtype)
        return cls._adopt(_create(array, dt, fmt))

    @classmethod
    def _adopt(cls, handle: int) -> Self:
        """Wrap a tensor handle this object now owns (freed when it is closed)."""
        if isinstance(handle, bool) or not isinstance(handle, int):
            raise TypeError(f"handle must be an int, not {type(handle).__name__}")
        if not handle:
            raise ValueError("cannot adopt a NULL tensor handle")
        tensor = cls.__new__(cls)
        tensor._shape = None
        tensor._dtype = None
        NativeObject.__init__(tensor, handle)
        return tensor

    def _release(self, handle: int) -> list[BaseException]:
        # Destroying an output of an async run frees its block through the
        # allocator's FreeFn: carry what the callback raises to the caller.
        with _callback_errors.collecting() as errors:
            api.GeApiWrapper_Tensor_DestroyEsCTensor(handle)
        return errors

    def _finalize(self, handle: int) -> None:
        # No caller to raise to: what FreeFn raises is kept for the next
        # session call on the output's stream (ge._allocator_bridge).
        api.GeApiWrapper_Tensor_DestroyEsCTensor(handle)

    # -- metadata ---------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """The dims, as a tuple of ints (``()`` for a scalar)."""
        shape = self._shape
        if shape is None:
            with self._calling() as handle:
                shape = self._shape = _get_shape(handle)
        elif self._handle is None:
            self._raise_closed()
        return shape

    @property
    def dtype(self) -> DataType:
        """The element type."""
        dtype = self._dtype
        if dtype is None:
            with self._calling() as handle:
                value = int(api.GeApiWrapper_Tensor_GetDataType(handle))
            try:
                dtype = self._dtype = DataType(value)
            except ValueError:
                raise ge_error("GetDataType", None, {"data_type": value}) from None
        elif self._handle is None:
            self._raise_closed()
        return dtype

    @property
    def format(self) -> Format:
        """The layout (the primary format when GE reports a sub-format too)."""
        with self._calling() as handle:
            value = int(api.GeApiWrapper_Tensor_GetFormat(handle))
        for candidate in (value, value & _PRIMARY_FORMAT_MASK):
            try:
                return Format(candidate)
            except ValueError:
                continue
        raise ge_error("GetFormat", None, {"format": value})

    @property
    def placement(self) -> Placement:
        """Where the data is now: host or device (not cached: it moves)."""
        with self._calling() as handle:
            value = int(api.GeApiWrapper_Tensor_GetPlacement(handle))
        try:
            return Placement(value)
        except ValueError:
            raise ge_error("GetPlacement", None, {"placement": value}) from None

    @property
    def size(self) -> int:
        """The number of elements."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """The number of dims."""
        return len(self.shape)

    @property
    def nbytes(self) -> int:
        """Bytes of data: elements times the size of one."""
        return self.size * itemsize(self.dtype)

    # -- placement ----------------------------------------------------------

    def to_device(self) -> Self:
        """Move the data to device memory (in place; a no-op when already there)."""
        self._move(api.GeApiWrapper_Tensor_ToDevice, "ToDevice")
        return self

    def to_host(self) -> Self:
        """Move the data to host memory (in place; a no-op when already there)."""
        self._move(api.GeApiWrapper_Tensor_ToHost, "ToHost")
        return self

    def _move(self, function: Any, name: str) -> None:
        """Call ``ToDevice``/``ToHost``: the old block may be freed through the
        allocator's FreeFn (or a new one taken through its MallocFn), so carry
        what those callbacks raise to the caller."""
        with self._exclusive() as handle, _callback_errors.collecting() as errors:
            status = function(handle)
        _callback_errors.raise_with(ge_error(name, status, {}) if status else None, errors)

    # -- data ---------------------------------------------------------------

    def numpy(self) -> np.ndarray[Any, Any]:
        """A new array (owning its memory) with a copy of the data."""
        shape = self.shape
        np_dtype = to_numpy_dtype(self.dtype)
        raw = _ffi.has(RAW_GET_DATA) and _ffi.has(RAW_GET_SIZE)
        handle = self._enter()
        try:
            # The raw int, not self.placement: no enum conversion on the hot path.
            on_device = api.GeApiWrapper_Tensor_GetPlacement(handle) == Placement.PLACEMENT_DEVICE
            if raw:
                placement = Placement.PLACEMENT_DEVICE if on_device else Placement.PLACEMENT_HOST
                return _read_raw(handle, shape, np_dtype, placement)
            if on_device:
                raise ValueError(
                    "this tensor's data is on the device and this GE has no raw-bytes access "
                    "to it: call to_host() first"
                )
            return _read_text(handle, shape, np_dtype)
        finally:
            self._leave()

    def __array__(self, dtype: Any = None, copy: Optional[bool] = None) -> np.ndarray[Any, Any]:
        """numpy's array protocol: always a new array (``copy=False`` is refused)."""
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
        array = self.numpy()
        if wanted is not None:
            array = array.astype(wanted, copy=False)
        return array

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        try:
            return (
                f"{type(self).__name__}(shape={self.shape}, dtype={self.dtype.name}, "
                f"format={self.format.name}, placement={self.placement.name})"
            )
        except Exception as exc:
            return f"{type(self).__name__}(<{type(exc).__name__}: {exc}>)"


def _create(array: np.ndarray[Any, Any], data_type: DataType, fmt: Format) -> int:
    """A new tensor handle with a copy of ``array`` (converted to C order, native bytes)."""
    if array.flags.c_contiguous and array.dtype.isnative:
        contiguous = array  # the common case: no conversion call at all
    else:
        native = array.dtype.newbyteorder("=")
        contiguous = np.asarray(array, dtype=native, order="C")  # keeps 0-d arrays 0-d
    ndim = contiguous.ndim
    dims_type = _dims_types.get(ndim)
    if dims_type is None:
        dims_type = _dims_types[ndim] = ctypes.c_int64 * (ndim or 1)
    dims = dims_type(*contiguous.shape)
    handle = api.EsCreateEsCTensor(_address(contiguous), dims, ndim, int(data_type), int(fmt))
    if not handle:
        raise ge_error(
            "CreateTensor",
            None,
            {"shape": contiguous.shape, "data_type": data_type.name, "format": fmt.name},
        )
    return int(handle)


_dims_types: dict[int, Any] = {}
"""``int64_t[ndim]`` array types by ``ndim`` (``int64_t[1]`` for a scalar)."""


def _address(array: np.ndarray[Any, Any]) -> int:
    """The address of a C-contiguous array's data.

    Through the buffer protocol where the array allows it (writable, not
    empty, a dtype numpy can export, which bfloat16 is not):
    ``array.ctypes.data`` builds a helper object and costs about 1 us, more
    than copying a few KiB.
    """
    if array.flags.writeable and array.nbytes:
        try:
            return ctypes.addressof(ctypes.c_char.from_buffer(array))  # type: ignore[arg-type]
        except (TypeError, ValueError, BufferError):
            pass
    return int(array.ctypes.data)


def _get_shape(handle: int) -> tuple[int, ...]:
    """The dims of a tensor; the dims array is freed whatever happens."""
    dims = ctypes.POINTER(ctypes.c_int64)()
    count = ctypes.c_size_t(0)
    try:
        status = api.GeApiWrapper_Tensor_GetShape(handle, ctypes.byref(dims), ctypes.byref(count))
        check_ge(status, "GetShape")
        if count.value and not dims:
            raise failure("GetShape", f"GE reported {count.value} dims but no array")
        return tuple(int(dims[i]) for i in range(count.value))
    finally:
        if dims:
            api.GeApiWrapper_Tensor_FreeDimsArray(dims)


def _read_raw(
    handle: int, shape: tuple[int, ...], np_dtype: np.dtype[Any], placement: Placement
) -> np.ndarray[Any, Any]:
    """The data through ``ge::Tensor::GetData``/``GetSize``: one copy into a new array."""
    out = np.empty(shape, dtype=np_dtype)
    expected = out.nbytes
    size = int(api._ZNK2ge6Tensor7GetSizeEv(handle))
    if size < expected:  # storage may be padded (async outputs): read the logical bytes
        what = "no data" if size == 0 else f"{size} bytes of data"
        raise failure(
            "GetSize",
            f"the tensor holds {what}, but shape {shape} of {np_dtype} needs {expected} bytes",
        )
    if expected == 0:
        return out
    source = api._ZNK2ge6Tensor7GetDataEv(handle)
    if not source:
        raise failure("GetData", "the tensor has no data")
    target = _address(out)
    if placement is Placement.PLACEMENT_DEVICE:
        code = api.aclrtMemcpy(target, expected, source, expected, _DEVICE_TO_HOST)
        check_acl(code, "aclrtMemcpy", {"count": expected, "kind": "DEVICE_TO_HOST"})
    else:
        ctypes.memmove(target, source, expected)
    return out


def _read_text(
    handle: int, shape: tuple[int, ...], np_dtype: np.dtype[Any]
) -> np.ndarray[Any, Any]:
    """The data through GE's comma-separated text (the fallback; NaN payloads are lost)."""
    text = take_string(api.GeApiWrapper_Tensor_GetData(handle))
    if text is None:
        raise ge_error("GetData", None, {})
    parts = text.split(",") if text else []
    count = math.prod(shape)
    per_element = 2 if np_dtype.kind == "c" else 1
    if len(parts) != count * per_element:
        raise failure(
            "GetData",
            f"GE's text has {len(parts)} values, but shape {shape} of {np_dtype} needs "
            f"{count * per_element}",
        )
    out = np.empty(shape, dtype=np_dtype)
    try:
        values: np.ndarray[Any, Any]
        if np_dtype.kind in "biu":
            values = np.array([int(p) for p in parts], dtype=object)
        else:
            values = np.array([float(p) for p in parts], dtype=np.float64)
            if np_dtype.kind == "c":
                values = values.view(np.complex128)
        np.copyto(out, values.reshape(shape), casting="unsafe")
    except (ValueError, OverflowError) as exc:
        raise failure("GetData", f"cannot parse GE's text as {np_dtype}: {exc}") from None
    return out
