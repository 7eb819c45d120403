"""``Tensor.close``: its one-frame path keeps ``NativeObject.close``'s protocol
(calls in flight waited for, a second closer waits for the release, nothing
freed twice), on the stand-in in strict mode."""

from __future__ import annotations

import gc
import threading
import time
from typing import Any

import numpy as np
import pytest

from ge import _native
from ge._ffi import api
from ge._ffi.handles import TensorHandle
from ge.graph import Tensor
from ge.testing import StubControl


def _tensors(stub: StubControl) -> int:
    return stub.live_counts()["tensors"]


def test_close_frees_once_and_is_harmless_twice(ge_stub: StubControl) -> None:
    tensor = Tensor.from_numpy(np.ones(3, np.float32))
    assert _tensors(ge_stub) == 1
    tensor.close()
    assert tensor.closed and tensor._owner is None and _tensors(ge_stub) == 0
    tensor.close()  # harmless
    with pytest.raises(ValueError, match="tensor is closed"):
        tensor.numpy()
    # from_numpy's handle is an owning one (ge._ffi.owned): the one-frame close
    # disarms it, so dropping the tensor frees nothing again (strict: an abort)
    assert type(tensor._param) is TensorHandle
    del tensor
    gc.collect()
    assert _tensors(ge_stub) == 0


@pytest.mark.parametrize("how", ["call", "batch"])
def test_close_waits_for_a_call_in_flight_on_another_thread(ge_stub: StubControl, how: str) -> None:
    """A call in flight (``_calling``, or a run's batch in ``ge._native._runs``) on
    another thread: ``close()`` waits until it leaves, and frees nothing before."""
    tensor = Tensor.from_numpy(np.ones(3, np.float32))
    inside, leave = threading.Event(), threading.Event()

    def call() -> None:
        if how == "call":
            with tensor._calling():
                inside.set()
                leave.wait(5)
        else:
            entry = (threading.get_ident(), (tensor,))
            _native._runs[id(entry)] = entry
            try:
                inside.set()
                leave.wait(5)
            finally:
                _native._runs.pop(id(entry), None)
                if _native._waiting:
                    _native.wake_waiters()

    closed_at: list[float] = []

    def close() -> None:
        tensor.close()
        closed_at.append(time.monotonic())

    caller = threading.Thread(target=call)
    caller.start()
    assert inside.wait(5)
    closer = threading.Thread(target=close)
    closer.start()
    time.sleep(0.1)
    assert not closed_at and _tensors(ge_stub) == 1  # waiting: nothing freed under the call
    left = time.monotonic()
    leave.set()
    caller.join(5)
    closer.join(5)
    assert closed_at and closed_at[0] >= left
    assert tensor.closed and tensor._owner is None and _tensors(ge_stub) == 0


def test_a_second_closer_waits_for_the_release(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one thread's close is destroying the tensor in C, a second ``close()``
    returns only once it is destroyed ("closed" means "released")."""
    tensor = Tensor.from_numpy(np.ones(3, np.float32))
    real = api.GeApiWrapper_Tensor_DestroyEsCTensor
    inside = threading.Event()
    done: list[float] = []

    def slow_destroy(handle: Any) -> None:
        inside.set()
        time.sleep(0.2)
        real(handle)
        done.append(time.monotonic())

    monkeypatch.setattr(api, "GeApiWrapper_Tensor_DestroyEsCTensor", slow_destroy)
    first = threading.Thread(target=tensor.close)
    first.start()
    assert inside.wait(5)
    tensor.close()  # the second closer
    second = time.monotonic()
    first.join(5)
    assert done and second >= done[0]
    assert _tensors(ge_stub) == 0 and tensor._owner is None


def test_closing_from_inside_a_call_on_it_refuses(ge_stub: StubControl) -> None:
    """On the thread of a call in flight on it (an allocator callback of that call),
    ``close()`` raises instead of waiting for itself; for a run's batch too."""
    tensor = Tensor.from_numpy(np.ones(3, np.float32))
    with tensor._calling(), pytest.raises(RuntimeError, match="from inside a call"):
        tensor.close()
    entry = (threading.get_ident(), (tensor,))
    _native._runs[id(entry)] = entry
    try:
        with pytest.raises(RuntimeError, match="from inside a call"):
            tensor.close()
    finally:
        _native._runs.pop(id(entry), None)
    tensor.close()
    assert _tensors(ge_stub) == 0
