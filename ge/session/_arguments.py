"""The arguments of ``Session`` calls: graph ids, streams, options, input lists."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from typing import Any, Optional

from ge._checks import as_int, as_int_in, as_str_dict
from ge._ffi.marshal import COptions
from ge.acl import Stream
from ge.graph import Tensor

UINT32_MAX = 2**32 - 1
UINT64_MAX = 2**64 - 1

CREATE_A_STREAM = (
    "create a stream with ge.acl.Stream() (or pyACL's aclrtCreateStream): GE has no default stream"
)


def graph_id(value: object) -> int:
    """A graph id: an int in ``0 .. 2**32 - 1`` (CANN wraps larger ones through
    ``c_uint32``; this package refuses them)."""
    if type(value) is int and 0 <= value <= UINT32_MAX:
        return value  # the common case, without the ABC check below
    return as_int_in(value, "Graph_id", 0, UINT32_MAX, "Graph_id must be an integer")


def stream_handle(stream: object, type_message: str) -> int:
    """A stream argument as its handle: a ``ge.acl.Stream``, or an ``int`` handle
    (CANN's spelling, e.g. from pyACL). Never 0: GE refuses a NULL stream."""
    if isinstance(stream, Stream):
        return stream.handle
    if stream is None:
        raise TypeError(f"{type_message}, not None: {CREATE_A_STREAM}")
    handle = as_int(stream, "stream", type_message)
    if handle == 0:
        raise ValueError(f"stream 0 is not a stream: {CREATE_A_STREAM}")
    if not 0 < handle <= UINT64_MAX:
        raise ValueError(f"not a stream handle: {handle}")
    return handle


def options(value: object) -> Optional[COptions]:
    """Graph options (a dict of str to str) as C arrays; None when there are none."""
    checked = as_str_dict(value, "options must be a dictionary")
    return COptions(checked) if checked else None


_array_makers: dict[int, tuple[Any, Any]] = {}


class Inputs:
    """A run's input tensors as a C ``void *[]``: ``with Inputs(inputs) as (array, count):``.

    Checks the types at construction; while the block runs, every tensor is
    counted in flight, so that no other thread can close or move it.
    """

    __slots__ = ("_tensors",)

    def __init__(self, inputs: object) -> None:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError("inputs must be a list of Tensor")
        for tensor in inputs:
            if not isinstance(tensor, Tensor):
                raise TypeError("All elements in inputs must be the type of Tensor")
        self._tensors: Sequence[Tensor] = inputs

    def __enter__(self) -> tuple[Any, int]:
        tensors = self._tensors
        handles: list[int] = []
        try:
            for tensor in tensors:
                handles.append(tensor._enter())
        except BaseException:
            for tensor in tensors[: len(handles)]:
                tensor._leave()
            raise
        count = len(handles)
        maker = _array_makers.get(count)
        if maker is None:
            # never a NULL array, even for no inputs: the wrapper checks it
            size = max(count, 1)
            maker = _array_makers[count] = (ctypes.c_void_p * size, struct.Struct(f"{size}P"))
        # One copy of packed machine words: several times faster than converting
        # each int to a c_void_p as ``(c_void_p * count)(*handles)`` does.
        return maker[0].from_buffer_copy(maker[1].pack(*handles, *([0] * (not count)))), count

    def __exit__(self, *exc_info: object) -> None:
        for tensor in self._tensors:
            tensor._leave()
