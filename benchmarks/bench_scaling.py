"""4. Scaling: ``run_graph`` while the live sessions and registered graphs grow.

Two series, each grown in steps (1, 10, 100, 1,000, 10,000):

* sessions: N live sessions, each with the graph added; ``run_graph`` on the
  first (oldest) session.
* graphs: one session with N graphs added (ids 0..N-1, all the same
  one-input graph); ``run_graph`` of graph N-1, the newest.

At every step the wrapper (``run_graph`` + ``close`` of the output) is timed
interleaved with the bare ctypes sequence on the same session and graph, so
a growth of the stand-in's own cost would show in both columns. The session
and graph run are the ones a list scanned newest-first (sessions) or in
insertion order (graphs) would reach last: CANN finds both in a
``std::map``, and so does the stand-in (a hash map), so neither cost may grow
with N.

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
from benchmarks._env import ge_ready, small_inputs, sum_graph
from benchmarks._report import Row
from benchmarks._timing import Case, Plan, Timing, interleaved
from benchmarks.bench_calls import _bare_sync, _wrapper_sync

FAMILY = "scaling"
STEPS = (1, 10, 100, 1_000, 10_000)
FLAT_TARGET = 1.2
"""The time at 10,000 sessions/graphs within 1.2x the time at 1."""

NOTES = [
    "scaling: run_graph (1 input, 1 output) + close, wrapper vs bare ctypes at each N, "
    "interleaved. 'sessions': N live sessions each holding the graph, the first (oldest) "
    "one is run. 'graphs': one session holding graph ids 0..N-1, graph N-1 (the newest) "
    "is run. Flatness rows: wrapper median at the largest N (wrapper column) vs at the "
    "smallest (baseline column), both ends visited alternately and their samples pooled.",
]


class _World:
    """One series' live objects: sessions (each holding graph 0) or the graphs of
    the first session, resized on demand."""

    def __init__(self, graph: ge.Graph, grow_sessions: bool) -> None:
        self.graph = graph
        self.grow_sessions = grow_sessions
        self.first = ge.Session()
        self.first.add_graph(0, graph)
        self.sessions: list[ge.Session] = [self.first]
        self.graphs = 1

    @property
    def hot_graph(self) -> int:
        """The graph id that is run: 0 for sessions, the newest for graphs."""
        return 0 if self.grow_sessions else self.graphs - 1

    def resize(self, n: int) -> None:
        """Grow or shrink the series to ``n`` sessions or graphs."""
        if self.grow_sessions:
            while len(self.sessions) < n:
                session = ge.Session()
                session.add_graph(0, self.graph)
                self.sessions.append(session)
            while len(self.sessions) > n:
                self.sessions.pop().close()
            return
        while self.graphs < n:
            self.first.add_graph(self.graphs, self.graph)
            self.graphs += 1
        while self.graphs > n:
            self.graphs -= 1
            self.first.remove_graph(self.graphs)

    def close(self) -> None:
        """Close every session, the newest first."""
        for session in reversed(self.sessions):
            session.close()


@contextmanager
def _world(grow_sessions: bool) -> Iterator[_World]:
    with sum_graph(1) as graph:
        world = _World(graph, grow_sessions)
        try:
            yield world
        finally:
            world.close()


def _time_at(world: _World, n: int, inputs: list[ge.Tensor], plan: Plan) -> list[Timing]:
    """Resize to ``n``, then time the wrapper and the bare run, interleaved."""
    world.resize(n)
    gid = world.hot_graph
    return interleaved(
        [
            Case("wrapper run_graph", _wrapper_sync(world.first, gid, inputs)),
            Case("bare RunGraph", _bare_sync(world.first.handle, gid, inputs)),
        ],
        plan,
    )


def _pooled(name: str, timings: list[Timing]) -> Timing:
    """One timing of every sample of ``timings``."""
    return Timing(
        name,
        tuple(s for t in timings for s in t.samples),
        timings[0].inner,
        tuple(s for t in timings for s in t.cpu_samples),
    )


def _series(
    name: str, plan: Plan, steps: tuple[int, ...], grow_sessions: bool, cycles: int
) -> list[Row]:
    """Grow one series through ``steps``, timing the hot run at each, then the
    smallest and largest N alternately ``cycles`` more times."""
    label = f"run_graph vs live {name}"
    smallest, largest = steps[0], steps[-1]
    ends: dict[int, list[Timing]] = {smallest: [], largest: []}
    rows: list[Row] = []
    inputs = small_inputs(1)
    try:
        with _world(grow_sessions) as world:
            for n in steps:
                wrapper, bare = _time_at(world, n, inputs, plan)
                if n in ends:
                    ends[n].append(wrapper)
                rows.append(
                    Row.from_timings(FAMILY, label, f"N={n:,}", wrapper, bare, extra={"n": n})
                )
            for _ in range(cycles):
                for n in (smallest, largest):
                    ends[n].append(_time_at(world, n, inputs, plan)[0])
    finally:
        for tensor in inputs:
            tensor.close()
    at_largest = _pooled(f"wrapper run_graph at N={largest}", ends[largest])
    at_smallest = _pooled(f"wrapper run_graph at N={smallest}", ends[smallest])
    rows.append(
        Row.from_timings(
            FAMILY,
            f"flatness: {name} {smallest:,} -> {largest:,}",
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
    """Both series; quick mode uses fewer rounds, the steps 1, 100 and 10,000 and
    two extra visits of each end (four in a full run)."""
    steps = (1, 100, 10_000) if quick else STEPS
    plan = Plan(rounds=21 if quick else 61, warmup=200, batch_ns=3_000_000)
    cycles = 2 if quick else 4
    with ge_ready():
        return [
            *_series("sessions", plan, steps, True, cycles),
            *_series("graphs", plan, steps, False, cycles),
        ]
