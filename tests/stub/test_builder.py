"""The stand-in's eager-style builder and graph API through bare ctypes (ABI.md 5, 7).

Each test states a behaviour of CANN's ``esb_funcs.cc`` / ``c_graph.cc`` that
``stubs/README.md`` cites; the package is not involved.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
from collections.abc import Iterator
from ctypes import c_float, c_int32, c_int64, c_void_p
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _helpers.stub_calls import child, run

from ge._ffi import api
from ge._ffi import status as S
from ge.testing import GraphTensorDesc, StubControl

F32, I32, I64, U32, F16, BOOL = 0, 3, 9, 8, 1, 12
ND, NCHW = 2, 0


def dims(*values: int) -> Any:
    return (c_int64 * max(len(values), 1))(*values)


def data_input(builder: int, index: int, dtype: int, *shape: int, name: bytes | None = None) -> int:
    holder = api.EsCreateGraphInputWithDetails(
        builder, index, name, None, dtype, ND, dims(*shape), len(shape)
    )
    assert holder
    return int(holder)


def take(pointer: int | None) -> bytes | None:
    if not pointer:
        return None
    text = ctypes.string_at(pointer)
    api.GeApiWrapper_FreeString(pointer)
    return text


def node_name(holder: int) -> bytes | None:
    return take(api.GeApiWrapper_GNode_GetName(api.EsGetProducer(holder)))


def dump(graph: int, fmt: int = 2) -> str:
    text = take(api.GeApiWrapper_Graph_Dump_To_Stream(graph, fmt))
    assert text is not None
    return text.decode()


@pytest.fixture
def session(ge_stub: StubControl) -> Iterator[int]:
    keys = (ctypes.c_char_p * 1)(b"ge.exec.deviceId")
    values = (ctypes.c_char_p * 1)(b"0")
    assert api.GeApiWrapper_GEInitialize(keys, values, 1) == 0
    handle = api.GeApiWrapper_Session_CreateSession()
    yield int(handle)
    api.GeApiWrapper_Session_DestroySession(handle)
    assert api.GeApiWrapper_GEFinalize() == 0


def tensor(array: np.ndarray[Any, Any]) -> int:
    codes = {np.dtype(np.float32): F32, np.dtype(np.int32): I32, np.dtype(np.int64): I64}
    a = np.ascontiguousarray(array)
    handle = api.EsCreateEsCTensor(a.ctypes.data or b"", dims(*a.shape), a.ndim, codes[a.dtype], ND)
    assert handle
    return int(handle)


def read(handle: int, dtype: Any, shape: tuple[int, ...]) -> np.ndarray[Any, Any]:
    n = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = ctypes.string_at(api._ZNK2ge6Tensor7GetDataEv(handle), n) if n else b""
    return np.frombuffer(raw, dtype).reshape(shape).copy()


def destroy(*tensors: int) -> None:
    for t in tensors:
        api.GeApiWrapper_Tensor_DestroyEsCTensor(t)


def child_with_builder(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a child, after a builder ``b`` and its input ``x`` are made."""
    prelude = 'b = api.EsCreateGraphBuilder(b"g")\nx = api.EsCreateGraphInput(b, 0)\n'
    return child(code, tmp_path, prelude)


# -- builders and inputs -------------------------------------------------------------------


def test_null_name_is_graph_and_inputs_default_to_a_float_scalar(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(None)
    x = api.EsCreateGraphInput(builder, 0)
    assert node_name(x) == b"input_0"
    assert take(api.GeApiWrapper_GNode_GetType(api.EsGetProducer(x))) == b"Data"
    assert api.EsSetGraphOutput(x, 0) == 0
    graph = api.EsBuildGraphAndReset(builder)
    assert take(api.GeApiWrapper_Graph_GetName(graph)) == b"graph"
    assert ge_stub.graph_inputs(graph) == [GraphTensorDesc(F32, ND, ())]
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


def test_input_types_names_and_int32_indexes(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    for index, kind in enumerate((b"Data", b"RefData", b"AippData", b"AnyData")):
        holder = api.EsCreateGraphInputWithDetails(builder, index, None, kind, F32, ND, None, 5)
        assert holder, kind
        assert take(api.GeApiWrapper_GNode_GetType(api.EsGetProducer(holder))) == kind
    assert not api.EsCreateGraphInputWithDetails(builder, 4, None, b"Foo", F32, ND, None, 0)
    assert b"Data, RefData" in api.GeApiWrapper_GEGetErrorMsg()
    assert not api.EsCreateGraphInput(builder, -1)
    assert not api.EsCreateGraphInput(builder, 2)  # repeated
    assert not api.EsCreateGraphInput(builder, 1 << 32)  # AddGraphInput's int32_t: index 0
    named = api.EsCreateGraphInputWithDetails(builder, 4, b"mine", None, 999, 77, dims(-5), 1)
    assert named and node_name(named) == b"mine"  # nothing else checked until compile
    api.EsDestroyGraphBuilder(builder)


def test_builder_without_null_checks_crashes_as_cann(ge_stub_library: str, tmp_path: Path) -> None:
    for code in (
        "api.EsCreateGraphInput(None, 0)",
        "api.EsCreateGraphInputWithDetails(None, 0, None, None, 0, 2, None, 0)",
        "api.EsBuildGraphAndReset(None)",
        "api.EsCreateGraphInputWithDetails(b, 1, None, None, 0, 2, (c_int64 * 1)(2), -1)",
        "api.EsCreateConstInt64(b, (c_int64 * 1)(1), (c_int64 * 1)(-1), 1)",
        "api.EsCreateVariable(b, 0, None)",
        "api.EsAddControlEdge(x, (c_void_p * 1)(None), 1)",
    ):
        done = child_with_builder(code + "\nprint('survived')", tmp_path)
        assert done.returncode == -signal.SIGABRT, (code, done)
        assert "survived" not in done.stdout
        assert done.stderr.startswith("ge_stub: Es"), done.stderr


def test_checked_nulls_are_tidy(ge_stub: StubControl) -> None:
    assert api.EsSetGraphOutput(None, 0) == S.PARAM_INVALID
    assert api.EsSetDataType(None, 0) == S.PARAM_INVALID
    assert api.EsSetShape(None, None, 0) == S.PARAM_INVALID
    assert not api.EsGetOwnerBuilder(None) and not api.EsGetProducer(None)
    assert api.EsAddControlEdge(None, None, 0) == S.PARAM_INVALID
    assert api.EsSetInt64AttrForGraph(None, b"a", 1) == S.PARAM_INVALID
    assert api.EsSetBoolAttrForNode(None, b"a", True) == S.PARAM_INVALID
    assert not api.EsCreateConstFloat(None, (c_float * 1)(1), None, 0)
    assert not api.EsCreateVariable(None, 0, b"v")
    assert not api.GeApiWrapper_GNode_GetName(None)
    assert not api.GeApiWrapper_Graph_Dump_To_Stream(None, 2)
    assert api.GeApiWrapper_Graph_SaveToAir(None, b"x.air") == S.PARAM_INVALID
    builder = api.EsCreateGraphBuilder(b"g")
    x = api.EsCreateGraphInput(builder, 0)
    assert not api.EsCreateConstInt64(builder, None, None, 0)
    assert api.EsSetShape(x, None, 1) == S.PARAM_INVALID
    assert api.EsAddControlEdge(x, None, 1) == S.PARAM_INVALID
    assert not api.EsAdd(x, None) and not api.EsAdd(None, x)
    api.EsDestroyGraphBuilder(builder)


# -- outputs and the build -----------------------------------------------------------------


def test_outputs_must_be_new_non_negative_int32_keys(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    x = data_input(builder, 0, F32, 2)
    assert api.EsSetGraphOutput(x, -1) == S.PARAM_INVALID
    assert api.EsSetGraphOutput(x, 0) == 0
    assert api.EsSetGraphOutput(x, 0) == S.PARAM_INVALID  # repeated
    assert api.EsSetGraphOutput(x, 1 << 32) == S.PARAM_INVALID  # the int32 key 0 again
    assert api.EsSetGraphOutput(x, 2) == 0
    assert not api.EsBuildGraphAndReset(builder)  # outputs 0, 2: not 0..n-1
    assert b"output indexes" in api.GeApiWrapper_GEGetErrorMsg()
    assert api.EsSetGraphOutput(x, 1) == 0  # the builder was left as it was
    graph = api.EsBuildGraphAndReset(builder)
    assert graph and ge_stub.graph_outputs(graph) == [GraphTensorDesc(F32, None, (2,))] * 3
    assert not api.EsBuildGraphAndReset(builder)
    assert b"Cannot build graph again" in api.GeApiWrapper_GEGetErrorMsg()
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


def test_a_graph_with_no_output_builds(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    data_input(builder, 0, F32, 2)
    graph = api.EsBuildGraphAndReset(builder)
    assert graph and ge_stub.graph_outputs(graph) == []
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


def test_holders_stay_owned_by_the_builder_after_the_build(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(b"kept")
    x = data_input(builder, 0, F32, 2, name=b"x")
    y = api.EsAdd(x, x)
    assert api.EsSetGraphOutput(y, 0) == 0
    graph = api.EsBuildGraphAndReset(builder)
    # the handles are live (strict mode would abort otherwise) and reach the built graph
    assert api.EsGetOwnerBuilder(y) == builder
    assert node_name(y) == b"Add_0" and node_name(x) == b"x"
    assert api.EsSetShape(x, dims(3), 1) == 0  # changes the built graph's input
    assert ge_stub.graph_inputs(graph)[0].shape == (3,)
    assert ge_stub.graph_outputs(graph)[0].shape == (3,)  # inferred again
    assert api.EsSetInt64AttrForNode(y, b"k", 7) == 0
    assert "k: 7" in dump(graph)
    assert api.EsSetGraphOutput(y, 1) == 0  # recorded, used by nothing
    assert api.EsSetGraphOutput(y, 0) == S.PARAM_INVALID
    # what needs the builder's graph is refused
    assert not api.EsCreateGraphInput(builder, 1)
    assert not api.EsCreateScalarFloat(builder, 1.0)
    assert not api.EsCreateVariable(builder, 0, b"v")
    assert api.EsSetBoolAttrForGraph(builder, b"g", True) == S.PARAM_INVALID
    assert api.EsAddControlEdge(y, (c_void_p * 1)(x), 0) == 0  # no edge: nothing done
    # once the graph is gone, so are the nodes
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    assert not api.GeApiWrapper_GNode_GetName(api.EsGetProducer(y))
    assert b"not valid" in api.GeApiWrapper_GEGetErrorMsg()
    assert api.EsSetDataType(y, I32) == 0  # CANN ignores the failed update
    assert api.EsSetInt64AttrForNode(y, b"k", 1) == S.FAILED
    assert api.EsSetStringAttrForTensor(y, b"k", b"v") == S.PARAM_INVALID
    assert api.EsGetProducer(y) == api.EsGetProducer(y)
    api.EsDestroyGraphBuilder(builder)
    with ge_stub.tidy_misuse():  # now the holders are dead
        assert not api.EsGetOwnerBuilder(y)


def test_holders_die_with_their_builder(ge_stub_library: str, tmp_path: Path) -> None:
    done = child_with_builder(
        """
        assert api.EsSetGraphOutput(x, 0) == 0
        g = api.EsBuildGraphAndReset(b)
        api.EsDestroyGraphBuilder(b)
        api.EsSetGraphOutput(x, 1)
        print("survived")
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGABRT, done
    assert "EsSetGraphOutput: dead or foreign EsCTensorHolder handle" in done.stderr


def test_ops_after_the_build_crash_as_cann(ge_stub_library: str, tmp_path: Path) -> None:
    for code in ("api.EsAdd(x, x)", "api.EsAddControlEdge(x, (c_void_p * 1)(x), 1)"):
        done = child_with_builder(
            f"g = api.EsBuildGraphAndReset(b)\n{code}\nprint('survived')", tmp_path
        )
        assert done.returncode == -signal.SIGABRT, done
        assert "handed away by EsBuildGraphAndReset" in done.stderr


def test_loading_over_a_built_graph_cuts_its_holders_off(
    ge_stub: StubControl, tmp_path: Path
) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    x = data_input(builder, 0, F32, 2)
    graph = api.EsBuildGraphAndReset(builder)
    path = str(tmp_path / "g.air").encode()
    assert api.GeApiWrapper_Graph_SaveToAir(graph, path) == 0
    assert api.GeApiWrapper_Graph_LoadFromAir(graph, path) == 0
    assert not api.GeApiWrapper_GNode_GetName(api.EsGetProducer(x))
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


# -- names, consts, variables -------------------------------------------------------------


def test_generated_names_count_consts_and_ops(ge_stub: StubControl) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    x = data_input(builder, 0, F32, 2)
    c = api.EsCreateScalarFloat(builder, 2.0)
    y = api.EsMul(x, c)
    v = api.EsCreateVectorInt64(builder, dims(1, 2), 2)
    z = api.EsSub(y, y)
    assert [node_name(h) for h in (c, y, v, z)] == [b"Const_0", b"Mul_1", b"Const_2", b"Sub_3"]
    api.EsDestroyGraphBuilder(builder)


def test_consts_vectors_scalars_and_variables_run(ge_stub: StubControl, session: int) -> None:
    builder = api.EsCreateGraphBuilder(b"values")
    x = data_input(builder, 0, F32, 2, 3)
    matrix = api.EsCreateConstFloat(builder, (c_float * 6)(1, 2, 3, 4, 5, 6), dims(2, 3), 2)
    row = api.EsCreateVectorFloat(builder, (c_float * 3)(10, 20, 30), 3)
    two = api.EsCreateScalarInt64(builder, 2)
    ints = api.EsCreateConstInt32(builder, (c_int32 * 2)(7, -7), dims(2, 1), 2)
    var = api.EsCreateVariable(builder, 3, b"weights")
    assert api.EsSetShape(var, dims(3), 1) == 0
    outputs = [
        api.EsAdd(x, matrix),  # same shapes
        api.EsMul(row, two),  # FLOAT * INT64 -> FLOAT
        api.EsDiv(ints, api.EsCreateScalarInt32(builder, 2)),  # truncation toward zero
        api.EsAdd(x, var),  # a variable reads as zeros
        api.EsSub(row, x),  # [3] - [2, 3]
        api.EsAdd(ints, api.EsCreateVectorInt64(builder, dims(1, 2, 3), 3)),  # [2,1]+[3]
    ]
    for i, holder in enumerate(outputs):
        assert api.EsSetGraphOutput(holder, i) == 0
    graph = api.EsBuildGraphAndReset(builder)
    api.EsDestroyGraphBuilder(builder)
    assert api.GeApiWrapper_Session_AddGraph(session, 1, graph) == 0
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    xs = np.arange(6, dtype=np.float32).reshape(2, 3)
    t = tensor(xs)
    st, outs = run(session, 1, [t])
    assert st == 0
    m = np.arange(1, 7, dtype=np.float32).reshape(2, 3)
    r = np.array([10, 20, 30], np.float32)
    i = np.array([[7], [-7]], np.int32)
    expected = [
        (xs + m, np.float32),
        (r * 2, np.float32),
        (np.array([[3], [-3]], np.int32), np.int32),
        (xs, np.float32),
        (r - xs, np.float32),
        (i.astype(np.int64) + np.array([1, 2, 3]), np.int64),
    ]
    for out, (want, dtype) in zip(outs, expected):
        got = read(out, dtype, want.shape)
        np.testing.assert_array_equal(got, want)
    destroy(t, *outs)


def test_const_of_a_zero_dim_and_of_an_overflowing_shape(
    ge_stub: StubControl, session: int
) -> None:
    builder = api.EsCreateGraphBuilder(b"g")
    empty = api.EsCreateConstInt64(builder, dims(1), dims(0, 5), 2)
    assert empty
    assert api.EsSetGraphOutput(empty, 0) == 0
    graph = api.EsBuildGraphAndReset(builder)
    assert api.GeApiWrapper_Session_AddGraph(session, 1, graph) == 0
    st, outs = run(session, 1, [])
    assert st == 0 and len(outs) == 1
    destroy(*outs)
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)
    builder = api.EsCreateGraphBuilder(b"huge")
    huge = api.EsCreateConstInt64(builder, dims(1), dims(1 << 40, 1 << 40), 2)
    assert huge  # a shape size that overflows copies 0 bytes, as CANN
    assert api.EsSetGraphOutput(huge, 0) == 0
    graph = api.EsBuildGraphAndReset(builder)
    assert api.GeApiWrapper_Session_AddGraph(session, 2, graph) == 0
    assert run(session, 2, [])[0] == S.FAILED
    assert b"Const" in api.GeApiWrapper_GEGetErrorMsg()
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


# -- what GE checks when it compiles ---------------------------------------------------------


def _compile_failure(session: int, build: Any) -> bytes:
    """Build with ``build(builder) -> outputs``, add, run once: FAILED and GE's message."""
    builder = api.EsCreateGraphBuilder(b"bad")
    outputs = build(builder)
    assert all(outputs), "the builder accepts any holders of one builder"
    for i, holder in enumerate(outputs):
        assert api.EsSetGraphOutput(holder, i) == 0
    graph = api.EsBuildGraphAndReset(builder)
    api.EsDestroyGraphBuilder(builder)
    assert api.GeApiWrapper_Session_AddGraph(session, 9, graph) == 0  # AddGraph checks nothing
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    inputs = [tensor(np.zeros((2,), np.float32))]
    st, outs = run(session, 9, inputs)
    message = api.GeApiWrapper_GEGetErrorMsg()
    destroy(*inputs, *outs)
    assert api.GeApiWrapper_Session_RemoveGraph(session, 9) == 0
    assert st == S.FAILED, st
    return bytes(message)


def test_compile_checks_shapes_and_types(ge_stub: StubControl, session: int) -> None:
    def mismatch(b: int) -> list[int]:
        x = data_input(b, 0, F32, 2)
        return [api.EsAdd(x, api.EsCreateVectorFloat(b, (c_float * 3)(1, 2, 3), 3))]

    assert b"do not broadcast" in _compile_failure(session, mismatch)

    def uint32(b: int) -> list[int]:
        x = data_input(b, 0, F32, 2)
        return [x, api.EsAdd(api.EsCreateScalarUInt32(b, 1), api.EsCreateScalarUInt32(b, 2))]

    assert b"not supported" in _compile_failure(session, uint32)

    def bool_div(b: int) -> list[int]:
        x = data_input(b, 0, F32, 2)
        flag = data_input(b, 1, BOOL, 2)
        return [x, api.EsDiv(flag, flag)]

    assert b"Div" in _compile_failure(session, bool_div)

    def unknown_variable(b: int) -> list[int]:
        x = data_input(b, 0, F32, 2)
        v = api.EsCreateVariable(b, 0, b"v")
        assert api.EsSetShape(v, dims(-1), 1) == 0
        return [api.EsAdd(x, v)]

    assert b"Variable v" in _compile_failure(session, unknown_variable)

    def cycle(b: int) -> list[int]:
        x = data_input(b, 0, F32, 2)
        y = api.EsAdd(x, x)
        assert api.EsAddControlEdge(x, (c_void_p * 1)(y), 1) == 0
        return [y]

    assert b"cycle" in _compile_failure(session, cycle)


def test_promotion_follows_ge(ge_stub: StubControl, session: int) -> None:
    builder = api.EsCreateGraphBuilder(b"promote")
    f = data_input(builder, 0, F32, 2)
    i64 = data_input(builder, 1, I64, 2)
    i32 = data_input(builder, 2, I32, 2)
    outs = [api.EsAdd(f, i64), api.EsAdd(i32, i64), api.EsSub(i64, f), api.EsMul(i32, i32)]
    for k, holder in enumerate(outs):
        assert api.EsSetGraphOutput(holder, k) == 0
    graph = api.EsBuildGraphAndReset(builder)
    api.EsDestroyGraphBuilder(builder)
    assert [d.data_type for d in ge_stub.graph_outputs(graph)] == [F32, I64, F32, I32]
    assert api.GeApiWrapper_Session_AddGraph(session, 1, graph) == 0
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    a, b, c = np.array([1.5, -2], np.float32), np.array([3, 4]), np.array([5, 6], np.int32)
    inputs = [tensor(a), tensor(b), tensor(c)]
    st, results = run(session, 1, inputs)
    assert st == 0
    assert [api.GeApiWrapper_Tensor_GetDataType(r) for r in results] == [F32, I64, F32, I32]
    np.testing.assert_array_equal(read(results[0], np.float32, (2,)), [4.5, 2])
    np.testing.assert_array_equal(read(results[1], np.int64, (2,)), [8, 10])
    np.testing.assert_array_equal(read(results[2], np.float32, (2,)), [1.5, 6])
    np.testing.assert_array_equal(read(results[3], np.int32, (2,)), [25, 36])
    destroy(*inputs, *results)


# -- control edges, attributes, the graph as text ---------------------------------------------


def _attributed_graph() -> tuple[int, int]:
    builder = api.EsCreateGraphBuilder(b"attrs")
    x = data_input(builder, 0, F32, 2, name=b"x")
    c = api.EsCreateVectorFloat(builder, (c_float * 2)(1.5, 2), 2)
    y = api.EsAdd(x, c)
    assert api.EsAddControlEdge(y, (c_void_p * 2)(c, c), 2) == 0  # repeated: one edge
    assert api.EsSetInt64AttrForGraph(builder, b"gi", -3) == 0
    assert api.EsSetStringAttrForGraph(builder, b"gs", b"hello") == 0
    assert api.EsSetBoolAttrForGraph(builder, b"gb", True) == 0
    assert api.EsSetBoolAttrForNode(y, b"nb", False) == 0
    assert api.EsSetStringAttrForNode(y, b"ns", b'q"uote') == 0
    assert api.EsSetInt64AttrForTensor(y, b"ti", 42) == 0
    assert api.EsSetInt64AttrForNode(y, b"", 1) == S.GRAPH_PARAM_INVALID
    assert api.EsSetGraphOutput(y, 0) == 0
    graph = api.EsBuildGraphAndReset(builder)
    return int(graph), int(builder)


def test_readable_dump(ge_stub: StubControl) -> None:
    graph, builder = _attributed_graph()
    assert dump(graph) == (
        'graph("attrs"):\n'
        "  %x : [#users=1] = Node[type=Data] (attrs = {index: 0})\n"
        "  %Const_0 : [#users=1] = Node[type=Const] (attrs = {value: [1.500000, 2.000000]})\n"
        "  %Add_1 : [#users=1] = Node[type=Add] (inputs = (x1=%x, x2=%Const_0), "
        'control_inputs = (%Const_0), attrs = {nb: false, ns: "q\\"uote"})\n'
        "\n"
        "  return (%Add_1)\n"
    )
    assert dump(graph, 7) == ""  # Graph::Dump writes nothing for an unknown format
    with api_graph(b"empty") as empty:
        assert dump(empty) == 'graph("empty"):\n'
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


class api_graph:  # a tiny context manager for a named empty graph
    def __init__(self, name: bytes) -> None:
        self.handle = int(api.GeApiWrapper_Graph_CreateGraph(name))

    def __enter__(self) -> int:
        return self.handle

    def __exit__(self, *exc: object) -> None:
        api.GeApiWrapper_Graph_DestroyGraph(self.handle)


def test_attributes_show_in_the_text_dump_and_survive_air(
    ge_stub: StubControl, tmp_path: Path
) -> None:
    graph, builder = _attributed_graph()
    text = dump(graph, 1)
    for piece in (
        'key: "gi"\n    value { i: -3 }',
        'key: "gs"\n    value { s: "hello" }',
        'key: "gb"\n    value { b: true }',
        'key: "nb"',
        'key: "ti"\n        value { i: 42 }',
        'input: "Const_0:-1"',
    ):
        assert piece in text, piece
    assert "graph {" in dump(graph, 0) and 'op_type: "ge:Add"' in dump(graph, 0)
    path = str(tmp_path / "a.air").encode()
    assert api.GeApiWrapper_Graph_SaveToAir(graph, path) == 0
    with api_graph(b"other") as loaded:
        assert api.GeApiWrapper_Graph_LoadFromAir(loaded, path) == 0
        assert dump(loaded, 1) == text and dump(loaded) == dump(graph)
    api.GeApiWrapper_Graph_DestroyGraph(graph)
    api.EsDestroyGraphBuilder(builder)


def test_control_edges_of_two_builders_are_refused(ge_stub: StubControl) -> None:
    first, second = api.EsCreateGraphBuilder(b"a"), api.EsCreateGraphBuilder(b"b")
    x, y = data_input(first, 0, F32, 2), data_input(second, 0, F32, 2)
    assert api.EsAddControlEdge(x, (c_void_p * 1)(y), 1) == S.PARAM_INVALID
    assert not api.EsAdd(x, y)
    api.EsDestroyGraphBuilder(first)
    api.EsDestroyGraphBuilder(second)
