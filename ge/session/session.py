"""``ge.Session``: graphs, runs and stream allocators of one GE session.

CANN's public ``ge::Session`` says FAILED for nearly every failure; the
precise codes of GE's session manager (``session_manager.cc``) are raised
here, from the package's own state, before any C call:

* ``Session()`` before GE is initialised: ``GE_SESSION_MANAGER_NOT_INIT``
  (no native session is made: one made then stays dead for good, and later
  silently aliases another session);
* a closed session: ``GE_SESSION_NOT_EXIST`` (``GE_SESSION_MANAGER_NOT_INIT``
  when ``ge.finalize()`` closed it);
* a duplicate ``add_graph``: ``GE_GRAPH_GRAPH_ALREADY_EXIST``; an unknown id
  in ``remove_graph``, ``run_graph``, ``run_graph_with_stream_async``,
  ``compile_graph``, ``load_graph``: ``GE_GRAPH_GRAPH_NOT_EXIST``.

What GE itself returns (FAILED, PARAM_INVALID, UNSUPPORTED, ...) reaches the
user with its name and GE's message, read once. Sessions get increasing ids
and are tracked process-wide (``has_session``); ``ge.finalize()`` closes them
all. Closing waits for the session's calls in flight on other threads.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NoReturn, Optional

from ge import _ffi, _messages
from ge._allocator_bridge import refuse_reentry
from ge._allocator_registry import registry
from ge._callback_errors import collecting, raise_with
from ge._checks import as_int, as_str_dict
from ge._checks import graph_id as checked_graph_id
from ge._ffi import api, made
from ge._ffi.handles import SessionHandle, StreamHandle
from ge._ffi.marshal import COptions, check_ge, failure, ge_error
from ge._ffi.signatures import (
    SESSION_COMPILE_GRAPH,
    SESSION_GET_SESSION_ID,
    SESSION_IS_GRAPH_NEED_REBUILD,
    SESSION_LOAD_GRAPH,
)
from ge._ffi.status import (
    GE_GRAPH_GRAPH_ALREADY_EXIST,
    GE_GRAPH_GRAPH_NOT_EXIST,
    GE_SESSION_MANAGER_NOT_INIT,
    GE_SESSION_NOT_EXIST,
)
from ge._ffi.std_map import empty_std_map
from ge._native import NativeObject
from ge._session_manager import manager
from ge.acl import StreamLike
from ge.acl._stream import Stream, ge_stream_handle
from ge.allocator import Allocator
from ge.graph import Graph, Tensor
from ge.session._bound import GraphBinding, run_async, run_sync
from ge.session._graphs import GraphState, GraphTable

__all__ = ["Session", "has_session"]


def has_session(session_id: int) -> bool:
    """Whether a live session has this id (an integer)."""
    return manager.has_session(as_int(session_id, "session_id", _messages.SESSION_ID))


class Session(NativeObject):
    """A GE session: add graphs, run them, register stream allocators.

    ``options`` is a dict of str to str (GE session options) or ``None``.
    GE must be initialised first (``GeApi.ge_initialize`` or ``ge.initialize``).
    Use as a context manager, or call :meth:`close`, which unregisters the
    allocators this session still owns, releases its graphs and the session;
    it waits for the session's calls in flight, and closing twice is harmless.
    """

    __slots__ = ("_closed_by_finalize", "_graphs", "_session_id")

    _kind = "Session"
    _handle_type: ClassVar[Optional[type]] = SessionHandle

    def __init__(self, options: Optional[Mapping[str, str]] = None) -> None:
        self._handle = None
        self._session_id = 0
        self._closed_by_finalize = False
        self._graphs = GraphTable()
        checked = as_str_dict(options, _messages.SESSION_OPTIONS)
        with manager.lock:
            if manager.finalizer is not None:  # no wait: it may wait for this thread
                raise failure(
                    "CreateSession",
                    "GE is being finalized (ge.finalize() runs on another thread or "
                    "called this one)",
                    status=GE_SESSION_MANAGER_NOT_INIT,
                )
            if not manager.initialized:
                raise failure(
                    "CreateSession",
                    "GE is not initialized: call GeApi.ge_initialize(config) (or "
                    "ge.initialize()) before creating a session",
                    status=GE_SESSION_MANAGER_NOT_INIT,
                )
            if checked:
                handle = made.GeApiWrapper_Session_CreateSessionWithOptions(*COptions(checked).args)
            else:
                handle = made.GeApiWrapper_Session_CreateSession()
            if not handle:
                raise ge_error("CreateSession", None, {})
            super().__init__(handle)
            self._session_id = manager.add(self)

    # -- state -------------------------------------------------------------

    @property
    def session_id(self) -> int:
        """This session's id in the package's process-wide session manager."""
        return self._session_id

    @property
    def ge_session_id(self) -> int:
        """GE's own id of the session (``ge::Session::GetSessionId``)."""
        return int(self._in_flight(("GetSessionId",), getattr(api, SESSION_GET_SESSION_ID)))

    def _raise_closed(
        self,
        api_name: str = "Session",
        graph: Optional[int] = None,
        stream: Optional[int] = None,
    ) -> NoReturn:
        context = _context(graph, stream)
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

    def _graph(self, api_name: str, gid: int, stream: Optional[int] = None) -> GraphState:
        """The state of graph ``gid``; GE_GRAPH_GRAPH_NOT_EXIST when there is none."""
        state = self._graphs.get(gid)
        if state is None:
            raise failure(
                api_name,
                f"session {self._session_id} has no graph {gid}",
                _context(gid, stream),
                GE_GRAPH_GRAPH_NOT_EXIST,
            )
        return state

    def _sync_release_locks(self) -> None:
        """Closing the session frees the memory GE took for its graphs."""
        self._release_locks = self._graphs.memory_allocators()

    # -- lifecycle ----------------------------------------------------------

    def _close(self, finalizing: bool) -> None:
        """:meth:`close`, saying whether ``ge.finalize()`` closes it (which changes
        the status of later calls: ``GE_SESSION_MANAGER_NOT_INIT``)."""
        if self._handle is not None:
            self._closed_by_finalize = finalizing
        self.close()

    def _release(self, handle: Any) -> list[BaseException]:
        manager.remove(self._session_id)
        owned, errors = self._release_native(handle)
        for stream in owned:  # the last call of this session on its streams: report
            errors.extend(registry.take_deferred(stream))
        return errors

    def _finalize(self, handle: Any) -> None:
        # The session leaves the manager with its weak reference. It must not
        # wait for the manager's lock: the collector may run this inside a call
        # that ge.finalize() is waiting for. Nobody to report to: what
        # callbacks raise is deferred for the stream (or ge.finalize()).
        owned, errors = self._release_native(handle)
        for exc in errors:  # kept for the stream's next call, else for ge.finalize()
            registry.defer(owned[0] if owned else 0, exc)

    def _release_native(self, handle: Any) -> tuple[list[int], list[BaseException]]:
        """Unregister the allocators this session owns and destroy the session
        (which frees the memory GE took for its graphs).

        Returns the streams it owned, and what GE and the callbacks raised.
        """
        with collecting() as callback_errors:
            owned, errors = registry.release_owned(handle, self._session_id)
            handle.__class__ = SessionHandle  # disarmed (ge._ffi.owned), no call before C's
            api.GeApiWrapper_Session_DestroySession(handle)
        self._graphs.clear()
        registry.bury()
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
        self, graph_id: int, add_graph: Graph, options: Optional[Mapping[str, str]] = None
    ) -> int:
        """Add the graph ``add_graph`` under ``graph_id`` (GE copies it). Returns 0,
        as CANN's package does."""
        gid = checked_graph_id(graph_id)
        if not isinstance(add_graph, Graph):
            raise TypeError(_messages.ADD_GRAPH)
        checked = as_str_dict(options, _messages.GRAPH_OPTIONS)
        c_options = COptions(checked) if checked else None
        context: dict[str, object] = {"graph_id": gid}
        with add_graph._calling() as graph_handle, self._calling("AddGraph", gid) as handle:
            if not self._graphs.reserve(gid):
                raise failure(
                    "AddGraph",
                    f"session {self._session_id} already has a graph {gid}",
                    context,
                    GE_GRAPH_GRAPH_ALREADY_EXIST,
                )
            if c_options is None:
                status = api.GeApiWrapper_Session_AddGraph(handle, gid, graph_handle)
            else:
                status = api.GeApiWrapper_Session_AddGraphWithOptions(
                    handle, gid, graph_handle, *c_options.args
                )
            if status:
                self._graphs.take(gid)
        check_ge(status, "AddGraph", context)
        return 0

    def remove_graph(self, graph_id: int) -> None:
        """Remove the graph ``graph_id`` (GE gives back the memory it took for it)."""
        gid = checked_graph_id(graph_id)
        context: dict[str, object] = {"graph_id": gid}
        with self._calling("RemoveGraph", gid) as handle:
            state = self._graph("RemoveGraph", gid)
            refuse_reentry(state.memory_from, "removing a graph")
            self._graphs.take(gid)
            with collecting() as errors:
                status = api.GeApiWrapper_Session_RemoveGraph(handle, gid)
            if status:
                self._graphs.put(gid, state)
            self._sync_release_locks()
        registry.bury()
        _finish(status, "RemoveGraph", context, errors)

    def compile_graph(self, graph_id: int) -> None:
        """Compile the graph ``graph_id`` ahead of running it (``CompileGraph``).

        GE then runs it the second way only: :meth:`load_graph` and
        :meth:`run_graph_with_stream_async` (``run_graph`` is UNSUPPORTED).
        """
        gid = checked_graph_id(graph_id)
        fn = getattr(api, SESSION_COMPILE_GRAPH)
        with self._calling("CompileGraph", gid) as handle:
            state = self._graph("CompileGraph", gid)
            status = fn(handle, gid)
            if not status:
                state.compiled = True
        check_ge(status, "CompileGraph", {"graph_id": gid})

    def load_graph(
        self, graph_id: int, stream: StreamLike, options: Optional[Mapping[str, str]] = None
    ) -> None:
        """Load the compiled graph ``graph_id`` for execution on ``stream`` (``LoadGraph``).

        GE takes the graph's own memory from the stream's allocator then. Only
        ``options=None`` or ``{}`` can be given: the options are a C++
        ``std::map``, and only an empty one can be built from Python.
        """
        gid = checked_graph_id(graph_id)
        s = ge_stream_handle(stream, _messages.RUN_STREAM)
        if as_str_dict(options, _messages.GRAPH_OPTIONS):
            raise ValueError(
                "load_graph cannot pass options: GE takes them as a C++ std::map, and "
                "only an empty one can be built from Python (add_graph takes options)"
            )
        context: dict[str, object] = {"graph_id": gid, "stream": s}
        options_map = empty_std_map()
        fn = api.GeSessionLoadGraph if _ffi.has("GeSessionLoadGraph") else None
        if fn is None:
            fn = getattr(api, SESSION_LOAD_GRAPH)
        on = stream._calling() if isinstance(stream, Stream) else contextlib.nullcontext()
        with on, self._calling("LoadGraph", gid, s) as handle:
            state = self._graph("LoadGraph", gid, s)
            trampoline = registry.trampoline_of(s)
            refuse_reentry(trampoline, "loading a graph")
            with collecting() as errors:
                status = fn(handle, gid, ctypes.byref(options_map), StreamHandle(s))
            if state.memory_from is None:
                state.memory_from = trampoline
                self._sync_release_locks()
        errors.extend(registry.take_deferred(s))
        _finish(status, "LoadGraph", context, errors)

    def is_graph_need_rebuild(self, graph_id: int) -> bool:
        """Whether the graph must be compiled (again) before it runs: true for an
        unknown or uncompiled graph (``IsGraphNeedRebuild``)."""
        gid = checked_graph_id(graph_id)
        fn = getattr(api, SESSION_IS_GRAPH_NEED_REBUILD)
        return bool(self._in_flight(("IsGraphNeedRebuild", gid), fn, gid))

    # -- runs -------------------------------------------------------------------

    def run_graph(self, graph_id: int, inputs: Sequence[Tensor]) -> list[Tensor]:
        """Run the graph synchronously; the outputs are new host tensors."""
        gid = checked_graph_id(graph_id)
        return run_sync(self, gid, inputs)

    def run_graph_with_stream_async(
        self, graph_id: int, stream: StreamLike, inputs: Sequence[Tensor]
    ) -> list[Tensor]:
        """Enqueue a run on ``stream``; the outputs are valid after it synchronizes.

        Output memory comes from the stream's allocator; a stream without one
        gets GE's default allocator, registered by (and owned by) this session.
        The first run of a graph on a stream also loads it: GE takes the graph's
        own memory from the same allocator, until the graph is removed.
        """
        gid = checked_graph_id(graph_id)
        if isinstance(stream, Stream):
            on: Optional[Stream] = stream
            s = stream.handle  # destroyed: its error; the live one is read in flight
        else:
            on = None
            s = ge_stream_handle(stream, _messages.RUN_STREAM)
        return run_async(self, gid, on, s, inputs)

    def bind(self, graph_id: int, stream: Optional[StreamLike] = None) -> GraphBinding:
        """A :class:`GraphBinding` of graph ``graph_id`` (and ``stream``, for
        :meth:`GraphBinding.run_async`): the arguments checked once, for running
        the same graph many times with the least work per call."""
        return GraphBinding(self, graph_id, stream)

    # -- allocators ---------------------------------------------------------------

    def register_external_allocator(self, stream: StreamLike, allocator: Allocator) -> None:
        """Let GE take ``stream``'s memory from ``allocator`` (replacing any other)."""
        s = stream._handle if type(stream) is Stream else None  # (measured: a call less)
        if s is None:
            s = _allocator_stream(stream)
        if Allocator not in type(allocator).__mro__ and not isinstance(allocator, Allocator):
            raise TypeError(_messages.ALLOCATOR)  # (the MRO first: ABCMeta's check costs more)
        status, errors = self._in_flight(
            ("RegisterExternalAllocator", None, s),
            registry.register,
            self._session_id,
            s,
            allocator,
        )
        if registry._deferred:
            errors.extend(registry.take_deferred(s))
        if status or errors:
            _finish(status, "RegisterExternalAllocator", {"stream": s}, errors)

    def unregister_external_allocator(self, stream: StreamLike) -> None:
        """Drop ``stream``'s allocator. GE releases it once nothing holds it: its
        blocks (outputs, memory of graphs loaded with it) are all freed."""
        s = stream._handle if type(stream) is Stream else None  # (measured: a call less)
        if s is None:
            s = _allocator_stream(stream)
        errors = self._in_flight(("UnregisterExternalAllocator", None, s), registry.unregister, s)
        if registry._deferred:
            errors.extend(registry.take_deferred(s))
        if errors:
            raise_with(None, errors)


def _allocator_stream(stream: object) -> int:
    """The stream argument of the allocator calls as its handle (a live
    :class:`Stream` read directly; anything else through ``ge_stream_handle``)."""
    if type(stream) is Stream:
        handle: Optional[int] = stream._handle
        if handle is not None:
            return handle
    return ge_stream_handle(stream, _messages.ALLOCATOR_STREAM)


def _context(graph: Optional[int], stream: Optional[int]) -> dict[str, object]:
    """The context of an error: the graph id and the stream, where they apply."""
    context: dict[str, object] = {}
    if graph is not None:
        context["graph_id"] = graph
    if stream is not None:
        context["stream"] = stream
    return context


def _finish(
    status: int, api_name: str, context: dict[str, object], errors: list[BaseException]
) -> None:
    """Raise GE's failure of the call and what its callbacks raised (see ``raise_with``)."""
    raise_with(ge_error(api_name, status, context) if status else None, errors)
