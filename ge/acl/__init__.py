"""The ACL runtime: initialisation, devices, streams and device/host memory.

``init()``/``finalize()`` bracket every other call (ACL refuses device,
stream and memory calls before ``aclInit``). :class:`Device` selects a
device, :class:`Stream` is an ordered work queue, :class:`DeviceBuffer` and
:class:`HostBuffer` own memory blocks and move numpy data in and out of
them, synchronously or enqueued on a stream. Importing this package calls no
C function and needs no library.

Asynchronous copies: ACL reads a host source when the queued copy runs, not
when it is enqueued. The :class:`Stream` object keeps every host array and
buffer a queued copy uses alive until :meth:`Stream.synchronize` succeeds or
the stream is destroyed. A stream given as a plain ``int`` handle that no
:class:`Stream` of this package owns (a stream created by other code, or 0 for
ACL's default stream of the thread's device) cannot hold references, so such
copies synchronize that stream before they return.

One concept per module: ``_runtime`` (``init``, ``finalize``, ``version``;
the state they change is :mod:`ge._acl_state`), ``_device`` (devices),
``_stream`` (streams and the stream argument), ``_memory`` (buffers and the
malloc policy), ``_copies`` (``aclrtMemcpy`` and its async form).
"""

from __future__ import annotations

from ge.acl._copies import MemcpyKind
from ge.acl._device import Device, device_count, get_device
from ge.acl._memory import Buffer, DeviceBuffer, HostBuffer, MemMallocPolicy
from ge.acl._runtime import finalize, init, is_initialized, version
from ge.acl._stream import Stream
from ge.acl._stream import StreamLike as StreamLike  # a type, for annotations

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
