"""``ge._allocator_bridge``: a trampoline's four callbacks, called as GE calls them
(through their C function pointers), with a keeper that records what it is handed."""

from __future__ import annotations

import ctypes
import threading
from typing import Any, Optional

import pytest

from ge import _allocator_bridge
from ge._allocator_bridge import Trampoline, refuse_reentry
from ge._callback_errors import collecting
from ge.allocator import Allocator, MemBlock


class Keeper:
    def __init__(self) -> None:
        self.deferred: list[tuple[int, BaseException]] = []
        self.retired: list[Trampoline] = []

    def defer(self, stream: int, exc: BaseException) -> None:
        self.deferred.append((stream, exc))

    def retire(self, trampoline: Trampoline) -> None:
        self.retired.append(trampoline)

    def on_destroy_failed(self, trampoline: Trampoline, exc: BaseException) -> None:
        self.deferred.append((trampoline.stream, exc))
        self.retire(trampoline)


class Pool(Allocator):
    def __init__(self) -> None:
        self.owner_seen: Optional[int] = None
        self.freed: list[MemBlock] = []
        self.result: Any = None
        self.fail: Optional[BaseException] = None

    def malloc(self, size: int) -> MemBlock:
        self.owner_seen = trampoline_owner()
        if self.fail is not None:
            raise self.fail
        return self.result if self.result is not None else MemBlock(0x1000 + size, size)

    def free(self, block: MemBlock) -> None:
        self.owner_seen = trampoline_owner()
        self.freed.append(block)
        if self.fail is not None:
            raise self.fail


_current: list[Trampoline] = []


def trampoline_owner() -> Optional[int]:
    return _current[0].owner if _current else None


@pytest.fixture
def bridge() -> Any:
    pool, keeper = Pool(), Keeper()
    trampoline = Trampoline(pool, 0x5E00, keeper)
    _current[:] = [trampoline]
    yield trampoline, pool, keeper
    _current.clear()


def test_malloc_get_addr_free_round_trip(bridge: Any) -> None:
    trampoline, pool, keeper = bridge
    block_id = trampoline.c_malloc(None, 64)
    assert block_id and trampoline.blocks[block_id].size == 64
    assert trampoline.c_get_addr(block_id) == 0x1000 + 64
    assert pool.owner_seen == threading.get_ident()  # GE holds the allocator's lock
    assert trampoline.owner is None  # and releases it after the callback
    trampoline.c_free(None, block_id)
    assert pool.freed == [MemBlock(0x1040, 64)] and trampoline.blocks == {}
    assert keeper.deferred == []


def test_an_exception_goes_to_the_caller_else_to_the_keeper(bridge: Any) -> None:
    trampoline, pool, keeper = bridge
    pool.fail = MemoryError("pool exhausted")
    with collecting() as errors:
        assert trampoline.c_malloc(None, 8) is None  # GE sees NULL
    assert errors == [pool.fail] and keeper.deferred == []
    assert trampoline.c_malloc(None, 8) is None  # no caller waiting: kept for the stream
    assert keeper.deferred == [(0x5E00, pool.fail)]


def test_what_malloc_returns_is_checked(bridge: Any) -> None:
    trampoline, pool, _ = bridge
    for result, error in ((object(), TypeError), (MemBlock(0x2000, 4), ValueError)):
        pool.result = result
        with collecting() as errors:
            assert trampoline.c_malloc(None, 8) is None
        assert len(errors) == 1 and isinstance(errors[0], error)
    assert trampoline.blocks == {}
    assert pool.freed == [MemBlock(0x2000, 4)]  # too small: handed back, not dropped


def test_a_too_small_block_whose_free_fails_reports_both(bridge: Any) -> None:
    trampoline, pool, _ = bridge
    pool.result = MemBlock(0x2000, 4)
    original = pool.free

    def failing_free(block: MemBlock) -> None:
        original(block)
        raise OSError("free failed")

    pool.free = failing_free  # type: ignore[method-assign]
    with collecting() as errors:
        assert trampoline.c_malloc(None, 8) is None
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert "free failed" in "".join(getattr(errors[0], "__notes__", []))
    assert pool.freed == [MemBlock(0x2000, 4)]


def test_unknown_blocks_are_reported(bridge: Any) -> None:
    trampoline, pool, _ = bridge
    with collecting() as errors:
        assert trampoline.c_get_addr(12345) is None
        trampoline.c_free(None, 12345)
    assert [type(e) for e in errors] == [RuntimeError, RuntimeError]
    assert "unknown block" in str(errors[0]) and "freed twice" in str(errors[1])
    assert pool.freed == []


def test_on_destroy_retires_the_trampoline(bridge: Any) -> None:
    trampoline, _, keeper = bridge
    trampoline.c_on_destroy(ctypes.c_void_p(trampoline.token).value)
    assert trampoline.destroyed and keeper.retired == [trampoline]


def test_refuse_reentry_only_inside_a_callback_of_this_thread(bridge: Any) -> None:
    trampoline, _, _ = bridge
    refuse_reentry(None, "anything")
    refuse_reentry(trampoline, "running a graph")  # nobody inside a callback
    trampoline.owner = threading.get_ident()
    try:
        with pytest.raises(RuntimeError, match="running a graph from inside a callback"):
            refuse_reentry(trampoline, "running a graph")
    finally:
        trampoline.owner = None
    trampoline.owner = -1  # another thread inside: GE's mutex makes this one wait
    try:
        refuse_reentry(trampoline, "running a graph")
    finally:
        trampoline.owner = None


def test_callbacks_are_reused_once_released_and_serve_their_new_trampoline(bridge: Any) -> None:
    first, pool, keeper = bridge
    callbacks = first.thunks
    other = Trampoline(Pool(), 0x5E01, keeper)
    assert other.thunks is not callbacks  # in use: never handed out twice
    first.release()  # what the registry does after OnDestroy
    first.release()  # once only
    assert first.thunks is None and callbacks.trampoline is None
    assert _allocator_bridge._idle.count(callbacks) == 1
    with pytest.raises(RuntimeError, match="released"):
        first.c_malloc  # noqa: B018
    second_pool = Pool()
    second = Trampoline(second_pool, 0x5E02, keeper)
    assert second.thunks is callbacks and callbacks.trampoline is second
    assert second.c_malloc is callbacks.c_malloc  # the same C function GE gets
    block_id = second.c_malloc(None, 16)
    assert second.blocks[block_id].size == 16 and first.blocks == {}
    second_pool.fail = OSError("second's free")
    second.c_free(None, block_id)  # no caller waiting: kept for the new registration's stream
    assert second_pool.freed and pool.freed == []
    assert keeper.deferred == [(0x5E02, second_pool.fail)]
    second.release()
    other.release()
