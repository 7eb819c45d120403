"""The stand-in itself, driven through ``ge._ffi``: the misuse codes of ABI.md,
deferred stream work, allocator callback order, fault injection, counters."""

from __future__ import annotations

import ctypes
import re
import signal
import subprocess
import sys
import textwrap
from ctypes import byref, c_void_p
from pathlib import Path
from typing import Any

import pytest
from _helpers.stub_calls import ge_message, graph_add, opts, run, tensor
from _helpers.threads import run_threads

from ge._ffi import api
from ge._ffi import status as S
from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn
from ge._ffi.handles import StreamHandle

F32 = 0


def read_f32(handle: int, n: int) -> list[float]:
    return list((ctypes.c_float * n).from_address(api._ZNK2ge6Tensor7GetDataEv(handle)))


def test_ge_lifecycle_codes(ge_stub: Any) -> None:
    """ABI.md 4.1: the public ge::Session methods say FAILED for nearly everything."""
    g = graph_add()
    assert api.GeApiWrapper_GEInitialize(*opts(**{"ge.exec.deviceId": "x"})) == (
        S.ACL_ERROR_GE_PARAM_INVALID
    )
    assert api.GeApiWrapper_GEInitialize(*opts(**{"": "x"})) == S.FAILED  # empty key
    assert "(E10059): " in ge_message()
    assert api.GeApiWrapper_GEInitialize(None, None, 0) == S.PARAM_INVALID
    assert "Assert ((keys) != nullptr) failed" in ge_message()
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0  # twice: success, as in ge_api.cc
    s = api.GeApiWrapper_Session_CreateSession()
    assert api.GeApiWrapper_Session_AddGraph(s, 1, None) == S.PARAM_INVALID
    assert "E19999" in ge_message()
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == 0
    assert api.GeApiWrapper_Session_AddGraph(s, 1, g) == S.FAILED  # duplicate id
    assert api.GeApiWrapper_Session_RemoveGraph(s, 2) == S.FAILED  # missing id
    assert run(s, 2, [])[0] == S.GE_GRAPH_GRAPH_NOT_EXIST  # RunGraph's one precise code
    assert run(s, 1, [])[0] == S.FAILED  # wrong input count: PARAM_INVALID, > 9,999,999
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.GeApiWrapper_GEFinalize() == 0  # before/after init: success
    assert api.GeApiWrapper_Session_RemoveGraph(s, 1) == S.FAILED  # GE not initialised
    assert "E10062" in ge_message()
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    assert api.GeApiWrapper_Session_RemoveGraph(s, 1) == S.FAILED  # dead for good
    assert ge_stub.live_counts()["session_graphs"] == 0
    api.GeApiWrapper_Session_DestroySession(s)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.GeApiWrapper_GEFinalize() == 0


def test_acl_misuse_codes(ge_stub: Any) -> None:
    p = c_void_p()
    assert api.aclrtMalloc(byref(p), 16, 0) == S.ACL_ERROR_UNINITIALIZE
    assert api.aclFinalize() == S.ACL_ERROR_REPEAT_FINALIZE
    assert api.aclInit(None) == 0
    assert api.aclInit(None) == S.ACL_ERROR_REPEAT_INITIALIZE
    assert api.aclrtSetDevice(1) == S.ACL_ERROR_INVALID_DEVICE
    assert api.aclrtMalloc(byref(p), 0, 0) == S.ACL_ERROR_INVALID_PARAM
    assert api.aclrtMalloc(byref(p), 16, 7) == S.ACL_ERROR_INVALID_PARAM
    ge_stub.set_memory_limit(1024)
    assert api.aclrtMalloc(byref(p), 2048, 0) == S.ACL_ERROR_BAD_ALLOC
    assert api.aclrtMalloc(byref(p), 16, 0) == 0
    host = ctypes.create_string_buffer(64)
    assert api.aclrtMemcpy(p, 16, host, 32, 1) == S.ACL_ERROR_INVALID_PARAM  # count > dst_max
    assert api.aclrtMemcpy(p, 16, host, 16, 9) == S.ACL_ERROR_INVALID_PARAM  # bad kind
    assert api.aclrtMemcpy(host, 64, host, 16, 2) == S.ACL_ERROR_INVALID_PARAM  # src not device
    assert api.aclrtMemcpy((p.value or 0) + 8, 16, host, 16, 1) == S.ACL_ERROR_INVALID_PARAM
    assert api.aclrtMemcpy(p, 16, host, 16, 4) == 0  # DEFAULT infers host-to-device
    assert api.aclrtFree((p.value or 0) + 1) == S.ACL_ERROR_INVALID_PARAM
    assert api.aclrtFree(p) == 0
    assert api.aclrtFree(p) == S.ACL_ERROR_INVALID_PARAM  # double free
    assert b"aclrtFree" in api.aclGetRecentErrMsg()
    s = StreamHandle()
    assert api.aclrtCreateStream(byref(s)) == 0
    assert api.aclrtDestroyStream(s) == 0
    with ge_stub.tidy_misuse():  # dead and made-up handles: tidy codes, not the default abort
        assert api.aclrtSynchronizeStream(s) == S.ACL_ERROR_INVALID_RESOURCE_HANDLE
        assert api.aclrtSynchronizeStream(0xDEADBEEF) == S.ACL_ERROR_INVALID_RESOURCE_HANDLE
    # NULL is ACL's default stream, which needs a device (its context) on this thread
    assert api.aclrtSynchronizeStream(None) == S.ACL_ERROR_RT_CONTEXT_NULL
    assert api.aclrtSetDevice(0) == 0
    assert api.aclrtSynchronizeStream(None) == 0
    assert api.aclrtMemcpyAsync(host, 64, None, 0, 2, None) == 0  # count 0: nothing to do
    assert api.aclrtDestroyStream(None) == S.ACL_ERROR_INVALID_PARAM
    assert api.aclrtResetDevice(0) == 0
    assert api.aclFinalize() == 0


def test_copies_find_their_device_block_among_many(ge_stub: Any) -> None:
    """The device regions are found by address (a search tree): every
    rule of a copy still holds with many blocks, some freed in between."""
    assert api.aclInit(None) == 0
    host = ctypes.create_string_buffer(128)
    blocks = []
    for i in range(300):
        p = c_void_p()
        size = 16 + (i * 37) % 64
        assert api.aclrtMalloc(byref(p), size, 0) == 0
        blocks.append((p.value or 0, size))
    freed = blocks[::3]
    for p, _ in freed:
        assert api.aclrtFree(p) == 0
    live = [b for b in blocks if b not in freed]
    for (p, size), (other, _) in zip(live, live[1:] + live[:1]):
        assert api.aclrtMemset(p, size, 1, size) == 0  # the whole block
        assert api.aclrtMemcpy(host, 128, p, size, 2) == 0  # device to host
        assert api.aclrtMemcpy(host, 128, p + 1, size, 2) == S.ACL_ERROR_INVALID_PARAM  # past
        assert api.aclrtMemcpy(p, size, other, size, 1) == S.ACL_ERROR_INVALID_PARAM  # not host
        assert api.aclrtMemcpy(p, size, host, size, 4) == 0  # DEFAULT: host to device
        assert api.aclrtFree(p + 8) == S.ACL_ERROR_INVALID_PARAM  # not a base
    for p, size in freed:
        assert api.aclrtMemset(p, size, 1, size) == S.ACL_ERROR_INVALID_PARAM
        assert api.aclrtFree(p) == S.ACL_ERROR_INVALID_PARAM
    ge_message()
    for p, _ in live:
        assert api.aclrtFree(p) == 0
    assert ge_stub.live_counts()["device_blocks"] == 0
    assert api.aclFinalize() == 0


def test_more_live_handles_than_the_tables_first_buckets(ge_stub: Any) -> None:
    """The handle table grows past its first 4096 buckets and finds every handle."""
    handles = [tensor([float(i)]) for i in range(5000)]
    assert len(set(handles)) == len(handles)
    for i, h in enumerate(handles[::7]):
        assert read_f32(h, 1) == [float(7 * i)]
    for h in handles:
        api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
    assert ge_stub.live_counts()["tensors"] == 0


def test_stream_work_is_deferred_until_synchronize(ge_stub: Any) -> None:
    assert api.aclInit(None) == 0
    s, dev = StreamHandle(), c_void_p()
    assert api.aclrtCreateStream(byref(s)) == 0
    assert api.aclrtMalloc(byref(dev), 8, 0) == 0
    assert api.aclrtMemset(dev, 8, 0, 8) == 0
    src = ctypes.create_string_buffer(b"abcdefgh", 8)
    dst = ctypes.create_string_buffer(8)
    assert api.aclrtMemcpyAsync(dev, 8, src, 8, 1, s) == 0
    assert api.aclrtMemcpy(dst, 8, dev, 8, 2) == 0
    assert dst.raw == b"\0" * 8  # not yet
    assert api.aclrtSynchronizeStream(s) == 0
    assert api.aclrtMemcpy(dst, 8, dev, 8, 2) == 0
    assert dst.raw == b"abcdefgh"
    # memory freed while a copy into it is queued: skipped, the synchronize reports it
    assert api.aclrtMemcpyAsync(dev, 8, src, 8, 1, s) == 0
    assert api.aclrtFree(dev) == 0
    assert api.aclrtSynchronizeStream(s) == S.ACL_ERROR_FAILURE
    # destroying a stream drains its queue
    assert api.aclrtMalloc(byref(dev), 8, 0) == 0
    assert api.aclrtMemcpyAsync(dev, 8, src, 8, 1, s) == 0
    assert ge_stub.pending_work(s.value) == 1
    assert api.aclrtDestroyStream(s) == 0
    assert api.aclrtMemcpy(dst, 8, dev, 8, 2) == 0 and dst.raw == b"abcdefgh"
    assert api.aclrtFree(dev) == 0
    assert api.aclFinalize() == 0


def test_allocator_callback_order_and_on_destroy_once(ge_stub: Any) -> None:
    assert api.aclInit(None) == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    s = StreamHandle()
    assert api.aclrtCreateStream(byref(s)) == 0
    session = api.GeApiWrapper_Session_CreateSession()
    g = graph_add(2)
    assert api.GeApiWrapper_Session_AddGraph(session, 1, g) == 0
    a, b = tensor([1, 2]), tensor([10, 20])
    calls: list[tuple[str, int]] = []
    memory: dict[int, Any] = {}

    def malloc(obj: Any, size: int) -> int:
        ptr = c_void_p()
        assert api.aclrtMalloc(byref(ptr), size, 0) == 0  # re-entering the library
        memory[len(memory) + 100] = ptr.value
        calls.append(("malloc", size))
        return len(memory) + 99

    def free(obj: Any, block: int) -> None:
        calls.append(("free", block))
        assert api.aclrtFree(memory.pop(block)) == 0

    def get_addr(block: int) -> int:
        calls.append(("get_addr", block))
        return int(memory[block])

    def on_destroy(user: int) -> None:
        calls.append(("on_destroy", user))

    cbs = (MallocFn(malloc), FreeFn(free), GetAddrFn(get_addr), OnDestroyFn(on_destroy))
    assert api.GeApiWrapper_Session_RegisterExternalAllocator(session, s, *cbs, 5) == 0
    st, (out,) = run(session, 1, [a, b], s.value)
    assert st == 0
    # first run on the stream: the graph is loaded, its const and feature-map
    # memory first, then the output, padded: 8 bytes -> 32 + 32
    assert calls == [
        ("malloc", 512), ("get_addr", 100), ("malloc", 4160), ("get_addr", 101),
        ("malloc", 64), ("get_addr", 102),
    ]  # fmt: skip
    assert read_f32(out, 2) == [0.0, 0.0]  # fresh memory, stale until synchronize
    assert api.aclrtSynchronizeStream(s) == 0
    host = (ctypes.c_float * 2)()
    assert api.aclrtMemcpy(host, 8, api._ZNK2ge6Tensor7GetDataEv(out), 8, 2) == 0
    assert list(host) == [11.0, 22.0]
    assert api.GeApiWrapper_Session_UnregisterExternalAllocator(session, s) == 0
    api.GeApiWrapper_Tensor_DestroyEsCTensor(out)
    assert calls[-1] == ("free", 102)
    assert ("on_destroy", 5) not in calls  # the loaded graph still holds two blocks
    api.GeApiWrapper_Session_DestroySession(session)  # unloads it
    assert sorted(calls[-3:-1]) == [("free", 100), ("free", 101)]
    assert calls[-1] == ("on_destroy", 5)
    assert ge_stub.callback_counts() == {"malloc": 3, "free": 3, "get_addr": 3, "on_destroy": 1}
    for h in (a, b):
        api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
    api.GeApiWrapper_Graph_DestroyGraph(g)
    assert api.aclrtDestroyStream(s) == 0
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.aclFinalize() == 0


def test_fault_injection_hits_the_nth_call_only(ge_stub: Any) -> None:
    assert api.aclInit(None) == 0
    ge_stub.fail_next("aclrtMalloc", S.ACL_ERROR_BAD_ALLOC, nth=2)
    p = [c_void_p() for _ in range(3)]
    assert api.aclrtMalloc(byref(p[0]), 8, 0) == 0
    assert api.aclrtMalloc(byref(p[1]), 8, 0) == S.ACL_ERROR_BAD_ALLOC
    assert b"inject" in api.aclGetRecentErrMsg()
    assert p[1].value is None  # no other effect
    assert api.aclrtMalloc(byref(p[2]), 8, 0) == 0
    assert ge_stub.live_counts()["device_blocks"] == 2
    ge_stub.fail_next("GeApiWrapper_Session_CreateSession", S.FAILED)
    assert not api.GeApiWrapper_Session_CreateSession()
    assert ge_stub.faults_pending() == 0
    with pytest.raises(ValueError):
        ge_stub.fail_next("not_a_function", 1)
    for q in (p[0], p[2]):
        assert api.aclrtFree(q) == 0
    assert api.aclFinalize() == 0


def test_every_failable_function_is_declared(ge_stub: Any) -> None:
    from ge._ffi.signatures import SPECS_BY_NAME

    failable = ge_stub.failable_functions()
    assert len(failable) > 40
    assert set(failable) <= set(SPECS_BY_NAME)


def test_text_rendering_of_special_values(ge_stub: Any) -> None:
    t = tensor([1.5, float("nan"), float("inf"), -float("inf"), -0.0])
    raw = api.GeApiWrapper_Tensor_GetData(t)
    text = ctypes.string_at(raw).decode()
    api.GeApiWrapper_FreeString(raw)
    assert text == "[1.500000,nan,inf,-inf,-0.000000]"  # std::to_string (tensor_value_utils.cc)
    api.GeApiWrapper_Tensor_DestroyEsCTensor(t)


def test_threads_on_their_own_sessions_and_streams(ge_stub: Any) -> None:
    assert api.aclInit(None) == 0
    assert api.GeApiWrapper_GEInitialize(*opts()) == 0
    failures: list[str] = []

    def work(k: int) -> None:
        session = api.GeApiWrapper_Session_CreateSession()
        s = StreamHandle()
        api.aclrtCreateStream(byref(s))
        g = graph_add(3)
        api.GeApiWrapper_Session_AddGraph(session, 1, g)
        api.GeApiWrapper_Session_RegisterDefaultAllocator(session, s)
        for i in range(50):
            a, b = tensor([k, i, 1]), tensor([1, 1, 1])
            st, (out,) = run(session, 1, [a, b], s.value)
            api.aclrtSynchronizeStream(s)
            host = (ctypes.c_float * 3)()
            api.aclrtMemcpy(host, 12, api._ZNK2ge6Tensor7GetDataEv(out), 12, 2)
            if st or list(host) != [k + 1, i + 1, 2]:
                failures.append(f"{k}/{i}: {st} {list(host)}")
            for h in (a, b, out):
                api.GeApiWrapper_Tensor_DestroyEsCTensor(h)
        api.GeApiWrapper_Session_UnregisterExternalAllocator(session, s)
        api.GeApiWrapper_Graph_DestroyGraph(g)
        api.GeApiWrapper_Session_DestroySession(session)
        api.aclrtDestroyStream(s)

    run_threads(work, [(k,) for k in range(4)], timeout=120)
    assert failures == []
    assert api.GeApiWrapper_GEFinalize() == 0
    assert api.aclFinalize() == 0


# -- strict mode: where CANN would crash, the stand-in aborts ----------------------


def _child(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a Python child on the stand-in the suite uses."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )


def test_dead_and_foreign_handles_abort_by_default(ge_stub_library: str, tmp_path: Path) -> None:
    prelude = """
        import ctypes
        from ctypes import byref, c_void_p
        from ge._ffi import api
        from ge._ffi.handles import SessionHandle, StreamHandle
        api.GeStub_Reset()
        assert api.aclInit(None) == 0
    """
    dead_stream = """
        s = StreamHandle()
        assert api.aclrtCreateStream(byref(s)) == 0
        assert api.aclrtDestroyStream(s) == 0
        print(hex(s.value), flush=True)
        api.aclrtSynchronizeStream(s)
        print("survived", flush=True)
    """
    done = _child(prelude + dead_stream, tmp_path)
    assert done.returncode == -signal.SIGABRT, done
    handle = done.stdout.split()[0]
    assert "survived" not in done.stdout
    line = f"ge_stub: aclrtSynchronizeStream: dead or foreign Stream handle {handle}"
    assert line in done.stderr.splitlines(), done.stderr

    wrong_kind = """
        t = api.GeApiWrapper_Tensor_CreateTensor()
        try:  # refused in Python: a tensor is no session (ge._ffi.handles)
            api.GeApiWrapper_Session_AddGraph(t, 1, None)
        except ctypes.ArgumentError:
            pass
        api.GeApiWrapper_Session_AddGraph(SessionHandle(t.value), 1, None)  # forced through
    """
    done = _child(prelude + wrong_kind, tmp_path)
    assert done.returncode == -signal.SIGABRT, done
    assert re.search(
        r"^ge_stub: GeApiWrapper_Session_AddGraph: dead or foreign Session handle "
        r"0x5e0*[0-9a-f]+ \(a live Tensor\)$",
        done.stderr,
        re.M,
    ), done.stderr

    made_up_tidy = """
        api.GeStub_SetMisuseAborts(0)
        print(api.GeApiWrapper_Tensor_GetDataType(0x5E0000DEAD00))
        api.GeStub_Reset()  # strict again
        api.GeApiWrapper_Tensor_GetDataType(0x5E0000DEAD00)
    """
    done = _child(prelude + made_up_tidy, tmp_path)
    assert done.returncode == -signal.SIGABRT, done
    assert done.stdout.split() == ["0"]  # GE_ASSERT_NOTNULL's 0 of an enum function
    assert "GeApiWrapper_Tensor_GetDataType: dead or foreign Tensor handle" in done.stderr


def test_null_handles_keep_their_tidy_values(ge_stub: Any) -> None:
    """NULL is checked (or allowed) where it was before: no abort, even strict."""
    assert api.GeApiWrapper_Tensor_GetDataType(None) == 0  # DT_FLOAT (c_tensor.cc)
    assert api.GeApiWrapper_Session_AddGraph(None, 1, None) == S.PARAM_INVALID
    api.GeApiWrapper_Tensor_DestroyEsCTensor(None)
    api.GeApiWrapper_Graph_DestroyGraph(None)
    assert not api.EsAdd(None, None)


PYTEST = (sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider")


def test_the_fixture_is_strict_in_every_test(ge_stub_library: str, tmp_path: Path) -> None:
    (tmp_path / "test_child.py").write_text(
        textwrap.dedent(
            """
            from ge._ffi import api

            def test_a_tidy(ge_stub):
                ge_stub.set_misuse_aborts(False)  # and never restored by the test
                assert api.GeApiWrapper_Tensor_GetFormat(0x5E0000BEEF00) == 0

            def test_b_strict(ge_stub):
                api.GeApiWrapper_Tensor_GetFormat(0x5E0000BEEF00)
                print("NOT STRICT")
            """
        )
    )
    done = subprocess.run(
        [*PYTEST, "-p", "ge.testing.pytest_plugin", "test_child.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == -signal.SIGABRT, done
    assert "NOT STRICT" not in done.stdout
    assert "GeApiWrapper_Tensor_GetFormat: dead or foreign Tensor handle 0x5e0000beef00" in (
        done.stderr
    )


# -- caller-owned strings (c_graph.cc / c_tensor.cc: AscendStringToChar) ------------


def test_names_and_text_are_caller_owned_and_freed_with_free_string(ge_stub: Any) -> None:
    graph = api.GeApiWrapper_Graph_CreateGraph(b"owned")
    names = [api.GeApiWrapper_Graph_GetName(graph) for _ in range(3)]
    assert len(set(names)) == 3, "each call hands out a new copy"
    assert ctypes.string_at(names[0]) == b"owned"
    assert ge_stub.live_counts()["strings"] == 3
    for name in names:
        api.GeApiWrapper_FreeString(name)
    api.GeApiWrapper_FreeString(None)  # free(NULL)
    assert ge_stub.live_counts()["strings"] == 0
    api.GeApiWrapper_Graph_DestroyGraph(graph)


def test_freeing_a_string_the_library_did_not_hand_out_aborts(
    ge_stub_library: str, tmp_path: Path
) -> None:
    code = """
        import ctypes
        from ge._ffi import api
        api.GeStub_Reset()
        buffer = ctypes.create_string_buffer(b"mine")
        api.GeApiWrapper_FreeString(ctypes.addressof(buffer))
        print("survived", flush=True)
    """
    done = _child(code, tmp_path)
    assert done.returncode == -signal.SIGABRT, done
    assert "survived" not in done.stdout
    assert "GeApiWrapper_FreeString: 0x" in done.stderr
    assert "is not a string the library handed out" in done.stderr
