"""The process-wide registry of GE's stream allocators, and the GE calls that change it.

GE keeps one allocator per stream, process-wide. The registry records which
session registered the current allocator of each stream (a Python allocator
through its :class:`~ge._allocator_bridge.Trampoline`, or GE's built-in
default), so that closing a session unregisters only what it still owns, and
``ge.finalize()`` unregisters what is still registered before ``GEFinalize``
(an allocator alive then dies in a static destructor at process exit, calling
into a dead interpreter). It also keeps every live trampoline until GE's
``OnDestroy`` and the exceptions of callbacks that no caller was waiting for.

Sessions and ``ge.finalize()`` use its API, never its tables:

* :meth:`Registry.ensure_default`: before a run on a stream, the stream's
  trampoline, registering GE's default allocator when it has none;
* :meth:`Registry.register` / :meth:`Registry.unregister`: a session's
  ``register_external_allocator`` / ``unregister_external_allocator``;
* :meth:`Registry.release_owned`: a session that closes unregisters what it owns;
* :meth:`Registry.unregister_all_before_finalize`: ``ge.finalize()``;
* :meth:`Registry.trampoline_of`, :meth:`Registry.take_deferred`,
  :meth:`Registry.take_all_deferred`, :meth:`Registry.bury`.

The lock (``lock``, re-entrant) is held around each GE call that changes the
registration of a stream and the table update that goes with it; GE calls no
user code then (only ``OnDestroy``, which takes no lock).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Optional

from ge import _lifecycle
from ge._allocator_bridge import Trampoline
from ge._callback_errors import idle_work, live_trampolines, report, run_idle_work
from ge._ffi import api, made
from ge._ffi.handles import SessionHandle, StreamHandle
from ge._ffi.marshal import check_ge, ge_error
from ge.allocator.allocator import Allocator

__all__ = ["Registration", "Registry", "registry"]

_get_ident = threading.get_ident


@dataclass
class Registration:
    """What a session registered on a stream: a trampoline, or GE's default (None)."""

    session_id: int
    trampoline: Optional[Trampoline]


class Registry:
    """Process-wide: each stream's current registration, live trampolines,
    and exceptions from callbacks that no caller was waiting for."""

    def __init__(self, alive: Optional[dict[int, Trampoline]] = None) -> None:
        """``alive``: the table of live trampolines to keep (a new one if None)."""
        self.lock = threading.RLock()
        self.current: dict[int, Registration] = {}
        self.alive: dict[int, Trampoline] = {} if alive is None else alive
        self._graveyard: list[Trampoline] = []
        self._deferred: dict[int, list[BaseException]] = {}
        self._last_stream = (0, StreamHandle(0))
        """The stream of the last registration or unregistration and its typed
        handle (made again only for another stream: they come in pairs)."""
        self._in_call: Optional[tuple[int, list[BaseException]]] = None
        """While :meth:`register`/:meth:`unregister` make their GE call (under
        ``lock``): their thread and where its OnDestroy failures go."""

    # -- lookups (GIL-atomic reads, no lock) ------------------------------------

    def trampoline_of(self, stream: int) -> Optional[Trampoline]:
        """The trampoline of the Python allocator registered on ``stream``, if any."""
        registration = self.current.get(stream)
        return None if registration is None else registration.trampoline

    def owned_by(self, session_id: int) -> list[int]:
        """Streams whose current registration was made by this session."""
        with self.lock:
            return [s for s, reg in self.current.items() if reg.session_id == session_id]

    def streams(self) -> list[int]:
        """Every stream with a registration of this process."""
        with self.lock:
            return list(self.current)

    # -- registering and unregistering (GE calls) ----------------------------------

    def ensure_default(self, session: Any, session_id: int, stream: int) -> Optional[Trampoline]:
        """Before a run on ``stream``: the trampoline of its Python allocator (None
        for GE's own), after registering GE's default allocator through the session
        ``session`` when the stream has none (GE has no default otherwise).
        ``GeError`` when that registration fails."""
        registration = self.current.get(stream)
        if registration is None:
            with self.lock:
                on = StreamHandle(stream)
                if stream not in self.current and not api.GeApiWrapper_HasExternalAllocator(on):
                    # recorded first: an interrupt right after the C call cannot leave
                    # GE's allocator registered with no record to unregister it by
                    self.current[stream] = Registration(session_id, None)
                    status = api.GeApiWrapper_Session_RegisterDefaultAllocator(session, on)
                    if status:
                        self.current.pop(stream, None)
                        check_ge(status, "RegisterDefaultAllocator", {"stream": stream})
                registration = self.current.get(stream)
        return None if registration is None else registration.trampoline

    def register(
        self, session: Any, session_id: int, stream: int, allocator: Allocator
    ) -> tuple[int, list[BaseException]]:
        """``RegisterExternalAllocator`` of ``allocator`` on ``stream`` through the
        session ``session``: GE's status, and what callbacks raised meanwhile
        (GE's ``OnDestroy`` of the allocator it replaced, or of this one if it
        refused it: see :meth:`on_destroy_failed`)."""
        trampoline = Trampoline(allocator, stream, self)  # callbacks from the pool
        thunks: Any = trampoline.thunks
        self.alive[trampoline.token] = trampoline  # before GE can call it
        errors: list[BaseException] = []
        status = self._change(
            api.GeApiWrapper_Session_RegisterExternalAllocator,
            session,
            stream,
            errors,
            Registration(session_id, trampoline),
            (
                thunks.c_malloc,
                thunks.c_free,
                thunks.c_get_addr,
                thunks.c_on_destroy,
                trampoline.token,
            ),
        )
        return int(status), errors

    def unregister(self, session: Any, stream: int) -> list[BaseException]:
        """``UnregisterExternalAllocator`` of ``stream`` through the session
        ``session``: what GE (first) and the callbacks (OnDestroy) raised."""
        errors: list[BaseException] = []
        status = self._change(
            api.GeApiWrapper_Session_UnregisterExternalAllocator, session, stream, errors, None
        )
        if status:
            errors.insert(0, ge_error("UnregisterExternalAllocator", status, {"stream": stream}))
        return errors

    def _change(
        self,
        function: Any,
        session: Any,
        stream: int,
        errors: list[BaseException],
        registration: Optional[Registration],
        extra: tuple[Any, ...] = (),
    ) -> int:
        """GE's call ``function(session, stream, *extra)`` that changes the allocator
        of ``stream`` (its typed handle made again only for another stream: the
        calls come in pairs), and the table update that goes with it, under the
        lock; ``_in_call`` names this thread and ``errors`` meanwhile (see
        :meth:`on_destroy_failed`). Success records ``registration`` (None: the
        stream has none now); a failed registration discards its trampoline.
        Then buries the retired trampolines and runs the idle work (a deferred
        release, whose ``FreeFn`` is user code: not under the lock). GE's status."""
        last = self._last_stream
        if last[0] != stream:
            last = self._last_stream = (stream, StreamHandle(stream))
        on = last[1]
        with self.lock:
            outer = self._in_call
            try:
                self._in_call = (_get_ident(), errors)
                status: int = function(session, on, *extra)
            finally:
                self._in_call = outer
            if not status:
                if registration is None:
                    self.current.pop(stream, None)
                else:
                    self.current[stream] = registration
            elif registration is not None and registration.trampoline is not None:
                self._discard(registration.trampoline)
        if self._graveyard:
            self.bury()
        if idle_work:
            run_idle_work()
        return status

    def on_destroy_failed(self, trampoline: Trampoline, exc: BaseException) -> None:
        """OnDestroy raised on entry (see ``ge._allocator_bridge._unraisable``): GE
        dropped the allocator all the same, so the trampoline is retired, and the
        exception goes to the call that caused it.

        The only callback GE runs inside ``Register``/``Unregister`` is OnDestroy
        (package code, which fails only on entry), and it runs on the calling
        thread: while :meth:`register`/:meth:`unregister` hold the lock around
        their GE call they name their thread and error list in ``_in_call``
        (cheaper than a :func:`~ge._callback_errors.collecting` block), and the
        failure goes there; elsewhere (an output's free, a graph's removal) it is
        reported like any callback's."""
        in_call = self._in_call
        if in_call is not None and in_call[0] == _get_ident():
            in_call[1].append(exc)
        else:
            report(exc, trampoline._defer)
        if not trampoline.destroyed:
            trampoline.destroyed = True
            self.retire(trampoline)

    def release_owned(self, session: Any, session_id: int) -> tuple[list[int], list[BaseException]]:
        """Unregister every allocator the session ``session_id`` (handle ``session``)
        registered and is still current, before the session is destroyed: the
        streams it owned, and what GE and the callbacks raised."""
        owned = self.owned_by(session_id)
        errors: list[BaseException] = []
        for stream in owned:
            errors.extend(self.unregister(session, stream))
        return owned, errors

    def unregister_all_before_finalize(self) -> list[BaseException]:
        """Unregister what is still registered (a session's unregistration failed,
        say), through a session made for it (GE's map is process-wide: any session
        can): what ``ge.finalize()`` does before ``GEFinalize``."""
        streams = self.streams()
        if not streams:
            return []
        session = made.GeApiWrapper_Session_CreateSession()
        if not session:
            return [ge_error("CreateSession", None, {})]
        errors: list[BaseException] = []
        try:
            for stream in streams:
                errors.extend(self.unregister(session, stream))
        finally:
            session.__class__ = SessionHandle  # disarmed (ge._ffi.owned): destroyed here
            api.GeApiWrapper_Session_DestroySession(session)
        return errors

    # -- trampolines ------------------------------------------------------------

    def _discard(self, trampoline: Trampoline) -> None:
        """A registration that failed: GE never kept the allocator (its OnDestroy,
        if GE made it, already came inside the call and retired it), so its
        callbacks go back to the pool now."""
        if not trampoline.destroyed:
            self.alive.pop(trampoline.token, None)
            trampoline.release()

    def retire(self, trampoline: Trampoline) -> None:
        """OnDestroy: GE is done with it. Called from inside the callback, so the
        callbacks go to a graveyard, released later outside any callback.
        Only GIL-atomic operations here: no lock, whatever thread this is."""
        self.alive.pop(trampoline.token, None)
        self._graveyard.append(trampoline)

    def bury(self) -> None:
        """Release retired trampolines (their leftover blocks back to their
        allocators, their callbacks back to the pool); call only from Python,
        never from a callback (nor with a lock held: it may run an allocator's
        ``free``). Each retired trampoline is taken by one thread only
        (``list.pop`` is atomic), so its callbacks go back to the pool once."""
        graveyard = self._graveyard
        while graveyard:
            try:
                trampoline = graveyard.pop()
            except IndexError:  # another thread took the last one
                return
            if trampoline.blocks:
                trampoline.free_leftovers()
            trampoline.release()

    # -- exceptions no caller was waiting for ------------------------------------------

    def defer(self, stream: int, exc: BaseException) -> None:
        """Keep a callback's exception for the next session call on ``stream``."""
        self._deferred.setdefault(stream, []).append(exc)

    def take_deferred(self, stream: int) -> list[BaseException]:
        """The exceptions kept for ``stream``, now forgotten."""
        return self._deferred.pop(stream, [])

    def take_all_deferred(self) -> list[BaseException]:
        """The exceptions kept for every stream, now forgotten."""
        errors: list[BaseException] = []
        for stream in list(self._deferred):
            errors.extend(self.take_deferred(stream))
        return errors

    def forget(self) -> None:
        """The native side was wiped (tests): no callback will ever come."""
        with self.lock:
            self.current.clear()
            self.alive.clear()
            self._deferred.clear()
            del self._graveyard[:]  # no free: the blocks died with the native state


registry = Registry(live_trampolines)
"""The process-wide allocator registry."""

_lifecycle.on_forget(registry.forget)


def _after_fork_in_child() -> None:
    """A parent thread may have held the lock; the parent's registrations are gone."""
    registry.lock = threading.RLock()
    registry.forget()


def _inside_callback() -> bool:
    """Whether a thread is inside MallocFn, GetAddrFn or FreeFn now (exit waits)."""
    return any(t.owner is not None for t in list(registry.alive.values()))


_lifecycle.on_fork(_after_fork_in_child)
_lifecycle.on_busy(_inside_callback)
