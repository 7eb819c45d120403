"""``Session.bind`` / ``GraphBinding``: the bound run path, and its guarantees."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

import ge
import ge.acl
from ge._ffi import status as S
from ge.error import GeError
from ge.session import GraphBinding


@pytest.fixture
def session(ge_ready: Any) -> Any:
    with ge.Session() as s:
        yield s


@pytest.fixture
def graph_1(session: Any, make_graph: Any) -> int:
    with make_graph() as graph:
        session.add_graph(1, graph)
    return 1


def inputs() -> tuple[list[ge.Tensor], np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3)).astype(np.float32)
    y = rng.standard_normal((2, 3)).astype(np.float32)
    return [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)], (x + y) * x


def close_all(tensors: list[ge.Tensor]) -> None:
    for tensor in tensors:
        tensor.close()


def test_bound_runs_give_the_plain_calls_results(session: Any, graph_1: int, stream: Any) -> None:
    tensors, want = inputs()
    binding = session.bind(graph_1, stream)
    assert isinstance(binding, GraphBinding)
    assert binding.session is session and binding.graph_id == 1 and binding.stream is stream
    try:
        for _ in range(3):  # the kept input array is reused: same results
            (out,) = binding.run(tensors)
            with out:
                np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
            (out,) = binding.run_async(tensors)
            with out:
                stream.synchronize()
                np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
        other, _ = inputs()
        swapped = [other[1], other[0]]  # other tensors: a new array, not the kept one
        (out,) = binding.run(swapped)
        with out:
            np.testing.assert_allclose(
                out.numpy(), (other[0].numpy() + other[1].numpy()) * other[1].numpy(), rtol=1e-6
            )
        close_all(other)
    finally:
        close_all(tensors)
    assert "GraphBinding" in repr(binding)


def test_an_int_stream_binds_too(session: Any, graph_1: int, stream: Any) -> None:
    tensors, want = inputs()
    binding = session.bind(graph_1, stream.handle)
    assert binding.stream == stream.handle
    try:
        (out,) = binding.run_async(tensors)
        with out:
            stream.synchronize()
            np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
    finally:
        close_all(tensors)


def test_bind_checks_once(session: Any, graph_1: int) -> None:
    with pytest.raises(GeError) as info:
        session.bind(7)
    assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
    with pytest.raises(ValueError, match="Graph_id"):
        session.bind(-1)
    with pytest.raises(ValueError, match="stream 0"):
        session.bind(graph_1, 0)
    binding = session.bind(graph_1)
    with pytest.raises(ValueError, match="no stream"):
        binding.run_async([])
    with pytest.raises(TypeError):
        binding.run("not a list")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        binding.run([object()])  # type: ignore[list-item]


def test_a_binding_outlives_its_session_stream_and_graph_cleanly(
    ge_ready: Any, make_graph: Any
) -> None:
    """Once the graph is removed, the stream destroyed or the session closed, a run
    raises the plain call's error (never a dead handle to C: strict mode aborts)."""
    tensors, _ = inputs()
    try:
        session = ge.Session()
        with make_graph() as graph:
            session.add_graph(1, graph)
            session.add_graph(2, graph)
        stream = ge.acl.Stream()
        on_stream = session.bind(1, stream)
        sync = session.bind(2)
        stream.destroy()
        with pytest.raises(ValueError, match="Stream is destroyed"):
            on_stream.run_async(tensors)
        session.remove_graph(2)
        with pytest.raises(GeError) as info:
            sync.run(tensors)
        assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
        session.close()
        with pytest.raises(GeError) as info:
            on_stream.run(tensors)
        assert info.value.status == S.GE_SESSION_NOT_EXIST
        tensors[0].close()
        with pytest.raises(ValueError, match="tensor is closed"):
            sync.run(tensors)
    finally:
        close_all(tensors)


def test_a_binding_of_a_session_closed_by_finalize(ge_ready: Any, make_graph: Any) -> None:
    tensors, _ = inputs()
    try:
        session = ge.Session()
        with make_graph() as graph:
            session.add_graph(1, graph)
        binding = session.bind(1)
        ge.finalize()
        ge.initialize()
        with pytest.raises(GeError) as info:
            binding.run(tensors)
        assert info.value.status == S.GE_SESSION_MANAGER_NOT_INIT
    finally:
        close_all(tensors)


def test_closing_an_input_during_a_bound_run_waits_for_it(
    session: Any, graph_1: int, stream: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A close of an input on another thread while a bound run is inside C waits
    for the run to leave; the next run gets the closed tensor's error."""
    from ge._ffi import api

    tensors, want = inputs()
    binding = session.bind(graph_1, stream)
    inside = threading.Event()
    real = api.GeApiWrapper_Session_RunGraphWithStreamAsync

    entered: list[float] = []

    def slow_run(*args: Any) -> Any:
        entered.append(time.monotonic())
        inside.set()
        time.sleep(0.2)
        return real(*args)

    monkeypatch.setattr(api, "GeApiWrapper_Session_RunGraphWithStreamAsync", slow_run)
    closed_at: list[float] = []

    def closer() -> None:
        inside.wait(5)
        tensors[0].close()
        closed_at.append(time.monotonic())

    thread = threading.Thread(target=closer)
    thread.start()
    try:
        (out,) = binding.run_async(tensors)
        with out:
            stream.synchronize()
            np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
        thread.join(5)
        assert closed_at and closed_at[0] >= entered[0] + 0.19  # it waited for the run
        assert tensors[0].closed
        with pytest.raises(ValueError, match="tensor is closed"):
            binding.run_async(tensors)
        assert all(t._calls == [] for t in tensors) and session._calls == []
    finally:
        thread.join(5)
        close_all(tensors)


def test_a_run_uses_the_inputs_it_counted_in_flight(
    session: Any, graph_1: int, stream: Any
) -> None:
    """A run reads its inputs once: the handles it passes to C are those of the
    tensors it counted in flight, even when the list gives other tensors the
    next time it is read (another thread changing it under the run)."""
    first, want = inputs()
    other, _ = inputs()
    reads = [0]

    class Shifty(list):  # type: ignore[type-arg]
        def __iter__(self) -> Any:
            reads[0] += 1
            return iter(first if reads[0] <= 2 else other)  # a subclass is checked, then read

    try:
        for run in (
            lambda: session.run_graph(graph_1, Shifty(first)),
            lambda: session.bind(graph_1, stream).run_async(Shifty(first)),
        ):
            reads[0] = 0
            other[0].close()  # a dead handle to C would abort the strict stand-in
            (out,) = run()
            with out:
                stream.synchronize()
                np.testing.assert_allclose(out.numpy(), want, rtol=1e-6)
            other[0] = ge.Tensor.from_numpy(np.zeros((2, 3), np.float32))
    finally:
        close_all(first)
        close_all(other)
