"""Copies: ``aclrtMemcpy``, or ``aclrtMemcpyAsync`` on a stream, and the numpy
side of them (the host bytes of an array, the dtype of an array to read).

An asynchronous copy on a :class:`~ge.acl.Stream` keeps what it uses alive
until the stream synchronizes (the stream holds the references); on a stream
given as a handle that no ``Stream`` owns, the copy synchronizes that stream
before it returns (see :mod:`ge.acl`).
"""

from __future__ import annotations

import enum
from typing import Any

import numpy as np

from ge._acl_state import state
from ge._checks import as_array
from ge._ffi import api
from ge._ffi.handles import StreamHandle
from ge._ffi.marshal import check_acl
from ge.acl._stream import copy_stream

__all__ = ["MemcpyKind", "copy", "host_bytes", "numpy_dtype"]


class MemcpyKind(enum.IntEnum):
    """``aclrtMemcpyKind``: the direction of a copy."""

    HOST_TO_HOST = 0
    HOST_TO_DEVICE = 1
    DEVICE_TO_HOST = 2
    DEVICE_TO_DEVICE = 3
    DEFAULT = 4


def numpy_dtype(dtype: object) -> np.dtype[Any]:
    """``np.dtype(dtype)``; ``TypeError`` for None, objects and non-dtypes."""
    if dtype is None:
        raise TypeError("dtype must be given (None would mean float64)")
    try:
        result: np.dtype[Any] = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not a numpy data type: {dtype!r} ({exc})") from None
    if result.hasobject:
        raise TypeError(f"dtype {result} holds Python objects, not raw bytes")
    if result.itemsize == 0:
        raise ValueError(f"dtype {result} has no size")
    return result


def host_bytes(array: object) -> np.ndarray[Any, Any]:
    """``array`` as a C-contiguous, native-order ndarray (a copy only if needed)."""
    src = as_array(array, "array")
    if src.dtype.hasobject:
        raise TypeError(f"cannot copy an array of Python objects (dtype {src.dtype})")
    if not src.dtype.isnative:
        src = src.astype(src.dtype.newbyteorder("="))
    return np.asarray(src, order="C")


def copy(
    dst: int,
    dst_max: int,
    src: int,
    count: int,
    kind: MemcpyKind,
    stream: object,
    keep: tuple[object, ...],
    *,
    wait: bool = False,
) -> None:
    """One ``aclrtMemcpy``, or ``aclrtMemcpyAsync`` on ``stream`` keeping ``keep`` alive.

    ``wait`` synchronizes the stream after enqueueing.
    """
    context: dict[str, object] = {"kind": kind.name, "count": count}
    if stream is None:
        check_acl(api.aclrtMemcpy(dst, dst_max, src, count, int(kind)), "aclrtMemcpy", context)
        return
    handle, owner = copy_stream(stream)
    context["stream"] = handle
    if owner is not None:
        with owner._enqueuing(*keep) as handle:
            code = api.aclrtMemcpyAsync(dst, dst_max, src, count, int(kind), handle)
            check_acl(code, "aclrtMemcpyAsync", context)
        if wait:
            owner.synchronize()
        return
    foreign = StreamHandle(handle)  # a raw stream handle of the caller's
    code = api.aclrtMemcpyAsync(dst, dst_max, src, count, int(kind), foreign)
    check_acl(code, "aclrtMemcpyAsync", context)
    code = api.aclrtSynchronizeStream(foreign)
    if code:
        state.keep_orphans(keep)
        check_acl(code, "aclrtSynchronizeStream", {"stream": handle})
