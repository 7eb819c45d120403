"""Status codes of GE (``ge/ge_error_codes.h``) and ACL (``acl/acl_base_rt.h``).

Each code has its symbolic name and a one-line meaning, so that an error can
print ``GE_GRAPH_GRAPH_NOT_EXIST (1343242242)``. Pure data: importing this
module loads no library.
"""

from __future__ import annotations

from typing import NamedTuple


class StatusInfo(NamedTuple):
    """One status code: its symbolic name, number and a one-line meaning."""

    name: str
    code: int
    meaning: str


_GE_CODES = (
    StatusInfo("SUCCESS", 0, "success"),
    StatusInfo("FAILED", 4294967295, "generic failure"),
    StatusInfo(
        "PARAM_INVALID", 1343225857, "an argument is invalid (a NULL check in GE's C wrapper)"
    ),
    StatusInfo("INTERNAL_ERROR", 1343225860, "GE internal error"),
    StatusInfo(
        "UNSUPPORTED",
        1343225956,
        "not supported (e.g. RunGraph of a graph compiled with CompileGraph)",
    ),
    StatusInfo("GE_CLI_GE_ALREADY_INITIALIZED", 1343229962, "GE is already initialised"),
    StatusInfo(
        "GE_CLI_GE_NOT_INITIALIZED", 1343229963, "GE is not initialised (GEInitialize first)"
    ),
    StatusInfo("GE_SESS_GRAPH_NOT_EXIST", 1343238146, "the session has no graph with this id"),
    StatusInfo(
        "GE_SESS_GRAPH_ALREADY_EXIST", 1343238147, "the session already has a graph with this id"
    ),
    StatusInfo("GE_SESSION_NOT_EXIST", 1343238149, "the session does not exist (closed)"),
    StatusInfo(
        "GE_SESSION_MANAGER_NOT_INIT",
        1343238150,
        "the session manager is not initialised (GE was finalized)",
    ),
    StatusInfo("GE_GRAPH_ALREADY_RUNNING", 1343242241, "the graph is already running"),
    StatusInfo("GE_GRAPH_GRAPH_NOT_EXIST", 1343242242, "no graph with this id"),
    StatusInfo("GE_GRAPH_GRAPH_ALREADY_EXIST", 1343242243, "a graph with this id already exists"),
    StatusInfo("GE_GRAPH_MALLOC_FAILED", 1343242245, "memory allocation for the graph failed"),
    StatusInfo("GE_GRAPH_PARAM_NULLPTR", 1343242248, "a required pointer argument is null"),
    StatusInfo("GE_GRAPH_EXECUTE_FAILED", 1343242261, "graph execution failed"),
    StatusInfo("GE_GRAPH_NOT_BUILT", 1343242295, "the graph is not compiled yet"),
    StatusInfo("GRAPH_PARAM_INVALID", 50331649, "an argument is invalid (graph API)"),
    StatusInfo("ACL_ERROR_GE_PARAM_INVALID", 145000, "an argument is invalid"),
    StatusInfo("ACL_ERROR_GE_EXEC_NOT_INIT", 145001, "GE execution is not initialised"),
    StatusInfo("ACL_ERROR_GE_MEMORY_ALLOCATION", 245000, "GE could not allocate memory"),
    StatusInfo("ACL_ERROR_GE_INTERNAL_ERROR", 545000, "GE internal error"),
)

_ACL_CODES = (
    StatusInfo("ACL_SUCCESS", 0, "success"),
    StatusInfo("ACL_ERROR_INVALID_PARAM", 100000, "an argument is invalid"),
    StatusInfo("ACL_ERROR_UNINITIALIZE", 100001, "ACL is not initialised (aclInit first)"),
    StatusInfo("ACL_ERROR_REPEAT_INITIALIZE", 100002, "ACL is already initialised"),
    StatusInfo("ACL_ERROR_REPEAT_FINALIZE", 100037, "ACL is already finalized"),
    StatusInfo("ACL_ERROR_RT_CONTEXT_NULL", 107002, "no device context on this thread"),
    StatusInfo("ACL_ERROR_BAD_ALLOC", 200000, "device memory allocation failed"),
    StatusInfo("ACL_ERROR_API_NOT_SUPPORT", 200001, "the API is not supported"),
    StatusInfo("ACL_ERROR_INVALID_DEVICE", 200002, "the device id is invalid"),
    StatusInfo(
        "ACL_ERROR_INVALID_RESOURCE_HANDLE", 200005, "the handle (stream, event...) is invalid"
    ),
    StatusInfo("ACL_ERROR_STORAGE_OVER_LIMIT", 300000, "storage over limit"),
    StatusInfo("ACL_ERROR_INTERNAL_ERROR", 500000, "ACL internal error"),
    StatusInfo("ACL_ERROR_FAILURE", 500001, "ACL failure"),
)

GE_STATUS: dict[int, StatusInfo] = {info.code: info for info in _GE_CODES}
"""GE status codes by number."""

ACL_STATUS: dict[int, StatusInfo] = {info.code: info for info in _ACL_CODES}
"""ACL error codes by number."""

_GE_BY_NAME = {info.name: info.code for info in _GE_CODES}
_ACL_BY_NAME = {info.name: info.code for info in _ACL_CODES}

SUCCESS = 0
FAILED = _GE_BY_NAME["FAILED"]
PARAM_INVALID = _GE_BY_NAME["PARAM_INVALID"]
INTERNAL_ERROR = _GE_BY_NAME["INTERNAL_ERROR"]
UNSUPPORTED = _GE_BY_NAME["UNSUPPORTED"]
GRAPH_PARAM_INVALID = _GE_BY_NAME["GRAPH_PARAM_INVALID"]
GE_CLI_GE_ALREADY_INITIALIZED = _GE_BY_NAME["GE_CLI_GE_ALREADY_INITIALIZED"]
GE_CLI_GE_NOT_INITIALIZED = _GE_BY_NAME["GE_CLI_GE_NOT_INITIALIZED"]
GE_SESS_GRAPH_NOT_EXIST = _GE_BY_NAME["GE_SESS_GRAPH_NOT_EXIST"]
GE_SESS_GRAPH_ALREADY_EXIST = _GE_BY_NAME["GE_SESS_GRAPH_ALREADY_EXIST"]
GE_SESSION_NOT_EXIST = _GE_BY_NAME["GE_SESSION_NOT_EXIST"]
GE_SESSION_MANAGER_NOT_INIT = _GE_BY_NAME["GE_SESSION_MANAGER_NOT_INIT"]
GE_GRAPH_ALREADY_RUNNING = _GE_BY_NAME["GE_GRAPH_ALREADY_RUNNING"]
GE_GRAPH_GRAPH_NOT_EXIST = _GE_BY_NAME["GE_GRAPH_GRAPH_NOT_EXIST"]
GE_GRAPH_GRAPH_ALREADY_EXIST = _GE_BY_NAME["GE_GRAPH_GRAPH_ALREADY_EXIST"]
GE_GRAPH_MALLOC_FAILED = _GE_BY_NAME["GE_GRAPH_MALLOC_FAILED"]
GE_GRAPH_PARAM_NULLPTR = _GE_BY_NAME["GE_GRAPH_PARAM_NULLPTR"]
GE_GRAPH_EXECUTE_FAILED = _GE_BY_NAME["GE_GRAPH_EXECUTE_FAILED"]
GE_GRAPH_NOT_BUILT = _GE_BY_NAME["GE_GRAPH_NOT_BUILT"]
ACL_ERROR_GE_PARAM_INVALID = _GE_BY_NAME["ACL_ERROR_GE_PARAM_INVALID"]
ACL_ERROR_GE_EXEC_NOT_INIT = _GE_BY_NAME["ACL_ERROR_GE_EXEC_NOT_INIT"]
ACL_ERROR_GE_MEMORY_ALLOCATION = _GE_BY_NAME["ACL_ERROR_GE_MEMORY_ALLOCATION"]
ACL_ERROR_GE_INTERNAL_ERROR = _GE_BY_NAME["ACL_ERROR_GE_INTERNAL_ERROR"]

ACL_SUCCESS = 0
ACL_ERROR_INVALID_PARAM = _ACL_BY_NAME["ACL_ERROR_INVALID_PARAM"]
ACL_ERROR_UNINITIALIZE = _ACL_BY_NAME["ACL_ERROR_UNINITIALIZE"]
ACL_ERROR_REPEAT_INITIALIZE = _ACL_BY_NAME["ACL_ERROR_REPEAT_INITIALIZE"]
ACL_ERROR_REPEAT_FINALIZE = _ACL_BY_NAME["ACL_ERROR_REPEAT_FINALIZE"]
ACL_ERROR_RT_CONTEXT_NULL = _ACL_BY_NAME["ACL_ERROR_RT_CONTEXT_NULL"]
ACL_ERROR_BAD_ALLOC = _ACL_BY_NAME["ACL_ERROR_BAD_ALLOC"]
ACL_ERROR_API_NOT_SUPPORT = _ACL_BY_NAME["ACL_ERROR_API_NOT_SUPPORT"]
ACL_ERROR_INVALID_DEVICE = _ACL_BY_NAME["ACL_ERROR_INVALID_DEVICE"]
ACL_ERROR_INVALID_RESOURCE_HANDLE = _ACL_BY_NAME["ACL_ERROR_INVALID_RESOURCE_HANDLE"]
ACL_ERROR_STORAGE_OVER_LIMIT = _ACL_BY_NAME["ACL_ERROR_STORAGE_OVER_LIMIT"]
ACL_ERROR_INTERNAL_ERROR = _ACL_BY_NAME["ACL_ERROR_INTERNAL_ERROR"]
ACL_ERROR_FAILURE = _ACL_BY_NAME["ACL_ERROR_FAILURE"]


def ge_status_name(code: int) -> str:
    """Symbolic name of a GE status code, ``UNKNOWN_GE_STATUS`` if unlisted."""
    info = GE_STATUS.get(code)
    return info.name if info is not None else "UNKNOWN_GE_STATUS"


def acl_status_name(code: int) -> str:
    """Symbolic name of an ACL error code, ``UNKNOWN_ACL_ERROR`` if unlisted."""
    info = ACL_STATUS.get(code)
    return info.name if info is not None else "UNKNOWN_ACL_ERROR"
