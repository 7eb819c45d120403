"""``ge.acl.Device``, ``device_count`` and ``get_device`` against the stand-in."""

from __future__ import annotations

import numpy as np
import pytest

import ge.acl as acl
from ge.error import AclError
from ge.testing import StubControl


def test_device_count_and_get_device(ge_stub: StubControl) -> None:
    acl.init()
    assert acl.device_count() == 1
    ge_stub.set_device_count(4)
    assert acl.device_count() == 4
    with pytest.raises(AclError) as info:
        acl.get_device()
    assert info.value.status_name == "ACL_ERROR_RT_CONTEXT_NULL"
    with acl.Device(3) as dev:
        assert dev.id == 3
        assert acl.get_device() == 3
    dev = acl.Device(2)
    dev.set()
    assert acl.get_device() == 2
    dev.reset()


def test_device_argument_checks() -> None:
    for bad in (True, 1.0, "0", None, np.bool_(False)):
        with pytest.raises(TypeError):
            acl.Device(bad)  # type: ignore[arg-type]
    for bad_value in (-1, 2**31):
        with pytest.raises(ValueError):
            acl.Device(bad_value)
    assert acl.Device(np.int64(2)).id == 2
    assert repr(acl.Device(1)) == "Device(1)"
    assert acl.Device(1) == acl.Device(1) and acl.Device(1) != acl.Device(2)
    assert len({acl.Device(0), acl.Device(0)}) == 1


def test_invalid_device_id(ready: StubControl) -> None:
    with pytest.raises(AclError) as info:
        acl.Device(1).set()
    assert info.value.status == 200002
    assert info.value.status_name == "ACL_ERROR_INVALID_DEVICE"
    assert info.value.context == {"device": 1}
    with pytest.raises(AclError, match="ACL_ERROR_INVALID_DEVICE"), acl.Device(7):
        pass
