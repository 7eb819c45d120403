"""``ge._ffi.marshal``: Python values as the ABI's C arrays and strings, and the one
way a failed C call becomes an exception (GE's or ACL's message read once)."""

from __future__ import annotations

import ctypes
from typing import Any

import pytest

from ge._ffi import api
from ge._ffi import status as S
from ge._ffi.marshal import (
    COptions,
    acl_error,
    check_acl,
    check_ge,
    decode,
    encode_text,
    failure,
    ge_error,
    last_ge_message,
    take_string,
)
from ge.error import AclError, GeError


def test_options_as_three_c_arguments() -> None:
    options = COptions({"ge.exec.deviceId": "0", "ké": "vé"})
    keys, values, size = options.args
    assert size == 2
    assert [keys[i] for i in range(size)] == [b"ge.exec.deviceId", "ké".encode()]
    assert [values[i] for i in range(size)] == [b"0", "vé".encode()]
    empty = COptions({})
    assert empty.size == 0 and len(empty.keys) == 1  # never a zero-length array
    with pytest.raises(ValueError, match="option value must not contain NUL"):
        COptions({"k": "a\0b"})


def test_text_for_c() -> None:
    assert encode_text("héllo", "name") == "héllo".encode()
    with pytest.raises(TypeError, match="name must be a str, not bytes"):
        encode_text(b"x", "name")
    with pytest.raises(ValueError, match="NUL"):
        encode_text("a\0", "name")
    assert decode(None) == "" and decode(b"") == ""
    assert decode(b"\xff ok") == "\ufffd ok"  # never raises on a bad byte


def test_a_caller_owned_string_is_read_and_freed(ge_stub: Any) -> None:
    graph = api.GeApiWrapper_Graph_CreateGraph(b"named")
    try:
        assert take_string(api.GeApiWrapper_Graph_GetName(graph)) == "named"
        assert take_string(None) is None and take_string(0) is None
    finally:
        api.GeApiWrapper_Graph_DestroyGraph(graph)


def test_ges_message_is_read_once_per_failure(ge_stub: Any) -> None:
    assert api.GeApiWrapper_GEInitialize(None, None, 1) == S.PARAM_INVALID  # queues a report
    err = ge_error("GEInitialize", S.PARAM_INVALID, {"k": 1})
    assert isinstance(err, GeError) and not isinstance(err, AclError)
    assert err.error_message and err.status == S.PARAM_INVALID and err.context == {"k": 1}
    assert last_ge_message() == ""  # the queue was drained by ge_error


def test_a_failure_of_the_package_reads_no_queue(ge_stub: Any) -> None:
    assert api.GeApiWrapper_GEInitialize(None, None, 1) == S.PARAM_INVALID
    err = failure("AddGraph", "already there", {"graph_id": 1}, S.GE_GRAPH_GRAPH_ALREADY_EXIST)
    assert err.error_message == "already there"
    assert str(err).startswith("AddGraph failed; graph_id=1, status=GE_GRAPH_GRAPH_ALREADY_EXIST")
    assert last_ge_message() != ""  # still queued: failure() left it


def test_check_raises_only_for_a_failure(ge_stub: Any) -> None:
    check_ge(0, "X")
    check_acl(0, "aclX")
    with pytest.raises(GeError) as info:
        check_ge(S.FAILED, "RunGraph", {"graph_id": 3})
    assert (info.value.api_name, info.value.status, info.value.context) == (
        "RunGraph",
        S.FAILED,
        {"graph_id": 3},
    )
    with pytest.raises(AclError) as acl_info:
        check_acl(S.ACL_ERROR_BAD_ALLOC, "aclrtMalloc")
    assert acl_info.value.status_name == "ACL_ERROR_BAD_ALLOC" and acl_info.value.context == {}
    assert isinstance(acl_error("aclrtFree", 1, {}), AclError)


def test_the_callback_types_match_ges_signatures() -> None:
    from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn

    assert MallocFn._restype_ is ctypes.c_void_p
    assert MallocFn._argtypes_ == (ctypes.c_void_p, ctypes.c_size_t)
    assert FreeFn._restype_ is None and GetAddrFn._argtypes_ == (ctypes.c_void_p,)
    assert OnDestroyFn._restype_ is None
