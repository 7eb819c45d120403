"""2. The allocator trampoline: a GE malloc + free round trip into Python.

Method: GE calls a registered allocator through four C function pointers.
The benchmark registers an allocator with
``Session.register_external_allocator`` and takes the C addresses of the
registration's callbacks (``MallocFn``, ``GetAddrFn``, ``FreeFn``); it then
calls them from Python through ctypes *foreign* function pointers made from
those addresses, in GE's order: ``block = malloc(NULL, size)``,
``get_addr(block)``, ``free(NULL, block)``. Each call goes Python -> libffi ->
the CFUNCTYPE thunk -> Python, as a call from GE's C code does (plus the
same outbound ctypes call on every side).

The baseline is the same three calls, made the same way, to CFUNCTYPE
callbacks of no-op Python functions with the same signatures: the cost of
crossing C -> Python three times and nothing else.

A second comparison runs a graph (``run_graph_with_stream_async``, one
output, then ``synchronize`` and ``close``) with a ``CachingAllocator`` on
one stream against GE's built-in C allocator on another stream: the
trampoline's cost in place, as GE itself calls it.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, Optional

import ge
import ge.acl
from benchmarks._env import ge_ready, small_inputs, sum_graph
from benchmarks._report import Row
from benchmarks._timing import Case, Plan, interleaved
from ge import _allocator_registry
from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn
from ge.allocator import AclAllocator, Allocator, CachingAllocator, MemBlock

FAMILY = "allocator"
REQUEST = 4096
"""Bytes asked for in each round trip."""
CACHING_TARGET = 2.0
"""CachingAllocator warm round trip: within 2x the bare CFUNCTYPE calls."""

NOTES = [
    "allocator: GE's round trip is MallocFn -> GetAddrFn -> FreeFn. Both sides call the C "
    "addresses of CFUNCTYPE callbacks through ctypes foreign function pointers from Python "
    "(Python -> libffi -> thunk -> Python, as from GE's C code). Wrapper = the trampolines "
    "that Session.register_external_allocator installed; baseline = CFUNCTYPE callbacks of "
    "no-op Python functions with the same signatures, called the same way (3 calls each).",
    "allocator: 'Python Allocator' returns one pre-allocated MemBlock and frees nothing "
    "(the trampoline's own cost); 'CachingAllocator warm' reuses a cached block every time; "
    "'AclAllocator' calls aclrtMalloc/aclrtFree each time.",
    "allocator (in a graph run): run_graph_with_stream_async + synchronize + close, one "
    "4 KiB output, CachingAllocator on one stream vs GE's built-in C allocator on another.",
]


class FixedBlock(Allocator):
    """Hands out the same pre-allocated block every time and frees nothing."""

    def __init__(self, block: MemBlock) -> None:
        self.block = block

    def malloc(self, size: int) -> MemBlock:
        """The one block (it is big enough for every request of the benchmark)."""
        return self.block

    def free(self, block: MemBlock) -> None:
        """Nothing to do."""


def _foreign(prototype: Any, callback: Any) -> Any:
    """A ctypes foreign function pointer to the C address of ``callback``."""
    return prototype(ctypes.cast(callback, ctypes.c_void_p).value)


def _round_trip(c_malloc: Any, c_get_addr: Any, c_free: Any) -> Callable[[], None]:
    """GE's sequence through the C addresses of the three callbacks (which the
    returned function keeps alive: a freed thunk would crash the call)."""
    malloc = _foreign(MallocFn, c_malloc)
    get_addr = _foreign(GetAddrFn, c_get_addr)
    free = _foreign(FreeFn, c_free)
    keep_alive = (c_malloc, c_get_addr, c_free)

    def round_trip(_keep_alive: object = keep_alive) -> None:
        block = malloc(None, REQUEST)
        if not block or not get_addr(block):
            raise RuntimeError("the allocator failed")
        free(None, block)

    return round_trip


def _noop_malloc(obj: Optional[int], size: int) -> int:
    return 1


def _noop_get_addr(block: Optional[int]) -> int:
    return 1


def _noop_free(obj: Optional[int], block: Optional[int]) -> None:
    return None


class _Registered:
    """An allocator registered on its own stream, and its trampoline's round trip."""

    def __init__(self, session: ge.Session, allocator: Allocator) -> None:
        self.session = session
        self.allocator = allocator
        self.stream = ge.acl.Stream()
        session.register_external_allocator(self.stream, allocator)
        registration = _allocator_registry.registry.current[self.stream.handle]
        trampoline = registration.trampoline
        if trampoline is None:
            raise RuntimeError("no trampoline was registered")
        self.round_trip = _round_trip(trampoline.c_malloc, trampoline.c_get_addr, trampoline.c_free)

    def close(self) -> None:
        self.session.unregister_external_allocator(self.stream)
        self.stream.close()


def _graph_runs(plan: Plan, session: ge.Session, rows: list[Row]) -> None:
    """CachingAllocator against GE's C allocator inside a real async run."""
    gid = 1
    shape = (REQUEST // 4,)
    with sum_graph(1, shape) as graph:
        session.add_graph(gid, graph)
    inputs = small_inputs(1, shape)
    caching = CachingAllocator(AclAllocator())
    with ge.acl.Stream() as own, ge.acl.Stream() as builtin:
        session.register_external_allocator(own, caching)

        def run_on(stream: ge.acl.Stream) -> Callable[[], None]:
            def once() -> None:
                outputs = session.run_graph_with_stream_async(gid, stream, inputs)
                stream.synchronize()
                for tensor in outputs:
                    tensor.close()

            return once

        try:
            timings = interleaved(
                [
                    Case("CachingAllocator (Python trampoline)", run_on(own)),
                    Case("GE built-in allocator (C)", run_on(builtin)),
                ],
                plan,
            )
        finally:
            session.unregister_external_allocator(own)
            caching.empty_cache()
            for tensor in inputs:
                tensor.close()
            session.remove_graph(gid)
    stats = caching.stats()
    rows.append(
        Row.from_timings(
            FAMILY,
            "async run: CachingAllocator vs C allocator",
            "4 KiB output",
            timings[0],
            timings[1],
            extra={"cache_hits": stats.hits, "cache_misses": stats.misses},
        )
    )


def run(quick: bool) -> list[Row]:
    """Round trips through three Python allocators against no-op CFUNCTYPE calls."""
    plan = Plan(rounds=31 if quick else 101, warmup=500, batch_ns=5_000_000)
    rows: list[Row] = []
    with ge_ready(), ge.Session() as session:
        noop = _round_trip(MallocFn(_noop_malloc), GetAddrFn(_noop_get_addr), FreeFn(_noop_free))
        backing = AclAllocator()
        fixed_block = backing.malloc(REQUEST)
        caching = CachingAllocator(AclAllocator())
        registered = [
            _Registered(session, FixedBlock(fixed_block)),
            _Registered(session, caching),
            _Registered(session, AclAllocator()),
        ]
        try:
            timings = interleaved(
                [
                    Case("no-op CFUNCTYPE malloc/get_addr/free", noop),
                    Case("Python Allocator (fixed block)", registered[0].round_trip),
                    Case("CachingAllocator, warm cache", registered[1].round_trip),
                    Case("AclAllocator (aclrtMalloc/aclrtFree)", registered[2].round_trip),
                ],
                plan,
            )
        finally:
            for item in registered:
                item.close()
            caching.empty_cache()
            backing.free(fixed_block)
        baseline = timings[0]
        stats = caching.stats()
        rows.append(
            Row.from_timings(FAMILY, "trampoline: Python Allocator", "4 KiB", timings[1], baseline)
        )
        rows.append(
            Row.from_timings(
                FAMILY,
                "trampoline: CachingAllocator warm",
                "4 KiB",
                timings[2],
                baseline,
                target=CACHING_TARGET,
                extra={"cache_hits": stats.hits, "cache_misses": stats.misses},
            )
        )
        rows.append(
            Row.from_timings(FAMILY, "trampoline: AclAllocator", "4 KiB", timings[3], baseline)
        )
        _graph_runs(plan, session, rows)
    return rows
