"""Dims across the C boundary: ``int64_t`` arrays in, GE's ``new int64_t[]`` arrays out."""

from __future__ import annotations

import ctypes
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

from ge._ffi import api
from ge._ffi.marshal import check_ge, ge_error

__all__ = ["c_dims", "take_dims"]

_array_types: dict[int, Any] = {}
"""``int64_t[n]`` array types by ``n``."""


def c_dims(dims: Sequence[int]) -> tuple[Optional[Any], int]:
    """``(int64_t array or None, count)`` for a C call; None for no dims."""
    count = len(dims)
    if not count:
        return None, 0
    array_type = _array_types.get(count)
    if array_type is None:
        array_type = _array_types[count] = ctypes.c_int64 * count
    return array_type(*dims), count


def take_dims(
    getter: Callable[..., int],
    handle: int,
    api_name: str,
    context: Optional[Mapping[str, object]] = None,
) -> tuple[int, ...]:
    """The dims a GE getter (``Tensor_GetShape``, ``TensorDesc_GetShape``, ...) hands
    out, freed with ``Tensor_FreeDimsArray`` whatever happens.

    GE reports success with no array when it cannot allocate one: that is a
    :class:`~ge.error.GeError` too (unless there are no dims to read).
    """
    free = api.GeApiWrapper_Tensor_FreeDimsArray  # bound before: no Python call in the finally
    dims = ctypes.POINTER(ctypes.c_int64)()
    count = ctypes.c_size_t(0)
    try:
        check_ge(getter(handle, ctypes.byref(dims), ctypes.byref(count)), api_name, context)
        if not dims and count.value:
            raise ge_error(api_name, None, {**(context or {}), "dim_num": count.value})
        return tuple(dims[i] for i in range(count.value))
    finally:
        if dims:
            free(dims)
