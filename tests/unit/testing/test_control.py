"""``ge.testing.StubControl``: what it refuses, and that its modes come back."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from _helpers.stub_calls import child

from ge import _lifecycle
from ge._ffi import status as S
from ge.testing import StubControl


def test_fail_next_takes_failable_functions_only(ge_stub: StubControl) -> None:
    assert "aclrtMalloc" in ge_stub.failable_functions()
    with pytest.raises(ValueError, match="cannot be made to fail"):
        ge_stub.fail_next("no_such_function", S.FAILED)
    with pytest.raises(ValueError, match="nth must be at least 1"):
        ge_stub.fail_next("aclrtMalloc", S.ACL_ERROR_BAD_ALLOC, nth=0)
    ge_stub.fail_next("aclrtMalloc", S.ACL_ERROR_BAD_ALLOC, nth=2)
    assert ge_stub.faults_pending() == 1
    ge_stub.clear_faults()
    assert ge_stub.faults_pending() == 0


def test_tidy_misuse_is_undone_after_the_block(ge_stub_library: str, tmp_path: Path) -> None:
    done = child(
        """
        from ge.testing import StubControl
        dead = 0x5E0000000000 + 16 * 999_999  # a handle the stand-in never gave out
        with StubControl().tidy_misuse():
            print(api.GeApiWrapper_Session_AddGraph(dead, 1, dead) != 0, flush=True)
        api.GeApiWrapper_Session_AddGraph(dead, 1, dead)  # strict again: aborts
        print("survived")
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGABRT, done.stderr
    assert done.stdout.split() == ["True"]


def test_reset_forgets_pythons_view_of_the_native_state(ge_stub: StubControl) -> None:
    before = _lifecycle.native_epoch
    ge_stub.reset()
    assert _lifecycle.native_epoch == before + 1
    assert all(n == 0 for n in ge_stub.live_counts().values())
