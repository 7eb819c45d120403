"""A KeyboardInterrupt (what a signal handler raises) injected at each point in
turn: the tracer the signal tests share."""

from __future__ import annotations

import sys
from typing import Any, Callable


def interrupt_each_event(
    action: Callable[[], Any],
    traced: Callable[[Any], bool],
    check: Callable[[], None],
    armed: Callable[[], bool] = lambda: True,
    lines: Callable[[Any], bool] = lambda frame: False,
    limit: int = 1000,
) -> int:
    """Run ``action()`` once per entry to and return from a Python function whose
    frame ``traced(frame)`` accepts, counted while ``armed()``, raising a
    KeyboardInterrupt at the k-th on the k-th run: where CPython runs a pending
    signal handler (on entry to a function; right after a call returns, in the
    caller); also at each line of the frames ``lines(frame)`` accepts (where no
    line is one a signal cannot land on: not in a ``finally`` before its first
    call, say). ``check()`` after each run. Exceptions the interrupt
    causes in finalizers are silenced (CPython prints and drops them). Returns
    how many runs the interrupt cut short; fails past ``limit`` runs."""
    hits = 0
    hook = sys.unraisablehook
    for k in range(1, limit):
        seen = [0]

        def local(frame: Any, event: str, arg: Any, k: int = k, seen: Any = seen) -> Any:
            if (
                (event in ("call", "return") or (event == "line" and lines(frame)))
                and armed()
                and traced(frame)
            ):
                seen[0] += 1
                if seen[0] == k:
                    sys.settrace(None)
                    raise KeyboardInterrupt
            return local

        sys.unraisablehook = lambda unraisable: None
        sys.settrace(local)
        try:
            action()
        except KeyboardInterrupt:
            hits += 1
        finally:
            sys.settrace(None)
            sys.unraisablehook = hook
        check()
        if seen[0] < k:
            return hits
    raise AssertionError("more events than expected")
