"""Pointing ``ge`` at the stand-in and driving its ``GeStub_`` control symbols."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional, Union

from ge import _ffi, _lifecycle
from ge._ffi import api
from ge._ffi.handles import GraphHandle, Handle, StreamHandle
from ge._ffi.loader import ENV_LIBRARY
from ge._ffi.marshal import decode
from ge.testing.build import build_stub_library


@dataclass(frozen=True)
class GraphTensorDesc:
    """A graph input or output as the stand-in records it."""

    data_type: int
    format: Optional[int]
    shape: tuple[int, ...]


def _split(raw: bytes | None) -> list[str]:
    text = decode(raw)
    return [part for part in text.split(",") if part]


def _handle(obj: object) -> Optional[int]:
    """A raw handle from an int or an object with ``handle``/``_handle``."""
    if obj is None or isinstance(obj, int):
        return obj
    if isinstance(obj, Handle):
        return obj.value
    for attr in ("handle", "_handle"):
        value = getattr(obj, attr, None)
        if isinstance(value, int):
            return value
    raise TypeError(f"expected a handle or an object with one, got {type(obj).__name__}")


class StubControl:
    """The stand-in's control and inspection symbols (``stubs/README.md``)."""

    def reset(self) -> None:
        """Wipe the stand-in's state (no callbacks run, strict mode back on) and forget
        Python's view of it."""
        api.GeStub_Reset()
        _lifecycle.forget_native_state()

    def failable_functions(self) -> list[str]:
        """Every function name :meth:`fail_next` accepts."""
        return _split(api.GeStub_FailableFunctions())

    def fail_next(self, function_name: str, status: int, nth: int = 1) -> None:
        """Make the ``nth`` later call of ``function_name`` fail with ``status``."""
        if function_name not in self.failable_functions():
            raise ValueError(f"{function_name!r} cannot be made to fail")
        if nth < 1:
            raise ValueError("nth must be at least 1")
        api.GeStub_FailNext(function_name.encode(), status & 0xFFFFFFFF, nth)

    def set_misuse_aborts(self, on: bool) -> None:
        """Strict mode (``True``, the default after every reset): a dead or foreign
        handle aborts the process, as it would crash CANN. ``False``: the function
        returns its tidy failure value instead, for tests that pass such handles
        on purpose."""
        api.GeStub_SetMisuseAborts(1 if on else 0)

    @contextmanager
    def tidy_misuse(self) -> Iterator[None]:
        """Tidy failure values instead of aborts while the block runs, then strict again."""
        self.set_misuse_aborts(False)
        try:
            yield
        finally:
            self.set_misuse_aborts(True)

    def faults_pending(self) -> int:
        """How many injected faults have not fired yet."""
        return int(api.GeStub_FaultsPending())

    def clear_faults(self) -> None:
        """Drop every pending fault."""
        api.GeStub_ClearFaults()

    def live_counts(self) -> dict[str, int]:
        """Live objects of each kind (sessions, graphs, tensors, blocks, ...)."""
        return {k: int(api.GeStub_LiveCount(k.encode())) for k in _split(api.GeStub_LiveKinds())}

    def callback_counts(self) -> dict[str, int]:
        """Calls the stand-in made to each allocator callback since the last reset."""
        names = _split(api.GeStub_CallbackNames())
        return {k: int(api.GeStub_CallbackCount(k.encode())) for k in names}

    def set_device_count(self, count: int) -> None:
        """What ``aclrtGetDeviceCount`` reports."""
        api.GeStub_SetDeviceCount(count)

    def set_memory_limit(self, nbytes: int) -> None:
        """Device bytes available before ``ACL_ERROR_BAD_ALLOC``."""
        api.GeStub_SetMemoryLimit(nbytes)

    def pending_work(self, stream: object) -> int:
        """Queued items of a stream (-1 for an unknown stream)."""
        return int(api.GeStub_PendingWork(StreamHandle(_handle(stream))))

    def graph_inputs(self, graph: object) -> list[GraphTensorDesc]:
        """The declared inputs of a graph handle (or of a ``ge.Graph``)."""
        handle = GraphHandle(_handle(graph))
        count = int(api.GeStub_GraphInputCount(handle))
        if count < 0:
            raise ValueError("not a live graph")
        descs = []
        for index in range(count):
            dtype, fmt, num = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int64()
            dims = (ctypes.c_int64 * 8)()
            rc = api.GeStub_GraphInputDesc(
                handle, index, ctypes.byref(dtype), ctypes.byref(fmt), dims, 8, ctypes.byref(num)
            )
            if rc != 0:
                raise ValueError(f"no input {index}")
            descs.append(GraphTensorDesc(dtype.value, fmt.value, tuple(dims[: num.value])))
        return descs

    def graph_outputs(self, graph: object) -> list[GraphTensorDesc]:
        """The outputs of a graph handle (or of a ``ge.Graph``), as inferred at build."""
        handle = GraphHandle(_handle(graph))
        count = int(api.GeStub_GraphOutputCount(handle))
        if count < 0:
            raise ValueError("not a live graph")
        descs = []
        for index in range(count):
            dtype, num = ctypes.c_int32(), ctypes.c_int64()
            dims = (ctypes.c_int64 * 8)()
            rc = api.GeStub_GraphOutputDesc(
                handle, index, ctypes.byref(dtype), dims, 8, ctypes.byref(num)
            )
            if rc != 0:
                raise ValueError(f"no output {index}")
            descs.append(GraphTensorDesc(dtype.value, None, tuple(dims[: num.value])))
        return descs


def stub_control() -> StubControl:
    """The controls of the stand-in the package is using (``GE_FFI_LIBRARY``)."""
    return StubControl()


def activate_stub(cache_dir: Optional[Union[str, os.PathLike[str]]] = None) -> str:
    """Build the stand-in and point the package (and child processes) at it."""
    path = str(build_stub_library(cache_dir))
    if os.environ.get(ENV_LIBRARY) != path:
        os.environ[ENV_LIBRARY] = path
        _ffi.reset()
    return path


@contextmanager
def use_stub(cache_dir: Optional[Union[str, os.PathLike[str]]] = None) -> Iterator[StubControl]:
    """Use the stand-in while the block runs; restore the previous library after."""
    previous = os.environ.get(ENV_LIBRARY)
    activate_stub(cache_dir)
    try:
        yield StubControl()
    finally:
        if previous is None:
            os.environ.pop(ENV_LIBRARY, None)
        else:
            os.environ[ENV_LIBRARY] = previous
        _ffi.reset()
