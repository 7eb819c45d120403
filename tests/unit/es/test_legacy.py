"""This package's builder calls (``input``/``build``) on the stand-in: exact inputs and
outputs, real results, misuse. CANN's calls (``ge.es``): ``test_es.py``."""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ge._ffi import api, status
from ge._ffi.marshal import COptions, check_ge
from ge.error import GeError
from ge.graph import DataType, Format, Graph, GraphBuilder, Tensor, TensorHolder
from ge.graph.dtypes import SUPPORTED, as_data_type, to_numpy_dtype
from ge.graph.graph import GraphInput
from ge.testing import GraphTensorDesc, StubControl

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

OPS: dict[str, Callable[[Any, Any], Any]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


def run_graph(graph: Graph, inputs: Sequence[np.ndarray[Any, Any]]) -> list[np.ndarray[Any, Any]]:
    """Run ``graph`` once through the raw C API (no session module) and return its outputs."""
    options = COptions({})
    check_ge(api.GeApiWrapper_GEInitialize(*options.args), "GEInitialize")
    session = api.GeApiWrapper_Session_CreateSession()
    assert session
    tensors = [Tensor.from_numpy(a) for a in inputs]
    results: list[Tensor] = []
    try:
        check_ge(api.GeApiWrapper_Session_AddGraph(session, 7, graph), "AddGraph")
        handles = (ctypes.c_void_p * max(len(tensors), 1))(*(t.handle for t in tensors))
        outputs = ctypes.POINTER(ctypes.c_void_p)()
        count = ctypes.c_size_t()
        check_ge(
            api.GeApiWrapper_Session_RunGraph(
                session, 7, handles, len(tensors), ctypes.byref(outputs), ctypes.byref(count)
            ),
            "RunGraph",
        )
        results = [Tensor._adopt(outputs[i]) for i in range(count.value)]
        api.GeApiWrapper_Session_FreeTensorArray(outputs)
        return [r.numpy() for r in results]
    finally:
        for tensor in [*tensors, *results]:
            tensor.close()
        api.GeApiWrapper_Session_DestroySession(session)
        api.GeApiWrapper_GEFinalize()


# -- exact inputs and outputs (property) -------------------------------------


@dataclass
class Plan:
    """What a random graph declares and what it outputs."""

    inputs: list[tuple[int, Any, tuple[int, ...], Format, Any]]  # index, dtype, shape, fmt, name
    ops: list[tuple[str, int, int]]  # op, left holder, right holder (same spec)
    outputs: list[int]  # holders, by position in the holder list


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    count = draw(st.integers(1, 4))
    order = draw(st.permutations(range(count)))
    inputs = []
    for index in order:
        data_type = draw(st.sampled_from(SUPPORTED))
        spellings: list[Any] = [data_type, int(data_type), to_numpy_dtype(data_type)]
        spelled = draw(st.sampled_from(spellings))
        shape = tuple(draw(st.lists(st.integers(-1, 4), max_size=4)))
        fmt = draw(st.sampled_from([Format.FORMAT_ND, Format.FORMAT_NCHW, Format.FORMAT_NHWC]))
        name = draw(st.one_of(st.none(), st.text(min_size=1, max_size=8)))
        if name is not None and "\0" in name:
            name = None
        inputs.append((index, spelled, shape, fmt, name))
    specs = [(_as_dt(spelled), shape) for _, spelled, shape, _, _ in inputs]
    ops = []
    for _ in range(draw(st.integers(0, 5))):
        left = draw(st.integers(0, len(specs) - 1))
        same = [i for i, spec in enumerate(specs) if spec == specs[left]]
        right = draw(st.sampled_from(same))
        ops.append((draw(st.sampled_from(sorted(OPS))), left, right))
        specs.append(specs[left])
    outputs = draw(st.lists(st.integers(0, len(specs) - 1), min_size=1, max_size=5))
    return Plan(inputs, ops, outputs)


def _as_dt(spelled: Any) -> DataType:
    return as_data_type(spelled)


@fixture_ok
@given(plan=plans())
def test_graphs_have_exactly_their_inputs_and_outputs(ge_stub: StubControl, plan: Plan) -> None:
    with GraphBuilder("random") as builder:
        holders: list[TensorHolder] = []
        specs: list[tuple[DataType, tuple[int, ...]]] = []
        by_index: dict[int, GraphTensorDesc] = {}
        for index, spelled, shape, fmt, name in plan.inputs:
            holders.append(builder.input(index, spelled, shape, fmt, name=name))
            specs.append((_as_dt(spelled), shape))
            by_index[index] = GraphTensorDesc(int(_as_dt(spelled)), int(fmt), shape)
        for op, left, right in plan.ops:
            holders.append(OPS[op](holders[left], holders[right]))
            specs.append(specs[left])
        graph = builder.build([holders[i] for i in plan.outputs])
    with graph:
        assert builder.closed and builder.built
        assert ge_stub.live_counts()["builders"] == 0
        assert ge_stub.graph_inputs(graph) == [by_index[i] for i in range(len(by_index))]
        assert ge_stub.graph_outputs(graph) == [
            GraphTensorDesc(int(specs[i][0]), None, specs[i][1]) for i in plan.outputs
        ]
        assert graph.num_outputs == len(plan.outputs)
        assert graph.inputs is not None
        assert [g.index for g in graph.inputs] == list(range(len(plan.inputs)))
        assert graph.name == "random"


# -- the graphs compute what they say ----------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16])
def test_ops_compute_for_real(ge_stub: StubControl, dtype: Any) -> None:
    builder = GraphBuilder("arith")
    a = builder.input(0, dtype, [2, 3])
    b = builder.input(1, dtype, [2, 3])
    c = builder.input(2, dtype, [2, 3])
    graph = builder.build([a + b, a - b, a * b, a / c, (a + b) * c - a, b])
    x = np.array([[1, 2, 3], [4, 5, 6]], dtype=dtype)
    y = np.array([[7, -8, 9], [10, 11, -12]], dtype=dtype)
    z = np.array([[2, 2, 4], [-3, 5, 7]], dtype=dtype)
    with graph:
        results = run_graph(graph, [x, y, z])
    quotient = np.trunc(x / z).astype(dtype) if np.dtype(dtype).kind == "i" else x / z
    expected = [x + y, x - y, x * y, quotient, (x + y) * z - x, y]
    assert len(results) == len(expected)
    for got, want in zip(results, expected):
        assert got.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(got, want)


def test_unknown_dims_run_with_any_size(ge_stub: StubControl) -> None:
    builder = GraphBuilder("dynamic")
    x = builder.input(0, DataType.DT_FLOAT, [-1, 2])
    graph = builder.build(x * x)
    with graph:
        assert ge_stub.graph_inputs(graph)[0].shape == (-1, 2)
        data = np.arange(10, dtype=np.float32).reshape(5, 2)
        (out,) = run_graph(graph, [data])
    np.testing.assert_array_equal(out, data * data)


def test_inputs_in_any_order_and_numpy_dtypes(ge_stub: StubControl) -> None:
    builder = GraphBuilder("order")
    second = builder.input(1, np.dtype(np.int64), (3,))
    first = builder.input(0, np.int64, (3,), name="first")
    with builder.build([second - first]) as graph:
        assert [d.data_type for d in ge_stub.graph_inputs(graph)] == [9, 9]
        (out,) = run_graph(graph, [np.array([1, 2, 3]), np.array([10, 20, 30])])
    np.testing.assert_array_equal(out, [9, 18, 27])


# -- misuse -------------------------------------------------------------------


def test_builder_and_holders_are_unusable_after_build(ge_stub: StubControl) -> None:
    builder = GraphBuilder("once")
    x = builder.input(0, DataType.DT_FLOAT, [2])
    y = x + x
    graph = builder.build(y)
    graph.close()
    assert builder.built and builder.closed
    for use in (
        lambda: builder.input(1, DataType.DT_FLOAT, [2]),
        lambda: builder.build(y),
        lambda: builder.build([x]),
        lambda: x + y,
        lambda: y - x,
        lambda: x * x,
        lambda: x / y,
        lambda: builder.handle,
    ):
        with pytest.raises(ValueError, match="already been built") as info:
            use()
        assert isinstance(info.value, RuntimeError)  # as CANN's ge.es
    builder.close()  # harmless
    assert "built" in repr(builder)
    assert ge_stub.live_counts()["builders"] == 0


def test_closed_builder(ge_stub: StubControl) -> None:
    with GraphBuilder("closed") as builder:
        x = builder.input(0, DataType.DT_FLOAT, [2])
    assert ge_stub.live_counts()["builders"] == 0
    with pytest.raises(ValueError, match="graph builder is closed"):
        x + x
    with pytest.raises(ValueError, match="graph builder is closed"):
        builder.build(x)
    with pytest.raises(ValueError, match="graph builder is closed"):
        builder.input(1, DataType.DT_FLOAT, [2])


def test_mixing_builders(ge_stub: StubControl) -> None:
    with GraphBuilder("a") as first, GraphBuilder("b") as second:
        x = first.input(0, DataType.DT_FLOAT, [2])
        y = second.input(0, DataType.DT_FLOAT, [2])
        for op in OPS.values():
            with pytest.raises(ValueError, match="different GraphBuilders"):
                op(x, y)
        with pytest.raises(ValueError, match="another GraphBuilder"):
            first.build([x, y])
        assert not first.built  # a refused build leaves the builder usable
        first.build(x).close()
        second.build(y).close()


@pytest.mark.parametrize("other", [np.ones(2), "x", None, (1.0, 2.0), {1}, b"1"])
def test_non_tensor_like_operands(ge_stub: StubControl, other: Any) -> None:
    with GraphBuilder("b") as builder:
        x = builder.input(0, DataType.DT_FLOAT, [2])
        for op in OPS.values():
            with pytest.raises(TypeError):
                op(x, other)
            with pytest.raises(TypeError):
                op(other, x)


def test_the_builder_accepts_what_ge_checks_when_it_compiles(ge_stub: StubControl) -> None:
    """v1 refused mismatched data types and shapes in EsAdd...: CANN's generated ops
    do not check them (GE does when it compiles the graph, unit/es/test_compile.py)."""
    with GraphBuilder("mismatch") as builder:
        x = builder.input(0, DataType.DT_FLOAT, [2])
        n = builder.input(1, DataType.DT_INT32, [2])
        z = builder.input(2, DataType.DT_FLOAT, [3])
        assert isinstance(x + n, TensorHolder)
        assert isinstance(x * z, TensorHolder)
        ge_stub.fail_next("EsDiv", status.FAILED)
        with pytest.raises(GeError, match="EsDiv") as info:
            x / x
        assert "injected fault" in info.value.error_message
        assert builder.build(x / x) is not None
    assert ge_stub.live_counts()["graphs"] == 0  # the graph was collected (finalizer)


def test_build_checks_input_indices_first(ge_stub: StubControl) -> None:
    builder = GraphBuilder("gaps")
    x = builder.input(0, DataType.DT_FLOAT, [2])
    z = builder.input(2, DataType.DT_FLOAT, [2])
    with pytest.raises(ValueError, match=r"0\.\.n-1"):
        builder.build(x + z)
    assert not builder.built
    builder.input(1, DataType.DT_FLOAT, [2])
    with builder.build(x + z) as graph:
        assert len(ge_stub.graph_inputs(graph)) == 3


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (("0", DataType.DT_FLOAT, [2]), {}, TypeError, "index"),
        ((True, DataType.DT_FLOAT, [2]), {}, TypeError, "index"),
        ((1.0, DataType.DT_FLOAT, [2]), {}, TypeError, "index"),
        ((-1, DataType.DT_FLOAT, [2]), {}, ValueError, "index"),
        ((0, object(), [2]), {}, TypeError, "dtype"),
        ((0, None, [2]), {}, TypeError, "dtype"),
        ((0, True, [2]), {}, TypeError, "dtype"),
        ((0, 5, [2]), {}, ValueError, "DataType"),
        ((0, np.dtype("U2"), [2]), {}, TypeError, "unsupported data type"),
        ((0, np.object_, [2]), {}, TypeError, "unsupported data type"),
        ((0, DataType.DT_FLOAT, 2), {}, TypeError, "shape"),
        ((0, DataType.DT_FLOAT, "2"), {}, TypeError, "shape"),
        ((0, DataType.DT_FLOAT, [2.0]), {}, TypeError, "shape"),
        ((0, DataType.DT_FLOAT, [None]), {}, TypeError, "shape"),
        ((0, DataType.DT_FLOAT, [False]), {}, TypeError, "shape"),
        ((0, DataType.DT_FLOAT, [-2]), {}, ValueError, "shape"),
        ((0, DataType.DT_FLOAT, [2]), {"format": "ND"}, TypeError, "format"),
        ((0, DataType.DT_FLOAT, [2]), {"format": 999}, ValueError, "Format"),
        ((0, DataType.DT_FLOAT, [2]), {"name": 3}, TypeError, "name"),
        ((0, DataType.DT_FLOAT, [2]), {"name": "a\0"}, ValueError, "NUL"),
    ],
)
def test_input_misuse(
    ge_stub: StubControl,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type[Exception],
    match: str,
) -> None:
    with GraphBuilder("b") as builder:
        with pytest.raises(error, match=match):
            builder.input(*args, **kwargs)
        assert builder.input(0, DataType.DT_FLOAT, [2]) is not None  # still usable


def test_duplicate_input_index(ge_stub: StubControl) -> None:
    with GraphBuilder("b") as builder:
        builder.input(0, DataType.DT_FLOAT, [2])
        with pytest.raises(ValueError, match="already declared"):
            builder.input(0, DataType.DT_FLOAT, [2])


@pytest.mark.parametrize(
    "outputs, error, match",
    [
        ([], ValueError, "at least one"),
        ((), ValueError, "at least one"),
        (None, TypeError, "outputs"),
        ("x", TypeError, "outputs"),
        (iter([]), TypeError, "outputs"),
        ([1], TypeError, r"outputs\[0\]"),
    ],
)
def test_build_misuse(
    ge_stub: StubControl, outputs: Any, error: type[Exception], match: str
) -> None:
    with GraphBuilder("b") as builder:
        x = builder.input(0, DataType.DT_FLOAT, [2])
        with pytest.raises(error, match=match):
            builder.build(outputs)
        with pytest.raises(TypeError, match=r"outputs\[1\]"):
            builder.build([x, "y"])  # type: ignore[list-item]
        assert not builder.built
        builder.build((x, x)).close()


@pytest.mark.parametrize("name", [3, b"b", ["g"]])
def test_builder_name_must_be_a_str(ge_stub: StubControl, name: Any) -> None:
    with pytest.raises(TypeError, match=r"^Graph name must be a string$"):
        GraphBuilder(name)
    with pytest.raises(ValueError, match="NUL"):
        GraphBuilder("a\0b")


@pytest.mark.parametrize("name", [None, ""])
def test_builder_default_name_is_graph(ge_stub: StubControl, name: Any) -> None:
    with GraphBuilder(name) as builder:
        assert builder.name == "graph"
        with builder.build(builder.input(0, DataType.DT_FLOAT, [1])) as graph:
            assert graph.name == "graph"


def test_native_failures(ge_stub: StubControl) -> None:
    ge_stub.fail_next("EsCreateGraphBuilder", status.FAILED)
    with pytest.raises(GeError, match="EsCreateGraphBuilder"):
        GraphBuilder("b")
    with GraphBuilder("b") as builder:
        ge_stub.fail_next("EsCreateGraphInputWithDetails", status.FAILED)
        with pytest.raises(GeError, match="EsCreateGraphInputWithDetails"):
            builder.input(0, DataType.DT_FLOAT, [2])
        x = builder.input(0, DataType.DT_FLOAT, [2])  # the index is still free
        ge_stub.fail_next("EsBuildGraphAndReset", status.FAILED)
        with pytest.raises(GeError, match="EsBuildGraphAndReset"):
            builder.build(x)
        assert builder.built  # a build that failed in GE consumed the builder
        with pytest.raises(ValueError, match="already been built"):
            builder.build(x)
    with GraphBuilder("c") as builder:
        x = builder.input(0, DataType.DT_FLOAT, [2])
        ge_stub.fail_next("EsSetGraphOutput", status.FAILED, nth=2)
        with pytest.raises(GeError, match="EsSetGraphOutput") as info:
            builder.build([x, x])
        assert info.value.context == {"index": 1}
    assert ge_stub.live_counts()["builders"] == 0
    assert ge_stub.live_counts()["graphs"] == 0


def test_holders_keep_their_builder_alive(ge_stub: StubControl) -> None:
    builder = GraphBuilder("kept")
    x = builder.input(0, DataType.DT_FLOAT, [2])
    del builder
    gc.collect()
    assert ge_stub.live_counts()["builders"] == 1
    y = x + x
    assert y.builder is x.builder
    with y.builder.build(y) as graph:
        assert len(ge_stub.graph_outputs(graph)) == 1
    assert "kept" in repr(y)


def test_unbuilt_builder_is_freed_by_finalizer(ge_stub: StubControl) -> None:
    builder = GraphBuilder("dropped")
    x = builder.input(0, DataType.DT_FLOAT, [2])
    _ = x * x
    del builder, x, _
    gc.collect()
    assert ge_stub.live_counts()["builders"] == 0


def test_graph_inputs_are_remembered(ge_stub: StubControl) -> None:
    builder = GraphBuilder("spec")
    a = builder.input(1, np.float16, [-1, 4], Format.FORMAT_NHWC)
    b = builder.input(0, DataType.DT_FLOAT16, [], name="b")
    with builder.build([a, b, a]) as graph:
        assert graph.inputs == (
            GraphInput(0, DataType.DT_FLOAT16, (), Format.FORMAT_ND, "b"),
            GraphInput(1, DataType.DT_FLOAT16, (-1, 4), Format.FORMAT_NHWC, None),
        )
        assert graph.num_outputs == 3
