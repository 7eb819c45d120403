"""Making GE tensors: the C calls that create one and fill it, each handle owned by
a Python object as soon as a C call returns it.

Each ``fill_*`` function creates the native tensor of a :class:`~ge.graph.Tensor`
being built (``owner``, not yet initialised) and hands the handle to it with
``NativeObject.__init__`` right away, so that whatever fails afterwards,
``owner.close()`` frees it.

GE creates host tensors of a numpy array in one copy of its bytes:
``EsCreateEsCTensor`` for the 11 data types it takes (``ES_DATA_TYPES``),
else ``CreateTensor`` + ``TensorDesc_Create`` + ``ge::Tensor::SetTensorDesc``
+ ``ge::Tensor::SetData`` (ABI.md section 6).
"""

from __future__ import annotations

import ctypes
from typing import Any, Optional

import numpy as np

from ge._ffi import api, made
from ge._ffi.marshal import check_ge, ge_error
from ge._native import NativeObject
from ge.graph._dims import c_dims
from ge.graph._tensor_data import address_of, read_file_prefix
from ge.graph.dtypes import to_numpy_dtype
from ge.graph.tensor_desc import TensorDesc
from ge.graph.types import DataType, Format

__all__ = ["ES_DATA_TYPES", "fill_empty", "fill_from_array", "fill_from_file", "int_ref"]

SET_DATA = "_ZN2ge6Tensor7SetDataEPKhm"
"""``graphStatus ge::Tensor::SetData(const uint8_t *data, size_t size)`` (copies)."""
SET_TENSOR_DESC = "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE"
"""``graphStatus ge::Tensor::SetTensorDesc(const TensorDesc &)``."""

ES_DATA_TYPES = frozenset(
    {
        DataType.DT_FLOAT,
        DataType.DT_FLOAT16,
        DataType.DT_INT8,
        DataType.DT_INT16,
        DataType.DT_INT32,
        DataType.DT_INT64,
        DataType.DT_UINT8,
        DataType.DT_UINT16,
        DataType.DT_UINT32,
        DataType.DT_UINT64,
        DataType.DT_BOOL,
    }
)
"""The data types ``EsCreateEsCTensor`` and ``EsCreateEsCTensorFromFile`` accept
(esb_funcs.cc); any other goes through a tensor description."""


def _create_empty(owner: NativeObject, context: dict[str, object]) -> None:
    handle = made.GeApiWrapper_Tensor_CreateTensor()
    if not handle:
        raise ge_error("CreateTensor", None, context)
    NativeObject.__init__(owner, handle)  # a TensorHandle: kept as is


def _describe(
    owner: NativeObject, dims: tuple[int, ...], fmt: Format, dt: DataType, origin: bool
) -> None:
    """Give the tensor of ``owner`` the description ``dims``/``fmt``/``dt`` (and
    ``dims`` as its origin shape, as EsCreateEsCTensor gives one, with ``origin``)."""
    with TensorDesc(list(dims), fmt, dt) as desc, owner._exclusive() as handle:
        if origin:
            desc.set_origin_shape(list(dims))
        with desc._calling() as desc_handle:
            status = getattr(api, SET_TENSOR_DESC)(handle, desc_handle)
        check_ge(status, "SetTensorDesc", {"shape": list(dims)})


def _store(owner: NativeObject, array: np.ndarray[Any, Any]) -> None:
    """Copy the bytes of a C-contiguous array into the tensor of ``owner``.

    ``SetData`` reports success even when GE cannot allocate the copy (its size
    is then kept without data), so the result is checked.
    """
    nbytes = array.nbytes
    with owner._exclusive() as handle:
        check_ge(getattr(api, SET_DATA)(handle, address_of(array), nbytes), "SetData")
        stored = int(api._ZNK2ge6Tensor7GetSizeEv(handle))
        ok = stored == nbytes and (nbytes == 0 or bool(api._ZNK2ge6Tensor7GetDataEv(handle)))
    if not ok:
        raise ge_error("SetData", None, {"nbytes": nbytes, "stored": stored})


def _contiguous(array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """The array in C order and native byte order (itself when it already is)."""
    if array.flags.c_contiguous and array.dtype.isnative:
        return array  # the common case: no conversion call at all
    native = array.dtype.newbyteorder("=")
    return np.asarray(array, dtype=native, order="C")  # keeps 0-d arrays 0-d


_c_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof

_DIMS_CACHE_LIMIT = 256
_dims_cache: dict[tuple[int, ...], Any] = {}
"""Shape -> its ``int64_t[]`` for ``EsCreateEsCTensor``, which only reads it: made
once per shape (at most ``_DIMS_CACHE_LIMIT`` shapes), shared read-only by every
thread."""


def _cached_dims(dims: tuple[int, ...]) -> tuple[Optional[Any], int]:
    c_array = _dims_cache.get(dims)
    if c_array is not None:
        return c_array, len(dims)
    c_array, count = c_dims(dims)
    if count and len(_dims_cache) < _DIMS_CACHE_LIMIT:
        _dims_cache[dims] = c_array
    return c_array, count


def fill_from_array(
    owner: NativeObject, array: np.ndarray[Any, Any], dt: DataType, fmt: Format
) -> tuple[int, ...]:
    """Make ``owner`` a host tensor holding a copy of ``array``; its dims."""
    if dt in ES_DATA_TYPES:
        # The hot path (1 us of Python on top of GE's copy): the buffer protocol
        # gives the address only of a writable, C-contiguous, non-empty array,
        # else raises, so that one call replaces the flags checks.
        try:
            address = _addressof(_c_char_from_buffer(array))  # type: ignore[arg-type]
        except (TypeError, ValueError, BufferError):
            address = 0
        if address and array.dtype.isnative:
            data = array
        else:
            data = _contiguous(array)
            address = address_of(data)
        dims: tuple[int, ...] = data.shape
        c_array, count = _cached_dims(dims)
        handle = made.EsCreateEsCTensor(address, c_array, count, dt, fmt)
        if not handle:
            raise ge_error(
                "CreateTensor", None, {"shape": dims, "data_type": dt.name, "format": fmt.name}
            )
        NativeObject.__init__(owner, handle)  # a TensorHandle: kept as is
        return dims
    data = _contiguous(array)
    dims = tuple(data.shape)
    _create_empty(owner, {"shape": dims, "data_type": dt.name, "format": fmt.name})
    try:
        _describe(owner, dims, fmt, dt, origin=True)
        _store(owner, data)
    except BaseException:
        owner.close()
        raise
    return dims


def fill_from_file(
    owner: NativeObject, path: bytes, dt: DataType, fmt: Format, dims: Optional[tuple[int, ...]]
) -> tuple[int, ...]:
    """Make ``owner`` a host tensor of the leading bytes of a binary file; its dims.

    ``dims`` None is a scalar, as in GE; the file must not be empty and must
    hold at least the bytes the dims need.
    """
    shape = dims or ()
    if dt not in ES_DATA_TYPES:
        return fill_from_array(owner, read_file_prefix(path, to_numpy_dtype(dt), dims), dt, fmt)
    c_array, count = c_dims(shape)
    handle = made.EsCreateEsCTensorFromFile(path, c_array, count, int(dt), int(fmt))
    if not handle:
        raise ge_error(
            "EsCreateEsCTensorFromFile",
            None,
            {"file_path": path.decode(errors="replace"), "shape": list(shape)},
        )
    NativeObject.__init__(owner, handle)  # a TensorHandle: kept as is
    return shape


def fill_empty(
    owner: NativeObject, dt: DataType, fmt: Format, dims: Optional[tuple[int, ...]]
) -> None:
    """Make ``owner`` GE's empty tensor (no data), described as ``dt``/``fmt``/``dims``."""
    _create_empty(owner, {"data_type": dt.name, "format": fmt.name})
    try:
        if dims:
            _describe(owner, dims, fmt, dt, origin=False)
            return
        with owner._exclusive() as handle:
            if dt is not DataType.DT_FLOAT:
                value = int_ref(int(dt))
                check_ge(api.GeApiWrapper_Tensor_SetDataType(handle, value), "SetDataType")
            if fmt is not Format.FORMAT_ND:
                value = int_ref(int(fmt))
                check_ge(api.GeApiWrapper_Tensor_SetFormat(handle, value), "SetFormat")
    except BaseException:
        owner.close()
        raise


def int_ref(value: int) -> Any:
    """``const int &`` for GE: a pointer to a C int holding ``value``."""
    return ctypes.byref(ctypes.c_int(value))
