"""The stand-in's tensors and tensor descriptions, through bare ctypes calls.

Each test pins one behaviour of CANN's C wrappers (``c_tensor.cc``,
``c_tensor_desc.cc``, ``c_tensor_runtime.cc``, ``esb_funcs.cc``, metadef's
``tensor.cc``, ``tensor_value_utils.cc``) that version 1 of the ABI got wrong
or did not have; the comment of each says what v1 did.
"""

from __future__ import annotations

import ctypes
import math
import shutil
import subprocess
import textwrap
from ctypes import POINTER, byref, c_int, c_int64, c_size_t, c_void_p
from pathlib import Path
from typing import Any, Optional

import ml_dtypes
import numpy as np
import pytest
from _helpers.stub_calls import child
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ge._ffi import api
from ge._ffi import status as S
from ge._ffi.handles import TensorDescHandle, TensorHandle
from ge.testing import StubControl

ND, NCHW, NHWC = 2, 0, 1
F32, F16, I8, I32, U8, I16, U16, U32, I64, U64, F64, BOOL = 0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12
C64, C128, BF16, STRING = 16, 17, 27, 13
ES_TYPES = {F32, F16, I8, I16, I32, I64, U8, U16, U32, U64, BOOL}
NUMPY = {
    F32: np.float32, F16: np.float16, I8: np.int8, I32: np.int32, U8: np.uint8,
    I16: np.int16, U16: np.uint16, U32: np.uint32, I64: np.int64, U64: np.uint64,
    F64: np.float64, BOOL: np.bool_, C64: np.complex64, C128: np.complex128,
    BF16: ml_dtypes.bfloat16,
}  # fmt: skip
TEXT_TYPES = sorted(set(NUMPY) - {C64, C128, BF16})
FAILED = S.FAILED
PARAM_INVALID = S.PARAM_INVALID

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])

_libc = ctypes.CDLL(None)


def c_format(value: float) -> str:
    """``"%f"`` as the C library writes it: std::to_string of a float or double."""
    buf = ctypes.create_string_buffer(400)
    _libc.snprintf(buf, 400, b"%f", ctypes.c_double(value))
    return buf.value.decode()


def element_text(value: Any, dtype: np.dtype[Any]) -> str:
    """GE's text of one element (tensor_value_utils.cc)."""
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.kind in "iu":
        return str(int(value))
    return c_format(float(np.float32(value)) if dtype.itemsize == 2 else float(value))


def dims(*values: int) -> Any:
    return (c_int64 * max(len(values), 1))(*values)


def es_tensor(
    array: Any, data_type: int, fmt: int = ND, shape: Optional[tuple[int, ...]] = None
) -> Any:
    shape = array.shape if shape is None else shape
    return api.EsCreateEsCTensor(array.ctypes.data, dims(*shape), len(shape), data_type, fmt)


def desc(shape: tuple[int, ...], data_type: int, fmt: int = ND) -> Any:
    handle = api.GeApiWrapper_TensorDesc_Create(dims(*shape), len(shape), fmt, data_type)
    assert handle
    return handle


def padded_tensor(array: Any, data_type: int, padding: bytes = b"") -> Any:
    """A tensor whose storage is the array's bytes and then ``padding``."""
    t = api.GeApiWrapper_Tensor_CreateTensor()
    d = desc(array.shape, data_type)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(t, d) == 0
    api.GeApiWrapper_TensorDesc_Destroy(d)
    raw = np.ascontiguousarray(array).tobytes() + padding
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, raw, len(raw)) == 0
    return t


def text_of(tensor: Any) -> str:
    raw = api.GeApiWrapper_Tensor_GetData(tensor)
    assert raw
    try:
        return ctypes.string_at(raw).decode()
    finally:
        api.GeApiWrapper_FreeString(raw)


def shape_of(getter: Any, handle: Any) -> list[int]:
    out, n = POINTER(c_int64)(), c_size_t()
    assert getter(handle, byref(out), byref(n)) == 0
    assert out  # new int64_t[n]: non-NULL even for no dims
    values = [out[i] for i in range(n.value)]
    api.GeApiWrapper_Tensor_FreeDimsArray(out)
    return values


def destroy(*tensors: Any) -> None:
    for t in tensors:
        api.GeApiWrapper_Tensor_DestroyEsCTensor(t)


def message() -> str:
    return (api.GeApiWrapper_GEGetErrorMsg() or b"").decode()


@pytest.fixture
def acl(ge_stub: StubControl) -> Any:
    assert api.aclInit(None) == 0
    yield ge_stub
    assert api.aclFinalize() == 0


# -- EsCreateEsCTensor and EsCreateEsCTensorFromFile (esb_funcs.cc) ------------


@pytest.mark.parametrize("data_type", sorted(NUMPY))
def test_es_create_takes_only_its_eleven_data_types(ge_stub: StubControl, data_type: int) -> None:
    """v1 also took DOUBLE, COMPLEX64/128 and BF16."""
    data = np.zeros(2, NUMPY[data_type])
    t = es_tensor(data, data_type)
    assert bool(t) is (data_type in ES_TYPES)
    if t:
        assert api.GeApiWrapper_Tensor_GetDataType(t) == data_type
        destroy(t)
    else:
        assert "unsupported data type" in message()


def test_es_create_needs_data_even_for_no_bytes(ge_stub: StubControl) -> None:
    """GE_ASSERT_NOTNULL(data) comes first; v1 took NULL for a size of 0."""
    assert not api.EsCreateEsCTensor(None, dims(0), 1, F32, ND)
    assert "data is NULL" in message()
    zero = np.zeros(0, np.float32)
    t = es_tensor(zero, F32)
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 0
    assert shape_of(api.GeApiWrapper_Tensor_GetShape, t) == [0]
    destroy(t)


@pytest.mark.parametrize("dim_num", [0, -1, -5])
def test_es_create_without_dims_is_a_scalar(ge_stub: StubControl, dim_num: int) -> None:
    """No dims (NULL, or dim_num <= 0) is a scalar of one element; v1 refused dim_num < 0."""
    data = np.array([7, 8, 9], np.int32)
    t = api.EsCreateEsCTensor(data.ctypes.data, dims(3), dim_num, I32, ND)
    assert t
    assert shape_of(api.GeApiWrapper_Tensor_GetShape, t) == []
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 4  # one element copied
    assert text_of(t) == "[7]"
    destroy(t)


def test_es_create_copies_and_sets_the_origin_shape(ge_stub: StubControl) -> None:
    data = np.arange(6, dtype=np.int16)
    t = es_tensor(data, I16, NCHW, (2, 3))
    data[:] = 0
    assert text_of(t) == "[0,1,2,3,4,5]"
    d = api.GeApiWrapper_Tensor_GetTensorDesc(t)
    assert shape_of(api.GeApiWrapper_TensorDesc_GetOriginShape, d) == [2, 3]
    assert api.GeApiWrapper_TensorDesc_GetOriginFormat(d) == ND  # TensorDesc's default
    assert api.GeApiWrapper_TensorDesc_GetFormat(d) == NCHW
    api.GeApiWrapper_TensorDesc_Destroy(d)
    destroy(t)
    api.GeApiWrapper_Tensor_DestroyEsCTensor(None)  # delete nullptr


def test_es_create_from_file(ge_stub: StubControl, tmp_path: Path) -> None:
    """New in v2: the file's leading bytes; > 0 bytes, >= what the dims need."""
    path = tmp_path / "data.bin"
    np.arange(10, dtype=np.float32).tofile(path)
    name = str(path).encode()
    t = api.EsCreateEsCTensorFromFile(name, dims(2, 2), 2, F32, ND)
    assert text_of(t) == "[0.000000,1.000000,2.000000,3.000000]"  # a longer file is fine
    scalar = api.EsCreateEsCTensorFromFile(name, None, 0, F32, ND)
    assert shape_of(api.GeApiWrapper_Tensor_GetShape, scalar) == []
    assert text_of(scalar) == "[0.000000]"
    destroy(t, scalar)
    assert not api.EsCreateEsCTensorFromFile(name, dims(11), 1, F32, ND)
    assert "less than" in message()
    assert not api.EsCreateEsCTensorFromFile(name, dims(2), 1, F64, ND)  # not its type
    (tmp_path / "empty.bin").write_bytes(b"")
    empty = str(tmp_path / "empty.bin").encode()
    assert not api.EsCreateEsCTensorFromFile(empty, dims(0), 1, F32, ND)
    assert "greater than 0" in message()
    assert not api.EsCreateEsCTensorFromFile(b"/no/such/file", None, 0, F32, ND)
    assert "invalid" in message()
    assert not api.EsCreateEsCTensorFromFile(None, None, 0, F32, ND)
    assert not api.EsCreateEsCTensorFromFile(str(tmp_path).encode(), None, 0, F32, ND)


# -- GetData's text (tensor_value_utils.cc) -------------------------------------


@fixture_ok
@given(data=st.data())
def test_text_is_ges_bracketed_std_to_string_form(ge_stub: StubControl, data: Any) -> None:
    """``[v0,v1,...]``, "%f" for floats (FLOAT16 converted), true/false; every element
    of the storage, padding included. v1: comma-separated "%.17g", no brackets."""
    data_type = data.draw(st.sampled_from(TEXT_TYPES))
    dtype = np.dtype(NUMPY[data_type])
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    values = data.draw(hnp.arrays(dtype, shape))
    pad = data.draw(st.integers(0, 3))
    extra = data.draw(hnp.arrays(dtype, pad)) if pad else np.zeros(0, dtype)
    t = padded_tensor(values, data_type, extra.tobytes())
    flat = list(values.reshape(-1)) + list(extra)
    assert text_of(t) == "[" + ",".join(element_text(v, dtype) for v in flat) + "]"
    destroy(t)


def test_text_special_values(ge_stub: StubControl) -> None:
    values = np.array([1.5, np.nan, -np.nan, np.inf, -np.inf, -0.0, 1e-7, 1e20], np.float64)
    t = padded_tensor(values, F64)
    assert text_of(t) == (
        "[1.500000,nan,-nan,inf,-inf,-0.000000,0.000000,100000000000000000000.000000]"
    )
    half = padded_tensor(np.array([65504, 6e-8, -2.5], np.float16), F16)
    assert text_of(half) == "[65504.000000,0.000000,-2.500000]"
    flags = padded_tensor(np.array([True, False]), BOOL)
    assert text_of(flags) == "[true,false]"
    destroy(t, half, flags)


@pytest.mark.parametrize("data_type", [C64, C128, BF16, STRING, 29])
def test_text_not_supported_comes_first(ge_stub: StubControl, data_type: int) -> None:
    """The data type is looked at before the data: no text form even with no data."""
    t = api.GeApiWrapper_Tensor_CreateTensor()
    assert text_of(t) == "<empty>"
    assert api.GeApiWrapper_Tensor_SetDataType(t, byref(c_int(data_type))) == 0
    assert text_of(t) == "<not_supported>"
    destroy(t)


def test_text_invalid(ge_stub: StubControl) -> None:
    """A size that is no whole number of elements, or a size without data."""
    t = padded_tensor(np.zeros(0, np.float32), F32, b"12345")
    assert text_of(t) == "<invalid>"
    ge_stub.fail_next("_ZN2ge6Tensor7SetDataEPKhm", 0)
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, b"abcd", 4) == 0  # CANN: success anyway
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 4
    assert not api._ZNK2ge6Tensor7GetDataEv(t)
    assert text_of(t) == "<invalid>"
    destroy(t)


def test_text_of_device_memory_crashes(acl: StubControl, tmp_path: Path) -> None:
    """Reading a device tensor's values from the host is a crash on CANN."""
    t = es_tensor(np.ones(2, np.float32), F32)
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    with acl.tidy_misuse():
        assert not api.GeApiWrapper_Tensor_GetData(t)
        assert "device memory" in message()
    destroy(t)
    done = child(
        """
        import numpy as np
        api.aclInit(None)
        data = np.ones(2, np.float32)
        t = api.EsCreateEsCTensor(data.ctypes.data, (c_int64 * 1)(2), 1, 0, 2)
        api.GeApiWrapper_Tensor_ToDevice(t)
        api.GeApiWrapper_Tensor_GetData(t)
        print("survived")
        """,
        tmp_path,
    )
    assert done.returncode < 0 and "survived" not in done.stdout
    assert "GeApiWrapper_Tensor_GetData: the tensor's data is device memory" in done.stderr


# -- the description calls of c_tensor.cc ----------------------------------------


def test_null_tensor_getters_give_zero(ge_stub: StubControl) -> None:
    """GE_ASSERT_NOTNULL in an enum function gives 0 (DT_FLOAT, FORMAT_NCHW, HOST);
    v1 gave -1."""
    for getter in ("GetDataType", "GetFormat", "GetPlacement"):
        assert getattr(api, f"GeApiWrapper_Tensor_{getter}")(None) == 0
        assert "NULL" in message()
    assert not api.GeApiWrapper_Tensor_GetTensorDesc(None)
    assert not api.GeApiWrapper_Tensor_GetData(None)
    assert api.GeApiWrapper_Tensor_SetDataType(None, byref(c_int(3))) == PARAM_INVALID
    assert api.GeApiWrapper_Tensor_ToHost(None) == PARAM_INVALID
    assert api.GeApiWrapper_Tensor_ToDevice(None) == PARAM_INVALID


def test_get_shape_of_a_scalar_hands_out_an_array(ge_stub: StubControl) -> None:
    """new int64_t[0]: an array to free even for no dims (v1 gave NULL)."""
    t = api.GeApiWrapper_Tensor_CreateTensor()
    out, n = POINTER(c_int64)(), c_size_t(9)
    assert api.GeApiWrapper_Tensor_GetShape(t, byref(out), byref(n)) == 0
    assert out and n.value == 0
    assert ge_stub.live_counts()["dims_arrays"] == 1
    api.GeApiWrapper_Tensor_FreeDimsArray(out)
    api.GeApiWrapper_Tensor_FreeDimsArray(None)  # delete[] nullptr
    assert ge_stub.live_counts()["dims_arrays"] == 0
    destroy(t)


def test_get_shape_allocation_failure_reports_success(ge_stub: StubControl) -> None:
    """CANN's VecDimsToArray: GRAPH_SUCCESS with no array when new[] fails."""
    t = es_tensor(np.zeros((2, 3), np.int8), I8)
    ge_stub.fail_next("GeApiWrapper_Tensor_GetShape", 1)
    out, n = POINTER(c_int64)(), c_size_t()
    assert api.GeApiWrapper_Tensor_GetShape(t, byref(out), byref(n)) == 0
    assert not out and n.value == 2
    assert "injected fault" in message()
    destroy(t)


def test_set_data_type_and_format_keep_any_value(ge_stub: StubControl) -> None:
    """By pointer (a C++ reference), unchecked; v1 refused a negative data type."""
    t = es_tensor(np.zeros(4, np.float32), F32)
    assert api.GeApiWrapper_Tensor_SetDataType(t, byref(c_int(-3))) == 0
    assert api.GeApiWrapper_Tensor_GetDataType(t) == -3
    assert api.GeApiWrapper_Tensor_SetFormat(t, byref(c_int(0x1001D))) == 0
    assert api.GeApiWrapper_Tensor_GetFormat(t) == 0x1001D
    destroy(t)


@pytest.mark.parametrize(
    "code, function",
    [
        ("api.GeApiWrapper_Tensor_GetShape(None, None, None)", "GeApiWrapper_Tensor_GetShape"),
        (
            "t = api.GeApiWrapper_Tensor_CreateTensor()\n"
            "api.GeApiWrapper_Tensor_GetShape(t, None, None)",
            "GeApiWrapper_Tensor_GetShape",
        ),
        (
            "t = api.GeApiWrapper_Tensor_CreateTensor()\n"
            "api.GeApiWrapper_Tensor_SetDataType(t, None)",
            "GeApiWrapper_Tensor_SetDataType",
        ),
        (
            "api.GeApiWrapper_Tensor_FreeDimsArray((c_int64 * 2)())",
            "GeApiWrapper_Tensor_FreeDimsArray",
        ),
        (
            "api.GeApiWrapper_Session_FreeTensorArray((ctypes.c_void_p * 2)())",
            "GeApiWrapper_Session_FreeTensorArray",
        ),
        ("api._ZNK2ge6Tensor7GetSizeEv(None)", "_ZNK2ge6Tensor7GetSizeEv"),
        (
            "t = api.GeApiWrapper_Tensor_CreateTensor()\n"
            "api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(t, None)",
            "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE",
        ),
        (
            "d = api.GeApiWrapper_TensorDesc_Create(None, 0, 2, 0)\n"
            "api.GeApiWrapper_TensorDesc_Destroy(d)\n"
            "api.GeApiWrapper_TensorDesc_GetFormat(d)",
            "GeApiWrapper_TensorDesc_GetFormat",
        ),
    ],
)
def test_what_crashes_cann_aborts(code: str, function: str, tmp_path: Path) -> None:
    """No NULL check in CANN (GetShape, references, the ge::Tensor members), or a
    pointer the library did not hand out given to delete[] (v1: a tidy message)."""
    done = child(code + "\nprint('survived')", tmp_path)
    assert done.returncode < 0, done
    assert "survived" not in done.stdout
    assert f"ge_stub: {function}: " in done.stderr


# -- ToHost and ToDevice (c_tensor_runtime.cc) --------------------------------


def test_to_host_and_to_device_are_not_idempotent(acl: StubControl) -> None:
    """A second call fails (the copy's source is on the wrong side); v1: a no-op."""
    t = es_tensor(np.arange(4, dtype=np.float32), F32)
    assert api.GeApiWrapper_Tensor_ToHost(t) == FAILED
    assert "DEVICE_TO_HOST" in message()
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 1
    assert acl.live_counts()["device_blocks"] == 1  # an aclrtMalloc block of its own
    assert api.GeApiWrapper_Tensor_ToDevice(t) == FAILED
    assert "HOST_TO_DEVICE" in message()
    assert acl.live_counts()["device_blocks"] == 1  # the new block was freed
    assert api.GeApiWrapper_Tensor_ToHost(t) == 0
    assert acl.live_counts()["device_blocks"] == 0
    assert text_of(t) == "[0.000000,1.000000,2.000000,3.000000]"
    destroy(t)


def test_to_device_needs_acl(ge_stub: StubControl) -> None:
    t = es_tensor(np.ones(2, np.int32), I32)
    assert api.GeApiWrapper_Tensor_ToDevice(t) == FAILED  # aclrtMalloc before aclInit
    assert "aclrtMalloc" in message()
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 0
    destroy(t)


def test_to_device_fails_with_aclrt_malloc(acl: StubControl) -> None:
    t = es_tensor(np.ones(2, np.int32), I32)
    acl.fail_next("aclrtMalloc", S.ACL_ERROR_BAD_ALLOC)
    assert api.GeApiWrapper_Tensor_ToDevice(t) == FAILED
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 0
    assert acl.live_counts()["device_blocks"] == 0
    destroy(t)


@fixture_ok
@given(
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
    pad=st.integers(0, 40),
    data_type=st.sampled_from(sorted(NUMPY)),
)
def test_to_host_copies_the_logical_size_out_of_padded_storage(
    acl: StubControl, shape: tuple[int, ...], pad: int, data_type: int
) -> None:
    dtype = np.dtype(NUMPY[data_type])
    values = np.arange(math.prod(shape), dtype=np.uint8).astype(dtype).reshape(shape)
    t = padded_tensor(values, data_type, b"\xee" * pad)
    logical = values.nbytes
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == logical + pad
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    if logical + pad:
        assert api._ZNK2ge6Tensor7GetSizeEv(t) == logical + pad  # the whole storage
    assert api.GeApiWrapper_Tensor_ToHost(t) == 0
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 0
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == logical
    got = ctypes.string_at(api._ZNK2ge6Tensor7GetDataEv(t), logical)
    assert got == values.tobytes()
    destroy(t)


def test_to_host_edge_cases(acl: StubControl) -> None:
    short = padded_tensor(np.zeros(3, np.float32), F32)
    d = desc((4,), F32)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(short, d) == 0
    assert api.GeApiWrapper_Tensor_ToHost(short) == FAILED  # storage < shape x itemsize
    unknown = desc((-1, 2), F32)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(short, unknown) == 0
    assert api.GeApiWrapper_Tensor_ToHost(short) == PARAM_INVALID  # CalcTensorMemSize < 0
    empty = api.GeApiWrapper_Tensor_CreateTensor()
    zero = desc((0, 3), F32)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(empty, zero) == 0
    assert api.GeApiWrapper_Tensor_ToHost(empty) == 0  # nothing to copy: only the placement
    for handle in (d, unknown, zero):
        api.GeApiWrapper_TensorDesc_Destroy(handle)
    destroy(short, empty)


def test_to_device_of_a_tensor_without_data(acl: StubControl) -> None:
    """The size comes from the shape (GetTensorStorageSize); a scalar's is 0."""
    t = api.GeApiWrapper_Tensor_CreateTensor()
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0  # 0-d: GetShapeSize is 0
    assert acl.live_counts()["device_blocks"] == 0
    destroy(t)
    t = api.GeApiWrapper_Tensor_CreateTensor()
    d = desc((2, 3), F32)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(t, d) == 0
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 24
    assert acl.live_counts()["device_blocks"] == 1
    api.GeApiWrapper_TensorDesc_Destroy(d)
    destroy(t)
    assert acl.live_counts()["device_blocks"] == 0


# -- tensor descriptions (c_tensor_desc.cc) and the ge::Tensor members --------


def test_tensor_desc_api(ge_stub: StubControl) -> None:
    d = api.GeApiWrapper_TensorDesc_Create(dims(1, 3, 224, 224), 4, NCHW, F32)
    assert ge_stub.live_counts()["tensor_descs"] == 1
    assert shape_of(api.GeApiWrapper_TensorDesc_GetShape, d) == [1, 3, 224, 224]
    assert shape_of(api.GeApiWrapper_TensorDesc_GetOriginShape, d) == []  # not set
    assert api.GeApiWrapper_TensorDesc_GetFormat(d) == NCHW
    assert api.GeApiWrapper_TensorDesc_GetOriginFormat(d) == ND  # not the format
    assert api.GeApiWrapper_TensorDesc_GetDataType(d) == F32
    assert api.GeApiWrapper_TensorDesc_SetShape(d, dims(-1, 2), 2) == 0  # unknown dims kept
    assert shape_of(api.GeApiWrapper_TensorDesc_GetShape, d) == [-1, 2]
    assert api.GeApiWrapper_TensorDesc_SetShape(d, None, 0) == 0
    assert shape_of(api.GeApiWrapper_TensorDesc_GetShape, d) == []
    assert api.GeApiWrapper_TensorDesc_SetOriginShape(d, dims(6), 1) == 0
    assert shape_of(api.GeApiWrapper_TensorDesc_GetOriginShape, d) == [6]
    for what, value in (("Format", 29), ("OriginFormat", NHWC), ("DataType", 42)):
        assert getattr(api, f"GeApiWrapper_TensorDesc_Set{what}")(d, value) == 0
        assert getattr(api, f"GeApiWrapper_TensorDesc_Get{what}")(d) == value
    api.GeApiWrapper_TensorDesc_Destroy(d)
    api.GeApiWrapper_TensorDesc_Destroy(None)  # delete nullptr
    assert ge_stub.live_counts()["tensor_descs"] == 0


def test_tensor_desc_argument_checks(ge_stub: StubControl) -> None:
    assert not api.GeApiWrapper_TensorDesc_Create(None, 2, ND, F32)  # BuildShape
    d = api.GeApiWrapper_TensorDesc_Create(None, 0, ND, F32)
    assert d
    assert api.GeApiWrapper_TensorDesc_SetShape(d, None, 1) == S.GRAPH_PARAM_INVALID
    assert api.GeApiWrapper_TensorDesc_SetOriginShape(d, None, 1) == S.GRAPH_PARAM_INVALID
    out, n = POINTER(c_int64)(), c_size_t()
    assert api.GeApiWrapper_TensorDesc_GetShape(d, None, byref(n)) == PARAM_INVALID
    assert api.GeApiWrapper_TensorDesc_GetOriginShape(d, byref(out), None) == PARAM_INVALID
    assert api.GeApiWrapper_TensorDesc_GetShape(None, byref(out), byref(n)) == PARAM_INVALID
    assert api.GeApiWrapper_TensorDesc_SetShape(None, dims(1), 1) == PARAM_INVALID
    for what in ("Format", "OriginFormat", "DataType"):
        assert getattr(api, f"GeApiWrapper_TensorDesc_Get{what}")(None) == 0
        assert getattr(api, f"GeApiWrapper_TensorDesc_Set{what}")(None, 1) == PARAM_INVALID
    api.GeApiWrapper_TensorDesc_Destroy(d)


def test_get_tensor_desc_is_a_detached_copy(acl: StubControl) -> None:
    t = es_tensor(np.zeros((2, 3), np.uint8), U8, NHWC)
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    d = api.GeApiWrapper_Tensor_GetTensorDesc(t)
    assert shape_of(api.GeApiWrapper_TensorDesc_GetShape, d) == [2, 3]
    assert api.GeApiWrapper_TensorDesc_GetFormat(d) == NHWC
    assert api.GeApiWrapper_TensorDesc_SetShape(d, dims(6), 1) == 0
    assert shape_of(api.GeApiWrapper_Tensor_GetShape, t) == [2, 3]
    # SetTensorDesc takes the copy's placement too (device, from the tensor)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(t, d) == 0
    assert shape_of(api.GeApiWrapper_Tensor_GetShape, t) == [6]
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 1
    fresh = desc((6,), U8)
    assert api._ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE(t, fresh) == 0
    assert api.GeApiWrapper_Tensor_GetPlacement(t) == 0  # a new description is a host one
    for handle in (d, fresh):
        api.GeApiWrapper_TensorDesc_Destroy(handle)
    destroy(t)


def test_set_data_semantics(ge_stub: StubControl) -> None:
    """ge::Tensor::SetData(const uint8_t *, size_t) copies, and always says success."""
    t = api.GeApiWrapper_Tensor_CreateTensor()
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 0
    assert api._ZNK2ge6Tensor7GetDataEv(t)  # a placeholder, never NULL
    data = ctypes.create_string_buffer(b"abcdefgh", 8)
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, data, 8) == 0
    first = api._ZNK2ge6Tensor7GetDataEv(t)
    assert first != ctypes.addressof(data)  # a copy
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, b"ABCDEFGH", 8) == 0
    assert api._ZNK2ge6Tensor7GetDataEv(t) == first  # same size: in place
    assert ctypes.string_at(first, 8) == b"ABCDEFGH"
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, None, 4) == 0  # NULL data: no change
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 8
    assert api._ZN2ge6Tensor7SetDataEPKhm(t, data, 0) == 0  # size 0: emptied
    assert api._ZNK2ge6Tensor7GetSizeEv(t) == 0
    destroy(t)


def test_mangled_names_are_what_gxx_makes(ge_stub_library: str, tmp_path: Path) -> None:
    """The four ge::Tensor members, as g++ names them (Itanium ABI), are the symbols."""
    gxx, nm = shutil.which("g++"), shutil.which("nm")
    if not gxx or not nm:
        pytest.skip("needs g++ and nm")
    source = tmp_path / "probe.cc"
    source.write_text(
        textwrap.dedent(
            """
            #include <cstddef>
            #include <cstdint>
            namespace ge {
            using graphStatus = uint32_t;
            class TensorDesc;
            class Tensor {
             public:
              const uint8_t *GetData() const;
              size_t GetSize() const;
              graphStatus SetData(const uint8_t *data, size_t size);
              graphStatus SetTensorDesc(const TensorDesc &tensor_desc);
            };
            }
            size_t probe(ge::Tensor &t, const ge::TensorDesc &d) {
              t.SetTensorDesc(d);
              t.SetData(t.GetData(), 0);
              return t.GetSize();
            }
            """
        )
    )
    obj = tmp_path / "probe.o"
    subprocess.run([gxx, "-c", str(source), "-o", str(obj)], check=True)
    undefined = subprocess.run(
        [nm, "-u", str(obj)], capture_output=True, text=True, check=True
    ).stdout.split()
    wanted = {
        "_ZNK2ge6Tensor7GetDataEv",
        "_ZNK2ge6Tensor7GetSizeEv",
        "_ZN2ge6Tensor7SetDataEPKhm",
        "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE",
    }
    assert wanted <= set(undefined), undefined
    exported = subprocess.run(
        [nm, "-D", "--defined-only", ge_stub_library], capture_output=True, text=True, check=True
    ).stdout.split()
    assert wanted <= set(exported)


def test_handles_of_tensor_descs_are_their_own_kind(ge_stub: StubControl) -> None:
    d = desc((2,), F32)
    t = api.GeApiWrapper_Tensor_CreateTensor()
    with pytest.raises(ctypes.ArgumentError):  # refused before C (ge._ffi.handles)
        api.GeApiWrapper_Tensor_GetDataType(d)
    with ge_stub.tidy_misuse():  # forced through: the stand-in tells the kinds apart too
        assert api.GeApiWrapper_Tensor_GetDataType(TensorHandle(d.value)) == 0
        assert api.GeApiWrapper_TensorDesc_GetDataType(TensorDescHandle(t.value)) == 0
    api.GeApiWrapper_TensorDesc_Destroy(d)
    destroy(t)


def test_reset_frees_tensor_descs(ge_stub: StubControl) -> None:
    for _ in range(3):
        desc((1,), F32)
    t = api.GeApiWrapper_Tensor_CreateTensor()
    assert api.GeApiWrapper_Tensor_GetTensorDesc(t)
    assert ge_stub.live_counts()["tensor_descs"] == 4
    ge_stub.reset()
    assert ge_stub.live_counts()["tensor_descs"] == 0


def test_aclrt_memcpy_from_a_tensor_to_a_buffer(acl: StubControl) -> None:
    """A device tensor's data is device memory the caller can copy from."""
    t = es_tensor(np.arange(3, dtype=np.int64), I64)
    assert api.GeApiWrapper_Tensor_ToDevice(t) == 0
    host = (ctypes.c_int64 * 3)()
    source = c_void_p(api._ZNK2ge6Tensor7GetDataEv(t))
    assert api.aclrtMemcpy(host, 24, source, 24, 2) == 0
    assert list(host) == [0, 1, 2]
    destroy(t)
