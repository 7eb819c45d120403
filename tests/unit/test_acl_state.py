"""``ge._acl_state``: ACL's process state (the live streams and buffers, which stream
object owns a handle, the release order), on a state of its own with fake objects
(no native library)."""

from __future__ import annotations

import gc
from typing import Optional

from ge._acl_state import AclState
from ge._native import NativeObject

LOG: list[str] = []


class FakeStream(NativeObject):
    __slots__ = ("name", "queue")

    def __init__(self, handle: int, name: str, fail: bool = False) -> None:
        super().__init__(handle)
        self.name = name
        self.queue: list[object] = ["work"]
        if fail:
            self.name += "!"

    def _release(self, handle: int) -> Optional[list[BaseException]]:
        LOG.append(f"release {self.name}")
        if self.name.endswith("!"):
            raise RuntimeError("cannot destroy")
        return None

    def _forget_queue(self) -> None:
        LOG.append(f"forget {self.name}")
        self.queue.clear()


class FakeBuffer(NativeObject):
    __slots__ = ("name",)

    def __init__(self, handle: int, name: str) -> None:
        super().__init__(handle)
        self.name = name

    def _release(self, handle: int) -> None:
        LOG.append(f"release {self.name}")


def test_streams_are_released_before_buffers_and_errors_are_dropped() -> None:
    LOG.clear()
    state = AclState()
    buffer = FakeBuffer(1, "buffer")
    state.track_buffer(buffer)
    good, bad = FakeStream(2, "s1"), FakeStream(3, "s2", fail=True)
    state.track_stream(good, 2)
    state.track_stream(bad, 3)
    assert state.has_live_objects()
    state.release_all()
    assert LOG[-1] == "release buffer"
    assert sorted(LOG[:-1]) == ["forget s1", "forget s2!", "release s1", "release s2!"]
    assert good.closed and bad.closed and buffer.closed  # detached either way
    LOG.clear()
    state.release_all()  # nothing left to release
    assert LOG == []


def test_a_handle_is_owned_by_its_live_stream_only() -> None:
    state = AclState()
    stream = FakeStream(7, "s")
    state.track_stream(stream, 7)
    assert state.stream_owner(7) is stream
    assert state.stream_owner(8) is None
    state.untrack_stream(stream, 7)
    assert state.stream_owner(7) is None
    state.track_stream(stream, 7)
    del stream
    gc.collect()
    assert state.stream_owner(7) is None  # held weakly
    assert not state.has_live_objects()


def test_untracking_another_objects_handle_keeps_the_owner() -> None:
    state = AclState()
    first, second = FakeStream(9, "a"), FakeStream(9, "b")  # a handle ACL reused
    state.track_stream(first, 9)
    state.track_stream(second, 9)
    state.untrack_stream(first, 9)
    assert state.stream_owner(9) is second


def test_finalized_and_forget() -> None:
    LOG.clear()
    state = AclState()
    state.initialized = True
    state.keep_orphans(("array",))
    state.finalized()
    assert not state.initialized and state._orphans == []
    stream, buffer = FakeStream(1, "s"), FakeBuffer(2, "b")
    state.track_stream(stream, 1)
    state.track_buffer(buffer)
    state.initialized = True
    state.forget()
    assert LOG == ["forget s"]  # no release: the native side is gone
    assert stream.closed and buffer.closed and not state.initialized
    assert not state.has_live_objects() and state.stream_owner(1) is None
