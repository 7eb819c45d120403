"""pytest plugin: the ``ge_stub`` fixture. Opt-in: installing ``ge-ffi`` does
not load it into every pytest run. Turn it on with ``pytest -p
ge.testing.pytest_plugin``, or in your top-level ``conftest.py``::

    pytest_plugins = ["ge.testing.pytest_plugin"]

Where another ``ge`` comes first on ``sys.path`` (CANN's own, after CANN's
``set_env.sh``), load ``ge_ffi.pytest_plugin`` instead: the same fixtures, with
this distribution's ``ge``.

``ge_stub`` builds the stand-in once per test session, points ``ge`` (and
child processes, through ``GE_FFI_LIBRARY``) at it, resets its state before
each test (strict mode on: a dead or foreign handle aborts the process, see
``StubControl.set_misuse_aborts``) and fails the test if any native object is
still alive after it.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from ge.testing.control import StubControl, activate_stub


@pytest.fixture(scope="session")
def ge_stub_library(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of the built stand-in library, active for the whole test session."""
    return activate_stub()


@pytest.fixture
def ge_stub(ge_stub_library: str) -> Iterator[StubControl]:
    """The stand-in, freshly reset and strict; the test fails if it leaks a native object."""
    control = StubControl()
    control.reset()
    control.set_misuse_aborts(True)  # reset does it too; strict is every test's default
    yield control
    gc.collect()
    leaked = {kind: n for kind, n in control.live_counts().items() if n}
    control.reset()
    if leaked:
        pytest.fail(f"native objects still alive after the test: {leaked}", pytrace=False)
