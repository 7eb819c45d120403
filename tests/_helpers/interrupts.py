"""A KeyboardInterrupt (what a signal handler raises) injected at each point of
some code in turn: the tracer the signal tests share.

CPython 3.11+ runs a pending signal handler on entry to a function, right
after a call returns and on a backward jump; a tracer can raise at the start
of a line (:func:`interrupt_each_line`, over a window of lines where each
start is such a point or harmless) or on entry to and return from a function
(:func:`interrupt_each_event`)."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Collection, Mapping
from typing import Any, Callable, Optional

Window = tuple[Any, int, int]
"""A code object and the line range ``[start, end)`` of it to interrupt."""


def lines_of(
    fn: Any,
    start_at: str = "",
    end_before: tuple[str, ...] = ("except", "finally"),
    end_after: str = "",
) -> Window:
    """The window of ``fn``'s lines: from the line whose text is ``start_at``
    (default: the first), up to the first line starting with one of
    ``end_before`` (a handler: its lines are not where a signal lands after
    the code it guards) or through the line whose text is ``end_after``."""
    code = fn.__code__
    source = inspect.getsource(fn).splitlines()
    start = next((i for i, line in enumerate(source) if line.strip() == start_at), 0)
    end = next(
        (
            i + (line.strip() == end_after)
            for i, line in enumerate(source)
            if i >= start
            and (
                (end_before and line.strip().startswith(end_before))
                or (end_after and line.strip() == end_after)
            )
        ),
        len(source),
    )
    return code, code.co_firstlineno + start, code.co_firstlineno + end


def interrupt_each_line(
    action: Callable[[], Any],
    windows: Collection[Window],
    check: Callable[[Any], None] = lambda result: None,
    skip: Collection[tuple[Any, int]] = (),
    limit: int = 300,
) -> int:
    """Run ``action()`` once per line (of the ``windows``, but the ``(code,
    line)`` pairs in ``skip``) that it runs, raising a KeyboardInterrupt at the
    k-th such line on the k-th run; ``check(result)`` after each run (None
    when interrupted). Stops after the first run that reaches fewer than k
    lines; returns how many runs the interrupt cut short."""
    ranges: Mapping[Any, tuple[int, int]] = {code: (a, b) for code, a, b in windows}
    hits = 0
    for k in range(1, limit):
        seen = [0]

        def local(frame: Any, event: str, arg: Any, k: int = k, seen: Any = seen) -> Any:
            start, end = ranges[frame.f_code]
            if (
                event == "line"
                and start <= frame.f_lineno < end
                and (frame.f_code, frame.f_lineno) not in skip
            ):
                seen[0] += 1
                if seen[0] == k:
                    raise KeyboardInterrupt
            return local

        def tracer(frame: Any, event: str, arg: Any) -> Any:
            return local if frame.f_code in ranges else None

        result: Optional[Any] = None
        sys.settrace(tracer)
        try:
            result = action()
        except KeyboardInterrupt:
            hits += 1
        finally:
            sys.settrace(None)
        check(result)
        if seen[0] < k:
            return hits
    raise AssertionError("more lines than expected")


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
    call, say). ``check()`` after each run. Exceptions the interrupt causes in
    finalizers are silenced (CPython prints and drops them). Returns how many
    runs the interrupt cut short; fails past ``limit`` runs."""
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


def python_calls(action: Callable[[], Any]) -> list[str]:
    """The Python functions ``action()`` runs (profiling 'call' events), but
    lambdas: empty where the code under test runs in C only, with no point at
    which a signal handler could run."""
    calls: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call":
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        action()
    finally:
        sys.setprofile(None)
    return [c for c in calls if c != "<lambda>"]
