"""Threads started together, for the tests of what is safe from many threads."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any, Callable


def run_threads(
    target: Callable[..., Any], arguments: Iterable[tuple[Any, ...]], timeout: float = 60
) -> None:
    """``target(*args)`` on one thread per ``args``, all started before any is joined;
    returns when all are done, fails the test if one is still running after ``timeout``
    seconds (a hang)."""
    threads = [threading.Thread(target=target, args=args, daemon=True) for args in arguments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
