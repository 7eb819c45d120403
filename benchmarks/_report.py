"""Results: one row per comparison, printed as a table and written as JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from benchmarks._timing import Timing

TIME_RATIO = "time_ratio"
"""``ratio`` is wrapper median / baseline median (lower is better)."""
BANDWIDTH = "bandwidth_fraction"
"""``ratio`` is baseline median / wrapper median: the wrapper's share of the
baseline's bandwidth on the same bytes (higher is better)."""
SPEEDUP = "speedup"
"""``ratio`` is baseline median / wrapper median: how many times faster the
wrapper is than the baseline (another package; higher is better)."""
HIGHER_IS_BETTER = (BANDWIDTH, SPEEDUP)


@dataclass
class Row:
    """One comparison: the wrapper against its baseline, and the target if any.

    ``target`` is the bound on ``ratio`` (``None``: informational): an upper
    bound for a :data:`TIME_RATIO`, a lower bound for a :data:`BANDWIDTH`.
    """

    family: str
    benchmark: str
    size: str
    wrapper_ns: float
    baseline_ns: float
    metric: str = TIME_RATIO
    target: Optional[float] = None
    wrapper: str = ""
    baseline: str = ""
    rounds: int = 0
    inner: int = 0
    wrapper_spread: float = 0.0
    baseline_spread: float = 0.0
    wrapper_min_ns: Optional[float] = None
    baseline_min_ns: Optional[float] = None
    wrapper_cpu_ns: Optional[float] = None
    """Median thread CPU time per call (``None`` when not measured)."""
    baseline_cpu_ns: Optional[float] = None
    nbytes: Optional[int] = None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_timings(
        cls, family: str, benchmark: str, size: str, wrapper: Timing, baseline: Timing, **kw: Any
    ) -> Row:
        """A row from the wrapper's and the baseline's timings of one interleaved run."""
        return cls(
            family,
            benchmark,
            size,
            wrapper.median,
            baseline.median,
            wrapper=kw.pop("wrapper", wrapper.name),
            baseline=kw.pop("baseline", baseline.name),
            rounds=len(wrapper.samples),
            inner=wrapper.inner,
            wrapper_spread=wrapper.spread,
            baseline_spread=baseline.spread,
            wrapper_min_ns=wrapper.minimum,
            baseline_min_ns=baseline.minimum,
            wrapper_cpu_ns=kw.pop("wrapper_cpu_ns", wrapper.cpu_median or None),
            baseline_cpu_ns=kw.pop("baseline_cpu_ns", baseline.cpu_median or None),
            **kw,
        )

    @property
    def ratio(self) -> float:
        """Wrapper/baseline time, or baseline/wrapper time for a bandwidth row."""
        if self.metric in HIGHER_IS_BETTER:
            return self.baseline_ns / self.wrapper_ns if self.wrapper_ns else float("inf")
        return self.wrapper_ns / self.baseline_ns if self.baseline_ns else float("inf")

    @property
    def cpu_ratio(self) -> Optional[float]:
        """:attr:`ratio` of the thread-CPU medians (``None`` when not measured)."""
        wrapper, baseline = self.wrapper_cpu_ns, self.baseline_cpu_ns
        if not wrapper or not baseline:
            return None
        return baseline / wrapper if self.metric in HIGHER_IS_BETTER else wrapper / baseline

    @property
    def passed(self) -> Optional[bool]:
        """Whether the target is met (``None`` when there is no target)."""
        if self.target is None:
            return None
        if self.metric in HIGHER_IS_BETTER:
            return self.ratio >= self.target
        return self.ratio <= self.target

    def as_dict(self) -> dict[str, Any]:
        """The row for JSON, with its ratio and verdict."""
        data = asdict(self)
        data["ratio"] = self.ratio
        data["cpu_ratio"] = self.cpu_ratio
        data["passed"] = self.passed
        return data


def format_ns(ns: float) -> str:
    """A duration with a unit that keeps three or four significant digits."""
    if ns < 10_000:
        return f"{ns:,.0f} ns"
    if ns < 10_000_000:
        return f"{ns / 1e3:,.1f} us"
    return f"{ns / 1e6:,.1f} ms"


def format_ratio(row: Row, ratio: Optional[float] = None) -> str:
    """``3.10x`` for a time ratio, ``0.93 bw`` for a bandwidth fraction (``ratio``
    instead of the row's own, for the thread-CPU column; ``-`` for none)."""
    value = row.ratio if ratio is None else ratio
    if row.metric == SPEEDUP:
        if value < 1:
            return f"{1 / value:.2f}x slower"
        return f"{value:.2f}x faster" if value < 10 else f"{value:,.0f}x faster"
    if row.metric == BANDWIDTH:
        return f"{value:.2f} bw" if value < 10 else f"{value:,.0f} bw"
    return f"{value:.2f}x" if value < 100 else f"{value:,.0f}x"


def format_cpu(row: Row) -> str:
    """The thread-CPU ratio, ``-`` when not measured."""
    ratio = row.cpu_ratio
    return "-" if ratio is None else format_ratio(row, ratio)


def format_target(row: Row) -> str:
    """The target as a bound on the ratio column, ``-`` when there is none."""
    if row.target is None:
        return "-"
    if row.metric == SPEEDUP:
        return f">= {row.target:,.0f}x faster"
    if row.metric == BANDWIDTH:
        return f">= {row.target:.2f} bw"
    return f"<= {row.target:.2f}x"


def verdict(row: Row) -> str:
    """``pass``, ``MISS`` or ``info``."""
    passed = row.passed
    return "info" if passed is None else "pass" if passed else "MISS"


HEADERS = ("benchmark", "size", "wrapper", "baseline", "ratio", "cpu ratio", "target", "result")


def table_cells(rows: list[Row]) -> list[tuple[str, ...]]:
    """The table's cells, one tuple per row."""
    return [
        (
            row.benchmark,
            row.size,
            format_ns(row.wrapper_ns),
            format_ns(row.baseline_ns),
            format_ratio(row),
            format_cpu(row),
            format_target(row),
            verdict(row),
        )
        for row in rows
    ]


def render_table(rows: list[Row]) -> str:
    """A plain-text table; numbers right-aligned."""
    cells = table_cells(rows)
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(HEADERS)]
    right = {2, 3, 4, 5}

    def line(values: tuple[str, ...]) -> str:
        parts = [
            v.rjust(w) if i in right else v.ljust(w) for i, (v, w) in enumerate(zip(values, widths))
        ]
        return "  ".join(parts).rstrip()

    out = [line(HEADERS), "  ".join("-" * w for w in widths)]
    family = None
    for row, cell in zip(rows, cells):
        if family is not None and row.family != family:
            out.append("")
        family = row.family
        out.append(line(cell))
    return "\n".join(out)


def render_markdown(rows: list[Row]) -> str:
    """The same table in GitHub markdown (for the README)."""
    cells = table_cells(rows)
    out = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join(["---"] * 2 + ["---:"] * 4 + ["---"] * 2) + "|",
    ]
    out.extend("| " + " | ".join(c) + " |" for c in cells)
    return "\n".join(out)


def environment(library: str, quick: bool) -> dict[str, Any]:
    """What the numbers were measured on."""
    import numpy

    import ge

    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "numpy": numpy.__version__,
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "ge_package": os.path.dirname(ge.__file__),
        "library": library,
        "glibc_tunables": os.environ.get("GLIBC_TUNABLES", ""),
        "quick": quick,
    }


def write_json(path: Path, rows: list[Row], env: dict[str, Any], notes: list[str]) -> None:
    """Write every row, the environment and the method notes to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        "rows": len(rows),
        "targets": sum(r.passed is not None for r in rows),
        "passed": sum(r.passed is True for r in rows),
        "missed": [f"{r.benchmark} [{r.size}]" for r in rows if r.passed is False],
    }
    document = {
        "environment": env,
        "summary": summary,
        "notes": notes,
        "results": [row.as_dict() for row in rows],
    }
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
