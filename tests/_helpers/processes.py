"""Child Python processes, and the environments they run in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Optional, Union

ROOT = Path(__file__).resolve().parents[2]
"""The repository (or unpacked sdist) the tests run from."""


def without_cann(**extra: str) -> dict[str, str]:
    """The environment of a machine with no CANN and no stand-in chosen, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GE_FFI", "ASCEND"))}
    env["LD_LIBRARY_PATH"] = ""
    env.update(extra)
    return env


def run_python(
    code: str,
    *args: str,
    env: Optional[dict[str, str]] = None,
    cwd: Union[str, Path, None] = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``python -c code args...`` in a child (this interpreter), its output captured."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
        check=False,
    )


SELECT_BACKEND = (
    "import sys; from ge.testing import select_backend; "
    "b = select_backend(*sys.argv[1:2], quiet='quiet' in sys.argv); "
    "print(b.kind, b.fell_back, *b.libraries)"
)
"""A child that calls ``select_backend(choice, quiet=...)`` and prints what it chose."""


def run_select_backend(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``select_backend`` in a child with ``env``; ``args``: the choice, then ``"quiet"``."""
    return run_python(SELECT_BACKEND, *args, env=env)


def run_scenario(
    script: Union[str, Path],
    scenario: str,
    *args: str,
    timeout: float,
    what: str = "deadlock?",
    env: Optional[dict[str, str]] = None,
) -> subprocess.CompletedProcess[str]:
    """``python script scenario args...`` in a child (in ``env``: by default this
    process's environment), its output captured; the test fails (naming ``what``
    may have happened) if the child does not finish within ``timeout`` seconds."""
    import pytest

    try:
        return subprocess.run(
            [sys.executable, str(script), scenario, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{scenario}: no answer after {exc.timeout}s ({what})\n{exc.stdout!r}")


def scenario_summary(
    script: Union[str, Path], scenario: str, iterations: int, timeout: float
) -> dict[str, Any]:
    """Run ``script scenario iterations timeout`` (a scenario that ends by printing a JSON
    summary) with :func:`run_scenario` and return the summary; the test fails if the
    child exits with another status than 0 or writes anything to stderr."""
    done = run_scenario(script, scenario, str(iterations), str(timeout), timeout=timeout + 30)
    assert done.returncode == 0, (
        f"{scenario} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    )
    assert done.stderr == ""
    summary: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return summary
