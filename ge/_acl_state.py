"""ACL's process state: the initialised flag and every live stream and buffer.

The counterpart of :mod:`ge._session_manager` (GE's state). ``ge.acl``'s
``init``/``finalize`` set the flag; every :class:`~ge.acl.Stream` and buffer
is tracked here from its creation to its release, so that ``finalize()`` and
process exit can release what the script left alive (streams first, which
runs their queued work, then buffers), and so that a copy given a stream as an
``int`` handle finds the :class:`~ge.acl.Stream` that owns it (which keeps the
copy's host memory alive). Importing this module calls no C function.

One lock, ``lock`` (re-entrant), guards the flag and the tables, and
``aclInit``/``aclFinalize`` (which run no callback). It is a leaf: nothing
waits while holding it, no user code runs under it (``finalize`` releases
the objects with no lock held, see ``docs/ARCHITECTURE.md``, "Locks"), so a
stream's or buffer's finalizer may take it on any thread. ``finalizer`` is
the thread inside ``ge.acl.finalize()``, so that a second call from inside
it (a callback, a signal handler) is refused instead of waiting for itself.
"""

from __future__ import annotations

import contextlib
import threading
import weakref
from typing import Any, Optional, Protocol

from ge import _lifecycle
from ge._native import NativeObject, in_call_here


class Releasable(Protocol):
    """What this module needs of a stream or buffer (a ``NativeObject``)."""

    _calls: list[int]
    _owner: Optional[int]

    def _detach(self) -> Optional[int]: ...

    def _released(self) -> None: ...

    _param: Any

    def _release(self, handle: Any) -> Optional[list[BaseException]]: ...


class TrackedStream(Releasable, Protocol):
    """What this module needs of a stream (``ge.acl.Stream``)."""

    def _forget_queue(self) -> None:
        """Drop the references kept for queued work (the stream is gone)."""


class AclState:
    """The initialised flag, the live streams and buffers, and the stream handle ->
    owning stream map, safe from many threads."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.initialized = False
        self._streams: weakref.WeakSet[TrackedStream] = weakref.WeakSet()
        self._buffers: weakref.WeakSet[NativeObject] = weakref.WeakSet()  # has _calls
        self._by_handle: dict[int, weakref.ReferenceType[TrackedStream]] = {}
        self._orphans: list[object] = []
        """Objects of copies on foreign streams whose synchronize failed (may still be read)."""
        self.finalizer: Optional[int] = None
        """The thread inside ``ge.acl.finalize()``, if any."""
        self.done = threading.Condition(self.lock)
        """Notified when ``ge.acl.finalize()`` is over."""

    def track_stream(self, stream: TrackedStream, handle: int) -> None:
        """A new stream, owning ``handle``."""
        with self.lock:
            self._streams.add(stream)
            self._by_handle[handle] = weakref.ref(stream)

    def track_buffer(self, buffer: NativeObject) -> None:
        """A new device or host buffer."""
        with self.lock:
            self._buffers.add(buffer)

    def untrack_stream(self, stream: TrackedStream, handle: int) -> None:
        """``stream`` destroyed its stream ``handle``."""
        with self.lock:
            self._streams.discard(stream)
            ref = self._by_handle.get(handle)
            if ref is not None and ref() in (stream, None):
                del self._by_handle[handle]

    def untrack_buffer(self, buffer: NativeObject) -> None:
        """``buffer`` freed its block."""
        with self.lock:
            self._buffers.discard(buffer)

    def stream_owner(self, handle: int) -> Optional[object]:
        """The live stream object that owns the stream ``handle``, if any."""
        ref = self._by_handle.get(handle)  # GIL-atomic: no lock (a copy in flight calls this)
        return ref() if ref is not None else None

    def keep_orphans(self, objects: tuple[object, ...]) -> None:
        """Keep the objects of a copy that may still run (until ``finalize``)."""
        with self.lock:
            self._orphans.extend(objects)

    def has_live_objects(self) -> bool:
        """Whether a stream or buffer is still alive."""
        return bool(len(self._streams) or len(self._buffers))

    def release_all(self) -> None:
        """Destroy every live stream (draining its queue), then free every buffer;
        errors are dropped (the handles are gone either way)."""
        with self.lock:
            streams = list(self._streams)
            buffers = list(self._buffers)
        me = threading.get_ident()
        objects: list[Releasable] = [*streams, *buffers]
        if any(in_call_here(obj, me) for obj in objects):
            raise RuntimeError(
                "ge.acl.finalize() called from inside a call on a stream or buffer it "
                "must release (a callback of that call?): it would wait for itself"
            )
        for stream in streams:  # no lock held: this waits for their calls in flight
            if _release_dropping_errors(stream):
                stream._forget_queue()
        for buffer in buffers:
            _release_dropping_errors(buffer)

    def finalized(self) -> None:
        """``aclFinalize`` succeeded: not initialised, no copy can run any more."""
        with self.lock:
            self.initialized = False
            self._orphans.clear()

    def after_fork(self) -> None:
        """In a forked child: new locks (a parent thread may have held them), then forget."""
        self.lock = threading.RLock()
        self.done = threading.Condition(self.lock)
        self.finalizer = None
        self.forget()

    def forget(self) -> None:
        """The native state was wiped: drop every handle without calling C."""
        with self.lock:
            self.initialized = False
            streams = list(self._streams)
            buffers = list(self._buffers)
            self._streams.clear()
            self._buffers.clear()
            self._by_handle.clear()
            self._orphans.clear()
        for stream in streams:
            stream._detach()
            stream._forget_queue()
        for buffer in buffers:
            buffer._detach()


def _release_dropping_errors(obj: Releasable) -> bool:
    """Take the handle of ``obj`` once no call uses it and release it, dropping what
    the release raises; False when it was released already."""
    if obj._detach() is None:
        return False
    try:
        with contextlib.suppress(Exception):
            obj._release(obj._param)  # the typed handle (ge._ffi.handles)
    finally:
        obj._owner = None  # the turn ends with a plain store (a signal cannot skip it)
        obj._released()
    return True


state = AclState()
"""ACL's state in this process."""


def _release_at_exit() -> None:
    if state.initialized or state.has_live_objects():
        state.release_all()


_lifecycle.on_forget(state.forget)
_lifecycle.on_fork(state.after_fork)
_lifecycle.at_exit(_lifecycle.ExitPhase.RELEASE_ACL_OBJECTS, _release_at_exit)
