"""GE's global lifecycle: ``GeApi`` (CANN's spelling) and ``initialize``/``finalize``.

``finalize()`` first closes every live session (releasing its graphs and the
allocators it registered), unregisters every allocator still registered,
then calls ``GEFinalize``: GE itself unregisters nothing, and an allocator
still registered then would die in a static destructor at process exit,
calling into an interpreter that is gone. At interpreter exit, GE is
finalized the same way if the script did not do it, before the libraries go:
the live sessions are closed (and the allocators still registered
unregistered) in exit phase ``CLOSE_SESSIONS``, ``GEFinalize`` runs in
``FINALIZE_GE`` (``ge._lifecycle``), both before ACL's phases. GE's state (the
initialised flag, the sessions) is :mod:`ge._session_manager`'s.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Optional

from ge import _lifecycle, _messages
from ge._allocator_registry import registry
from ge._callback_errors import raise_first
from ge._checks import as_str_dict
from ge._ffi import api
from ge._ffi.marshal import COptions, check_ge, ge_error
from ge._native import in_call_here
from ge._session_manager import manager

__all__ = ["GeApi", "finalize", "initialize", "initialized", "is_initialized"]


def initialize(options: Optional[Mapping[str, str]] = None) -> None:
    """Initialise GE (``GEInitialize``) with string options such as ``ge.exec.deviceId``.

    Initialising twice is harmless, as in GE.
    """
    config = as_str_dict(options, _messages.GE_INIT_CONFIG)
    with manager.lock:
        manager.wait_for_finalize("ge.initialize()")
        if manager.initialized:
            return
        c_options = COptions(config)
        check_ge(api.GeApiWrapper_GEInitialize(*c_options.args), "GEInitialize")
        manager.initialized = True


def finalize() -> None:
    """Close every live session, unregister every allocator, then finalize GE.

    Harmless when GE is not initialised. Every session is closed even if
    closing one raises; the first such error is raised after ``GEFinalize``,
    else the first exception an allocator callback raised that was not
    reported yet (see ``ge._allocator_registry``); any others are its notes.

    No lock is held while it waits for the sessions' calls in flight or while
    allocator callbacks run. Called from inside itself (a callback of a
    session it closes, a signal handler) or from inside a call on a live
    session, it raises ``RuntimeError`` instead of waiting for itself; no
    session can be created meanwhile (``GE_SESSION_MANAGER_NOT_INIT``).
    """
    me = threading.get_ident()
    try:  # from before the finalizer is set: an interrupt never leaves it set
        with manager.lock:
            manager.wait_for_finalize("ge.finalize()")
            sessions = manager.live_sessions()
            for session in sessions:  # GE frees their graphs' memory: not from inside a callback
                session._refuse_inside_allocator()
                if in_call_here(session, me):
                    raise RuntimeError(
                        "ge.finalize() called from inside a call on a session it must close "
                        "(an allocator callback of that call?): it would wait for itself"
                    )
            manager.finalizer = me
        errors: list[BaseException] = []
        for session in sessions:  # no lock held: closing waits for their calls in flight
            try:
                session._close(finalizing=True)
            except BaseException as exc:  # finish first; raise_first prefers KeyboardInterrupt
                errors.append(exc)
        if manager.initialized:
            errors.extend(registry.unregister_all_before_finalize())
            status = api.GeApiWrapper_GEFinalize()
            if status == 0:
                manager.initialized = False
            else:  # raised first, the sessions' errors as its notes
                errors.insert(0, ge_error("GEFinalize", status, {}))
        # what allocators raised where no caller was waiting, and no session
        # call on their stream came since: the last chance to report it
        errors.extend(registry.take_all_deferred())
    finally:
        if manager.finalizer == me:  # first, a plain store: an interrupt cannot keep it set
            manager.finalizer = None
            with manager.lock:
                manager.done.notify_all()
    raise_first(errors)  # the others as its notes


def is_initialized() -> bool:
    """Whether GE is initialised (by this process, through ``ge``)."""
    return manager.initialized


@contextmanager
def initialized(options: Optional[Mapping[str, str]] = None) -> Iterator[None]:
    """``initialize(options)`` for the duration of a ``with`` block, then ``finalize()``."""
    initialize(options)
    try:
        yield
    finally:
        finalize()


class GeApi:
    """GE's global API as CANN's package spells it: ``GeApi.ge_initialize(config)``,
    ``GeApi.ge_finalize()`` (class methods, also callable on an instance)."""

    def __init__(self) -> None:
        """Nothing to set up: the class methods do the work."""

    @classmethod
    def ge_initialize(cls, config: Mapping[str, str]) -> int:
        """Initialise GE with ``config`` (a non-empty dict of str to str); returns 0.

        ``TypeError`` for anything but a dict, or an empty one (as CANN's
        package); a failure of GE raises ``ge.error.GeError``.
        """
        if not isinstance(config, Mapping):
            raise TypeError(_messages.GE_INIT_CONFIG)
        checked = as_str_dict(config, _messages.GE_INIT_CONFIG)
        if not checked:
            raise TypeError(_messages.GE_INIT_CONFIG_EMPTY)
        initialize(checked)
        return 0

    @classmethod
    def ge_finalize(cls) -> int:
        """Close every session, release every allocator and finalize GE; returns 0."""
        finalize()
        return 0


def _close_sessions_at_exit() -> None:
    """Exit phase ``CLOSE_SESSIONS``: close every live session, then (GE being
    initialised) unregister the allocators still registered."""
    for session in manager.live_sessions():
        with contextlib.suppress(BaseException):  # nobody to report to; close the others
            session._close(finalizing=True)
    if manager.initialized:
        registry.unregister_all_before_finalize()


def _finalize_at_exit() -> None:
    """Exit phase ``FINALIZE_GE``: :func:`finalize` (``GEFinalize``), if initialised."""
    if manager.initialized:
        finalize()


_lifecycle.at_exit(_lifecycle.ExitPhase.CLOSE_SESSIONS, _close_sessions_at_exit)
_lifecycle.at_exit(_lifecycle.ExitPhase.FINALIZE_GE, _finalize_at_exit)
