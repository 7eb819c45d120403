"""The exceptions: CANN's constructor and text layout, the status code, pickling,
and CANN's helpers ``raise_ge_error`` / ``get_ge_error_msg``."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from _helpers.stub_calls import FAILED, opts
from hypothesis import given
from hypothesis import strategies as st

import ge.session
from ge._ffi import api, status
from ge.error import (
    AclError,
    CannVersionError,
    GeError,
    LibraryNotFoundError,
    MissingSymbolError,
    get_ge_error_msg,
    raise_ge_error,
)


def test_cann_constructor_and_attributes() -> None:
    err = GeError("RunGraph failed; graph_id=1; boom")
    assert str(err) == "RunGraph failed; graph_id=1; boom"
    assert (err.error_message, err.api_name, err.context) == (None, None, {})
    assert (err.status, err.status_name) == (None, None)
    err = GeError("m", error_message="x", api_name="AddGraph", context={"graph_id": 3})
    assert (str(err), err.error_message, err.api_name, err.context) == (
        "m",
        "x",
        "AddGraph",
        {"graph_id": 3},
    )
    assert isinstance(err, RuntimeError)
    assert ge.session.GeError is GeError


def test_text_layout_with_the_status_as_the_last_context_item() -> None:
    err = GeError.from_call(
        "RunGraphWithStreamAsync",
        status.FAILED,
        "E19999: Internal error!",
        {"graph_id": 7, "stream": 0x5E00},
    )
    assert str(err) == (
        "RunGraphWithStreamAsync failed; graph_id=7, stream=0x5e00, "
        "status=FAILED (4294967295); E19999: Internal error!"
    )
    api_part, context_part, message = str(err).split("; ", 2)
    assert api_part == "RunGraphWithStreamAsync failed"
    assert dict(item.split("=", 1) for item in context_part.split(", ")) == {
        "graph_id": "7",
        "stream": "0x5e00",
        "status": "FAILED (4294967295)",
    }
    assert message == err.error_message
    assert err.context == {"graph_id": 7, "stream": "0x5e00"}  # CANN's text for a stream
    assert (err.status, err.status_name, err.api_name) == (
        4294967295,
        "FAILED",
        "RunGraphWithStreamAsync",
    )


def test_layout_without_context_status_or_message() -> None:
    assert str(GeError.from_call("CreateSession")) == "CreateSession failed"
    assert str(GeError.from_call("CreateSession", None, "why")) == "CreateSession failed; why"
    err = GeError.from_call("GEFinalize", status.FAILED)
    assert str(err) == "GEFinalize failed; status=FAILED (4294967295)"
    assert err.error_message == "" and err.context == {}


@given(
    context=st.dictionaries(
        st.text("abcdefgh_", min_size=1, max_size=8),
        st.one_of(st.integers(0, 2**64), st.text("xyz", max_size=5)),
        max_size=4,
    ),
    code=st.one_of(st.none(), st.sampled_from(sorted(status.GE_STATUS))),
)
def test_the_layout_parses_back(context: dict[str, Any], code: Any) -> None:
    err = GeError.from_call("AddGraph", code, "GE says no", context)
    parts = str(err).split("; ")
    assert parts[0] == "AddGraph failed" and parts[-1] == "GE says no"
    items = [f"{k}={v}" for k, v in err.context.items()]
    if code is not None:
        items.append(f"status={status.ge_status_name(code)} ({code})")
    assert parts[1:-1] == ([", ".join(items)] if items else [])


def test_unknown_codes_are_named_as_unknown() -> None:
    assert GeError.from_call("AddGraph", 12345).status_name == "UNKNOWN_GE_STATUS"
    assert AclError.from_call("aclrtMalloc", 12345).status_name == "UNKNOWN_ACL_ERROR"


def test_acl_error_uses_acl_names() -> None:
    err = AclError.from_call("aclrtMalloc", status.ACL_ERROR_BAD_ALLOC, "out of memory")
    assert isinstance(err, AclError) and isinstance(err, GeError)
    assert str(err) == "aclrtMalloc failed; status=ACL_ERROR_BAD_ALLOC (200000); out of memory"


def test_the_load_errors_keep_their_text() -> None:
    err = LibraryNotFoundError("acl", [("/a/libascendcl.so", "no such file")], "set X")
    assert str(err).startswith("cannot load the 'acl' library; tried:\n  /a/libascendcl.so")
    assert err.api_name == "load acl" and err.error_message == str(err)
    missing = MissingSymbolError("GeSessionLoadGraph", "libge_runner.so")
    assert "GeSessionLoadGraph" in str(missing) and missing.api_name == "GeSessionLoadGraph"
    old = CannVersionError("libge_runtime_wrapper.so", ["GeApiWrapper_GEGetErrorMsg"], "9.1.0")
    assert "older than CANN 9.1.0" in str(old) and old.api_name == "load ge"


@pytest.mark.parametrize(
    "err",
    [
        GeError("plain"),
        GeError.from_call("AddGraph", 1343242243, "dup", {"graph_id": 1}),
        AclError.from_call("aclInit", 100002, "again"),
        MissingSymbolError("GeSessionLoadGraph", "libx.so"),
        LibraryNotFoundError("acl", [("/a/libascendcl.so", "no such file")], "set X"),
        CannVersionError("libge_runtime_wrapper.so", ["GeApiWrapper_GEGetErrorMsg"], "9.1.0"),
    ],
)
def test_errors_pickle(err: GeError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.status == err.status and back.context == err.context
    assert back.api_name == err.api_name and back.error_message == err.error_message


def test_raise_ge_error_reads_ges_message_once(ge_stub: Any) -> None:
    s = api.GeApiWrapper_Session_CreateSession()  # before GEInitialize: queues E10062
    assert api.GeApiWrapper_Session_RemoveGraph(s, 4) == FAILED
    with pytest.raises(GeError) as info:
        raise_ge_error("RemoveGraph", FAILED, graph_id=4)
    err = info.value
    assert (err.api_name, err.status, err.context) == ("RemoveGraph", FAILED, {"graph_id": 4})
    assert "(E10062)" in err.error_message and "call RemoveGraph" in err.error_message
    assert str(err).startswith("RemoveGraph failed; graph_id=4, status=FAILED (4294967295); [PID:")
    assert get_ge_error_msg() == ""  # drained by raise_ge_error
    api.GeApiWrapper_Session_DestroySession(s)


def test_get_ge_error_msg_drains_the_queue(ge_stub: Any) -> None:
    assert api.GeApiWrapper_GEInitialize(*opts(**{"": "x"})) == FAILED
    text = get_ge_error_msg()
    assert "(E10059)" in text
    assert get_ge_error_msg() == ""


def test_status_tables_are_consistent() -> None:
    for table in (status.GE_STATUS, status.ACL_STATUS):
        for code, info in table.items():
            assert info.code == code and info.name and info.meaning
            assert getattr(status, info.name, code) == code
    assert status.ge_status_name(0) == "SUCCESS"
    assert status.acl_status_name(0) == "ACL_SUCCESS"
