"""``CachingAllocator``: keeps freed blocks in size classes and hands them out again."""

from __future__ import annotations

import threading
from typing import NamedTuple

from ge._checks import as_size_t
from ge.allocator.allocator import Allocator, MemBlock
from ge.error import AclError

__all__ = ["AllocatorStats", "CachingAllocator", "size_class"]


class AllocatorStats(NamedTuple):
    """Counters of a :class:`CachingAllocator`."""

    bytes_in_use: int
    bytes_cached: int
    hits: int
    misses: int
    peak_bytes_in_use: int


def size_class(size: int) -> int:
    """The size a request is rounded up to: 512-byte steps up to 1 MiB, then
    four classes per power of two (at most 25% waste)."""
    size = as_size_t(size, "size")
    if size <= 512:
        return 512
    if size <= 1 << 20:
        return (size + 511) & ~511
    step = 1 << ((size - 1).bit_length() - 3)
    return (size + step - 1) & ~(step - 1)


class CachingAllocator(Allocator):
    """Keeps freed blocks in size classes and hands them out again.

    ``inner`` supplies the memory (for example :class:`AclAllocator`). When
    ``inner`` fails, the cache is emptied and the request tried once more.
    Thread-safe; ``inner`` is never called with the lock held.
    """

    def __init__(self, inner: Allocator) -> None:
        if not isinstance(inner, Allocator):
            raise TypeError("inner must be an Allocator instance")
        self.inner = inner
        self._lock = threading.Lock()
        self._free: dict[int, list[MemBlock]] = {}
        self._in_use: dict[int, tuple[MemBlock, int]] = {}
        self._bytes_in_use = 0
        self._bytes_cached = 0
        self._hits = 0
        self._misses = 0
        self._peak = 0

    def malloc(self, size: int) -> MemBlock:
        """A cached block of ``size``'s class, else a new one from ``inner``."""
        cls = size_class(size)  # checks size
        with self._lock:
            bucket = self._free.get(cls)
            if bucket:  # the hot path: plain slot reads, no helper calls
                block = bucket.pop()
                nbytes = block._size
                self._bytes_cached -= nbytes
                self._hits += 1
                self._in_use[block._addr] = (block, cls)
                in_use = self._bytes_in_use + nbytes
                self._bytes_in_use = in_use
                if in_use > self._peak:
                    self._peak = in_use
                return block
            self._misses += 1
        try:
            block = self.inner.malloc(cls)
        except AclError:
            self.empty_cache()
            block = self.inner.malloc(cls)
        if not isinstance(block, MemBlock) or block.size < cls:
            raise TypeError(f"the inner allocator must return a MemBlock of {cls} bytes or more")
        with self._lock:
            self._take(block, cls)
        return block

    def _take(self, block: MemBlock, cls: int) -> None:
        self._in_use[block.addr] = (block, cls)
        self._bytes_in_use += block.size
        if self._bytes_in_use > self._peak:
            self._peak = self._bytes_in_use

    def free(self, block: MemBlock) -> None:
        """Return a block to the cache (``ValueError`` if it is not in use here)."""
        with self._lock:
            entry = self._in_use.get(block._addr) if isinstance(block, MemBlock) else None
            # ``is`` first: the trampoline hands back the very block malloc returned.
            if entry is None or (entry[0] is not block and entry[0] != block):
                raise ValueError(f"{block!r} was not allocated by this CachingAllocator")
            del self._in_use[block._addr]
            nbytes = block._size
            self._bytes_in_use -= nbytes
            self._bytes_cached += nbytes
            bucket = self._free.get(entry[1])
            if bucket is None:
                self._free[entry[1]] = [block]
            else:
                bucket.append(block)

    def empty_cache(self) -> None:
        """Give every cached block back to ``inner``."""
        with self._lock:
            blocks = [b for bucket in self._free.values() for b in bucket]
            self._free.clear()
            self._bytes_cached = 0
        errors = []
        for block in blocks:
            try:
                self.inner.free(block)
            except Exception as exc:
                errors.append(exc)
        if errors:
            raise errors[0]

    def stats(self) -> AllocatorStats:
        """Bytes in use and cached, cache hits and misses, peak bytes in use."""
        with self._lock:
            return AllocatorStats(
                self._bytes_in_use, self._bytes_cached, self._hits, self._misses, self._peak
            )
