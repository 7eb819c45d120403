"""Test settings: hypothesis profiles (``CI=true`` selects the CI-sized one) and
the package's pytest plugin, which is opt-in for users and on for this suite."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

pytest_plugins = ["ge.testing.pytest_plugin"]  # the ge_stub fixtures

settings.register_profile(
    "ci",
    max_examples=40,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile(
    "long",
    max_examples=2000,
    stateful_step_count=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") == "true" else "dev")
)


# -- shared fixtures for tests that run graphs on the stand-in ----------------

from collections.abc import Iterator  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture
def acl_ready(ge_stub: Any) -> Iterator[Any]:
    """ACL initialised and device 0 set, on a fresh stand-in."""
    import ge.acl

    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    yield ge_stub
    device.reset()
    ge.acl.finalize()


@pytest.fixture
def ge_ready(acl_ready: Any) -> Iterator[Any]:
    """ACL and GE initialised; GE is finalized after the test."""
    import ge

    ge.initialize({"ge.exec.deviceId": "0"})
    yield acl_ready
    ge.finalize()


@pytest.fixture
def stream(acl_ready: Any) -> Iterator[Any]:
    """A stream on device 0, destroyed after the test."""
    import ge.acl

    with ge.acl.Stream() as s:
        yield s


def build_graph(dtype: Any = None, shape: tuple[int, ...] = (2, 3), name: str = "g") -> Any:
    """A graph computing ``(x + y) * x`` on two inputs of ``dtype`` and ``shape``."""
    import ge

    builder = ge.GraphBuilder(name)
    dt = ge.DataType.DT_FLOAT if dtype is None else dtype
    x = builder.input(0, dt, shape)
    y = builder.input(1, dt, shape)
    graph = builder.build([(x + y) * x])
    builder.close()
    return graph


@pytest.fixture
def make_graph() -> Any:
    """The :func:`build_graph` factory."""
    return build_graph
