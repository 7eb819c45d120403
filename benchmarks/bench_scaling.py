"""4. Scaling: ``run_graph`` while the live sessions and registered graphs grow.

Two series, each grown in steps (1, 10, 100, 1,000, 10,000):

* sessions: N live sessions, each with the graph added; ``run_graph`` on the
  first session.
* graphs: one session with N graphs added (ids 0..N-1, all the same
  one-input graph); ``run_graph`` of graph 0, the first added.

At every step the wrapper (``run_graph`` + ``close`` of the output) is timed
interleaved with the bare ctypes sequence on the same session and graph, so
a growth of the stand-in's own cost would show in both columns. The
stand-in finds a session's graph by scanning that session's list in the
order the graphs were added, which is why the graph run is the first one
added: its C-side lookup costs the same at every N.

The flatness rows compare the wrapper's median at the largest N with the
one at N = 1 (target: within 1.2x).
"""

from __future__ import annotations

import ge
from benchmarks._env import ge_ready, small_inputs, sum_graph
from benchmarks._report import Row
from benchmarks._timing import Case, Plan, interleaved
from benchmarks.bench_calls import _bare_sync, _wrapper_sync

FAMILY = "scaling"
STEPS = (1, 10, 100, 1_000, 10_000)
FLAT_TARGET = 1.2
"""The time at 10,000 sessions/graphs within 1.2x the time at 1."""

NOTES = [
    "scaling: run_graph (1 input, 1 output) + close, wrapper vs bare ctypes at each N, "
    "interleaved. 'sessions': N live sessions each holding the graph, the first one is "
    "run. 'graphs': one session holding graph ids 0..N-1, graph 0 (added first) is run, "
    "because the stand-in scans a session's graphs in insertion order. Flatness rows: "
    "wrapper median at the largest N (wrapper column) vs at N = 1 (baseline column).",
]


def _series(
    name: str, plan: Plan, steps: tuple[int, ...], grow_sessions: bool, rows: list[Row]
) -> None:
    """Grow one series through ``steps``, timing the hot run at each."""
    label = f"run_graph vs live {name}"
    first = ge.Session()
    sessions: list[ge.Session] = [first]
    inputs = small_inputs(1)
    timings_at: dict[int, float] = {}
    cpu_at: dict[int, float] = {}
    try:
        with sum_graph(1) as graph:
            first.add_graph(0, graph)
            graphs = 1
            for n in steps:
                if grow_sessions:
                    while len(sessions) < n:
                        session = ge.Session()
                        session.add_graph(0, graph)
                        sessions.append(session)
                else:
                    while graphs < n:
                        first.add_graph(graphs, graph)
                        graphs += 1
                timings = interleaved(
                    [
                        Case("wrapper run_graph", _wrapper_sync(first, 0, inputs)),
                        Case("bare RunGraph", _bare_sync(first.handle, 0, inputs)),
                    ],
                    plan,
                )
                timings_at[n] = timings[0].median
                cpu_at[n] = timings[0].cpu_median
                rows.append(
                    Row.from_timings(
                        FAMILY, label, f"N={n:,}", timings[0], timings[1], extra={"n": n}
                    )
                )
    finally:
        for tensor in inputs:
            tensor.close()
        for session in reversed(sessions):
            session.close()
    smallest, largest = steps[0], steps[-1]
    rows.append(
        Row(
            FAMILY,
            f"flatness: {name} {smallest:,} -> {largest:,}",
            f"N={largest:,} vs {smallest:,}",
            timings_at[largest],
            timings_at[smallest],
            target=FLAT_TARGET,
            wrapper_cpu_ns=cpu_at[largest],
            baseline_cpu_ns=cpu_at[smallest],
            wrapper=f"wrapper run_graph at N={largest}",
            baseline=f"wrapper run_graph at N={smallest}",
            extra={
                "medians_by_n": {str(k): v for k, v in timings_at.items()},
                "cpu_medians_by_n": {str(k): v for k, v in cpu_at.items()},
            },
        )
    )


def run(quick: bool) -> list[Row]:
    """Both series; quick mode uses fewer rounds and the steps 1, 100 and 10,000."""
    steps = (1, 100, 10_000) if quick else STEPS
    plan = Plan(rounds=21 if quick else 61, warmup=200, batch_ns=3_000_000)
    rows: list[Row] = []
    with ge_ready():
        _series("sessions", plan, steps, True, rows)
        _series("graphs", plan, steps, False, rows)
    return rows
