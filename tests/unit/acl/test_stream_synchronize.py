"""``Stream.synchronize``'s hot path (in flight as a batch of one): a destroy on
another thread waits for it, a destroyed stream is a clean error, and an
interrupt anywhere leaves nothing counted in flight."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from _helpers.interrupts import interrupt_each_line, lines_of

import ge.acl as acl
from ge import _native
from ge._ffi import api
from ge.testing import StubControl


def test_destroy_waits_for_a_synchronize_in_flight(
    ready: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    stream = acl.Stream()
    real = api.aclrtSynchronizeStream
    inside = threading.Event()
    left: list[float] = []

    def slow_sync(handle: Any) -> int:
        inside.set()
        time.sleep(0.2)
        code: int = real(handle)
        left.append(time.monotonic())
        return code

    monkeypatch.setattr(api, "aclrtSynchronizeStream", slow_sync)
    syncer = threading.Thread(target=stream.synchronize)
    syncer.start()
    assert inside.wait(5)
    stream.destroy()  # waits for the synchronize
    destroyed = time.monotonic()
    syncer.join(5)
    assert left and destroyed >= left[0]
    assert ready.live_counts()["streams"] == 0
    with pytest.raises(ValueError, match="Stream is destroyed"):
        stream.synchronize()
    assert not _native._runs


def test_an_interrupt_at_any_line_of_synchronize_leaks_no_call_in_flight(
    ready: StubControl,
) -> None:
    """A KeyboardInterrupt at each line of ``synchronize`` up to its ``finally`` in
    turn reaches the caller, and the stream is never left counted in flight (its
    destroy would wait forever). The ``finally``'s lines are left out: its first
    statement is the leave, a C call that no signal can precede on entering the
    block (CPython checks for signals after calls, not at the start of a line)."""
    window = lines_of(acl.Stream.synchronize, end_before=("finally:",))
    with acl.Stream() as stream:

        def check(result: Any) -> None:
            assert not _native._runs and stream._calls == []

        hit = interrupt_each_line(stream.synchronize, [window], check, limit=30)
    assert hit > 5 and stream.closed  # the destroy did not wait for a leaked call
