"""Run the benchmarks, print one table, write JSON.

Usage::

    python -m benchmarks [--quick] [--json PATH] [--only NAME[,NAME]] [--markdown]
                         [--cann-python DIR]
    python benchmarks/run.py ...

``--quick`` (fewer rounds and sizes, under a minute) is the smoke test; the
full run takes several minutes. The library is ``$GE_FFI_LIBRARY`` if set,
else the CPU stand-in, built on first use. Missed targets are reported, not
failures: the exit status is 0 unless a benchmark breaks (or
``--fail-on-miss`` is given and a target is missed). ``--cann-python DIR``
(the directory holding CANN's ``ge/`` package) adds the same operations
through CANN's own package, side by side (``benchmarks/bench_peer.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import time
from collections.abc import Sequence
from types import ModuleType
from typing import Optional

from benchmarks import (
    bench_allocator,
    bench_calls,
    bench_datapath,
    bench_peer,
    bench_scaling,
)
from benchmarks._env import library
from benchmarks._report import (
    Row,
    environment,
    render_markdown,
    render_table,
    write_json,
)

FAMILIES: dict[str, ModuleType] = {
    "calls": bench_calls,
    "allocator": bench_allocator,
    "datapath": bench_datapath,
    "scaling": bench_scaling,
}
"""Every benchmark family, in the order they run."""

DEFAULT_JSON = Path(__file__).resolve().parent / "results" / "latest.json"

COLUMNS = (
    "Columns: wrapper / baseline = median time per call over interleaved rounds; "
    "ratio = wrapper/baseline time ('x', lower is better) or, for the data path, "
    "baseline/wrapper time = fraction of numpy.copy bandwidth ('bw', higher is better); "
    "for 'vs CANN' rows, CANN's package time / ours ('faster', higher is better); "
    "cpu ratio = the same ratio of the thread-CPU medians (steadier on a shared machine); "
    "target = the bound the ratio must meet; result = pass, MISS, or info (no target)."
)


def _families(only: Optional[Sequence[str]]) -> list[str]:
    if not only:
        return list(FAMILIES)
    names = [name.strip() for item in only for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in FAMILIES]
    if unknown:
        raise SystemExit(
            f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(FAMILIES)}"
        )
    return [name for name in FAMILIES if name in names]


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark ge against bare ctypes and numpy on the CPU stand-in.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer rounds and sizes (< 60 s smoke test)"
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=DEFAULT_JSON,
        metavar="PATH",
        help=f"where to write the results (default {DEFAULT_JSON})",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help=f"run only these families (repeat or comma-separate): {', '.join(FAMILIES)}",
    )
    parser.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    parser.add_argument(
        "--cann-python",
        type=Path,
        metavar="DIR",
        help="also run the operations through CANN's own Python package, whose ge/ is in DIR "
        "(nothing is downloaded; each package runs in a child process)",
    )
    parser.add_argument(
        "--fail-on-miss", action="store_true", help="exit with status 1 if a target is missed"
    )
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the chosen families; print the table; write the JSON."""
    args = parse_args(argv)
    names = _families(args.only)
    lib = library()
    env = environment(lib, args.quick)
    print(f"ge from {env['ge_package']}, library {lib}", file=sys.stderr)
    rows: list[Row] = []
    notes: list[str] = []
    started = time.perf_counter()
    for name in names:
        module = FAMILIES[name]
        t0 = time.perf_counter()
        print(f"[{name}] running...", file=sys.stderr, flush=True)
        rows.extend(module.run(args.quick))
        notes.extend(module.NOTES)
        print(f"[{name}] done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    if args.cann_python is not None:
        t0 = time.perf_counter()
        print("[peer] running (CANN's package in child processes)...", file=sys.stderr, flush=True)
        rows.extend(bench_peer.run(args.quick, args.cann_python))
        notes.extend(bench_peer.NOTES)
        env["peer"] = dict(bench_peer.PEER_INFO)
        print(f"[peer] done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    env["seconds"] = round(time.perf_counter() - started, 1)
    mode = "quick" if args.quick else "full"
    print(
        f"\nge benchmarks ({mode} run, {env['seconds']} s, Python {env['python']}, "
        f"numpy {env['numpy']}, {env['cpus']} CPUs)\n"
    )
    print(render_table(rows))
    print()
    print(COLUMNS)
    for note in notes:
        print(f"- {note}")
    for row in rows:
        speedup = row.extra.get("fast_path_speedup")
        if speedup:
            print(
                f"- {row.benchmark} [{row.size}]: the raw-bytes fast path is at least "
                f"{speedup:,.0f}x faster"
            )
    peer = env.get("peer")
    if peer:
        print(
            f"- peer: CANN's package from {peer['ge_package']}; it looked up "
            f"{len(peer['missing_symbols'])} symbols the stand-in does not export (placeholders, "
            "never called). C symbols each measured operation of CANN's package calls:"
        )
        for name, symbols in peer["calls"].items():
            print(f"    {name}: {', '.join(symbols)}")
    missed = [row for row in rows if row.passed is False]
    targets = [row for row in rows if row.passed is not None]
    print(
        f"\ntargets: {len(targets) - len(missed)} of {len(targets)} met"
        + (f"; missed: {', '.join(f'{r.benchmark} [{r.size}]' for r in missed)}" if missed else "")
    )
    if args.markdown:
        print()
        print(render_markdown(rows))
    write_json(args.json, rows, env, notes)
    print(f"results written to {args.json}", file=sys.stderr)
    return 1 if args.fail_on_miss and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
