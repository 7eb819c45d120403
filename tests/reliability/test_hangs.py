"""Reliability: the known hangs, each in a child process with a deadline.

Each scenario of ``scripts/hangs.py`` used to deadlock (or hang the child at
exit): ``ge.acl.finalize()`` against a copy or a ``Stream.destroy()`` on
another thread, ``ge.finalize()``/``Session.close()`` from inside an
allocator callback of the session's own run, a signal handler that
finalizes, ``ge.finalize()`` against a callback asking the session manager,
interpreter exit with a daemon thread inside a callback, ``os.fork()`` while
another thread is inside the package. The child dumps every thread's stack
at its deadline; the parent kills it a little later.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from _helpers.processes import run_scenario

SCRIPT = Path(__file__).parent / "scripts" / "hangs.py"
TIMEOUT = 20.0


@pytest.mark.parametrize(
    "scenario",
    [
        "acl_finalize_vs_int_stream_copy",
        "acl_finalize_vs_stream_destroy",
        "finalize_inside_own_callback",
        "signal_handler_finalizes",
        "finalize_vs_callback_using_manager",
        "exit_with_daemon_in_callback",
        "stream_destroy_waits_for_a_run_on_it",
        pytest.param(
            "fork_while_inside",
            marks=pytest.mark.skipif(sys.platform == "win32", reason="no fork"),
        ),
    ],
)
def test_no_hang(ge_stub_library: str, scenario: str) -> None:
    done = run_scenario(SCRIPT, scenario, str(TIMEOUT), timeout=TIMEOUT + 15)
    why = f"{scenario} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, why
    assert done.stdout.strip().splitlines()[-1] == "OK", done.stdout
    assert done.stderr == "", done.stderr
