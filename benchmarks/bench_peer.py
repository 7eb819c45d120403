"""5. Versus CANN's own Python package (``--cann-python DIR``, optional).

The same operations through this package and through CANN's package, on the
same stand-in libraries: the stand-in's CANN layout
(``ge.testing.build_cann_layout()``) and the environment of its
``set_env.sh``, plus its ``python/site-packages/ge/_capi`` on
``LD_LIBRARY_PATH`` (CANN's package loads ``ge/_capi/lib*.so`` from its own
directory, else the bare name). Both packages are a top-level ``ge``, so
each side runs in a child process of its own (``benchmarks/_peer_child.py``,
which says how missing symbols are tolerated), alternately, in several
blocks; the samples of a side's blocks are pooled. Nothing is downloaded:
``DIR`` is the directory holding CANN's ``ge/`` package, as the user has it.

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

import json
import os
import statistics
import subprocess
import sys
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
    "process, alternately in blocks, samples pooled. create: ours from_numpy(a).close(), "
    "CANN Tensor(list, ...) from a ready Python list (its API takes lists); read: ours "
    "numpy(), CANN get_data(). Runs: float32[16] inputs, one output, outputs freed; async: "
    "default allocator, aclrtSynchronizeStream each call.",
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


def _child(side: str, directory: Path, mode: str, rounds: int, env: dict[str, str]) -> Any:
    done = subprocess.run(
        [sys.executable, str(CHILD), side, str(directory), str(REPO), mode, str(rounds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"the {side} child ({mode}) exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _pooled(name: str, blocks: list[Any], label: str) -> Timing:
    samples: list[float] = []
    cpu: list[float] = []
    inner = 0
    for block in blocks:
        entry = block["timings"][name]
        samples += entry["samples"]
        cpu += entry["cpu_samples"]
        inner = entry["inner"]
    return Timing(label, tuple(samples), inner, tuple(cpu))


def run(quick: bool, directory: Optional[Path] = None) -> list[Row]:
    """Both packages side by side; ``directory`` holds CANN's ``ge/`` package."""
    if directory is None:
        return []
    directory = Path(directory).resolve()
    if not (directory / "ge" / "__init__.py").is_file():
        raise SystemExit(f"--cann-python {directory}: no ge/__init__.py there")
    env, root = layout_environment()
    trace = _child("cann", directory, "trace", 1, env)
    blocks, rounds = (1, 3) if quick else (3, 5)
    ours: list[Any] = []
    theirs: list[Any] = []
    for block in range(blocks):
        order = ("ours", "cann") if block % 2 == 0 else ("cann", "ours")
        for side in order:
            (ours if side == "ours" else theirs).append(
                _child(side, directory, "time", rounds, env)
            )
    peer = {
        "directory": str(directory),
        "ge_package": trace["ge_package"],
        "layout": str(root),
        "calls": trace["calls"],
        "missing_symbols": sorted(trace["missing"]),
    }
    PEER_INFO.clear()
    PEER_INFO.update(peer)
    rows: list[Row] = []
    for name, (benchmark, size, target) in OPERATIONS.items():
        mine = _pooled(name, ours, f"ge-ffi {name}")
        cann = _pooled(name, theirs, f"CANN's package {name}")
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
                    "blocks": blocks,
                },
            )
        )
    return rows


PEER_INFO: dict[str, Any] = {}
"""What the last :func:`run` found about CANN's package (for the JSON report)."""
