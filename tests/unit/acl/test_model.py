"""A model of ``ge.acl``'s buffers, streams and queued copies, as a hypothesis state machine."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

import ge.acl as acl
from ge.error import AclError
from ge.testing import StubControl, stub_control


class AclMachine(RuleBasedStateMachine):
    """Random sequences of allocations, copies, synchronizes and frees against a model.

    The model keeps what a synchronous read of each buffer sees, and per stream
    the queued writes: each a destination and either bytes (from a host array)
    or a source buffer that is read when the write runs, as on a device.
    """

    buffers = Bundle("buffers")
    streams = Bundle("streams")

    def __init__(self) -> None:
        super().__init__()
        stub_control().reset()
        acl.init()
        self.model: dict[int, bytearray] = {}  # id(buffer) -> what a sync read sees
        self.queues: dict[int, list[tuple[Any, Any, int]]] = {}  # id(stream) -> writes
        self.live: list[Any] = []

    def _run_queue(self, stream: Any) -> bool:
        """Apply the queued writes in order; False if one touched a freed buffer."""
        ok = True
        for dst, source, count in self.queues.get(id(stream), []):
            if dst.closed or (isinstance(source, acl.Buffer) and source.closed):
                ok = False
                continue
            data = source if isinstance(source, bytes) else self.model[id(source)][:count]
            self.model[id(dst)][:count] = data
        self.queues[id(stream)] = []
        return ok

    @rule(target=buffers, size=st.integers(1, 64), host=st.booleans())
    def allocate(self, size: int, host: bool) -> Any:
        buf = acl.HostBuffer(size) if host else acl.DeviceBuffer(size)
        if host:  # host memory is not zeroed: give it known content
            buf.copy_from(np.zeros(size, np.uint8))
        self.model[id(buf)] = bytearray(size)
        self.live.append(buf)
        return buf

    @rule(target=streams)
    def create_stream(self) -> Any:
        stream = acl.Stream()
        self.queues[id(stream)] = []
        self.live.append(stream)
        return stream

    @rule(buf=buffers)
    def free(self, buf: Any) -> None:
        buf.free()  # harmless when already freed
        assert buf.closed

    @rule(buf=buffers, data=st.binary(min_size=0, max_size=80))
    def write(self, buf: Any, data: bytes) -> None:
        if buf.closed or len(data) > buf.size:
            with pytest.raises(ValueError):
                buf.copy_from(np.frombuffer(data, np.uint8))
            return
        buf.copy_from(np.frombuffer(data, np.uint8))
        self.model[id(buf)][: len(data)] = data

    @rule(buf=buffers, stream=streams, data=st.binary(min_size=1, max_size=64))
    def write_async(self, buf: Any, stream: Any, data: bytes) -> None:
        if buf.closed or stream.closed or len(data) > buf.size:
            with pytest.raises(ValueError):
                buf.copy_from(np.frombuffer(data, np.uint8), stream=stream)
            return
        buf.copy_from(bytearray(data), stream=stream)  # a temporary: the stream keeps it
        self.queues[id(stream)].append((buf, data, len(data)))

    @rule(src=buffers, dst=buffers, stream=st.none() | streams)
    def copy(self, src: Any, dst: Any, stream: Any) -> None:
        if src.closed or dst.closed or (stream is not None and stream.closed):
            with pytest.raises(ValueError):
                src.copy_to(dst, stream=stream, nbytes=0)
            return
        count = min(src.size, dst.size)
        src.copy_to(dst, stream=stream, nbytes=count)
        if stream is None:
            self.model[id(dst)][:count] = self.model[id(src)][:count]
        else:
            self.queues[id(stream)].append((dst, src, count))

    @rule(stream=streams)
    def synchronize(self, stream: Any) -> None:
        if stream.closed:
            with pytest.raises(ValueError):
                stream.synchronize()
            return
        if self._run_queue(stream):
            stream.synchronize()
            assert not stream._keepalive
        else:
            with pytest.raises(AclError, match="ACL_ERROR_FAILURE"):
                stream.synchronize()
            stream.synchronize()  # the queue ran: nothing left to fail

    @rule(stream=streams)
    def destroy(self, stream: Any) -> None:
        if not stream.closed and not self._run_queue(stream):
            with contextlib.suppress(AclError):  # may report the skipped copy
                stream.destroy()
        stream.destroy()
        assert stream.closed and not stream._keepalive

    @rule(buf=buffers, stream=st.none() | streams)
    def read(self, buf: Any, stream: Any) -> None:
        if buf.closed or (stream is not None and stream.closed):
            with pytest.raises(ValueError):
                buf.to_numpy(np.uint8, 1, stream=stream)
            return
        if stream is not None and not self._run_queue(stream):
            with pytest.raises(AclError, match="ACL_ERROR_FAILURE"):
                buf.to_numpy(np.uint8, buf.size, stream=stream)
            stream.synchronize()
        got = buf.to_numpy(np.uint8, buf.size, stream=stream)
        assert got.tobytes() == bytes(self.model[id(buf)])

    @invariant()
    def counts_match(self) -> None:
        counts = stub_control().live_counts()
        live = [o for o in getattr(self, "live", ()) if not o.closed]
        assert counts["device_blocks"] == sum(isinstance(o, acl.DeviceBuffer) for o in live)
        assert counts["host_blocks"] == sum(isinstance(o, acl.HostBuffer) for o in live)
        assert counts["streams"] == sum(isinstance(o, acl.Stream) for o in live)

    def teardown(self) -> None:
        acl.finalize()  # destroys every stream (draining it), frees every buffer
        counts = stub_control().live_counts()
        assert not any(counts.values()), counts


def test_acl_state_machine(ge_stub: StubControl) -> None:
    run_state_machine_as_test(AclMachine)
