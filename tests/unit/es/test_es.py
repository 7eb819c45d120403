"""CANN's ``ge.es`` (UPSTREAM_API.md rows 78-110) on the stand-in: code written for
CANN's package, from its documentation (``docs/zh/api/graph_engine_api/python/ge/es``),
runs unchanged and gives the right numbers; every documented check holds."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest
from _helpers.graphs import run_once

import ge
from ge import _messages
from ge._ffi import status as S
from ge.error import GeError
from ge.graph import DataType, DumpFormat, Format
from ge.testing import GraphTensorDesc, StubControl


@pytest.fixture
def session(ge_ready: Any) -> Iterator[ge.Session]:
    with ge.Session() as s:
        yield s


# -- module paths and classes ---------------------------------------------------------------


def test_module_paths_and_one_builder_class() -> None:
    from ge.es import GraphBuilder, TensorHolder
    from ge.es.graph_builder import GraphBuilder as ModuleBuilder
    from ge.es.graph_builder import InputType, attr_scope, control_dependency_scope
    from ge.es.tensor_holder import TensorHolder as ModuleHolder
    from ge.graph.builder import GraphBuilder as OldPath

    assert GraphBuilder is ModuleBuilder is OldPath is ge.GraphBuilder is ge.graph.GraphBuilder
    assert TensorHolder is ModuleHolder is ge.graph.TensorHolder
    assert [m.value for m in InputType] == ["Data", "RefData", "AippData", "AnyData"]
    assert callable(attr_scope) and callable(control_dependency_scope)
    assert ge.graph.graph.DumpFormat is DumpFormat


# -- the documented example ---------------------------------------------------------------


def test_the_documented_example_runs_unchanged(session: ge.Session) -> None:
    from ge.es import GraphBuilder

    # GraphBuilder/overview.md, word for word
    builder = GraphBuilder("my_graph")
    input1 = builder.create_input(0, shape=[2, 2])
    input2 = builder.create_input(1, shape=[2, 2])
    const1 = builder.create_const_float(1.0)
    result = input1 + input2
    builder.set_graph_output(result, 0)
    graph = builder.build_and_reset()

    assert graph.name == "my_graph"
    assert const1.name == "Const_0" and result.name == "Add_1"
    a = np.array([[1, 2], [3, 4]], np.float32)
    b = np.array([[10, 20], [30, 40]], np.float32)
    (out,) = run_once(session, graph, a, b)
    np.testing.assert_array_equal(out, a + b)
    graph.close()


def test_operator_overload_sample_mixes_float_and_int64(session: ge.Session) -> None:
    """GE's examples/es/operator_overload: a FLOAT and two INT64 inputs added."""
    from ge.es.graph_builder import GraphBuilder

    builder = GraphBuilder("MakeAddGraph")
    h1 = builder.create_input(index=0, name="input1", data_type=DataType.DT_FLOAT, shape=[2, 3])
    h2 = builder.create_input(index=1, name="input2", data_type=DataType.DT_INT64, shape=[2, 3])
    h3 = builder.create_input(index=2, name="input3", data_type=DataType.DT_INT64, shape=[2, 3])
    total = h1 + h2 + h3
    builder.set_graph_output(total, 0)
    graph = builder.build_and_reset()
    x = np.array([[1, 1, 2], [2, 3, 3]], np.float32)
    n = np.array([[1, 1, 2], [2, 3, 3]], np.int64)
    (out,) = run_once(session, graph, x, n, n)
    assert out.dtype == np.float32  # GE's promotion: FLOAT with INT64 is FLOAT
    np.testing.assert_array_equal(out, x * 3)
    graph.close()


def test_bool_operands_are_the_integers_0_and_1_as_in_cann(session: ge.Session) -> None:
    """CANN's package takes a ``bool`` operand (and a bool in a list) as an int:
    an INT64 scalar or Const, so ``x * True + [False, True]`` runs."""
    from ge.es.graph_builder import GraphBuilder

    builder = GraphBuilder("bools")
    x = builder.create_input(0, data_type=DataType.DT_INT64, shape=[2])
    builder.set_graph_output(x * True + [False, True] - np.bool_(True), 0)
    graph = builder.build_and_reset()
    (out,) = run_once(session, graph, np.array([5, 7], np.int64))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [4, 7])
    graph.close()


def test_control_dependency_scope_sample(session: ge.Session) -> None:
    """GE's examples/es/control_edge, with its three inputs."""
    from ge.es.graph_builder import GraphBuilder, control_dependency_scope

    builder = GraphBuilder("control_dep_scope_example")
    h0 = builder.create_input(index=0, name="input", data_type=DataType.DT_FLOAT, shape=[2, 2])
    h1 = builder.create_input(index=1, name="input1", data_type=DataType.DT_FLOAT, shape=[2, 2])
    with control_dependency_scope([h0, h1]):
        h2 = builder.create_input(index=2, name="input2", data_type=DataType.DT_FLOAT, shape=[2, 2])
        h3 = h0 + h2
    builder.set_graph_output(h3, 0)
    graph = builder.build_and_reset()
    text = str(graph)
    assert "%input2 : [#users=1] = Node[type=Data] (control_inputs = (%input, %input1)" in text
    assert "control_inputs = (%input, %input1)" in text.split("%Add_0")[1]
    ones = np.ones((2, 2), np.float32)
    (out,) = run_once(session, graph, 2 * ones, ones, ones)
    np.testing.assert_array_equal(out, 3 * ones)
    graph.close()


# -- GraphBuilder ---------------------------------------------------------------------------


def test_builder_name(ge_stub: StubControl) -> None:
    from ge.es import GraphBuilder

    assert GraphBuilder().name == "graph"
    assert GraphBuilder(None).name == "graph"
    assert GraphBuilder("g").name == "g"
    with pytest.raises(TypeError, match=r"^Graph name must be a string$"):
        GraphBuilder(1)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="does not support copy"):
        copy.copy(GraphBuilder())
    with pytest.raises(RuntimeError, match="does not support deepcopy"):
        copy.deepcopy(GraphBuilder())


def test_create_input_defaults_and_details(ge_stub: StubControl) -> None:
    from ge.es import GraphBuilder, InputType

    builder = GraphBuilder("inputs")
    plain = builder.create_input(0)
    ref = builder.create_input(
        1,
        name="r",
        type_str=InputType.REF_DATA,
        data_type=DataType.DT_INT32,
        format=Format.FORMAT_NCHW,
        shape=[2, -1],
    )
    unknown_rank = builder.create_input(2, type_str="AnyData", shape=[-2])
    assert plain.name == "input_0" and ref.name == "r" and unknown_rank.name == "input_2"
    builder.set_graph_output(ref, 0)
    graph = builder.build_and_reset()
    assert ge_stub.graph_inputs(graph) == [
        GraphTensorDesc(int(DataType.DT_FLOAT), int(Format.FORMAT_ND), ()),
        GraphTensorDesc(int(DataType.DT_INT32), int(Format.FORMAT_NCHW), (2, -1)),
        GraphTensorDesc(int(DataType.DT_FLOAT), int(Format.FORMAT_ND), (-2,)),
    ]
    text = graph.dump_to_stream()
    assert "%r : [#users=1] = Node[type=RefData]" in text
    assert "Node[type=AnyData]" in text
    graph.close()


@pytest.mark.parametrize(
    "args, kwargs, error, match",
    [
        (("0",), {}, TypeError, "^Input index must be an integer$"),
        ((True,), {}, TypeError, "^Input index must be an integer$"),
        ((-1,), {}, ValueError, "Input index"),
        ((2**31,), {}, ValueError, "Input index"),
        ((0,), {"shape": (2, "3")}, TypeError, "^Shape must be a list of integers$"),
        ((0,), {"shape": 2}, TypeError, "^Shape must be a list of integers$"),
        ((0,), {"shape": [-3]}, ValueError, "shape"),
        ((0,), {"shape": [2, -2]}, ValueError, "shape"),
        ((0,), {"type_str": "Foo"}, ValueError, "type_str"),
        ((0,), {"type_str": 1}, TypeError, "type_str"),
        ((0,), {"data_type": "nope"}, TypeError, "data type"),
        ((0,), {"format": "ND"}, TypeError, "format"),
        ((0,), {"name": 1}, TypeError, "name"),
        ((0,), {"name": "a\0"}, ValueError, "NUL"),
    ],
)
def test_create_input_checks(
    ge_stub: StubControl, args: tuple[Any, ...], kwargs: dict[str, Any], error: Any, match: str
) -> None:
    builder = ge.es.GraphBuilder()
    with pytest.raises(error, match=match):
        builder.create_input(*args, **kwargs)
    assert builder.create_input(0) is not None  # still usable


def test_a_repeated_input_index_fails_in_ge(ge_stub: StubControl) -> None:
    builder = ge.es.GraphBuilder()
    builder.create_input(0)
    with pytest.raises(GeError, match="EsCreateGraphInputWithDetails") as info:
        builder.create_input(0)
    assert isinstance(info.value, RuntimeError)  # CANN: RuntimeError
    assert "uplicated" in info.value.error_message


def test_create_inputs(ge_stub: StubControl) -> None:
    builder = ge.es.GraphBuilder()
    first = builder.create_input(0, data_type=DataType.DT_INT64)
    rest = builder.create_inputs(2, start_index=1)
    assert [h.name for h in rest] == ["input_1", "input_2"]
    for position, holder in enumerate((first, *rest)):
        builder.set_graph_output(holder, position)
    graph = builder.build_and_reset()
    assert [d.data_type for d in ge_stub.graph_inputs(graph)] == [9, 0, 0]
    assert graph.num_outputs == 3
    for num, start, error in (
        (0, 0, ValueError),
        (-1, 0, ValueError),
        ("1", 0, TypeError),
        (1, -1, ValueError),
        (1, 1.0, TypeError),
    ):
        with pytest.raises(error):
            ge.es.GraphBuilder().create_inputs(num, start)
    graph.close()


def test_set_graph_output_and_build_and_reset(ge_stub: StubControl) -> None:
    builder = ge.es.GraphBuilder("outs")
    x, y = builder.create_inputs(2)
    with pytest.raises(TypeError, match=r"^Tensor must be a TensorHolder$"):
        builder.set_graph_output("x", 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Output index must be an integer$"):
        builder.set_graph_output(x, "0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Output index"):
        builder.set_graph_output(x, -1)
    other = ge.es.GraphBuilder().create_input(0)
    with pytest.raises(ValueError, match="another GraphBuilder"):
        builder.set_graph_output(other, 0)
    builder.set_graph_output(x, 1)
    with pytest.raises(GeError, match="EsBuildGraphAndReset") as info:
        builder.build_and_reset()  # outputs 1 only: not 0..n-1
    assert isinstance(info.value, RuntimeError)
    assert not builder.built  # a failed build leaves the builder usable (as CANN)
    with pytest.raises(GeError, match="EsSetGraphOutput"):
        builder.build_and_reset([x, y])  # sets 0, then 1 again: repeated
    with pytest.raises(TypeError, match=r"^Outputs must be a list$"):
        builder.build_and_reset(x)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^All outputs must be TensorHolder objects$"):
        builder.build_and_reset([1])  # type: ignore[list-item]
    graph = builder.build_and_reset()  # outputs 0 (set above) and 1
    assert graph.num_outputs == 2 and builder.built
    graph.close()


def test_the_builder_refuses_every_use_after_build_and_reset(ge_stub: StubControl) -> None:
    builder = ge.es.GraphBuilder("done")
    x = builder.create_input(0, shape=[2])
    y = x * 2.0
    graph = builder.build_and_reset([y])
    for use in (
        lambda: builder.create_input(1),
        lambda: builder.create_inputs(1, 1),
        lambda: builder.create_const_int64(1),
        lambda: builder.create_vector_float([1.0]),
        lambda: builder.create_scalar_uint32(1),
        lambda: builder.create_variable(0, "v"),
        lambda: builder.set_graph_output(x, 1),
        lambda: builder.set_graph_attr_bool("a", True),
        lambda: builder.set_node_attr_int64(x, "a", 1),
        lambda: builder.set_tensor_attr_string(x, "a", "s"),
        lambda: builder.add_control_dependency(y, [x]),
        lambda: builder.build_and_reset(),
        lambda: builder.input(1, DataType.DT_FLOAT, [2]),
        lambda: builder.build([x]),
        lambda: x + y,
        lambda: 1 - x,
        lambda: x.set_shape([3]),
        lambda: x.set_data_type(DataType.DT_INT32),
        lambda: x.set_format(Format.FORMAT_NCHW),
    ):
        with pytest.raises(RuntimeError, match="GraphBuilder has already been built"):
            use()
    # CANN keeps the holders alive with the builder: their name and owner still answer
    assert x.name == "input_0" and y.name == "Mul_1"
    assert y.get_owner_builder() is builder
    graph.close()
    with pytest.raises(GeError, match="GNode_GetName"):
        y.name  # noqa: B018 - the node went with the graph
    builder.close()
    assert ge_stub.live_counts()["builders"] == 0


# -- Consts, vectors, scalars, variables --------------------------------------------------


def test_consts_compute_for_real(session: ge.Session) -> None:
    builder = ge.es.GraphBuilder("consts")
    x = builder.create_input(0, data_type=DataType.DT_INT64, shape=[2, 3])
    outputs = [
        x + builder.create_const_int64([1, 2, 3, 4, 5, 6], shape=[2, 3]),
        x * builder.create_const_int64([10, 20, 30]),  # 1-D of len 3: broadcast
        x - builder.create_const_int32(7),  # INT64 with INT32: INT64
        builder.create_const_float([0.5, 1.5], shape=[2, 1]) * x,  # FLOAT with INT64: FLOAT
        builder.create_vector_int32([1, -1, 1]) + builder.create_scalar_int32(2),
        builder.create_scalar_uint64(2**64 - 1),
        builder.create_const_uint32([7, 8], shape=[1, 2]),
        builder.create_vector_uint64([]),
        builder.create_scalar_float(0.25),
        builder.create_vector_float([1, 2.5]),
        builder.create_const_uint64(3),
        builder.create_vector_int64([5]),
        builder.create_scalar_int64(-(2**63)),
        builder.create_vector_uint32([1, 2]),
        builder.create_const_float(2),
        builder.create_const_int32([], shape=[0, 3]),
    ]
    graph = builder.build_and_reset(outputs)
    xs = np.arange(6, dtype=np.int64).reshape(2, 3)
    got = run_once(session, graph, xs)
    want = [
        xs + np.arange(1, 7).reshape(2, 3),
        xs * [10, 20, 30],
        xs - 7,
        np.array([[0.5], [1.5]], np.float32) * xs.astype(np.float32),
        np.array([3, 1, 3], np.int32),
        np.uint64(2**64 - 1),
        np.array([[7, 8]], np.uint32),
        np.zeros(0, np.uint64),
        np.float32(0.25),
        np.array([1, 2.5], np.float32),
        np.uint64(3),
        np.array([5]),
        np.int64(-(2**63)),
        np.array([1, 2], np.uint32),
        np.float32(2),
        np.zeros((0, 3), np.int32),
    ]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, (g, w)
        np.testing.assert_array_equal(g, w)
    graph.close()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda b: b.create_const_int64([1, 2, 3], shape=[2, 2]), ValueError, r"count \(3\)"),
        (lambda b: b.create_const_int64(5, shape=[2]), ValueError, r"count \(1\)"),
        (lambda b: b.create_const_int64([1], shape=[-1]), ValueError, ">= 0"),
        (lambda b: b.create_const_int64(1.5), TypeError, "integer or list of integers"),
        (lambda b: b.create_const_int64([1, "2"]), TypeError, "integer"),
        (lambda b: b.create_const_int64(True), TypeError, "integer"),
        (lambda b: b.create_const_int32(2**31), ValueError, "range"),
        (lambda b: b.create_const_uint32([-1, 1]), ValueError, "non-negative"),
        (lambda b: b.create_const_float("1"), TypeError, "number"),
        (lambda b: b.create_const_float([1.0], shape="1"), TypeError, "Shape"),
        (lambda b: b.create_vector_int64((1, 2)), TypeError, "list of integers"),
        (lambda b: b.create_vector_float([None]), TypeError, "number"),
        (lambda b: b.create_scalar_int64(1.0), TypeError, "^Value must be an integer$"),
        (lambda b: b.create_scalar_uint64(-1), ValueError, "non-negative for uint64"),
        (lambda b: b.create_scalar_uint32(2**32), ValueError, "uint32"),
        (lambda b: b.create_scalar_int64(2**63), ValueError, "range"),
        (lambda b: b.create_scalar_float("x"), TypeError, "^Value must be a number$"),
        (lambda b: b.create_variable("0", "v"), TypeError, "^Index must be an integer$"),
        (lambda b: b.create_variable(0, 1), TypeError, "^Name must be a string$"),
        (lambda b: b.create_variable(2**31, "v"), ValueError, "index"),
    ],
)
def test_const_checks(ge_stub: StubControl, call: Any, error: Any, match: str) -> None:
    with ge.es.GraphBuilder() as builder:
        with pytest.raises(error, match=match):
            call(builder)
        assert builder.create_scalar_float(1.0) is not None


def test_variables_read_as_zeros(session: ge.Session) -> None:
    builder = ge.es.GraphBuilder("vars")
    x = builder.create_input(0, shape=[2])
    v = builder.create_variable(0, "weights").set_shape([2]).set_data_type(DataType.DT_FLOAT)
    assert v.name == "weights"
    graph = builder.build_and_reset([x + v, v])
    (total, raw) = run_once(session, graph, np.array([1.5, -2], np.float32))
    np.testing.assert_array_equal(total, [1.5, -2])
    np.testing.assert_array_equal(raw, [0, 0])
    graph.close()


# -- attributes and control dependencies ----------------------------------------------------


def test_attributes_are_visible_on_the_graph(ge_stub: StubControl) -> None:
    from ge.es.graph_builder import attr_scope

    builder = ge.es.GraphBuilder("attrs")
    x = builder.create_input(0, shape=[2])
    builder.set_graph_attr_int64("gi", 7)
    builder.set_graph_attr_string("gs", "text")
    builder.set_graph_attr_bool("gb", False)
    builder.set_node_attr_int64(x, "ni", -1)
    builder.set_node_attr_string(x, "ns", "n")
    builder.set_node_attr_bool(x, "nb", True)
    builder.set_tensor_attr_int64(x, "ti", 3)
    builder.set_tensor_attr_string(x, "ts", "t")
    builder.set_tensor_attr_bool(x, "tb", True)
    with attr_scope({"scoped": 5, "flag": True}), attr_scope({"label": "inner"}):
        y = x + 1.0
    z = y * y
    graph = builder.build_and_reset([z])
    readable = str(graph)
    assert 'ni: -1, ns: "n", nb: true' in readable
    add = "Node[type=Add] (inputs = (x1=%input_0, x2=%Const_0), "
    assert add + 'attrs = {scoped: 5, flag: true, label: "inner"})' in readable
    assert "Node[type=Mul] (inputs = (x1=%Add_1, x2=%Add_1))\n" in readable
    text = graph.dump_to_stream(DumpFormat.kTxt)
    for key, value in (("gi", "i: 7"), ("gs", 's: "text"'), ("gb", "b: false"), ("ti", "i: 3")):
        assert f'key: "{key}"' in text and value in text
    assert graph.dump_to_stream(0).startswith("ir_version")
    graph.close()


def test_attribute_checks(ge_stub: StubControl) -> None:
    from ge.es.graph_builder import attr_scope

    builder = ge.es.GraphBuilder()
    x = builder.create_input(0)
    with pytest.raises(TypeError, match=r"^Attribute name must be a string$"):
        builder.set_graph_attr_int64(1, 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Value must be an integer$"):
        builder.set_graph_attr_int64("a", True)
    with pytest.raises(TypeError, match=r"^Value must be a string$"):
        builder.set_tensor_attr_string(x, "a", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^Value must be a boolean$"):
        builder.set_node_attr_bool(x, "a", 1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TensorHolder"):
        builder.set_node_attr_int64("x", "a", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="another GraphBuilder"):
        builder.set_tensor_attr_bool(ge.es.GraphBuilder().create_input(0), "a", True)
    with pytest.raises(GeError, match="EsSetInt64AttrForNode") as info:
        builder.set_node_attr_int64(x, "", 1)  # GNode::SetAttr refuses an empty name
    assert info.value.status == S.GRAPH_PARAM_INVALID
    with pytest.raises(TypeError, match="int, a str or a bool"), attr_scope({"f": 1.5}):
        builder.create_scalar_int64(1)
    with pytest.raises(TypeError, match="mapping"), attr_scope([("a", 1)]):  # type: ignore[arg-type]
        pass


def test_add_control_dependency(ge_stub: StubControl) -> None:
    from ge.es.graph_builder import control_dependency_scope

    builder = ge.es.GraphBuilder("ctrl")
    a, b = builder.create_inputs(2)
    c = a + b
    builder.add_control_dependency(c, [a, b])
    builder.add_control_dependency(c, [])
    with pytest.raises(TypeError, match=r"^dst_tensor must be a TensorHolder$"):
        builder.add_control_dependency("c", [a])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^src_tensors must be a list$"):
        builder.add_control_dependency(c, (a,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"^src_tensors must be a list of TensorHolder$"):
        builder.add_control_dependency(c, [a, 1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="another GraphBuilder"):
        builder.add_control_dependency(c, [ge.es.GraphBuilder().create_input(0)])
    with (
        pytest.raises(TypeError, match="list of TensorHolder"),
        control_dependency_scope(
            [1]  # type: ignore[list-item]
        ),
    ):
        pass
    graph = builder.build_and_reset([c])
    assert "control_inputs = (%input_0, %input_1)" in str(graph)
    graph.close()


# -- TensorHolder ------------------------------------------------------------------------


def test_tensor_holder_cannot_be_made_directly() -> None:
    with pytest.raises(
        RuntimeError, match=r"^TensorHolder objects should not be created directly$"
    ):
        ge.es.TensorHolder()


def test_holder_setters_chain(ge_stub: StubControl) -> None:
    builder = ge.es.GraphBuilder()
    x = builder.create_input(0)
    assert x.set_data_type(DataType.DT_INT32).set_format(Format.FORMAT_NHWC).set_shape([3, -1]) is x
    assert x.set_data_type(np.float16) is x  # a numpy dtype too
    with pytest.raises(TypeError):
        x.set_data_type("nope")
    with pytest.raises(TypeError, match="Format must be a Format enum"):
        x.set_format("ND")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Shape must be a list of integers"):
        x.set_shape([1.5])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="shape"):
        x.set_shape([-3])
    graph = builder.build_and_reset([x])
    assert ge_stub.graph_inputs(graph) == [
        GraphTensorDesc(int(DataType.DT_FLOAT16), int(Format.FORMAT_NHWC), (3, -1))
    ]
    graph.close()
    with pytest.raises(RuntimeError):
        copy.deepcopy(x)


def test_operators_both_ways_with_numbers_and_lists(session: ge.Session) -> None:
    builder = ge.es.GraphBuilder("ops")
    x = builder.create_input(0, shape=[2, 2])
    outputs: Sequence[Any] = [
        x + 1.5,
        2.0 + x,
        x - [1.0, 2.0],
        [[10.0, 20.0], [30.0, 40.0]] - x,
        x * 2,  # an INT64 scalar: FLOAT with INT64 is FLOAT
        3 * x,
        x / [[2.0], [4.0]],
        8.0 / x,
        x.add(x).sub(1.0).mul([2.0, 2.0]).div(2),
        x + np.float64(0.5),
        np.int32(1) + x,
    ]
    graph = builder.build_and_reset(list(outputs))
    xs = np.array([[1, 2], [4, 8]], np.float32)
    got = run_once(session, graph, xs)
    want = [
        xs + 1.5,
        2 + xs,
        xs - [1, 2],
        np.array([[10, 20], [30, 40]]) - xs,
        xs * 2,
        3 * xs,
        xs / [[2], [4]],
        8 / xs,
        (xs + xs - 1) * 2 / 2,
        xs + 0.5,
        xs + 1,
    ]
    for g, w in zip(got, want):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, w, rtol=1e-6)
    graph.close()


def test_list_operands_follow_cann(session: ge.Session) -> None:
    """An int list is an INT64 Const, a list with a float a FLOAT one."""
    builder = ge.es.GraphBuilder("lists")
    n = builder.create_input(0, data_type=DataType.DT_INT64, shape=[3])
    graph = builder.build_and_reset([n + [1, 2, 3], n * [0.5, 1, 2], n - []])  # noqa: RUF005
    with pytest.raises(GeError):  # [3] and [0] do not broadcast: GE refuses to compile
        run_once(session, graph, np.array([1, 2, 3]))
    graph.close()
    builder = ge.es.GraphBuilder("lists")
    n = builder.create_input(0, data_type=DataType.DT_INT64, shape=[3])
    graph = builder.build_and_reset([n + [1, 2, 3], n * [0.5, 1, 2]])  # noqa: RUF005
    ints, floats = run_once(session, graph, np.array([1, 2, 3]))
    assert ints.dtype == np.int64 and floats.dtype == np.float32
    np.testing.assert_array_equal(ints, [2, 4, 6])
    np.testing.assert_array_equal(floats, [0.5, 2, 6])
    graph.close()


@pytest.mark.parametrize(
    "operand, error, match",
    [
        ([[1, 2], [3]], ValueError, "Irregular"),
        ([[1, 2], 3], ValueError, "Irregular"),
        ([1, "a"], TypeError, "int|float"),
        ([[]], TypeError, "int|float"),
        ([2**63], ValueError, "range"),
    ],
)
def test_bad_list_operands(ge_stub: StubControl, operand: Any, error: Any, match: str) -> None:
    builder = ge.es.GraphBuilder()
    x = builder.create_input(0)
    with pytest.raises(error, match=match):
        x + operand
    with pytest.raises(error, match=match):
        x.div(operand)


def test_holders_of_two_builders(ge_stub: StubControl) -> None:
    first, second = ge.es.GraphBuilder("a"), ge.es.GraphBuilder("b")
    x, y = first.create_input(0), second.create_input(0)
    for op in (x.add, x.sub, x.mul, x.div, x.__add__, x.__rsub__, x.__rtruediv__):
        with pytest.raises(ValueError, match="tensors from different GraphBuilders"):
            op(y)
    with pytest.raises(TypeError):
        x.add("1")  # type: ignore[arg-type]
    # the operators raise CANN's error too (not NotImplemented)
    for op in (x.__add__, x.__rsub__, x.__mul__, x.__rtruediv__):
        with pytest.raises(TypeError, match=re.escape(_messages.OPERAND)):
            op("1")  # type: ignore[arg-type]


def test_attr_scope_of_an_unreadable_mapping_is_a_type_error() -> None:
    from collections.abc import Mapping

    from ge.es.graph_builder import attr_scope

    class Unreadable(Mapping[str, object]):
        def __getitem__(self, key: str) -> object:
            raise KeyError(key)

        def __len__(self) -> int:
            return 1

        def __iter__(self) -> Iterator[str]:
            raise LookupError("no keys")

    with pytest.raises(TypeError, match="no keys"), attr_scope(Unreadable()):
        pass


@pytest.mark.parametrize("dim", [2**63, 2**64 + 3])
def test_builder_dims_past_int64_are_value_errors(ge_stub: Any, dim: int) -> None:
    """C would keep the low 64 bits: ``2**64 + 3`` would silently be 3 and the graph run."""
    import ge

    with ge.GraphBuilder("g") as builder:
        with pytest.raises(ValueError, match="int64"):
            builder.input(0, ge.DataType.DT_FLOAT, (dim,))
        assert builder.input(0, ge.DataType.DT_FLOAT, (2,)) is not None  # still usable
