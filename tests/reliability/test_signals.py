"""Reliability: exceptions on entry to a trampoline (a signal's KeyboardInterrupt,
a RecursionError near the limit), each in a child process with a deadline.

ctypes prints such an exception and drops it, and leaves the C return value
unset: GE would take garbage as a block id. ``ge._allocator_bridge`` catches it
through ``sys.unraisablehook`` (which pytest replaces in its own process: hence
the child), reports it to the call that caused the callback, refuses the
GetAddrFn of the garbage block, and hands a block whose FreeFn never ran back to
the allocator after GE's OnDestroy. ``scripts/signals.py`` checks that nothing
is printed and that every native count is back to zero.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers.processes import run_scenario

SCRIPT = Path(__file__).parent / "scripts" / "signals.py"
TIMEOUT = 20.0


@pytest.mark.parametrize(
    "scenario",
    [
        "keyboard_interrupt_on_malloc_entry",
        "recursion_limit_on_free_entry",
        "keyboard_interrupt_on_on_destroy_entry",
    ],
)
def test_failure_on_callback_entry(ge_stub_library: str, scenario: str) -> None:
    done = run_scenario(SCRIPT, scenario, str(TIMEOUT), timeout=TIMEOUT + 15, what="a hang")
    why = f"{scenario} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, why
    assert done.stdout.strip().splitlines()[-1] == "OK", why
    assert done.stderr == "", why  # ctypes printed nothing: the exception was not dropped
