"""Reliability: ``CachingAllocator``'s lock-free warm path under many threads.

Each scenario of ``scripts/caching_stress.py`` runs in a child process (the
switch interval at its minimum, a deadline that dumps every thread's stack),
so that a hang cannot hang the suite. See the script for what each checks.
The iterations per thread are 5 x the hypothesis profile's ``max_examples``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _helpers.processes import scenario_summary
from hypothesis import settings

SCRIPT = Path(__file__).parent / "scripts" / "caching_stress.py"
TIMEOUT = 90.0


@pytest.mark.parametrize("scenario", ["direct", "direct_yielding", "double_free", "through_ge"])
def test_caching_allocator_under_threads(ge_stub_library: str, scenario: str) -> None:
    iterations = min(5 * settings().max_examples, 2000)
    summary = scenario_summary(SCRIPT, scenario, iterations, TIMEOUT)
    print(f"\nRELIABILITY caching {scenario}: {iterations} iterations/thread, {summary}")
