"""Test settings and the fixtures every tier shares (``tests/README.md``): hypothesis
profiles (``CI=true`` selects the CI-sized one), the package's pytest plugin (opt-in
for users, on for this suite: ``ge_stub``, ``ge_stub_library``), and the fixtures
that set up ACL, GE, a stream, a graph or a fake CANN install on the stand-in.
The helpers that are not fixtures are in ``tests/_helpers/``."""

from __future__ import annotations

import os

# Before ge is imported: every handle kind refuses raw ints, None and other
# kinds, and records the offence (ge/_ffi/handles.py); checked after each test.
os.environ["GE_FFI_AUDIT_HANDLES"] = "1"

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
settings.register_profile(
    "ci-compat",  # CI's other interpreters (.ci/run): every test, a quarter of the examples
    settings.get_profile("ci"),
    max_examples=10,
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

import gc  # noqa: E402
import platform  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from _helpers.graphs import build_graph  # noqa: E402

from ge._ffi.loader import CAPI_FILES, CAPI_SUBDIR, GROUP_FILES, SITE_PACKAGES  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _heap_frozen() -> None:
    """Freeze what is alive when a test module starts (modules, hypothesis and its
    strategy caches, pytest's items and reports: ~100,000 long-lived objects by
    the end of a run) out of the cyclic collector's walks. The ``ge_stub``
    fixture collects after every test, and each full collection walked all of
    it: over half of the suite's time. What a test makes is collected as before;
    nothing a test leaves alive can hold a native object (``ge_stub`` fails it)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _handles_audited() -> Iterator[None]:
    """No raw int, ``None`` or wrong kind reached a handle parameter of C in the
    test, even where the ``ArgumentError`` was swallowed (a finalizer)."""
    from ge._ffi import handles

    assert handles.AUDIT, "ge._ffi.handles was imported before the conftest set the audit"
    start = len(handles.violations)
    yield
    found = handles.violations[start:]
    del handles.violations[start:]
    assert not found, "handle audit:\n" + "\n".join(found)


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


@pytest.fixture
def make_graph() -> Any:
    """The :func:`build_graph` factory."""
    return build_graph


@pytest.fixture
def fake_cann(tmp_path: Path, ge_stub_library: str) -> Path:
    """A CANN root whose libraries are all the stand-in (each where CANN puts it),
    with a version file."""
    lib64 = tmp_path / "lib64"
    capi = tmp_path / SITE_PACKAGES / CAPI_SUBDIR
    lib64.mkdir()
    capi.mkdir(parents=True)
    for group, files in GROUP_FILES.items():
        for name in files if group != "stub" else ():  # CANN has no stand-in controls
            ((capi if name in CAPI_FILES else lib64) / name).symlink_to(ge_stub_library)
    info = tmp_path / f"{platform.machine()}-linux"
    info.mkdir()
    (info / "ascend_toolkit_install.info").write_text(
        "package_name=Ascend-cann-toolkit\nversion=8.0.RC9\narch=x86_64\n"
    )
    return tmp_path
