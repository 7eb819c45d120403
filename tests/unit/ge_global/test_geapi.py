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
from ge.ge_global import GeApi


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


def test_ge_api_class_methods_as_cann_documents(acl_ready: Any) -> None:
    assert GeApi.ge_initialize({"ge.exec.deviceId": "0"}) == 0  # on the class
    assert ge.is_initialized()
    assert GeApi.ge_finalize() == 0
    assert not ge.is_initialized()
    instance = GeApi()
    assert instance.ge_initialize({"ge.exec.deviceId": "0"}) == 0  # and on an instance
    assert instance.ge_finalize() == 0
    assert not ge.is_initialized()


@pytest.mark.parametrize("bad", ["ge.exec.deviceId=0", None, 1, [("a", "b")]])
def test_ge_initialize_needs_a_dictionary(ge_stub: Any, bad: object) -> None:
    with pytest.raises(TypeError, match=r"^Ge init config must be a dictionary$"):
        GeApi.ge_initialize(bad)  # type: ignore[arg-type]


def test_ge_initialize_refuses_an_empty_config(ge_stub: Any) -> None:
    with pytest.raises(TypeError, match=r"^Ge init config must not be empty$"):
        GeApi.ge_initialize({})
    assert not ge.is_initialized()


def test_ge_initialize_failure_is_a_runtime_error(acl_ready: Any) -> None:
    acl_ready.fail_next("GeApiWrapper_GEInitialize", S.FAILED)
    with pytest.raises(RuntimeError) as info:
        GeApi.ge_initialize({"ge.exec.deviceId": "0"})
    assert isinstance(info.value, GeError) and info.value.status == S.FAILED


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
    assert second.session_id > first.session_id
    assert (first.closed, second.ge_session_id) == (True, 1)  # GE's ids go on
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


def test_finalize_unregisters_every_allocator_first(
    acl_ready: Any, make_graph: Any, stream: Any
) -> None:
    """GEFinalize unregisters nothing: an allocator left registered would die in a
    static destructor at exit. Closed sessions' registrations included."""
    import numpy as np

    from ge.allocator import AclAllocator

    ge.initialize()
    other = ge.acl.Stream()
    session = ge.Session()
    with make_graph() as graph:
        session.add_graph(1, graph)
    x = ge.Tensor.from_numpy(np.ones((2, 3), np.float32))
    (out,) = session.run_graph_with_stream_async(1, other, [x, x])  # the default allocator
    other.synchronize()
    out.close()
    session.register_external_allocator(stream, AclAllocator())
    # closing unregisters what the session registered, in order: the default
    # allocator of `other`, then `stream`'s, which fails: still registered in GE
    acl_ready.fail_next("GeApiWrapper_Session_UnregisterExternalAllocator", S.FAILED, nth=2)
    with pytest.raises(GeError):
        session.close()
    assert session.closed and api.GeApiWrapper_HasExternalAllocator(stream)
    assert not api.GeApiWrapper_HasExternalAllocator(other)
    ge.finalize()
    assert not api.GeApiWrapper_HasExternalAllocator(stream)
    assert not api.GeApiWrapper_HasExternalAllocator(other)
    assert acl_ready.live_counts()["allocators"] == 0
    assert acl_ready.callback_counts()["on_destroy"] == 1
    x.close()
    other.destroy()


def test_cann_session_example_runs_unchanged(acl_ready: Any) -> None:
    """docs/zh/api/graph_engine_api/python/ge/session/Session/overview.md, with
    CANN's spellings only (the graph from the package's builder)."""
    import numpy as np

    builder = ge.GraphBuilder("doc")
    x = builder.input(0, ge.DataType.DT_FLOAT, (2, 2))
    graph = builder.build([x + x])
    builder.close()

    from ge.ge_global import GeApi
    from ge.graph import DataType, Format, Tensor
    from ge.session import Session

    config = {"ge.execDeviceId": "0", "ge.graphRunMode": "0"}
    GeApi.ge_initialize(config)
    session = Session()
    session.add_graph(0, graph)
    input_tensor = Tensor(
        data=[1.0, 2.0, 3.0, 4.0],
        data_type=DataType.DT_FLOAT,
        format=Format.FORMAT_ND,
        shape=[2, 2],
    )
    outputs = session.run_graph(0, [input_tensor])
    GeApi.ge_finalize()

    np.testing.assert_array_equal(outputs[0].numpy(), [[2.0, 4.0], [6.0, 8.0]])
    assert session.closed  # ge_finalize closed it
    for tensor in (input_tensor, *outputs):
        tensor.close()
    graph.close()
