"""The exceptions: message format, attributes, names of codes, pickling."""

from __future__ import annotations

import pickle

import pytest

from ge._ffi import status
from ge.error import AclError, GeError, LibraryNotFoundError, MissingSymbolError


def test_ge_error_message_format() -> None:
    err = GeError(
        "RunGraphWithStreamAsync",
        status.GE_GRAPH_GRAPH_NOT_EXIST,
        "graph 7 not found",
        {"graph_id": 7, "stream": 0x5E00},
    )
    assert str(err) == (
        "RunGraphWithStreamAsync failed; graph_id=7; stream=0x5e00; "
        "GE_GRAPH_GRAPH_NOT_EXIST (1343242242); graph 7 not found"
    )
    assert err.status == 1343242242
    assert err.status_name == "GE_GRAPH_GRAPH_NOT_EXIST"
    assert err.api_name == "RunGraphWithStreamAsync"
    assert err.context == {"graph_id": 7, "stream": 0x5E00}
    assert err.error_message == "graph 7 not found"
    assert isinstance(err, RuntimeError)


def test_without_status_or_message() -> None:
    assert str(GeError("CreateSession")) == "CreateSession failed"
    assert GeError("CreateSession").status_name is None


def test_unknown_codes_are_named_as_unknown() -> None:
    assert GeError("AddGraph", 12345).status_name == "UNKNOWN_GE_STATUS"
    assert AclError("aclrtMalloc", 12345).status_name == "UNKNOWN_ACL_ERROR"


def test_acl_error_uses_acl_names() -> None:
    err = AclError("aclrtMalloc", status.ACL_ERROR_BAD_ALLOC, "out of memory")
    assert isinstance(err, GeError)
    assert str(err) == "aclrtMalloc failed; ACL_ERROR_BAD_ALLOC (200000); out of memory"


@pytest.mark.parametrize(
    "err",
    [
        GeError("AddGraph", 1343242243, "dup", {"graph_id": 1}),
        AclError("aclInit", 100002, "again"),
        MissingSymbolError("GeApiWrapper_Session_CompileGraph", "libx.so"),
        LibraryNotFoundError("acl", [("/a/libascendcl.so", "no such file")], "set X"),
    ],
)
def test_errors_pickle(err: GeError) -> None:
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is type(err)
    assert str(back) == str(err)
    assert back.status == err.status and back.context == err.context


def test_status_tables_are_consistent() -> None:
    for table in (status.GE_STATUS, status.ACL_STATUS):
        for code, info in table.items():
            assert info.code == code and info.name and info.meaning
            assert getattr(status, info.name, code) == code
    assert status.ge_status_name(0) == "SUCCESS"
    assert status.acl_status_name(0) == "ACL_SUCCESS"
