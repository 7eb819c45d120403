"""The status codes against the stand-in's C definitions and the codes ABI.md lists:
one set of numbers, written in C and in Python (the enums ``Status`` and
``AclStatus``, from which ``ge._ffi.status`` makes its tables), checked here."""

from __future__ import annotations

import pickle
import re

import pytest

import ge
from ge._ffi import status
from ge.error import AclError, AclStatus, GeError, Status
from ge.testing import stub_source_dir

_DEFINE = re.compile(r"^#define\s+((?:GE|ACL|GRAPH)_[A-Z0-9_]+)\s+(\d+)u?\s*$", re.M)


def _c_codes() -> dict[str, int]:
    text = (stub_source_dir() / "stub_internal.h").read_text()
    return {name: int(value) for name, value in _DEFINE.findall(text)}


def _python_name(c_name: str) -> str:
    """The stand-in spells GE's unprefixed codes (SUCCESS, FAILED, ...) with GE_."""
    bare = c_name.removeprefix("GE_")
    if bare in {info.name for info in status.GE_STATUS.values()} and c_name not in {
        info.name for info in status.GE_STATUS.values()
    }:
        return bare
    return c_name


def test_every_c_status_define_is_named_alike_in_python() -> None:
    python = {info.name: info.code for info in status.GE_STATUS.values()}
    python.update({info.name: info.code for info in status.ACL_STATUS.values()})
    python["ACL_SUCCESS"] = 0
    defines = _c_codes()
    assert defines, "no #define found: the header moved?"
    for c_name, code in defines.items():
        name = _python_name(c_name)
        assert python.get(name) == code, f"{c_name} = {code} in C, {name} = {python.get(name)}"


def test_the_codes_abi_md_names_are_all_in_the_tables() -> None:
    ge_codes = {
        "SUCCESS": 0, "FAILED": 4294967295, "PARAM_INVALID": 1343225857,
        "INTERNAL_ERROR": 1343225860, "UNSUPPORTED": 1343225956,
        "GE_CLI_GE_ALREADY_INITIALIZED": 1343229962, "GE_CLI_GE_NOT_INITIALIZED": 1343229963,
        "GE_SESS_GRAPH_NOT_EXIST": 1343238146, "GE_SESS_GRAPH_ALREADY_EXIST": 1343238147,
        "GE_SESSION_NOT_EXIST": 1343238149, "GE_SESSION_MANAGER_NOT_INIT": 1343238150,
        "GE_GRAPH_ALREADY_RUNNING": 1343242241, "GE_GRAPH_GRAPH_NOT_EXIST": 1343242242,
        "GE_GRAPH_GRAPH_ALREADY_EXIST": 1343242243, "GE_GRAPH_MALLOC_FAILED": 1343242245,
        "GE_GRAPH_PARAM_NULLPTR": 1343242248, "GE_GRAPH_EXECUTE_FAILED": 1343242261,
        "GE_GRAPH_NOT_BUILT": 1343242295, "GRAPH_PARAM_INVALID": 50331649,
        "ACL_ERROR_GE_PARAM_INVALID": 145000, "ACL_ERROR_GE_EXEC_NOT_INIT": 145001,
        "ACL_ERROR_GE_MEMORY_ALLOCATION": 245000, "ACL_ERROR_GE_INTERNAL_ERROR": 545000,
    }  # fmt: skip
    acl_codes = {
        "ACL_SUCCESS": 0, "ACL_ERROR_INVALID_PARAM": 100000, "ACL_ERROR_UNINITIALIZE": 100001,
        "ACL_ERROR_REPEAT_INITIALIZE": 100002, "ACL_ERROR_REPEAT_FINALIZE": 100037,
        "ACL_ERROR_RT_CONTEXT_NULL": 107002, "ACL_ERROR_BAD_ALLOC": 200000,
        "ACL_ERROR_API_NOT_SUPPORT": 200001, "ACL_ERROR_INVALID_DEVICE": 200002,
        "ACL_ERROR_INVALID_RESOURCE_HANDLE": 200005, "ACL_ERROR_STORAGE_OVER_LIMIT": 300000,
        "ACL_ERROR_INTERNAL_ERROR": 500000, "ACL_ERROR_FAILURE": 500001,
    }  # fmt: skip
    for name, code in ge_codes.items():
        assert status.ge_status_name(code) == name
    for name, code in acl_codes.items():
        assert status.acl_status_name(code) == name


def test_the_enums_are_the_c_defines() -> None:
    enums = {member.name: int(member) for member in [*Status, *AclStatus]}
    defines = {_python_name(name): code for name, code in _c_codes().items()}
    defines.setdefault("ACL_SUCCESS", 0)
    assert {name: enums.get(name) for name in defines} == defines
    assert set(enums) - set(defines) == set(), "a code of the enums the stand-in lacks"


def test_the_tables_and_constants_are_made_from_the_enums() -> None:
    assert {int(m): m.info for m in Status} == status.GE_STATUS
    assert {int(m): m.info for m in AclStatus} == status.ACL_STATUS
    assert status.GE_GRAPH_GRAPH_NOT_EXIST == Status.GE_GRAPH_GRAPH_NOT_EXIST
    assert type(status.GE_GRAPH_GRAPH_NOT_EXIST) is int
    assert status.ACL_ERROR_BAD_ALLOC == AclStatus.ACL_ERROR_BAD_ALLOC
    assert all(m.meaning for m in [*Status, *AclStatus])
    assert Status.SUCCESS == AclStatus.ACL_SUCCESS == 0


def test_the_enums_are_public_and_compare_with_a_status() -> None:
    assert ge.Status is Status is ge.error.Status and ge.AclStatus is AclStatus
    assert (Status.__module__, repr(Status.FAILED)) == ("ge.error", "<Status.FAILED: 4294967295>")
    assert pickle.loads(pickle.dumps(Status.UNSUPPORTED)) is Status.UNSUPPORTED
    err = GeError.from_call("AddGraph", status.GE_GRAPH_GRAPH_ALREADY_EXIST)
    assert err.status == Status.GE_GRAPH_GRAPH_ALREADY_EXIST and type(err.status) is int
    assert Status(err.status) is Status.GE_GRAPH_GRAPH_ALREADY_EXIST
    unknown = GeError.from_call("RunGraph", 12345)
    assert unknown.status == 12345 and unknown.status_name == "UNKNOWN_GE_STATUS"
    with pytest.raises(ValueError):
        Status(12345)
    acl = AclError.from_call("aclrtMalloc", 200000)
    assert AclStatus(acl.status) is AclStatus.ACL_ERROR_BAD_ALLOC
