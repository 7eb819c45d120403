"""Reliability: whole processes that end badly.

Each scenario of ``scripts/exit_scenarios.py`` runs in a fresh interpreter (a
fresh stand-in, through the inherited ``GE_FFI_LIBRARY``): it exits with
sessions, tensors, buffers, streams and registered allocators alive, or
finalizes in the middle of queued work, or raises inside an allocator
callback during the exit, or exits from inside a callback, or leaves a thread
running... The test checks the exit status exactly (a signal is a failure),
stdout line by line, that stderr holds nothing but what the script itself
caused, and, from a handler that runs after the package's exit hooks, what
the stand-in still holds and the order of the teardown calls.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "exit_scenarios.py"
# The first line CPython prints for an exception raised by an atexit callback:
# its wording changed in 3.10 (unraisable hook) and again in 3.13.
if sys.version_info >= (3, 13):
    ATEXIT_HEADER = "Exception ignored in atexit callback <function atexit_handler_raises."
elif sys.version_info >= (3, 10):
    ATEXIT_HEADER = "Exception ignored in atexit callback: <function atexit_handler_raises."
else:
    ATEXIT_HEADER = "Error in atexit._run_exitfuncs:"
RELEASED_AT_EXIT = ("sessions", "session_graphs", "streams", "pending_work", "host_blocks")


def ge_before_acl(calls: list[str]) -> None:
    """GE is finalized before the ACL objects and runtime it uses go away."""
    assert "GeApiWrapper_GEFinalize" in calls and "aclFinalize" in calls, calls
    assert calls.index("GeApiWrapper_GEFinalize") < calls.index("aclrtDestroyStream"), calls
    assert calls[-1] == "aclFinalize", calls


def only_live_outputs_hold_memory(live: dict[str, int], calls: list[str]) -> None:
    """What is left is exactly the blocks of output tensors still alive."""
    assert live["device_blocks"] == live["allocator_blocks"], live


def and_the_graph_memory(live: dict[str, int], calls: list[str]) -> None:
    """The blocks of output tensors still alive, and the two blocks of a graph's
    own memory that GE gave back at exit (closing its session) where they could
    not reach ACL: into a CachingAllocator that is still alive, or to an
    ``aclrtFree`` after the user had finalized ACL."""
    assert live["device_blocks"] == live["allocator_blocks"] + 2, live


def live_outputs_device_tensor_and_graph_memory(live: dict[str, int], calls: list[str]) -> None:
    """The blocks of output tensors still alive, the aclrtMalloc block of the one
    tensor moved to the device with ToDevice (c_tensor_runtime.cc), and the two
    blocks of a graph's own memory that GE gave back at exit (closing its
    session) where they could not reach ACL: into a CachingAllocator that is
    still alive, or to an ``aclrtFree`` after the user had finalized ACL."""
    assert live["device_blocks"] == live["allocator_blocks"] + 3, live


def nothing_left(live: dict[str, int], calls: list[str]) -> None:
    assert {k: n for k, n in live.items() if n and k != "graphs"} == {}, live


@dataclass(frozen=True)
class Expect:
    returncode: int = 0
    stdout: list[str] = field(default_factory=list)
    stderr: Optional[tuple[str, str]] = None  # (first line, the error's line) else empty
    checks: tuple[Callable[[dict[str, int], list[str]], None], ...] = ()
    order: bool = False  # the exit hooks tore down both GE and ACL


EXPECT: dict[str, Expect] = {
    "everything_alive": Expect(
        0, ["done"], None, (live_outputs_device_tensor_and_graph_memory,), True
    ),
    "finalize_mid_async": Expect(
        0,
        [
            "after finalize: GE_SESSION_MANAGER_NOT_INIT",
            "values ok: True",
            "acl finalized; stream destroyed: True",
        ],
        None,
        (and_the_graph_memory,),
    ),
    "acl_first": Expect(
        0,
        ["read after aclFinalize: ACL_ERROR_UNINITIALIZE"],
        None,
        (and_the_graph_memory,),
    ),
    "raise_in_free_at_exit": Expect(0, ["exiting"], None, (nothing_left,), True),
    "system_exit_in_free_at_exit": Expect(0, ["exiting"], None, (nothing_left,), True),
    "atexit_handler_raises": Expect(
        0,
        ["exiting"],
        (
            ATEXIT_HEADER,
            "ge.error.GeError: RunGraphWithStreamAsync failed; graph_id=1, stream=",
        ),
        (nothing_left,),
    ),
    "sys_exit_with_objects": Expect(3, [], None, (only_live_outputs_hold_memory,)),
    "uncaught_with_objects": Expect(
        1,
        [],
        ("Traceback (most recent call last):", "RuntimeError: uncaught, with objects alive"),
        (only_live_outputs_hold_memory,),
    ),
    "sys_exit_in_callback": Expect(7, [], None, (nothing_left,)),
    # the thread is frozen anywhere (even between aclrtMalloc and GE taking the
    # block): only what the exit hooks own is checked
    "daemon_thread_at_exit": Expect(0, ["exiting"], None, ()),
    "failing_exit_hooks": Expect(0, ["exiting"], None, ()),
    "never_initialized": Expect(0, ["exiting"], None, ()),
    "cycles_at_exit": Expect(0, ["exiting"], None, (only_live_outputs_hold_memory,), True),
}


def run_child(scenario: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, str(SCRIPT), scenario],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{scenario}: the process did not exit in {exc.timeout}s (hung at exit)")


@pytest.mark.parametrize("scenario", sorted(EXPECT))
def test_process_exit(ge_stub_library: str, scenario: str) -> None:
    expect = EXPECT[scenario]
    done = run_child(scenario)
    report = f"{scenario}: exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode >= 0, f"killed by signal {-done.returncode}\n{report}"
    assert done.returncode == expect.returncode, report
    lines = done.stdout.splitlines()
    assert lines and lines[-1].startswith("counts: "), report
    assert lines[:-1] == expect.stdout, report
    if expect.stderr is None:
        assert done.stderr == "", report
    else:
        err = done.stderr.rstrip("\n").splitlines()
        first, last = expect.stderr  # the error's text may go on over GE's message lines
        assert err[0].startswith(first) and any(line.startswith(last) for line in err), report
        # one traceback and nothing else (no second error, no crash report)
        assert sum(line.startswith("Traceback") for line in err) <= 2, report
        assert not any("Fatal Python error" in line or "Segmentation" in line for line in err)
    summary: dict[str, Any] = json.loads(lines[-1][len("counts: ") :])
    live, calls = summary["live"], summary["calls"]
    if scenario != "failing_exit_hooks":
        assert {k: live[k] for k in RELEASED_AT_EXIT} == dict.fromkeys(RELEASED_AT_EXIT, 0), report
    else:  # the injected failures: GE is down, the stream that failed to go stays
        assert live["sessions"] == live["session_graphs"] == 0, report
        assert calls.count("aclrtDestroyStream") == 1 and "aclFinalize" in calls, report
    for check in expect.checks:
        check(live, calls)
    if expect.order:
        ge_before_acl(calls)
    print(f"\nRELIABILITY process {scenario}: exit {done.returncode}, left {live}")
