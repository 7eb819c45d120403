"""``CachingAllocator``: keeps freed blocks in size classes and hands them out again.

Thread safety without a lock on the warm path
---------------------------------------------

GE calls an allocator from any thread, and a warm round trip (a cached block
handed out, then given back) is the hot path: one lock taken twice cost as
much as the three C -> Python crossings around it. So the warm path takes no
lock; it is made only of operations that are atomic in CPython (each is one
call of a C function that runs no Python code, so the GIL, or a
free-threaded build's per-object lock, is held throughout):

* ``list.pop()`` takes a cached block out of its size class's free list: two
  threads never get the same one; an empty list raises ``IndexError`` (the
  slow path runs then);
* ``dict.__setitem__`` / ``dict.pop(addr)`` on the blocks in use, keyed by
  ``int`` addresses: of two frees of one block, one fails;
* ``list.append`` gives a block back and records an event in the *log*.

The counters are not updated in place on the warm path (``x += n`` is a read,
an add and a write: two threads lose updates). Each warm malloc or free
appends one ``int`` to the log: the change of the bytes in use times
``2**32``, plus 1 for a cache hit. Whoever holds ``_lock`` (the slow paths,
:meth:`stats`, a free that finds the log long) folds it, in the order the
events were appended, with C loops: the sum gives the new bytes in use and
the hits (the low 32 bits; a fold never sees ``2**32`` events), and the
maximum of the running sums the exact peak of that order (computed only when
the bytes held reached more than the peak since the last fold: the bytes in
use never exceed the bytes held). Events are logged
where they are already true: a free logs *before* the block goes back on its
list, so the hit of whoever takes it next comes later in the log and no block
is ever counted in use twice. A miss, and emptying the cache, change the
bytes held (in use + cached) and the misses under ``_lock``, and log under it
too, so a fold sees both or neither. The log is a list: ``del log[:n]``
drops the folded prefix in one C call while other threads append at its end.

``_lock`` is a leaf: ``inner`` is never called with it held.
``tests/reliability/test_caching_stress.py`` hammers all of this from many
threads in child processes (the switch interval at its minimum) and checks
that no block is handed out twice at a time and that every counter is exact.
"""

from __future__ import annotations

import itertools
import threading
from typing import NamedTuple

from ge._checks import as_size_t
from ge.allocator.allocator import Allocator, MemBlock
from ge.error import AclError

__all__ = ["AllocatorStats", "CachingAllocator", "size_class"]

_LANE = 1 << 32
"""An event is ``bytes_in_use_change * _LANE + hits``."""

_FOLD_AT = 4096
"""A free folds the log once it holds this many events (bounded memory)."""

_MAX_SIZES = 1024
"""At most this many distinct request sizes are remembered with their class."""

_accumulate = itertools.accumulate


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


_Entry = tuple[MemBlock, int, int, int]
"""A block with its size class, its hit event and its free event: made once per
block, moved between its class's free list and the blocks in use."""


class CachingAllocator(Allocator):
    """Keeps freed blocks in size classes and hands them out again.

    ``inner`` supplies the memory (for example :class:`AclAllocator`). When
    ``inner`` fails, the cache is emptied and the request tried once more.
    Thread-safe, without a lock when a cached block is reused (see the
    module's notes); ``inner`` is never called with the lock held.
    """

    def __init__(self, inner: Allocator) -> None:
        if not isinstance(inner, Allocator):
            raise TypeError("inner must be an Allocator instance")
        self.inner = inner
        self._lock = threading.Lock()
        self._free: dict[int, list[_Entry]] = {}
        """Size class -> its free list (created once, never replaced)."""
        self._by_size: dict[int, list[_Entry]] = {}
        """Request size (an ``int`` already checked) -> its class's free list."""
        self._in_use: dict[int, _Entry] = {}
        """Address -> the entry of the block handed out there."""
        self._log: list[int] = []
        self._bytes_in_use = 0
        self._bytes_held = 0
        self._held_high = 0
        """The most bytes held since the last fold: no point of the log folded
        next had more in use (so when it is not above the peak, the running
        sums need not be computed)."""
        self._hits = 0
        self._misses = 0
        self._peak = 0

    def malloc(self, size: int) -> MemBlock:
        """A cached block of ``size``'s class, else a new one from ``inner``."""
        if type(size) is int:  # the warm path: no lock (see the module's notes)
            bucket = self._by_size.get(size)
            if bucket:
                try:
                    entry = bucket.pop()
                except IndexError:  # another thread took the last one
                    pass
                else:
                    block = entry[0]
                    self._in_use[block._addr] = entry
                    self._log.append(entry[2])
                    return block
        return self._malloc_slow(size)

    def _malloc_slow(self, size: int) -> MemBlock:
        cls = size_class(size)  # checks size
        bucket = self._free.setdefault(cls, [])
        if len(self._by_size) < _MAX_SIZES:
            self._by_size[int(size)] = bucket
        try:
            entry = bucket.pop()
        except IndexError:
            pass
        else:
            self._in_use[entry[0]._addr] = entry
            self._log.append(entry[2])
            return entry[0]
        try:
            block = self.inner.malloc(cls)
        except AclError:
            self.empty_cache()
            block = self.inner.malloc(cls)
        if not isinstance(block, MemBlock) or block.size < cls:
            raise TypeError(f"the inner allocator must return a MemBlock of {cls} bytes or more")
        nbytes = block._size
        entry = (block, cls, nbytes * _LANE + 1, -nbytes * _LANE)
        with self._lock:
            self._in_use[block._addr] = entry
            self._bytes_held += nbytes
            if self._bytes_held > self._held_high:
                self._held_high = self._bytes_held
            self._misses += 1
            self._log.append(nbytes * _LANE)  # in use, not a hit
        return block

    def free(self, block: MemBlock) -> None:
        """Return a block to the cache (``ValueError`` if it is not in use here)."""
        try:
            entry = self._in_use.pop(block._addr)
        except Exception:  # not a MemBlock, or not in use
            entry = None
        # ``is`` first: the trampoline hands back the very block malloc returned.
        if entry is None or (entry[0] is not block and entry[0] != block):
            if entry is not None:  # another block at that address: leave it in use
                self._in_use[block._addr] = entry
            raise ValueError(f"{block!r} was not allocated by this CachingAllocator")
        log = self._log
        log.append(entry[3])  # before the block can be taken again
        self._free[entry[1]].append(entry)
        if len(log) >= _FOLD_AT and self._lock.acquire(blocking=False):
            try:
                self._fold()
            finally:
                self._lock.release()

    def _fold(self) -> None:
        """Apply the logged events to the counters, in order (``_lock`` held)."""
        log = self._log
        count = len(log)
        if not count:
            return
        events = log[:count]
        del log[:count]  # others only append: the first ``count`` are these
        start = self._bytes_in_use * _LANE
        if self._held_high > self._peak:  # a new peak is possible: find it
            peak = max(_accumulate(events, initial=start)) // _LANE
            if peak > self._peak:
                self._peak = peak
        self._held_high = self._bytes_held
        self._bytes_in_use, hits = divmod(start + sum(events), _LANE)
        self._hits += hits

    def empty_cache(self) -> None:
        """Give every cached block back to ``inner``."""
        blocks: list[MemBlock] = []
        with self._lock:
            for bucket in list(self._free.values()):
                while True:
                    try:
                        blocks.append(bucket.pop()[0])
                    except IndexError:
                        break
            self._bytes_held -= sum(block._size for block in blocks)
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
            self._fold()
            return AllocatorStats(
                self._bytes_in_use,
                self._bytes_held - self._bytes_in_use,
                self._hits,
                self._misses,
                self._peak,
            )
