"""Reliability: the whole public surface as a state machine.

A plain-Python model (``Model``) predicts, for every step, success or the
exact ``GeError`` (type, status and API name); after every step the
invariants compare the model with the stand-in's live-object counters, its
callback counters and the package's own bookkeeping (session manager,
allocator registry). At teardown everything is released and every counter
is zero.

Steps: GE initialize/finalize at any point (with good and bad options),
sessions created before (refused) and after initialize, closed, dropped;
graphs built, closed, added/removed/compiled/loaded under random ids (taken,
missing, out of range), run synchronously and asynchronously with right and
wrong inputs (host, device, closed, and outputs of earlier runs chained as
inputs), CANN's two ways of running (compiled and loaded graphs run on a
stream only), the graph's own memory GE takes from the stream's allocator
when it loads a graph; external allocators registered/replaced/unregistered
on two streams (stream 0 refused: GE has no default stream); streams
synchronized or destroyed and replaced (their dead handles stay usable as
arguments); tensors read, moved, closed or dropped in random order.

Sizes come from the hypothesis profile (``CI=true`` selects 'ci'; run the
large one with ``HYPOTHESIS_PROFILE=long``). The number of steps executed is
printed (``-rA`` or ``-s`` shows it).
"""

from __future__ import annotations

import collections
import functools
import gc
import weakref
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, TypeVar

import numpy as np
import pytest
from _helpers.settings import machine_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import ge
import ge.acl
from ge import _allocator_registry
from ge._ffi import status as S
from ge._session_manager import manager
from ge.allocator import AclAllocator, Allocator, MemBlock
from ge.error import GeError
from ge.testing import StubControl, stub_control

STATS = {"examples": 0, "steps": 0}
OUTCOMES: collections.Counter[str] = collections.Counter()

F32 = ge.DataType.DT_FLOAT
SHAPES = {"fma": (2, 3), "sq": (4,)}
N_INPUTS = {"fma": 2, "sq": 1, "empty": 0}
# ("have", n): one of the session's graph ids, if it has any; ("raw", id): any id,
# taken, missing or out of range
RAW_IDS = [0, 1, 2, 7, 2**32 - 1, -1, 2**32]
GRAPH_IDS = st.tuples(st.sampled_from(["have", "have", "have", "raw"]), st.integers(0, 1000))
# ("open", n): one of the open sessions, if any; ("any", n): any session, closed ones too
SESSIONS = st.tuples(st.sampled_from(["open", "open", "any"]), st.integers(0, 1000))
INPUT_VARIANTS = st.sampled_from(
    ["ok", "ok", "ok", "chain", "device", "missing", "extra", "dtype", "closed"]
)
STREAMS = st.sampled_from(["default", "s1", "s2", "dead"])
INDEX = st.integers(0, 1000)


class Ledger(Allocator):
    """``aclrtMalloc`` memory, with a record of every block handed out and freed."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.live: dict[int, MemBlock] = {}
        self.mallocs = 0
        self.frees = 0
        self.bad_frees: list[MemBlock] = []

    def malloc(self, size: int) -> MemBlock:
        block = self.inner.malloc(size)
        self.mallocs += 1
        self.live[block.addr] = block
        return block

    def free(self, block: MemBlock) -> None:
        self.frees += 1
        if self.live.pop(block.addr, None) != block:
            self.bad_frees.append(block)
        self.inner.free(block)


def build(kind: str) -> ge.Graph:
    """fma: (x + y) * x on (2, 3); sq: outputs [x * x, x] on (4,); empty: no nodes."""
    if kind == "empty":
        return ge.Graph("empty")
    with ge.GraphBuilder(kind) as builder:
        x = builder.input(0, F32, SHAPES[kind])
        if kind == "fma":
            y = builder.input(1, F32, SHAPES[kind])
            return builder.build([(x + y) * x])
        return builder.build([x * x, x])


def compute(kind: str, inputs: list[np.ndarray]) -> list[np.ndarray]:
    if kind == "fma":
        x, y = inputs
        return [(x + y) * x]
    if kind == "sq":
        (x,) = inputs
        return [x * x, x.copy()]
    return []


# -- the model -----------------------------------------------------------------------


@dataclass(eq=False)
class MGraph:
    """A graph added to a session."""

    kind: str
    built: bool = False  # compiled: by compile_graph or a run (IsGraphNeedRebuild false)
    compiled: bool = False  # by compile_graph: run_graph is UNSUPPORTED
    memory: Optional[MAlloc] = None  # loaded: the allocator its own memory came from
    loaded: bool = False


@dataclass(eq=False)
class MSession:
    obj: Optional[ge.Session]
    closed: Optional[str] = None  # None, "close" or "finalize"
    graphs: dict[int, MGraph] = field(default_factory=dict)


@dataclass(eq=False)
class MAlloc:
    """One allocator as GE holds it: registered, or kept alive by its blocks."""

    stream: int
    owner: MSession
    ledger: Optional[Ledger]  # None: GE's default allocator
    token: Optional[int] = None
    registered: bool = True
    blocks: int = 0
    gone: bool = False


@dataclass(eq=False)
class MTensor:
    obj: Optional[ge.Tensor]
    kind: str  # graph kind whose input it can feed
    expected: np.ndarray
    alloc: Optional[MAlloc] = None  # async outputs: whose block holds the data
    stream: Optional[int] = None
    pending: bool = False  # queued work writes or reads its block
    holds_block: bool = False


class Model:
    def __init__(self) -> None:
        self.init = False
        self.gen = 0
        self.sessions: list[MSession] = []
        self.allocs: list[MAlloc] = []
        self.current: dict[int, MAlloc] = {}  # stream handle -> registered allocator
        self.pending: dict[int, int] = {}  # stream handle -> queued items
        self.tensors: list[MTensor] = []
        self.graphs: list[list[Any]] = []  # [Graph or None, kind]
        self.mallocs = 0
        self.frees = 0
        self.on_destroy = 0

    # -- predictions ----------------------------------------------------------

    @staticmethod
    def closed_status(s: MSession) -> int:
        return S.GE_SESSION_MANAGER_NOT_INIT if s.closed == "finalize" else S.GE_SESSION_NOT_EXIST

    # -- transitions --------------------------------------------------------------

    def release_block(self, t: MTensor) -> None:
        """The last user of ``t``'s block is gone: GE frees it (FreeFn)."""
        assert t.alloc is not None and t.holds_block
        t.holds_block = False
        a = t.alloc
        a.blocks -= 1
        if a.ledger is not None:
            self.frees += 1
        self.maybe_gone(a)

    def maybe_gone(self, a: MAlloc) -> None:
        if not a.registered and a.blocks == 0 and not a.gone:
            a.gone = True
            if a.ledger is not None:
                self.on_destroy += 1

    def unregister(self, stream: int) -> None:
        a = self.current.pop(stream, None)
        if a is not None:
            a.registered = False
            self.maybe_gone(a)

    def drain(self, stream: int) -> None:
        self.pending[stream] = 0
        for t in self.tensors:
            if t.stream == stream and t.pending:
                t.pending = False
                if t.obj is None and t.holds_block:
                    self.release_block(t)

    def drop_tensor(self, t: MTensor) -> None:
        t.obj = None
        if t.holds_block and not t.pending:
            self.release_block(t)

    def load(self, g: MGraph, stream: int) -> None:
        """GE loads the graph on ``stream``: its own memory (const, feature map) comes
        from the stream's allocator, if it has one, until the graph goes."""
        g.loaded = True
        a = self.current.get(stream)
        if a is not None:
            g.memory = a
            a.blocks += 2
            if a.ledger is not None:
                self.mallocs += 2

    def drop_graph(self, g: MGraph) -> None:
        """The graph is removed (or its session closed): GE frees its own memory."""
        a, g.memory = g.memory, None
        if a is not None:
            a.blocks -= 2
            if a.ledger is not None:
                self.frees += 2
            self.maybe_gone(a)

    def close_session(self, s: MSession, how: str) -> None:
        if s.closed is not None:
            return
        s.closed = how
        for stream, a in list(self.current.items()):
            if a.owner is s:
                self.unregister(stream)
        for g in s.graphs.values():
            self.drop_graph(g)
        s.graphs.clear()

    def live_counts(self, n_streams: int) -> dict[str, int]:
        alive = [a for a in self.allocs if not a.gone]
        blocks = sum(a.blocks for a in self.allocs)
        return {
            "sessions": sum(1 for s in self.sessions if s.closed is None),
            "graphs": sum(1 for g in self.graphs if g[0] is not None),
            "session_graphs": sum(len(s.graphs) for s in self.sessions if s.closed is None),
            "builders": 0,
            "tensors": sum(1 for t in self.tensors if t.obj is not None),
            "tensor_arrays": 0,
            "dims_arrays": 0,
            "device_blocks": blocks,
            "host_blocks": 0,
            "streams": n_streams,
            "allocators": len(alive),
            "allocator_blocks": blocks,
            "pending_work": sum(self.pending.values()),
            "strings": 0,
            "tensor_descs": 0,
            "ge_sessions": sum(1 for s in self.sessions if s.closed is None),
        }


T = TypeVar("T")


def counted(fn: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        STATS["steps"] += 1
        OUTCOMES[fn.__name__] += 1
        return fn(*args, **kwargs)

    return wrapper


def ok(api: str) -> None:
    OUTCOMES[f"{api}: ok"] += 1


def expect_ge_error(call: Callable[[], object], api: str, status: int) -> None:
    with pytest.raises(GeError) as info:
        call()
    error = info.value
    OUTCOMES[f"{api}: {error.status_name}"] += 1
    assert type(error) is GeError, repr(error)
    assert (error.api_name, error.status) == (api, status), repr(error)
    del info, error  # no cycle through this frame: what the call held is freed now


def collect_if_alive(ref: weakref.ReferenceType[Any]) -> None:
    """The last reference of the test is gone: the finalizer has run, or (if
    something holds the object in a reference cycle) runs at the next collection."""
    if ref() is not None:
        OUTCOMES["collections needed"] += 1
        gc.collect()


# -- the machine ---------------------------------------------------------------------------


class GeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        self.stub: StubControl = stub_control()
        self.stub.reset()
        self.m = Model()
        ge.acl.init()
        self.device = ge.acl.Device(0)
        self.device.set()
        self.streams: dict[str, ge.acl.Stream] = {"s1": ge.acl.Stream(), "s2": ge.acl.Stream()}
        self.dead: list[int] = []
        for s in self.streams.values():
            self.m.pending[s.handle] = 0

    # -- helpers -----------------------------------------------------------------

    def pick_session(self, choice: tuple[str, int]) -> Optional[MSession]:
        how, i = choice
        usable = [s for s in self.m.sessions if s.obj is not None]
        if how == "open":
            usable = [s for s in usable if s.closed is None] or usable
        return usable[i % len(usable)] if usable else None

    @staticmethod
    def pick_gid(s: MSession, choice: tuple[str, int]) -> int:
        how, n = choice
        if how == "have" and s.graphs:
            return sorted(s.graphs)[n % len(s.graphs)]
        return RAW_IDS[n % len(RAW_IDS)]

    def live_tensors(self) -> list[MTensor]:
        return [t for t in self.m.tensors if t.obj is not None]

    def stream_arg(self, which: str) -> tuple[Any, int]:
        """(what to pass to the package, the handle)."""
        if which == "default":
            return 0, 0
        if which == "dead":
            if not self.dead:
                which = "s1"
            else:
                return self.dead[-1], self.dead[-1]
        stream = self.streams[which]
        return stream, stream.handle

    def stream_call(self, stream: int, fn: Callable[..., T], *args: Any) -> Callable[[], T]:
        """``fn(*args)``, with the stand-in in tidy mode when ``stream`` is a dead
        handle: passed on purpose (the package cannot tell a dead raw handle from
        a live one), it would abort the process in strict mode, as on CANN."""

        def call() -> T:
            if stream not in self.dead:
                return fn(*args)
            with self.stub.tidy_misuse():
                return fn(*args)

        return call

    def make_inputs(
        self, kind: str, variant: str, seed: int, stream: Optional[int]
    ) -> tuple[list[ge.Tensor], list[np.ndarray], list[MTensor], bool]:
        """(tensors to pass, their values, chained outputs used, valid for the graph).

        Fresh input tensors are closed by the caller right after the call.
        """
        n = N_INPUTS[kind]
        rng = np.random.default_rng(seed)
        shape = SHAPES.get(kind, (3,))
        values = [rng.integers(-8, 8, shape).astype(np.float32) for _ in range(n)]
        chained: list[MTensor] = []
        valid = True
        if variant == "missing" and n:
            values.pop()
            valid = False
        elif variant == "extra" or (variant == "missing" and not n):
            values.append(np.ones(shape, np.float32))
            valid = False
        elif variant == "dtype" and n:
            values[0] = values[0].astype(np.float64)
            valid = False
        tensors = [ge.Tensor.from_numpy(v) for v in values]
        if variant == "device" and tensors:
            tensors[0].to_device()
        if variant == "closed" and tensors:
            tensors[0].close()
        if variant == "chain" and n:
            # an earlier output of this kind: ready, or queued on the same stream
            # (then read in order when the work runs)
            for t in self.live_tensors():
                if t.kind == kind and (
                    not t.pending or (stream is not None and t.stream == stream)
                ):
                    tensors[0].close()
                    tensors[0] = t.obj  # type: ignore[call-overload]
                    values[0] = t.expected
                    chained.append(t)
                    break
        return tensors, values, chained, valid

    @staticmethod
    def close_fresh(tensors: list[ge.Tensor], chained: list[MTensor]) -> None:
        keep = {id(t.obj) for t in chained}
        for tensor in tensors:
            if id(tensor) not in keep:
                tensor.close()

    # -- GE lifecycle ------------------------------------------------------------------

    @initialize(
        init=st.sampled_from([True, True, True, False]),
        plan=st.lists(
            st.lists(st.sampled_from(["fma", "sq", "empty"]), min_size=1, max_size=3),
            min_size=1,
            max_size=3,
        ),
    )
    @counted
    def start(self, init: bool, plan: list[list[str]]) -> None:
        """Often a running start: GE initialised, sessions with graphs 0, 1, 2 added."""
        if init:
            ge.initialize()
            self.m.init, self.m.gen = True, self.m.gen + 1
        self.open_sessions(plan)

    def open_sessions(self, plan: list[list[str]]) -> None:
        if not self.m.init:  # a session needs GE: refused before any C call
            expect_ge_error(ge.Session, "CreateSession", S.GE_SESSION_MANAGER_NOT_INIT)
            return
        for kinds in plan:
            session = ge.Session()
            s = MSession(session)
            self.m.sessions.append(s)
            for gid, kind in enumerate(kinds):
                with build(kind) as graph:
                    session.add_graph(gid, graph)
                s.graphs[gid] = MGraph(kind)

    @rule(bad_options=st.booleans())
    @counted
    def initialize(self, bad_options: bool) -> None:
        options = {"ge.exec.deviceId": "x" if bad_options else "0"}
        if bad_options and not self.m.init:
            expect_ge_error(
                lambda: ge.initialize(options), "GEInitialize", S.ACL_ERROR_GE_PARAM_INVALID
            )
            return
        ge.initialize(options)
        if not self.m.init:
            self.m.init = True
            self.m.gen += 1
        assert ge.is_initialized()

    @precondition(lambda self: self.m.init or any(s.closed is None for s in self.m.sessions))
    @rule(restart=st.sampled_from([True, True, False]))
    @counted
    def finalize(self, restart: bool) -> None:
        """GE finalized at any point; often started again with a new session."""
        ge.finalize()
        for s in sorted(self.m.sessions, key=lambda s: s.obj.session_id if s.obj else 0):
            if s.obj is not None:
                self.m.close_session(s, "finalize")
        if self.m.init:
            self.m.init = False
            for stream in list(self.m.current):
                self.m.unregister(stream)
        assert not ge.is_initialized()
        if restart:
            ge.initialize()
            self.m.init, self.m.gen = True, self.m.gen + 1
            self.open_sessions([["fma", "sq"]])

    # -- sessions ------------------------------------------------------------------------

    @rule(with_options=st.booleans())
    @counted
    def create_session(self, with_options: bool) -> None:
        options = {"ge.session.tag": "machine"} if with_options else None
        if not self.m.init:
            expect_ge_error(
                lambda: ge.Session(options), "CreateSession", S.GE_SESSION_MANAGER_NOT_INIT
            )
            return
        session = ge.Session(options)
        assert ge.has_session(session.session_id)
        self.m.sessions.append(MSession(session))

    @rule(i=SESSIONS, drop=st.booleans())
    @counted
    def close_session(self, i: tuple[str, int], drop: bool) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        assert s.obj is not None
        sid = s.obj.session_id
        if drop:  # the finalizer closes it
            ref = weakref.ref(s.obj)
            s.obj = None
            collect_if_alive(ref)
        else:
            s.obj.close()
            assert s.obj.closed
        self.m.close_session(s, "close")
        assert not ge.has_session(sid)

    @rule(i=SESSIONS)
    @counted
    def session_id(self, i: tuple[str, int]) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        assert s.obj is not None
        if s.closed:
            expect_ge_error(lambda: s.obj.ge_session_id, "GetSessionId", self.m.closed_status(s))
        else:
            assert s.obj.ge_session_id >= 0  # GE's ids count from 0

    # -- graphs --------------------------------------------------------------------------------

    @rule(kind=st.sampled_from(["fma", "sq", "empty"]))
    @counted
    def build_graph(self, kind: str) -> None:
        self.m.graphs.append([build(kind), kind])

    @rule(i=INDEX)
    @counted
    def close_graph(self, i: int) -> None:
        live = [g for g in self.m.graphs if g[0] is not None]
        if live:
            entry = live[i % len(live)]
            entry[0].close()
            entry[0] = None

    @rule(
        i=SESSIONS,
        g=INDEX,
        gid=st.sampled_from([0, 1, 2, 3, 7, 2**32 - 1, -1, 2**32]),
        with_options=st.booleans(),
    )
    @counted
    def add_graph(self, i: tuple[str, int], g: int, gid: int, with_options: bool) -> None:
        s = self.pick_session(i)
        if s is None or not self.m.graphs:
            return
        assert s.obj is not None
        entry = self.m.graphs[g % len(self.m.graphs)]
        graph, kind = entry
        if graph is None:  # closed: the caller's own object is unusable
            graph = ge.Graph("closed")
            graph.close()
        options = {"ge.graph.key": "v"} if with_options else None
        call = functools.partial(s.obj.add_graph, gid, graph, options)
        if not 0 <= gid < 2**32:
            with pytest.raises(ValueError, match="Graph_id"):
                call()
            OUTCOMES["ValueError graph id"] += 1
            return
        if entry[0] is None:
            with pytest.raises(ValueError, match="graph is closed"):
                call()
            OUTCOMES["ValueError closed graph"] += 1
            return
        status = self.graph_call_status(s, gid, needs_graph=False)
        if status is None:
            assert call() == 0
            ok("AddGraph")
            s.graphs[gid] = MGraph(kind)
        else:
            expect_ge_error(call, "AddGraph", status)

    def graph_call_status(self, s: MSession, gid: int, needs_graph: bool = True) -> Optional[int]:
        """The package's own codes (sessions are open only while GE is up)."""
        if s.closed:
            return self.m.closed_status(s)
        if needs_graph and gid not in s.graphs:
            return S.GE_GRAPH_GRAPH_NOT_EXIST
        if not needs_graph and gid in s.graphs:
            return S.GE_GRAPH_GRAPH_ALREADY_EXIST
        return None

    @rule(i=SESSIONS, g=GRAPH_IDS, op=st.sampled_from(["remove", "compile", "load", "rebuild"]))
    @counted
    def graph_op(self, i: tuple[str, int], g: tuple[str, int], op: str) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        gid = self.pick_gid(s, g)
        obj = s.obj
        assert obj is not None
        stream = self.streams["s1"]
        calls: dict[str, tuple[str, Callable[[], Any]]] = {
            "remove": ("RemoveGraph", lambda: obj.remove_graph(gid)),
            "compile": ("CompileGraph", lambda: obj.compile_graph(gid)),
            "load": ("LoadGraph", lambda: obj.load_graph(gid, stream)),
            "rebuild": ("IsGraphNeedRebuild", lambda: obj.is_graph_need_rebuild(gid)),
        }
        api, call = calls[op]
        if not 0 <= gid < 2**32:
            with pytest.raises(ValueError, match="Graph_id"):
                call()
            OUTCOMES["ValueError graph id"] += 1
            return
        status = self.graph_call_status(s, gid)
        if op == "rebuild":  # GE's bool: true for an unknown or uncompiled graph
            if s.closed:
                expect_ge_error(call, api, self.m.closed_status(s))
            else:
                assert call() is (gid not in s.graphs or not s.graphs[gid].built)
            return
        if op == "load" and status is None:
            g = s.graphs[gid]
            if not g.compiled or g.loaded:  # CANN: compiled first, loaded once
                status = S.FAILED
        if status is not None:
            expect_ge_error(call, api, status)
            return
        call()
        ok(api)
        g = s.graphs[gid]
        if op == "remove":
            self.m.drop_graph(g)
            del s.graphs[gid]
        elif op == "compile":
            g.built = g.compiled = True
        elif op == "load":
            self.m.load(g, stream.handle)

    # -- runs ------------------------------------------------------------------------------------

    def run_status(self, s: MSession, gid: int, valid: bool) -> Optional[int]:
        status = self.graph_call_status(s, gid)
        if status is None and s.graphs[gid].compiled:
            status = S.UNSUPPORTED  # compiled by compile_graph: the other way of running
        if status is None and not valid:
            status = S.FAILED  # GE's PARAM_INVALID is above 9,999,999: RunGraph says FAILED
        return status

    @rule(i=SESSIONS, g=GRAPH_IDS, variant=INPUT_VARIANTS, seed=st.integers(0, 2**16))
    @counted
    def run_graph(self, i: tuple[str, int], g: tuple[str, int], variant: str, seed: int) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        gid = self.pick_gid(s, g)
        assert s.obj is not None
        kind = s.graphs[gid].kind if gid in s.graphs else "fma"
        tensors, values, chained, valid = self.make_inputs(kind, variant, seed, None)
        try:
            call = functools.partial(s.obj.run_graph, gid, tensors)
            if not 0 <= gid < 2**32:
                with pytest.raises(ValueError, match="Graph_id"):
                    call()
                return
            if variant == "closed" and tensors:
                with pytest.raises(ValueError, match="tensor is closed"):
                    call()
                return
            status = self.run_status(s, gid, valid)
            if status is not None:
                expect_ge_error(call, "RunGraph", status)
                return
            outputs = call()
        finally:
            self.close_fresh(tensors, chained)
        ok("RunGraph")
        s.graphs[gid].built = True  # RunGraph compiles
        expected = compute(kind, values)
        assert len(outputs) == len(expected)
        for out, want in zip(outputs, expected):
            assert out.placement is ge.Placement.PLACEMENT_HOST
            np.testing.assert_array_equal(out.numpy(), want)
            self.m.tensors.append(MTensor(out, kind, want))

    @rule(
        i=SESSIONS,
        g=GRAPH_IDS,
        which=STREAMS,
        variant=INPUT_VARIANTS,
        seed=st.integers(0, 2**16),
    )
    @counted
    def run_async(
        self, i: tuple[str, int], g: tuple[str, int], which: str, variant: str, seed: int
    ) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        gid = self.pick_gid(s, g)
        assert s.obj is not None
        stream_arg, stream = self.stream_arg(which)
        dead = stream in self.dead
        kind = s.graphs[gid].kind if gid in s.graphs else "fma"
        tensors, values, chained, valid = self.make_inputs(kind, variant, seed, stream)
        try:
            call = self.stream_call(
                stream, s.obj.run_graph_with_stream_async, gid, stream_arg, tensors
            )
            if not 0 <= gid < 2**32:
                with pytest.raises(ValueError, match="Graph_id"):
                    call()
                return
            if which == "default":
                with pytest.raises(ValueError, match="stream 0 is not a stream"):
                    call()
                OUTCOMES["ValueError stream 0"] += 1
                return
            if variant == "closed" and tensors:
                with pytest.raises(ValueError, match="tensor is closed"):
                    call()
                return
            status = self.graph_call_status(s, gid)
            if status is not None:
                expect_ge_error(call, "RunGraphWithStreamAsync", status)
                return
            if stream not in self.m.current:
                # GE's default allocator is registered first, owned by this session
                # (GE only keys its map by the stream: a dead one too)
                a = MAlloc(stream, s, None)
                self.m.allocs.append(a)
                self.m.current[stream] = a
            if dead or not valid:  # GE says FAILED for any failure of an async run
                expect_ge_error(call, "RunGraphWithStreamAsync", S.FAILED)
                return
            outputs = call()
        finally:
            self.close_fresh(tensors, chained)
        ok("RunGraphWithStreamAsync" + (" chained" if chained else ""))
        g = s.graphs[gid]
        g.built = True
        if not g.loaded:  # the first run on a stream loads the graph
            self.m.load(g, stream)
        a = self.m.current[stream]
        expected = compute(kind, values)
        assert len(outputs) == len(expected)
        self.m.pending[stream] += 1
        for t in chained:  # GE reads their block when the work runs
            if t.pending:
                assert t.stream == stream
        for out, want in zip(outputs, expected):
            assert out.placement is ge.Placement.PLACEMENT_DEVICE
            a.blocks += 1
            if a.ledger is not None:
                self.m.mallocs += 1
            self.m.tensors.append(MTensor(out, kind, want, a, stream, True, True))

    # -- streams ---------------------------------------------------------------------------------

    def sync(self, which: str) -> None:
        if which == "default":  # ACL's default stream (no GE work can be on it)
            with ge.acl.DeviceBuffer(16) as buffer:  # a copy on a foreign stream syncs it
                buffer.copy_from(np.zeros(4, np.float32), stream=0)
        else:
            stream = self.streams[which]
            stream.synchronize()
            self.m.drain(stream.handle)

    @rule(which=st.sampled_from(["default", "s1", "s2"]))
    @counted
    def synchronize(self, which: str) -> None:
        self.sync(which)

    @rule(which=st.sampled_from(["s1", "s2"]))
    @counted
    def replace_stream(self, which: str) -> None:
        """Destroy a stream (its queue runs first) and use a new one from now on."""
        old = self.streams[which]
        handle = old.handle
        old.destroy()
        self.m.drain(handle)
        self.dead.append(handle)
        new = ge.acl.Stream()
        self.streams[which] = new
        self.m.pending[new.handle] = 0

    # -- allocators ------------------------------------------------------------------------------

    @rule(i=SESSIONS, which=STREAMS)
    @counted
    def register_allocator(self, i: tuple[str, int], which: str) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        assert s.obj is not None
        stream_arg, stream = self.stream_arg(which)
        ledger = Ledger()
        call = self.stream_call(stream, s.obj.register_external_allocator, stream_arg, ledger)
        if which == "default":
            with pytest.raises(ValueError, match="stream 0 is not a stream"):
                call()
            return
        if s.closed:  # a dead stream is fine: GE only keys its map by it
            expect_ge_error(call, "RegisterExternalAllocator", self.m.closed_status(s))
            return
        before = set(_allocator_registry.registry.alive)
        call()
        ok("RegisterExternalAllocator")
        (token,) = set(_allocator_registry.registry.alive) - before
        self.m.unregister(stream)  # replaced
        a = MAlloc(stream, s, ledger, token)
        self.m.allocs.append(a)
        self.m.current[stream] = a

    @rule(i=SESSIONS, which=STREAMS)
    @counted
    def unregister_allocator(self, i: tuple[str, int], which: str) -> None:
        s = self.pick_session(i)
        if s is None:
            return
        assert s.obj is not None
        stream_arg, stream = self.stream_arg(which)
        call = self.stream_call(stream, s.obj.unregister_external_allocator, stream_arg)
        if which == "default":
            with pytest.raises(ValueError, match="stream 0 is not a stream"):
                call()
            return
        if s.closed:
            expect_ge_error(call, "UnregisterExternalAllocator", self.m.closed_status(s))
            return
        call()
        ok("UnregisterExternalAllocator")
        self.m.unregister(stream)

    # -- tensors ---------------------------------------------------------------------------------

    @rule(i=INDEX, how=st.sampled_from(["close", "drop"]))
    @counted
    def release_tensor(self, i: int, how: str) -> None:
        live = self.live_tensors()
        if not live:
            return
        t = live[i % len(live)]
        assert t.obj is not None
        if how == "close":
            t.obj.close()
            assert t.obj.closed
        ref = weakref.ref(t.obj)
        self.m.drop_tensor(t)  # "drop": the last reference goes, the finalizer frees it
        collect_if_alive(ref)

    @rule(i=INDEX)
    @counted
    def read_tensor(self, i: int) -> None:
        live = self.live_tensors()
        if not live:
            return
        t = live[i % len(live)]
        assert t.obj is not None
        assert t.obj.shape == list(t.expected.shape) and t.obj.dtype is F32
        if not t.pending:  # queued work has not written it yet: stale bytes
            np.testing.assert_array_equal(t.obj.numpy(), t.expected)

    @rule(i=INDEX)
    @counted
    def move_to_host(self, i: int) -> None:
        ready = [t for t in self.live_tensors() if not t.pending]
        if not ready:
            return
        t = ready[i % len(ready)]
        assert t.obj is not None
        if not t.holds_block:  # a host tensor: to_host() is refused before C
            with pytest.raises(ValueError, match="only supports device tensors"):
                t.obj.to_host()
            return
        t.obj.to_host()
        assert t.obj.placement is ge.Placement.PLACEMENT_HOST
        if t.holds_block:  # the data moved out of the allocator's block
            self.m.release_block(t)
        np.testing.assert_array_equal(t.obj.numpy(), t.expected)

    # -- invariants ------------------------------------------------------------------------------

    @invariant()
    def native_state_matches_the_model(self) -> None:
        assert self.stub.live_counts() == self.m.live_counts(len(self.streams))

    @invariant()
    def callbacks_match_the_model(self) -> None:
        counts = self.stub.callback_counts()
        assert counts == {
            "malloc": self.m.mallocs,
            "free": self.m.frees,
            "get_addr": self.m.mallocs,
            "on_destroy": self.m.on_destroy,
        }
        for a in self.m.allocs:
            if a.ledger is not None:
                assert a.ledger.bad_frees == []
                assert len(a.ledger.live) == a.blocks

    @invariant()
    def package_bookkeeping_matches_the_model(self) -> None:
        registry = _allocator_registry.registry
        # a trampoline is kept exactly while GE may still call it
        alive = {a.token for a in self.m.allocs if a.ledger is not None and not a.gone}
        assert set(registry.alive) == alive
        assert {k: (r.session_id, r.trampoline is None) for k, r in registry.current.items()} == {
            k: (a.owner.obj.session_id if a.owner.obj else -1, a.ledger is None)
            for k, a in self.m.current.items()
            if a.owner.obj is not None
        }
        assert not registry._deferred
        assert manager.initialized is self.m.init
        open_ids = [s.obj.session_id for s in self.m.sessions if s.obj and not s.closed]
        assert [s.session_id for s in manager.live_sessions()] == sorted(open_ids)

    # -- teardown ---------------------------------------------------------------------------------

    def teardown(self) -> None:
        for t in self.live_tensors():
            if not t.pending:
                np.testing.assert_array_equal(t.obj.numpy(), t.expected)  # type: ignore[union-attr]
            t.obj.close()  # type: ignore[union-attr]
            self.m.drop_tensor(t)
        for entry in self.m.graphs:
            if entry[0] is not None:
                entry[0].close()
                entry[0] = None
        ge.finalize()  # closes the sessions: GE gives their graphs' memory back
        for stream in self.streams.values():
            stream.destroy()
        with ge.acl.DeviceBuffer(16) as buffer:
            buffer.copy_from(np.zeros(4, np.float32), stream=0)
        self.device.reset()
        ge.acl.finalize()
        counts = self.stub.live_counts()
        assert counts == dict.fromkeys(counts, 0)
        callbacks = self.stub.callback_counts()
        externals = [a for a in self.m.allocs if a.ledger is not None]
        assert callbacks["on_destroy"] == len(externals), "OnDestroy once per allocator"
        assert callbacks["malloc"] == callbacks["free"] == sum(a.ledger.mallocs for a in externals)  # type: ignore[union-attr]
        for a in externals:
            assert a.ledger is not None and a.ledger.live == {} and a.ledger.bad_frees == []
            assert a.ledger.mallocs == a.ledger.frees
        assert not _allocator_registry.registry.alive and not _allocator_registry.registry.current


def test_public_surface_state_machine(ge_stub: Any) -> None:
    before = dict(STATS)
    run_state_machine_as_test(GeMachine, settings=machine_settings(20, cap=2000))
    steps = STATS["steps"] - before["steps"]
    examples = STATS["examples"] - before["examples"]
    calls = {k: n for k, n in OUTCOMES.items() if ": " in k}
    succeeded = sum(n for k, n in calls.items() if k.endswith(": ok"))
    print(
        f"\nRELIABILITY state machine: {steps} steps in {examples} runs; predicted "
        f"{succeeded} successes and {sum(calls.values()) - succeeded} GeErrors exactly"
    )
    for name, n in sorted(OUTCOMES.items()):
        print(f"  {n:6d}  {name}")
    # not a degenerate run: the interesting paths were taken
    for path in ("RunGraph: ok", "RunGraphWithStreamAsync: ok", "RegisterExternalAllocator: ok"):
        assert OUTCOMES[path] > 0, path
