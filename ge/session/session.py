"""``ge.Session``: graphs, runs and stream allocators of one GE session.

The semantics follow GE's session manager: sessions get increasing ids and
are tracked process-wide (``has_session``); ``ge.finalize()`` closes them
all; a closed session raises :class:`~ge.error.GeError` on every call and
never touches freed memory. Closing waits for the session's calls that are in
flight on other threads.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Mapping, Sequence
from typing import Any, NoReturn, Optional, Union

from ge import _allocator_bridge
from ge._callback_errors import collecting, raise_with
from ge._checks import as_int, as_int_in, as_str_dict
from ge._ffi import api
from ge._ffi.marshal import COptions, check_ge, failure, ge_error
from ge._ffi.status import GE_SESSION_MANAGER_NOT_INIT, GE_SESSION_NOT_EXIST
from ge._native import NativeObject
from ge._session_manager import manager
from ge.acl import Stream
from ge.allocator import Allocator
from ge.graph import Graph, Tensor

__all__ = ["Session", "has_session"]

StreamLike = Union[int, Stream]
_UINT32_MAX = 2**32 - 1
_UINT64_MAX = 2**64 - 1
_registry = _allocator_bridge.registry
_VoidPtrArray = ctypes.POINTER(ctypes.c_void_p)


def has_session(session_id: int) -> bool:
    """Whether a live session has this id (an integer)."""
    return manager.has_session(as_int(session_id, "session_id", "session_id must be an integer"))


def _graph_id(graph_id: object) -> int:
    if type(graph_id) is int and 0 <= graph_id <= _UINT32_MAX:
        return graph_id  # the common case, without the ABC check below
    return as_int_in(graph_id, "Graph_id", 0, _UINT32_MAX, "Graph_id must be an integer")


def _stream(stream: object, message: str) -> int:
    if isinstance(stream, Stream):
        return stream.handle
    return as_int_in(stream, "stream handle", 0, _UINT64_MAX, message)


def _options(options: object) -> Optional[COptions]:
    checked = as_str_dict(options, "options must be a dictionary")
    return COptions(checked) if checked else None


_array_makers: dict[int, tuple[Any, Any]] = {}


class _Inputs:
    """A run's input tensors as a C ``void *[]``: ``with _Inputs(inputs) as (array, count):``.

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
            maker = _array_makers[count] = (ctypes.c_void_p * count, struct.Struct(f"{count}P"))
        # One copy of packed machine words: several times faster than converting
        # each int to a c_void_p as ``(c_void_p * count)(*handles)`` does.
        return maker[0].from_buffer_copy(maker[1].pack(*handles)), count

    def __exit__(self, *exc_info: object) -> None:
        for tensor in self._tensors:
            tensor._leave()


class Session(NativeObject):
    """A GE session: add graphs, run them, register stream allocators.

    ``options`` is a dict of str to str (GE session options) or ``None``.
    Use as a context manager, or call :meth:`close`.
    """

    __slots__ = ("_closed_by_finalize", "_session_id")

    _kind = "Session"

    def __init__(self, options: Optional[Mapping[str, str]] = None) -> None:
        self._handle = None
        self._session_id = 0
        self._closed_by_finalize = False
        checked = as_str_dict(options, "option must be a dictionary")
        if checked:
            handle = api.GeApiWrapper_Session_CreateSessionWithOptions(*COptions(checked).args)
        else:
            handle = api.GeApiWrapper_Session_CreateSession()
        if not handle:
            raise ge_error("CreateSession", None, {})
        super().__init__(handle)
        self._session_id = manager.add(self)

    # -- state -------------------------------------------------------------

    @property
    def session_id(self) -> int:
        """This session's id in the process-wide session manager."""
        return self._session_id

    @property
    def ge_session_id(self) -> int:
        """GE's own id of the session (``GetSessionId``, where the ABI has it)."""
        handle = self._enter("GetSessionId")
        try:
            return int(api.GeApiWrapper_Session_GetSessionId(handle))
        finally:
            self._leave()

    def _raise_closed(
        self,
        api_name: str = "Session",
        graph_id: Optional[int] = None,
        stream: Optional[int] = None,
    ) -> NoReturn:
        context = _context(graph_id, stream)
        if self._closed_by_finalize:
            raise failure(
                api_name,
                f"session {self._session_id} was closed by ge.finalize()",
                context,
                GE_SESSION_MANAGER_NOT_INIT,
            )
        raise failure(
            api_name, f"session {self._session_id} is closed", context, GE_SESSION_NOT_EXIST
        )

    # -- lifecycle ----------------------------------------------------------

    def close(self) -> None:
        """Unregister the allocators this session still owns, release its graphs
        and the session. Waits for calls in flight; closing twice is harmless."""
        self._close(finalizing=False)

    def _close(self, finalizing: bool) -> None:
        if self._handle is not None:
            self._closed_by_finalize = finalizing
        super().close()

    def _release(self, handle: int) -> list[BaseException]:
        manager.remove(self._session_id)
        owned, errors = self._release_native(handle)
        for stream in owned:  # the last call of this session on its streams: report
            errors.extend(_registry.take_deferred(stream))
        return errors

    def _finalize(self, handle: int) -> None:
        # The session leaves the manager with its weak reference. It must not
        # wait for the manager's lock: the collector may run this inside a call
        # that ge.finalize() (holding that lock) is waiting for. Nobody to
        # report to: what callbacks raise stays deferred for the stream.
        self._release_native(handle)

    def _release_native(self, handle: int) -> tuple[list[int], list[BaseException]]:
        """Unregister the allocators this session owns and destroy the session.

        Returns the streams it owned, and what GE and the callbacks raised.
        """
        errors: list[BaseException] = []
        owned = _registry.owned_by(self._session_id)
        with collecting() as callback_errors:
            for stream in owned:
                with _registry.lock:
                    status = api.GeApiWrapper_Session_UnregisterExternalAllocator(handle, stream)
                    _registry.current.pop(stream, None)
                if status:
                    errors.append(
                        ge_error("UnregisterExternalAllocator", status, {"stream": stream})
                    )
            api.GeApiWrapper_Session_DestroySession(handle)
        _registry.bury()
        errors.extend(callback_errors)
        return owned, errors

    def _forget(self) -> None:
        """The native side was wiped (tests): drop the handle without calling C."""
        self._handle = None

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else "open"
        return f"<ge.Session id={self._session_id} {state}>"

    # -- graphs ---------------------------------------------------------------

    def add_graph(
        self, graph_id: int, graph: Graph, options: Optional[Mapping[str, str]] = None
    ) -> None:
        """Add ``graph`` under ``graph_id`` (GE keeps its own reference)."""
        gid = _graph_id(graph_id)
        if not isinstance(graph, Graph):
            raise TypeError("Add_graph must be a Graph")
        c_options = _options(options)
        context: dict[str, object] = {"graph_id": gid}
        with graph._calling() as graph_handle:
            handle = self._enter("AddGraph", gid)
            try:
                if c_options is None:
                    status = api.GeApiWrapper_Session_AddGraph(handle, gid, graph_handle)
                else:
                    status = api.GeApiWrapper_Session_AddGraphWithOptions(
                        handle, gid, graph_handle, *c_options.args
                    )
            finally:
                self._leave()
        check_ge(status, "AddGraph", context)

    def remove_graph(self, graph_id: int) -> None:
        """Remove the graph ``graph_id``."""
        self._graph_call("RemoveGraph", api.GeApiWrapper_Session_RemoveGraph, graph_id)

    def compile_graph(self, graph_id: int) -> None:
        """Compile the graph ``graph_id`` ahead of running it (``CompileGraph``)."""
        self._graph_call("CompileGraph", api.GeApiWrapper_Session_CompileGraph, graph_id)

    def _graph_call(self, api_name: str, fn: Any, graph_id: int) -> None:
        gid = _graph_id(graph_id)
        context: dict[str, object] = {"graph_id": gid}
        handle = self._enter(api_name, gid)
        try:
            status = fn(handle, gid)
        finally:
            self._leave()
        check_ge(status, api_name, context)

    def load_graph(
        self, graph_id: int, stream: StreamLike, options: Optional[Mapping[str, str]] = None
    ) -> None:
        """Load the compiled graph ``graph_id`` for execution on ``stream`` (``LoadGraph``)."""
        gid = _graph_id(graph_id)
        s = _stream(stream, "Stream must be an integer")
        c_options = _options(options) or COptions({})
        fn = api.GeApiWrapper_Session_LoadGraph
        context: dict[str, object] = {"graph_id": gid, "stream": s}
        handle = self._enter("LoadGraph", gid, s)
        try:
            status = fn(handle, gid, *c_options.args, s or None)
        finally:
            self._leave()
        check_ge(status, "LoadGraph", context)

    def is_graph_need_rebuild(self, graph_id: int) -> bool:
        """Whether the graph must be compiled again before it runs."""
        gid = _graph_id(graph_id)
        fn = api.GeApiWrapper_Session_IsGraphNeedRebuild
        handle = self._enter("IsGraphNeedRebuild", gid)
        try:
            return bool(fn(handle, gid))
        finally:
            self._leave()

    # -- runs -------------------------------------------------------------------

    def run_graph(self, graph_id: int, inputs: Sequence[Tensor]) -> list[Tensor]:
        """Run the graph synchronously; the outputs are new host tensors."""
        gid = _graph_id(graph_id)
        used = _Inputs(inputs)
        outputs = _VoidPtrArray()
        n_out = ctypes.c_size_t()
        with used as (c_inputs, count):
            handle = self._enter("RunGraph", gid, None)
            try:
                status = api.GeApiWrapper_Session_RunGraph(
                    handle, gid, c_inputs, count, ctypes.byref(outputs), ctypes.byref(n_out)
                )
            finally:
                self._leave()
        if status:
            raise ge_error("RunGraph", status, {"graph_id": gid})
        return _adopt_outputs(outputs, n_out.value)

    def run_graph_with_stream_async(
        self, graph_id: int, stream: StreamLike, inputs: Sequence[Tensor]
    ) -> list[Tensor]:
        """Enqueue a run on ``stream``; the outputs are valid after it synchronizes.

        Output memory comes from the stream's allocator; a stream without one
        gets GE's default allocator, registered by (and owned by) this session.
        """
        gid = _graph_id(graph_id)
        s = _stream(stream, "Stream must be an integer")
        used = _Inputs(inputs)
        outputs = _VoidPtrArray()
        n_out = ctypes.c_size_t()
        with used as (c_inputs, count):
            handle = self._enter("RunGraphWithStreamAsync", gid, s)
            try:
                if s not in _registry.current:
                    self._register_default(handle, s)
                with collecting() as errors:
                    status = api.GeApiWrapper_Session_RunGraphWithStreamAsync(
                        handle,
                        gid,
                        s or None,
                        c_inputs,
                        count,
                        ctypes.byref(outputs),
                        ctypes.byref(n_out),
                    )
            finally:
                self._leave()
        errors.extend(_registry.take_deferred(s))
        result = _adopt_outputs(outputs, n_out.value) if not status else []
        if status or errors:
            _finish(status, "RunGraphWithStreamAsync", {"graph_id": gid, "stream": s}, errors)
        return result

    # -- allocators ---------------------------------------------------------------

    def _register_default(self, handle: int, stream: int) -> None:
        with _registry.lock:
            if stream in _registry.current or api.GeApiWrapper_HasExternalAllocator(stream or None):
                return
            status = api.GeApiWrapper_Session_RegisterDefaultAllocator(handle, stream or None)
            check_ge(status, "RegisterDefaultAllocator", {"stream": stream})
            _registry.current[stream] = _allocator_bridge.Registration(self._session_id, None)

    def register_external_allocator(self, stream: StreamLike, allocator: Allocator) -> None:
        """Let GE take ``stream``'s output memory from ``allocator`` (replacing any other)."""
        s = _stream(stream, "stream must be an integer")
        if not isinstance(allocator, Allocator):
            raise TypeError("allocator must be an Allocator instance")
        context: dict[str, object] = {"stream": s}
        handle = self._enter("RegisterExternalAllocator", None, s)
        try:
            with _registry.lock, collecting() as errors:
                trampoline = _registry.new_trampoline(allocator, s)
                status = api.GeApiWrapper_Session_RegisterExternalAllocator(
                    handle,
                    s or None,
                    trampoline.c_malloc,
                    trampoline.c_free,
                    trampoline.c_get_addr,
                    trampoline.c_on_destroy,
                    trampoline.token,
                )
                if status:
                    _registry.alive.pop(trampoline.token, None)
                else:
                    _registry.current[s] = _allocator_bridge.Registration(
                        self._session_id, trampoline
                    )
        finally:
            self._leave()
        _registry.bury()
        errors.extend(_registry.take_deferred(s))
        _finish(status, "RegisterExternalAllocator", context, errors)

    def unregister_external_allocator(self, stream: StreamLike) -> None:
        """Drop ``stream``'s allocator; GE releases it once its blocks are freed."""
        s = _stream(stream, "stream must be an integer")
        context: dict[str, object] = {"stream": s}
        handle = self._enter("UnregisterExternalAllocator", None, s)
        try:
            with _registry.lock, collecting() as errors:
                status = api.GeApiWrapper_Session_UnregisterExternalAllocator(handle, s or None)
                if not status:
                    _registry.current.pop(s, None)
        finally:
            self._leave()
        _registry.bury()
        errors.extend(_registry.take_deferred(s))
        _finish(status, "UnregisterExternalAllocator", context, errors)


def _context(graph_id: Optional[int], stream: Optional[int]) -> dict[str, object]:
    """The context of an error: the graph id and the stream, where they apply."""
    context: dict[str, object] = {}
    if graph_id is not None:
        context["graph_id"] = graph_id
    if stream is not None:
        context["stream"] = stream
    return context


def _finish(
    status: int, api_name: str, context: dict[str, object], errors: list[BaseException]
) -> None:
    """Raise GE's failure of the call and what its callbacks raised (see ``raise_with``)."""
    raise_with(ge_error(api_name, status, context) if status else None, errors)


def _adopt_outputs(outputs: Any, count: int) -> list[Tensor]:
    """Own the output tensor handles of a run and free the C array."""
    if not outputs:
        return []
    try:
        handles = outputs[:count]
        tensors = [Tensor._adopt(h) for h in handles if h]
    finally:
        api.GeApiWrapper_Session_FreeTensorArray(outputs)
    if len(tensors) != count:
        raise failure("RunGraph", "GE returned a NULL output tensor")
    return tensors
