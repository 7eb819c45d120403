"""Copies between numpy, device and host buffers, synchronous and queued on a stream
(and what a stream keeps alive until it synchronizes)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest
from _helpers.arrays import native, same_bytes
from _helpers.settings import FIXTURE_OK
from _helpers.threads import run_threads
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ge.acl as acl
from ge.error import AclError
from ge.testing import StubControl

ANY_DTYPE = st.one_of(
    hnp.scalar_dtypes(),
    hnp.integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
    hnp.complex_number_dtypes(endianness="?"),
    hnp.byte_string_dtypes(),
    hnp.unicode_string_dtypes(),
)
ANY_ARRAY = hnp.arrays(ANY_DTYPE, hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6))


@FIXTURE_OK
@given(array=ANY_ARRAY, extra=st.integers(0, 16), mode=st.sampled_from(["sync", "stream", "int"]))
def test_device_round_trip(ready: StubControl, array: Any, extra: int, mode: str) -> None:
    want = native(array)
    with acl.DeviceBuffer(max(array.nbytes, 1) + extra) as buf, acl.Stream() as stream:
        where = {"sync": None, "stream": stream, "int": stream.handle}[mode]
        buf.copy_from(array, stream=where)
        got = buf.to_numpy(want.dtype, array.shape, stream=where)
        assert same_bytes(got, array)
        assert ready.pending_work(stream) == 0


@FIXTURE_OK
@given(array=ANY_ARRAY, through_stream=st.booleans())
def test_host_buffer_round_trip(ready: StubControl, array: Any, through_stream: bool) -> None:
    with acl.HostBuffer(max(array.nbytes, 1)) as host, acl.Stream() as stream:
        where = stream if through_stream else None
        host.copy_from(array, stream=where)
        assert same_bytes(host.to_numpy(native(array).dtype, array.shape, stream=where), array)


@FIXTURE_OK
@given(data=hnp.arrays(np.uint8, st.integers(1, 64)), through_stream=st.booleans())
def test_copy_to_every_direction(ready: StubControl, data: Any, through_stream: bool) -> None:
    n = data.size
    with (
        acl.HostBuffer(n) as h1,
        acl.DeviceBuffer(n) as d1,
        acl.DeviceBuffer(n + 3) as d2,
        acl.HostBuffer(n) as h2,
        acl.Stream() as stream,
    ):
        where = stream if through_stream else None
        h1.copy_from(data)
        h1.copy_to(d1, stream=where)  # host -> device
        d1.copy_to(d2, stream=where)  # device -> device
        d2.copy_to(h2, stream=where, nbytes=n)  # device -> host
        if through_stream:
            stream.synchronize()
        assert np.array_equal(h2.to_numpy(np.uint8, n), data)
        assert np.array_equal(d2.to_numpy(np.uint8, n), data)


def test_copy_from_accepts_buffer_likes(ready: StubControl) -> None:
    with acl.DeviceBuffer(8) as buf:
        buf.copy_from(b"abcdefgh")
        assert buf.to_numpy("S8", ()).item() == b"abcdefgh"
        buf.copy_from(bytearray(b"xy"))
        buf.copy_from(memoryview(b"z"))
        assert buf.to_numpy(np.uint8, 3).tobytes() == b"zyc"
        buf.copy_from([1])  # one int64 on Linux
        assert list(buf.to_numpy(np.int32, 2)) == [1, 0]  # little-endian int64 1
        buf.copy_from(np.arange(4, dtype=">u2"))  # made native first
        assert list(buf.to_numpy(np.uint16, 4)) == [0, 1, 2, 3]
        buf.copy_from(np.arange(8, dtype=np.uint8)[::2])  # made contiguous first
        assert list(buf.to_numpy(np.uint8, 4)) == [0, 2, 4, 6]
        buf.copy_from(np.zeros(0, np.float32))  # nothing to copy
        with pytest.raises(TypeError, match="Python objects"):
            buf.copy_from(np.array([object()]))


def test_to_numpy_shapes_and_dtypes(ready: StubControl) -> None:
    with acl.DeviceBuffer(24) as buf:
        buf.copy_from(np.arange(6, dtype=np.float32))
        assert buf.to_numpy("float32", 6).tolist() == [0, 1, 2, 3, 4, 5]
        assert buf.to_numpy(np.float32, (2, 3)).shape == (2, 3)
        assert buf.to_numpy(np.float32, [np.int64(3)]).tolist() == [0, 1, 2]
        assert buf.to_numpy(np.float32, ()).shape == ()
        assert buf.to_numpy(np.float32, (0, 100)).shape == (0, 100)
        assert buf.to_numpy(np.dtype("<f4"), np.int32(1)).tolist() == [0]
        got = buf.to_numpy(np.float32, 6)
        got[0] = 42  # a new array, not a view of the block
        assert buf.to_numpy(np.float32, 1)[0] == 0


@pytest.mark.parametrize(
    ("dtype", "shape", "error"),
    [
        (None, 4, TypeError),
        ("not-a-dtype", 4, TypeError),
        (object, 4, TypeError),
        (3.5, 4, TypeError),
        (np.float32, "4", TypeError),
        (np.float32, 4.0, TypeError),
        (np.float32, True, TypeError),
        (np.float32, (2, True), TypeError),
        (np.float32, (2, None), TypeError),
        (np.float32, None, TypeError),
        (np.float32, -1, ValueError),
        (np.float32, (2, -3), ValueError),
        (np.float32, 5, ValueError),  # 20 bytes > 16
        (np.float64, (2, 2), ValueError),  # 32 bytes > 16
        (np.float32, (2**40, 2**40), ValueError),
        ("S", 1, ValueError),  # no size
    ],
)
def test_to_numpy_checks(ready: StubControl, dtype: Any, shape: Any, error: type) -> None:
    with acl.DeviceBuffer(16) as buf, pytest.raises(error):
        buf.to_numpy(dtype, shape)


def test_async_copy_is_stale_until_synchronize(ready: StubControl) -> None:
    data = np.arange(1, 9, dtype=np.int32)
    with acl.DeviceBuffer(data.nbytes) as buf, acl.Stream() as stream:
        buf.copy_from(data, stream=stream)
        assert ready.pending_work(stream) == 1
        assert not buf.to_numpy(np.int32, 8).any()  # fresh memory, the copy has not run
        stream.synchronize()
        assert ready.pending_work(stream) == 0
        assert np.array_equal(buf.to_numpy(np.int32, 8), data)
        # a synchronous write happens now; a queued one later, at synchronize
        buf.copy_from(np.zeros(8, np.int32), stream=stream)
        buf.copy_from(np.full(8, 7, np.int32))
        assert np.array_equal(buf.to_numpy(np.int32, 8), np.full(8, 7))
        # to_numpy on the stream runs the queue first
        assert not buf.to_numpy(np.int32, 8, stream=stream).any()
        assert ready.pending_work(stream) == 0


def test_destroy_runs_queued_work(ready: StubControl) -> None:
    with acl.DeviceBuffer(4) as buf:
        stream = acl.Stream()
        buf.copy_from(np.array([5], np.int32), stream=stream)
        stream.destroy()
        assert buf.to_numpy(np.int32, 1)[0] == 5


def test_stream_keeps_sources_alive(ready: StubControl) -> None:
    with acl.DeviceBuffer(4096) as buf, acl.Stream() as stream:
        source = np.arange(1024, dtype=np.int32)
        watch = weakref.ref(source)
        buf.copy_from(source, stream=stream)
        del source
        gc.collect()
        assert watch() is not None  # kept by the stream
        stream.synchronize()
        gc.collect()
        assert watch() is None
        assert np.array_equal(buf.to_numpy(np.int32, 1024), np.arange(1024))

        # copies through the Stream's int handle are kept by the Stream object too
        source = np.arange(1024, dtype=np.int32)[::-1].copy()
        watch = weakref.ref(source)
        buf.copy_from(source, stream=stream.handle)
        del source
        assert ready.pending_work(stream) == 1
        assert watch() is not None
        stream.destroy()
        gc.collect()
        assert watch() is None
        assert buf.to_numpy(np.int32, 1)[0] == 1023


def test_stream_keeps_buffers_alive(ready: StubControl) -> None:
    stream = acl.Stream()
    buf = acl.DeviceBuffer(4)
    buf.copy_from(np.array([9], np.int32), stream=stream)
    watch = weakref.ref(buf)
    del buf
    gc.collect()
    assert watch() is not None  # a queued copy writes into it
    stream.synchronize()
    gc.collect()
    assert watch() is None  # released by garbage collection
    assert ready.live_counts()["device_blocks"] == 0
    stream.destroy()


def test_default_stream_handle_copies_synchronously(ready: StubControl) -> None:
    with acl.DeviceBuffer(8) as buf:
        buf.copy_from(np.array([3, 4], np.int32), stream=0)
        assert buf.to_numpy(np.int32, 2).tolist() == [3, 4]
        assert buf.to_numpy(np.int32, 2, stream=0).tolist() == [3, 4]


def test_freed_target_fails_synchronize_and_keeps_sources(ready: StubControl) -> None:
    stream = acl.Stream()
    buf = acl.DeviceBuffer(16)
    source = np.arange(4, dtype=np.int32)
    buf.copy_from(source, stream=stream)
    buf.free()
    with pytest.raises(AclError) as info:
        stream.synchronize()
    assert info.value.status_name == "ACL_ERROR_FAILURE"
    assert stream._keepalive  # not released after a failed synchronize
    stream.synchronize()  # the queue is empty now
    assert not stream._keepalive
    stream.destroy()


def test_concurrent_copies_on_one_stream(ready: StubControl) -> None:
    with acl.Stream() as stream:
        buffers = [acl.DeviceBuffer(256) for _ in range(4)]
        errors: list[BaseException] = []

        def work(index: int) -> None:
            try:
                for round_ in range(50):
                    value = np.full(64, index * 1000 + round_, np.int32)
                    buffers[index].copy_from(value, stream=stream)
                    if round_ % 7 == 0:
                        stream.synchronize()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        run_threads(work, [(i,) for i in range(4)])
        assert not errors
        stream.synchronize()
        assert not stream._keepalive
        for i, buf in enumerate(buffers):
            assert (buf.to_numpy(np.int32, 64) == i * 1000 + 49).all()
            buf.free()
