"""Fixtures of the ``ge.acl`` tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import ge.acl as acl
from ge.testing import StubControl


@pytest.fixture
def ready(ge_stub: StubControl) -> Iterator[StubControl]:
    """The stand-in with ACL initialised and device 0 set (no finalize: leaks stay visible)."""
    acl.init()
    acl.Device(0).set()
    yield ge_stub
