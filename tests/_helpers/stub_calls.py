"""Bare ctypes calls into the stand-in, for the tests of the stand-in itself."""

from __future__ import annotations

import ctypes
import subprocess
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from ctypes import POINTER, byref, c_char_p, c_int64, c_size_t, c_void_p
from pathlib import Path
from typing import Any, Optional

from _helpers.processes import run_python
from ge._ffi import api
from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn
from ge._ffi.handles import StreamHandle

F32 = 0
ND = 2
FAILED = 0xFFFFFFFF


def opts(**kv: str) -> tuple[Any, Any, int]:
    """``char **keys, char **values, int size`` of ``kv``."""
    keys = (c_char_p * max(len(kv), 1))(*(k.encode() for k in kv))
    values = (c_char_p * max(len(kv), 1))(*(v.encode() for v in kv.values()))
    return keys, values, len(kv)


def graph_add(n: int = 4) -> int:
    """A graph handle computing ``x + y`` on float32 ``[n]``."""
    b = api.EsCreateGraphBuilder(b"g")
    dims = (c_int64 * 1)(n)
    x = api.EsCreateGraphInputWithDetails(b, 0, None, None, F32, ND, dims, 1)
    y = api.EsCreateGraphInputWithDetails(b, 1, None, None, F32, ND, dims, 1)
    assert api.EsSetGraphOutput(api.EsAdd(x, y), 0) == 0
    g = api.EsBuildGraphAndReset(b)
    api.EsDestroyGraphBuilder(b)
    return int(g)


def tensor(values: list[float]) -> int:
    """A host float32 tensor handle."""
    data = (ctypes.c_float * len(values))(*values)
    return int(api.EsCreateEsCTensor(data, (c_int64 * 1)(len(values)), 1, F32, ND))


def run(
    session: Optional[int], gid: int, inputs: list[int], stream: Optional[int] = None
) -> tuple[int, list[int]]:
    """RunGraph (no stream) or RunGraphWithStreamAsync: the status and the outputs."""
    arr = (c_void_p * max(len(inputs), 1))(*inputs)
    outs, n = POINTER(c_void_p)(), c_size_t()
    if stream is None:
        st = api.GeApiWrapper_Session_RunGraph(
            session, gid, arr, len(inputs), byref(outs), byref(n)
        )
    else:
        st = api.GeApiWrapper_Session_RunGraphWithStreamAsync(
            session, gid, stream, arr, len(inputs), byref(outs), byref(n)
        )
    handles = [outs[i] for i in range(n.value)] if st == 0 else []
    if outs:
        api.GeApiWrapper_Session_FreeTensorArray(outs)
    return st, handles


def read_device_f32(handle: int, n: int) -> list[float]:
    """The first ``n`` floats of a device tensor, through aclrtMemcpy."""
    host = (ctypes.c_float * n)()
    assert api.aclrtMemcpy(host, 4 * n, api._ZNK2ge6Tensor7GetDataEv(handle), 4 * n, 2) == 0
    return list(host)


def ge_message() -> str:
    """GEGetErrorMsg: drains this thread's queue."""
    return (api.GeApiWrapper_GEGetErrorMsg() or b"").decode()


def new_stream() -> int:
    """aclrtCreateStream."""
    s = StreamHandle()
    assert api.aclrtCreateStream(byref(s)) == 0
    return s.value or 0


@contextmanager
def session_with_graph_and_stream(n: int = 2, gid: int = 1) -> Iterator[tuple[int, int]]:
    """A new session holding graph ``gid`` (:func:`graph_add` of ``n``) and a new
    stream: ``(session, stream)``.

    When the block ends normally the graph handle, the session and the stream are
    destroyed (the stream's destruction checked); when it raises, nothing is, so the
    failure is the test's own (and the leak check reports what it left).
    """
    s = api.GeApiWrapper_Session_CreateSession()
    stream = new_stream()
    g = graph_add(n)
    assert api.GeApiWrapper_Session_AddGraph(s, gid, g) == 0
    yield s, stream
    api.GeApiWrapper_Graph_DestroyGraph(g)
    api.GeApiWrapper_Session_DestroySession(s)
    assert api.aclrtDestroyStream(stream) == 0


class Recorder:
    """Allocator callbacks over aclrtMalloc that record every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.memory: dict[int, int] = {}
        self._next = 1
        self.on_malloc: Any = None
        self.on_free: Any = None
        self.callbacks = (
            MallocFn(self._malloc),
            FreeFn(self._free),
            GetAddrFn(self._get_addr),
            OnDestroyFn(self._on_destroy),
        )

    def _malloc(self, obj: Any, size: int) -> int:
        self.calls.append(("malloc", size))
        if self.on_malloc is not None:
            self.on_malloc()
        ptr = c_void_p()
        if api.aclrtMalloc(byref(ptr), size, 0) != 0:
            return 0
        block = self._next
        self._next += 1
        self.memory[block] = ptr.value or 0
        return block

    def _free(self, obj: Any, block: int) -> None:
        self.calls.append(("free", block))
        if self.on_free is not None:
            self.on_free()
        assert api.aclrtFree(self.memory.pop(block)) == 0

    def _get_addr(self, block: int) -> int:
        return self.memory[block]

    def _on_destroy(self, user: int) -> None:
        self.calls.append(("on_destroy", user))

    def names(self) -> list[str]:
        """The kinds of the recorded calls, in order."""
        return [name for name, _ in self.calls]

    def register(self, session: int, stream: int, user: int = 7) -> int:
        """RegisterExternalAllocator with these callbacks."""
        return int(
            api.GeApiWrapper_Session_RegisterExternalAllocator(
                session, stream, *self.callbacks, user
            )
        )


CHILD_PRELUDE = """
import ctypes
from ctypes import byref, c_int, c_int64, c_void_p
from ge._ffi import api
from ge._ffi.handles import StreamHandle
api.GeStub_Reset()
"""


def child(code: str, tmp_path: Path, prelude: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python child on the stand-in the suite uses (strict mode), after
    :data:`CHILD_PRELUDE` (``api``, ``ctypes``, a fresh stand-in) and ``prelude``."""
    source = CHILD_PRELUDE + textwrap.dedent(prelude) + textwrap.dedent(code)
    return run_python(source, cwd=tmp_path)
