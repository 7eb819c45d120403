"""Threads of a scenario script, with its deadline: ``run_threads``.

A thread's exception or a thread still running at the deadline ends the child
process at once (``os._exit``, no exit handler that could wait for the stuck
thread): the tracebacks on stdout and exit status 1, or every thread's stack
on stdout and exit status 3. The test that runs the script reads both.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import threading
import time
import traceback
from typing import Callable, ContextManager, Optional


def run_threads(
    targets: list[Callable[[], None]],
    deadline: float,
    around: Optional[Callable[[], ContextManager[object]]] = None,
) -> None:
    """Run each target in its own daemon thread (inside ``around()``, if given: for
    example ``ge.acl.Device(0)``) and wait for all of them until ``deadline``
    (``time.monotonic()``); see the module's docstring for a failure."""
    errors: list[str] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def body() -> None:
            try:
                with around() if around is not None else contextlib.nullcontext():
                    target()
            except BaseException:
                errors.append(traceback.format_exc())

        return body

    threads = [threading.Thread(target=guarded(t), daemon=True) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        print("DEADLOCK: threads still running at the deadline", flush=True)
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        sys.stdout.flush()
        os._exit(3)
    if errors:
        print("\n".join(errors), flush=True)
        os._exit(1)
