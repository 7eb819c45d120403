"""``CachingAllocator`` under many threads, run in a child by reliability/test_caching_stress.py.

Usage: ``python caching_stress.py SCENARIO ITERATIONS TIMEOUT``. The switch
interval is at its minimum, so that threads are preempted between any two
bytecodes of the lock-free warm path. Scenarios:

* ``direct``: threads call ``malloc``/``free`` (few size classes, several
  blocks held at once, so the free lists are often empty and the slow path
  races the warm one), while one thread reads ``stats()`` (folding the event
  log concurrently with the appends) and another calls ``empty_cache()``.
  Checked: no address is held by two threads at once; ``stats()`` is never
  inconsistent while running; at the end hits + misses = mallocs, nothing in
  use, the cached bytes are exactly the inner allocator's live bytes, the
  peak is at least what one thread held and at most what all could.
* ``direct_yielding``: the same with a trace function that, at random lines
  of ``ge/allocator/caching.py``, gives the GIL away (``time.sleep(0)``): the
  other threads run between any two lines of the allocator, where a bare
  switch interval would preempt only at calls and loops.
* ``double_free``: two threads free the same block at once, again and again:
  exactly one succeeds, the other gets ``ValueError``, the accounting stays
  exact.
* ``through_ge``: one ``CachingAllocator`` registered on four streams (GE's
  per-allocator mutex does not serialise them), threads running graphs
  asynchronously on each through the trampolines; at the end every block GE
  took was given back, and every native count is zero.

On success the last line of stdout is a JSON summary and the exit status 0; a
failed check exits 1 with the traceback; a hang dumps every thread's stack and
exits 3.
"""

from __future__ import annotations

import faulthandler
import json
import random
import sys
import threading
import time
import traceback
from typing import Any, Callable

import numpy as np
from _threads import run_threads

import ge
import ge.acl
from ge.allocator import AclAllocator, Allocator, CachingAllocator, MemBlock
from ge.testing import stub_control

SIZES = (100, 512, 600, 4096, 5000, 3 << 20)
"""Requests: two share the 512-byte class, one is above 1 MiB."""


class Device(Allocator):
    """Fake device memory: distinct addresses, live blocks tracked (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next = 0x10000
        self.live: dict[int, int] = {}

    def malloc(self, size: int) -> MemBlock:
        with self.lock:
            addr, self.next = self.next, self.next + size + 4096
            self.live[addr] = size
        return MemBlock(addr, size)

    def free(self, block: MemBlock) -> None:
        with self.lock:
            assert self.live.pop(block.addr) == block.size


def direct(n: int, deadline: float) -> dict[str, Any]:
    device = Device()
    cache = CachingAllocator(device)
    owners: dict[int, int] = {}
    mallocs = [0] * 4
    most_held = [0] * 4
    done = threading.Event()
    observed = {"stats": 0, "emptied": 0}

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            rng = random.Random(k)
            held: list[MemBlock] = []
            for _ in range(n * 20):
                if len(held) < 6 and (not held or rng.random() < 0.55):
                    block = cache.malloc(rng.choice(SIZES))
                    mallocs[k] += 1
                    assert owners.setdefault(block.addr, k) == k, "handed out twice at once"
                    held.append(block)
                    most_held[k] = max(most_held[k], sum(b.size for b in held))
                else:
                    block = held.pop(rng.randrange(len(held)))
                    assert owners.pop(block.addr) == k
                    cache.free(block)
            for block in held:
                assert owners.pop(block.addr) == k
                cache.free(block)

        return body

    def reader() -> None:
        last = 0
        while not done.is_set():
            stats = cache.stats()
            assert stats.bytes_in_use >= 0 and stats.bytes_cached >= 0, stats
            assert stats.peak_bytes_in_use >= stats.bytes_in_use, stats
            assert stats.hits + stats.misses >= last, stats
            last = stats.hits + stats.misses
            observed["stats"] += 1

    def emptier() -> None:
        while not done.is_set():
            cache.empty_cache()
            observed["emptied"] += 1
            time.sleep(0.001)

    workers = [worker(k) for k in range(4)]

    def all_workers() -> None:
        try:
            run_threads(workers, deadline)
        finally:
            done.set()

    run_threads([all_workers, reader, emptier], deadline)
    stats = cache.stats()
    total = sum(mallocs)
    assert stats.hits + stats.misses == total, (stats, total)
    assert stats.bytes_in_use == 0, stats
    assert stats.bytes_cached == sum(device.live.values()), (stats, device.live)
    assert max(most_held) <= stats.peak_bytes_in_use <= sum(most_held), (stats, most_held)
    cache.empty_cache()
    assert device.live == {} and cache.stats().bytes_cached == 0
    return {"mallocs": total, "hits": stats.hits, "misses": stats.misses, **observed}


def direct_yielding(n: int, deadline: float) -> dict[str, Any]:
    import ge.allocator.caching as caching

    target = caching.__file__
    rng = random.Random(7)
    yields = [0]

    def in_caching(frame: Any, event: str, arg: Any) -> Any:
        if event == "line" and rng.random() < 0.3:
            yields[0] += 1
            time.sleep(0)  # another thread runs now
        return in_caching

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        return in_caching if frame.f_code.co_filename == target else None

    threading.settrace(tracer)
    try:
        summary = direct(max(1, n // 4), deadline)
    finally:
        threading.settrace(None)  # type: ignore[arg-type]
    return {**summary, "yields": yields[0]}


def double_free(n: int, deadline: float) -> dict[str, Any]:
    device = Device()
    cache = CachingAllocator(device)
    rounds = n * 5
    outcomes: list[str] = []
    for _ in range(rounds):
        block = cache.malloc(4096)
        barrier = threading.Barrier(2)
        results: list[str] = []

        def free_it(
            block: MemBlock = block, barrier: Any = barrier, results: list[str] = results
        ) -> None:
            barrier.wait()
            try:
                cache.free(block)
                results.append("ok")
            except ValueError:
                results.append("refused")

        run_threads([free_it, free_it], deadline)
        assert sorted(results) == ["ok", "refused"], results
        outcomes.extend(results)
    stats = cache.stats()
    assert stats.bytes_in_use == 0 and stats.hits + stats.misses == rounds, stats
    assert stats.bytes_cached == sum(device.live.values()) == 4096, (stats, device.live)
    cache.empty_cache()
    return {"rounds": rounds}


def through_ge(n: int, deadline: float) -> dict[str, Any]:
    cache = CachingAllocator(AclAllocator())
    session = ge.Session()
    with ge.GraphBuilder("fma") as builder:
        x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
        y = builder.input(1, ge.DataType.DT_FLOAT, (2, 3))
        graph = builder.build([(x + y) * x, x])
    streams = [ge.acl.Stream() for _ in range(4)]
    for k, stream in enumerate(streams):
        session.register_external_allocator(stream, cache)
        session.add_graph(k, graph)
    graph.close()
    runs = [0] * 4

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            stream = streams[k]
            a = np.full((2, 3), k, np.float32)
            with ge.Tensor.from_numpy(a) as t:
                for _ in range(n):
                    outputs = session.run_graph_with_stream_async(k, stream, [t, t])
                    stream.synchronize()
                    assert np.array_equal(outputs[0].numpy(), (a + a) * a)
                    for out in outputs:
                        out.close()
                    runs[k] += 1

        return body

    run_threads([worker(k) for k in range(4)], deadline)
    for k, stream in enumerate(streams):
        session.remove_graph(k)
        session.unregister_external_allocator(stream)
        stream.destroy()
    session.close()
    stats = cache.stats()
    assert stats.bytes_in_use == 0, stats
    assert stats.hits > 0 and stats.hits + stats.misses >= sum(runs), stats
    cache.empty_cache()
    return {"runs": sum(runs), "hits": stats.hits, "misses": stats.misses}


SCENARIOS = {
    "direct": direct,
    "direct_yielding": direct_yielding,
    "double_free": double_free,
    "through_ge": through_ge,
}


def main() -> None:
    name, iterations, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    sys.setswitchinterval(1e-6)
    deadline = time.monotonic() + timeout
    faulthandler.dump_traceback_later(timeout + 5, exit=True, file=sys.stdout)
    if name != "through_ge":
        summary = SCENARIOS[name](iterations, deadline)
    else:
        stub = stub_control()
        ge.acl.init()
        device = ge.acl.Device(0)
        device.set()
        ge.initialize({"ge.exec.deviceId": "0"})
        summary = through_ge(iterations, deadline)
        ge.finalize()
        device.reset()
        ge.acl.finalize()
        counts = stub.live_counts()
        assert counts == dict.fromkeys(counts, 0), counts
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps(summary))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc(file=sys.stdout)
        sys.exit(1)
