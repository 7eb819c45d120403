"""Process exit: release native objects before the libraries go away.

Modules register hooks with :func:`at_exit`; they run in reverse order of
registration from an ``atexit`` handler. After that :func:`exiting` is true
and finalizers (``__del__``) no longer call into C: the process is ending and
a C call from a half-torn-down interpreter is not safe.
"""

from __future__ import annotations

import atexit
import contextlib
from typing import Callable

_hooks: list[Callable[[], None]] = []
_forget_hooks: list[Callable[[], None]] = []
_exiting = False


def at_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` when the interpreter exits (hooks registered later run first)."""
    _hooks.append(hook)


def exiting() -> bool:
    """Whether the interpreter is past the exit hooks (finalizers must not call C)."""
    return _exiting


@atexit.register
def _run_exit_hooks() -> None:
    global _exiting
    for hook in reversed(_hooks):
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
