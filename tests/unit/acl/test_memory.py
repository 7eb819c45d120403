"""``ge.acl.DeviceBuffer`` and ``HostBuffer``: arguments, misuse, failures, finalizers."""

from __future__ import annotations

import gc
from typing import Any

import numpy as np
import pytest

import ge.acl as acl
from ge.error import AclError
from ge.testing import StubControl


def test_buffer_basics(ready: StubControl) -> None:
    buf = acl.DeviceBuffer(32, acl.MemMallocPolicy.NORMAL_ONLY)
    assert isinstance(buf, acl.Buffer)
    assert buf.size == 32 and isinstance(buf.ptr, int) and buf.ptr
    assert repr(buf) == f"<DeviceBuffer size=32 ptr={buf.ptr:#x}>"
    assert ready.live_counts()["device_blocks"] == 1
    buf.free()
    buf.free()  # harmless
    assert buf.closed and buf.size == 32
    assert repr(buf) == "<DeviceBuffer size=32 freed>"
    for use in (
        lambda: buf.ptr,
        lambda: buf.copy_from(np.zeros(1)),
        lambda: buf.copy_from(np.zeros(0)),
        lambda: buf.to_numpy(np.uint8, 1),
        lambda: buf.memset(0),
    ):
        with pytest.raises(ValueError, match="DeviceBuffer is freed"):
            use()
    host = acl.HostBuffer(8)
    assert isinstance(host, acl.Buffer)
    assert ready.live_counts()["host_blocks"] == 1
    with host:
        assert repr(host).startswith("<HostBuffer size=8 ptr=0x")
    with pytest.raises(ValueError, match="HostBuffer is freed"):
        _ = host.ptr
    with pytest.raises(ValueError, match="freed"), acl.DeviceBuffer(8) as other:
        other.copy_to(buf)


def test_buffer_base_is_abstract() -> None:
    with pytest.raises(TypeError, match="abstract"):
        acl.Buffer(0x1000, 8)


def test_enums() -> None:
    assert [int(k) for k in acl.MemcpyKind] == [0, 1, 2, 3, 4]
    assert int(acl.MemcpyKind.DEVICE_TO_HOST) == 2
    assert (acl.MemMallocPolicy.HUGE_FIRST, acl.MemMallocPolicy.NORMAL_ONLY) == (0, 2)


@pytest.mark.parametrize("cls", [acl.DeviceBuffer, acl.HostBuffer])
def test_size_checks_before_c(ge_stub: StubControl, cls: Any) -> None:
    # ACL is not initialised: any C call would fail with AclError instead
    for bad in (True, 1.5, "8", None, np.float64(8)):
        with pytest.raises(TypeError):
            cls(bad)
    for bad_value in (0, -1, 2**64):
        with pytest.raises(ValueError):
            cls(bad_value)


def test_policy_checks(ready: StubControl) -> None:
    with pytest.raises(TypeError):
        acl.DeviceBuffer(8, True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        acl.DeviceBuffer(8, "HUGE_ONLY")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        acl.DeviceBuffer(8, 3)  # type: ignore[arg-type]
    for policy in (0, 1, 2, acl.MemMallocPolicy.HUGE_ONLY):
        acl.DeviceBuffer(8, policy).free()  # type: ignore[arg-type]
    acl.DeviceBuffer(np.int64(8)).free()


def test_copies_larger_than_destination(ready: StubControl) -> None:
    with acl.DeviceBuffer(16) as small, acl.DeviceBuffer(32) as big, acl.Stream() as stream:
        with pytest.raises(ValueError, match="do not fit"):
            small.copy_from(np.zeros(17, np.uint8))
        with pytest.raises(ValueError, match="do not fit"):
            small.copy_from(np.zeros(5, np.float32), stream=stream)
        assert ready.pending_work(stream) == 0
        with pytest.raises(ValueError, match="do not fit"):
            big.copy_to(small)
        with pytest.raises(ValueError, match="exceeds"):
            small.copy_to(big, nbytes=17)
        with pytest.raises(ValueError):
            small.copy_to(big, nbytes=-1)
        with pytest.raises(TypeError):
            small.copy_to(big, nbytes=True)
        with pytest.raises(TypeError):
            small.copy_to(np.zeros(16))  # type: ignore[arg-type]
        big.copy_to(small, nbytes=16)
        small.copy_to(big, nbytes=0)


@pytest.mark.parametrize("cls", [acl.DeviceBuffer, acl.HostBuffer])
def test_memset(ready: StubControl, cls: Any) -> None:
    with cls(8) as buf:
        buf.memset(0xAB)
        assert buf.to_numpy(np.uint8, 8).tolist() == [0xAB] * 8
        buf.memset(1, nbytes=3)
        assert buf.to_numpy(np.uint8, 8).tolist() == [1, 1, 1] + [0xAB] * 5
        buf.memset(0, nbytes=0)
        for bad in (-1, 256):
            with pytest.raises(ValueError):
                buf.memset(bad)
        with pytest.raises(TypeError):
            buf.memset(True)
        with pytest.raises(ValueError):
            buf.memset(0, nbytes=9)


def test_fault_injection_bad_alloc(ready: StubControl) -> None:
    ready.fail_next("aclrtMalloc", 200000)
    with pytest.raises(AclError) as info:
        acl.DeviceBuffer(64)
    err = info.value
    assert err.status == 200000
    assert err.status_name == "ACL_ERROR_BAD_ALLOC"
    assert err.api_name == "aclrtMalloc"
    assert err.context == {"size": 64, "policy": "HUGE_FIRST"}
    assert "aclrtMalloc" in err.error_message and "injected fault" in err.error_message
    assert err.error_message in str(err)
    assert ready.live_counts()["device_blocks"] == 0
    acl.DeviceBuffer(64).free()  # only the next call failed


def test_memory_limit(ready: StubControl) -> None:
    ready.set_memory_limit(1024)
    with acl.DeviceBuffer(1000):
        with pytest.raises(AclError) as info:
            acl.DeviceBuffer(100)
        assert info.value.status_name == "ACL_ERROR_BAD_ALLOC"
        assert info.value.error_message.startswith("EH9999: Internal error!")
        assert "[FUNC:aclrtMalloc]" in info.value.error_message


def test_fault_injection_on_copies_and_free(ready: StubControl) -> None:
    with acl.DeviceBuffer(8) as buf, acl.Stream() as stream:
        ready.fail_next("aclrtMemcpy", 100000)
        with pytest.raises(AclError, match="ACL_ERROR_INVALID_PARAM") as info:
            buf.copy_from(np.zeros(2, np.int32))
        assert info.value.context == {"kind": "HOST_TO_DEVICE", "count": 8}
        ready.fail_next("aclrtMemcpyAsync", 100000)
        with pytest.raises(AclError):
            buf.copy_from(np.zeros(2, np.int32), stream=stream)
        assert not stream._keepalive  # nothing queued, nothing kept
        ready.fail_next("aclrtSynchronizeStream", 500001)
        with pytest.raises(AclError, match="ACL_ERROR_FAILURE"):
            buf.to_numpy(np.int32, 2, stream=stream)
        stream.synchronize()
    buf2 = acl.DeviceBuffer(8)
    ready.fail_next("aclrtFree", 500001)
    with pytest.raises(AclError, match="aclrtFree"):
        buf2.free()
    assert not buf2.closed  # a failed free keeps the handle, so it can be retried
    buf2.free()
    assert buf2.closed and ready.live_counts()["device_blocks"] == 0


@pytest.mark.parametrize("kind", ["device", "host", "stream"])
def test_garbage_collection_releases(ready: StubControl, kind: str) -> None:
    make = {"device": lambda: acl.DeviceBuffer(8), "host": lambda: acl.HostBuffer(8)}
    counter = {"device": "device_blocks", "host": "host_blocks", "stream": "streams"}[kind]
    obj = make.get(kind, acl.Stream)()
    assert ready.live_counts()[counter] == 1
    cycle: list[Any] = [obj]
    cycle.append(cycle)  # only the cycle collector can free it
    del obj, cycle
    gc.collect()
    assert ready.live_counts()[counter] == 0


class _Unreadable:
    """A sequence whose items cannot be read."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        raise RuntimeError("unreadable")


@pytest.mark.parametrize("kind", ["device", "host"])
def test_copying_from_an_unreadable_sequence_is_a_type_error(ready: StubControl, kind: str) -> None:
    """Found by the bad-input fuzzer: a sequence that raises while numpy reads it
    let its own exception out of ``copy_from``."""
    buf = acl.DeviceBuffer(8) if kind == "device" else acl.HostBuffer(8)
    try:
        with pytest.raises(TypeError, match="cannot be read") as caught:
            buf.copy_from(_Unreadable())
        assert isinstance(caught.value.__cause__, RuntimeError)
    finally:
        buf.free()
