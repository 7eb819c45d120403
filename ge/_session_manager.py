"""GE's process state: the session manager, after GE's ``session_manager.cc``.

The counterpart of :mod:`ge._acl_state` (ACL's state). It holds the
initialised flag that follows ``GEInitialize``/``GEFinalize`` (set by
``ge.ge_global``), hands out Python session ids in increasing order, and maps
each id to its live session (weakly: a session nobody references is closed by
its finalizer). Everything is guarded by one lock and safe from many threads.

The lock is a leaf but for ``CreateSession`` (which runs no callback): no
thread waits for a call in flight or runs user code while holding it.
``finalizer`` is the thread inside ``ge.finalize()``: while it is set no
session is created and ``initialize``/``finalize`` wait on ``done`` (a call
from inside that finalize, a callback or a signal handler, is refused).
"""

from __future__ import annotations

import threading
import weakref
from typing import Optional, Protocol

from ge import _lifecycle


class ManagedSession(Protocol):
    """What the manager and ``ge.finalize()`` need of a ``ge.Session``."""

    _calls: list[int]

    def _close(self, finalizing: bool) -> None:
        """Close the session (``finalizing``: ``ge.finalize()`` closes it)."""

    def _refuse_inside_allocator(self) -> None:
        """Raise if closing it now would deadlock on an allocator's lock."""

    def _forget(self) -> None:
        """The native side was wiped: drop the handle without calling C."""


class SessionManager:
    """Initialised flag, session ids and the id -> live session map."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.initialized = False
        self._last_id = 0
        self._sessions: weakref.WeakValueDictionary[int, ManagedSession] = (
            weakref.WeakValueDictionary()
        )
        self.finalizer: Optional[int] = None
        """The thread inside ``ge.finalize()``, if any."""
        self.done = threading.Condition(self.lock)
        """Notified when ``ge.finalize()`` is over."""

    def wait_for_finalize(self, what: str) -> None:
        """With ``lock`` held: wait until no other thread is in ``ge.finalize()``.

        ``RuntimeError`` when this thread is (it would wait for itself), or when
        this thread is inside a callback (that finalize may wait for its call).
        """
        _lifecycle.wait_for_finalizer(self, self.done, what, "ge.finalize()")

    def add(self, session: ManagedSession) -> int:
        """Register a new live session and return its id."""
        with self.lock:
            self._last_id += 1
            self._sessions[self._last_id] = session
            return self._last_id

    def remove(self, session_id: int) -> None:
        """Forget a session that was closed."""
        with self.lock:
            self._sessions.pop(session_id, None)

    def has_session(self, session_id: int) -> bool:
        """Whether a live session has this id."""
        with self.lock:
            return session_id in self._sessions

    def live_sessions(self) -> list[ManagedSession]:
        """The live sessions, oldest first."""
        with self.lock:
            # items() skips a session whose weak reference died meanwhile (the
            # collector, on any thread); indexing by a listed key could fail
            items = list(self._sessions.items())
        return [session for _, session in sorted(items, key=lambda item: item[0])]

    def after_fork(self) -> None:
        """In a forked child: new locks (a parent thread may have held them), then forget."""
        self.lock = threading.RLock()
        self.done = threading.Condition(self.lock)
        self.finalizer = None
        self.forget()

    def forget(self) -> None:
        """The native side was wiped (tests): mark every session closed, touch no C."""
        with self.lock:
            sessions = list(self._sessions.values())
            self._sessions.clear()
            self.initialized = False
        for session in sessions:
            session._forget()


manager = SessionManager()
"""The one session manager of the process."""

_lifecycle.on_forget(manager.forget)
_lifecycle.on_fork(manager.after_fork)
