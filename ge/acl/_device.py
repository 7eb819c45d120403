"""Devices: :class:`Device` (set and reset one), ``device_count``, ``get_device``."""

from __future__ import annotations

import ctypes

from typing_extensions import Self

from ge._checks import device_id
from ge._ffi import api
from ge._ffi.marshal import check_acl

__all__ = ["Device", "device_count", "get_device"]


def device_count() -> int:
    """How many devices ACL sees (``aclrtGetDeviceCount``)."""
    count = ctypes.c_uint32()
    check_acl(api.aclrtGetDeviceCount(ctypes.byref(count)), "aclrtGetDeviceCount")
    return int(count.value)


def get_device() -> int:
    """The device set on the calling thread (``aclrtGetDevice``).

    ``AclError`` (``ACL_ERROR_RT_CONTEXT_NULL``) when no device is set.
    """
    device = ctypes.c_int32()
    check_acl(api.aclrtGetDevice(ctypes.byref(device)), "aclrtGetDevice")
    return int(device.value)


class Device:
    """One device id; a context manager that sets the device and resets it after.

    ``with Device(0):`` calls ``aclrtSetDevice(0)`` on enter and
    ``aclrtResetDevice(0)`` on exit; :meth:`set`/:meth:`reset` do the same
    explicitly (ACL counts them: each set needs one reset).
    """

    __slots__ = ("_id",)

    def __init__(self, id: int) -> None:
        self._id = device_id(id)

    @property
    def id(self) -> int:
        """The device id."""
        return self._id

    def set(self) -> None:
        """Make this the calling thread's device (``aclrtSetDevice``)."""
        check_acl(api.aclrtSetDevice(self._id), "aclrtSetDevice", {"device": self._id})

    def reset(self) -> None:
        """Release this device once (``aclrtResetDevice``)."""
        check_acl(api.aclrtResetDevice(self._id), "aclrtResetDevice", {"device": self._id})

    def __enter__(self) -> Self:
        self.set()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.reset()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Device):
            return NotImplemented
        return self._id == other._id

    def __hash__(self) -> int:
        return hash((Device, self._id))

    def __repr__(self) -> str:
        return f"Device({self._id})"
