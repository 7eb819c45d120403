"""The benchmarks still run (quick mode) and write their JSON; numbers are not asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from _helpers.processes import ROOT


def test_quick_benchmarks_run(ge_stub_library: str, tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    data = json.loads(out.read_text())
    assert data, "no results written"
    text = json.dumps(data)
    for family in ("run_graph", "from_numpy", "CachingAllocator"):
        assert family in text, family
