"""``ge.acl``'s initialisation (``init``, ``finalize``, ``version``) against the stand-in."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _helpers.processes import run_python, without_cann

import ge.acl as acl
from ge import _ffi
from ge._ffi import api
from ge.error import AclError, LibraryNotFoundError
from ge.testing import StubControl


def test_import_needs_no_library(tmp_path: Any) -> None:
    code = (
        "import ge.acl as a, ge.error as e\n"
        "assert not a.is_initialized()\n"
        "a.finalize()\n"
        "a.Device(0); a.MemcpyKind.DEVICE_TO_HOST\n"
        "try:\n    a.init()\nexcept e.LibraryNotFoundError:\n    print('ok')\n"
    )
    done = run_python(code, env=without_cann(GE_FFI_LIBRARY=str(tmp_path / "missing.so")))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_init_is_idempotent_and_finalize_harmless(ge_stub: StubControl) -> None:
    assert not acl.is_initialized()
    acl.finalize()  # not initialised: nothing to do
    acl.init()
    acl.init()
    assert acl.is_initialized()
    acl.finalize()
    assert not acl.is_initialized()
    acl.finalize()
    acl.init()  # again after finalize
    assert acl.is_initialized()
    acl.finalize()


def test_init_accepts_acl_initialised_elsewhere(ge_stub: StubControl) -> None:
    assert api.aclInit(None) == 0
    acl.init()
    assert acl.is_initialized()
    acl.finalize()
    assert api.aclFinalize() != 0  # ge.acl finalized it


def test_init_failure_is_reported(ge_stub: StubControl) -> None:
    ge_stub.fail_next("aclInit", 500001)
    with pytest.raises(AclError) as info:
        acl.init()
    assert info.value.status_name == "ACL_ERROR_FAILURE"
    assert info.value.api_name == "aclInit"
    assert not acl.is_initialized()
    acl.init()
    acl.finalize()


def test_init_with_config_path(ge_stub: StubControl, tmp_path: Any) -> None:
    config = tmp_path / "acl.json"
    config.write_text("{}")
    acl.init(config)
    acl.finalize()
    acl.init(str(config))
    acl.finalize()


def test_finalize_failure_keeps_flag(ge_stub: StubControl) -> None:
    acl.init()
    buf = acl.DeviceBuffer(8)
    ge_stub.fail_next("aclFinalize", 500001)
    with pytest.raises(AclError, match="aclFinalize"):
        acl.finalize()
    assert buf.closed  # released before aclFinalize either way
    assert acl.is_initialized()
    acl.finalize()
    assert not acl.is_initialized()


def test_init_config_path_checks(ge_stub: StubControl) -> None:
    with pytest.raises(TypeError):
        acl.init(123)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="NUL"):
        acl.init("a\0b")
    assert not acl.is_initialized()


def test_forget_clears_initialised_flag(ge_stub: StubControl) -> None:
    acl.init()
    buf = acl.DeviceBuffer(8)
    ge_stub.reset()
    assert not acl.is_initialized()
    assert buf.closed  # its handle died with the reset; nothing to free
    with pytest.raises(ValueError, match="DeviceBuffer is freed"):
        _ = buf.ptr
    acl.init()


def test_finalize_releases_live_objects(ge_stub: StubControl) -> None:
    acl.init()
    stream = acl.Stream()
    buf = acl.DeviceBuffer(16)
    host = acl.HostBuffer(16)
    buf.copy_from(np.arange(4, dtype=np.int32), stream=stream)
    acl.finalize()
    assert stream.closed and buf.closed and host.closed
    assert not any(ge_stub.live_counts().values())
    with pytest.raises(ValueError, match="Stream is destroyed"):
        stream.synchronize()
    with pytest.raises(ValueError, match="freed"):
        buf.to_numpy(np.int32, 4)
    buf.free()
    stream.destroy()


@pytest.mark.parametrize(
    "call",
    [
        lambda: acl.DeviceBuffer(16),
        lambda: acl.HostBuffer(16),
        lambda: acl.Stream(),
        lambda: acl.Device(0).set(),
        lambda: acl.device_count(),
        lambda: acl.get_device(),
    ],
    ids=["DeviceBuffer", "HostBuffer", "Stream", "Device.set", "device_count", "get_device"],
)
def test_calls_before_init_fail(ge_stub: StubControl, call: Any) -> None:
    with pytest.raises(AclError) as info:
        call()
    assert info.value.status_name == "ACL_ERROR_UNINITIALIZE"
    assert "EH9999: Internal error!" in str(info.value)  # ACL's report, from GE's error manager


def test_calls_after_finalize_fail(ge_stub: StubControl) -> None:
    acl.init()
    acl.finalize()
    with pytest.raises(AclError, match="ACL_ERROR_UNINITIALIZE"):
        acl.DeviceBuffer(16)


def test_version(ready: StubControl) -> None:
    found = acl.version()
    if _ffi.has("aclrtGetVersion"):
        assert found is not None and len(found) == 3
        assert all(isinstance(v, int) for v in found)
    else:
        assert found is None
    with _ffi.hidden_symbols("aclrtGetVersion"):
        assert acl.version() is None


def test_version_without_library(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.setenv("GE_FFI_LIBRARY", str(tmp_path / "missing.so"))
    _ffi.reset()
    try:
        with pytest.raises(LibraryNotFoundError):
            acl.version()
    finally:
        monkeypatch.undo()
        _ffi.reset()
