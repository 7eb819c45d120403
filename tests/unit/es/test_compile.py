"""What GE checks when it compiles a graph, not when it is built (ABI.md 7; stubs/README.md
"Compiling"): ``CompileGraph`` fails with PARAM_INVALID, a first run with FAILED."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import numpy as np
import pytest

import ge
from ge._ffi import status as S
from ge.error import GeError
from ge.es import GraphBuilder, TensorHolder
from ge.graph import DataType, Graph, Tensor


@pytest.fixture
def session(ge_ready: Any) -> Iterator[ge.Session]:
    with ge.Session() as s:
        yield s


def _graph(make: Callable[[GraphBuilder], list[TensorHolder]]) -> Graph:
    builder = GraphBuilder("checked")
    outputs = make(builder)  # the builder accepts all of these
    return builder.build_and_reset(outputs)


def _broadcast_mismatch(b: GraphBuilder) -> list[TensorHolder]:
    return [b.create_input(0, shape=[2, 3]) + b.create_vector_float([1.0, 2.0])]


def _uint32_add(b: GraphBuilder) -> list[TensorHolder]:
    b.create_input(0, shape=[2])
    return [b.create_vector_uint32([1, 2]) + b.create_scalar_uint32(1)]


def _bool_div(b: GraphBuilder) -> list[TensorHolder]:
    b.create_input(0, shape=[2])
    flag = b.create_input(1, data_type=DataType.DT_BOOL, shape=[2])
    return [flag / flag]


def _uint16_add(b: GraphBuilder) -> list[TensorHolder]:
    b.create_input(0, shape=[2])
    u = b.create_input(1, data_type=DataType.DT_UINT16, shape=[2])
    return [u + u]  # Add does not take UINT16 (Sub, Mul, Div do)


def _int_with_uint16(b: GraphBuilder) -> list[TensorHolder]:
    b.create_input(0, shape=[2])
    u = b.create_input(1, data_type=DataType.DT_UINT16, shape=[2])
    return [u * b.create_vector_int32([1, 2])]  # no promotion of UINT16 with INT32


def _cycle(b: GraphBuilder) -> list[TensorHolder]:
    x = b.create_input(0, shape=[2])
    y = x * x
    b.add_control_dependency(x, [y])
    return [y]


BROKEN = {
    "broadcast": (_broadcast_mismatch, "do not broadcast"),
    "uint32": (_uint32_add, "not supported"),
    "bool div": (_bool_div, "not supported"),
    "uint16 add": (_uint16_add, "not supported"),
    "uint16 with int32": (_int_with_uint16, "not supported"),
    "cycle": (_cycle, "cycle"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_compile_graph_refuses_what_the_builder_accepted(session: ge.Session, case: str) -> None:
    make, message = BROKEN[case]
    with _graph(make) as graph:
        session.add_graph(1, graph)  # AddGraph checks none of it
    with pytest.raises(GeError, match="CompileGraph") as info:
        session.compile_graph(1)
    assert info.value.status == S.PARAM_INVALID  # ge_api.cc: GE_ASSERT_SUCCESS
    assert message in info.value.error_message


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_the_first_run_refuses_it_with_failed(session: ge.Session, case: str) -> None:
    make, message = BROKEN[case]
    with _graph(make) as graph:
        session.add_graph(1, graph)
    inputs = [Tensor.from_numpy(np.zeros((2, 3) if case == "broadcast" else (2,), np.float32))]
    if case in ("bool div",):
        inputs.append(Tensor.from_numpy(np.zeros(2, np.bool_)))
    if case.startswith("uint16"):
        inputs.append(Tensor.from_numpy(np.zeros(2, np.uint16)))
    with pytest.raises(GeError, match="RunGraph") as info:
        session.run_graph(1, inputs)
    assert info.value.status == S.FAILED  # GE_GRAPH_INFERSHAPE_FAILED, mapped by Session::RunGraph
    assert message in info.value.error_message
    for t in inputs:
        t.close()


def test_an_async_first_run_refuses_it_with_failed(session: ge.Session, stream: Any) -> None:
    with _graph(_broadcast_mismatch) as graph:
        session.add_graph(1, graph)
    x = Tensor.from_numpy(np.zeros((2, 3), np.float32))
    with x, pytest.raises(GeError, match="RunGraphWithStreamAsync") as info:
        session.run_graph_with_stream_async(1, stream, [x])
    assert info.value.status == S.FAILED


def test_what_ge_accepts_runs(session: ge.Session) -> None:
    def make(b: GraphBuilder) -> list[TensorHolder]:
        u = b.create_input(0, data_type=DataType.DT_UINT16, shape=[2])
        flag = b.create_input(1, data_type=DataType.DT_BOOL, shape=[2])
        i8 = b.create_input(2, data_type=DataType.DT_INT8, shape=[2])
        u8 = b.create_input(3, data_type=DataType.DT_UINT8, shape=[2])
        return [u - u, u * u, u / u, flag + flag, flag - flag, flag * flag, i8 + u8, flag + i8]

    with _graph(make) as graph:
        session.add_graph(1, graph)
    session.compile_graph(1)
    arrays = [
        np.array([7, 9], np.uint16),
        np.array([True, False]),
        np.array([-128, 5], np.int8),
        np.array([255, 3], np.uint8),
    ]
    inputs = [Tensor.from_numpy(a) for a in arrays]
    with ge.Session() as second:  # the compiled one runs with LoadGraph; a fresh one runs here
        with _graph(make) as graph:
            second.add_graph(1, graph)
        outputs = second.run_graph(1, inputs)
        got = [o.numpy() for o in outputs]
    u, _, i8, u8 = arrays
    want = [
        u - u,
        u * u,
        np.array([1, 1], np.uint16),
        np.array([True, False]),
        np.array([False, False]),  # BOOL Sub: xor
        np.array([True, False]),
        i8.astype(np.int16) + u8,  # INT8 with UINT8: INT16
        np.array([-127, 5], np.int8),  # BOOL with INT8: INT8
    ]
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(g, w)
    for t in (*inputs, *outputs):
        t.close()


def test_unknown_dims_are_checked_again_at_run_time(session: ge.Session) -> None:
    def make(b: GraphBuilder) -> list[TensorHolder]:
        x = b.create_input(0, shape=[-1])
        return [x + b.create_vector_float([1.0, 2.0, 3.0])]  # [-1] with [3]: fine to compile

    with _graph(make) as graph:
        session.add_graph(1, graph)
    session.compile_graph(1)
    with ge.Session() as other:
        with _graph(make) as graph:
            other.add_graph(1, graph)
        with Tensor.from_numpy(np.ones(3, np.float32)) as x:
            (out,) = other.run_graph(1, [x])
            np.testing.assert_array_equal(out.numpy(), [2, 3, 4])
            out.close()
        x = Tensor.from_numpy(np.ones(4, np.float32))
        with x, pytest.raises(GeError, match="RunGraph") as info:
            other.run_graph(1, [x])
        assert "do not broadcast" in info.value.error_message
