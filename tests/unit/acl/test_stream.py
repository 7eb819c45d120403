"""``ge.acl.Stream`` against the stand-in: creation, destruction, misuse, the stream argument."""

from __future__ import annotations

import numpy as np
import pytest

import ge.acl as acl
from ge.error import AclError
from ge.testing import StubControl


def test_stream_basics(ready: StubControl) -> None:
    stream = acl.Stream()
    handle = stream.handle
    assert isinstance(handle, int) and handle
    assert int(stream) == handle
    assert repr(stream) == f"<Stream {handle:#x}>"
    assert ready.live_counts()["streams"] == 1
    stream.synchronize()
    stream.destroy()
    stream.destroy()  # harmless
    assert stream.closed
    assert repr(stream) == "<Stream destroyed>"
    with pytest.raises(ValueError, match="Stream is destroyed"):
        _ = stream.handle
    with pytest.raises(ValueError, match="Stream is destroyed"):
        int(stream)
    with acl.Stream() as other:
        assert other.handle != handle
    assert other.closed
    assert ready.live_counts()["streams"] == 0


def test_stream_refuses_copy_and_pickle(ready: StubControl) -> None:
    import copy
    import pickle

    with acl.Stream() as stream:
        with pytest.raises(RuntimeError):
            copy.copy(stream)
        with pytest.raises(TypeError):
            pickle.dumps(stream)


def test_stream_create_failure(ready: StubControl) -> None:
    ready.fail_next("aclrtCreateStream", 200000)
    with pytest.raises(AclError, match="ACL_ERROR_BAD_ALLOC"):
        acl.Stream()
    assert ready.live_counts()["streams"] == 0


def test_destroyed_stream_handle_is_invalid(ready: StubControl) -> None:
    stream = acl.Stream()
    handle = stream.handle
    stream.destroy()
    with acl.DeviceBuffer(16) as buf:
        with pytest.raises(ValueError, match="Stream is destroyed"):
            buf.copy_from(np.zeros(4, np.int32), stream=stream)
        # A raw handle cannot be checked by the package: on CANN this crashes, so
        # the stand-in aborts too unless asked for ACL's tidy code.
        with ready.tidy_misuse():
            with pytest.raises(AclError) as info:
                buf.copy_from(np.zeros(4, np.int32), stream=handle)
            assert info.value.status_name == "ACL_ERROR_INVALID_RESOURCE_HANDLE"
            assert info.value.api_name == "aclrtMemcpyAsync"
            assert info.value.context["stream"] == f"0x{handle:x}"  # CANN's text
            assert hex(handle) in str(info.value)
            with pytest.raises(AclError, match="ACL_ERROR_INVALID_RESOURCE_HANDLE"):
                buf.to_numpy(np.int32, 4, stream=handle)


def test_stream_argument_checks(ready: StubControl) -> None:
    with acl.DeviceBuffer(16) as buf:
        for bad in ("s", 1.0, True, object()):
            with pytest.raises(TypeError):
                buf.copy_from(np.zeros(4, np.int32), stream=bad)  # type: ignore[arg-type]
            with pytest.raises(TypeError):
                buf.to_numpy(np.int32, 4, stream=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            buf.copy_from(np.zeros(4, np.int32), stream=-1)
        with pytest.raises(TypeError):
            buf.copy_from(np.zeros(0, np.int32), stream="s")  # type: ignore[arg-type]
