"""GE's global lifecycle: ``initialize`` / ``finalize`` and the ``GeApi`` class.

``finalize()`` first closes every live session (releasing its graphs and
allocators), then calls ``GEFinalize``. At interpreter exit, GE is finalized
the same way if the script did not do it, before the libraries go away.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Optional

from ge import _allocator_bridge, _lifecycle
from ge import acl as _acl  # noqa: F401 - registers ACL's exit hook first (see the end)
from ge._callback_errors import raise_first
from ge._checks import as_str_dict
from ge._ffi import api
from ge._ffi.marshal import COptions, check_ge, ge_error
from ge._session_manager import manager

__all__ = ["GeApi", "finalize", "initialize", "initialized", "is_initialized"]


def initialize(options: Optional[Mapping[str, str]] = None) -> None:
    """Initialise GE (``GEInitialize``) with string options such as ``ge.exec.deviceId``.

    Initialising twice is harmless, as in GE.
    """
    config = as_str_dict(options, "Ge init config must be a dictionary")
    with manager.lock:
        if manager.initialized:
            return
        c_options = COptions(config)
        check_ge(api.GeApiWrapper_GEInitialize(*c_options.args), "GEInitialize")
        manager.initialized = True


def finalize() -> None:
    """Close every live session, then finalize GE (``GEFinalize``).

    Harmless when GE is not initialised. Every session is closed even if
    closing one raises; the first such error is raised after ``GEFinalize``,
    else the first exception an allocator callback raised that was not
    reported yet (see ``ge._allocator_bridge``); any others are its notes.
    """
    with manager.lock:
        errors: list[BaseException] = []
        for session in manager.live_sessions():
            try:
                session._close(finalizing=True)
            except BaseException as exc:  # finish first; raise_first prefers KeyboardInterrupt
                errors.append(exc)
        if manager.initialized:
            status = api.GeApiWrapper_GEFinalize()
            if status == 0:
                manager.initialized = False
                _allocator_bridge.registry.on_ge_finalize()
            else:  # raised first, the sessions' errors as its notes
                errors.insert(0, ge_error("GEFinalize", status, {}))
        # what allocators raised where no caller was waiting, and no session
        # call on their stream came since: the last chance to report it
        errors.extend(_allocator_bridge.registry.take_all_deferred())
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
    """GE's global API as the CANN Python package spells it."""

    def ge_initialize(self, config: Mapping[str, str]) -> None:
        """Initialise GE; ``config`` must be a dict of str to str."""
        if not isinstance(config, Mapping):
            raise TypeError("Ge init config must be a dictionary")
        initialize(config)

    def ge_finalize(self) -> None:
        """Close every session and finalize GE."""
        finalize()


def _finalize_at_exit() -> None:
    if manager.initialized:
        finalize()
    else:
        for session in manager.live_sessions():
            session._close(finalizing=True)


# Exit hooks run last-registered first: GE's runs before ACL's (imported above),
# so that sessions and GE are finalized before the streams, memory and runtime
# they use (CANN's order: GEFinalize, then aclrtResetDevice and aclFinalize).
_lifecycle.at_exit(_finalize_at_exit)
