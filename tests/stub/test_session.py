"""The stand-in's GE lifecycle, sessions, runs and allocators, against CANN's sources
(ABI.md v2, sections 3, 4 and 9), through bare ctypes calls.

Each test pins down a behaviour of real CANN that version 1 of the stand-in got
wrong: the error queue that drains on read, the status codes of the public
``ge::Session`` methods, sessions created before ``GEInitialize``, allocator
lifetime and locking, non-output allocations, padded async outputs, the output
array of a run, and the C++ members of section 9.
"""

from __future__ import annotations

import ctypes
import re
import signal
import threading
import time
from ctypes import POINTER, byref, c_size_t, c_void_p
from pathlib import Path
from typing import Any

import pytest
from _helpers.stub_calls import (
    FAILED,
    Recorder,
    child,
    ge_message,
    graph_add,
    new_stream,
    opts,
    read_device_f32,
    run,
    session_with_graph_and_stream,
    tensor,
)

from ge._ffi import api
from ge._ffi import status as S
from ge._ffi.signatures import (
    SESSION_COMPILE_GRAPH,
    SESSION_GET_SESSION_ID,
    SESSION_IS_GRAPH_NEED_REBUILD,
    SESSION_LOAD_GRAPH,
)
from ge._ffi.std_map import StdMap, empty_std_map


def compile_graph(session: Any, gid: int) -> int:
    return int(getattr(api, SESSION_COMPILE_GRAPH)(session, gid))


def needs_rebuild(session: Any, gid: int) -> bool:
    return bool(getattr(api, SESSION_IS_GRAPH_NEED_REBUILD)(session, gid))


def session_id(session: Any) -> int:
    return int(getattr(api, SESSION_GET_SESSION_ID)(session))


def load_graph_member(session: Any, gid: int, options: Any, stream: Any) -> int:
    return int(getattr(api, SESSION_LOAD_GRAPH)(session, gid, options, stream))


def load_graph(session: int, gid: int, stream: Any) -> int:
    options = empty_std_map()
    return int(api.GeSessionLoadGraph(session, gid, byref(options), stream))


@pytest.fixture
def ready(ge_stub: Any) -> Any:
    """ACL up with device 0 set, GE initialised; torn down after."""
    assert api.aclInit(None) == 0
    assert api.aclrtSetDevice(0) == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    yield ge_stub
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.aclrtResetDevice(0) == 0
    assert api.aclFinalize() == 0


# -- the error queue (ABI.md section 3; error_manager.cc) -----------------------------


def test_the_error_text_aggregates_every_report_and_reading_drains_it(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    assert ge_message() == ""  # nothing queued: empty, not NULL
    assert api.GeApiWrapper_Session_RemoveGraph(s, 5) == FAILED
    assert api.GeApiWrapper_Session_RemoveGraph(s, 6) == FAILED
    text = ge_message()
    lines = text.splitlines()
    assert lines[0] == "E19999: Internal error!"
    assert re.match(r"^E19999\[PID: \d+\] \d{4}-\d\d-\d\d-\d\d:\d\d:\d\d\.\d{3}\.\d{3} ", lines[1])
    assert lines[2] == "TraceBack (most recent call last):"
    assert "graph_id=5" in text and "graph_id:6" in text  # both failures, one text
    assert "[FUNC:GeApiWrapper_Session_RemoveGraph][FILE:" in text
    assert ge_message() == ""  # drained
    api.GeApiWrapper_Session_DestroySession(s)


def test_a_predefined_report_leads_the_text(ge_stub: Any) -> None:
    g = graph_add()
    early = api.GeApiWrapper_Session_CreateSession()  # before GEInitialize: E10062
    assert api.GeApiWrapper_Session_AddGraph(early, 1, g) == FAILED
    text = ge_message()
    assert re.match(r"^\[PID: \d+\] \S+ \(E10062\): call Session: ", text)
    assert "TraceBack (most recent call last):\n        call AddGraph: " in text
    api.GeApiWrapper_Session_DestroySession(early)
    api.GeApiWrapper_Graph_DestroyGraph(g)


def test_identical_reports_are_queued_once(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    for _ in range(3):
        assert api.GeApiWrapper_Session_AddGraph(s, 1, None) == S.PARAM_INVALID
    assert ge_message().count("Assert ((graph) != nullptr) failed") == 1
    api.GeApiWrapper_Session_DestroySession(s)


def test_the_queue_belongs_to_the_thread_and_ge_and_acl_share_it(ready: Any) -> None:
    assert api.aclrtSetDevice(99) == S.ACL_ERROR_INVALID_DEVICE
    seen: list[str] = []
    worker = threading.Thread(target=lambda: seen.append(ge_message()))
    worker.start()
    worker.join()
    assert seen == [""]  # another thread's queue
    text = ge_message()  # GE's reader drains ACL's report (one ErrorManager)
    assert text.startswith("EH9999: Internal error!") and "aclrtSetDevice" in text
    assert not api.aclGetRecentErrMsg()  # nothing left: NULL
    assert api.aclrtSetDevice(99) == S.ACL_ERROR_INVALID_DEVICE
    assert b"EH9999" in api.aclGetRecentErrMsg()
    assert ge_message() == ""


# -- sessions created before GEInitialize (ABI.md section 4) ----------------------------


def test_a_session_made_before_initialize_is_dead_then_aliases_session_zero(
    ge_stub: Any,
) -> None:
    early = api.GeApiWrapper_Session_CreateSession()
    assert early and session_id(early) == 0
    g = graph_add(2)
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    assert api.GeApiWrapper_Session_AddGraph(early, 1, g) == FAILED  # no session 0 yet
    assert "does not exist, session_id:0" in ge_message()
    assert needs_rebuild(early, 1) is True  # FAILED as bool
    first = api.GeApiWrapper_Session_CreateSession()
    assert session_id(first) == 0  # GE's ids count from 0: the same id
    assert api.GeApiWrapper_Session_AddGraph(early, 1, g) == 0  # lands in `first`
    a, b = tensor([1, 2]), tensor([3, 4])
    st, (out,) = run(first, 1, [a, b])
    assert st == 0
    assert api.GeApiWrapper_Session_AddGraph(first, 1, g) == FAILED  # taken, through the alias
    assert ge_stub.live_counts()["ge_sessions"] == 1
    api.GeApiWrapper_Session_DestroySession(early)  # ~Session destroys GE's session 0
    assert ge_stub.live_counts()["ge_sessions"] == 0
    assert run(first, 1, [a, b])[0] == FAILED  # `first` is dead now
    second = api.GeApiWrapper_Session_CreateSession()
    assert session_id(second) == 1
    for h in (a, b, out):
        api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
    for h in (first, second):
        api.GeApiWrapper_Session_DestroySession(h)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.GeApiWrapper_GEFinalize() == 0


def test_gefinalize_kills_every_session_for_good(ge_stub: Any) -> None:
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    s = api.GeApiWrapper_Session_CreateSession()
    g = graph_add()
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    assert api.GeApiWrapper_GEFinalize() == 0
    assert ge_stub.live_counts()["session_graphs"] == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    fresh = api.GeApiWrapper_Session_CreateSession()
    assert session_id(fresh) == 1  # the counter goes on: session 0 never comes back
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == FAILED
    api.GeApiWrapper_Session_DestroySession(s)  # nothing behind it: a report, no harm
    assert "Destroy session failed" in ge_message()
    assert api.GeApiWrapper_Session_AddGraph(fresh, 1, g) == 0
    api.GeApiWrapper_Session_DestroySession(fresh)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.GeApiWrapper_GEFinalize() == 0


def test_an_empty_session_option_key_makes_a_dead_session(ready: Any) -> None:
    assert not api.GeApiWrapper_Session_CreateSessionWithOptions(None, None, 0)
    s = api.GeApiWrapper_Session_CreateSessionWithOptions(*opts(**{"": "v"}))
    assert s and session_id(s) == 0 and ready.live_counts()["ge_sessions"] == 0
    assert "(E10059)" in ge_message()
    api.GeApiWrapper_Session_DestroySession(s)
    api.GeApiWrapper_Session_DestroySession(None)  # delete nullptr


# -- the session manager's and the graph managers' maps (session_manager.cc) -----------


def test_every_live_session_finds_its_own_graphs_among_many(ready: Any) -> None:
    """Sessions made and destroyed in an order that moves entries around the map:
    each live one still reaches exactly its own graph, by its own id."""
    g = graph_add()
    sessions = {}
    for i in range(60):
        s = api.GeApiWrapper_Session_CreateSession()
        assert session_id(s) == i
        assert api.GeApiWrapper_Session_AddGraph(s, i, g) == 0
        sessions[i] = s
    for i in [*range(0, 60, 3), 59, 58, 31]:
        if i in sessions:
            api.GeApiWrapper_Session_DestroySession(sessions.pop(i))
    assert ready.live_counts()["ge_sessions"] == len(sessions)
    for i, s in sessions.items():
        assert api.GeApiWrapper_Session_AddGraph(s, i, g) == FAILED  # its own: taken
        assert api.GeApiWrapper_Session_RemoveGraph(s, i + 1) == FAILED  # another's
        assert compile_graph(s, i) == 0
    ge_message()
    fresh = api.GeApiWrapper_Session_CreateSession()
    assert session_id(fresh) == 60  # ids never come back
    for s in (*sessions.values(), fresh):
        api.GeApiWrapper_Session_DestroySession(s)
    assert ready.live_counts()["session_graphs"] == 0
    api.GeApiWrapper_Graph_DestroyGraph(g)


def test_graph_ids_stay_found_while_others_are_added_and_removed(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    g = graph_add()
    ids = [(i * 7919) % 100_003 for i in range(120)]  # scattered, no repeats
    for gid in ids:
        assert api.GeApiWrapper_Session_AddGraph(s, gid, g) == 0
    removed = set(ids[::2]) | set(ids[-10:])
    for gid in sorted(removed, reverse=True):
        assert api.GeApiWrapper_Session_RemoveGraph(s, gid) == 0
    for gid in ids:
        want = FAILED if gid not in removed else 0  # present: a duplicate
        assert api.GeApiWrapper_Session_AddGraph(s, gid, g) == want
    assert ready.live_counts()["session_graphs"] == len(ids)
    for gid in ids:
        assert api.GeApiWrapper_Session_RemoveGraph(s, gid) == 0
        assert api.GeApiWrapper_Session_RemoveGraph(s, gid) == FAILED
    ge_message()
    assert ready.live_counts()["session_graphs"] == 0
    api.GeApiWrapper_Session_DestroySession(s)
    api.GeApiWrapper_Graph_DestroyGraph(g)


def _load_on(rec: Recorder, s: int, gids: list[int], g: int, stream: int) -> None:
    """Add, compile and load each graph id on ``stream`` (two blocks each)."""
    for gid in gids:
        assert api.GeApiWrapper_Session_AddGraph(s, gid, g) == 0
        assert compile_graph(s, gid) == 0
        assert load_graph(s, gid, stream) == 0


def test_graph_memory_is_freed_in_the_order_of_cann_s_maps(ready: Any) -> None:
    """Pins the order FreeFn sees at GEFinalize: sessions by increasing id
    (SessionManager::Finalize walks a std::map), each session's graphs by
    increasing graph id (GraphManager::Finalize walks a std::map), whatever the
    order they were added or removed in."""
    stream = new_stream()
    g = graph_add()
    rec = Recorder()
    older, newer = (api.GeApiWrapper_Session_CreateSession() for _ in range(2))
    assert rec.register(older, stream) == 0
    _load_on(rec, older, [5, 2, 9], g, stream)  # blocks 1-2, 3-4, 5-6
    _load_on(rec, newer, [1], g, stream)  # blocks 7-8
    assert api.GeApiWrapper_Session_RemoveGraph(older, 2) == 0
    assert rec.calls[-2:] == [("free", 3), ("free", 4)]
    _load_on(rec, older, [4], g, stream)  # blocks 9-10
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(older, stream) == 0
    assert api.GeApiWrapper_GEFinalize() == 0
    freed = [b for name, b in rec.calls if name == "free"][2:]
    # older (graphs 4, 5, 9), then newer (graph 1)
    assert freed == [9, 10, 1, 2, 5, 6, 7, 8]
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    for s in (older, newer):
        api.GeApiWrapper_Session_DestroySession(s)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.aclrtDestroyStream(stream) == 0


def test_each_stream_keeps_its_own_allocator_among_many(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    streams = [new_stream() for _ in range(40)]
    recs = [Recorder() for _ in streams]
    for i, (stream, rec) in enumerate(zip(streams, recs)):
        assert rec.register(s, stream, i + 1) == 0  # user handles 1..40
    for stream in streams[::2]:
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
    replaced = Recorder()
    assert replaced.register(s, streams[1], 99) == 0  # replaces recs[1]
    for i, (stream, rec) in enumerate(zip(streams, recs)):
        assert api.GeApiWrapper_HasExternalAllocator(stream) is (i % 2 == 1)
        assert rec.calls == ([("on_destroy", i + 1)] if i % 2 == 0 or i == 1 else [])
    g = graph_add(2)
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    a = tensor([1, 2])
    # the first run loads the graph (its own memory and the output), the second
    # asks its stream's allocator for the output only
    for stream, rec, blocks in ((streams[1], replaced, 3), (streams[3], recs[3], 1)):
        st, (out,) = run(s, 1, [a, a], stream)
        assert st == 0 and rec.names() == ["malloc"] * blocks
        api.GeApiWrapper_Tensor_DestroyEsCTensor(out)
        assert api.aclrtSynchronizeStream(stream) == 0
    api.GeApiWrapper_Tensor_DestroyEsCTensor(a)
    for stream in streams[1::2]:
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
    api.GeApiWrapper_Session_DestroySession(s)
    assert ready.live_counts()["allocators"] == 0
    api.GeApiWrapper_Graph_DestroyGraph(g)
    for stream in streams:
        assert api.aclrtDestroyStream(stream) == 0


# -- status codes (ABI.md 4.1) ----------------------------------------------------------


def test_null_arguments_are_param_invalid_where_the_wrapper_checks(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    stream = new_stream()
    g = graph_add()
    outs, n = POINTER(c_void_p)(), c_size_t()
    one = (c_void_p * 1)(None)
    assert api.GeApiWrapper_Session_AddGraph(None, 1, g) == S.PARAM_INVALID
    assert api.GeApiWrapper_Session_AddGraphWithOptions(s, 1, g, None, None, 0) == (S.PARAM_INVALID)
    assert api.GeApiWrapper_Session_RemoveGraph(None, 1) == S.PARAM_INVALID
    assert api.GeApiWrapper_Session_RunGraph(s, 1, None, 0, byref(outs), byref(n)) == (
        S.PARAM_INVALID
    )
    assert api.GeApiWrapper_Session_RunGraph(s, 1, one, 1, byref(outs), byref(n)) == (
        S.PARAM_INVALID
    )
    assert (
        api.GeApiWrapper_Session_RunGraphWithStreamAsync(s, 1, None, one, 0, byref(outs), byref(n))
        == S.PARAM_INVALID
    )  # no "default stream" in GE
    assert api.GeApiWrapper_Session_RegisterDefaultAllocator(s, None) == S.PARAM_INVALID
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, None) == S.PARAM_INVALID
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(None, stream) == S.PARAM_INVALID
    rec = Recorder()
    cbs: list[Any] = list(rec.callbacks)
    cbs[0] = type(cbs[0])()  # a NULL MallocFn
    assert api.GeApiWrapper_Session_RegisterExternalAllocator(s, stream, *cbs, 1) == (
        S.PARAM_INVALID
    )
    assert rec.calls == []  # refused before the allocator was made: no OnDestroy
    assert api.GeApiWrapper_HasExternalAllocator(None) is False
    api.GeApiWrapper_Session_DestroySession(s)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.aclrtDestroyStream(stream) == 0


@pytest.mark.parametrize(
    "call",
    [
        f"api.{SESSION_COMPILE_GRAPH}(None, 1)",
        f"api.{SESSION_GET_SESSION_ID}(None)",
        "api.GeSessionLoadGraph(None, 1, byref(empty_std_map()), None)",
        "api.GeSessionLoadGraph(api.GeApiWrapper_Session_CreateSession(), 1, None, None)",
    ],
)
def test_null_where_cann_dereferences_it_aborts(
    ge_stub_library: str, tmp_path: Path, call: str
) -> None:
    done = child(
        f"""
        from ge._ffi.std_map import empty_std_map
        {call}
        print("survived", flush=True)
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGABRT, done
    assert "survived" not in done.stdout
    assert "NULL" in done.stderr and "ge_stub:" in done.stderr


def test_run_graph_status_and_outputs(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    g = graph_add(2)
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    a, b = tensor([1, 2]), tensor([3, 4])
    arr = (c_void_p * 2)(a, b)
    outs = POINTER(c_void_p)((c_void_p * 1)(0xBAD))
    n = c_size_t(99)
    assert api.GeApiWrapper_Session_RunGraph(s, 7, arr, 2, byref(outs), byref(n)) == (
        S.GE_GRAPH_GRAPH_NOT_EXIST
    )
    assert not outs and n.value == 0  # set before anything else can fail
    # the output array cannot be built: SUCCESS with no array but the count
    ready.fail_next("GeApiWrapper_Session_RunGraph", S.SUCCESS)
    assert api.GeApiWrapper_Session_RunGraph(s, 1, arr, 2, byref(outs), byref(n)) == 0
    assert not outs and n.value == 1
    assert ready.live_counts()["tensors"] == 2  # the outputs died with GE's vector
    assert api.GeApiWrapper_Session_RunGraph(s, 1, arr, 2, byref(outs), byref(n)) == 0
    assert outs and n.value == 1
    assert api._ZNK2ge6Tensor7GetSizeEv(outs[0]) == 8  # sync outputs are not padded
    api.GeApiWrapper_Tensor_DestroyEsCTensor(outs[0])
    api.GeApiWrapper_Session_FreeTensorArray(outs)
    assert compile_graph(s, 1) == 0
    assert run(s, 1, [a, b])[0] == S.UNSUPPORTED  # compiled by CompileGraph
    assert "(E10062)" in ge_message()
    for h in (a, b):
        api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    api.GeApiWrapper_Session_DestroySession(s)


def test_async_failures_are_failed(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    stream = new_stream()
    a = tensor([1, 2])
    assert run(s, 3, [a, a], stream)[0] == FAILED  # unknown graph
    g = graph_add(2)
    assert api.GeApiWrapper_Session_AddGraph(s, 3, g) == 0
    assert run(s, 3, [a], stream)[0] == FAILED  # bad inputs
    assert api.GeApiWrapper_GEFinalize() == 0
    assert run(s, 3, [a, a], stream)[0] == FAILED  # GE not initialised
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    api.GeApiWrapper_Tensor_DestroyEsCTensor(a)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    api.GeApiWrapper_Session_DestroySession(s)
    assert api.aclrtDestroyStream(stream) == 0


# -- async runs: padded outputs, GE's own memory, the default allocator ----------------


def test_async_without_allocator_uses_ge_memory_and_pads(ready: Any) -> None:
    with session_with_graph_and_stream(6) as (s, stream):
        a, b = tensor([1, 2, 3, 4, 5, 6]), tensor([1] * 6)
        st, (out,) = run(s, 1, [a, b], stream)
        assert st == 0  # no allocator is not an error
        assert api.GeApiWrapper_Tensor_GetPlacement(out) == 1
        assert api._ZNK2ge6Tensor7GetSizeEv(out) == 64  # 24 bytes: round up to 32, + 32
        # chained: the padded output is an input of the next run, read when it runs
        st, (out2,) = run(s, 1, [out, out], stream)
        assert st == 0
        assert api.aclrtSynchronizeStream(stream) == 0
        assert read_device_f32(out2, 6) == [4, 6, 8, 10, 12, 14]
        assert (
            ready.live_counts()["allocator_blocks"] == 0 and ready.callback_counts()["malloc"] == 0
        )
        for h in (a, b, out, out2):
            api.GeApiWrapper_Tensor_DestroyEsCTensor(h)


def test_the_default_allocator_is_aclrtmalloc_and_has_no_on_destroy(ready: Any) -> None:
    with session_with_graph_and_stream(2) as (s, stream):
        assert api.GeApiWrapper_Session_RegisterDefaultAllocator(s, stream) == 0
        assert api.GeApiWrapper_HasExternalAllocator(stream) is True
        assert api.GeApiWrapper_HasDefaultAllocator(stream) is True
        a = tensor([1, 2])
        st, (out,) = run(s, 1, [a, a], stream)
        assert st == 0
        assert ready.live_counts()["device_blocks"] == 3  # const, feature map, output
        ready.fail_next("aclrtMalloc", S.ACL_ERROR_BAD_ALLOC)  # DefaultMalloc's aclrtMalloc
        assert run(s, 1, [a, a], stream)[0] == FAILED
        assert api.aclrtSynchronizeStream(stream) == 0
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
        api.GeApiWrapper_Tensor_DestroyEsCTensor(out)
        assert ready.live_counts()["device_blocks"] == 2  # the loaded graph's
        assert api.GeApiWrapper_Session_RemoveGraph(s, 1) == 0
        assert ready.live_counts()["device_blocks"] == 0
        assert ready.live_counts()["allocators"] == 0
        assert ready.callback_counts() == {"malloc": 0, "free": 0, "get_addr": 0, "on_destroy": 0}
        api.GeApiWrapper_Tensor_DestroyEsCTensor(a)


# -- allocator lifetime (ABI.md 4.3) ----------------------------------------------------


def test_on_destroy_runs_inside_a_register_that_failed(ge_stub: Any) -> None:
    assert api.aclInit(None) == 0
    stream = new_stream()
    early = api.GeApiWrapper_Session_CreateSession()
    rec = Recorder()
    assert rec.register(early, stream, 11) == FAILED  # GE not initialised
    assert rec.calls == [("on_destroy", 11)]  # the wrapper's allocator died in the call
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    rec2 = Recorder()
    assert rec2.register(early, stream, 12) == FAILED  # a dead session
    assert rec2.calls == [("on_destroy", 12)]
    assert api.GeApiWrapper_HasExternalAllocator(stream) is False
    api.GeApiWrapper_Session_DestroySession(early)
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.aclrtDestroyStream(stream) == 0
    assert api.aclFinalize() == 0


def test_gefinalize_unregisters_nothing_and_unregister_fails_after_it(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    stream, other = new_stream(), new_stream()
    rec, rec2 = Recorder(), Recorder()
    assert rec.register(s, stream, 1) == 0
    assert rec2.register(s, stream, 2) == 0  # replaces it: the old one dies in the call
    assert rec.calls == [("on_destroy", 1)] and rec2.calls == []
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, other) == 0  # none: fine
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.GeApiWrapper_HasExternalAllocator(stream) is True  # still registered
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == FAILED
    assert rec2.calls == []
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    fresh = api.GeApiWrapper_Session_CreateSession()
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(fresh, stream) == 0
    assert rec2.calls == [("on_destroy", 2)]
    for h in (s, fresh):
        api.GeApiWrapper_Session_DestroySession(h)
    for h in (stream, other):
        assert api.aclrtDestroyStream(h) == 0


def test_an_allocator_still_held_at_reset_is_never_destroyed(ge_stub: Any) -> None:
    """Where CANN calls OnDestroy at process exit, the stand-in never does."""
    assert api.aclInit(None) == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    s = api.GeApiWrapper_Session_CreateSession()
    rec = Recorder()
    assert rec.register(s, new_stream()) == 0
    ge_stub.reset()
    assert rec.calls == [] and ge_stub.callback_counts()["on_destroy"] == 0


def test_the_graph_memory_outlives_the_registration(ready: Any) -> None:
    """GE's non-output memory: asked for when a graph is first run (loaded) on a
    stream, larger and longer-lived than outputs, freed when the graph goes."""
    s = api.GeApiWrapper_Session_CreateSession()
    stream = new_stream()
    g = graph_add(8)
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    assert api.GeApiWrapper_Session_AddGraph(s, 2, g) == 0
    rec = Recorder()
    assert rec.register(s, stream, 3) == 0
    a = tensor([1] * 8)
    outs = []
    for gid in (1, 1, 2):
        st, (out,) = run(s, gid, [a, a], stream)
        assert st == 0
        outs.append(out)
    # graph 1 loaded (512 + feature map), then its output; again only an output;
    # graph 2 loaded on its first run
    assert rec.calls == [("malloc", n) for n in (512, 4160, 64, 64, 512, 4160, 64)]
    assert api.aclrtSynchronizeStream(stream) == 0
    for out in outs:
        api.GeApiWrapper_Tensor_DestroyEsCTensor(out)
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
    assert rec.names().count("free") == 3 and "on_destroy" not in rec.names()
    assert api.GeApiWrapper_Session_RemoveGraph(s, 1) == 0  # two blocks back
    assert rec.names().count("free") == 5 and "on_destroy" not in rec.names()
    api.GeApiWrapper_Session_DestroySession(s)  # graph 2's: the last holders
    assert rec.names()[-3:] == ["free", "free", "on_destroy"]
    api.GeApiWrapper_Tensor_DestroyEsCTensor(a)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.aclrtDestroyStream(stream) == 0


def test_gefinalize_frees_the_graph_memory_through_freefn(ready: Any) -> None:
    with session_with_graph_and_stream(2) as (s, stream):
        rec = Recorder()
        assert rec.register(s, stream) == 0
        a = tensor([1, 2])
        st, (out,) = run(s, 1, [a, a], stream)
        assert st == 0
        assert api.aclrtSynchronizeStream(stream) == 0
        api.GeApiWrapper_Tensor_DestroyEsCTensor(out)
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
        assert api.GeApiWrapper_GEFinalize() == 0  # unloads the graph
        assert rec.names()[-3:] == ["free", "free", "on_destroy"]
        assert api.GeApiWrapper_GEInitialize(*opts()) == 0
        api.GeApiWrapper_Tensor_DestroyEsCTensor(a)


# -- the allocator's mutex (c_session.cc PyCallbackAllocator) ---------------------------


def test_a_callback_reentering_its_allocator_aborts(ge_stub_library: str, tmp_path: Path) -> None:
    done = child(
        """
        from ctypes import POINTER, c_int64, c_size_t
        from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn
        assert api.aclInit(None) == 0 and api.aclrtSetDevice(0) == 0
        keys = (ctypes.c_char_p * 1)()
        assert api.GeApiWrapper_GEInitialize(keys, keys, 0) == 0
        s = api.GeApiWrapper_Session_CreateSession()
        st = StreamHandle()
        assert api.aclrtCreateStream(byref(st)) == 0
        b = api.EsCreateGraphBuilder(b"g")
        dims = (c_int64 * 1)(2)
        x = api.EsCreateGraphInputWithDetails(b, 0, None, None, 0, 2, dims, 1)
        assert api.EsSetGraphOutput(x, 0) == 0
        g = api.EsBuildGraphAndReset(b)
        assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
        data = (ctypes.c_float * 2)(1, 2)
        t = api.EsCreateEsCTensor(data, dims, 1, 0, 2)
        ins = (c_void_p * 1)(t)

        def run():
            outs, n = POINTER(c_void_p)(), c_size_t()
            return api.GeApiWrapper_Session_RunGraphWithStreamAsync(
                s, 1, st, ins, 1, byref(outs), byref(n))

        def malloc(obj, size):
            print("in malloc", flush=True)
            run()  # back into the same allocator: GE holds its mutex
            return None

        cbs = (MallocFn(malloc), FreeFn(lambda o, b: None), GetAddrFn(lambda b: b),
               OnDestroyFn(lambda u: None))
        assert api.GeApiWrapper_Session_RegisterExternalAllocator(s, st, *cbs, None) == 0
        run()
        print("survived", flush=True)
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGABRT, done
    assert "in malloc" in done.stdout and "survived" not in done.stdout
    assert "MallocFn of an allocator called from inside a callback of the same allocator" in (
        done.stderr
    )


def test_reentry_in_tidy_mode_fails_instead(ready: Any) -> None:
    with session_with_graph_and_stream(2) as (s, stream):
        a = tensor([1, 2])
        inner: list[int] = []
        rec = Recorder()
        rec.on_malloc = lambda: inner.append(run(s, 1, [a, a], stream)[0]) if not inner else None
        assert rec.register(s, stream) == 0
        with ready.tidy_misuse():
            st, outs = run(s, 1, [a, a], stream)
        assert inner == [FAILED]  # the nested run could not take the allocator's mutex
        assert st == 0
        assert api.aclrtSynchronizeStream(stream) == 0
        for h in (a, *outs):
            api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0


def test_other_threads_wait_for_the_allocators_mutex(ready: Any) -> None:
    with session_with_graph_and_stream(2) as (s, stream):
        a = tensor([1, 2])
        st, (first,) = run(s, 1, [a, a], stream)  # loads the graph (GE's own memory)
        assert st == 0
        assert api.aclrtSynchronizeStream(stream) == 0
        api.GeApiWrapper_Tensor_DestroyEsCTensor(first)
        events: list[str] = []
        entered = threading.Event()
        rec = Recorder()

        def slow_malloc() -> None:
            if threading.current_thread().name == "first":
                entered.set()
                time.sleep(0.3)
                events.append("first done")
            else:
                events.append("second in")

        rec.on_malloc = slow_malloc
        assert rec.register(s, stream) == 0
        results: list[Any] = []

        def go() -> None:
            results.append(run(s, 1, [a, a], stream))

        t1 = threading.Thread(target=go, name="first")
        t1.start()
        assert entered.wait(10)
        t2 = threading.Thread(target=go, name="second")
        t2.start()
        t1.join(30)
        t2.join(30)
        assert events == ["first done", "second in"]
        assert api.aclrtSynchronizeStream(stream) == 0
        for _, outs in results:
            for h in outs:
                api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
        assert [st for st, _ in results] == [0, 0]
        api.GeApiWrapper_Tensor_DestroyEsCTensor(a)
        assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0


# -- section 9: the ge::Session members ------------------------------------------------


def test_compile_load_and_the_two_ways_of_running(ready: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()
    stream = new_stream()
    g = graph_add(2)
    assert compile_graph(s, 1) == S.PARAM_INVALID  # unknown id: GE_ASSERT_SUCCESS
    assert needs_rebuild(s, 1) is True  # unknown
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    assert needs_rebuild(s, 1) is True  # not compiled
    assert load_graph(s, 1, stream) == FAILED  # not compiled yet
    assert "has not been compiled" in ge_message()
    assert compile_graph(s, 1) == 0
    assert needs_rebuild(s, 1) is False
    rec = Recorder()
    assert rec.register(s, stream) == 0
    assert load_graph(s, 1, stream) == 0
    assert rec.calls == [("malloc", 512), ("malloc", 4160)]  # the graph's own memory
    options = empty_std_map()
    assert load_graph_member(s, 1, byref(options), stream) == FAILED  # loaded already
    a = tensor([1, 2])
    assert run(s, 1, [a, a])[0] == S.UNSUPPORTED  # RunGraph: the other way
    st, (out,) = run(s, 1, [a, a], stream)
    assert st == 0 and rec.calls[-1] == ("malloc", 64)
    assert api.aclrtSynchronizeStream(stream) == 0
    assert read_device_f32(out, 2) == [2.0, 4.0]
    for h in (a, out):
        api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(s, stream) == 0
    api.GeApiWrapper_Session_DestroySession(s)
    assert rec.names()[-1] == "on_destroy"
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.aclrtDestroyStream(stream) == 0


def test_section_9_results_when_ge_is_down_or_the_session_dead(ge_stub: Any) -> None:
    early = api.GeApiWrapper_Session_CreateSession()
    assert session_id(early) == 0
    assert needs_rebuild(early, 1) is False  # GE not initialised: false
    assert compile_graph(early, 1) == FAILED
    assert load_graph(early, 1, None) == FAILED
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    assert needs_rebuild(early, 1) is True  # a dead session: FAILED as bool
    assert compile_graph(early, 1) == FAILED
    api.GeApiWrapper_Session_DestroySession(early)
    assert api.GeApiWrapper_GEFinalize() == 0


def test_freeing_an_array_the_library_did_not_hand_out_aborts(
    ge_stub_library: str, tmp_path: Path
) -> None:
    done = child(
        """
        arr = (c_void_p * 2)()
        api.GeApiWrapper_Session_FreeTensorArray(None)  # delete[] nullptr: nothing
        api.GeStub_SetMisuseAborts(0)
        api.GeApiWrapper_Session_FreeTensorArray(arr)  # tidy: a report
        print("tidy", b"not a tensor array" in api.GeApiWrapper_GEGetErrorMsg(), flush=True)
        api.GeStub_SetMisuseAborts(1)
        api.GeApiWrapper_Session_FreeTensorArray(arr)
        print("survived", flush=True)
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGABRT, done
    assert done.stdout.split() == ["tidy", "True"]
    assert "is not a tensor array the library handed out" in done.stderr


def test_load_graph_reads_only_an_empty_map(ge_stub_library: str, tmp_path: Path) -> None:
    code = """
        from ge._ffi.std_map import empty_std_map
        keys = (ctypes.c_char_p * 1)()
        assert api.GeApiWrapper_GEInitialize(keys, keys, 0) == 0
        s = api.GeApiWrapper_Session_CreateSession()
        m = empty_std_map()
        m.node_count = 1  # as if it held an entry
        {mode}
        print(api.GeSessionLoadGraph(s, 1, byref(m), None), flush=True)
    """
    done = child(code.format(mode="api.GeStub_SetMisuseAborts(0)"), tmp_path)
    assert done.returncode == 0, done
    assert done.stdout.split() == [str(FAILED)]
    done = child(code.format(mode=""), tmp_path)
    assert done.returncode == -signal.SIGABRT, done
    assert "is not an empty std::map<AscendString, AscendString>" in done.stderr


def test_the_options_map_is_libstdcxx_layout() -> None:
    assert ctypes.sizeof(StdMap) == 48
    m = empty_std_map()
    header = ctypes.addressof(m) + 8
    assert (m.header.parent, m.header.left, m.header.right, m.node_count) == (
        None,
        header,
        header,
        0,
    )
