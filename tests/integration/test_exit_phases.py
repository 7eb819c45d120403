"""The exit phases in fresh interpreters: whatever order the modules of ``ge`` are
imported in (or their exit hooks registered in), a script that leaves a session
with an allocator, a stream and buffers alive exits in CANN's order: the session
and its allocator, ``GEFinalize``, then ACL's streams and buffers, ``aclFinalize``.
"""

from __future__ import annotations

import json

import pytest
from _helpers.processes import run_python

CHILD = """
import atexit, importlib, json, sys

calls = []
atexit.register(lambda: print("calls: " + json.dumps(calls), flush=True))  # runs after ge's

for name in sys.argv[1].split(","):
    importlib.import_module(name)

import ge, ge.acl
from ge import _lifecycle
from ge._ffi import api
from ge.allocator import AclAllocator

if sys.argv[2] != "as-imported":  # register the hooks again, in another order
    hooks = _lifecycle.exit_hooks()
    for table in _lifecycle._hooks.values():
        table.clear()
    for phase, hook in (hooks if sys.argv[2] == "ge-first" else reversed(hooks)):
        _lifecycle.at_exit(phase, hook)

ge.acl.init()
ge.acl.Device(0).set()
stream = ge.acl.Stream()
device_buffer = ge.acl.DeviceBuffer(64)
host_buffer = ge.acl.HostBuffer(64)
ge.initialize({"ge.exec.deviceId": "0"})
session = ge.Session()
session.register_external_allocator(stream, AclAllocator())

for name in PHASES:
    def traced(*args, _real=getattr(api, name), _name=name):
        calls.append(_name)
        return _real(*args)
    setattr(api, name, traced)
"""

PHASES = {
    "GeApiWrapper_Session_UnregisterExternalAllocator": 1,
    "GeApiWrapper_Session_DestroySession": 1,
    "GeApiWrapper_GEFinalize": 2,
    "aclrtDestroyStream": 3,
    "aclrtFree": 3,
    "aclrtFreeHost": 3,
    "aclFinalize": 4,
}
"""The teardown calls, by the exit phase that makes them."""

IMPORT_ORDERS = [
    "ge",
    "ge.acl",
    "ge.acl._runtime,ge._acl_state,ge.session",
    "ge.ge_global,ge.acl",
    "ge._lifecycle,ge._session_manager,ge.allocator",
    "ge.testing,ge.session.session,ge.error",
]


def _exit_calls(order: str, registration: str) -> list[str]:
    code = CHILD.replace("for name in PHASES:", f"for name in {sorted(PHASES)!r}:")
    done = run_python(code, order, registration)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr
    line = done.stdout.splitlines()[-1]
    assert line.startswith("calls: "), done.stdout
    calls: list[str] = json.loads(line[len("calls: ") :])
    return calls


@pytest.mark.parametrize("order", IMPORT_ORDERS)
@pytest.mark.parametrize("registration", ["as-imported", "ge-first", "acl-first"])
def test_exit_order_does_not_depend_on_the_import_order(
    ge_stub_library: str, order: str, registration: str
) -> None:
    """``registration``: the hooks as the imports registered them, or registered
    again with GE's phases first, or with ACL's first (what an import order could do)."""
    calls = _exit_calls(order, registration)
    assert sorted(calls) == sorted(PHASES)  # each teardown call once
    phases = [PHASES[call] for call in calls]
    assert phases == sorted(phases), calls
    # within the first phase: the session's allocator goes before the session
    assert calls[:2] == [
        "GeApiWrapper_Session_UnregisterExternalAllocator",
        "GeApiWrapper_Session_DestroySession",
    ]
