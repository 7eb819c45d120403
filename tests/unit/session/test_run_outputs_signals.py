"""A run's outputs under interrupts (issue 11): whatever GE hands over is owned
from before the C call (``ge._ffi.owned.Taking``), so an interrupt anywhere
after it (in the run path, in the hand-over, in any cleanup or finalizer that
runs meanwhile) leaks and double frees nothing."""

from __future__ import annotations

import ctypes
import gc
import os
from typing import Any

import numpy as np
import pytest
from _helpers.interrupts import interrupt_each_event, python_calls

import ge
from ge._ffi import _bind_named, api, owned
from ge._ffi.handles import TensorHandle

X = np.ones((2, 3), np.float32)


@pytest.fixture
def session(ge_ready: Any) -> Any:
    with ge.Session() as s:
        yield s


def outputs_graph(n: int) -> Any:
    """A graph of two float32 [2, 3] inputs and ``n`` outputs."""
    with ge.GraphBuilder("many") as builder:
        x = builder.input(0, ge.DataType.DT_FLOAT, (2, 3))
        y = builder.input(1, ge.DataType.DT_FLOAT, (2, 3))
        return builder.build([x + y * float(i) for i in range(n)])


_PACKAGE = os.path.dirname(os.path.abspath(ge.__file__))


@pytest.mark.parametrize("way", ["sync", "async", "bound async"])
def test_an_interrupt_at_any_point_after_the_run_leaks_and_double_frees_nothing(
    session: Any, ge_stub: Any, stream: Any, way: str
) -> None:
    """A KeyboardInterrupt on entry to and return from each function of the
    package that runs after GE made a run's outputs (3 of them), in turn: the
    run path, ``Tensor._adopt_outputs``, any cleanup function or finalizer that
    runs meanwhile; and at each line of ``Tensor._adopt_outputs``. It
    reaches the caller, and every output tensor and its array is freed exactly
    once (strict mode aborts on a double free): the live counts are back where
    they were once the outputs the run returned are closed."""
    name = "RunGraph" if way == "sync" else "RunGraphWithStreamAsync"
    real = getattr(api, f"GeApiWrapper_Session_{name}")
    after = [False]
    adopt = ge.Tensor._adopt_outputs.__func__.__code__  # type: ignore[attr-defined]

    def run_then_arm(*args: Any) -> Any:  # the C call, then the events are counted
        status = real(*args)
        after[0] = True
        return status

    with outputs_graph(3) as graph:
        session.add_graph(1, graph)
    binding = session.bind(1, stream)
    with ge.Tensor.from_numpy(X) as a, ge.Tensor.from_numpy(X) as b:
        for out in session.run_graph_with_stream_async(1, stream, [a, b]):  # GE's allocator
            stream.synchronize()
            out.close()
        results: list[Any] = []

        def run() -> None:
            after[0] = False
            if way == "sync":
                results.extend(session.run_graph(1, [a, b]))
            elif way == "async":
                results.extend(session.run_graph_with_stream_async(1, stream, [a, b]))
            else:
                results.extend(binding.run_async([a, b]))
            assert len(results) == 3

        def check() -> None:
            stream.synchronize()
            for out in results:
                out.close()
            results.clear()
            assert ge_stub.live_counts() == base  # (by reference counts: no collection)
            assert session._calls == [] and a._calls == [] and stream._calls == []

        gc.collect()
        base = ge_stub.live_counts()
        setattr(api, f"GeApiWrapper_Session_{name}", run_then_arm)
        try:
            hits = interrupt_each_event(
                run,
                lambda frame: frame.f_code.co_filename.startswith(_PACKAGE),
                check,
                armed=lambda: after[0],
                lines=lambda frame: frame.f_code is adopt,
            )
        finally:
            setattr(api, f"GeApiWrapper_Session_{name}", real)
    assert hits >= 20


def _bare_run(session: Any, inputs: list[Any]) -> tuple[Any, Any, Any]:
    """A bare ``RunGraph`` into the out-parameters a run makes, and their Taking."""
    outputs, count, taking = owned.run_outputs(
        owned.armed_class(TensorHandle, _bind_named), api.GeApiWrapper_Session_FreeTensorArray
    )
    array = (ctypes.c_void_p * len(inputs))(*(t.handle for t in inputs))
    status = api.GeApiWrapper_Session_RunGraph(
        session._param, 1, array, len(inputs), outputs, count
    )
    assert status == 0 and count.value == 8
    return outputs, count, taking


def test_outputs_nobody_took_are_freed_in_c_with_no_python_frame(
    session: Any, ge_stub: Any
) -> None:
    """Dropped untaken (an interrupt right after the C call), a run's Taking frees
    each output tensor, then the array, with no Python frame; taken, each owning
    handle frees its tensor when dropped, with no Python frame either."""
    with outputs_graph(8) as graph:
        session.add_graph(1, graph)
    with ge.Tensor.from_numpy(X) as a, ge.Tensor.from_numpy(X) as b:
        gc.collect()
        base = ge_stub.live_counts()
        parts = list(_bare_run(session, [a, b]))
        assert ge_stub.live_counts()["tensors"] == base["tensors"] + 8
        assert python_calls(parts.clear) == []
        assert ge_stub.live_counts() == base
        outputs, count, taking = _bare_run(session, [a, b])
        handles = list(taking)
        assert handles.pop() is None and len(handles) == 8
        assert ge_stub.live_counts()["tensor_arrays"] == base["tensor_arrays"]  # freed
        assert list(taking) == []  # taken once
        assert python_calls(handles.clear) == []
        del outputs, count, taking
        assert ge_stub.live_counts() == base


def test_outputs_in_a_reference_cycle_are_freed_once_by_the_collector(
    session: Any, ge_stub: Any
) -> None:
    """The collector finalizes a cycle's objects in any order: the tensors and
    their array are freed by one finalizer, tensors first (a dead or foreign
    handle, read from a freed array, would abort the strict stand-in)."""
    with outputs_graph(8) as graph:
        session.add_graph(1, graph)
    with ge.Tensor.from_numpy(X) as a, ge.Tensor.from_numpy(X) as b:
        gc.collect()
        base = ge_stub.live_counts()
        for _ in range(5):
            cycle: list[Any] = list(_bare_run(session, [a, b]))
            cycle.append(cycle)
            del cycle
        gc.collect()
        assert ge_stub.live_counts() == base
