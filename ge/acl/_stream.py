"""Streams: :class:`Stream`, and the one parser of a stream argument.

A stream argument is a :class:`Stream` or an ``int`` handle (CANN's spelling,
e.g. a stream from pyACL's ``acl.rt.create_stream()``): :data:`StreamLike`.
Two calls take one, with two rules:

* ACL's copies (:func:`copy_stream`): also ``None`` (a synchronous copy)
  and 0 (ACL's default stream of the thread's device);
* GE's session calls (:func:`ge_stream_handle`): never ``None`` nor 0, as GE
  has no default stream; the ``TypeError`` text is CANN's, which the caller
  passes (it differs between CANN's calls).
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Optional, Union

import numpy as np

from ge import _callback_errors, _native
from ge._acl_state import state
from ge._checks import SIZE_T_MAX, as_int
from ge._ffi import api, out_param
from ge._ffi.errors import AclError
from ge._ffi.handles import StreamHandle
from ge._ffi.marshal import acl_error, check_acl
from ge._native import NativeObject

__all__ = [
    "CREATE_A_STREAM",
    "Stream",
    "StreamLike",
    "check_copy_stream",
    "copy_stream",
    "ge_stream_handle",
]

CREATE_A_STREAM = (
    "create a stream with ge.acl.Stream() (or pyACL's aclrtCreateStream): GE has no default stream"
)


class Stream(NativeObject):
    """An ACL stream (``aclrtCreateStream``): work queued on it runs in order.

    ``handle``/``int(stream)`` is the native handle. A context manager that
    destroys the stream on exit. It keeps the host arrays and buffers of
    queued copies alive until :meth:`synchronize` succeeds or it is
    destroyed.
    """

    __slots__ = ("_keepalive", "_lock")

    _kind: ClassVar[str] = "Stream"
    _closed_word: ClassVar[str] = "destroyed"
    _reopen_if_release_fails: ClassVar[bool] = True
    _handle_type: ClassVar[Optional[type]] = StreamHandle

    _keepalive: list[object]

    def __init__(self) -> None:
        self._keepalive = []
        self._lock = threading.RLock()
        out = out_param(StreamHandle)  # freed in C if an interrupt drops it (ge._ffi.owned)
        code = api.aclrtCreateStream(ctypes.byref(out))
        if code or not out.value:
            out.__class__ = StreamHandle  # nothing to free
            check_acl(code, "aclrtCreateStream")
            raise RuntimeError("aclrtCreateStream succeeded but returned a NULL stream")
        super().__init__(out)
        state.track_stream(self, out.value)

    def synchronize(self) -> None:
        """Wait until all work queued on this stream has run (``aclrtSynchronizeStream``).

        Raises what the allocator callbacks that the finished work triggers
        (a ``FreeFn`` of a freed output) raise.
        """
        tid = _get_ident()
        entry = (tid, (self,))
        key = id(entry)
        retry = False
        errors: Optional[list[BaseException]]
        try:  # in flight as a batch of one (ge._native._runs): on every async run's path
            _runs[key] = entry  # one C store: an interrupt lands before or after it
            owner = self._owner
            if self._handle is None or (owner is not None and owner != tid):
                retry = True  # destroyed, or changed by another thread: _enter() says which
            else:
                handle = self._param
                keepalive = self._keepalive
                pending = len(keepalive)  # what was queued before (one atomic read)
                if _live_allocators or _callback_local.__dict__.get("stack"):
                    with _callback_errors.collecting() as errors:
                        code = api.aclrtSynchronizeStream(handle)
                else:  # no Python allocator alive: no callback can run (one registered
                    errors = None  # meanwhile reports to the stream's next run)
                    code = api.aclrtSynchronizeStream(handle)
                if not code and pending:
                    with self._lock:
                        del keepalive[:pending]
        finally:
            _runs.pop(key, None)  # the leave: one C call, tolerant of a store never made
            if _native._waiting:
                _wake_waiters()
        if retry:
            with self._calling():  # waits for the owner, or raises the destroyed error
                pass
            return self.synchronize()
        if code or errors:
            _callback_errors.raise_with(
                _failure(code, "aclrtSynchronizeStream", {"stream": handle.value}), errors or []
            )

    def destroy(self) -> None:
        """Destroy the stream after running its queued work; harmless when destroyed.

        Waits for calls in flight on it; raises what allocator callbacks raise
        while the queue drains. When ``aclrtDestroyStream`` fails the stream
        stays usable and ``destroy()`` can be retried.
        """
        self.close()

    def _release(self, handle: Any) -> list[BaseException]:
        with _callback_errors.collecting() as errors:
            handle.__class__ = StreamHandle  # disarmed (ge._ffi.owned), no call before C's
            code = api.aclrtDestroyStream(handle)
        if code:  # still alive: close() gives the handle back
            _callback_errors.raise_with(
                _failure(code, "aclrtDestroyStream", {"stream": handle.value}), errors
            )
        state.untrack_stream(self, handle.value)
        self._forget_queue()
        return errors

    def _forget_queue(self) -> None:
        """Drop what queued copies kept alive: the queue ran, or is gone."""
        with self._lock:
            self._keepalive.clear()

    @contextmanager
    def _enqueuing(self, *objs: object) -> Iterator[Any]:
        """Enqueue work on the stream in the block; keep ``objs`` alive if it succeeds.

        Yields the handle. Holding the stream's lock around the enqueue makes
        a concurrent :meth:`synchronize` either include the new work or keep
        ``objs``. For other modules (the session's async run).
        """
        with self._calling() as handle, self._lock:
            yield handle
            self._keepalive.extend(objs)

    def _keep_alive(self, *objs: object) -> None:
        """Keep ``objs`` alive until the next successful synchronize or the destroy."""
        with self._calling(), self._lock:
            self._keepalive.extend(objs)

    def __int__(self) -> int:
        return self.handle

    def __repr__(self) -> str:
        handle = self._handle
        return "<Stream destroyed>" if handle is None else f"<Stream {handle:#x}>"


StreamLike = Union[Stream, int]
"""A :class:`Stream` or a raw stream handle (an ``int``)."""


_live_allocators = _callback_errors.live_trampolines
"""Every live Python allocator trampoline (read without a lock)."""

_callback_local = _callback_errors._local
"""The callback-error stack's thread-local: ``inside_call()`` is
``_callback_local.__dict__.get("stack")`` without the call (and without
``getattr``'s default, which costs an ``AttributeError``, about 0.45 µs, on a
thread that never collected)."""

_get_ident = threading.get_ident
_runs = _native._runs
_wake_waiters = _native.wake_waiters


def _failure(code: int, api_name: str, context: dict[str, object]) -> Optional[AclError]:
    """The ``AclError`` of a failed call (ACL's message read once), or None on success."""
    return acl_error(api_name, code, context) if code else None


def check_copy_stream(stream: object) -> None:
    """``TypeError``/``ValueError`` unless ``stream`` is a live Stream, a handle
    (0: ACL's default stream) or None (a synchronous copy)."""
    if stream is None:
        return
    if isinstance(stream, Stream):
        stream.handle  # noqa: B018 - refuse a destroyed stream
        return
    if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, (int, np.integer)):
        raise TypeError(
            f"stream must be a Stream, an int handle or None, not {type(stream).__name__}"
        )
    if not 0 <= stream <= SIZE_T_MAX:
        raise ValueError(f"not a stream handle: {stream}")


def copy_stream(stream: object) -> tuple[int, Optional[Stream]]:
    """``(handle, owning Stream or None)`` of a copy's stream argument that is not
    None (checked as :func:`check_copy_stream` does)."""
    check_copy_stream(stream)
    if isinstance(stream, Stream):
        return stream.handle, stream
    handle = as_int(stream, "stream")
    owner = state.stream_owner(handle)
    return handle, owner if isinstance(owner, Stream) else None


def ge_stream_handle(stream: object, type_message: str) -> int:
    """A stream argument of a GE call as its handle: a :class:`Stream`, or an
    ``int`` handle. Never 0 (GE refuses a NULL stream) nor None."""
    if isinstance(stream, Stream):
        return stream.handle
    if stream is None:
        raise TypeError(f"{type_message}, not None: {CREATE_A_STREAM}")
    handle = as_int(stream, "stream", type_message)
    if handle == 0:
        raise ValueError(f"stream 0 is not a stream: {CREATE_A_STREAM}")
    if not 0 < handle <= SIZE_T_MAX:
        raise ValueError(f"not a stream handle: {handle}")
    return handle
