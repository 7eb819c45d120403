"""Memory: :class:`DeviceBuffer` (``aclrtMalloc``) and :class:`HostBuffer`
(``aclrtMallocHost``), their base :class:`Buffer`, and the malloc policy
(:class:`MemMallocPolicy`, parsed by :func:`malloc_policy` for every caller,
``ge.allocator.AclAllocator`` included).

Copies check sizes before calling C, then go through :mod:`ge.acl._copies`.
"""

from __future__ import annotations

import ctypes
import enum
from collections.abc import Iterable
from typing import Any, ClassVar, Optional, Union

import numpy as np
import numpy.typing as npt

from ge._acl_state import state
from ge._checks import allocation_size, as_dims, as_int, copy_count
from ge._ffi import api, out_param, owned
from ge._ffi.marshal import check_acl
from ge._ffi.owned import DeviceBlock, HostBlock
from ge._native import NativeObject, _no_resolve
from ge.acl._copies import MemcpyKind, copy, host_bytes, numpy_dtype
from ge.acl._stream import StreamLike, check_copy_stream

__all__ = ["Buffer", "DeviceBuffer", "HostBuffer", "MemMallocPolicy", "malloc_policy"]


class MemMallocPolicy(enum.IntEnum):
    """``aclrtMemMallocPolicy``: which pages ``aclrtMalloc`` may use."""

    HUGE_FIRST = 0
    HUGE_ONLY = 1
    NORMAL_ONLY = 2


def malloc_policy(value: object) -> MemMallocPolicy:
    """A malloc policy: a :class:`MemMallocPolicy` or the ``int`` of one."""
    number = as_int(value, "policy")
    try:
        return MemMallocPolicy(number)
    except ValueError:
        raise ValueError(f"not a MemMallocPolicy: {number}") from None


class Buffer(NativeObject):
    """The base of :class:`DeviceBuffer` and :class:`HostBuffer`: a block of ``size`` bytes.

    ``ptr`` is its address. ``free()`` (or the context manager, or garbage
    collection) releases it. Copies check sizes before calling C; a
    ``stream`` argument (a :class:`Stream` or an ``int`` handle) makes them
    asynchronous (see :mod:`ge.acl`).
    """

    __slots__ = ("_block", "_size")

    _kind: ClassVar[str] = "Buffer"
    _closed_word: ClassVar[str] = "freed"
    _on_device: ClassVar[bool] = False
    _reopen_if_release_fails: ClassVar[bool] = True

    _size: int
    _block: Any
    """The out-parameter ``aclrtMalloc``/``aclrtMallocHost`` filled, kept armed
    (``ge._ffi.owned``) until the C free: if the finalizer is cut short by a
    signal, the block is still freed in C when it goes with the buffer."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("Buffer is abstract: create a DeviceBuffer or a HostBuffer")

    def _adopt(self, ptr: Any, size: int) -> None:
        """Take ownership of the block just allocated (subclass constructors): its
        address, or the owning out-parameter C stored it in (``ge._ffi.owned``)."""
        self._size = size
        if isinstance(ptr, ctypes.c_void_p):
            self._block = ptr  # first: from here the buffer holds it, armed
            ptr = ptr.value
        else:
            self._block = None
        NativeObject.__init__(self, ptr)
        state.track_buffer(self)

    def _armed(self) -> bool:
        block = getattr(self, "_block", None)
        return block is not None and owned.armed_now(type(block).__base__) is type(block)

    def _reopen(self) -> None:
        block = getattr(self, "_block", None)
        if block is not None and block.__class__ is ctypes.c_void_p:
            kind = DeviceBlock if self._on_device else HostBlock
            block.__class__ = owned.armed_class(kind, _no_resolve)
        super()._reopen()

    @property
    def ptr(self) -> int:
        """The block's address, as an ``int``; ``ValueError`` once freed."""
        return self.handle

    @property
    def size(self) -> int:
        """The block's size in bytes."""
        return self._size

    def free(self) -> None:
        """Release the block; harmless when already freed.

        Waits for calls in flight on it. When the C call fails the buffer stays
        usable and ``free()`` can be retried.
        """
        self.close()

    def _free_block(self, handle: int) -> int:
        """Free the block in C; the ACL status."""
        raise NotImplementedError

    def _free_call(self, handle: int) -> tuple[str, dict[str, object]]:
        """The name and error context of :meth:`_free_block`'s C function."""
        raise NotImplementedError

    def _release(self, handle: int) -> None:
        check_acl(self._free_block(handle), *self._free_call(handle))  # raises: still alive
        state.untrack_buffer(self)

    def _kind_from_host(self) -> MemcpyKind:
        return MemcpyKind.HOST_TO_DEVICE if self._on_device else MemcpyKind.HOST_TO_HOST

    def _kind_to_host(self) -> MemcpyKind:
        return MemcpyKind.DEVICE_TO_HOST if self._on_device else MemcpyKind.HOST_TO_HOST

    def copy_from(self, array: object, stream: Optional[StreamLike] = None) -> None:
        """Copy the bytes of ``array`` (anything ``np.asarray`` takes) to the block's start.

        The data is made C-contiguous in native byte order first. ``ValueError``
        if it has more bytes than the block. With ``stream`` the copy is
        enqueued and the source kept alive until the stream synchronizes.
        """
        check_copy_stream(stream)
        src = host_bytes(array)
        nbytes = int(src.nbytes)
        if nbytes > self._size:
            raise ValueError(f"{nbytes} bytes do not fit in a {self._kind} of {self._size} bytes")
        with self._calling() as ptr:
            if nbytes:
                kind = self._kind_from_host()
                copy(ptr, self._size, src.ctypes.data, nbytes, kind, stream, (src, self))

    def to_numpy(
        self,
        dtype: npt.DTypeLike,
        shape: Union[int, Iterable[int]],
        stream: Optional[StreamLike] = None,
    ) -> npt.NDArray[Any]:
        """A new array of ``dtype`` and ``shape`` holding the block's first bytes.

        ``ValueError`` if it needs more bytes than the block has. With
        ``stream`` the copy is enqueued on it and the stream synchronized
        (running all its queued work) before the array is returned.
        """
        check_copy_stream(stream)
        dt = numpy_dtype(dtype)
        dims = as_dims(shape, allow_int=True)
        nbytes = dt.itemsize
        for d in dims:
            nbytes *= d
        if nbytes > self._size:
            raise ValueError(
                f"dtype {dt} and shape {dims} need {nbytes} bytes; "
                f"the {self._kind} has {self._size}"
            )
        out: npt.NDArray[Any] = np.empty(dims, dt)
        with self._calling() as ptr:
            if nbytes:
                dst = out.ctypes.data
                kind = self._kind_to_host()
                copy(dst, nbytes, ptr, nbytes, kind, stream, (out, self), wait=True)
        return out

    def copy_to(
        self, dst: Buffer, stream: Optional[StreamLike] = None, *, nbytes: Optional[int] = None
    ) -> None:
        """Copy the first ``nbytes`` (default: all) bytes of this block to ``dst``.

        ``ValueError`` if they do not fit in either block. With ``stream`` the
        copy is enqueued and both buffers kept alive until it synchronizes.
        """
        if not isinstance(dst, Buffer):
            raise TypeError(f"dst must be a DeviceBuffer or HostBuffer, not {type(dst).__name__}")
        check_copy_stream(stream)
        count = self._size if nbytes is None else copy_count(nbytes, self._size)
        if count > dst._size:
            raise ValueError(f"{count} bytes do not fit in a {dst._kind} of {dst._size} bytes")
        kind = MemcpyKind(2 * self._on_device + dst._on_device)
        with self._calling() as src_ptr, dst._calling() as dst_ptr:
            if count:
                copy(dst_ptr, dst._size, src_ptr, count, kind, stream, (self, dst))

    def memset(self, value: int, nbytes: Optional[int] = None) -> None:
        """Set the first ``nbytes`` (default: all) bytes to ``value`` (0..255), synchronously."""
        byte = as_int(value, "value")
        if not 0 <= byte <= 255:
            raise ValueError(f"value must be a byte (0..255), got {byte}")
        count = self._size if nbytes is None else copy_count(nbytes, self._size)
        with self._calling() as ptr:
            if count:
                code = api.aclrtMemset(ptr, self._size, byte, count)
                check_acl(code, "aclrtMemset", {"ptr": hex(ptr), "count": count})

    def __repr__(self) -> str:
        ptr = self._handle
        where = self._closed_word if ptr is None else f"ptr={ptr:#x}"
        return f"<{type(self).__name__} size={self._size} {where}>"


class DeviceBuffer(Buffer):
    """Device memory from ``aclrtMalloc``, freed with ``aclrtFree``."""

    __slots__ = ()

    _kind: ClassVar[str] = "DeviceBuffer"
    _on_device: ClassVar[bool] = True

    def __init__(self, size: int, policy: MemMallocPolicy = MemMallocPolicy.HUGE_FIRST) -> None:
        nbytes = allocation_size(size)
        rule = malloc_policy(policy)
        out = out_param(DeviceBlock)  # freed in C if an interrupt drops it (ge._ffi.owned)
        code = api.aclrtMalloc(ctypes.byref(out), nbytes, int(rule))
        if code or not out.value:
            out.__class__ = ctypes.c_void_p  # nothing to free
            check_acl(code, "aclrtMalloc", {"size": nbytes, "policy": rule.name})
            raise RuntimeError("aclrtMalloc succeeded but returned NULL")
        self._adopt(out, nbytes)

    def _free_block(self, handle: int) -> int:
        block = self._block
        if block is not None:
            block.__class__ = ctypes.c_void_p  # disarmed (ge._ffi.owned), no call before C's
        return int(api.aclrtFree(handle))

    def _free_call(self, handle: int) -> tuple[str, dict[str, object]]:
        return "aclrtFree", {"ptr": hex(handle), "size": self._size}


class HostBuffer(Buffer):
    """Page-locked host memory from ``aclrtMallocHost``, freed with ``aclrtFreeHost``."""

    __slots__ = ()

    _kind: ClassVar[str] = "HostBuffer"
    _on_device: ClassVar[bool] = False

    def __init__(self, size: int) -> None:
        nbytes = allocation_size(size)
        out = out_param(HostBlock)  # freed in C if an interrupt drops it (ge._ffi.owned)
        code = api.aclrtMallocHost(ctypes.byref(out), nbytes)
        if code or not out.value:
            out.__class__ = ctypes.c_void_p  # nothing to free
            check_acl(code, "aclrtMallocHost", {"size": nbytes})
            raise RuntimeError("aclrtMallocHost succeeded but returned NULL")
        self._adopt(out, nbytes)

    def _free_block(self, handle: int) -> int:
        block = self._block
        if block is not None:
            block.__class__ = ctypes.c_void_p  # disarmed (ge._ffi.owned), no call before C's
        return int(api.aclrtFreeHost(handle))

    def _free_call(self, handle: int) -> tuple[str, dict[str, object]]:
        return "aclrtFreeHost", {"ptr": hex(handle), "size": self._size}
