"""Reading a tensor's data into a new numpy array, in one copy.

The raw-bytes path reads ``ge::Tensor::GetData``/``GetSize``: the storage may be
longer than the shape needs (GE pads the outputs of async runs), so only the
logical size (shape x itemsize) is copied, with ``memmove`` from host memory or
one ``aclrtMemcpy`` DEVICE_TO_HOST straight into the new array.

The text path (``GeApiWrapper_Tensor_GetData``) is the last resort, for a CANN
without the raw-bytes symbols: GE prints ``[v0,v1,...]`` with
``std::to_string`` (6 decimals for floats), ``true``/``false`` for booleans,
``<empty>`` for no data, and has no text for BF16 or complex values
(``<not_supported>``). It is lossy: each read warns with
:class:`LossyTextWarning`.
"""

from __future__ import annotations

import ctypes
import warnings
from typing import Any

import numpy as np

from ge._ffi import api, made
from ge._ffi.marshal import check_acl, ge_error, take_string
from ge.error import GeError
from ge.graph._tensor_data import address_of, tensor_error

__all__ = [
    "RAW_GET_DATA",
    "RAW_GET_SIZE",
    "LossyTextWarning",
    "parse_text",
    "read_raw",
    "read_text",
]

RAW_GET_DATA = "_ZNK2ge6Tensor7GetDataEv"
"""``const uint8_t *ge::Tensor::GetData() const``: the raw-bytes fast path."""
RAW_GET_SIZE = "_ZNK2ge6Tensor7GetSizeEv"
"""``size_t ge::Tensor::GetSize() const``: the storage size."""

_DEVICE_TO_HOST = 2  # aclrtMemcpyKind


class LossyTextWarning(UserWarning):
    """Data was read through GE's text form: floats keep 6 decimals only."""


_c_char_from_buffer = ctypes.c_char.from_buffer
_addressof = ctypes.addressof
_memmove = ctypes.memmove
_empty = np.empty


def read_raw(
    handle: int, dims: tuple[int, ...], np_dtype: np.dtype[Any], on_device: bool
) -> np.ndarray[Any, Any]:
    """The first shape x itemsize bytes of the storage, in a new array."""
    out = _empty(dims, np_dtype)
    logical = out.nbytes
    stored = api._ZNK2ge6Tensor7GetSizeEv(handle)  # size_t: an int
    if stored < logical:
        what = "no data" if stored == 0 else f"{stored} bytes of data"
        raise tensor_error(
            "GetSize",
            f"the tensor holds {what}, but shape {list(dims)} of {np_dtype} needs {logical} bytes",
        )
    if logical == 0:
        return out
    source = api._ZNK2ge6Tensor7GetDataEv(handle)
    if not source:
        raise tensor_error("GetData", "the tensor has no data")
    # A new, non-empty array: writable and C-contiguous, so the buffer protocol
    # gives its address (without address_of's checks) unless numpy cannot
    # export the dtype (bfloat16).
    try:
        target = _addressof(_c_char_from_buffer(out))  # type: ignore[arg-type]
    except (TypeError, ValueError, BufferError):
        target = address_of(out)
    if on_device:
        code = api.aclrtMemcpy(target, logical, source, logical, _DEVICE_TO_HOST)
        check_acl(code, "aclrtMemcpy", {"count": logical, "kind": "DEVICE_TO_HOST"})
    else:
        _memmove(target, source, logical)
    return out


def read_text(handle: int, dims: tuple[int, ...], np_dtype: np.dtype[Any]) -> np.ndarray[Any, Any]:
    """The values through GE's text form (lossy: warns), the string freed."""
    warnings.warn(
        "reading tensor data through GE's text form (this CANN has no raw-bytes access): "
        "floats keep 6 decimals",
        LossyTextWarning,
        stacklevel=3,
    )
    text = take_string(made.GeApiWrapper_Tensor_GetData(handle))
    if text is None:
        raise ge_error("GetData", None, {})
    out = np.empty(dims, dtype=np_dtype)
    out.reshape(-1)[...] = parse_text(text, np_dtype, out.size)
    return out


def _text_error(message: str) -> GeError:
    return tensor_error("GetData", message)


def parse_text(text: str, np_dtype: np.dtype[Any], count: int) -> np.ndarray[Any, Any]:
    """The first ``count`` values of GE's text form, as a 1-d array of ``np_dtype``.

    The text may hold more values than ``count`` (a padded storage prints its
    padding). ``GeError`` for ``<not_supported>``, ``<invalid>``, ``<empty>``
    with values expected, too few values, or text that is not GE's form.
    """
    if text == "<empty>":
        if count:
            raise _text_error(f"GE reports no data (<empty>), but the shape needs {count} values")
        return np.empty(0, dtype=np_dtype)
    if text == "<not_supported>":
        raise _text_error(
            f"GE has no text form for {np_dtype} values (<not_supported>), and this CANN "
            "exports no raw-bytes access to tensor data (ge::Tensor::GetData/GetSize)"
        )
    if text == "<invalid>":
        raise _text_error(
            "GE reports the data as <invalid>: no data, or a size that is not a whole "
            "number of elements"
        )
    if len(text) < 2 or text[0] != "[" or text[-1] != "]":
        raise _text_error(f"unexpected text form of tensor data: {text[:80]!r}")
    inner = text[1:-1]
    parts = inner.split(",") if inner else []
    if len(parts) < count:
        raise _text_error(f"GE's text has {len(parts)} values, but the shape needs {count}")
    parts = parts[:count]
    try:
        if np_dtype.kind == "b":
            if not set(parts) <= {"true", "false"}:
                raise ValueError("a boolean is neither true nor false")
            return np.array([p == "true" for p in parts], dtype=np_dtype)
        if np_dtype.kind in "iu":
            return np.array([int(p) for p in parts], dtype=np_dtype)
        return np.array([float(p) for p in parts], dtype=np.float64).astype(np_dtype)
    except (ValueError, OverflowError) as exc:
        raise _text_error(f"cannot read GE's text as {np_dtype}: {exc}") from None
