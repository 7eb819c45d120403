"""ge.Session: argument checks, lifecycle, errors, graphs and runs."""

from __future__ import annotations

import gc
import inspect
import sys
import weakref
from typing import Any

import numpy as np
import pytest
from _helpers.interrupts import interrupt_each_line, lines_of
from _helpers.objects import assert_refuses_copies
from _helpers.threads import run_threads
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ge
from ge import _ffi
from ge._ffi import status as S
from ge._ffi.handles import SessionHandle
from ge._ffi.signatures import (
    SESSION_COMPILE_GRAPH,
    SESSION_GET_SESSION_ID,
    SESSION_IS_GRAPH_NEED_REBUILD,
)
from ge.allocator import Allocator, MemBlock
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


def test_a_none_input_is_a_type_error_sync_async_and_bound(
    session: Any, stream: Any, make_graph: Any
) -> None:
    """None among the inputs is refused like any non-tensor (it once read as "no
    input blocks the run": the run was skipped and a misleading "no array"
    GeError raised), before any C call, wherever it is."""
    with make_graph() as graph:
        session.add_graph(1, graph)
    binding = session.bind(1, stream)
    with ge.Tensor.from_numpy(np.ones((2, 3), np.float32)) as t:
        for run in (
            lambda inputs: session.run_graph(1, inputs),
            lambda inputs: session.run_graph_with_stream_async(1, stream, inputs),
            binding.run,
            binding.run_async,
        ):
            for inputs in ([None, t], [t, None], (None,)):
                with pytest.raises(TypeError, match=r"^All elements in inputs must be the type"):
                    run(inputs)


@pytest.mark.parametrize("bad", [1.5, "0", True, b"\0", [1]])
def test_stream_must_be_an_integer(session: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^Stream must be an integer$"):
        session.run_graph_with_stream_async(1, bad, [])
    with pytest.raises(TypeError, match=r"^stream must be an integer$"):
        session.register_external_allocator(bad, ge.allocator.AclAllocator())
    with pytest.raises(TypeError, match=r"^stream must be an integer$"):
        session.unregister_external_allocator(bad)
    with pytest.raises(TypeError, match=r"^Stream must be an integer$"):
        session.load_graph(1, bad)


def test_no_null_stream_reaches_ge(session: Any) -> None:
    """GE has no default stream (c_session.cc refuses NULL): 0 is a ValueError, None
    a TypeError, and both say how to get a stream."""
    calls = (
        lambda s: session.run_graph_with_stream_async(1, s, []),
        lambda s: session.register_external_allocator(s, ge.allocator.AclAllocator()),
        lambda s: session.unregister_external_allocator(s),
        lambda s: session.load_graph(1, s),
    )
    for call in calls:
        with pytest.raises(ValueError, match=r"^stream 0 is not a stream: create a stream with "):
            call(0)
        with pytest.raises(TypeError, match=r"tream must be an integer, not None: create a "):
            call(None)
        with pytest.raises(ValueError, match="not a stream handle"):
            call(-1)
    with pytest.raises(TypeError, match=r"ge\.acl\.Stream\(\).*aclrtCreateStream"):
        session.run_graph_with_stream_async(1, None, [])


def test_allocator_must_be_an_allocator(session: Any, stream: Any) -> None:
    with pytest.raises(TypeError, match=r"^allocator must be an Allocator instance$"):
        session.register_external_allocator(stream, object())


def test_copy_and_deepcopy_are_refused(session: Any) -> None:
    assert_refuses_copies(session, "Session", pickled=False)


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


def test_session_before_initialize_is_refused(acl_ready: Any) -> None:
    """A native session made before GEInitialize would stay dead (and later alias
    another one): the package makes none and says so with GE's precise code."""
    with pytest.raises(GeError) as info:
        ge.Session()
    assert info.value.status == S.GE_SESSION_MANAGER_NOT_INIT
    assert info.value.api_name == "CreateSession"
    assert "GeApi.ge_initialize" in str(info.value)
    assert acl_ready.live_counts()["sessions"] == 0
    assert _ffi.api.GeApiWrapper_GEGetErrorMsg() == b""  # no C call, nothing read


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

    run_threads(work, [(slot,) for slot in ids])
    flat = [i for slot in ids for i in slot]
    assert len(set(flat)) == len(flat) == 160
    assert all(slot == sorted(slot) for slot in ids)


def test_ge_session_id(ge_ready: Any) -> None:
    with ge.Session() as first, ge.Session() as second:
        assert (first.ge_session_id, second.ge_session_id) == (0, 1)  # GE counts from 0
    with pytest.raises(GeError) as info:
        first.ge_session_id  # noqa: B018
    assert info.value.status == S.GE_SESSION_NOT_EXIST


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


@pytest.mark.parametrize(
    "call",
    [
        lambda s, st: s.remove_graph(4),
        lambda s, st: s.run_graph(4, []),
        lambda s, st: s.run_graph_with_stream_async(4, st, []),
        lambda s, st: s.compile_graph(4),
        lambda s, st: s.load_graph(4, st),
    ],
)
def test_unknown_graph_ids_are_ges_precise_code(session: Any, stream: Any, call: Any) -> None:
    """CANN says FAILED (PARAM_INVALID for CompileGraph); the package knows better,
    and raises before calling C, so GE's queue is not read."""
    with pytest.raises(GeError) as info:
        call(session, stream)
    assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
    assert info.value.context["graph_id"] == 4
    assert _ffi.api.GeApiWrapper_GEGetErrorMsg() == b""


def test_what_ge_returns_reaches_the_user_with_its_message_read_once(
    session: Any, make_graph: Any
) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    x, _ = x_y()
    with ge.Tensor.from_numpy(x) as t, pytest.raises(GeError) as info:
        session.run_graph(1, [t])  # one input of two: GE's PARAM_INVALID becomes FAILED
    err = info.value
    assert (err.status, err.status_name) == (S.FAILED, "FAILED")
    assert err.error_message.startswith("E19999: Internal error!")
    assert "the graph has 2 input(s), 1 given" in err.error_message
    assert _ffi.api.GeApiWrapper_GEGetErrorMsg() == b""  # read once, by the package


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
    with ge.Tensor.from_numpy(x) as t, pytest.raises(GeError) as info:
        session.run_graph(1, [t])
    assert info.value.status == S.FAILED
    with pytest.raises(GeError) as info:
        session.run_graph(2, [])
    assert info.value.status == S.GE_GRAPH_GRAPH_NOT_EXIST
    closed = ge.Tensor.from_numpy(x)
    closed.close()
    with pytest.raises(ValueError):
        session.run_graph(1, [closed, closed])


def test_compile_load_and_the_two_ways_of_running(
    session: Any, make_graph: Any, stream: Any
) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    assert session.is_graph_need_rebuild(1)
    assert session.is_graph_need_rebuild(9)  # unknown: true, as GE says
    with pytest.raises(GeError) as info:
        session.load_graph(1, stream)  # not compiled: GE says FAILED
    assert info.value.status == S.FAILED
    assert "has not been compiled" in info.value.error_message
    assert info.value.context == {"graph_id": 1, "stream": f"0x{stream.handle:x}"}
    session.compile_graph(1)
    assert not session.is_graph_need_rebuild(1)
    session.load_graph(1, stream, {})
    with pytest.raises(GeError) as info:
        session.load_graph(1, stream)  # a second load
    assert info.value.status == S.FAILED
    x, y = x_y()
    inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
    with pytest.raises(GeError) as info:
        session.run_graph(1, inputs)  # compiled with CompileGraph: the other way only
    assert info.value.status == S.UNSUPPORTED
    (out,) = session.run_graph_with_stream_async(1, stream, inputs)
    stream.synchronize()
    np.testing.assert_allclose(out.numpy(), (x + y) * x, rtol=1e-6)
    out.close()


def test_load_graph_options_cannot_be_passed(session: Any, make_graph: Any, stream: Any) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    session.compile_graph(1)
    with pytest.raises(ValueError, match="only an empty one can be built"):
        session.load_graph(1, stream, {"ge.exec.frozenInputIndexes": ""})
    with pytest.raises(TypeError, match=r"^options must be a dictionary$"):
        session.load_graph(1, stream, [("a", "b")])  # type: ignore[arg-type]
    session.load_graph(1, stream)


def test_load_graph_falls_back_to_the_cxx_member(
    session: Any, make_graph: Any, stream: Any
) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    session.compile_graph(1)
    with _ffi.hidden_symbols("GeSessionLoadGraph"):
        session.load_graph(1, stream)
        with pytest.raises(GeError) as info:
            session.load_graph(1, stream)
    assert info.value.status == S.FAILED


@pytest.mark.parametrize(
    ("symbol", "call"),
    [
        (SESSION_COMPILE_GRAPH, lambda s: s.compile_graph(1)),
        (SESSION_IS_GRAPH_NEED_REBUILD, lambda s: s.is_graph_need_rebuild(1)),
        (SESSION_GET_SESSION_ID, lambda s: s.ge_session_id),
    ],
)
def test_optional_symbols_missing_raise_ge_error(
    session: Any, make_graph: Any, symbol: str, call: Any
) -> None:
    with make_graph() as graph:
        session.add_graph(1, graph)
    with _ffi.hidden_symbols(symbol), pytest.raises(MissingSymbolError) as info:
        call(session)
    assert isinstance(info.value, GeError) and symbol in str(info.value)


def test_async_run_registers_and_owns_the_default_allocator(
    ge_ready: Any, make_graph: Any, stream: Any
) -> None:
    x, y = x_y()
    session = ge.Session()
    with make_graph() as graph:
        session.add_graph(1, graph)
    inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
    (out,) = session.run_graph_with_stream_async(1, stream, inputs)
    assert _ffi.api.GeApiWrapper_HasDefaultAllocator(stream)
    stream.synchronize()
    np.testing.assert_allclose(out.numpy(), (x + y) * x, rtol=1e-6)
    out.close()
    session.close()
    assert not _ffi.api.GeApiWrapper_HasDefaultAllocator(stream)
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


def test_add_graph_with_cann_keyword_returns_zero(session: Any, make_graph: Any) -> None:
    with make_graph() as graph:
        assert session.add_graph(3, add_graph=graph) == 0
        assert session.add_graph(graph_id=4, add_graph=graph, options={"k": "v"}) == 0


@pytest.mark.parametrize("api_name", ["RunGraph", "RunGraphWithStreamAsync"])
def test_a_run_without_an_output_array_is_an_error(
    session: Any, make_graph: Any, stream: Any, ge_stub: Any, api_name: str
) -> None:
    """GE succeeded but could not build the output array (its tensors died with
    it): an error, and nothing leaks."""
    with make_graph() as graph:
        session.add_graph(1, graph)
    x, y = x_y()
    inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
    ge_stub.fail_next(f"GeApiWrapper_Session_{api_name}", S.SUCCESS)
    with pytest.raises(GeError, match="returned no array for its 1 output") as info:
        if api_name == "RunGraph":
            session.run_graph(1, inputs)
        else:
            session.run_graph_with_stream_async(1, stream, inputs)
    assert info.value.api_name == api_name and info.value.status is None
    stream.synchronize()
    assert ge_stub.live_counts()["tensors"] == 2  # the inputs only
    assert ge_stub.live_counts()["tensor_arrays"] == 0


def test_ges_queue_is_read_only_for_a_failed_c_call(session: Any, make_graph: Any) -> None:
    """GE's message is read once per failed C call and never otherwise: a report
    left in the queue survives the package's own errors and successful calls."""
    assert (
        _ffi.api.GeApiWrapper_Session_RemoveGraph(SessionHandle(None), 1) == S.PARAM_INVALID
    )  # queued
    with pytest.raises(GeError) as info:
        session.remove_graph(3)  # the package's own GE_GRAPH_GRAPH_NOT_EXIST: no C call
    assert "Assert ((session) != nullptr)" not in str(info.value)
    with make_graph() as graph:
        session.add_graph(3, graph)  # a success reads nothing either
    session.remove_graph(3)
    text = _ffi.api.GeApiWrapper_GEGetErrorMsg().decode()
    assert "Assert ((session) != nullptr) failed" in text
    # a failed C call takes everything queued since the last read, once
    assert _ffi.api.GeApiWrapper_Session_RemoveGraph(SessionHandle(None), 1) == S.PARAM_INVALID
    with make_graph() as graph, pytest.raises(GeError) as info:
        session.add_graph(4, graph, {"ge.autoTuneMode": "on"})  # discarded by GE: FAILED
    assert "Assert ((session) != nullptr) failed" in info.value.error_message
    assert "ge.autoTuneMode" in info.value.error_message
    assert _ffi.api.GeApiWrapper_GEGetErrorMsg() == b""


class _FailingAllocator(Allocator):
    def malloc(self, size: int) -> MemBlock:
        raise KeyError("no memory today")

    def free(self, block: MemBlock) -> None:
        pass


def test_a_failed_async_run_keeps_no_input_alive(
    ge_ready: Any, stream: Any, make_graph: Any
) -> None:
    """No reference cycle through the exception: with the collector off, the
    temporary inputs of a failed run die when the exception is dropped."""
    with ge.Session() as session, make_graph() as graph:
        session.add_graph(1, graph)
        session.register_external_allocator(stream, _FailingAllocator())
        x = np.ones((2, 3), np.float32)
        refs: list[Any] = []

        def inputs() -> list[ge.Tensor]:
            tensors = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(x)]
            refs.extend(weakref.ref(t) for t in tensors)
            return tensors

        gc.collect()
        gc.disable()
        try:
            for _ in range(2):
                try:
                    session.run_graph_with_stream_async(1, stream, inputs())
                except ge.GeError as exc:
                    assert isinstance(exc.__cause__, KeyError)
                assert all(r() is None for r in refs), [r() for r in refs]
        finally:
            gc.enable()
        session.unregister_external_allocator(stream)


@pytest.mark.parametrize("way", ["sync", "async"])
def test_an_interrupt_at_any_line_of_entering_leaks_no_call_in_flight(
    session: Any, make_graph: Any, stream: Any, way: str
) -> None:
    """A KeyboardInterrupt (what a signal raises) at each line of a run up to its C
    call (where it counts its inputs, the session and the stream in flight, as one
    batch), of ``_blocker``, ``_c_inputs`` and ``_settle`` (a closed input's error)
    in turn, with an input
    closed or not: it reaches the caller, and no object is left counted in flight
    (``close()`` would wait for it forever)."""
    from ge import _native
    from ge.session import _bound

    fn = _bound.run_sync if way == "sync" else _bound.run_async
    windows = [
        lines_of(
            fn,
            end_after=next(  # up to the C call
                line.strip()
                for line in inspect.getsource(fn).splitlines()
                if "status = api." in line
            ),
            end_before=(),
        ),
        lines_of(_bound._settle, end_before=()),
        lines_of(_bound._blocker, end_before=()),
        lines_of(_bound._c_inputs, end_before=()),
    ]
    with make_graph() as graph:
        session.add_graph(1, graph)
    x = np.ones((2, 3), np.float32)

    def run(inputs: list[ge.Tensor]) -> list[ge.Tensor]:
        if way == "sync":
            return session.run_graph(1, inputs)
        outs = session.run_graph_with_stream_async(1, stream, inputs)
        stream.synchronize()
        return outs

    with ge.Tensor.from_numpy(x) as a, ge.Tensor.from_numpy(x) as b:
        for out in run([a, b]):  # the first async run registers GE's default allocator
            out.close()
    hit = 0
    for closed in (False, True):
        pair: list[ge.Tensor] = []

        def attempt(closed: bool = closed, pair: list[ge.Tensor] = pair) -> None:
            pair[:] = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(x)]
            if closed:
                pair[1].close()
            try:
                outs = run(list(pair))
            except ValueError as exc:  # the closed input, once every line passed
                assert closed and "closed" in str(exc), exc
                outs = []
            for out in outs:
                out.close()

        def check(result: Any, pair: list[ge.Tensor] = pair) -> None:
            a, b = pair
            assert a._calls == [] and b._calls == [] and session._calls == []
            assert stream._calls == [] and not _native._runs
            a.close()
            b.close()

        hit += interrupt_each_line(attempt, windows, check, limit=200)
    assert hit > 20  # the lines of both were reached


@pytest.mark.parametrize("way", ["sync", "async"])
def test_an_interrupt_while_taking_the_outputs_leaks_and_double_frees_nothing(
    session: Any, make_graph: Any, ge_stub: Any, stream: Any, way: str
) -> None:
    """A KeyboardInterrupt right after GE made a run's outputs (sync and async),
    then at each line of taking them (``Tensor._adopt_outputs``) in turn: it
    reaches the caller, and every output tensor is either owned by a Python
    object or destroyed, exactly once (the stand-in's strict mode aborts on a
    double free). Lines of the exception handlers are left out: a signal's
    exception lands after a call, never on a line; so are lines that are only
    a NOP (``try:``)."""
    import dis

    from ge.session import _bound

    windows = [
        lines_of(_bound.run_sync, start_at="if status:", end_before=("except BaseException",))
        if way == "sync"
        else lines_of(
            _bound.run_async,
            start_at="deferred = registry._deferred",
            end_before=("except BaseException",),
        ),
        lines_of(ge.Tensor._adopt_outputs.__func__, end_before=("except BaseException",)),
    ]

    # a line that is only a NOP (a ``try:``) runs no eval-breaker check, so no
    # signal lands there; an exception a tracer raises on it skips the handlers
    def opnames_by_line(code: Any) -> dict[int, set[str]]:
        by_line: dict[int, set[str]] = {}
        line = code.co_firstlineno
        for ins in dis.get_instructions(code):
            # Instruction.positions is 3.11+; starts_line marks a new line before
            positions = getattr(ins, "positions", None)
            if positions is not None:
                line = positions.lineno or line
            elif ins.starts_line is not None:
                line = ins.starts_line
            by_line.setdefault(line, set()).add(ins.opname)
        return by_line

    skip = {
        (code, line)
        for code, start, end in windows
        for line, names in opnames_by_line(code).items()
        if start <= line < end and names == {"NOP"}
    }
    with make_graph() as graph:
        session.add_graph(1, graph)
    x = np.ones((2, 3), np.float32)

    def run(a: Any, b: Any) -> Any:
        if way == "sync":
            return session.run_graph(1, [a, b])
        return session.run_graph_with_stream_async(1, stream, [a, b])

    with ge.Tensor.from_numpy(x) as a, ge.Tensor.from_numpy(x) as b:
        for out in run(a, b):  # the first async run registers GE's default allocator
            stream.synchronize()
            out.close()
        gc.collect()
        base = ge_stub.live_counts()

        def check(outs: Any) -> None:
            stream.synchronize()
            for out in outs or ():
                out.close()
            gc.collect()
            assert ge_stub.live_counts() == base
            assert session._calls == []

        hit = interrupt_each_line(lambda: run(a, b), windows, check, skip, limit=40)
    assert hit > 5


@pytest.mark.parametrize("which", ["register", "unregister"])
def test_an_interrupt_at_any_line_of_an_allocator_call_leaks_no_call_in_flight(
    session: Any, stream: Any, which: str
) -> None:
    """A KeyboardInterrupt at each line of ``NativeObject._in_flight`` before its
    ``finally`` (the registrations' guard) in turn reaches the caller and never
    leaves the session counted in flight (its close would wait)."""
    from ge import _native

    code = ge.Session._in_flight.__code__
    source = inspect.getsource(ge.Session._in_flight).splitlines()
    end = code.co_firstlineno + next(i for i, line in enumerate(source) if "finally:" in line)

    class Quiet(Allocator):
        def malloc(self, size: int) -> MemBlock:
            return MemBlock(0x1000, size)

        def free(self, block: MemBlock) -> None:
            pass

    allocator = Quiet()
    hit = 0
    for k in range(1, 20):
        if which == "unregister":
            session.register_external_allocator(stream, allocator)
        lines = [0]

        def trace(frame: Any, event: str, arg: Any, k: int = k, lines: Any = lines) -> Any:
            if event == "line" and frame.f_lineno < end:
                lines[0] += 1
                if lines[0] == k:
                    raise KeyboardInterrupt
            return trace

        def tracer(frame: Any, event: str, arg: Any, trace: Any = trace) -> Any:
            return trace if frame.f_code is code else None

        sys.settrace(tracer)
        try:
            if which == "register":
                session.register_external_allocator(stream, allocator)
            else:
                session.unregister_external_allocator(stream)
        except KeyboardInterrupt:
            hit += 1
        finally:
            sys.settrace(None)
        assert session._calls == [] and not _native._runs, k
        session.unregister_external_allocator(stream)  # whatever the call did
    assert hit >= 4
    session.close()  # would wait forever for a call left counted
    assert session.closed
