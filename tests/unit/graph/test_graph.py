"""``ge.graph.Graph`` on the stand-in: name, save/load, ownership, misuse."""

from __future__ import annotations

import copy
import gc
import pickle
from pathlib import Path

import pytest

from ge import _ffi
from ge._ffi import api, status
from ge.error import GeError, MissingSymbolError
from ge.graph import DataType, DumpFormat, Format, Graph, GraphBuilder
from ge.graph.graph import GraphInput
from ge.testing import GraphTensorDesc, StubControl


def _built_graph(name: str = "net") -> Graph:
    builder = GraphBuilder(name)
    x = builder.input(0, DataType.DT_FLOAT, [2, 3], Format.FORMAT_NCHW, name="x")
    y = builder.input(1, DataType.DT_FLOAT, [2, 3])
    return builder.build([x + y, x * y])


def test_name(ge_stub: StubControl) -> None:
    for name in ("g", "", "graph with spaces", "图-π"):
        with Graph(name) as graph:
            assert graph.name == name
            assert graph.inputs is None and graph.num_outputs is None
            assert ge_stub.graph_inputs(graph) == []
            assert ge_stub.graph_outputs(graph) == []
    assert ge_stub.live_counts()["graphs"] == 0


@pytest.mark.parametrize("name", [None, 1, b"g", ["g"]])
def test_name_must_be_a_str(ge_stub: StubControl, name: object) -> None:
    with pytest.raises(TypeError, match="name"):
        Graph(name)  # type: ignore[arg-type]


def test_name_with_nul(ge_stub: StubControl) -> None:
    with pytest.raises(ValueError, match="NUL"):
        Graph("a\0b")


def test_create_failure(ge_stub: StubControl) -> None:
    ge_stub.fail_next("GeApiWrapper_Graph_CreateGraph", status.FAILED)
    with pytest.raises(GeError, match="CreateGraph") as info:
        Graph("g")
    assert info.value.context == {"name": "g"}


def test_save_and_load_round_trip(ge_stub: StubControl, tmp_path: Path) -> None:
    path = tmp_path / "net.air"
    with _built_graph("net") as graph:
        inputs = ge_stub.graph_inputs(graph)
        outputs = ge_stub.graph_outputs(graph)
        graph.save(path)
    assert path.is_file()
    assert inputs == [
        GraphTensorDesc(int(DataType.DT_FLOAT), int(Format.FORMAT_NCHW), (2, 3)),
        GraphTensorDesc(int(DataType.DT_FLOAT), int(Format.FORMAT_ND), (2, 3)),
    ]
    with Graph.load(path) as loaded:
        assert ge_stub.graph_inputs(loaded) == inputs
        assert ge_stub.graph_outputs(loaded) == outputs
        assert loaded.name == "net"
    with Graph.load(str(path), name="other") as loaded:
        assert ge_stub.graph_inputs(loaded) == inputs
        assert ge_stub.graph_outputs(loaded) == outputs
        loaded.save(tmp_path / "again.air")
    with Graph.load(tmp_path / "again.air") as again:
        assert ge_stub.graph_outputs(again) == outputs


def test_save_and_load_an_empty_graph(ge_stub: StubControl, tmp_path: Path) -> None:
    with Graph("empty") as graph:
        graph.save(tmp_path / "empty.air")
    with Graph.load(tmp_path / "empty.air") as loaded:
        assert ge_stub.graph_inputs(loaded) == []
        assert ge_stub.graph_outputs(loaded) == []


def test_load_failures(ge_stub: StubControl, tmp_path: Path) -> None:
    with pytest.raises(GeError, match="LoadFromAir") as info:
        Graph.load(tmp_path / "missing.air")
    assert info.value.status == status.FAILED
    (tmp_path / "junk.air").write_text("this is not a graph\n")
    with pytest.raises(GeError, match="LoadFromAir"):
        Graph.load(tmp_path / "junk.air")
    assert ge_stub.live_counts()["graphs"] == 0  # the half-made graph was destroyed


def test_save_failure(ge_stub: StubControl, tmp_path: Path) -> None:
    with Graph("g") as graph:
        with pytest.raises(GeError, match="SaveToAir") as info:
            graph.save(tmp_path / "no-such-dir" / "g.air")
        assert "no-such-dir" in str(info.value.context["path"])


@pytest.mark.parametrize("path", [None, 1, ["a.air"], b"a.air"])
def test_paths_must_be_str_or_pathlike(ge_stub: StubControl, path: object) -> None:
    with Graph("g") as graph, pytest.raises(TypeError, match="path"):
        graph.save(path)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        Graph.load(path)  # type: ignore[arg-type]
    assert ge_stub.live_counts()["graphs"] == 0


def test_path_with_nul(ge_stub: StubControl) -> None:
    with Graph("g") as graph, pytest.raises(ValueError, match="NUL"):
        graph.save("a\0b")


def test_missing_save_and_load_symbols(ge_stub: StubControl, tmp_path: Path) -> None:
    with Graph("g") as graph:
        graph.save(tmp_path / "g.air")
        with _ffi.hidden_symbols("GeApiWrapper_Graph_SaveToAir", "GeApiWrapper_Graph_LoadFromAir"):
            with pytest.raises(MissingSymbolError, match="GeApiWrapper_Graph_SaveToAir") as info:
                graph.save(tmp_path / "h.air")
            assert isinstance(info.value, GeError)
            assert info.value.symbol == "GeApiWrapper_Graph_SaveToAir"
            with pytest.raises(MissingSymbolError, match="GeApiWrapper_Graph_LoadFromAir"):
                Graph.load(tmp_path / "g.air")
    assert not (tmp_path / "h.air").exists()
    assert ge_stub.live_counts()["graphs"] == 0


def test_builder_graphs_remember_their_inputs(ge_stub: StubControl) -> None:
    with _built_graph() as graph:
        assert graph.num_outputs == 2
        assert graph.inputs == (
            GraphInput(0, DataType.DT_FLOAT, (2, 3), Format.FORMAT_NCHW, "x"),
            GraphInput(1, DataType.DT_FLOAT, (2, 3), Format.FORMAT_ND, None),
        )
        assert graph.name == "net"


def test_closed_graph_refuses_use(ge_stub: StubControl, tmp_path: Path) -> None:
    graph = _built_graph()
    graph.close()
    graph.close()
    assert graph.closed
    assert repr(graph) == "Graph(<closed>)"
    for use in (
        lambda: graph.name,
        lambda: graph.inputs,
        lambda: graph.num_outputs,
        lambda: graph.save(tmp_path / "g.air"),
        lambda: graph.handle,
    ):
        with pytest.raises(ValueError, match="graph is closed"):
            use()


def test_copy_pickle_and_repr(ge_stub: StubControl) -> None:
    with Graph("g1") as graph:
        assert repr(graph) == "Graph(name='g1')"
        with pytest.raises(RuntimeError):
            copy.copy(graph)
        with pytest.raises(RuntimeError):
            copy.deepcopy(graph)
        with pytest.raises(TypeError):
            pickle.dumps(graph)


def test_finalizer_and_adopt(ge_stub: StubControl) -> None:
    graphs = [Graph(f"g{i}") for i in range(3)]
    assert ge_stub.live_counts()["graphs"] == 3
    del graphs
    gc.collect()
    assert ge_stub.live_counts()["graphs"] == 0
    raw = api.GeApiWrapper_Graph_CreateGraph(b"raw")
    with Graph._adopt(raw) as graph:
        assert graph.name == "raw"
    assert ge_stub.live_counts()["graphs"] == 0
    with pytest.raises(ValueError):
        Graph._adopt(0)
    with pytest.raises(TypeError):
        Graph._adopt(None)  # type: ignore[arg-type]


# -- CANN's Graph calls (UPSTREAM_API.md rows 48-52, 62-63) ---------------------------------


def test_default_name_is_graph(ge_stub: StubControl) -> None:
    with Graph() as graph:
        assert graph.name == "graph"
    with pytest.raises(TypeError, match=r"^Graph name must be a string$"):
        Graph(None)  # type: ignore[arg-type]


def test_save_to_air_and_load_from_air_in_place(ge_stub: StubControl, tmp_path: Path) -> None:
    path = tmp_path / "net.air"
    with _built_graph("net") as graph:
        outputs = ge_stub.graph_outputs(graph)
        text = graph.dump_to_stream()
        graph.save_to_air(str(path))
    with Graph() as target:
        assert target.load_from_air(str(path)) is None
        assert target.name == "net"
    with _built_graph("other") as target:
        assert target.inputs is not None
        handle = target.handle
        assert target.load_from_air(str(path)) is None
        assert target.handle == handle  # the same graph, its content replaced
        assert target.name == "net"
        assert ge_stub.graph_outputs(target) == outputs
        assert target.dump_to_stream() == text
        assert target.inputs is None  # nothing of a builder's remembered
        target.load_from_air(path)  # a path object too
    with Graph("g") as graph:
        with pytest.raises(GeError, match="LoadFromAir") as info:
            graph.load_from_air(str(tmp_path / "missing.air"))
        assert isinstance(info.value, RuntimeError) and info.value.status == status.FAILED
        assert graph.name == "g"  # a failed load changes nothing
        for bad in (None, 1, b"x.air"):
            with pytest.raises(TypeError, match="file_path"):
                graph.load_from_air(bad)  # type: ignore[arg-type]
            with pytest.raises(TypeError, match="path"):
                graph.save_to_air(bad)  # type: ignore[arg-type]
        with pytest.raises(GeError, match="SaveToAir"):
            graph.save_to_air(str(tmp_path / "no-dir" / "g.air"))


def test_dump_to_stream_and_str(ge_stub: StubControl) -> None:
    assert [(f.name, int(f)) for f in DumpFormat] == [("kOnnx", 0), ("kTxt", 1), ("kReadable", 2)]
    with _built_graph("net") as graph:
        readable = graph.dump_to_stream()
        assert str(graph) == readable == graph.dump_to_stream(DumpFormat.kReadable)
        assert readable == (
            'graph("net"):\n'
            "  %x : [#users=2] = Node[type=Data] (attrs = {index: 0})\n"
            "  %input_1 : [#users=2] = Node[type=Data] (attrs = {index: 1})\n"
            "  %Add_0 : [#users=1] = Node[type=Add] (inputs = (x1=%x, x2=%input_1))\n"
            "  %Mul_1 : [#users=1] = Node[type=Mul] (inputs = (x1=%x, x2=%input_1))\n"
            "\n"
            "  return (output_0=%Add_0, output_1=%Mul_1)\n"
        )
        txt = graph.dump_to_stream(DumpFormat.kTxt)
        assert 'name: "net"' in txt and 'input: "x:0"' in txt and "dtype: DT_FLOAT" in txt
        assert 'layout: "NCHW"' in txt  # input x was declared NCHW
        assert graph.dump_to_stream(1) == txt  # the enum's value
        assert 'op_type: "ge:Mul"' in graph.dump_to_stream(DumpFormat.kOnnx)
        with pytest.raises(TypeError, match=r"DumpFormat\.kOnnx"):
            graph.dump_to_stream("kReadable")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="format"):
            graph.dump_to_stream(3)
    assert str(graph) == "Graph(<closed>)"
    with pytest.raises(ValueError, match="graph is closed"):
        graph.dump_to_stream()
    assert ge_stub.live_counts()["strings"] == 0  # every text was freed


def test_dump_needs_its_symbol(ge_stub: StubControl) -> None:
    hidden = _ffi.hidden_symbols("GeApiWrapper_Graph_Dump_To_Stream")
    missing = pytest.raises(MissingSymbolError, match="Dump_To_Stream")
    with Graph("g") as graph, hidden, missing:
        graph.dump_to_stream()
