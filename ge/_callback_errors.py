"""Carrying exceptions raised inside C callbacks back to the Python caller.

ctypes prints an exception raised in a ``CFUNCTYPE`` callback and drops it.
Our trampolines catch everything instead and :func:`report` it: to the
innermost :func:`collecting` block of the same thread (the Python call that
went into C and caused the callback), or, when no such block is active (a
callback from a thread of the runtime, or one caused by a finalizer), to a
fallback that keeps it for the next call on the same object.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Callable, Optional

_local = threading.local()


def _stack() -> list[list[BaseException]]:
    stack: Optional[list[list[BaseException]]] = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


@contextmanager
def collecting() -> Iterator[list[BaseException]]:
    """Collect exceptions that callbacks raise on this thread while the block runs."""
    errors: list[BaseException] = []
    stack = _stack()
    stack.append(errors)
    try:
        yield errors
    finally:
        stack.pop()


def report(exc: BaseException, fallback: Callable[[BaseException], None]) -> None:
    """Hand a callback's exception to the active :func:`collecting` block, else ``fallback``."""
    stack = _stack()
    if stack:
        stack[-1].append(exc)
    else:
        fallback(exc)


def raise_first(errors: list[BaseException]) -> None:
    """Raise the first collected exception, if any (the later ones as its notes)."""
    if not errors:
        return
    first = errors[0]
    for extra in errors[1:]:
        _add_note(first, f"also raised in an allocator callback: {extra!r}")
    raise first


def _add_note(exc: BaseException, note: str) -> None:
    add_note = getattr(exc, "add_note", None)  # Python >= 3.11
    if add_note is not None:
        add_note(note)
