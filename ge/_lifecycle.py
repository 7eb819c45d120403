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

**Exit never waits forever.** While the hooks run, a wait for a call in
flight is bounded (:data:`EXIT_WAIT`): a thread that never comes back (a
daemon thread blocked inside an allocator callback) makes the object
*abandoned* (:func:`abandon`), and every later hook is skipped (GE or ACL
would wait in C for that thread, which holds GE's allocator mutex); the
operating system takes back what is left. A thread inside an allocator
callback when exit begins (:func:`on_busy` probes) is waited for the same
bounded time first.

**Fork.** In the child of ``os.fork()`` the parent's native state is gone
from Python's point of view: CANN's runtime (device contexts, streams, the
driver's mappings, GE's threads) does not survive ``fork``, and another
thread of the parent may have held any lock of the package or of the library
at that instant. :func:`forked_child` runs in the child: every module drops
what it tracks without calling C and replaces its locks (:func:`on_fork`),
the epoch moves on (the parent's objects become inert), and if the parent
had loaded CANN's libraries every later C call is refused with
``RuntimeError`` (``ge._ffi``). A child forked before any library was
loaded uses the package normally.

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
import os
import threading
import time
from typing import Any, Callable, Optional

from ge._ffi import owned


class ExitPhase(enum.IntEnum):
    """The phases of process exit, run in increasing order."""

    CLOSE_SESSIONS = 1
    FINALIZE_GE = 2
    RELEASE_ACL_OBJECTS = 3
    FINALIZE_ACL = 4


_hooks: dict[ExitPhase, list[Callable[[], None]]] = {phase: [] for phase in ExitPhase}
_forget_hooks: list[Callable[[], None]] = []
_fork_hooks: list[Callable[[], None]] = []
_busy_probes: list[Callable[[], bool]] = []
_exiting = False
_abandoned = False

EXIT_WAIT = 2.0
"""Seconds the exit hooks wait, in all, for calls in flight before abandoning."""

exit_deadline: Optional[float] = None
"""While the exit hooks run: the ``time.monotonic()`` after which no wait goes on."""


def at_exit(phase: ExitPhase, hook: Callable[[], None]) -> None:
    """Run ``hook`` in ``phase`` when the interpreter exits."""
    _hooks[ExitPhase(phase)].append(hook)


def exit_hooks() -> list[tuple[ExitPhase, Callable[[], None]]]:
    """Every registered hook with its phase, in the order they will run."""
    return [(phase, hook) for phase in sorted(_hooks) for hook in _hooks[phase]]


def exiting() -> bool:
    """Whether the interpreter is past the exit hooks (finalizers must not call C)."""
    return _exiting


def abandon() -> None:
    """A call in flight never came back during exit: skip the later exit hooks."""
    global _abandoned
    _abandoned = True


def wait_at_exit(condition: threading.Condition) -> bool:
    """``condition.wait()`` (its lock held); while the exit hooks run, only until their
    deadline: then :func:`abandon` and False."""
    deadline = exit_deadline
    if deadline is None:
        condition.wait()
        return True
    remaining = deadline - time.monotonic()
    if remaining > 0 and (condition.wait(remaining) or time.monotonic() < deadline):
        return True
    abandon()
    return False


def wait_for_finalizer(holder: Any, done: threading.Condition, what: str, finalize: str) -> None:
    """With ``done``'s lock held: wait until no thread is in ``finalize`` (the
    name of the call, ``"ge.finalize()"``), whose thread id ``holder.finalizer``
    holds while it runs; ``done`` is notified when it ends.

    ``RuntimeError`` when this thread is that finalizer (``what`` would wait for
    itself), when it is inside a callback (the finalize may wait for its call),
    or when the exit hooks' deadline passes.
    """
    from ge._callback_errors import inside_call

    while holder.finalizer is not None:
        if holder.finalizer == threading.get_ident():
            raise RuntimeError(
                f"{what} called from inside {finalize} (a callback or a signal "
                "handler it ran): it would wait for itself"
            )
        if inside_call():
            raise RuntimeError(
                f"{what} called from inside a callback while another thread runs "
                f"{finalize}, which may wait for this call: it would deadlock"
            )
        if not wait_at_exit(done):
            raise RuntimeError(f"{what}: gave up waiting for another thread's finalize at exit")


def on_busy(probe: Callable[[], bool]) -> None:
    """``probe()`` tells whether a thread is inside a callback now (exit waits, bounded)."""
    _busy_probes.append(probe)


def _busy() -> bool:
    return any(probe() for probe in _busy_probes)


@atexit.register
def _run_exit_hooks() -> None:
    global _exiting, exit_deadline
    exit_deadline = time.monotonic() + EXIT_WAIT
    while _busy():  # a thread inside an allocator callback: GE holds its mutex
        if time.monotonic() >= exit_deadline:
            abandon()
            break
        time.sleep(0.01)
    for _, hook in exit_hooks():
        if _abandoned:
            break
        with contextlib.suppress(BaseException):  # nobody to report to here
            hook()
    _exiting = True
    owned.retire(final=True)  # and handles no object took are left to the operating system


def on_fork(hook: Callable[[], None]) -> None:
    """Run ``hook`` in the child of ``os.fork()`` (drop state, replace locks; no C)."""
    _fork_hooks.append(hook)


forked = False
"""Whether this process is a child forked after the parent loaded CANN's libraries."""


def forked_child() -> None:
    """In the child of ``os.fork()``: forget the parent's native state (see above)."""
    global native_epoch
    native_epoch += 1
    for hook in _fork_hooks:
        with contextlib.suppress(BaseException):  # the child must come up whatever happens
            hook()


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


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=forked_child)
