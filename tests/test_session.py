"""ge.Session: argument checks, lifecycle, errors, graphs and runs."""

from __future__ import annotations

import copy
import threading
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ge
from ge import _ffi
from ge._ffi import status as S
from ge.error import GeError, MissingSymbolError

NOT_INTS = [None, 1.0, "1", b"1", [1], True, False, np.float32(1)]


@pytest.fixture
def session(ge_ready: Any) -> Any:
    with ge.Session() as s:
        yield s


def x_y(shape: tuple[int, ...] = (2, 3), dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return (
        rng.standard_normal(shape).astype(dtype),
        rng.standard_normal(shape).astype(dtype),
    )


# -- argument checks -------------------------------------------------------------


@pytest.mark.parametrize("bad", [1, "a", [("a", "b")], {"a": 1}, {1: "a"}])
def test_session_options_must_be_a_str_dict(ge_stub: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^option must be a dictionary$"):
        ge.Session(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", NOT_INTS)
def test_graph_id_must_be_an_integer(session: Any, make_graph: Any, bad: object) -> None:
    with make_graph() as graph:
        for call in (
            lambda: session.add_graph(bad, graph),
            lambda: session.remove_graph(bad),
            lambda: session.run_graph(bad, []),
            lambda: session.run_graph_with_stream_async(bad, 0, []),
            lambda: session.compile_graph(bad),
        ):
            with pytest.raises(TypeError, match=r"^Graph_id must be an integer$"):
                call()


@pytest.mark.parametrize("bad", [-1, 2**32, 2**64])
def test_graph_id_out_of_range(session: Any, bad: int) -> None:
    with pytest.raises(ValueError, match="Graph_id"):
        session.remove_graph(bad)


def test_numpy_integer_graph_id_is_accepted(session: Any, make_graph: Any) -> None:
    with make_graph() as graph:
        session.add_graph(np.uint32(5), graph)
    session.remove_graph(np.int64(5))


@pytest.mark.parametrize("bad", [None, "g", 1, object()])
def test_add_graph_needs_a_graph(session: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^Add_graph must be a Graph$"):
        session.add_graph(1, bad)


@pytest.mark.parametrize("bad", [1, "x", {"a": 1}, [("a", "b")]])
def test_add_graph_options_must_be_a_dict(session: Any, make_graph: Any, bad: object) -> None:
    with make_graph() as graph, pytest.raises(TypeError, match=r"^options must be a dictionary$"):
        session.add_graph(1, graph, bad)


def test_inputs_must_be_a_list_of_tensors(session: Any, stream: Any) -> None:
    for run in (
        lambda inputs: session.run_graph(1, inputs),
        lambda inputs: session.run_graph_with_stream_async(1, stream, inputs),
    ):
        with pytest.raises(TypeError, match=r"^inputs must be a list of Tensor$"):
            run(None)
        with pytest.raises(TypeError, match=r"^inputs must be a list of Tensor$"):
            run(np.zeros(3))
        with pytest.raises(TypeError, match=r"^All elements in inputs must be the type of Tensor$"):
            run([np.zeros(3)])


@pytest.mark.parametrize("bad", [None, 1.5, "0", True, b"\0"])
def test_stream_must_be_an_integer(session: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^Stream must be an integer$"):
        session.run_graph_with_stream_async(1, bad, [])
    with pytest.raises(TypeError, match=r"^stream must be an integer$"):
        session.register_external_allocator(bad, ge.allocator.AclAllocator())
    with pytest.raises(TypeError, match=r"^stream must be an integer$"):
        session.unregister_external_allocator(bad)


def test_allocator_must_be_an_allocator(session: Any, stream: Any) -> None:
    with pytest.raises(TypeError, match=r"^allocator must be an Allocator instance$"):
        session.register_external_allocator(stream, object())


def test_copy_and_deepcopy_are_refused(session: Any) -> None:
    with pytest.raises(RuntimeError, match=r"^Session does not support copy$"):
        copy.copy(session)
    with pytest.raises(RuntimeError, match=r"^Session does not support deepcopy$"):
        copy.deepcopy(session)


# -- lifecycle -----------------------------------------------------------------------


def test_session_ids_increase_and_are_tracked(ge_ready: Any) -> None:
    a, b = ge.Session(), ge.Session()
    assert b.session_id > a.session_id > 0
    assert ge.has_session(a.session_id) and ge.has_session(b.session_id)
    a.close()
    assert not ge.has_session(a.session_id) and ge.has_session(b.session_id)
    b.close()
    assert ge_ready.live_counts()["sessions"] == 0


def test_close_twice_is_harmless_and_calls_after_close_fail(ge_ready: Any, make_graph: Any) -> None:
    session = ge.Session()
    session.close()
    session.close()
    assert session.closed
    with make_graph() as graph, pytest.raises(GeError) as info:
        session.add_graph(3, graph)
    assert info.value.status == S.GE_SESSION_NOT_EXIST
    assert info.value.api_name == "AddGraph"
    assert info.value.context == {"graph_id": 3}


def test_finalize_closes_every_session(ge_ready: Any, make_graph: Any, stream: Any) -> None:
    sessions = [ge.Session() for _ in range(3)]
    with make_graph() as graph:
        sessions[0].add_graph(1, graph)
    ge.finalize()
    assert not ge.is_initialized()
    assert ge_ready.live_counts()["sessions"] == 0
    assert ge_ready.live_counts()["session_graphs"] == 0
    for s in sessions:
        assert s.closed and not ge.has_session(s.session_id)
        with pytest.raises(GeError) as info:
            s.run_graph(1, [])
        assert info.value.status == S.GE_SESSION_MANAGER_NOT_INIT
        assert info.value.api_name == "RunGraph"
    ge.initialize()  # the fixture finalizes again


def test_session_before_initialize(acl_ready: Any, make_graph: Any) -> None:
    session = ge.Session()
    with make_graph() as graph, pytest.raises(GeError) as info:
        session.add_graph(1, graph)
    assert info.value.status == S.GE_CLI_GE_NOT_INITIALIZED
    assert "[ge_stub]" in info.value.error_message
    session.close()


def test_dropped_session_is_closed_by_its_finalizer(ge_ready: Any) -> None:
    import gc

    session = ge.Session()
    sid = session.session_id
    del session
    gc.collect()
    assert not ge.has_session(sid)
    assert ge_ready.live_counts()["sessions"] == 0


def test_create_session_failure_raises(ge_ready: Any) -> None:
    ge_ready.fail_next("GeApiWrapper_Session_CreateSession", S.FAILED)
    with pytest.raises(GeError) as info:
        ge.Session()
    assert info.value.api_name == "CreateSession"
    assert "injected" in info.value.error_message


def test_sessions_from_many_threads_get_unique_increasing_ids(ge_ready: Any) -> None:
    ids: list[list[int]] = [[] for _ in range(8)]

    def work(slot: list[int]) -> None:
        for _ in range(20):
            with ge.Session() as s:
                slot.append(s.session_id)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    flat = [i for slot in ids for i in slot]
    assert len(set(flat)) == len(flat) == 160
    assert all(slot == sorted(slot) for slot in ids)


def test_ge_session_id(session: Any) -> None:
    assert session.ge_session_id > 0


# -- graphs and runs -----------------------------------------------------------------


def test_graph_errors_carry_status_and_context(session: Any, make_graph: Any) -> None:
    with make_graph() as graph:
        session.add_graph(7, graph)
        with pytest.raises(GeError) as info:
            session.add_graph(7, graph)
    assert info.value.status == S.GE_GRAPH_GRAPH_ALREADY_EXIST
    assert str(info.value).startswith(
        "AddGraph failed; graph_id=7, status=GE_GRAPH_GRAPH_ALREADY_EXIST (1343242243); "
    )
    session.remove_graph(7)
    with pytest.raises(GeError) as info:
        session.remove_graph(7)
    assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
    assert info.value.api_name == "RemoveGraph"


def test_session_keeps_its_own_graph_reference(session: Any, make_graph: Any) -> None:
    graph = make_graph()
    session.add_graph(1, graph)
    graph.close()
    x, y = x_y()
    (out,) = session.run_graph(1, [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)])
    np.testing.assert_allclose(out.numpy(), (x + y) * x, rtol=1e-6)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dtype=st.sampled_from([np.float32, np.float64, np.int32, np.int64, np.float16]),
    shape=st.lists(st.integers(0, 4), min_size=0, max_size=4).map(tuple),
)
def test_run_graph_computes_like_numpy(
    session: Any, make_graph: Any, dtype: Any, shape: Any
) -> None:
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    y = (rng.standard_normal(shape) * 10).astype(dtype)
    with make_graph(ge.graph.dtypes.from_numpy_dtype(dtype), shape) as graph:
        session.add_graph(1, graph)
        try:
            inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
            (out,) = session.run_graph(1, inputs)
            with np.errstate(over="ignore"):
                expected = (x + y) * x
            got = out.numpy()
            assert got.dtype == expected.dtype and got.shape == expected.shape
            np.testing.assert_array_equal(got, expected)
            out.close()
        finally:
            session.remove_graph(1)


def test_run_graph_wrong_inputs(session: Any, make_graph: Any) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    x, _ = x_y()
    with pytest.raises(GeError) as info:
        session.run_graph(1, [ge.Tensor.from_numpy(x)])
    assert info.value.status == S.ACL_ERROR_GE_PARAM_INVALID
    with pytest.raises(GeError) as info:
        session.run_graph(2, [])
    assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
    closed = ge.Tensor.from_numpy(x)
    closed.close()
    with pytest.raises(ValueError):
        session.run_graph(1, [closed, closed])


def test_compile_load_and_rebuild(session: Any, make_graph: Any, stream: Any) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    assert session.is_graph_need_rebuild(1)
    with pytest.raises(GeError) as info:
        session.load_graph(1, stream)
    assert info.value.status == S.GE_GRAPH_NOT_BUILT
    assert info.value.context == {"graph_id": 1, "stream": f"0x{stream.handle:x}"}
    session.compile_graph(1)
    assert not session.is_graph_need_rebuild(1)
    session.load_graph(1, stream, {"ge.exec.frozenInputIndexes": ""})


def test_optional_symbols_missing_raise_ge_error(session: Any) -> None:
    with (
        _ffi.hidden_symbols("GeApiWrapper_Session_CompileGraph"),
        pytest.raises(MissingSymbolError, match="GeApiWrapper_Session_CompileGraph") as info,
    ):
        session.compile_graph(1)
    assert isinstance(info.value, GeError)


def test_async_run_registers_and_owns_the_default_allocator(
    ge_ready: Any, make_graph: Any, stream: Any
) -> None:
    x, y = x_y()
    session = ge.Session()
    with make_graph() as graph:
        session.add_graph(1, graph)
    inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
    (out,) = session.run_graph_with_stream_async(1, stream, inputs)
    assert _ffi.api.GeApiWrapper_HasDefaultAllocator(stream.handle)
    stream.synchronize()
    np.testing.assert_allclose(out.numpy(), (x + y) * x, rtol=1e-6)
    out.close()
    session.close()
    assert not _ffi.api.GeApiWrapper_HasDefaultAllocator(stream.handle)
    assert ge_ready.live_counts()["allocators"] == 0


def test_async_outputs_are_stale_until_synchronize(
    session: Any, make_graph: Any, stream: Any
) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    x, y = x_y()
    (out,) = session.run_graph_with_stream_async(
        1, stream.handle, [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
    )
    assert not np.allclose(out.numpy(), (x + y) * x)
    stream.synchronize()
    np.testing.assert_allclose(out.numpy(), (x + y) * x, rtol=1e-6)
    out.close()
