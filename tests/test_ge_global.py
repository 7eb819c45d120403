"""GE's global lifecycle: initialize/finalize, GeApi, and what happens at exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

import ge
from ge._ffi import api
from ge._ffi import status as S
from ge.error import GeError


def test_initialize_finalize_and_flag(acl_ready: Any) -> None:
    assert not ge.is_initialized()
    ge.initialize({"ge.exec.deviceId": "0"})
    assert ge.is_initialized() and api.GeApiWrapper_IsGEInitialized()
    ge.initialize()  # twice: harmless, as in GE
    ge.finalize()
    assert not ge.is_initialized() and not api.GeApiWrapper_IsGEInitialized()
    ge.finalize()  # not initialised: harmless


@pytest.mark.parametrize("bad", [1, "a", ["a"], {"a": 1}, {1: "a"}])
def test_initialize_options_must_be_a_str_dict(ge_stub: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^Ge init config must be a dictionary$"):
        ge.initialize(bad)  # type: ignore[arg-type]


def test_ge_api_class(acl_ready: Any) -> None:
    api_obj = ge.GeApi()
    with pytest.raises(TypeError, match=r"^Ge init config must be a dictionary$"):
        api_obj.ge_initialize("ge.exec.deviceId=0")  # type: ignore[arg-type]
    api_obj.ge_initialize({"ge.exec.deviceId": "0"})
    assert ge.is_initialized()
    api_obj.ge_finalize()
    assert not ge.is_initialized()


def test_initialize_failure_is_a_ge_error(acl_ready: Any) -> None:
    with pytest.raises(GeError) as info:
        ge.initialize({"ge.exec.deviceId": "minus one"})
    assert info.value.api_name == "GEInitialize"
    assert info.value.status == S.ACL_ERROR_GE_PARAM_INVALID
    assert not ge.is_initialized()


def test_finalize_failure_keeps_ge_initialized(acl_ready: Any) -> None:
    ge.initialize()
    acl_ready.fail_next("GeApiWrapper_GEFinalize", S.FAILED)
    with pytest.raises(GeError) as info:
        ge.finalize()
    assert info.value.api_name == "GEFinalize" and info.value.status == S.FAILED
    assert ge.is_initialized()
    ge.finalize()
    assert not ge.is_initialized()


def test_initialized_context_manager(acl_ready: Any) -> None:
    with ge.initialized({"ge.exec.deviceId": "0"}):
        assert ge.is_initialized()
        session = ge.Session()
    assert not ge.is_initialized() and session.closed


def test_reinitialize_after_finalize_gives_fresh_sessions(acl_ready: Any) -> None:
    ge.initialize()
    first = ge.Session()
    ge.finalize()
    ge.initialize()
    second = ge.Session()
    assert second.session_id > first.session_id and second.ge_session_id > 0
    ge.finalize()


EXIT_SCRIPT = """
import atexit

def report():  # registered before ge's own exit hook, so it runs after it
    from ge.testing import stub_control
    counts = stub_control().live_counts()
    print(f"at exit: sessions={counts['sessions']} ge_initialized={ge.is_initialized()}")

atexit.register(report)

import numpy as np
import ge, ge.acl
from ge.allocator import CachingAllocator, AclAllocator

ge.acl.init()
ge.acl.Device(0).set()
stream = ge.acl.Stream()
ge.initialize()
b = ge.GraphBuilder("g")
x = b.input(0, ge.DataType.DT_FLOAT, (4,))
graph = b.build([x + x])
session = ge.Session()
session.add_graph(1, graph)
session.register_external_allocator(stream, CachingAllocator(AclAllocator()))
ones = ge.Tensor.from_numpy(np.ones(4, np.float32))
outs = session.run_graph_with_stream_async(1, stream, [ones])
other = ge.Session()
buffer = ge.acl.DeviceBuffer(64)
print("leaving with everything alive")
"""


def test_exit_with_live_objects_is_silent(ge_stub_library: str, tmp_path: Any) -> None:
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stdout == (
        "leaving with everything alive\nat exit: sessions=0 ge_initialized=False\n"
    )
    assert done.stderr == ""
