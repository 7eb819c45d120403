"""4. Scaling: runs while the live sessions, graphs, streams and device blocks grow.

Three series, each grown in steps (1, 10, 100, 1,000, 10,000):

* sessions: N live sessions, each with the graph added; ``run_graph`` on the
  first (oldest) session.
* graphs: one session with N graphs added (ids 0..N-1, all the same
  one-input graph); ``run_graph`` of graph N-1, the newest.
* streams: N live streams, each with GE's default allocator registered (by a
  first run on it), and N live 64-byte device buffers;
  ``run_graph_with_stream_async`` on the first stream, then its synchronize
  (the allocator's blocks and the outputs are device blocks among the N).

At every step the wrapper (the run + ``close`` of the output) is timed
interleaved with the bare ctypes sequence on the same session, graph and
stream, so a growth of the stand-in's own cost would show in both columns.
The session, graph and stream run are the ones a list scanned newest-first
(sessions, allocators) or in insertion order (graphs) would reach last: CANN
finds each in a ``std::map``, and so does the stand-in (hash maps; the device
blocks by binary search), so no cost may grow with N.

The flatness rows compare the wrapper's median at the largest N with the one
at the smallest (target: within 1.2x). The two are timed alternately: after
the steps, the series shrinks back to the smallest N and grows to the
largest again ``cycles`` times, and the samples of every visit to each end
are pooled, so a change of the machine's speed during the run (a shared
machine) hits both ends alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import ge
import ge.acl
from benchmarks._env import ge_ready, small_inputs, sum_graph
from benchmarks._report import Row
from benchmarks._timing import Case, Plan, Timing, interleaved
from benchmarks.bench_calls import _bare_async, _bare_sync, _wrapper_async, _wrapper_sync

FAMILY = "scaling"
STEPS = (1, 10, 100, 1_000, 10_000)
FLAT_TARGET = 1.2
"""The time at 10,000 sessions/graphs within 1.2x the time at 1."""

NOTES = [
    "scaling: a run (1 input, 1 output) + close, wrapper vs bare ctypes at each N, "
    "interleaved. 'sessions': N live sessions each holding the graph, run_graph on the "
    "first (oldest). 'graphs': one session holding graph ids 0..N-1, run_graph of graph "
    "N-1 (the newest). 'streams': N live streams each with GE's default allocator and N "
    "live device buffers, run_graph_with_stream_async + synchronize on the first stream. "
    "Flatness rows: wrapper median at the largest N (wrapper column) vs at the smallest "
    "(baseline column), both ends visited alternately and their samples pooled.",
]

SESSIONS, GRAPHS, STREAMS = "sessions", "graphs", "streams"


class _World:
    """One series' live objects (see the module's docstring), resized on demand."""

    def __init__(self, graph: ge.Graph, kind: str, inputs: list[ge.Tensor]) -> None:
        self.graph = graph
        self.kind = kind
        self.inputs = inputs
        self.first = ge.Session()
        self.first.add_graph(0, graph)
        self.sessions: list[ge.Session] = [self.first]
        self.graphs = 1
        self.streams: list[ge.acl.Stream] = []
        self.buffers: list[ge.acl.DeviceBuffer] = []
        if kind == STREAMS:
            self._add_stream()

    def _add_stream(self) -> None:
        """A new stream, GE's default allocator registered on it by a first run."""
        stream = ge.acl.Stream()
        self.streams.append(stream)
        outputs = self.first.run_graph_with_stream_async(0, stream, self.inputs)
        stream.synchronize()
        for tensor in outputs:
            tensor.close()
        self.buffers.append(ge.acl.DeviceBuffer(64))

    def _drop_stream(self, stream: ge.acl.Stream) -> None:
        """Unregister the stream's allocator (GE keeps a registration past the
        stream's destruction), then destroy the stream."""
        self.first.unregister_external_allocator(stream)
        stream.destroy()

    def cases(self) -> list[Case]:
        """The wrapper's and the bare run, on the series' hot session, graph and stream."""
        if self.kind == STREAMS:
            stream = self.streams[0]
            return [
                Case("wrapper async run", _wrapper_async(self.first, 0, stream, self.inputs)),
                Case(
                    "bare async run", _bare_async(self.first.handle, 0, stream.handle, self.inputs)
                ),
            ]
        gid = 0 if self.kind == SESSIONS else self.graphs - 1
        return [
            Case("wrapper run_graph", _wrapper_sync(self.first, gid, self.inputs)),
            Case("bare RunGraph", _bare_sync(self.first.handle, gid, self.inputs)),
        ]

    def resize(self, n: int) -> None:
        """Grow or shrink the series to ``n`` sessions, graphs or streams."""
        if self.kind == SESSIONS:
            while len(self.sessions) < n:
                session = ge.Session()
                session.add_graph(0, self.graph)
                self.sessions.append(session)
            while len(self.sessions) > n:
                self.sessions.pop().close()
        elif self.kind == GRAPHS:
            while self.graphs < n:
                self.first.add_graph(self.graphs, self.graph)
                self.graphs += 1
            while self.graphs > n:
                self.graphs -= 1
                self.first.remove_graph(self.graphs)
        else:
            while len(self.streams) < n:
                self._add_stream()
            while len(self.streams) > n:
                self.buffers.pop().close()
                self._drop_stream(self.streams.pop())

    def close(self) -> None:
        """Close every buffer, stream and session, the newest first."""
        for buffer in reversed(self.buffers):
            buffer.close()
        for stream in reversed(self.streams):
            self._drop_stream(stream)
        for session in reversed(self.sessions):
            session.close()


@contextmanager
def _world(kind: str, inputs: list[ge.Tensor]) -> Iterator[_World]:
    with sum_graph(1) as graph:
        world = _World(graph, kind, inputs)
        try:
            yield world
        finally:
            world.close()


def _time_at(world: _World, n: int, plan: Plan) -> list[Timing]:
    """Resize to ``n``, then time the wrapper and the bare run, interleaved."""
    world.resize(n)
    return interleaved(world.cases(), plan)


def _pooled(name: str, timings: list[Timing]) -> Timing:
    """One timing of every sample of ``timings``."""
    return Timing(
        name,
        tuple(s for t in timings for s in t.samples),
        timings[0].inner,
        tuple(s for t in timings for s in t.cpu_samples),
    )


def _series(kind: str, plan: Plan, steps: tuple[int, ...], cycles: int) -> list[Row]:
    """Grow one series through ``steps``, timing the hot run at each, then the
    smallest and largest N alternately ``cycles`` more times."""
    label = f"{'async run' if kind == STREAMS else 'run_graph'} vs live {kind}"
    smallest, largest = steps[0], steps[-1]
    ends: dict[int, list[Timing]] = {smallest: [], largest: []}
    rows: list[Row] = []
    inputs = small_inputs(1)
    try:
        with _world(kind, inputs) as world:
            for n in steps:
                wrapper, bare = _time_at(world, n, plan)
                if n in ends:
                    ends[n].append(wrapper)
                rows.append(
                    Row.from_timings(FAMILY, label, f"N={n:,}", wrapper, bare, extra={"n": n})
                )
            for _ in range(cycles):
                for n in (smallest, largest):
                    ends[n].append(_time_at(world, n, plan)[0])
    finally:
        for tensor in inputs:
            tensor.close()
    at_largest = _pooled(f"wrapper at N={largest}", ends[largest])
    at_smallest = _pooled(f"wrapper at N={smallest}", ends[smallest])
    rows.append(
        Row.from_timings(
            FAMILY,
            f"flatness: {kind} {smallest:,} -> {largest:,}",
            f"N={largest:,} vs {smallest:,}",
            at_largest,
            at_smallest,
            target=FLAT_TARGET,
            extra={
                "visits_per_end": len(ends[largest]),
                "medians_by_visit": {
                    str(n): [t.median for t in visits] for n, visits in ends.items()
                },
                "cpu_medians_by_visit": {
                    str(n): [t.cpu_median for t in visits] for n, visits in ends.items()
                },
            },
        )
    )
    return rows


def run(quick: bool) -> list[Row]:
    """Every series; quick mode (the smoke run) uses fewer rounds, the steps 1, 100
    and 1,000 and one extra visit of each end (a full run: up to 10,000, four)."""
    steps = (1, 100, 1_000) if quick else STEPS
    plan = Plan(rounds=21 if quick else 61, warmup=200, batch_ns=3_000_000)
    cycles = 1 if quick else 4
    with ge_ready():
        return [
            row
            for kind in (SESSIONS, GRAPHS, STREAMS)
            for row in _series(kind, plan, steps, cycles)
        ]
