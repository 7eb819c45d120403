"""Fake CANN install trees (the stand-in built as CANN's separate libraries, see
``ge.testing.build_cann_layout``) and children run in the environment a tree's
``set_env.sh`` makes."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from ge.testing.build import build_cann_layout


def copy_cann_tree(dest: Path) -> Path:
    """A copy of the stand-in's CANN tree at ``dest`` (symlinks kept), to change."""
    shutil.copytree(build_cann_layout(), dest, symlinks=True)
    return dest


def run_in_cann_env(
    tree: Path,
    argv: Sequence[str],
    cwd: Path,
    *,
    set_env: bool = True,
    shell_steps: Sequence[str] = (),
    extra_env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """``argv`` in bash after ``source <tree>/set_env.sh`` (``set_env=False``: only
    ``ASCEND_HOME_PATH=<tree>`` instead) and the shell commands ``shell_steps``, its
    output captured. The environment has no ``GE_FFI_*``, ``ASCEND_*`` or ``PYTEST_*``
    variable and no earlier ``PYTHONPATH`` or ``LD_LIBRARY_PATH``, plus ``extra_env``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GE_FFI", "ASCEND", "PYTEST_"))
        and k not in ("LD_LIBRARY_PATH", "PYTHONPATH")
    }
    env.update(extra_env or {})
    if set_env:
        steps = [f"source {shlex.quote(str(tree / 'set_env.sh'))}"]
    else:
        steps = [f"export ASCEND_HOME_PATH={shlex.quote(str(tree))}"]
    steps += [*shell_steps, "exec " + shlex.join(argv)]
    return subprocess.run(
        ["bash", "-c", " && ".join(steps)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
