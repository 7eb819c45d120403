"""The ACL runtime: initialisation, devices, streams and device/host memory.

``init()``/``finalize()`` bracket every other call (ACL refuses device,
stream and memory calls before ``aclInit``). :class:`Device` selects a
device, :class:`Stream` is an ordered work queue, :class:`DeviceBuffer` and
:class:`HostBuffer` own memory blocks and move numpy data in and out of
them, synchronously or enqueued on a stream. Importing this module calls no
C function and needs no library.

Asynchronous copies: ACL reads a host source when the queued copy runs, not
when it is enqueued. The :class:`Stream` object keeps every host array and
buffer a queued copy uses alive until :meth:`Stream.synchronize` succeeds or
the stream is destroyed. A stream given as a plain ``int`` handle that no
:class:`Stream` of this module owns (a stream created by other code, or 0 for
ACL's default stream of the thread's device) cannot hold references, so such
copies synchronize that stream before they return.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import os
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Optional, Union

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

from ge import _callback_errors, _ffi, _lifecycle
from ge._checks import as_dims, as_int, fspath_bytes
from ge._ffi import api
from ge._ffi.marshal import acl_error, check_acl
from ge._ffi.status import ACL_ERROR_REPEAT_FINALIZE, ACL_ERROR_REPEAT_INITIALIZE
from ge._native import NativeObject
from ge.error import AclError

__all__ = [
    "Buffer",
    "Device",
    "DeviceBuffer",
    "HostBuffer",
    "MemMallocPolicy",
    "MemcpyKind",
    "Stream",
    "device_count",
    "finalize",
    "get_device",
    "init",
    "is_initialized",
    "version",
]

_SIZE_LIMIT = 1 << 64
_INT32_MAX = (1 << 31) - 1


class MemcpyKind(enum.IntEnum):
    """``aclrtMemcpyKind``: the direction of a copy."""

    HOST_TO_HOST = 0
    HOST_TO_DEVICE = 1
    DEVICE_TO_HOST = 2
    DEVICE_TO_DEVICE = 3
    DEFAULT = 4


class MemMallocPolicy(enum.IntEnum):
    """``aclrtMemMallocPolicy``: which pages ``aclrtMalloc`` may use."""

    HUGE_FIRST = 0
    HUGE_ONLY = 1
    NORMAL_ONLY = 2


# --------------------------------------------------------------------------
# Argument checks


def _check_size(value: object, what: str = "size") -> int:
    """A byte count for an allocation: an int in ``1 .. 2**64 - 1``."""
    size = as_int(value, what)
    if size <= 0:
        raise ValueError(f"{what} must be positive, got {size}")
    if size >= _SIZE_LIMIT:
        raise ValueError(f"{what} does not fit in size_t: {size}")
    return size


def _check_count(value: object, limit: int, what: str = "nbytes") -> int:
    """A byte count of a copy: an int in ``0 .. limit``."""
    count = as_int(value, what)
    if count < 0:
        raise ValueError(f"{what} must not be negative, got {count}")
    if count > limit:
        raise ValueError(f"{what}={count} exceeds the buffer size {limit}")
    return count


def _check_dtype(dtype: object) -> np.dtype[Any]:
    """``np.dtype(dtype)``; ``TypeError`` for None, objects and non-dtypes."""
    if dtype is None:
        raise TypeError("dtype must be given (None would mean float64)")
    try:
        result: np.dtype[Any] = np.dtype(dtype)  # type: ignore[call-overload]
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not a numpy data type: {dtype!r} ({exc})") from None
    if result.hasobject:
        raise TypeError(f"dtype {result} holds Python objects, not raw bytes")
    if result.itemsize == 0:
        raise ValueError(f"dtype {result} has no size")
    return result


def _host_bytes(array: object) -> np.ndarray[Any, Any]:
    """``array`` as a C-contiguous, native-order ndarray (a copy only if needed)."""
    src = np.asarray(array)
    if src.dtype.hasobject:
        raise TypeError(f"cannot copy an array of Python objects (dtype {src.dtype})")
    if not src.dtype.isnative:
        src = src.astype(src.dtype.newbyteorder("="))
    return np.asarray(src, order="C")


def _acl_failure(code: int, api_name: str, context: dict[str, object]) -> Optional[AclError]:
    """The ``AclError`` of a failed call (ACL's message read once), or None on success."""
    return acl_error(api_name, code, context) if code else None


# --------------------------------------------------------------------------
# Module state: the initialised flag and every live stream and buffer


_state_lock = threading.RLock()
_initialized = False
_live: weakref.WeakSet[NativeObject] = weakref.WeakSet()
_streams: dict[int, weakref.ReferenceType[Stream]] = {}
_orphans: list[object] = []
"""Objects of copies on foreign streams whose synchronize failed (may still be read)."""


def _track(obj: NativeObject) -> None:
    with _state_lock:
        _live.add(obj)
        if isinstance(obj, Stream):
            _streams[obj.handle] = weakref.ref(obj)


def _untrack(obj: NativeObject, handle: int) -> None:
    with _state_lock:
        _live.discard(obj)
        ref = _streams.get(handle)
        if ref is not None and ref() in (obj, None):
            del _streams[handle]


def _release_all() -> None:
    """Destroy every live stream (draining its queue), then free every buffer."""
    with _state_lock:
        objects = list(_live)
    objects.sort(key=lambda o: not isinstance(o, Stream))
    for obj in objects:
        handle = obj._detach()
        if handle is None:
            continue
        with contextlib.suppress(Exception):  # the handle is gone either way
            obj._release(handle)
        if isinstance(obj, Stream):
            obj._keepalive.clear()


def _forget() -> None:
    """The native state was wiped: drop every handle without calling C."""
    global _initialized
    with _state_lock:
        _initialized = False
        objects = list(_live)
        _live.clear()
        _streams.clear()
        _orphans.clear()
    for obj in objects:
        obj._detach()
        if isinstance(obj, Stream):
            obj._keepalive.clear()


def _at_exit() -> None:
    if _initialized or len(_live):
        _release_all()
        finalize()


_lifecycle.on_forget(_forget)
_lifecycle.at_exit(_at_exit)


# --------------------------------------------------------------------------
# Initialisation, devices, version


def init(config_path: Union[str, os.PathLike[str], None] = None) -> None:
    """Initialise ACL (``aclInit``); a no-op when already initialised.

    ``config_path`` names ACL's JSON configuration file (None: defaults).
    ACL initialised by other code (``ACL_ERROR_REPEAT_INITIALIZE``) counts as
    success.
    """
    global _initialized
    raw = (
        None if config_path is None else fspath_bytes(config_path, "config_path", allow_bytes=True)
    )
    with _state_lock:
        if _initialized:
            return
        code = api.aclInit(raw)
        if code != ACL_ERROR_REPEAT_INITIALIZE:
            context = {} if raw is None else {"config_path": os.fsdecode(raw)}
            check_acl(code, "aclInit", context)
        _initialized = True


def finalize() -> None:
    """Release every live :class:`Stream` and buffer, then ``aclFinalize``.

    A no-op unless :func:`init` ran since the last finalize. Streams are
    destroyed first (their queued work runs), then buffers are freed; errors
    while releasing them are ignored (their handles are gone either way).
    After this, using one of them raises ``ValueError``.
    """
    global _initialized
    with _state_lock:
        if not _initialized:
            return
        _release_all()
        code = api.aclFinalize()
        if code != ACL_ERROR_REPEAT_FINALIZE:
            check_acl(code, "aclFinalize")
        _initialized = False
        _orphans.clear()


def is_initialized() -> bool:
    """Whether :func:`init` succeeded and :func:`finalize` has not run since."""
    return _initialized


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


def version() -> Optional[tuple[int, int, int]]:
    """ACL's ``(major, minor, patch)``, or None when the library lacks ``aclrtGetVersion``."""
    if not _ffi.has("aclrtGetVersion"):
        api.aclGetRecentErrMsg  # noqa: B018 - raises LibraryNotFoundError without a library
        return None
    major, minor, patch = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int32()
    code = api.aclrtGetVersion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(patch))
    check_acl(code, "aclrtGetVersion")
    return int(major.value), int(minor.value), int(patch.value)


class Device:
    """One device id; a context manager that sets the device and resets it after.

    ``with Device(0):`` calls ``aclrtSetDevice(0)`` on enter and
    ``aclrtResetDevice(0)`` on exit; :meth:`set`/:meth:`reset` do the same
    explicitly (ACL counts them: each set needs one reset).
    """

    __slots__ = ("_id",)

    def __init__(self, id: int) -> None:
        device = as_int(id, "device id")
        if device < 0 or device > _INT32_MAX:
            raise ValueError(f"device id must be in 0..{_INT32_MAX}, got {device}")
        self._id = device

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


# --------------------------------------------------------------------------
# Streams


class Stream(NativeObject):
    """An ACL stream (``aclrtCreateStream``): work queued on it runs in order.

    ``handle``/``int(stream)`` is the native handle. A context manager that
    destroys the stream on exit. It keeps the host arrays and buffers of
    queued copies alive until :meth:`synchronize` succeeds or it is
    destroyed.
    """

    __slots__ = ("_keepalive", "_lock")

    _kind: ClassVar[str] = "Stream"
    _closed_word: ClassVar[str] = "destroyed"
    _reopen_if_release_fails: ClassVar[bool] = True

    _keepalive: list[object]

    def __init__(self) -> None:
        self._keepalive = []
        self._lock = threading.RLock()
        out = ctypes.c_void_p()
        check_acl(api.aclrtCreateStream(ctypes.byref(out)), "aclrtCreateStream")
        if not out.value:
            raise RuntimeError("aclrtCreateStream succeeded but returned a NULL stream")
        super().__init__(out.value)
        _track(self)

    def synchronize(self) -> None:
        """Wait until all work queued on this stream has run (``aclrtSynchronizeStream``).

        Raises what the allocator callbacks that the finished work triggers
        (a ``FreeFn`` of a freed output) raise.
        """
        handle = self._enter()
        try:
            with self._lock:
                pending = len(self._keepalive)
            with _callback_errors.collecting() as errors:
                code = api.aclrtSynchronizeStream(handle)
            if not code:
                with self._lock:
                    del self._keepalive[:pending]
        finally:
            self._leave()
        _callback_errors.raise_with(
            _acl_failure(code, "aclrtSynchronizeStream", {"stream": handle}), errors
        )

    def destroy(self) -> None:
        """Destroy the stream after running its queued work; harmless when destroyed.

        Waits for calls in flight on it; raises what allocator callbacks raise
        while the queue drains. When ``aclrtDestroyStream`` fails the stream
        stays usable and ``destroy()`` can be retried.
        """
        self.close()

    def _release(self, handle: int) -> list[BaseException]:
        with _callback_errors.collecting() as errors:
            code = api.aclrtDestroyStream(handle)
        if code:  # still alive: close() gives the handle back
            _callback_errors.raise_with(
                _acl_failure(code, "aclrtDestroyStream", {"stream": handle}), errors
            )
        _untrack(self, handle)
        with self._lock:
            self._keepalive.clear()
        return errors

    @contextmanager
    def _enqueuing(self, *objs: object) -> Iterator[int]:
        """Enqueue work on the stream in the block; keep ``objs`` alive if it succeeds.

        Yields the handle. Holding the stream's lock around the enqueue makes
        a concurrent :meth:`synchronize` either include the new work or keep
        ``objs``. For other modules (the session's async run).
        """
        with self._calling() as handle, self._lock:
            yield handle
            self._keepalive.extend(objs)

    def _keep_alive(self, *objs: object) -> None:
        """Keep ``objs`` alive until the next successful synchronize or the destroy."""
        with self._calling(), self._lock:
            self._keepalive.extend(objs)

    def __int__(self) -> int:
        return self.handle

    def __repr__(self) -> str:
        handle = self._handle
        return "<Stream destroyed>" if handle is None else f"<Stream {handle:#x}>"


StreamLike = Union[Stream, int, None]
"""A :class:`Stream`, a raw stream handle (0 = ACL's default stream of the thread's
device; GE has none), or None (synchronous)."""


def _check_stream(stream: object) -> None:
    """``TypeError``/``ValueError`` unless ``stream`` is a live Stream, a handle or None."""
    if stream is None:
        return
    if isinstance(stream, Stream):
        stream.handle  # noqa: B018 - refuse a destroyed stream
        return
    if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, (int, np.integer)):
        raise TypeError(
            f"stream must be a Stream, an int handle or None, not {type(stream).__name__}"
        )
    if not 0 <= stream < _SIZE_LIMIT:
        raise ValueError(f"not a stream handle: {stream}")


def _resolve_stream(stream: object) -> tuple[int, Optional[Stream]]:
    """``(handle, owning Stream or None)`` of a checked stream argument that is not None."""
    _check_stream(stream)
    if isinstance(stream, Stream):
        return stream.handle, stream
    handle = as_int(stream, "stream")
    with _state_lock:
        ref = _streams.get(handle)
    owner = ref() if ref is not None else None
    return handle, owner


def _copy(
    dst: int,
    dst_max: int,
    src: int,
    count: int,
    kind: MemcpyKind,
    stream: object,
    keep: tuple[object, ...],
    *,
    wait: bool = False,
) -> None:
    """One ``aclrtMemcpy``, or ``aclrtMemcpyAsync`` on ``stream`` keeping ``keep`` alive.

    ``wait`` synchronizes the stream after enqueueing.
    """
    context: dict[str, object] = {"kind": kind.name, "count": count}
    if stream is None:
        check_acl(api.aclrtMemcpy(dst, dst_max, src, count, int(kind)), "aclrtMemcpy", context)
        return
    handle, owner = _resolve_stream(stream)
    context["stream"] = handle
    if owner is not None:
        with owner._enqueuing(*keep) as handle:
            code = api.aclrtMemcpyAsync(dst, dst_max, src, count, int(kind), handle)
            check_acl(code, "aclrtMemcpyAsync", context)
        if wait:
            owner.synchronize()
        return
    code = api.aclrtMemcpyAsync(dst, dst_max, src, count, int(kind), handle)
    check_acl(code, "aclrtMemcpyAsync", context)
    code = api.aclrtSynchronizeStream(handle)
    if code:
        with _state_lock:
            _orphans.extend(keep)
        check_acl(code, "aclrtSynchronizeStream", {"stream": handle})


# --------------------------------------------------------------------------
# Memory


class Buffer(NativeObject):
    """The base of :class:`DeviceBuffer` and :class:`HostBuffer`: a block of ``size`` bytes.

    ``ptr`` is its address. ``free()`` (or the context manager, or garbage
    collection) releases it. Copies check sizes before calling C; a
    ``stream`` argument (a :class:`Stream` or an ``int`` handle) makes them
    asynchronous (see the module's notes).
    """

    __slots__ = ("_size",)

    _kind: ClassVar[str] = "Buffer"
    _closed_word: ClassVar[str] = "freed"
    _on_device: ClassVar[bool] = False
    _reopen_if_release_fails: ClassVar[bool] = True

    _size: int

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise TypeError("Buffer is abstract: create a DeviceBuffer or a HostBuffer")

    def _adopt(self, ptr: int, size: int) -> None:
        """Take ownership of the block just allocated (subclass constructors)."""
        self._size = size
        NativeObject.__init__(self, ptr)
        _track(self)

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
        _untrack(self, handle)

    def _kind_from_host(self) -> MemcpyKind:
        return MemcpyKind.HOST_TO_DEVICE if self._on_device else MemcpyKind.HOST_TO_HOST

    def _kind_to_host(self) -> MemcpyKind:
        return MemcpyKind.DEVICE_TO_HOST if self._on_device else MemcpyKind.HOST_TO_HOST

    def copy_from(self, array: object, stream: StreamLike = None) -> None:
        """Copy the bytes of ``array`` (anything ``np.asarray`` takes) to the block's start.

        The data is made C-contiguous in native byte order first. ``ValueError``
        if it has more bytes than the block. With ``stream`` the copy is
        enqueued and the source kept alive until the stream synchronizes.
        """
        _check_stream(stream)
        src = _host_bytes(array)
        nbytes = int(src.nbytes)
        if nbytes > self._size:
            raise ValueError(f"{nbytes} bytes do not fit in a {self._kind} of {self._size} bytes")
        with self._calling() as ptr:
            if nbytes:
                kind = self._kind_from_host()
                _copy(ptr, self._size, src.ctypes.data, nbytes, kind, stream, (src, self))

    def to_numpy(
        self, dtype: npt.DTypeLike, shape: Union[int, Iterable[int]], stream: StreamLike = None
    ) -> npt.NDArray[Any]:
        """A new array of ``dtype`` and ``shape`` holding the block's first bytes.

        ``ValueError`` if it needs more bytes than the block has. With
        ``stream`` the copy is enqueued on it and the stream synchronized
        (running all its queued work) before the array is returned.
        """
        _check_stream(stream)
        dt = _check_dtype(dtype)
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
                _copy(dst, nbytes, ptr, nbytes, kind, stream, (out, self), wait=True)
        return out

    def copy_to(
        self, dst: Buffer, stream: StreamLike = None, *, nbytes: Optional[int] = None
    ) -> None:
        """Copy the first ``nbytes`` (default: all) bytes of this block to ``dst``.

        ``ValueError`` if they do not fit in either block. With ``stream`` the
        copy is enqueued and both buffers kept alive until it synchronizes.
        """
        if not isinstance(dst, Buffer):
            raise TypeError(f"dst must be a DeviceBuffer or HostBuffer, not {type(dst).__name__}")
        _check_stream(stream)
        count = self._size if nbytes is None else _check_count(nbytes, self._size)
        if count > dst._size:
            raise ValueError(f"{count} bytes do not fit in a {dst._kind} of {dst._size} bytes")
        kind = MemcpyKind(2 * self._on_device + dst._on_device)
        with self._calling() as src_ptr, dst._calling() as dst_ptr:
            if count:
                _copy(dst_ptr, dst._size, src_ptr, count, kind, stream, (self, dst))

    def memset(self, value: int, nbytes: Optional[int] = None) -> None:
        """Set the first ``nbytes`` (default: all) bytes to ``value`` (0..255), synchronously."""
        byte = as_int(value, "value")
        if not 0 <= byte <= 255:
            raise ValueError(f"value must be a byte (0..255), got {byte}")
        count = self._size if nbytes is None else _check_count(nbytes, self._size)
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
        nbytes = _check_size(size)
        rule = as_int(policy, "policy")
        try:
            rule = MemMallocPolicy(rule)
        except ValueError:
            raise ValueError(f"not a MemMallocPolicy: {rule}") from None
        out = ctypes.c_void_p()
        code = api.aclrtMalloc(ctypes.byref(out), nbytes, int(rule))
        check_acl(code, "aclrtMalloc", {"size": nbytes, "policy": rule.name})
        if not out.value:
            raise RuntimeError("aclrtMalloc succeeded but returned NULL")
        self._adopt(out.value, nbytes)

    def _free_block(self, handle: int) -> int:
        return int(api.aclrtFree(handle))

    def _free_call(self, handle: int) -> tuple[str, dict[str, object]]:
        return "aclrtFree", {"ptr": hex(handle), "size": self._size}


class HostBuffer(Buffer):
    """Page-locked host memory from ``aclrtMallocHost``, freed with ``aclrtFreeHost``."""

    __slots__ = ()

    _kind: ClassVar[str] = "HostBuffer"
    _on_device: ClassVar[bool] = False

    def __init__(self, size: int) -> None:
        nbytes = _check_size(size)
        out = ctypes.c_void_p()
        code = api.aclrtMallocHost(ctypes.byref(out), nbytes)
        check_acl(code, "aclrtMallocHost", {"size": nbytes})
        if not out.value:
            raise RuntimeError("aclrtMallocHost succeeded but returned NULL")
        self._adopt(out.value, nbytes)

    def _free_block(self, handle: int) -> int:
        return int(api.aclrtFreeHost(handle))

    def _free_call(self, handle: int) -> tuple[str, dict[str, object]]:
        return "aclrtFreeHost", {"ptr": hex(handle), "size": self._size}
