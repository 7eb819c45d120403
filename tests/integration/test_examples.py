"""Every ``examples/*.py`` and every Python block of the README runs on a machine
without an NPU (falling back to the stand-in, with one line on stderr saying so)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers.processes import ROOT, without_cann

EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
FALLBACK_LINE = "ge: CANN not found: running on the CPU stand-in (no NPU is used), "


def readme_python_blocks() -> list[str]:
    """The fenced ```python blocks of README.md, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=without_cann(), capture_output=True, text=True, timeout=300
    )


def test_the_readme_has_python_blocks() -> None:
    blocks = readme_python_blocks()
    assert len(blocks) >= 2
    assert any("select_backend()" in block for block in blocks)


@pytest.mark.parametrize("index", range(len(readme_python_blocks())))
def test_readme_python_block_runs(index: int, tmp_path: Path, ge_stub_library: str) -> None:
    block = readme_python_blocks()[index]
    done = _run([sys.executable, "-c", block], tmp_path)
    assert done.returncode == 0, f"block {index}:\n{block}\nstderr:\n{done.stderr}"
    lines = done.stderr.splitlines()
    if "select_backend()" in block:
        assert len(lines) == 1 and lines[0].startswith(FALLBACK_LINE), done.stderr
    else:
        assert lines == [], done.stderr


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(example: Path, tmp_path: Path, ge_stub_library: str) -> None:
    done = _run([sys.executable, str(example)], tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(FALLBACK_LINE), done.stderr
    assert "[[" in done.stdout  # the result array
