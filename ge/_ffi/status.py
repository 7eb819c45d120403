"""Status codes of GE (``ge/ge_error_codes.h``) and ACL (``acl/acl_base_rt.h``).

The one source of the numbers is the two enums below, :class:`Status` (GE's
codes, ``ge::Status`` / ``graphStatus``) and :class:`AclStatus` (ACL's
``aclError``): each member is its code, with its symbolic name and a one-line
meaning, so that an error can print ``GE_GRAPH_GRAPH_NOT_EXIST (1343242242)``.
The tables by number (``GE_STATUS``, ``ACL_STATUS``) and the plain ``int``
constants (``FAILED``, ``ACL_ERROR_BAD_ALLOC``, ...) are made from them.
``tests/unit/ffi/test_status_table.py`` checks the enums against the
stand-in's C ``#define``s. Both enums are public as ``ge.error.Status`` and
``ge.error.AclStatus``. Pure data: importing this module loads no library.
"""

from __future__ import annotations

from enum import IntEnum
from typing import NamedTuple

from typing_extensions import Self


class StatusInfo(NamedTuple):
    """One status code: its symbolic name, number and a one-line meaning."""

    name: str
    code: int
    meaning: str


class _Codes(IntEnum):
    """An ``IntEnum`` of status codes whose members also carry a ``meaning``."""

    meaning: str

    def __new__(cls, code: int, meaning: str) -> Self:
        member = int.__new__(cls, code)
        member._value_ = code
        member.meaning = meaning
        return member

    @property
    def info(self) -> StatusInfo:
        """The member as a :class:`StatusInfo`."""
        return StatusInfo(self.name, int(self), self.meaning)


class Status(_Codes):
    """GE's status codes. ``SUCCESS`` is 0; an ``int`` compares equal to its member,
    so ``err.status == Status.GE_GRAPH_GRAPH_NOT_EXIST`` reads as it should."""

    __module__ = "ge.error"

    SUCCESS = 0, "success"
    FAILED = 4294967295, "generic failure"
    PARAM_INVALID = 1343225857, "an argument is invalid (a NULL check in GE's C wrapper)"
    INTERNAL_ERROR = 1343225860, "GE internal error"
    UNSUPPORTED = 1343225956, "not supported (e.g. RunGraph of a graph compiled with CompileGraph)"
    GE_CLI_GE_ALREADY_INITIALIZED = 1343229962, "GE is already initialised"
    GE_CLI_GE_NOT_INITIALIZED = 1343229963, "GE is not initialised (GEInitialize first)"
    GE_SESS_GRAPH_NOT_EXIST = 1343238146, "the session has no graph with this id"
    GE_SESS_GRAPH_ALREADY_EXIST = 1343238147, "the session already has a graph with this id"
    GE_SESSION_NOT_EXIST = 1343238149, "the session does not exist (closed)"
    GE_SESSION_MANAGER_NOT_INIT = (
        1343238150,
        "the session manager is not initialised (GE was finalized)",
    )
    GE_GRAPH_ALREADY_RUNNING = 1343242241, "the graph is already running"
    GE_GRAPH_GRAPH_NOT_EXIST = 1343242242, "no graph with this id"
    GE_GRAPH_GRAPH_ALREADY_EXIST = 1343242243, "a graph with this id already exists"
    GE_GRAPH_MALLOC_FAILED = 1343242245, "memory allocation for the graph failed"
    GE_GRAPH_PARAM_NULLPTR = 1343242248, "a required pointer argument is null"
    GE_GRAPH_EXECUTE_FAILED = 1343242261, "graph execution failed"
    GE_GRAPH_NOT_BUILT = 1343242295, "the graph is not compiled yet"
    GRAPH_PARAM_INVALID = 50331649, "an argument is invalid (graph API)"
    ACL_ERROR_GE_PARAM_INVALID = 145000, "an argument is invalid"
    ACL_ERROR_GE_EXEC_NOT_INIT = 145001, "GE execution is not initialised"
    ACL_ERROR_GE_MEMORY_ALLOCATION = 245000, "GE could not allocate memory"
    ACL_ERROR_GE_INTERNAL_ERROR = 545000, "GE internal error"


class AclStatus(_Codes):
    """ACL's error codes (``aclError``). ``ACL_SUCCESS`` is 0; an ``int`` compares
    equal to its member."""

    __module__ = "ge.error"

    ACL_SUCCESS = 0, "success"
    ACL_ERROR_INVALID_PARAM = 100000, "an argument is invalid"
    ACL_ERROR_UNINITIALIZE = 100001, "ACL is not initialised (aclInit first)"
    ACL_ERROR_REPEAT_INITIALIZE = 100002, "ACL is already initialised"
    ACL_ERROR_REPEAT_FINALIZE = 100037, "ACL is already finalized"
    ACL_ERROR_RT_CONTEXT_NULL = 107002, "no device context on this thread"
    ACL_ERROR_BAD_ALLOC = 200000, "device memory allocation failed"
    ACL_ERROR_API_NOT_SUPPORT = 200001, "the API is not supported"
    ACL_ERROR_INVALID_DEVICE = 200002, "the device id is invalid"
    ACL_ERROR_INVALID_RESOURCE_HANDLE = 200005, "the handle (stream, event...) is invalid"
    ACL_ERROR_STORAGE_OVER_LIMIT = 300000, "storage over limit"
    ACL_ERROR_INTERNAL_ERROR = 500000, "ACL internal error"
    ACL_ERROR_FAILURE = 500001, "ACL failure"


GE_STATUS: dict[int, StatusInfo] = {int(member): member.info for member in Status}
"""GE status codes by number."""

ACL_STATUS: dict[int, StatusInfo] = {int(member): member.info for member in AclStatus}
"""ACL error codes by number."""

# The codes as plain ints, for the package's own use (made from the enums above).
SUCCESS = int(Status.SUCCESS)
FAILED = int(Status.FAILED)
PARAM_INVALID = int(Status.PARAM_INVALID)
INTERNAL_ERROR = int(Status.INTERNAL_ERROR)
UNSUPPORTED = int(Status.UNSUPPORTED)
GRAPH_PARAM_INVALID = int(Status.GRAPH_PARAM_INVALID)
GE_CLI_GE_ALREADY_INITIALIZED = int(Status.GE_CLI_GE_ALREADY_INITIALIZED)
GE_CLI_GE_NOT_INITIALIZED = int(Status.GE_CLI_GE_NOT_INITIALIZED)
GE_SESS_GRAPH_NOT_EXIST = int(Status.GE_SESS_GRAPH_NOT_EXIST)
GE_SESS_GRAPH_ALREADY_EXIST = int(Status.GE_SESS_GRAPH_ALREADY_EXIST)
GE_SESSION_NOT_EXIST = int(Status.GE_SESSION_NOT_EXIST)
GE_SESSION_MANAGER_NOT_INIT = int(Status.GE_SESSION_MANAGER_NOT_INIT)
GE_GRAPH_ALREADY_RUNNING = int(Status.GE_GRAPH_ALREADY_RUNNING)
GE_GRAPH_GRAPH_NOT_EXIST = int(Status.GE_GRAPH_GRAPH_NOT_EXIST)
GE_GRAPH_GRAPH_ALREADY_EXIST = int(Status.GE_GRAPH_GRAPH_ALREADY_EXIST)
GE_GRAPH_MALLOC_FAILED = int(Status.GE_GRAPH_MALLOC_FAILED)
GE_GRAPH_PARAM_NULLPTR = int(Status.GE_GRAPH_PARAM_NULLPTR)
GE_GRAPH_EXECUTE_FAILED = int(Status.GE_GRAPH_EXECUTE_FAILED)
GE_GRAPH_NOT_BUILT = int(Status.GE_GRAPH_NOT_BUILT)
ACL_ERROR_GE_PARAM_INVALID = int(Status.ACL_ERROR_GE_PARAM_INVALID)
ACL_ERROR_GE_EXEC_NOT_INIT = int(Status.ACL_ERROR_GE_EXEC_NOT_INIT)
ACL_ERROR_GE_MEMORY_ALLOCATION = int(Status.ACL_ERROR_GE_MEMORY_ALLOCATION)
ACL_ERROR_GE_INTERNAL_ERROR = int(Status.ACL_ERROR_GE_INTERNAL_ERROR)

ACL_SUCCESS = int(AclStatus.ACL_SUCCESS)
ACL_ERROR_INVALID_PARAM = int(AclStatus.ACL_ERROR_INVALID_PARAM)
ACL_ERROR_UNINITIALIZE = int(AclStatus.ACL_ERROR_UNINITIALIZE)
ACL_ERROR_REPEAT_INITIALIZE = int(AclStatus.ACL_ERROR_REPEAT_INITIALIZE)
ACL_ERROR_REPEAT_FINALIZE = int(AclStatus.ACL_ERROR_REPEAT_FINALIZE)
ACL_ERROR_RT_CONTEXT_NULL = int(AclStatus.ACL_ERROR_RT_CONTEXT_NULL)
ACL_ERROR_BAD_ALLOC = int(AclStatus.ACL_ERROR_BAD_ALLOC)
ACL_ERROR_API_NOT_SUPPORT = int(AclStatus.ACL_ERROR_API_NOT_SUPPORT)
ACL_ERROR_INVALID_DEVICE = int(AclStatus.ACL_ERROR_INVALID_DEVICE)
ACL_ERROR_INVALID_RESOURCE_HANDLE = int(AclStatus.ACL_ERROR_INVALID_RESOURCE_HANDLE)
ACL_ERROR_STORAGE_OVER_LIMIT = int(AclStatus.ACL_ERROR_STORAGE_OVER_LIMIT)
ACL_ERROR_INTERNAL_ERROR = int(AclStatus.ACL_ERROR_INTERNAL_ERROR)
ACL_ERROR_FAILURE = int(AclStatus.ACL_ERROR_FAILURE)


def ge_status_name(code: int) -> str:
    """Symbolic name of a GE status code, ``UNKNOWN_GE_STATUS`` if unlisted."""
    info = GE_STATUS.get(code)
    return info.name if info is not None else "UNKNOWN_GE_STATUS"


def acl_status_name(code: int) -> str:
    """Symbolic name of an ACL error code, ``UNKNOWN_ACL_ERROR`` if unlisted."""
    info = ACL_STATUS.get(code)
    return info.name if info is not None else "UNKNOWN_ACL_ERROR"
