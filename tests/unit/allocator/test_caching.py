"""``MemBlock`` and ``CachingAllocator``, no GE involved."""

from __future__ import annotations

from typing import Any

import pytest
from _helpers.threads import run_threads
from hypothesis import given
from hypothesis import strategies as st

from ge.allocator import (
    AclAllocator,
    Allocator,
    CachingAllocator,
    MemBlock,
    size_class,
)


def test_memblock_is_read_only_and_checked() -> None:
    block = MemBlock(0x1000, 64)
    assert (block.addr, block.size) == (0x1000, 64)
    with pytest.raises(AttributeError):
        block.addr = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        MemBlock("1", 2)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MemBlock(1, True)
    with pytest.raises(ValueError):
        MemBlock(-1, 2)
    assert MemBlock(1, 2) == MemBlock(1, 2) and len({MemBlock(1, 2), MemBlock(1, 2)}) == 1


class FakeDevice(Allocator):
    """Hands out fake addresses and records every call."""

    def __init__(self) -> None:
        self.next = 0x10000
        self.live: dict[int, int] = {}
        self.calls: list[tuple[str, int]] = []

    def malloc(self, size: int) -> MemBlock:
        addr, self.next = self.next, self.next + size + 4096
        self.live[addr] = size
        self.calls.append(("malloc", size))
        return MemBlock(addr, size)

    def free(self, block: MemBlock) -> None:
        assert self.live.pop(block.addr) == block.size
        self.calls.append(("free", block.size))


@given(st.integers(1, 2**40))
def test_size_classes_cover_the_request_with_little_waste(size: int) -> None:
    cls = size_class(size)
    assert cls >= size and cls >= 512
    if size <= 1 << 20:
        assert cls - size < 512 and cls % 512 == 0
    else:
        assert cls <= size * 1.25
    assert size_class(cls) == cls


def test_caching_allocator_reuses_blocks_and_counts() -> None:
    inner = FakeDevice()
    cache = CachingAllocator(inner)
    a = cache.malloc(1000)
    assert a.size == 1024
    cache.free(a)
    b = cache.malloc(900)
    assert b == a
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.bytes_in_use, stats.bytes_cached) == (1, 1, 1024, 0)
    c = cache.malloc(5000)
    assert cache.stats().peak_bytes_in_use == 1024 + c.size
    cache.free(b)
    cache.free(c)
    assert cache.stats().bytes_cached == 1024 + c.size
    with pytest.raises(ValueError, match="not allocated"):
        cache.free(c)
    cache.empty_cache()
    assert inner.live == {} and cache.stats().bytes_cached == 0


@given(st.lists(st.tuples(st.booleans(), st.integers(1, 1 << 22)), max_size=60))
def test_caching_allocator_accounting_matches_a_model(ops: list[tuple[bool, int]]) -> None:
    inner = FakeDevice()
    cache = CachingAllocator(inner)
    held: list[MemBlock] = []
    peak = 0
    for is_malloc, size in ops:
        if is_malloc or not held:
            block = cache.malloc(size)
            assert block.size >= size
            assert all(block.addr != h.addr for h in held)
            held.append(block)
            peak = max(peak, sum(b.size for b in held))
        else:
            cache.free(held.pop(size % len(held)))
            if size % 7 == 0:
                cache.empty_cache()
        stats = cache.stats()
        assert stats.bytes_in_use == sum(b.size for b in held)
        assert stats.bytes_in_use + stats.bytes_cached == sum(inner.live.values())
        assert stats.peak_bytes_in_use == peak
    for block in held:
        cache.free(block)
    cache.empty_cache()
    assert inner.live == {}


def test_caching_allocator_retries_after_emptying_on_out_of_memory(acl_ready: Any) -> None:
    acl_ready.set_memory_limit(4096)
    cache = CachingAllocator(AclAllocator())
    a = cache.malloc(2048)
    cache.free(a)  # cached: 2048 of the 4096 bytes
    b = cache.malloc(3000)  # needs the cache emptied first
    assert cache.stats().bytes_cached == 0
    cache.free(b)
    cache.empty_cache()


def test_caching_allocator_is_thread_safe() -> None:
    inner = FakeDevice()
    cache = CachingAllocator(inner)

    def work() -> None:
        for i in range(300):
            blocks = [cache.malloc(512 * (1 + (i + j) % 5)) for j in range(4)]
            for block in blocks:
                cache.free(block)

    run_threads(work, [()] * 4)
    stats = cache.stats()
    assert stats.bytes_in_use == 0 and stats.hits + stats.misses == 4 * 300 * 4
    cache.empty_cache()
    assert inner.live == {}


def test_caching_allocator_event_log_stays_bounded_and_exact() -> None:
    """The warm path logs events instead of counting under a lock; frees fold the log."""
    from ge.allocator import caching

    inner = FakeDevice()
    cache = CachingAllocator(inner)
    first, second = cache.malloc(4096), cache.malloc(100)
    cache.free(first)
    for _ in range(3 * caching._FOLD_AT):
        cache.free(cache.malloc(4096))
        assert len(cache._log) <= caching._FOLD_AT
    stats = cache.stats()
    assert stats == (512, 4096, 3 * caching._FOLD_AT, 2, 4096 + 512)
    cache.free(second)
    cache.empty_cache()
    assert inner.live == {} and cache.stats().bytes_cached == 0
