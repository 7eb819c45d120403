"""The run paths of a session: :class:`GraphBinding` and the one fast path it
shares with ``Session.run_graph`` / ``Session.run_graph_with_stream_async``.

A binding (``session.bind(graph_id, stream)``, in the spirit of onnxruntime's
``IOBinding``) checks its graph id and stream once. Every run, bound or
plain, goes through :func:`run_sync` or :func:`run_async`, which reuse the
graph's input C array while the same input handles come back
(``GraphState.inputs``).

Every guarantee of a call holds: the inputs, the session and the stream are
counted in flight as one batch (``ge._native._runs``: one ``dict`` store
before anything is read, one ``pop`` in the ``finally``, both C calls, the
``pop`` tolerant of a store an interrupt prevented), so a close on another
thread waits for the run; an input, session or stream that is closed, or
that another thread is changing, sends the run to :func:`_settle` (the
plain call's error, or a wait) before any C call, never a dead handle to C;
what allocator callbacks raise reaches the run.

The outputs are owned from the instant GE stores them: by the run's
:class:`~ge._ffi.owned.Taking`, made before the call, which
``Tensor._adopt_outputs`` consumes in one C-level call (an owning
``TensorHandle`` per output, the array freed). Whatever a signal's exception
interrupts after the call, what no tensor object took is freed in C when the
run's frame goes (each tensor, then the array), with no Python cleanup code
where a second interrupt could land: there is no ``except`` handler or
``finally`` on the outputs' path.
"""

from __future__ import annotations

import ctypes
import struct
import threading
from collections.abc import Sequence
from typing import Any, Optional

from ge import _messages, _native
from ge._allocator_bridge import Trampoline
from ge._allocator_registry import registry
from ge._callback_errors import _local as _callback_local  # its stack: inside_call()
from ge._callback_errors import collecting, raise_with
from ge._checks import graph_id as checked_graph_id
from ge._ffi import _bind_named, api, owned
from ge._ffi.handles import StreamHandle, TensorHandle
from ge._ffi.marshal import ge_error
from ge.acl._stream import Stream, ge_stream_handle
from ge.graph import Tensor
from ge.session._graphs import GraphState

__all__ = ["GraphBinding"]

_TensorHandle = TensorHandle
_armed_get = owned.armed_get
_run_outputs = owned.run_outputs
_get_ident = threading.get_ident
_runs = _native._runs
_wake_waiters = _native.wake_waiters
_current = registry.current
_Tensor = Tensor
_array_makers: dict[int, tuple[Any, Any]] = {}
_NO_INPUT = (0,)
_live_allocators = registry.alive
"""Every live Python allocator trampoline (the registry's table, read without a lock)."""


def _owning_handle() -> Any:
    """The owning ``TensorHandle`` class of this generation (made now: the first
    run since the native state was last wiped)."""
    return owned.armed_class(TensorHandle, _bind_named)


def _c_array(handles: list[int]) -> Any:
    """The handles as a C ``void *[]`` (never NULL, even for no inputs: the wrapper
    checks it). One copy of packed machine words: several times faster than
    ``(c_void_p * n)(*handles)``."""
    count = len(handles)
    maker = _array_makers.get(count)
    if maker is None:
        size = max(count, 1)
        maker = _array_makers[count] = (ctypes.c_void_p * size, struct.Struct(f"{size}P"))
    return maker[0].from_buffer_copy(maker[1].pack(*(handles or _NO_INPUT)))


def check_inputs(inputs: object) -> Sequence[Tensor]:
    """The inputs of a run: a list or tuple of :class:`~ge.graph.Tensor` (TypeError)."""
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(_messages.INPUTS_LIST)
    for tensor in inputs:
        if type(tensor) is not _Tensor and not isinstance(tensor, _Tensor):
            raise TypeError(_messages.INPUTS_TENSORS)
    return inputs


_CLEAR: Any = type("Clear", (), {"__slots__": (), "__repr__": lambda self: "<clear>"})()
"""What :func:`_blocker` returns when nothing blocks the run (an input
may be any object, None too)."""


def _blocker(
    batch: tuple[Any, ...], tid: int, handles: list[int], session: Any, on: Optional[Stream]
) -> Any:
    """Append the live handle of each input of ``batch`` (a run's, in flight) to
    ``handles``: :data:`_CLEAR`, or the first object that blocks the run, in the
    order of the errors: an input (not a tensor, closed, or changed by another
    thread), then the session, then the stream ``on`` (closed, or changed by
    another thread; :func:`_settle` says which). The objects of the batch,
    nothing else: a list may change under the run."""
    for tensor in batch:
        if type(tensor) is not _Tensor and not isinstance(tensor, _Tensor):
            return tensor
        handle = tensor._handle
        owner = tensor._owner
        if handle is None or (owner is not None and owner != tid):
            return tensor  # closed, or changed by another thread
        handles.append(handle)
    owner = session._owner
    if session._handle is None or (owner is not None and owner != tid):
        return session
    if on is not None and (on._handle is None or (on._owner is not None and on._owner != tid)):
        return on
    return _CLEAR


def _c_inputs(state: GraphState, handles: list[int]) -> Any:
    """The input C array of a run of the graph of ``state`` on ``handles``: the
    graph's last one when the handles are the same, else a new one it keeps."""
    cached = state.inputs  # one read: another thread may replace it
    if cached[0] == handles:
        return cached[1]
    c_inputs = _c_array(handles)
    state.inputs = (handles, c_inputs)
    return c_inputs


def _settle(blocked: Any, tensors: Sequence[Any], why: tuple[Any, ...]) -> None:
    """A run found ``blocked`` (an input, the session or the stream) closed, or
    changed by another thread, after it counted itself: raise what the plain
    call raises (a non-tensor input's ``TypeError`` first, then the closed
    object's error), or wait until the other thread is done (the caller then
    tries again). Nothing of the run is in flight here."""
    check_inputs(tensors)
    with blocked._calling(*why):  # waits for an owner, or raises the closed error
        pass


def _context(gid: int, stream: Optional[int]) -> dict[str, object]:
    context: dict[str, object] = {"graph_id": gid}
    if stream is not None:
        context["stream"] = stream
    return context


def _no_graph(session: Any, api_name: str, gid: int, stream: Optional[int]) -> GraphState:
    state: GraphState = session._graph(api_name, gid, stream)  # GE_GRAPH_GRAPH_NOT_EXIST
    return state


def run_sync(session: Any, gid: int, tensors: Sequence[Tensor]) -> list[Tensor]:
    """``RunGraph`` of graph ``gid`` of ``session`` on ``tensors`` (checked here): the
    output tensors. The input C array is the graph's last one when the handles are
    the same (``GraphState.inputs``).

    In flight, as one batch (``ge._native._runs``): the inputs and the session,
    checked in this order (the order of the errors).
    """
    if type(tensors) is not list and type(tensors) is not tuple:
        check_inputs(tensors)  # TypeError, or a list or tuple subclass
    tid = _get_ident()
    batch = tuple(tensors)  # as they are now: a list may change under the run
    entry = (tid, (*batch, session))
    key = id(entry)
    outputs, n_out, taking = _run_outputs(  # owns what GE stores in the two
        _armed_get(_TensorHandle) or _owning_handle(), api.GeApiWrapper_Session_FreeTensorArray
    )
    blocked: Any = _CLEAR
    status = 0
    try:
        _runs[key] = entry  # everything in flight: one C store (an interrupt: before or after)
        handles: list[int] = []
        blocked = _blocker(batch, tid, handles, session, None)
        if blocked is _CLEAR:
            state = session._graphs._graphs.get(gid)
            if state is None:
                state = _no_graph(session, "RunGraph", gid, None)
            status = api.GeApiWrapper_Session_RunGraph(
                session._param, gid, _c_inputs(state, handles), len(handles), outputs, n_out
            )
    finally:
        _runs.pop(key, None)  # the leave: one C call, tolerant of a store never made
        if _native._waiting:
            _wake_waiters()
    if blocked is not _CLEAR:
        _settle(blocked, batch, ("RunGraph", gid, None) if blocked is session else ())
        return run_sync(session, gid, tensors)
    if status:
        raise ge_error("RunGraph", status, _context(gid, None))
    return _Tensor._adopt_outputs(outputs, n_out, taking, "RunGraph", gid, None, ())


def run_async(
    session: Any,
    gid: int,
    on: Optional[Stream],
    s: int,
    tensors: Sequence[Tensor],
) -> list[Tensor]:
    """``RunGraphWithStreamAsync`` of graph ``gid`` of ``session`` on the stream
    ``on`` (a :class:`Stream`, in flight, whose live handle is used; ``s`` is its
    handle read before, for errors) or the int handle ``s`` (``on`` None): the
    output tensors, valid once the stream synchronizes. ``tensors``: checked here;
    their C array is the graph's last one when the handles are the same.

    In flight, as one batch (``ge._native._runs``): the inputs, the session and
    the stream, checked in this order (the order of the errors).
    """
    api_name = "RunGraphWithStreamAsync"
    if type(tensors) is not list and type(tensors) is not tuple:
        check_inputs(tensors)  # TypeError, or a list or tuple subclass
    tid = _get_ident()
    batch = tuple(tensors)  # as they are now: a list may change under the run
    entry = (tid, (*batch, session, on))
    key = id(entry)
    outputs, n_out, taking = _run_outputs(  # owns what GE stores in the two
        _armed_get(_TensorHandle) or _owning_handle(), api.GeApiWrapper_Session_FreeTensorArray
    )
    also: Optional[Trampoline] = None
    trampoline: Optional[Trampoline] = None
    blocked: Any = _CLEAR
    status = 0
    errors: list[BaseException] = []
    try:
        _runs[key] = entry  # everything in flight: one C store (an interrupt: before or after)
        handles: list[int] = []
        blocked = _blocker(batch, tid, handles, session, on)
        if blocked is _CLEAR:
            if on is not None:  # in flight: no other thread destroys it under GE
                sp = on._param  # the typed handle, for C
                s = on._handle or 0  # the int, the allocator registry's key
            else:
                sp = StreamHandle(s)
            state = session._graphs._graphs.get(gid)
            if state is None:
                state = _no_graph(session, api_name, gid, s)
            registration = _current.get(s)
            if registration is None:
                trampoline = registry.ensure_default(session._param, session._session_id, s)
            else:
                trampoline = registration.trampoline
            if trampoline is not None and trampoline.owner == tid:
                _refuse(trampoline)
            c_inputs = _c_inputs(state, handles)
            if (
                trampoline is None
                and not _live_allocators
                and not _callback_local.__dict__.get("stack")
            ):
                # no Python allocator alive, not inside a callback: no callback
                # can run (one registered meanwhile reports to the stream)
                status = api.GeApiWrapper_Session_RunGraphWithStreamAsync(
                    session._param, gid, sp, c_inputs, len(handles), outputs, n_out
                )
            else:
                with collecting() as errors:
                    status = api.GeApiWrapper_Session_RunGraphWithStreamAsync(
                        session._param, gid, sp, c_inputs, len(handles), outputs, n_out
                    )
            # another thread may have changed the stream's allocator around the
            # run: GE took the memory from either (refuse releases inside both)
            now = _current.get(s)
            if now is not registration and now is not None and now.trampoline is not trampoline:
                also = now.trampoline
            if state.memory_from is None and (trampoline is not None or also is not None):
                state.memory_from = trampoline or also  # (GE's own: nothing to track)
                session._sync_release_locks()
    finally:
        _runs.pop(key, None)  # the leave: one C call, tolerant of a store never made
        if _native._waiting:
            _wake_waiters()
    if blocked is not _CLEAR:
        why = (api_name, gid, s) if blocked is session else ()
        _settle(blocked, batch, why)
        return run_async(session, gid, on, s, tensors)
    deferred = registry._deferred
    if deferred and s in deferred:
        errors.extend(registry.take_deferred(s))
    if also is None:
        locks: tuple[Trampoline, ...] = () if trampoline is None else (trampoline,)
    else:
        locks = (also,) if trampoline is None else (trampoline, also)
    result: list[Tensor] = []
    if not status:
        try:
            result = _Tensor._adopt_outputs(outputs, n_out, taking, api_name, gid, s, locks)
        except BaseException as exc:  # no array, a NULL output, an interrupt: with the rest
            errors.insert(0, exc)
    if status or errors:
        raise_with(ge_error(api_name, status, _context(gid, s)) if status else None, errors)
    return result


def _refuse(trampoline: Trampoline) -> None:
    from ge._allocator_bridge import refuse_reentry

    refuse_reentry(trampoline, "running a graph on its stream")


class GraphBinding:
    """One graph of a session bound to a stream, for running it many times.

    Made by :meth:`Session.bind <ge.session.Session.bind>` (in the spirit of
    onnxruntime's ``IOBinding``): the graph id and the stream are checked
    once; each run then does only what the ABI needs per call, with every
    guarantee of the plain calls (which share the same code, and the reuse of
    the input C array while the same input tensors come back).

    * :meth:`run`: ``RunGraph``, like ``session.run_graph(graph_id, inputs)``;
    * :meth:`run_async`: ``RunGraphWithStreamAsync`` on the bound stream, like
      ``session.run_graph_with_stream_async(graph_id, stream, inputs)``.

    A binding owns nothing native: it refers to its session and stream. Once
    the session is closed, the stream destroyed or the graph removed, a run
    raises the same error the plain call would (``GE_SESSION_NOT_EXIST``,
    ``GE_GRAPH_GRAPH_NOT_EXIST``, a destroyed stream's ``ValueError``) and
    never passes a dead handle to C. Safe to use from several threads.
    """

    __slots__ = ("_graph_id", "_session", "_stream", "_stream_handle")

    def __init__(self, session: Any, graph_id: int, stream: object = None) -> None:
        gid = checked_graph_id(graph_id)
        s: Optional[int] = None
        if stream is not None:
            s = ge_stream_handle(stream, _messages.RUN_STREAM)
        with session._calling("Bind", gid, s):
            session._graph("Bind", gid, s)
        self._session = session
        self._graph_id = gid
        self._stream: Optional[Stream] = stream if isinstance(stream, Stream) else None
        self._stream_handle = s

    @property
    def session(self) -> Any:
        """The session the graph belongs to."""
        return self._session

    @property
    def graph_id(self) -> int:
        """The bound graph's id."""
        return self._graph_id

    @property
    def stream(self) -> object:
        """The bound stream (a :class:`~ge.acl.Stream` or an int handle), or None."""
        return self._stream if self._stream is not None else self._stream_handle

    def run(self, inputs: Sequence[Tensor]) -> list[Tensor]:
        """Run the graph synchronously (``RunGraph``); the outputs are new host tensors."""
        return run_sync(self._session, self._graph_id, inputs)

    def run_async(self, inputs: Sequence[Tensor]) -> list[Tensor]:
        """Enqueue a run on the bound stream (``RunGraphWithStreamAsync``); the
        outputs are valid after the stream synchronizes. Needs a stream."""
        on = self._stream
        s = self._stream_handle if on is None else on._handle
        if s is None:
            if on is not None:
                on._raise_closed()  # destroyed: its error
            raise ValueError(
                "this binding has no stream: bind it with session.bind(graph_id, stream) "
                "to run it asynchronously"
            )
        return run_async(self._session, self._graph_id, on, s, inputs)

    def __repr__(self) -> str:
        stream = "" if self._stream_handle is None else f" stream=0x{self._stream_handle:x}"
        return (
            f"<ge.session.GraphBinding session={self._session.session_id} "
            f"graph={self._graph_id}{stream}>"
        )
