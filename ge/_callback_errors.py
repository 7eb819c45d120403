"""Carrying exceptions raised inside C callbacks back to the Python caller.

ctypes prints an exception raised in a ``CFUNCTYPE`` callback and drops it.
Our trampolines catch everything instead and :func:`report` it: to the
innermost :func:`collecting` block of the same thread (the Python call that
went into C and caused the callback), or, when no such block is active (a
callback from a thread of the runtime, or one caused by a finalizer), to a
fallback that keeps it for the next call on the same object.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable, Optional

from ge._ffi.errors import GeError

_local = threading.local()


def _current_stack() -> Optional[list[Optional[list[BaseException]]]]:
    """This thread's stack of collecting blocks, or None if it never had one.

    ``_local.__dict__`` is the calling thread's own dict (so it is read per
    call); ``getattr(_local, "stack", None)`` would build and drop an
    ``AttributeError`` on a thread that never collected (about 0.45 µs)."""
    stack: Optional[list[Optional[list[BaseException]]]] = _local.__dict__.get("stack")
    return stack


def _stack() -> list[Optional[list[BaseException]]]:
    stack = _current_stack()
    if stack is None:
        stack = _local.stack = []
    return stack


class collecting:
    """Collect exceptions that callbacks raise on this thread while the block runs.

    ``with collecting() as errors:``. A class rather than a generator-based
    context manager: it wraps every run and every output's release, and
    costs a third as much.
    """

    __slots__ = ("_errors", "_stack")

    def __enter__(self) -> list[BaseException]:
        stack = _stack()
        errors: list[BaseException] = []
        stack.append(errors)
        self._stack = stack
        self._errors = errors
        return errors

    def __exit__(self, *exc_info: object) -> None:
        stack = self._stack
        stack.pop()
        if _idle_work and not stack:
            _run_idle_work()


class detached:
    """``with detached():`` callbacks of the block report to their fallback (the
    stream's deferred errors), not to an enclosing :func:`collecting` block.

    A finalizer runs wherever the collector happens to run, inside whatever
    call this thread is making: what the callbacks of its release raise
    (a FreeFn of an output of another stream) belongs to that stream, not to
    the unrelated call, which must neither raise it nor lose its results.
    """

    __slots__ = ("_stack",)

    def __enter__(self) -> None:
        stack = _stack()
        stack.append(None)
        self._stack = stack

    def __exit__(self, *exc_info: object) -> None:
        self._stack.pop()


live_trampolines: dict[int, Any] = {}
"""Every live Python allocator trampoline, by token: ``ge._allocator_registry``'s
table (it adds and removes them). While it is empty no Python callback can run,
so a C call may skip :func:`collecting` (read without a lock: one registered
meanwhile reports its errors to its stream)."""


def inside_call() -> bool:
    """Whether this thread is inside a C call that runs callbacks (a
    :func:`collecting` block is active): what runs now may be a callback, on
    whose return another thread's wait may depend."""
    return bool(_current_stack())


_idle_work: list[Callable[[], None]] = []


def when_idle(work: Callable[[], None]) -> None:
    """Run ``work`` once, the next time a thread leaves its outermost
    :func:`collecting` block (it is back from its C call then)."""
    if work not in _idle_work:
        _idle_work.append(work)


idle_work = _idle_work
"""The idle work waiting (read it to skip a call to :func:`run_idle_work`)."""


def run_idle_work() -> None:
    """Run the idle work now, unless this thread is inside a :func:`collecting`
    block (then it runs when the outermost one is left): for a call that makes
    no such block of its own (``ge._allocator_registry``'s registrations)."""
    if _idle_work and not _current_stack():
        _run_idle_work()


def _run_idle_work() -> None:
    work = _idle_work[:]
    del _idle_work[:]
    for item in work:
        item()


def report(exc: BaseException, fallback: Callable[[BaseException], None]) -> None:
    """Hand a callback's exception to the active :func:`collecting` block, else ``fallback``."""
    stack = _stack()
    errors = stack[-1] if stack else None
    if errors is not None:
        errors.append(exc)
    else:  # no caller waiting, or a finalizer's release (detached)
        fallback(exc)


def preferred(errors: list[BaseException]) -> BaseException:
    """The exception to raise of several: the first that is not an ``Exception``
    (``KeyboardInterrupt``, ``SystemExit``: what the user asked for wins), else the first."""
    for exc in errors:
        if not isinstance(exc, Exception):
            return exc
    return errors[0]


def raise_first(errors: list[BaseException]) -> None:
    """Raise the :func:`preferred` collected exception, if any (the others as its notes).

    ``errors`` is emptied first: a list that holds the exception being raised,
    referenced from a frame of its own traceback, would make a reference
    cycle that keeps that frame's locals (a run's inputs) alive until the
    collector runs.
    """
    if not errors:
        return
    first = preferred(errors)
    note_others(first, [exc for exc in errors if exc is not first])
    del errors[:]
    try:
        raise first
    finally:
        del first  # this frame is in its traceback: no cycle through a local


def note_others(target: BaseException, others: list[BaseException]) -> None:
    """Record on ``target`` (as notes) the other exceptions it cannot carry itself."""
    for extra in others:
        _add_note(target, f"also raised: {extra!r}")


def raise_with(failure: Optional[BaseException], errors: list[BaseException]) -> None:
    """Raise for a C call that may also have collected callback exceptions.

    The call's ``failure`` with the first callback exception as its cause (the
    others as notes), else that exception; a ``KeyboardInterrupt`` or
    ``SystemExit`` from a callback is raised itself, the failure as a note.
    Returns only when there was neither. ``errors`` is emptied (see
    :func:`raise_first`).
    """
    if failure is None:
        raise_first(errors)
        return
    if errors:
        first = preferred(errors)
        if not isinstance(first, Exception):
            note_failure(first, failure)
            raise_first(errors)
        note_others(failure, [exc for exc in errors if exc is not first])
        del errors[:]
        failure.__cause__ = first
        del first
    try:
        raise failure
    finally:
        del failure  # this frame is in its traceback: no cycle through a local


def note_failure(target: BaseException, failure: BaseException) -> None:
    """Record on ``target`` (as a note) the failure of the call it interrupted."""
    _add_note(target, f"the call then failed: {failure}")


def _add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note(note)``, by hand before Python 3.11.

    Before 3.11 there is no ``add_note`` and tracebacks do not print
    ``__notes__``, so the note also goes where the default display shows it: a
    :class:`~ge.error.GeError` prints its notes with its message (see its
    ``__str__``), and an exception with a plain message (no arguments or one
    ``str``, and ``BaseException``'s own ``__str__``) gets the note appended to
    that message. A ``SystemExit`` keeps its arguments (they are the exit
    status, and it is never printed), and so does an exception whose message
    comes from its own ``__str__``: for those, ``__notes__`` alone holds it.
    """
    if sys.version_info >= (3, 11):
        exc.add_note(note)
        return
    notes = exc.__dict__.setdefault("__notes__", [])
    if not isinstance(notes, list):
        return  # what add_note refuses (a TypeError there); never mask the exception
    notes.append(note)
    if isinstance(exc, (GeError, SystemExit)) or type(exc).__str__ is not BaseException.__str__:
        return
    args = exc.args
    if not args:
        exc.args = (note,)
    elif len(args) == 1 and isinstance(args[0], str):
        exc.args = (f"{args[0]}\n{note}",)
