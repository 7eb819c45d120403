"""ACL's initialisation: ``init``, ``finalize``, ``is_initialized``, ``version``.

The initialised flag and the live streams and buffers ``finalize`` releases
are :mod:`ge._acl_state`'s. At exit, ``aclFinalize`` runs in the last exit
phase (``FINALIZE_ACL``), after GE is finalized and the streams and buffers
are released.
"""

from __future__ import annotations

import ctypes
import os
import threading
from typing import Optional, Union

from ge import _ffi, _lifecycle
from ge._acl_state import state
from ge._checks import fspath_bytes
from ge._ffi import api
from ge._ffi.marshal import check_acl
from ge._ffi.status import ACL_ERROR_REPEAT_FINALIZE, ACL_ERROR_REPEAT_INITIALIZE

__all__ = ["finalize", "init", "is_initialized", "version"]


def init(config_path: Union[str, os.PathLike[str], None] = None) -> None:
    """Initialise ACL (``aclInit``); a no-op when already initialised.

    ``config_path`` names ACL's JSON configuration file (None: defaults).
    ACL initialised by other code (``ACL_ERROR_REPEAT_INITIALIZE``) counts as
    success.
    """
    raw = (
        None if config_path is None else fspath_bytes(config_path, "config_path", allow_bytes=True)
    )
    with state.lock:
        _wait_for_finalize("ge.acl.init()")
        if state.initialized:
            return
        code = api.aclInit(raw)
        if code != ACL_ERROR_REPEAT_INITIALIZE:
            context = {} if raw is None else {"config_path": os.fsdecode(raw)}
            check_acl(code, "aclInit", context)
        state.initialized = True


def finalize() -> None:
    """Release every live :class:`~ge.acl.Stream` and buffer, then ``aclFinalize``.

    A no-op unless :func:`init` ran since the last finalize. Streams are
    destroyed first (their queued work runs), then buffers are freed; errors
    while releasing them are ignored (their handles are gone either way).
    After this, using one of them raises ``ValueError``.

    No lock is held while it waits for the calls in flight on the streams
    and buffers, or while their queued work runs. Called again from inside
    itself (a callback of a queue it drains, a signal handler), or from
    inside a call on an object it must release, it raises ``RuntimeError``
    instead of waiting for itself; called on another thread meanwhile, it
    waits for the first one to finish.
    """
    me = threading.get_ident()
    try:  # from before the finalizer is set: an interrupt never leaves it set
        with state.lock:
            _wait_for_finalize("ge.acl.finalize()")
            if not state.initialized:
                return
            state.finalizer = me
        state.release_all()
        with state.lock:
            code = api.aclFinalize()
            if code != ACL_ERROR_REPEAT_FINALIZE:
                check_acl(code, "aclFinalize")
            state.finalized()
    finally:
        if state.finalizer == me:  # first, a plain store: an interrupt cannot keep it set
            state.finalizer = None
            with state.lock:
                state.done.notify_all()


def _wait_for_finalize(what: str) -> None:
    """With ``state.lock`` held: wait until no other thread is in ``finalize()``;
    ``RuntimeError`` when this thread is (re-entry would wait for itself)."""
    _lifecycle.wait_for_finalizer(state, state.done, what, "ge.acl.finalize()")


def is_initialized() -> bool:
    """Whether :func:`init` succeeded and :func:`finalize` has not run since."""
    return state.initialized


def version() -> Optional[tuple[int, int, int]]:
    """ACL's ``(major, minor, patch)``, or None when the library lacks ``aclrtGetVersion``."""
    if not _ffi.has("aclrtGetVersion"):
        api.aclGetRecentErrMsg  # noqa: B018 - raises LibraryNotFoundError without a library
        return None
    major, minor, patch = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
    code = api.aclrtGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    check_acl(code, "aclrtGetVersion")
    return int(major.value), int(minor.value), int(patch.value)


def _finalize_at_exit() -> None:
    if state.initialized:
        finalize()


_lifecycle.at_exit(_lifecycle.ExitPhase.FINALIZE_ACL, _finalize_at_exit)
