"""Reliability: allocator accounting under any interleaving.

A state machine registers, replaces and unregisters Python allocators (plain
``aclrtMalloc``, a ``CachingAllocator`` and a pool carving one device buffer)
on three streams from two sessions, runs graphs asynchronously (the first run
of a session's graph also loads it: GE takes the graph's own memory from the
stream's allocator, until the graph goes), synchronizes, closes or drops
outputs, closes sessions and finalizes GE, in any order. After every step:

* every block GE received was freed at most once, and only blocks GE received
  were freed; at teardown every one of them was freed exactly once;
* OnDestroy ran exactly for the allocators that were replaced or unregistered
  and whose blocks were all freed, once each;
* the callback objects of every allocator GE may still call are alive (kept by
  the package), and once OnDestroy ran they are released (no Python leak).
"""

from __future__ import annotations

import gc
import weakref
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import pytest
from _helpers.settings import machine_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

import ge
import ge.acl
from ge import _allocator_registry
from ge.allocator import AclAllocator, Allocator, CachingAllocator, MemBlock
from ge.testing import stub_control

STATS = {"steps": 0, "blocks": 0, "allocators": 0}
X = np.arange(6, dtype=np.float32).reshape(2, 3)


class Pool(Allocator):
    """Bump allocator inside one device buffer (a user's memory pool)."""

    def __init__(self, size: int = 1 << 16) -> None:
        self.buffer = ge.acl.DeviceBuffer(size)
        self.next = 0
        self.live: set[int] = set()

    def malloc(self, size: int) -> MemBlock:
        size = (size + 63) & ~63
        if self.next + size > self.buffer.size:
            self.next = 0 if not self.live else self.next
            if self.next + size > self.buffer.size:
                raise MemoryError("pool exhausted")
        block = MemBlock(self.buffer.ptr + self.next, size)
        self.next += size
        self.live.add(block.addr)
        return block

    def free(self, block: MemBlock) -> None:
        self.live.remove(block.addr)

    def close(self) -> None:
        assert not self.live
        self.buffer.free()


class Recorder(Allocator):
    """The allocator GE sees: records every block it received and every free.

    Each malloc hands out a new ``MemBlock`` object (the inner allocator may
    reuse its own), so a block is identified by the object GE got.
    """

    def __init__(self, inner: Allocator) -> None:
        self.inner = inner
        self.all: list[MemBlock] = []  # keeps ids unique
        self.inner_of: dict[int, MemBlock] = {}
        self.given: dict[int, MemBlock] = {}  # handed out, not freed yet
        self.frees: dict[int, int] = {}
        self.errors: list[str] = []

    def malloc(self, size: int) -> MemBlock:
        inner = self.inner.malloc(size)
        block = MemBlock(inner.addr, inner.size)
        self.all.append(block)
        self.inner_of[id(block)] = inner
        self.given[id(block)] = block
        STATS["blocks"] += 1
        return block

    def free(self, block: MemBlock) -> None:
        key = id(block)
        self.frees[key] = self.frees.get(key, 0) + 1
        inner = self.inner_of.get(key)
        if inner is None:
            self.errors.append(f"freed a block GE never received: {block!r}")
        elif self.frees[key] > 1:
            self.errors.append(f"freed twice: {block!r}")
        else:
            del self.given[key]
            self.inner.free(inner)

    @property
    def outstanding(self) -> int:
        return len(self.given)


@dataclass(eq=False)
class Reg:
    """One registration of a Recorder on a stream."""

    recorder: Recorder
    stream: int
    owner: int  # index of the session slot
    trampoline: weakref.ReferenceType[Any]
    token: int
    registered: bool = True
    holders: list[Any] = field(default_factory=list)


class AllocatorMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.stub = stub_control()
        self.stub.reset()
        ge.acl.init()
        self.device = ge.acl.Device(0)
        self.device.set()
        self.streams = [ge.acl.Stream(), ge.acl.Stream(), ge.acl.Stream()]
        self.handles = [stream.handle for stream in self.streams]
        self.regs: list[Reg] = []
        self.current: dict[int, Reg] = {}
        self.sessions: list[Optional[ge.Session]] = [None, None]
        self.outputs: list[ge.Tensor] = []
        self.inners: list[Allocator] = []

    # -- helpers -------------------------------------------------------------

    def session(self, slot: int) -> ge.Session:
        session = self.sessions[slot]
        if session is None or session.closed:
            if not ge.is_initialized():
                ge.initialize()
            session = ge.Session()
            with ge.GraphBuilder("g") as builder:
                x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
                graph = builder.build([x + x, x * x])
            session.add_graph(1, graph)
            graph.close()
            self.sessions[slot] = session
        return session

    def unregistered(self, stream: int) -> None:
        reg = self.current.pop(stream, None)
        if reg is not None:
            reg.registered = False

    def sync(self, which: int) -> None:
        self.streams[which].synchronize()

    # -- rules ---------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        ge.initialize()

    @rule(slot=st.integers(0, 1), which=st.integers(0, 2), kind=st.sampled_from("acp"))
    def register(self, slot: int, which: int, kind: str) -> None:
        STATS["steps"] += 1
        STATS["allocators"] += 1
        inner: Allocator
        if kind == "a":
            inner = AclAllocator()
        elif kind == "c":
            inner = CachingAllocator(AclAllocator())
        else:
            inner = Pool()
        self.inners.append(inner)
        recorder = Recorder(inner)
        stream = self.handles[which]
        session = self.session(slot)
        session.register_external_allocator(stream, recorder)
        trampoline = _allocator_registry.registry.current[stream].trampoline
        assert trampoline is not None
        self.unregistered(stream)  # replaced
        reg = Reg(recorder, stream, slot, weakref.ref(trampoline), trampoline.token)
        del trampoline
        self.regs.append(reg)
        self.current[stream] = reg

    @rule(slot=st.integers(0, 1), which=st.integers(0, 2))
    def unregister(self, slot: int, which: int) -> None:
        STATS["steps"] += 1
        stream = self.handles[which]
        self.session(slot).unregister_external_allocator(stream)
        self.unregistered(stream)

    @rule(slot=st.integers(0, 1), which=st.integers(0, 2))
    def run(self, slot: int, which: int) -> None:
        """On a stream with a Python allocator (GE's default one is not the point)."""
        STATS["steps"] += 1
        if not self.current:
            return
        streams = sorted(self.current)
        stream = streams[which % len(streams)]
        session = self.session(slot)
        with ge.Tensor.from_numpy(X) as x:
            outputs = session.run_graph_with_stream_async(1, stream, [x])
        assert len(outputs) == 2
        self.outputs.extend(outputs)

    @rule(i=st.integers(0, 100), drop=st.booleans())
    def release_output(self, i: int, drop: bool) -> None:
        STATS["steps"] += 1
        if not self.outputs:
            return
        tensor = self.outputs.pop(i % len(self.outputs))
        if drop:
            del tensor
            gc.collect()
        else:
            tensor.close()

    @rule(which=st.integers(0, 2))
    def synchronize(self, which: int) -> None:
        STATS["steps"] += 1
        self.sync(which)

    @rule(slot=st.integers(0, 1))
    def close_session(self, slot: int) -> None:
        STATS["steps"] += 1
        session = self.sessions[slot]
        if session is None:
            return
        session.close()
        for stream, reg in list(self.current.items()):
            if reg.owner == slot:
                self.unregistered(stream)

    @rule()
    def finalize(self) -> None:
        STATS["steps"] += 1
        ge.finalize()
        for stream in list(self.current):
            self.unregistered(stream)

    # -- invariants ---------------------------------------------------------------------

    @invariant()
    def blocks_freed_at_most_once(self) -> None:
        for reg in self.regs:
            assert reg.recorder.errors == []

    @invariant()
    def callbacks_are_held_exactly_while_ge_may_call_them(self) -> None:
        registry = _allocator_registry.registry
        destroyed = 0
        for reg in self.regs:
            in_use = reg.registered or reg.recorder.outstanding > 0
            assert (reg.token in registry.alive) is in_use  # the package holds them
            if in_use:
                assert reg.trampoline() is not None
            else:
                destroyed += 1
        # OnDestroy exactly for the replaced or unregistered ones whose blocks are back
        assert self.stub.callback_counts()["on_destroy"] == destroyed

    @rule()
    def collect(self) -> None:
        """A collection (milliseconds, so a step of its own): the callback objects
        of the allocators GE dropped are gone, or retired and released at the next
        package call; those GE may still call are all there."""
        STATS["steps"] += 1
        gc.collect()
        retired = {id(t) for t in _allocator_registry.registry._graveyard}
        for reg in self.regs:
            in_use = reg.registered or reg.recorder.outstanding > 0
            trampoline = reg.trampoline()
            if in_use:
                assert trampoline is not None
            else:
                assert trampoline is None or id(trampoline) in retired, reg
            del trampoline

    def teardown(self) -> None:
        for tensor in self.outputs:
            tensor.close()
        self.outputs.clear()
        for which in range(3):
            self.sync(which)
        ge.finalize()
        for stream in self.streams:
            stream.destroy()
        _allocator_registry.registry.bury()  # what the next package call would do
        gc.collect()
        for reg in self.regs:
            recorder = reg.recorder
            assert recorder.errors == []
            assert recorder.given == {}, "every block GE received was freed"
            assert set(recorder.frees) == {id(b) for b in recorder.all}
            assert all(n == 1 for n in recorder.frees.values()), "...exactly once"
            assert reg.trampoline() is None
        assert self.stub.callback_counts()["on_destroy"] == len(self.regs)
        counts = self.stub.callback_counts()
        assert counts["malloc"] == counts["free"] == sum(len(r.recorder.all) for r in self.regs)
        for inner in self.inners:
            if isinstance(inner, CachingAllocator):
                assert inner.stats().bytes_in_use == 0
                inner.empty_cache()
            elif isinstance(inner, Pool):
                inner.close()
        self.device.reset()
        ge.acl.finalize()
        counts = self.stub.live_counts()
        assert counts == dict.fromkeys(counts, 0)


def test_allocator_accounting_state_machine(ge_stub: Any) -> None:
    before = dict(STATS)
    run_state_machine_as_test(AllocatorMachine, settings=machine_settings(5, cap=400))
    print(
        f"\nRELIABILITY allocators: {STATS['steps'] - before['steps']} steps, "
        f"{STATS['allocators'] - before['allocators']} registrations, "
        f"{STATS['blocks'] - before['blocks']} blocks"
    )
    assert STATS["blocks"] > before["blocks"]


# -- focused properties ------------------------------------------------------------------------


def test_callbacks_survive_while_blocks_are_out_even_if_everything_else_is_dropped(
    ge_stub: Any,
) -> None:
    """The user drops the allocator, the session and GE itself while an output
    still holds a block: the callbacks must still be there when it is freed."""
    ge.acl.init()
    with ge.acl.Device(0), ge.acl.Stream() as stream:
        ge.initialize()
        session = ge.Session()
        with ge.GraphBuilder("g") as builder:
            x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
            graph = builder.build([x + x])
        session.add_graph(1, graph)
        graph.close()
        recorder = Recorder(AclAllocator())
        session.register_external_allocator(stream, recorder)
        ref = weakref.ref(_allocator_registry.registry.current[stream.handle].trampoline)  # type: ignore[arg-type]
        with ge.Tensor.from_numpy(X) as x_in:
            (out,) = session.run_graph_with_stream_async(1, stream, [x_in])
        recorder_ref = weakref.ref(recorder)
        del recorder, session
        ge.finalize()
        gc.collect()
        assert ref() is not None and recorder_ref() is not None  # GE still owes a free
        stream.synchronize()
        np.testing.assert_array_equal(out.numpy(), X + X)
        out.close()  # FreeFn, then OnDestroy
        assert ge_stub.callback_counts()["on_destroy"] == 1
        _allocator_registry.registry.bury()  # as any later package call does
        gc.collect()
        assert ref() is None and recorder_ref() is None
    ge.acl.finalize()


@pytest.mark.parametrize("order", ["free-then-unregister", "unregister-then-free"])
def test_on_destroy_runs_once_whatever_the_order(ge_stub: Any, order: str) -> None:
    ge.acl.init()
    with ge.acl.Device(0), ge.acl.Stream() as stream:
        ge.initialize()
        with ge.Session() as session:
            with ge.GraphBuilder("g") as builder:
                x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
                graph = builder.build([x + x, x])
            session.add_graph(1, graph)
            graph.close()
            recorder = Recorder(CachingAllocator(AclAllocator()))
            session.register_external_allocator(stream, recorder)
            with ge.Tensor.from_numpy(X) as x_in:
                outputs = session.run_graph_with_stream_async(1, stream, [x_in])
            if order == "free-then-unregister":
                for out in outputs:
                    out.close()
                stream.synchronize()
                assert ge_stub.callback_counts()["on_destroy"] == 0
                session.unregister_external_allocator(stream)
            else:
                session.unregister_external_allocator(stream)
                outputs[0].close()
                assert ge_stub.callback_counts()["on_destroy"] == 0
                stream.synchronize()  # the queued write was the block's last other user
                assert ge_stub.callback_counts()["on_destroy"] == 0
                outputs[1].close()
            # the graph GE loaded on the stream still holds two of its blocks
            assert ge_stub.callback_counts()["on_destroy"] == 0
            assert recorder.outstanding == 2
            session.remove_graph(1)
            assert ge_stub.callback_counts()["on_destroy"] == 1
            session.unregister_external_allocator(stream)  # nothing left: no second call
            assert ge_stub.callback_counts()["on_destroy"] == 1
            assert recorder.given == {} and recorder.errors == []
        ge.finalize()
        recorder.inner.empty_cache()  # type: ignore[attr-defined]
    ge.acl.finalize()
