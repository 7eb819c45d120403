"""Reliability: the C callbacks of allocator registrations are reused (issue 13, phase 3).

Making the four ``CFUNCTYPE`` callbacks was most of the cost of
``register_external_allocator``; a registration now takes an idle set from a
pool (``ge._allocator_bridge``) and gives it back once GE called OnDestroy.
What must still hold, each checked here with a test that fails if reuse
breaks it:

* errors of a reused set's callbacks reach the call of the registration it
  now serves (the run that caused them, or that registration's stream), never
  the registration it served before;
* an allocator registered, unregistered and registered again works;
* nothing GE may still call is reused or freed: a registration GE still holds
  through a block (an output, a loaded graph's memory) keeps its callbacks,
  whatever registrations come and go meanwhile (the strict stand-in and its
  live counters catch a call through a freed callback or a leaked block);
* registrations from many threads at once: every block freed exactly once by
  the allocator that made it, the registry and GE agree, the pool holds each
  idle set once.
"""

from __future__ import annotations

import ctypes
import gc
import sys
import threading
from collections.abc import Iterator
from typing import Any, Optional

import numpy as np
import pytest
from _helpers.threads import run_threads

import ge
import ge.acl
from ge import _allocator_bridge
from ge._allocator_registry import registry
from ge._ffi import api
from ge.allocator import AclAllocator, Allocator, MemBlock

X = np.arange(6, dtype=np.float32).reshape(2, 3)


class Counting(Allocator):
    """``aclrtMalloc`` memory; counts, and can be told to fail."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner = AclAllocator()
        self.out: dict[int, MemBlock] = {}
        self.mallocs = 0
        self.frees = 0
        self.errors: list[str] = []
        self.fail_malloc: Optional[BaseException] = None
        self.fail_free: Optional[BaseException] = None
        self.lock = threading.Lock()

    def malloc(self, size: int) -> MemBlock:
        if self.fail_malloc is not None:
            raise self.fail_malloc
        block = self.inner.malloc(size)
        with self.lock:
            self.mallocs += 1
            self.out[block.addr] = block
        return block

    def free(self, block: MemBlock) -> None:
        with self.lock:
            self.frees += 1
            if self.out.pop(block.addr, None) is None:
                self.errors.append(f"{self.name} freed a block it never made: {block!r}")
        self.inner.free(block)
        if self.fail_free is not None:
            raise self.fail_free


def _address(callback: Any) -> int:
    return int(ctypes.cast(callback, ctypes.c_void_p).value or 0)


def _graph(session: ge.Session, gid: int = 1) -> None:
    with ge.GraphBuilder("g") as builder:
        x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
        graph = builder.build([x + x])
    with graph:
        session.add_graph(gid, graph)


def _run(session: ge.Session, stream: ge.acl.Stream, gid: int = 1) -> list[ge.Tensor]:
    with ge.Tensor.from_numpy(X) as x:
        return session.run_graph_with_stream_async(gid, stream, [x])


def _check_output(stream: ge.acl.Stream, outputs: list[ge.Tensor]) -> None:
    stream.synchronize()
    for out in outputs:
        with out:
            np.testing.assert_array_equal(out.numpy(), X + X)


def _idle_pool_is_sound() -> None:
    """Each idle set once in the pool, pointing at nothing; no live trampoline's set idle."""
    idle = _allocator_bridge._idle
    assert len({id(t) for t in idle}) == len(idle), "an idle set is in the pool twice"
    assert all(t.trampoline is None for t in idle)
    live = {id(t.thunks) for t in registry.alive.values()}
    assert not live & {id(t) for t in idle}, "a set GE may still call is idle"


@pytest.fixture
def two_streams(ge_ready: Any) -> Iterator[tuple[ge.acl.Stream, ge.acl.Stream]]:
    with ge.acl.Stream() as first, ge.acl.Stream() as second:
        yield first, second


def test_a_reused_set_reports_to_the_calls_of_its_new_registration(
    ge_stub: Any, two_streams: tuple[ge.acl.Stream, ge.acl.Stream]
) -> None:
    s1, s2 = two_streams
    a, b = Counting("a"), Counting("b")
    with ge.Session() as one, ge.Session() as two:
        one.register_external_allocator(s1, a)
        used = _address(registry.current[s1.handle].trampoline.c_malloc)  # type: ignore[union-attr]
        one.unregister_external_allocator(s1)  # OnDestroy: its callbacks are idle again
        two.register_external_allocator(s2, b)
        trampoline = registry.current[s2.handle].trampoline
        assert trampoline is not None and _address(trampoline.c_malloc) == used  # reused
        _graph(two)
        # a failure in the callback of the run on s2 is raised by that run ...
        b.fail_malloc = MemoryError("b is exhausted")
        with pytest.raises(ge.GeError) as info:
            _run(two, s2)
        assert info.value.__cause__ is b.fail_malloc
        b.fail_malloc = None
        assert registry.take_deferred(s1.handle) == [] == registry.take_deferred(s2.handle)
        # ... and one with no caller waiting (an output dropped by the collector:
        # its FreeFn runs detached) is kept for s2, the stream it now serves
        outputs = _run(two, s2)
        s2.synchronize()
        b.fail_free = OSError("b cannot free")
        del outputs
        gc.collect()
        assert registry._deferred.get(s1.handle) is None
        with pytest.raises(OSError, match="b cannot free"):
            two.unregister_external_allocator(s2)  # the next session call on s2
        b.fail_free = None
        two.remove_graph(1)
    assert a.mallocs == 0 and b.mallocs == b.frees > 0 and a.errors == b.errors == []
    _idle_pool_is_sound()


def test_register_unregister_register_again(
    ge_stub: Any, two_streams: tuple[ge.acl.Stream, ge.acl.Stream]
) -> None:
    s1, s2 = two_streams
    alloc = Counting("a")
    with ge.Session() as session:
        _graph(session)
        for _ in range(3):
            for stream in (s1, s2):
                session.register_external_allocator(stream, alloc)
                _check_output(stream, _run(session, stream))
                session.unregister_external_allocator(stream)
                assert not api.GeApiWrapper_HasExternalAllocator(stream)
        # the first registration still lends the graph GE loaded with it its memory
        assert ge_stub.callback_counts()["on_destroy"] == 5
        session.remove_graph(1)
    counts = ge_stub.callback_counts()
    assert alloc.mallocs == alloc.frees == counts["malloc"] == counts["free"] > 6
    assert counts["on_destroy"] == 6 and alloc.errors == [] and alloc.out == {}
    _idle_pool_is_sound()


@pytest.mark.parametrize("holder", ["output", "loaded graph", "session"])
def test_callbacks_ge_still_holds_are_never_reused(
    ge_stub: Any, two_streams: tuple[ge.acl.Stream, ge.acl.Stream], holder: str
) -> None:
    """Unregistered, but GE still holds the allocator (a block is out: an output, or
    the memory of a graph loaded with it, which goes with the graph or with its
    session): registrations coming and going meanwhile (through another session)
    never get its callbacks, and its blocks' FreeFn reaches it (a reused set
    would send them to another allocator, which never made them, or through a
    freed callback: the strict stand-in aborts)."""
    s1, s2 = two_streams
    held, other = Counting("held"), Counting("other")
    with ge.Session() as churn:
        session = ge.Session()
        _graph(session)
        if holder == "output":  # GE loads the graph (its own memory) with its default
            _check_output(s2, _run(session, s2))
        session.register_external_allocator(s1, held)
        trampoline = registry.current[s1.handle].trampoline
        assert trampoline is not None
        thunks = trampoline.thunks
        outputs = _run(session, s1)
        if holder != "output":  # the graph's memory is all that stays out
            _check_output(s1, outputs)
        session.unregister_external_allocator(s1)
        assert ge_stub.callback_counts()["on_destroy"] == 0 and not trampoline.destroyed
        for _ in range(5):
            churn.register_external_allocator(s2, other)
            assert registry.current[s2.handle].trampoline.thunks is not thunks  # type: ignore[union-attr]
            churn.unregister_external_allocator(s2)
            gc.collect()
            _idle_pool_is_sound()
        assert trampoline.thunks is thunks and thunks.trampoline is trampoline
        assert ge_stub.callback_counts()["on_destroy"] == 5  # not the held one
        if holder == "output":
            _check_output(s1, outputs)  # the FreeFn of its last block, then OnDestroy
        elif holder == "loaded graph":
            session.remove_graph(1)  # the graph's memory: its last blocks
        assert ge_stub.callback_counts()["on_destroy"] == (5 if holder == "session" else 6)
        session.close()  # (for "session": the graphs go with it, and their memory)
        assert trampoline.destroyed and ge_stub.callback_counts()["on_destroy"] == 6
    assert held.mallocs == held.frees > 0 and held.out == {}
    assert held.errors == other.errors == [] and other.mallocs == 0
    _idle_pool_is_sound()


def test_a_refused_registration_gives_its_callbacks_back(
    ge_stub: Any, ge_ready: Any, stream: Any
) -> None:
    with ge.Session() as session:
        ge_stub.fail_next("GeApiWrapper_Session_RegisterExternalAllocator", 0xFFFFFFFF)
        idle = len(_allocator_bridge._idle)
        with pytest.raises(ge.GeError):
            session.register_external_allocator(stream, Counting("a"))
        assert len(_allocator_bridge._idle) == max(idle, 1)  # taken, then given back
        assert registry.alive == {} and stream.handle not in registry.current
        _idle_pool_is_sound()


THREADS = 4
ROUNDS = 30
RACE_ROUNDS = 300


def _registry_agrees_with_ge(streams: list[ge.acl.Stream]) -> None:
    """What the registry says is registered on each stream is what GE has: a
    registration it records is one GE still holds (not replaced: its OnDestroy
    has not come), and a stream it records nothing for has nothing in GE."""
    for stream in streams:
        registration = registry.current.get(stream.handle)
        assert (registration is not None) == bool(api.GeApiWrapper_HasExternalAllocator(stream))
        if registration is not None and registration.trampoline is not None:
            assert not registration.trampoline.destroyed


def test_threads_registering_at_once(ge_stub: Any, ge_ready: Any) -> None:
    """Each thread registers, runs and unregisters allocators on its own stream,
    and all of them race on one shared stream; every block goes back to the
    allocator that made it, exactly once."""
    shared = ge.acl.Stream()
    own = [ge.acl.Stream() for _ in range(THREADS)]
    allocators = [[Counting(f"t{i}r{r}") for r in range(ROUNDS)] for i in range(THREADS)]
    errors: list[BaseException] = []
    with ge.Session() as session:
        _graph(session)

        def work(i: int) -> None:
            try:
                for r, alloc in enumerate(allocators[i]):
                    session.register_external_allocator(own[i], alloc)
                    _check_output(own[i], _run(session, own[i]))
                    if r % 3 == 0:
                        session.unregister_external_allocator(own[i])
                    session.register_external_allocator(shared, alloc)
                    if r % 2:
                        session.unregister_external_allocator(shared)
            except BaseException as exc:  # reported below
                errors.append(exc)

        run_threads(work, [(i,) for i in range(THREADS)])
        assert errors == []
        _registry_agrees_with_ge([shared, *own])

        def race(i: int) -> None:  # only register/unregister, on the shared stream
            try:
                for r in range(RACE_ROUNDS):
                    if (r + i) % 2:
                        session.unregister_external_allocator(shared)
                    session.register_external_allocator(shared, allocators[i][r % ROUNDS])
            except BaseException as exc:  # reported below
                errors.append(exc)

        switch = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # as many interleavings as the GIL allows
        try:
            run_threads(race, [(i,) for i in range(THREADS)])
        finally:
            sys.setswitchinterval(switch)
        assert errors == []
        _registry_agrees_with_ge([shared])
        for stream in [shared, *own]:
            session.unregister_external_allocator(stream)
            assert not api.GeApiWrapper_HasExternalAllocator(stream)
        assert registry.current == {}  # the registry agrees with GE
        session.remove_graph(1)
    registry.bury()
    _idle_pool_is_sound()
    assert registry.alive == {}
    total = 0
    for row in allocators:
        for alloc in row:
            assert alloc.errors == [] and alloc.out == {} and alloc.mallocs == alloc.frees
            total += alloc.mallocs
    counts = ge_stub.callback_counts()
    assert counts["malloc"] == counts["free"] == total
    registrations = 2 * THREADS * ROUNDS + THREADS * RACE_ROUNDS
    assert counts["on_destroy"] == registrations
    for stream in [shared, *own]:
        stream.destroy()
