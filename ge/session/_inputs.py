"""The input tensors of a run, as the C array GE takes (:class:`Inputs`).

The other arguments of ``Session`` calls are parsed by the package's one parser
of each (``ge._checks``: graph ids, options; ``ge.acl._stream``: streams).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from typing import Any

from ge import _messages
from ge.graph import Tensor

_array_types: dict[int, Any] = {}
_NULL = bytes(ctypes.sizeof(ctypes.c_void_p))
"""The one NULL element of the array of no inputs."""
_get_ident = threading.get_ident


class Inputs:
    """A run's input tensors as a C ``void *[]``: ``with Inputs(inputs) as (array, count):``.

    Checks the types at construction; while the block runs, every tensor is
    counted in flight, so that no other thread can close or move it.
    """

    __slots__ = ("_tensors",)

    def __init__(self, inputs: object) -> None:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(_messages.INPUTS_LIST)
        for tensor in inputs:
            if not isinstance(tensor, Tensor):
                raise TypeError(_messages.INPUTS_TENSORS)
        self._tensors: Sequence[Tensor] = inputs

    def __enter__(self) -> tuple[Any, int]:
        tensors = self._tensors
        handles: list[Any] = []
        try:  # all of it: an interrupt anywhere leaves what it entered
            for tensor in tensors:
                handles.append(tensor._enter())  # the typed handle (ge._ffi.handles)
            count = len(handles)
            array = _array_types.get(count)
            if array is None:
                # never a NULL array, even for no inputs: the wrapper checks it
                array = _array_types[count] = ctypes.c_void_p * max(count, 1)
            # One copy of the handles' machine words (each a c_void_p, joined through
            # the buffer protocol): several times faster than converting each to a
            # c_void_p as ``(c_void_p * count)(*handles)`` does.
            return array.from_buffer_copy(b"".join(handles) or _NULL), count
        except BaseException:
            entered = len(handles)
            for tensor in tensors[:entered]:
                tensor._leave()
            raise

    def __exit__(self, *exc_info: object) -> None:
        # NativeObject._leave written out with C calls only: an interrupt (a
        # signal's exception) is raised after a removal, never before one, so
        # the tensors after ``i`` are the ones still to leave
        tensors = self._tensors
        i = -1
        try:
            tid = _get_ident()
            for i, tensor in enumerate(tensors):  # noqa: B007 - read in the handler
                tensor._calls.remove(tid)
                if tensor._owner is not None:
                    tensor._unenter_notify()
        except BaseException:
            for tensor in tensors[i + 1 :]:
                tensor._unenter()
            raise
