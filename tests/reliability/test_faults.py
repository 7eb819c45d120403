"""Reliability: every failable ABI function fails, in a real script.

``SCRIPT`` is one realistic program through the public API (ACL up, a device
and streams, GE up, sessions, a graph built, saved and loaded, runs sync and
async with a Python allocator and GE's default one, buffers and copies, then
everything torn down). ``FAULTS`` maps every function the stand-in can make
fail (``GeStub_FailableFunctions``) to the step of the script that calls it.
For each one, the test runs the script, injects the fault right before that
step and checks that:

* the step raises the right exception type, status and API name, with the
  runtime's own message ("injected fault");
* the fault fired (it is not still pending) and the failed step left no
  native object behind (live counts as before the step);
* the step run again succeeds, and so does the rest of the script;
* at the end nothing is alive.

``test_fault_points`` is parametrized over the stand-in's own list (read at
collection), so a failable function with no scenario here fails the suite.
The coverage line (``covered/total``) is printed by
``test_every_failable_function_has_a_scenario`` (``-rA`` shows it).

The last part raises exceptions at random points inside user allocators:
each must reach the user exactly once, and nothing may leak.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import re
import types
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ge
import ge.acl
from ge import _allocator_registry
from ge._ffi import status as S
from ge._ffi.signatures import SESSION_LOAD_GRAPH
from ge.allocator import AclAllocator, Allocator, MemBlock
from ge.error import AclError, GeError
from ge.testing import StubControl, build_stub_library

GE_STATUS = S.ACL_ERROR_GE_INTERNAL_ERROR  # what an injected GE fault returns
ACL_STATUS = S.ACL_ERROR_FAILURE  # what an injected ACL fault returns
F32 = ge.DataType.DT_FLOAT
X = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
Y = np.array([[2, 1, 2], [1, 2, 4]], np.float32)
EXPECTED = ((X + Y) * X - Y) / Y


class Ledger(Allocator):
    """``aclrtMalloc`` memory, counting blocks out."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.out = 0

    def malloc(self, size: int) -> MemBlock:
        block = self.inner.malloc(size)
        self.out += 1
        return block

    def free(self, block: MemBlock) -> None:
        self.out -= 1
        self.inner.free(block)


# -- the script ------------------------------------------------------------------------------


def acl_init(c: Any) -> None:
    ge.acl.init()
    assert ge.acl.is_initialized()


def version(c: Any) -> None:
    assert ge.acl.version() == (1, 17, 0)  # the ACL API version (runtime's acl_rt.h)


def device_count(c: Any) -> None:
    assert ge.acl.device_count() == 1


def set_device(c: Any) -> None:
    c.device = ge.acl.Device(0)
    c.device.set()


def get_device(c: Any) -> None:
    assert ge.acl.get_device() == 0


def create_streams(c: Any) -> None:
    c.stream = ge.acl.Stream()
    c.stream2 = ge.acl.Stream()


def ge_init(c: Any) -> None:
    ge.initialize({"ge.exec.deviceId": "0"})
    assert ge.is_initialized()


def session(c: Any) -> None:
    c.session = ge.Session()


def session_with_options(c: Any) -> None:
    c.session2 = ge.Session({"ge.session.tag": "faults"})


def build(c: Any) -> None:
    with ge.GraphBuilder("fma") as builder:
        x = builder.input(0, F32, (2, 3))
        y = builder.input(1, F32, (2, 3))
        c.graph = builder.build([((x + y) * x - y) / y])


def build_es(c: Any) -> None:
    """CANN's ge.es calls: every builder function of esb_funcs.h."""
    with ge.es.GraphBuilder("es") as b:
        (x,) = b.create_inputs(1)
        assert x.get_owner_builder() is b
        x.set_data_type(F32).set_format(ge.Format.FORMAT_ND).set_shape([2, 3])
        y = b.create_input(1, shape=[2, 3])
        made = [
            b.create_const_int64([1, 2], shape=[2]),
            b.create_const_int32([1, 2], shape=[2]),
            b.create_const_uint64([1, 2], shape=[2]),
            b.create_const_uint32([1, 2], shape=[2]),
            b.create_vector_int64([1]),
            b.create_vector_int32([1]),
            b.create_vector_uint64([1]),
            b.create_vector_uint32([1]),
            b.create_vector_float([1.0]),
            b.create_scalar_int32(1),
            b.create_scalar_uint64(1),
            b.create_scalar_uint32(1),
            b.create_scalar_float(1.0),
        ]
        v = b.create_variable(0, "v").set_shape([2, 3])
        b.set_graph_attr_int64("gi", 1)
        b.set_graph_attr_string("gs", "s")
        b.set_graph_attr_bool("gb", True)
        b.set_tensor_attr_int64(x, "ti", 1)
        b.set_tensor_attr_string(x, "ts", "s")
        b.set_tensor_attr_bool(x, "tb", True)
        b.set_node_attr_int64(x, "ni", 1)
        b.set_node_attr_string(x, "ns", "s")
        b.set_node_attr_bool(x, "nb", True)
        out = (x + y) * 2 - v + b.create_const_float([0.5, 1.5, 2.5], shape=[3])
        b.add_control_dependency(out, made)
        assert out.name == "Add_18"  # 13 Consts, Add, Const 2, Mul, Sub, Const, Add
        c.es_graph = b.build_and_reset([out])


def run_es(c: Any) -> None:
    c.session.add_graph(3, c.es_graph)
    (out,) = c.session.run_graph(3, c.inputs)
    np.testing.assert_array_equal(out.numpy(), (X + Y) * 2 + [0.5, 1.5, 2.5])
    out.close()


def save_load(c: Any) -> None:
    c.graph.save(c.path)
    c.graph2 = ge.Graph.load(c.path)


def add_graph(c: Any) -> None:
    c.session.add_graph(1, c.graph)


def add_graph_with_options(c: Any) -> None:
    c.session.add_graph(2, c.graph2, {"ge.graph.key": "v"})


def compile_graph(c: Any) -> None:
    c.session.compile_graph(1)
    assert not c.session.is_graph_need_rebuild(1)


def load_graph(c: Any) -> None:
    c.session.load_graph(1, c.stream)


def compile_another(c: Any) -> None:
    c.session2.add_graph(5, c.graph2)
    c.session2.compile_graph(5)


def load_with_the_member(c: Any) -> None:
    """``ge::Session::LoadGraph`` itself, where ``GeSessionLoadGraph`` is missing."""
    with ge._ffi.hidden_symbols("GeSessionLoadGraph"):
        c.session2.load_graph(5, c.stream2)


def inputs(c: Any) -> None:
    c.inputs = [ge.Tensor.from_numpy(X), ge.Tensor.from_numpy(Y)]


def run(c: Any) -> None:
    c.outputs = c.session.run_graph(2, c.inputs)
    np.testing.assert_allclose(c.outputs[0].numpy(), EXPECTED, rtol=1e-6)


def shape(c: Any) -> None:
    with ge.Tensor(shape=[2, 3]) as tensor:  # GE's empty tensor: no shape cached yet
        assert tensor.get_shape() == [2, 3]


def register(c: Any) -> None:
    c.ledger = Ledger()
    c.session.register_external_allocator(c.stream, c.ledger)


def run_async(c: Any) -> None:
    c.async_out = c.session.run_graph_with_stream_async(1, c.stream, c.inputs)
    assert c.ledger.out == 1


def sync(c: Any) -> None:
    c.stream.synchronize()


def read_device(c: Any) -> None:
    np.testing.assert_allclose(c.async_out[0].numpy(), EXPECTED, rtol=1e-6)


def to_host(c: Any) -> None:
    c.async_out[0].to_host()
    assert c.async_out[0].placement is ge.Placement.PLACEMENT_HOST
    assert c.ledger.out == 0
    np.testing.assert_allclose(c.async_out[0].numpy(), EXPECTED, rtol=1e-6)


def to_device(c: Any) -> None:
    c.inputs[0].to_device()
    assert c.inputs[0].placement is ge.Placement.PLACEMENT_DEVICE


def empty_tensor(c: Any) -> None:
    with ge.Tensor(data_type=ge.DataType.DT_INT32, format=ge.Format.FORMAT_NCHW) as tensor:
        assert tensor.dtype is ge.DataType.DT_INT32
        assert tensor.format is ge.Format.FORMAT_NCHW


def describe(c: Any) -> None:
    with ge.Tensor.from_numpy(X.astype(np.float64)) as tensor:  # DOUBLE: through a TensorDesc
        np.testing.assert_array_equal(tensor.numpy(), X)
        with tensor.get_tensor_desc() as desc:
            assert desc.get_shape() == [2, 3]
            desc.set_shape([3, 2]).set_origin_shape([6]).set_format(ge.Format.FORMAT_NCHW)
            desc.set_origin_format(ge.Format.FORMAT_NHWC).set_data_type(ge.DataType.DT_INT64)
            assert desc.get_origin_shape() == [6]


def from_file(c: Any) -> None:
    X.tofile(c.path + ".bin")
    with ge.Tensor(file_path=c.path + ".bin", shape=[2, 3]) as tensor:
        np.testing.assert_array_equal(tensor.numpy(), X)


def device_buffer(c: Any) -> None:
    c.buf = ge.acl.DeviceBuffer(64)


def host_buffer(c: Any) -> None:
    c.hbuf = ge.acl.HostBuffer(64)


def memset(c: Any) -> None:
    c.buf.memset(0)


def copy_async(c: Any) -> None:
    c.buf.copy_from(X, stream=c.stream)


def copy_back(c: Any) -> None:
    c.stream.synchronize()
    c.buf.copy_to(c.hbuf, nbytes=X.nbytes)
    np.testing.assert_array_equal(c.hbuf.to_numpy(np.float32, (2, 3)), X)


def default_allocator(c: Any) -> None:
    outputs = c.session.run_graph_with_stream_async(1, c.stream2, c.inputs)
    c.stream2.synchronize()
    np.testing.assert_allclose(outputs[0].numpy(), EXPECTED, rtol=1e-6)
    outputs[0].close()


def unregister(c: Any) -> None:
    c.session.unregister_external_allocator(c.stream)


def remove(c: Any) -> None:
    c.session.remove_graph(2)


def free_host(c: Any) -> None:
    c.hbuf.free()


def free_device(c: Any) -> None:
    c.buf.free()


def close_objects(c: Any) -> None:
    for tensor in [*c.outputs, *c.async_out, *c.inputs]:
        tensor.close()
    c.graph.close()
    c.graph2.close()
    c.es_graph.close()


def close_sessions(c: Any) -> None:
    c.session.close()  # owns GE's default allocator of stream2: unregisters it
    c.session2.close()


def ge_finalize(c: Any) -> None:
    ge.finalize()
    assert not ge.is_initialized()


def destroy_streams(c: Any) -> None:
    c.stream.destroy()
    c.stream2.destroy()


def reset_device(c: Any) -> None:
    c.device.reset()


def acl_finalize(c: Any) -> None:
    ge.acl.finalize()
    assert not ge.acl.is_initialized()


SCRIPT: list[Callable[[Any], None]] = [
    acl_init,
    version,
    device_count,
    set_device,
    get_device,
    create_streams,
    ge_init,
    session,
    session_with_options,
    build,
    build_es,
    save_load,
    add_graph,
    add_graph_with_options,
    compile_graph,
    load_graph,
    compile_another,
    load_with_the_member,
    inputs,
    run,
    run_es,
    shape,
    register,
    run_async,
    sync,
    read_device,
    to_host,
    to_device,
    empty_tensor,
    describe,
    from_file,
    device_buffer,
    host_buffer,
    memset,
    copy_async,
    copy_back,
    default_allocator,
    unregister,
    remove,
    free_host,
    free_device,
    close_objects,
    close_sessions,
    ge_finalize,
    destroy_streams,
    reset_device,
    acl_finalize,
]

# -- the fault table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """Where a function fails in the script and what the user must see."""

    step: Callable[[Any], None]
    api: str
    error: type[GeError] = GeError
    status: Optional[int] = GE_STATUS  # None: the function returns a handle (NULL)
    cause: Optional[tuple[type[BaseException], str, Optional[int]]] = None
    closes_anyway: bool = False  # the failed call still released its object


def acl(step: Callable[[Any], None], api: str) -> Fault:
    return Fault(step, api, AclError, ACL_STATUS)


def handle(step: Callable[[Any], None], api: str) -> Fault:
    return Fault(step, api, GeError, None)


FAULTS: dict[str, Fault] = {
    "aclInit": acl(acl_init, "aclInit"),
    "aclrtGetVersion": acl(version, "aclrtGetVersion"),
    "aclrtGetDeviceCount": acl(device_count, "aclrtGetDeviceCount"),
    "aclrtSetDevice": acl(set_device, "aclrtSetDevice"),
    "aclrtGetDevice": acl(get_device, "aclrtGetDevice"),
    "aclrtCreateStream": acl(create_streams, "aclrtCreateStream"),
    "GeApiWrapper_GEInitialize": Fault(ge_init, "GEInitialize"),
    "GeApiWrapper_Session_CreateSession": handle(session, "CreateSession"),
    "GeApiWrapper_Session_CreateSessionWithOptions": handle(session_with_options, "CreateSession"),
    "EsCreateGraphBuilder": handle(build, "EsCreateGraphBuilder"),
    "EsCreateGraphInputWithDetails": handle(build, "EsCreateGraphInputWithDetails"),
    "EsAdd": handle(build, "EsAdd"),
    "EsMul": handle(build, "EsMul"),
    "EsSub": handle(build, "EsSub"),
    "EsDiv": handle(build, "EsDiv"),
    "EsSetGraphOutput": Fault(build, "EsSetGraphOutput"),
    "EsBuildGraphAndReset": handle(build, "EsBuildGraphAndReset"),
    "EsCreateGraphInput": handle(build_es, "EsCreateGraphInput"),
    "EsSetDataType": Fault(build_es, "EsSetDataType"),
    "EsSetFormat": Fault(build_es, "EsSetFormat"),
    "EsSetShape": Fault(build_es, "EsSetShape"),
    "EsCreateConstInt64": handle(build_es, "EsCreateConstInt64"),
    "EsCreateConstInt32": handle(build_es, "EsCreateConstInt32"),
    "EsCreateConstUInt64": handle(build_es, "EsCreateConstUInt64"),
    "EsCreateConstUInt32": handle(build_es, "EsCreateConstUInt32"),
    "EsCreateConstFloat": handle(build_es, "EsCreateConstFloat"),
    "EsCreateVectorInt64": handle(build_es, "EsCreateVectorInt64"),
    "EsCreateVectorInt32": handle(build_es, "EsCreateVectorInt32"),
    "EsCreateVectorUInt64": handle(build_es, "EsCreateVectorUInt64"),
    "EsCreateVectorUInt32": handle(build_es, "EsCreateVectorUInt32"),
    "EsCreateVectorFloat": handle(build_es, "EsCreateVectorFloat"),
    "EsCreateScalarInt64": handle(build_es, "EsCreateScalarInt64"),
    "EsCreateScalarInt32": handle(build_es, "EsCreateScalarInt32"),
    "EsCreateScalarUInt64": handle(build_es, "EsCreateScalarUInt64"),
    "EsCreateScalarUInt32": handle(build_es, "EsCreateScalarUInt32"),
    "EsCreateScalarFloat": handle(build_es, "EsCreateScalarFloat"),
    "EsCreateVariable": handle(build_es, "EsCreateVariable"),
    "EsSetInt64AttrForGraph": Fault(build_es, "EsSetInt64AttrForGraph"),
    "EsSetInt64AttrForTensor": Fault(build_es, "EsSetInt64AttrForTensor"),
    "EsSetInt64AttrForNode": Fault(build_es, "EsSetInt64AttrForNode"),
    "EsSetStringAttrForGraph": Fault(build_es, "EsSetStringAttrForGraph"),
    "EsSetStringAttrForTensor": Fault(build_es, "EsSetStringAttrForTensor"),
    "EsSetStringAttrForNode": Fault(build_es, "EsSetStringAttrForNode"),
    "EsSetBoolAttrForGraph": Fault(build_es, "EsSetBoolAttrForGraph"),
    "EsSetBoolAttrForTensor": Fault(build_es, "EsSetBoolAttrForTensor"),
    "EsSetBoolAttrForNode": Fault(build_es, "EsSetBoolAttrForNode"),
    "EsAddControlEdge": Fault(build_es, "EsAddControlEdge"),
    "EsGetProducer": handle(build_es, "EsGetProducer"),
    "GeApiWrapper_Graph_SaveToAir": Fault(save_load, "SaveToAir"),
    "GeApiWrapper_Graph_CreateGraph": handle(save_load, "CreateGraph"),
    "GeApiWrapper_Graph_LoadFromAir": Fault(save_load, "LoadFromAir"),
    "GeApiWrapper_Session_AddGraph": Fault(add_graph, "AddGraph"),
    "GeApiWrapper_Session_AddGraphWithOptions": Fault(add_graph_with_options, "AddGraph"),
    "_ZN2ge7Session12CompileGraphEj": Fault(compile_graph, "CompileGraph"),
    "GeSessionLoadGraph": Fault(load_graph, "LoadGraph"),
    SESSION_LOAD_GRAPH: Fault(load_with_the_member, "LoadGraph"),
    "EsCreateEsCTensor": handle(inputs, "CreateTensor"),
    "GeApiWrapper_Session_RunGraph": Fault(run, "RunGraph"),
    "GeApiWrapper_Tensor_GetShape": handle(shape, "GetShape"),  # CANN: no array, GRAPH_SUCCESS
    "GeApiWrapper_Session_RegisterExternalAllocator": Fault(register, "RegisterExternalAllocator"),
    "GeApiWrapper_Session_RunGraphWithStreamAsync": Fault(run_async, "RunGraphWithStreamAsync"),
    "aclrtSynchronizeStream": acl(sync, "aclrtSynchronizeStream"),
    "aclrtMemcpy": acl(read_device, "aclrtMemcpy"),
    "GeApiWrapper_Tensor_ToHost": Fault(to_host, "ToHost"),
    "GeApiWrapper_Tensor_ToDevice": Fault(to_device, "ToDevice"),
    "GeApiWrapper_Tensor_CreateTensor": handle(empty_tensor, "CreateTensor"),
    "GeApiWrapper_Tensor_SetDataType": Fault(empty_tensor, "SetDataType"),
    "GeApiWrapper_Tensor_SetFormat": Fault(empty_tensor, "SetFormat"),
    "GeApiWrapper_TensorDesc_Create": handle(describe, "TensorDesc_Create"),
    "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE": Fault(describe, "SetTensorDesc"),
    "_ZN2ge6Tensor7SetDataEPKhm": handle(describe, "SetData"),  # CANN: no copy, GRAPH_SUCCESS
    "GeApiWrapper_Tensor_GetTensorDesc": handle(describe, "GetTensorDesc"),
    "GeApiWrapper_TensorDesc_GetShape": handle(describe, "TensorDesc_GetShape"),
    "GeApiWrapper_TensorDesc_GetOriginShape": handle(describe, "TensorDesc_GetOriginShape"),
    "GeApiWrapper_TensorDesc_SetShape": Fault(describe, "TensorDesc_SetShape"),
    "GeApiWrapper_TensorDesc_SetOriginShape": Fault(describe, "TensorDesc_SetOriginShape"),
    "GeApiWrapper_TensorDesc_SetFormat": Fault(describe, "TensorDesc_SetFormat"),
    "GeApiWrapper_TensorDesc_SetOriginFormat": Fault(describe, "TensorDesc_SetOriginFormat"),
    "GeApiWrapper_TensorDesc_SetDataType": Fault(describe, "TensorDesc_SetDataType"),
    "EsCreateEsCTensorFromFile": handle(from_file, "EsCreateEsCTensorFromFile"),
    "aclrtMalloc": acl(device_buffer, "aclrtMalloc"),
    "aclrtMallocHost": acl(host_buffer, "aclrtMallocHost"),
    "aclrtMemset": acl(memset, "aclrtMemset"),
    "aclrtMemcpyAsync": acl(copy_async, "aclrtMemcpyAsync"),
    "GeApiWrapper_Session_RegisterDefaultAllocator": Fault(
        default_allocator, "RegisterDefaultAllocator"
    ),
    "GeApiWrapper_Session_UnregisterExternalAllocator": Fault(
        unregister, "UnregisterExternalAllocator"
    ),
    "GeApiWrapper_Session_RemoveGraph": Fault(remove, "RemoveGraph"),
    "aclrtFreeHost": acl(free_host, "aclrtFreeHost"),
    "aclrtFree": acl(free_device, "aclrtFree"),
    "GeApiWrapper_GEFinalize": Fault(ge_finalize, "GEFinalize"),
    "aclrtDestroyStream": acl(destroy_streams, "aclrtDestroyStream"),
    "aclrtResetDevice": acl(reset_device, "aclrtResetDevice"),
    "aclFinalize": acl(acl_finalize, "aclFinalize"),
}

# More places where the same functions fail: inside the package's own work.
VARIANTS: dict[str, tuple[str, Fault]] = {
    # the Python allocator's aclrtMalloc, called by GE inside the async run
    "aclrtMalloc@allocator": (
        "aclrtMalloc",
        Fault(
            run_async,
            "RunGraphWithStreamAsync",
            status=S.FAILED,  # GE says FAILED for any failure of an async run
            cause=(AclError, "aclrtMalloc", ACL_STATUS),
        ),
    ),
    # closing a session unregisters the default allocator it registered
    "UnregisterExternalAllocator@close": (
        "GeApiWrapper_Session_UnregisterExternalAllocator",
        Fault(close_sessions, "UnregisterExternalAllocator", closes_anyway=True),
    ),
    # the queue of a stream also runs when the stream is synchronized for a read
    "aclrtSynchronizeStream@copy": (
        "aclrtSynchronizeStream",
        acl(copy_back, "aclrtSynchronizeStream"),
    ),
}

UNREACHABLE: dict[str, str] = {
    "EsGetOwnerBuilder": "TensorHolder.get_owner_builder() answers from Python: "
    "a holder keeps its GraphBuilder",
}
"""Failable functions the public API cannot reach, with the reason."""

KNOWN_DEFECTS: dict[str, str] = {}


def _stand_in_failable() -> list[str]:
    """``GeStub_FailableFunctions`` of the stand-in, read without activating it."""
    lib = ctypes.CDLL(str(build_stub_library()))
    lib.GeStub_FailableFunctions.restype = ctypes.c_char_p
    raw: bytes = lib.GeStub_FailableFunctions()
    return [name for name in raw.decode().split(",") if name]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "failable" in metafunc.fixturenames:
        metafunc.parametrize("failable", _stand_in_failable() + sorted(VARIANTS))


# -- running the script with a fault --------------------------------------------------------


def _counts(stub: StubControl) -> dict[str, int]:
    gc.collect()
    return stub.live_counts()


def check_error(error: BaseException, fault: Fault) -> None:
    assert type(error) is fault.error, repr(error)
    assert isinstance(error, GeError)
    assert error.api_name == fault.api, repr(error)
    assert error.status == fault.status, repr(error)
    if fault.cause is None:
        assert "injected fault" in error.error_message, repr(error)
        return
    cause = error.__cause__
    kind, api, status = fault.cause
    assert type(cause) is kind, repr(error)
    assert isinstance(cause, GeError)
    assert (cause.api_name, cause.status) == (api, status), repr(cause)
    assert "injected fault" in cause.error_message


def run_script(stub: StubControl, path: str, function: str, fault: Fault) -> None:
    c = types.SimpleNamespace(path=path, outputs=[], async_out=[], inputs=[])
    acl_level = fault.error is AclError or (fault.cause is not None and fault.cause[0] is AclError)
    inject = ACL_STATUS if acl_level else GE_STATUS
    fired = False
    for step in SCRIPT:
        if step is fault.step and not fired:
            fired = True
            before = _counts(stub)
            stub.fail_next(function, inject)
            with pytest.raises(GeError) as info:
                step(c)
            check_error(info.value, fault)
            assert stub.faults_pending() == 0, "the fault did not fire in this step"
            del info
            if not fault.closes_anyway:
                assert _counts(stub) == before, "the failed step left objects behind"
        step(c)  # the next call succeeds (for the faulted step: the retry)
    assert fired


def run_unreachable(stub: StubControl, path: str, function: str) -> None:
    """Every step of the script with a fault armed on ``function``: it never fires."""
    c = types.SimpleNamespace(path=path, outputs=[], async_out=[], inputs=[])
    stub.fail_next(function, GE_STATUS)
    for step in SCRIPT:
        step(c)
    assert stub.faults_pending() == 1, f"{function} is reached: {UNREACHABLE[function]} is wrong"
    stub.clear_faults()


def test_fault_points(ge_stub: StubControl, tmp_path: Any, request: Any, failable: str) -> None:
    """``failable``: every name of ``GeStub_FailableFunctions``, then the variants."""
    function, fault = VARIANTS.get(failable, (failable, FAULTS.get(failable)))  # type: ignore[arg-type]
    if function in UNREACHABLE:  # prove it: the whole script never calls it
        run_unreachable(ge_stub, str(tmp_path / "graph.air"), function)
        return
    assert fault is not None, f"no fault scenario for the failable function {function}"
    if failable in KNOWN_DEFECTS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[failable]))
    try:
        run_script(ge_stub, str(tmp_path / "graph.air"), function, fault)
    finally:
        leaked = {k: n for k, n in _counts(ge_stub).items() if n}
        if leaked:
            ge_stub.reset()  # the fixture's own check would only repeat this
    assert not leaked, f"leaked after a fault in {function}: {leaked}"


def test_every_failable_function_has_a_scenario(ge_stub: StubControl) -> None:
    failable = ge_stub.failable_functions()
    assert failable == _stand_in_failable()
    covered = sorted(f for f in failable if f in FAULTS)
    missing = sorted(set(failable) - set(FAULTS) - set(UNREACHABLE))
    stale = sorted(set(FAULTS) - set(failable))
    print(
        f"\nRELIABILITY fault points: {len(covered)}/{len(failable)} failable functions covered "
        f"({len(UNREACHABLE)} unreachable, {len(VARIANTS)} extra variants, "
        f"{len(KNOWN_DEFECTS)} known defects)"
    )
    assert not missing, f"failable functions without a fault scenario: {missing}"
    assert not stale, f"scenarios for functions the stand-in cannot fail: {stale}"
    for fault in FAULTS.values():
        assert fault.step in SCRIPT


# -- exceptions raised inside user allocators -----------------------------------------------


class Boom(Exception):
    """Raised by the flaky allocator; the message identifies the raise."""


class BoomBase(BaseException):
    """Not an ``Exception``: must still be carried, never lost."""


class Flaky(Allocator):
    """AclAllocator that raises at planned calls (it frees the memory first)."""

    def __init__(self, plan: dict[tuple[str, int], type[BaseException]]) -> None:
        self.inner = AclAllocator()
        self.plan = plan
        self.calls = {"malloc": 0, "free": 0}
        self.raised: list[str] = []

    def _maybe_raise(self, what: str) -> None:
        self.calls[what] += 1
        kind = self.plan.get((what, self.calls[what]))
        if kind is not None:
            tag = f"boom-{what}-{self.calls[what]}"
            self.raised.append(tag)
            raise kind(tag)

    def malloc(self, size: int) -> MemBlock:
        self._maybe_raise("malloc")
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.inner.free(block)
        self._maybe_raise("free")


TAG = re.compile(r"boom-(?:malloc|free)-\d+")
RAISED_BY_ALLOCATORS = (Boom, BoomBase, MemoryError, KeyError)


def _drop_in_finalizers(outputs: list[Any]) -> None:
    """Release the outputs through their finalizers, where no caller collects
    what their allocator's free raises: it waits for a later call."""
    outputs.clear()
    gc.collect()


def _tags(exc: BaseException) -> list[str]:
    """The allocator exceptions an exception carries: itself or its cause, and its notes."""
    carried = exc.__cause__ if isinstance(exc, GeError) else exc
    # the first line: before Python 3.11 the notes follow the message (see ge._callback_errors)
    message = str(carried).split("\n", 1)[0]
    found = TAG.findall(message) if isinstance(carried, RAISED_BY_ALLOCATORS) else []
    for item in {id(exc): exc, id(carried): carried}.values():
        for note in getattr(item, "__notes__", ()):
            found.extend(TAG.findall(note))
    return found


def _two_output_session(stream: Any, allocator: Allocator) -> ge.Session:
    """A session with graph 1 (``x + x, x * x`` on float32[2, 3]) and ``allocator``
    registered on ``stream``."""
    session = ge.Session()
    with ge.GraphBuilder("g") as builder:
        x = builder.input(0, F32, (2, 3))
        graph = builder.build([x + x, x * x])
    session.add_graph(1, graph)
    graph.close()
    session.register_external_allocator(stream, allocator)
    return session


PLANS = st.dictionaries(
    st.tuples(st.sampled_from(["malloc", "free"]), st.integers(1, 5)),
    st.sampled_from([Boom, MemoryError, BoomBase, KeyError]),
    max_size=6,
)
OPS = st.lists(
    st.sampled_from(["run", "run", "close", "drop", "sync", "unregister", "register"]),
    max_size=25,
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLANS, ops=OPS, seed=st.integers(0, 10**6))
# the second block's malloc and the first block's free (GE gives it back) both raise
@example(plan={("malloc", 2): Boom, ("free", 1): KeyError}, ops=["run"], seed=0)
# free raises while the stream synchronizes: the synchronize raises it
@example(plan={("free", 1): BoomBase}, ops=["run", "close", "sync"], seed=0)
# two frees raise while nobody waits and no session owns the stream: finalize reports both
@example(plan={("free", 1): Boom, ("free", 2): Boom}, ops=["run", "unregister"], seed=0)
def test_exceptions_in_user_allocators_reach_the_user_exactly_once(
    ge_stub: StubControl,
    plan: dict[tuple[str, int], type[BaseException]],
    ops: list[str],
    seed: int,
) -> None:
    ge_stub.reset()
    rng = np.random.default_rng(seed)
    delivered: list[str] = []

    def call(fn: Callable[[], Any]) -> Any:
        """A package call: it succeeds, or raises what an allocator raised."""
        try:
            return fn()
        except BaseException as exc:
            if isinstance(exc, GeError):  # GE failed the run because the allocator did
                assert exc.api_name == "RunGraphWithStreamAsync", repr(exc)
                assert exc.status == S.FAILED, repr(exc)
            tags = _tags(exc)
            assert tags, f"an error that no allocator raised: {exc!r}"
            delivered.extend(tags)
            return None

    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    stream = ge.acl.Stream()
    ge.initialize()
    allocator = Flaky(plan)
    allocators = [allocator]
    session = _two_output_session(stream, allocator)
    outputs: list[ge.Tensor] = []
    registered = True
    with ge.Tensor.from_numpy(X) as x_in:
        for op in ops:
            if op == "run" and registered:
                result = call(lambda: session.run_graph_with_stream_async(1, stream, [x_in]))
                if result is not None:
                    assert len(result) == 2
                    outputs.extend(result)
                result = None  # the outputs list is the only owner
            elif op in ("close", "drop") and outputs:
                tensor = outputs.pop(int(rng.integers(len(outputs))))
                if op == "close":
                    call(tensor.close)
                    assert tensor.closed
                del tensor  # "drop": the finalizer frees it; the error waits
                gc.collect()
            elif op == "sync":
                call(stream.synchronize)  # FreeFn errors here reach the synchronize
            elif op == "unregister":
                call(lambda: session.unregister_external_allocator(stream))
                registered = False
            elif op == "register":
                allocator = Flaky(plan)
                allocators.append(allocator)
                call(lambda new=allocator: session.register_external_allocator(stream, new))
                registered = True
    while outputs:
        call(outputs.pop().close)
    gc.collect()
    call(stream.synchronize)
    call(session.close)
    call(ge.finalize)
    stream.destroy()
    device.reset()
    ge.acl.finalize()
    raised = [tag for a in allocators for tag in a.raised]
    assert Counter(delivered) == Counter(raised), "every exception reached the user once"
    assert not _allocator_registry.registry._deferred
    counts = ge_stub.live_counts()
    assert counts == dict.fromkeys(counts, 0)


# -- where allocator exceptions surface: regressions and known gaps ----------------------------


@pytest.fixture
def flaky_run(ge_ready: StubControl, stream: Any) -> Any:
    """A session running a two-output graph on ``stream`` with a Flaky allocator."""

    def make(plan: dict[tuple[str, int], type[BaseException]]) -> Any:
        allocator = Flaky(plan)
        session = _two_output_session(stream, allocator)

        def run() -> list[ge.Tensor]:
            with ge.Tensor.from_numpy(X) as x_in:
                return session.run_graph_with_stream_async(1, stream, [x_in])

        return types.SimpleNamespace(session=session, allocator=allocator, run=run)

    return make


def test_a_failed_run_carries_every_allocator_exception(flaky_run: Any) -> None:
    """Regression: the second exception of a failed run was dropped (ge/session.py)."""
    env = flaky_run({("malloc", 2): Boom, ("free", 1): KeyError})
    with pytest.raises(GeError) as info:
        env.run()
    assert info.value.status == S.FAILED
    assert str(info.value.__cause__) == "boom-malloc-2"
    assert info.value.__notes__ == ["also raised: KeyError('boom-free-1')"]
    env.session.close()


def test_closing_the_session_reports_a_free_that_failed_during_synchronize(
    flaky_run: Any, stream: Any
) -> None:
    """Regression: the exception waited for a session call on the stream that
    never came; closing the session that owns the stream's allocator reports it."""
    env = flaky_run({("free", 1): Boom})
    outputs = env.run()
    stream.synchronize()
    _drop_in_finalizers(outputs)  # the failing free runs where nobody collects it
    with pytest.raises(Boom, match="boom-free-1"):
        env.session.close()
    assert env.session.closed


def test_finalize_reports_a_free_that_failed_after_the_allocator_was_dropped(
    flaky_run: Any, stream: Any
) -> None:
    """Regression: with the allocator unregistered no session call owns the
    stream; ``ge.finalize()`` is the last place that can report it."""
    env = flaky_run({("free", 1): Boom})
    outputs = env.run()
    env.session.unregister_external_allocator(stream)
    stream.synchronize()
    _drop_in_finalizers(outputs)
    env.session.close()
    with pytest.raises(Boom, match="boom-free-1"):
        ge.finalize()
    assert not ge.is_initialized()
    ge.initialize()  # the fixture finalizes again


def test_synchronize_raises_what_the_allocator_raised_during_it(
    flaky_run: Any, stream: Any
) -> None:
    env = flaky_run({("free", 1): Boom})
    outputs = env.run()
    outputs[0].close()
    try:
        with pytest.raises(Boom, match="boom-free-1"):
            stream.synchronize()
    finally:
        outputs[1].close()
        with contextlib.suppress(Boom):
            env.session.close()


def test_to_host_raises_what_the_allocator_raised_during_it(flaky_run: Any, stream: Any) -> None:
    env = flaky_run({("free", 1): Boom})
    outputs = env.run()
    stream.synchronize()
    try:
        with pytest.raises(Boom, match="boom-free-1"):
            outputs[0].to_host()
    finally:
        for out in outputs:
            out.close()
        with contextlib.suppress(Boom):
            env.session.close()


def test_finalize_finishes_when_a_session_reports_a_base_exception(
    flaky_run: Any, stream: Any, ge_stub: StubControl
) -> None:
    """Regression: ``ge.finalize()`` stopped at the first session whose closing
    raised something other than an ``Exception`` (here what a free raised while
    nobody waited): later sessions stayed open and GE was never finalized."""
    env = flaky_run({("free", 1): BoomBase})
    later = ge.Session()  # closed after env.session
    outputs = env.run()
    stream.synchronize()
    _drop_in_finalizers(outputs)  # the free raises there; it waits for the session's close
    with pytest.raises(BoomBase, match="boom-free-1"):
        ge.finalize()
    assert env.session.closed and later.closed
    assert not ge.is_initialized()
    assert ge_stub.live_counts()["sessions"] == 0
    ge.initialize()  # the fixture finalizes again


def test_a_failed_ge_finalize_still_reports_what_closing_the_sessions_raised(
    flaky_run: Any, stream: Any, ge_stub: StubControl
) -> None:
    """Regression: when GEFinalize failed, the errors of the sessions it had
    closed first were dropped."""
    env = flaky_run({("free", 1): Boom})
    outputs = env.run()
    stream.synchronize()
    _drop_in_finalizers(outputs)  # the free raises there; it waits for the session's close
    ge_stub.fail_next("GeApiWrapper_GEFinalize", GE_STATUS)
    with pytest.raises(GeError) as info:
        ge.finalize()
    assert (info.value.api_name, info.value.status) == ("GEFinalize", GE_STATUS)
    assert info.value.__notes__ == ["also raised: Boom('boom-free-1')"]
    assert env.session.closed and ge.is_initialized()
    ge.finalize()  # the next call succeeds
    assert not ge.is_initialized()
    ge.initialize()  # the fixture finalizes again
