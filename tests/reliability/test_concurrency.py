"""Reliability: threads.

Each scenario of ``scripts/concurrency.py`` runs in a child process, so that
a deadlock cannot hang the suite: the child fails itself at the deadline
(printing every thread's stack), and the parent kills it a little later.
Scenarios: threads sharing the session manager, each on its own sessions and
stream; threads on one session (own graphs and streams, replaced allocators,
two threads fighting over one stream's allocator); a session closed while
threads use it; GE finalized and initialised again and again under load;
sessions freed by the cycle collector on any thread while GE is finalized;
bindings (``session.bind``) shared by threads while another closes their
inputs, their stream and their session; an input, the stream or the session
closed while a bound run is held inside C (each close waits for it); one
binding and the plain calls of the same graph run by four threads at once.
Each one checks its results and ends with every native count at zero.

The iterations per thread are 5 x the hypothesis profile's ``max_examples``
(200 with ``CI=true``, 2000 with ``HYPOTHESIS_PROFILE=long``).
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

import pytest
from _helpers.processes import scenario_summary
from hypothesis import settings

import ge
from ge.testing import StubControl

SCRIPT = Path(__file__).parent / "scripts" / "concurrency.py"
TIMEOUT = 90.0


@pytest.mark.parametrize(
    "scenario",
    [
        "own_sessions",
        "one_session",
        "close_under_load",
        "finalize_under_load",
        "collector_vs_finalize",
        "collector_inside_registry_lock",
        "bound_under_close",
        "bound_input_closed_mid_run",
        "bound_shared_by_threads",
    ],
)
def test_concurrency_scenario(ge_stub_library: str, scenario: str) -> None:
    iterations = min(5 * settings().max_examples, 2000)
    summary = scenario_summary(SCRIPT, scenario, iterations, TIMEOUT)
    print(f"\nRELIABILITY concurrency {scenario}: {iterations} iterations/thread, {summary}")


def finalize_collecting_at(k: int) -> int:
    """``ge.finalize()`` with a collection at the ``k``-th line run in ``weakref.py``
    (while a session only the collector can free is alive); the lines run there."""
    lines = [0]

    def in_weakref(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            lines[0] += 1
            if lines[0] == k:
                gc.collect()
        return in_weakref

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        return in_weakref if frame.f_code.co_filename.endswith("weakref.py") else None

    gc.collect()
    gc.disable()
    try:
        garbage = ge.Session()
        cycle: list[Any] = [garbage]
        cycle.append(cycle)
        del garbage, cycle
        sys.settrace(tracer)
        try:
            ge.finalize()
        finally:
            sys.settrace(None)
    finally:
        gc.enable()
    return lines[0]


def test_finalize_survives_the_collector_at_any_point(ge_stub: StubControl) -> None:
    """The collector may run at any allocation, on any thread, and free a session
    (closing it) while ``ge.finalize()`` lists the live sessions. Run it at each
    line of the weak-mapping code ``finalize`` goes through: ``finalize`` must
    still close every session. (It raised ``KeyError``: the session manager read
    a session by a key listed before the session was collected.)"""
    points = 0
    for k in range(1, 80):
        ge_stub.reset()
        ge.initialize()
        keep = ge.Session()
        seen = finalize_collecting_at(k)
        gc.collect()
        assert keep.closed and not ge.is_initialized()
        assert ge_stub.live_counts()["sessions"] == 0
        if seen < k:  # every point of this run was tried
            break
        points += 1
    assert points > 10
