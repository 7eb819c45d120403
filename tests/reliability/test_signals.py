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

import os
import sys
from pathlib import Path

import pytest
from _helpers.processes import run_scenario
from hypothesis import settings

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


STORM = Path(__file__).parent / "scripts" / "storm.py"
STORM_SECONDS = 3.0
STORM_SEEDS = list(range(1, 1 + max(2, min(24, settings().max_examples // 15))))
"""2 seeds in the CI profile (about 8 s), 6 in dev, 24 with HYPOTHESIS_PROFILE=long."""


@pytest.mark.skipif(
    sys.version_info < (3, 11),
    reason="CPython 3.9 and 3.10 run pending signal handlers before most instructions, "
    "also the first one of a finally block (before its release call): the package's "
    "hand-overs are airtight against 3.11+'s check points only (README, Signals)",
)
@pytest.mark.parametrize(
    "scenario, seed",
    [("lifecycle", seed) for seed in STORM_SEEDS] + [("with runs", 1)],
)
def test_a_storm_of_interrupts_leaks_hangs_and_crashes_nothing(
    ge_stub_library: str, scenario: str, seed: int
) -> None:
    """``scripts/storm.py``: a ``setitimer`` storm of KeyboardInterrupts over the
    whole lifecycle (initialisation, sessions, builders, graphs added, compiled
    and loaded, tensors from numpy and back, descriptions, buffers, streams, an
    allocator, GE's finalize; ``with runs``: sync and async runs too): no call
    is left counted, a close on another thread returns, and every native count
    is back to zero, with the stand-in strict. Without the handle audit, as
    users run: its ``from_param`` is Python code, where a signal would land and
    be turned into an ``ArgumentError`` by ctypes."""
    env = {**os.environ, "GE_FFI_AUDIT_HANDLES": "0"}
    if scenario == "lifecycle":
        env["STORM_SKIP_RUNS"] = "1"
    done = run_scenario(
        STORM, str(seed), str(STORM_SECONDS), timeout=STORM_SECONDS + 40, what="a hang", env=env
    )
    why = f"seed {seed} exited {done.returncode}:\n{done.stdout}\n{done.stderr[-3000:]}"
    assert done.returncode == 0, why
    assert done.stdout.strip().splitlines()[-1] == "OK", why
