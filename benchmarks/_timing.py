"""The shared timing helper: interleaved rounds, medians, no GC while timing.

Every benchmark compares a wrapper operation with a baseline doing the same
work at the physical floor. Both are timed in the same run, alternating
within each round (forward order on even rounds, reversed on odd ones, so
neither side always runs first), for many rounds; each round times a batch
of ``inner`` calls of one case with :func:`time.perf_counter_ns` and records
the time per call. The medians of those per-call times are compared: slow
drift of the machine (frequency, caches, another process on one of the two
cores) hits both sides alike and the median ignores outlier rounds.

Each batch is also timed in thread CPU time (:func:`time.thread_time_ns`):
on a shared machine a batch during which the thread was descheduled is long
in wall time but not in CPU time, so the thread-CPU medians (and their
ratio) are the steadier numbers when other processes compete for the cores.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Callable, ContextManager, Optional

Op = Callable[[], object]
"""One operation to time: called ``inner`` times per batch, its result dropped."""


@dataclass(frozen=True)
class Case:
    """A named operation; ``context`` (optional) is entered around each batch,
    outside the timed region (for example ``ge._ffi.hidden_symbols``)."""

    name: str
    op: Op
    context: Optional[Callable[[], ContextManager[object]]] = None


@dataclass(frozen=True)
class Timing:
    """Per-call times of one case, in nanoseconds, one sample per round."""

    name: str
    samples: tuple[float, ...]
    inner: int
    cpu_samples: tuple[float, ...] = ()
    """Per-call thread CPU times, one per round (same batches as ``samples``)."""

    @property
    def median(self) -> float:
        """The median per-call time."""
        return statistics.median(self.samples)

    @property
    def cpu_median(self) -> float:
        """The median per-call thread CPU time (0 when not measured)."""
        return statistics.median(self.cpu_samples) if self.cpu_samples else 0.0

    @property
    def minimum(self) -> float:
        """The fastest round's per-call time."""
        return min(self.samples)

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median (0.05 = 5%)."""
        if len(self.samples) < 4:
            return 0.0
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / self.median if self.median else 0.0


@dataclass
class Plan:
    """How long to time: rounds, warm-up calls and the time one batch should take
    (or a fixed batch length, for operations that take milliseconds)."""

    rounds: int = 31
    warmup: int = 200
    batch_ns: int = 2_000_000
    max_inner: int = 100_000
    fixed_inner: Optional[int] = None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Collect once, then keep the cyclic GC off while the block runs."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _batch(case: Case, inner: int) -> int:
    """Run ``case.op`` ``inner`` times; the elapsed nanoseconds."""
    return _timed_batch(case, inner)[0]


def _timed_batch(case: Case, inner: int) -> tuple[int, int]:
    """Run ``case.op`` ``inner`` times; the elapsed wall and thread CPU nanoseconds."""
    op = case.op
    loop = itertools.repeat(None, inner)
    clock, cpu_clock = time.perf_counter_ns, time.thread_time_ns
    with case.context() if case.context is not None else contextlib.nullcontext():
        cpu_start = cpu_clock()
        start = clock()
        for _ in loop:
            op()
        elapsed = clock() - start
        return elapsed, cpu_clock() - cpu_start


def warm_up(case: Case, plan: Plan) -> None:
    """Call the case ``plan.warmup`` times, or for about one batch if it is slow."""
    first = _batch(case, 1)
    more = min(plan.warmup - 1, plan.batch_ns // max(first, 1))
    if more > 0:
        _batch(case, more)


def calibrate(cases: Sequence[Case], plan: Plan) -> int:
    """The batch length: calls of the slowest case that take about ``plan.batch_ns``."""
    if plan.fixed_inner is not None:
        return plan.fixed_inner
    slowest = 1.0
    for case in cases:
        per_call = _batch(case, 1)
        if per_call < plan.batch_ns:
            count = max(1, min(plan.max_inner, plan.batch_ns // max(per_call, 1)))
            per_call = _batch(case, count) / count
        slowest = max(slowest, per_call)
    return int(max(1, min(plan.max_inner, plan.batch_ns // slowest)))


def interleaved(cases: Sequence[Case], plan: Plan) -> list[Timing]:
    """Time ``cases`` in alternating order for ``plan.rounds`` rounds.

    Each case is warmed up first (see :func:`warm_up`). The batch length is
    the same for every case (see :func:`calibrate`).
    """
    for case in cases:
        warm_up(case, plan)
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    cpu: dict[str, list[float]] = {case.name: [] for case in cases}
    with gc_paused():
        inner = calibrate(cases, plan)
        for round_no in range(plan.rounds):
            order = cases if round_no % 2 == 0 else tuple(reversed(cases))
            for case in order:
                wall, cpu_ns = _timed_batch(case, inner)
                samples[case.name].append(wall / inner)
                cpu[case.name].append(cpu_ns / inner)
    return [
        Timing(case.name, tuple(samples[case.name]), inner, tuple(cpu[case.name])) for case in cases
    ]
