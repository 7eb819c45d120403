"""The input tensors of a run, as the C array GE takes (:class:`Inputs`).

The other arguments of ``Session`` calls are parsed by the package's one parser
of each (``ge._checks``: graph ids, options; ``ge.acl._stream``: streams).
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from typing import Any

from ge import _messages
from ge.graph import Tensor

_array_makers: dict[int, tuple[Any, Any]] = {}


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
