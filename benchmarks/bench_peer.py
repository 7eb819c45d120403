"""5. Versus CANN's own Python package (``--cann-python DIR``, optional).

The same operations through this package and through CANN's package, on the
same stand-in libraries: the stand-in's CANN layout
(``ge.testing.build_cann_layout()``) and the environment of its
``set_env.sh``, plus its ``python/site-packages/ge/_capi`` on
``LD_LIBRARY_PATH`` (CANN's package loads ``ge/_capi/lib*.so`` from its own
directory, else the bare name). Both packages are a top-level ``ge``, so
each side runs in a child process of its own (``benchmarks/_peer_child.py``,
which says how missing symbols are tolerated); the two children stay up and
this process has them time one batch at a time, alternating sides in every
round (order reversed on odd rounds), as ``benchmarks._timing.interleaved``
does within one process. Nothing is downloaded: ``DIR`` is the directory
holding CANN's ``ge/`` package, as the user has it.

Operations (both sides, per call):

* create: a host tensor of 1e6 float32 values, then freed. Ours:
  ``Tensor.from_numpy(a).close()``; CANN: ``Tensor(values, None, DT_FLOAT,
  FORMAT_ND, [1e6])`` from a ready Python list (its API takes lists), dropped.
* read: the values back. Ours ``t.numpy()``; CANN ``t.get_data()``.
* run_graph with 1 and 8 float32[16] inputs (one output), outputs freed.
* run_graph_with_stream_async with 8 inputs on a stream with GE's default
  allocator, ``aclrtSynchronizeStream``, outputs freed.
* register then unregister a Python allocator on a stream.

A first child traces CANN's side: after a warm-up call of each operation, the
C symbols the next call made (all must be real: a placeholder raises).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Optional

from benchmarks._report import SPEEDUP, Row
from benchmarks._timing import Timing

FAMILY = "peer"
CHILD = Path(__file__).resolve().parent / "_peer_child.py"
REPO = Path(__file__).resolve().parent.parent
DATA_TARGET = 100.0
"""Creating and reading a 1e6-element tensor: at least 100x faster than CANN's package."""

OPERATIONS = {
    "create": ("vs CANN: create a tensor", "1e6 float32", DATA_TARGET),
    "read": ("vs CANN: read it back", "1e6 float32", DATA_TARGET),
    "run_graph_1": ("vs CANN: run_graph", "1 input", None),
    "run_graph_8": ("vs CANN: run_graph", "8 inputs", None),
    "run_async_8": ("vs CANN: run_graph_with_stream_async", "8 inputs", None),
    "register_allocator": ("vs CANN: register + unregister allocator", "", None),
}
"""Child operation -> (benchmark, size, target speed-up)."""

NOTES = [
    "peer: ratio = CANN's package time / ours ('faster', higher is better), same operations "
    "on the same stand-in libraries (its CANN layout, set_env.sh), each side in its own child "
    "process, batches alternating between the two in every round. create: ours "
    "from_numpy(a).close(), CANN Tensor(list, ...) from a ready Python list (its API takes "
    "lists); read: ours "
    "numpy(), CANN get_data(). Runs: float32[16] inputs, one output, outputs freed; async: "
    "default allocator, aclrtSynchronizeStream each call.",
    "peer: the batches run with the cyclic GC off; an operation whose calls leave objects in "
    "reference cycles (counted after warm-up, in each row's JSON as cyclic_garbage_per_call) has "
    "the collection of the young generation timed with each of its batches, so that each side "
    "pays for freeing what it made. (Before issue 13's phase 3, this package's "
    "register + unregister left 19 such objects per call, its four callbacks, uncollected and "
    "untimed; CANN's frees its callbacks in OnDestroy.)",
]


def layout_environment() -> tuple[dict[str, str], Path]:
    """The environment of the stand-in's CANN layout (its ``set_env.sh``), for a child."""
    import ge.testing

    root = Path(ge.testing.build_cann_layout())
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GE_FFI", "ASCEND")) and key not in ("PYTHONPATH", "LD_LIBRARY_PATH")
    }
    script = 'source "$1" >/dev/null && env -0'
    done = subprocess.run(
        ["bash", "-c", script, "bash", str(root / "set_env.sh")],
        env=base,
        capture_output=True,
        text=True,
        check=True,
    )
    env = dict(item.split("=", 1) for item in done.stdout.split("\0") if "=" in item)
    env.pop("PYTHONPATH", None)  # sys.path is the child's business
    capi = root / "python" / "site-packages" / "ge" / "_capi"
    env["LD_LIBRARY_PATH"] = f"{env.get('LD_LIBRARY_PATH', '')}:{capi}".lstrip(":")
    return env, root


def _trace(directory: Path, env: dict[str, str]) -> Any:
    """CANN's side in trace mode: the symbols each operation calls."""
    done = subprocess.run(
        [sys.executable, str(CHILD), "cann", str(directory), str(REPO), "trace"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the trace child exited {done.returncode}:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class _Side:
    """One child serving batches (``_peer_child.py ... serve``)."""

    def __init__(self, side: str, directory: Path, env: dict[str, str]) -> None:
        self.side = side
        self.log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed by close())
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), side, str(directory), str(REPO), "serve"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            bufsize=1,
        )
        self.ready = self._answer()

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(timeout=60)
            self.log.seek(0)
            raise RuntimeError(
                f"the {self.side} child exited {self.process.returncode}:\n{self.log.read()}"
            )
        return json.loads(line)

    def ask(self, **command: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(RuntimeError, OSError, ValueError):
                self.ask(quit=True)
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def _interleaved(name: str, sides: dict[str, _Side], rounds: int) -> dict[str, Timing]:
    """Batches of ``name`` on both sides, alternating within each round."""
    slow = name in SLOW
    warmed = {
        side: child.ask(
            warm=name,
            batch_ns=5_000_000,
            warmup=1 if slow else 100,
            fixed_inner=1 if slow and side == "cann" else None,
        )
        for side, child in sides.items()
    }
    inner = {side: answer["inner"] for side, answer in warmed.items()}
    GARBAGE[name] = {side: answer["garbage"] for side, answer in warmed.items()}
    wall: dict[str, list[float]] = {side: [] for side in sides}
    cpu: dict[str, list[float]] = {side: [] for side in sides}
    order = list(sides)
    for round_no in range(rounds):
        for side in order if round_no % 2 == 0 else reversed(order):
            answer = sides[side].ask(batch=name, inner=inner[side])
            wall[side].append(answer["wall"] / inner[side])
            cpu[side].append(answer["cpu"] / inner[side])
    return {
        side: Timing(f"{side} {name}", tuple(wall[side]), inner[side], tuple(cpu[side]))
        for side in sides
    }


GARBAGE: dict[str, dict[str, float]] = {}
"""Operation -> side -> objects one call leaves in reference cycles (last run)."""

SLOW = ("create", "read")
"""Operations that take about a second on CANN's side: one call per batch there."""


def run(quick: bool, directory: Optional[Path] = None) -> list[Row]:
    """Both packages side by side; ``directory`` holds CANN's ``ge/`` package."""
    if directory is None:
        return []
    directory = Path(directory).resolve()
    if not (directory / "ge" / "__init__.py").is_file():
        raise SystemExit(f"--cann-python {directory}: no ge/__init__.py there")
    env, root = layout_environment()
    trace = _trace(directory, env)
    sides: dict[str, _Side] = {}
    timings: dict[str, dict[str, Timing]] = {}
    try:
        for side in ("ours", "cann"):
            sides[side] = _Side(side, directory, env)
        for name in OPERATIONS:
            slow = name in SLOW
            rounds = (3 if slow else 11) if quick else (9 if slow else 41)
            timings[name] = _interleaved(name, sides, rounds)
    finally:
        for child in sides.values():
            child.close()
    called = {symbol for symbols in trace["calls"].values() for symbol in symbols}
    placeholders = called & set(trace["missing"])
    if placeholders:  # cannot happen: a placeholder raises when called
        raise RuntimeError(f"measured operations called placeholders: {sorted(placeholders)}")
    PEER_INFO.clear()
    PEER_INFO.update(
        {
            "directory": str(directory),
            "ge_package": trace["ge_package"],
            "layout": str(root),
            "calls": trace["calls"],
            "missing_symbols": sorted(trace["missing"]),
            "called_symbols_all_real": True,
        }
    )
    rows: list[Row] = []
    for name, (benchmark, size, target) in OPERATIONS.items():
        mine, cann = timings[name]["ours"], timings[name]["cann"]
        rows.append(
            Row.from_timings(
                FAMILY,
                benchmark,
                size,
                mine,
                cann,
                metric=SPEEDUP,
                target=target,
                extra={
                    "cann_symbols_called": trace["calls"][name],
                    "cann_median_ns": statistics.median(cann.samples),
                    "cyclic_garbage_per_call": GARBAGE.get(name, {}),
                },
            )
        )
    return rows


PEER_INFO: dict[str, Any] = {}
"""What the last :func:`run` found about CANN's package (for the JSON report)."""
