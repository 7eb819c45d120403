"""Process exit and wiped native state: what every module registers a hook for.

**Exit phases.** At interpreter exit the native objects still alive are
released before the libraries go away, in CANN's order (GE before the ACL
runtime it runs on). :class:`ExitPhase` names the phases and fixes their order
here, in one place; each module registers its hook for a phase with
:func:`at_exit`, so that the order does not depend on which module was
imported first:

1. ``CLOSE_SESSIONS``: close every live session (GE frees its graphs and
   unregisters the allocators it owns) and unregister the allocators still
   registered (``ge.ge_global``);
2. ``FINALIZE_GE``: ``GEFinalize`` (``ge.ge_global``);
3. ``RELEASE_ACL_OBJECTS``: destroy every live stream (its queued work runs),
   then free every device and host buffer (``ge._acl_state``);
4. ``FINALIZE_ACL``: ``aclFinalize`` (``ge.acl``).

Hooks of one phase run in the order they were registered. An exception from a
hook is dropped (nobody is left to report to) and the next hook runs. After
the last one :func:`exiting` is true and finalizers (``__del__``) no longer
call into C: a C call from a half-torn-down interpreter is not safe.

**Wiped native state.** The stand-in's reset (in tests) wipes the native side
beneath Python: :func:`forget_native_state` runs every :func:`on_forget` hook
(each module drops what it tracks without calling C) and starts a new
:data:`native_epoch`, so that objects still holding a handle of the old state
never pass it to C again.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
from typing import Callable


class ExitPhase(enum.IntEnum):
    """The phases of process exit, run in increasing order."""

    CLOSE_SESSIONS = 1
    FINALIZE_GE = 2
    RELEASE_ACL_OBJECTS = 3
    FINALIZE_ACL = 4


_hooks: dict[ExitPhase, list[Callable[[], None]]] = {phase: [] for phase in ExitPhase}
_forget_hooks: list[Callable[[], None]] = []
_exiting = False


def at_exit(phase: ExitPhase, hook: Callable[[], None]) -> None:
    """Run ``hook`` in ``phase`` when the interpreter exits."""
    _hooks[ExitPhase(phase)].append(hook)


def exit_hooks() -> list[tuple[ExitPhase, Callable[[], None]]]:
    """Every registered hook with its phase, in the order they will run."""
    return [(phase, hook) for phase in sorted(_hooks) for hook in _hooks[phase]]


def exiting() -> bool:
    """Whether the interpreter is past the exit hooks (finalizers must not call C)."""
    return _exiting


@atexit.register
def _run_exit_hooks() -> None:
    global _exiting
    for _, hook in exit_hooks():
        with contextlib.suppress(BaseException):  # nobody to report to here
            hook()
    _exiting = True


def on_forget(hook: Callable[[], None]) -> None:
    """Run ``hook`` from :func:`forget_native_state`."""
    _forget_hooks.append(hook)


native_epoch = 0
"""Bumped by :func:`forget_native_state`: handles of an older epoch are dead."""


def forget_native_state() -> None:
    """The native state was wiped beneath Python (the stand-in's reset, in tests).

    Every module drops what it tracks (sessions, registered allocators, the
    initialised flags) without calling C: the handles it held are dead, and
    objects still holding one never pass it to C again (``native_epoch``).
    """
    global native_epoch
    native_epoch += 1
    for hook in _forget_hooks:
        hook()
