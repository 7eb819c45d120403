"""Hypothesis settings shared by the tests: the reliability state machines' scale, and
fixture-taking tests."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings


def machine_settings(factor: int, cap: int) -> settings:
    """The profile's settings with ``factor`` x its examples (at most ``cap``). Under
    ``CI=true`` a failure is not shrunk (that can take minutes): the printed blob
    reproduces it, and the dev profile shrinks it."""
    profile = settings()
    named = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
    ci = os.environ.get("CI") == "true" and named.startswith("ci")  # ci, ci-compat
    phases = [p for p in profile.phases if not (ci and p is Phase.shrink)]
    return settings(profile, max_examples=min(factor * profile.max_examples, cap), phases=phases)


FIXTURE_OK = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
"""For a hypothesis test that takes a function-scoped fixture (the stand-in, reset
once for all its examples: the test leaves nothing alive between examples)."""
