"""Tensor data on the Python side: values given to ``Tensor(...)`` as arrays,
raw binary files as arrays, and the address of an array's bytes."""

from __future__ import annotations

import ctypes
import math
import os
from typing import Any, Optional

import numpy as np

from ge import _messages
from ge._checks import as_array
from ge._ffi.marshal import failure
from ge.error import GeError
from ge.graph.dtypes import from_numpy_dtype

__all__ = ["address_of", "data_to_array", "file_error", "read_file_prefix", "tensor_error"]


def data_to_array(
    data: object, np_dtype: np.dtype[Any], dims: Optional[tuple[int, ...]]
) -> np.ndarray[Any, Any]:
    """``data`` (a number, nested lists or tuples, or an ndarray) as an array of
    ``np_dtype`` and of shape ``dims``.

    With ``dims`` None, a flat list (or tuple) is a scalar, as in CANN's package
    (``shape=None`` means a scalar), so it must hold exactly one value; nested
    lists, numbers and arrays keep their own shape. ``TypeError`` for data that
    is not numbers, ``ValueError`` for values that do not fit ``np_dtype`` or a
    count that does not fill ``dims``.
    """
    array = _as_number_array(data, np_dtype)
    if dims is None:
        if isinstance(data, (list, tuple)) and array.ndim == 1:
            if array.size != 1:
                raise ValueError(
                    f"shape=None makes a scalar (as in CANN's ge), but data holds {array.size} "
                    f"values: pass shape=[{array.size}] for a 1-d tensor"
                )
            return array.reshape(())
        return array
    if math.prod(dims) != array.size:
        raise ValueError(
            f"shape {list(dims)} holds {math.prod(dims)} elements but the data has {array.size}"
        )
    return array.reshape(dims)


def _as_number_array(data: object, np_dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    if isinstance(data, (str, bytes, bytearray, memoryview)) or not isinstance(
        data, (list, tuple, np.ndarray, np.generic, int, float, complex)
    ):
        raise TypeError(
            f"{_messages.TENSOR_DATA} (nested lists allowed), a number or a numpy array, "
            f"not {type(data).__name__}"
        )
    probe = data if isinstance(data, np.ndarray) else as_array(data, "data")
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
        return as_array(data, "data", dtype=np_dtype)
    except OverflowError as exc:
        raise ValueError(f"data does not fit {np_dtype}: {exc}") from None


def tensor_error(api_name: str, message: str) -> GeError:
    """A :class:`GeError` the package raises itself about a tensor's data (no
    status: what GE gave back cannot be used), ``message`` saying why."""
    return failure(api_name, message)


def file_error(path: bytes, message: str) -> GeError:
    """The error of a tensor file that cannot be used (as GE's own check would fail)."""
    return tensor_error("EsCreateEsCTensorFromFile", f"{message}, path: {os.fsdecode(path)}")


def read_file_prefix(
    path: bytes, np_dtype: np.dtype[Any], dims: Optional[tuple[int, ...]]
) -> np.ndarray[Any, Any]:
    """The leading bytes of the binary file ``path`` as an array of ``dims`` (None:
    a scalar), with GE's checks (``EsCreateEsCTensorFromFile``): the file is
    not empty and holds at least the bytes ``dims`` need; longer is fine."""
    shape = dims or ()
    expected = math.prod(shape) * np_dtype.itemsize
    try:
        with open(path, "rb") as stream:
            raw = stream.read(expected) if expected else stream.read(1)
            size = os.fstat(stream.fileno()).st_size
    except OSError as exc:
        raise file_error(path, f"Data file cannot be opened ({exc.strerror})") from exc
    if size == 0:
        raise file_error(path, "File length should be greater than 0")
    if len(raw) < expected:
        raise file_error(path, f"File length {size} is less than expected size {expected}")
    return np.frombuffer(raw, dtype=np_dtype, count=math.prod(shape)).reshape(shape)


_placeholder = ctypes.create_string_buffer(1)


def address_of(array: np.ndarray[Any, Any]) -> int:
    """The address of a C-contiguous array's data, never 0 (GE wants a non-NULL
    pointer even for no bytes).

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
    return int(array.ctypes.data) or ctypes.addressof(_placeholder)
