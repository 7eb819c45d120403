"""``ge.graph.Tensor`` on the stand-in: numpy round trips, constructor, misuse."""

from __future__ import annotations

import copy
import ctypes
import gc
import math
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ge import _callback_errors, _ffi
from ge._ffi import api, status
from ge.error import AclError, GeError
from ge.graph import DataType, Format, Placement, Tensor
from ge.graph.dtypes import from_numpy_dtype
from ge.graph.tensor import RAW_GET_DATA, RAW_GET_SIZE
from ge.testing import StubControl

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = [
    np.dtype(name)
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
] + [BF16]
LAYOUTS = ("c", "step", "reversed", "transposed", "fortran", "swapped", "swapped-step")

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def _native(dtype: np.dtype[Any]) -> np.dtype[Any]:
    return dtype if dtype.byteorder in ("=", "|") else dtype.newbyteorder("=")


def _random_values(draw: st.DrawFn, dtype: np.dtype[Any], shape: tuple[int, ...]) -> Any:
    """An array of ``shape`` with arbitrary bits (NaN payloads, -0.0, inf, ...)."""
    count = math.prod(shape)
    if dtype.kind == "b":
        flat = draw(hnp.arrays(np.bool_, count))
    else:
        raw = draw(st.binary(min_size=count * dtype.itemsize, max_size=count * dtype.itemsize))
        flat = np.frombuffer(raw, dtype=dtype).copy()
    return flat.reshape(shape)


@st.composite
def any_array(draw: st.DrawFn) -> Any:
    """Every supported dtype, 0-d to 6-d, zero-size, views with steps, transposes, byte orders."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=6, min_side=0, max_side=3))
    layout = draw(st.sampled_from(LAYOUTS))
    swappable = dtype.itemsize > 1 and dtype != BF16
    if layout in ("step", "swapped-step"):
        base = _random_values(draw, dtype, tuple(2 * s for s in shape))
        array = base[tuple(slice(None, None, 2) for _ in shape)]
    elif layout == "reversed":
        array = _random_values(draw, dtype, shape)[tuple(slice(None, None, -1) for _ in shape)]
    elif layout == "transposed":
        array = _random_values(draw, dtype, shape[::-1]).T
    elif layout == "fortran":
        array = np.asarray(_random_values(draw, dtype, shape), order="F")
    else:
        array = _random_values(draw, dtype, shape)
    if layout.startswith("swapped") and swappable:
        array = array.astype(dtype.newbyteorder("S"))
    assert array.shape == shape
    return array


def assert_bits_equal(out: Any, expected: Any) -> None:
    """Same shape, native dtype and the very same bytes (NaN payloads included)."""
    want = np.asarray(expected, dtype=_native(expected.dtype), order="C")
    assert out.shape == want.shape
    assert out.dtype == want.dtype
    assert out.tobytes() == want.tobytes()


def _float_parts(array: Any) -> Any:
    if array.dtype.kind == "c":
        return np.stack([array.real, array.imag], axis=-1)
    return array


def assert_equal_nan_as_nan(out: Any, expected: Any) -> None:
    """Same values bit for bit, except that any NaN equals any NaN (the text fallback)."""
    want = np.asarray(expected, dtype=_native(expected.dtype), order="C")
    assert out.shape == want.shape
    assert out.dtype == want.dtype
    if want.dtype.kind in "fcV":
        got_parts, want_parts = _float_parts(out), _float_parts(want)
        got_nan, want_nan = np.isnan(got_parts), np.isnan(want_parts)
        assert np.array_equal(got_nan, want_nan)
        assert got_parts[~got_nan].tobytes() == want_parts[~want_nan].tobytes()
    else:
        assert out.tobytes() == want.tobytes()


def assert_owns_fresh_memory(out: Any) -> None:
    assert isinstance(out, np.ndarray)
    assert out.flags.owndata and out.flags.writeable and out.flags.c_contiguous


@pytest.fixture
def acl(ge_stub: StubControl) -> Iterator[StubControl]:
    """The stand-in with ACL initialised (device memory copies need it)."""
    assert api.aclInit(None) == 0
    yield ge_stub
    api.aclFinalize()


# -- round trips --------------------------------------------------------------


@fixture_ok
@given(array=any_array())
def test_from_numpy_round_trip_fast_path(ge_stub: StubControl, array: Any) -> None:
    assert _ffi.has(RAW_GET_DATA) and _ffi.has(RAW_GET_SIZE)
    with Tensor.from_numpy(array) as tensor:
        assert tensor.shape == array.shape
        assert tensor.dtype is from_numpy_dtype(array.dtype)
        assert tensor.format is Format.FORMAT_ND
        assert tensor.placement is Placement.PLACEMENT_HOST
        assert tensor.nbytes == array.nbytes
        out = tensor.numpy()
    assert_owns_fresh_memory(out)
    assert_bits_equal(out, array)


@fixture_ok
@given(array=any_array())
def test_from_numpy_round_trip_text_fallback(ge_stub: StubControl, array: Any) -> None:
    with Tensor.from_numpy(array) as tensor, _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE):
        assert not _ffi.has(RAW_GET_DATA)
        out = tensor.numpy()
    assert_owns_fresh_memory(out)
    assert_equal_nan_as_nan(out, array)


@fixture_ok
@given(array=any_array())
def test_device_round_trip(acl: StubControl, array: Any) -> None:
    with Tensor.from_numpy(array) as tensor:
        assert tensor.to_device() is tensor
        assert tensor.placement is Placement.PLACEMENT_DEVICE
        assert tensor.shape == array.shape
        from_device = tensor.numpy()
        assert tensor.to_host() is tensor
        assert tensor.placement is Placement.PLACEMENT_HOST
        back = tensor.numpy()
    assert_owns_fresh_memory(from_device)
    assert_bits_equal(from_device, array)
    assert_bits_equal(back, array)


def test_text_fallback_special_values(ge_stub: StubControl) -> None:
    values = np.array([np.nan, -np.nan, np.inf, -np.inf, -0.0, 0.0, 6e-8, 65504.0, 1 / 3])
    for dtype in (np.float16, np.float32, np.float64, BF16):
        array = values.astype(dtype)
        with Tensor.from_numpy(array) as tensor, _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE):
            assert_equal_nan_as_nan(tensor.numpy(), array)
    extremes = [
        np.array([np.iinfo(t).min, np.iinfo(t).max, 0], dtype=t)
        for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
    ]
    extremes.append(np.array([1 + 2j, np.nan - 1j, -np.inf + 0j], dtype=np.complex64))
    extremes.append(np.array([[True, False]]))
    for array in extremes:
        with Tensor.from_numpy(array) as tensor, _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE):
            assert_equal_nan_as_nan(tensor.numpy(), array)


def test_device_tensor_in_the_fallback_needs_to_host(acl: StubControl) -> None:
    with Tensor.from_numpy(np.arange(4, dtype=np.float32)) as tensor:
        tensor.to_device()
        with _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE):
            with pytest.raises(ValueError, match=r"to_host\(\)"):
                tensor.numpy()
            np.testing.assert_array_equal(tensor.to_host().numpy(), np.arange(4))


def test_scalar_and_zero_size(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.float32(2.5)) as scalar:
        assert scalar.shape == ()
        assert scalar.ndim == 0 and scalar.size == 1 and scalar.nbytes == 4
        out = scalar.numpy()
        assert out.shape == () and out == np.float32(2.5)
    with Tensor.from_numpy(np.zeros((3, 0, 2), dtype=np.int16)) as empty:
        assert empty.shape == (3, 0, 2) and empty.nbytes == 0
        assert empty.numpy().shape == (3, 0, 2)
        with _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE):
            assert empty.numpy().shape == (3, 0, 2)


def test_array_protocol(ge_stub: StubControl) -> None:
    data = np.arange(6, dtype=np.int32).reshape(2, 3)
    with Tensor.from_numpy(data) as tensor:
        np.testing.assert_array_equal(np.asarray(tensor), data)
        as_float = np.asarray(tensor, dtype=np.float64)
        assert as_float.dtype == np.float64
        np.testing.assert_array_equal(as_float, data)
        np.testing.assert_array_equal(np.array(tensor, copy=True), data)
        assert tensor.__array__(copy=True).flags.owndata
        with pytest.raises(ValueError, match="copy"):
            tensor.__array__(copy=False)
        np.testing.assert_array_equal(data + np.asarray(tensor), 2 * data)


def test_formats_are_kept(ge_stub: StubControl) -> None:
    for fmt in (Format.FORMAT_NCHW, Format.FORMAT_FRACTAL_NZ, 30):
        with Tensor.from_numpy(np.ones((1, 2, 3, 4), np.float16), format=fmt) as tensor:
            assert tensor.format == fmt
            assert isinstance(tensor.format, Format)


def test_placement_is_not_cached(acl: StubControl) -> None:
    with Tensor.from_numpy(np.ones(3)) as tensor:
        assert tensor.placement is Placement.PLACEMENT_HOST
        tensor.to_device()
        tensor.to_device()  # already there: a no-op
        assert tensor.placement is Placement.PLACEMENT_DEVICE
        tensor.to_host()
        tensor.to_host()
        assert tensor.placement is Placement.PLACEMENT_HOST


def test_repr(acl: StubControl) -> None:
    tensor = Tensor.from_numpy(np.zeros((2, 3), np.float32), format=Format.FORMAT_NCHW)
    text = repr(tensor)
    assert "(2, 3)" in text and "DT_FLOAT" in text and "FORMAT_NCHW" in text
    assert "PLACEMENT_HOST" in text
    tensor.to_device()
    assert "PLACEMENT_DEVICE" in repr(tensor)
    tensor.close()
    assert repr(tensor) == "Tensor(<closed>)"


# -- the GE-style constructor -------------------------------------------------


def test_constructor_from_nested_lists(ge_stub: StubControl) -> None:
    with Tensor([[1, 2, 3], [4, 5, 6]], data_type=DataType.DT_INT32) as tensor:
        assert tensor.shape == (2, 3)
        assert tensor.dtype is DataType.DT_INT32
        np.testing.assert_array_equal(tensor.numpy(), [[1, 2, 3], [4, 5, 6]])
    with Tensor([1.5, 2.5, 3.5, 4.5], shape=(2, 2)) as tensor:
        assert tensor.dtype is DataType.DT_FLOAT
        assert tensor.numpy().dtype == np.float32
        np.testing.assert_array_equal(tensor.numpy(), [[1.5, 2.5], [3.5, 4.5]])
    with Tensor(7, data_type=9) as scalar:
        assert scalar.shape == () and scalar.dtype is DataType.DT_INT64
        assert scalar.numpy() == 7
    with Tensor([1.0, 2.0], data_type=DataType.DT_BF16, format=Format.FORMAT_NHWC) as bf16:
        assert bf16.numpy().dtype == BF16
        assert bf16.format is Format.FORMAT_NHWC


def test_constructor_converts_arrays(ge_stub: StubControl) -> None:
    source = np.array([[1.9, -2.9]], dtype=">f8")
    with Tensor(source, data_type=DataType.DT_INT16) as tensor:
        assert tensor.dtype is DataType.DT_INT16
        np.testing.assert_array_equal(tensor.numpy(), [[1, -2]])
    with Tensor(np.arange(6)[::2], data_type=DataType.DT_DOUBLE, shape=[3, 1]) as tensor:
        np.testing.assert_array_equal(tensor.numpy(), [[0.0], [2.0], [4.0]])


def test_constructor_from_file(ge_stub: StubControl, tmp_path: Path) -> None:
    data = np.arange(12, dtype=np.float16)
    path = tmp_path / "data.bin"
    data.tofile(path)
    with Tensor(file_path=path, data_type=DataType.DT_FLOAT16, shape=(3, 4)) as tensor:
        assert tensor.shape == (3, 4)
        np.testing.assert_array_equal(tensor.numpy(), data.reshape(3, 4))
    with Tensor(file_path=str(path), data_type=DataType.DT_INT8) as tensor:
        assert tensor.shape == (24,)
        np.testing.assert_array_equal(tensor.numpy(), data.view(np.int8))
    (tmp_path / "odd.bin").write_bytes(b"\0" * 5)
    with pytest.raises(ValueError, match="whole number"):
        Tensor(file_path=tmp_path / "odd.bin", data_type=DataType.DT_INT32)
    with pytest.raises(ValueError, match="elements"):
        Tensor(file_path=path, data_type=DataType.DT_FLOAT16, shape=(5,))
    with pytest.raises(FileNotFoundError):
        Tensor(file_path=tmp_path / "missing.bin")
    with pytest.raises(TypeError, match="file_path"):
        Tensor(file_path=3)  # type: ignore[arg-type]


def test_constructor_without_data(acl: StubControl) -> None:
    with Tensor() as empty:
        assert empty.dtype is DataType.DT_FLOAT
        assert empty.placement is Placement.PLACEMENT_HOST
        with pytest.raises(GeError, match="no data"):
            empty.numpy()  # GE's empty tensor has no data (not even for its 0-d shape)
        with (
            _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE),
            pytest.raises(GeError, match="0 values"),
        ):
            empty.numpy()
    with Tensor(data_type=DataType.DT_INT64, format=Format.FORMAT_NCHW) as empty:
        assert empty.dtype is DataType.DT_INT64
        assert empty.format is Format.FORMAT_NCHW
    with Tensor(shape=(2, 0, 3), data_type=DataType.DT_UINT8) as zero_size:
        assert zero_size.shape == (2, 0, 3)
        assert zero_size.numpy().shape == (2, 0, 3)
    with Tensor(shape=[2, 2], data_type=DataType.DT_COMPLEX64) as zeros:
        np.testing.assert_array_equal(zeros.numpy(), np.zeros((2, 2), np.complex64))
    with Tensor([1, 2], data_type=DataType.DT_INT32, placement=Placement.PLACEMENT_DEVICE) as dev:
        assert dev.placement is Placement.PLACEMENT_DEVICE
        np.testing.assert_array_equal(dev.numpy(), [1, 2])


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"data": "123"}, TypeError, "data"),
        ({"data": b"123"}, TypeError, "data"),
        ({"data": {"a": 1}}, TypeError, "data"),
        ({"data": ["a", "b"]}, TypeError, "numbers"),
        ({"data": [object()]}, TypeError, "numbers"),
        ({"data": [1, 2], "data_type": "float32"}, TypeError, "data_type"),
        ({"data": [1, 2], "data_type": np.float32}, TypeError, "data_type"),
        ({"data": [1, 2], "data_type": True}, TypeError, "data_type"),
        ({"data": [1, 2], "data_type": 5}, ValueError, "DataType"),
        ({"data": [1, 2], "data_type": DataType.DT_STRING}, TypeError, "DT_STRING"),
        ({"data": [1, 2], "format": "ND"}, TypeError, "format"),
        ({"data": [1, 2], "format": 1000}, ValueError, "Format"),
        ({"data": [1, 2], "placement": 7}, ValueError, "Placement"),
        ({"data": [1, 2], "shape": 2}, TypeError, "shape"),
        ({"data": [1, 2], "shape": "2"}, TypeError, "shape"),
        ({"data": [1, 2], "shape": [2.0]}, TypeError, "shape"),
        ({"data": [1, 2], "shape": [True, 2]}, TypeError, "shape"),
        ({"data": [1, 2], "shape": [3]}, ValueError, "elements"),
        ({"data": [1, 2], "shape": [-1, 2]}, ValueError, "shape"),
        ({"data": [[1, 2], [3]]}, ValueError, "inhomogeneous"),
        ({"data": [300], "data_type": DataType.DT_UINT8}, ValueError, "fit"),
        ({"data": [1], "file_path": "x.bin"}, ValueError, "not both"),
    ],
)
def test_constructor_misuse(
    ge_stub: StubControl, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Tensor(**kwargs)


def test_from_numpy_misuse(ge_stub: StubControl) -> None:
    with pytest.raises(TypeError, match="ndarray"):
        Tensor.from_numpy([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="<U1"):
        Tensor.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError, match="object"):
        Tensor.from_numpy(np.array([None]))
    with pytest.raises(TypeError, match="float128"):
        Tensor.from_numpy(np.zeros(2, np.longdouble))
    with pytest.raises(TypeError, match="format"):
        Tensor.from_numpy(np.zeros(2), format="ND")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Format"):
        Tensor.from_numpy(np.zeros(2), format=-1)


def test_bf16_without_ml_dtypes(ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch) -> None:
    with Tensor.from_numpy(np.ones(3, BF16)) as tensor:
        monkeypatch.setitem(sys.modules, "ml_dtypes", None)
        with pytest.raises(TypeError, match=r"pip install ge-ffi\[bf16\]"):
            tensor.numpy()
        with pytest.raises(TypeError, match=r"pip install ge-ffi\[bf16\]"):
            Tensor([1.0], data_type=DataType.DT_BF16)
        assert tensor.nbytes == 6
        assert tensor.dtype is DataType.DT_BF16


# -- GE failures --------------------------------------------------------------


def test_create_failure_is_a_ge_error(ge_stub: StubControl) -> None:
    ge_stub.fail_next("EsCreateEsCTensor", status.FAILED)
    with pytest.raises(GeError, match="CreateTensor") as info:
        Tensor.from_numpy(np.zeros(3))
    assert info.value.api_name == "CreateTensor"
    assert info.value.context["shape"] == (3,)
    ge_stub.fail_next("GeApiWrapper_Tensor_CreateTensor", status.FAILED)
    with pytest.raises(GeError, match="CreateTensor"):
        Tensor()


def test_dtype_without_numpy_dtype(ge_stub: StubControl) -> None:
    with Tensor(data_type=DataType.DT_STRING) as tensor:
        assert tensor.dtype is DataType.DT_STRING
        with pytest.raises(TypeError, match="DT_STRING"):
            tensor.numpy()
        with pytest.raises(TypeError, match="DT_STRING"):
            _ = tensor.nbytes
    with pytest.raises(TypeError, match="DT_STRING"):
        Tensor(["a"], data_type=DataType.DT_STRING)


def test_describe_failures_do_not_leak(ge_stub: StubControl) -> None:
    for function in ("GeApiWrapper_Tensor_SetDataType", "GeApiWrapper_Tensor_SetFormat"):
        ge_stub.fail_next(function, status.ACL_ERROR_GE_PARAM_INVALID)
        with pytest.raises(GeError, match=function.rsplit("_", 1)[1]):
            Tensor(data_type=DataType.DT_INT8, format=Format.FORMAT_NCHW)
        assert ge_stub.live_counts()["tensors"] == 0


def test_unknown_enum_values_from_ge(ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch) -> None:
    with Tensor.from_numpy(np.zeros(2, np.uint8)) as tensor:
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetDataType", lambda handle: 99)
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetPlacement", lambda handle: 5)
        with pytest.raises(GeError, match="GetDataType"):
            _ = tensor.dtype
        with pytest.raises(GeError, match="GetPlacement"):
            _ = tensor.placement
        assert "GeError" in repr(tensor)
        # A format with a sub-format in its upper bits reads as its primary format.
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetFormat", lambda handle: 0x1001D)
        assert tensor.format is Format.FORMAT_FRACTAL_NZ
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetFormat", lambda handle: 0xFF)
        with pytest.raises(GeError, match="GetFormat"):
            _ = tensor.format


def test_get_shape_failure_frees_nothing_twice(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.zeros((2, 2))) as tensor:
        ge_stub.fail_next("GeApiWrapper_Tensor_GetShape", status.ACL_ERROR_GE_PARAM_INVALID)
        with pytest.raises(GeError, match="GetShape") as info:
            _ = tensor.shape
        assert info.value.status == status.ACL_ERROR_GE_PARAM_INVALID
        assert ge_stub.live_counts()["dims_arrays"] == 0
        assert tensor.shape == (2, 2)  # a later query works and is cached
        assert ge_stub.live_counts()["dims_arrays"] == 0


def test_to_device_failures(acl: StubControl) -> None:
    with Tensor.from_numpy(np.zeros(2)) as tensor:
        acl.fail_next("GeApiWrapper_Tensor_ToDevice", status.ACL_ERROR_GE_MEMORY_ALLOCATION)
        with pytest.raises(GeError, match="ToDevice"):
            tensor.to_device()
        assert tensor.placement is Placement.PLACEMENT_HOST
        tensor.to_device()
        acl.fail_next("GeApiWrapper_Tensor_ToHost", status.FAILED)
        with pytest.raises(GeError, match="ToHost"):
            tensor.to_host()
        assert tensor.placement is Placement.PLACEMENT_DEVICE
    acl.fail_next("GeApiWrapper_Tensor_ToDevice", status.FAILED)
    with pytest.raises(GeError, match="ToDevice"):
        Tensor([1.0], placement=Placement.PLACEMENT_DEVICE)  # and the tensor is not leaked


def test_device_copy_failure_is_an_acl_error(acl: StubControl) -> None:
    with Tensor.from_numpy(np.arange(3.0)) as tensor:
        tensor.to_device()
        acl.fail_next("aclrtMemcpy", status.ACL_ERROR_INVALID_PARAM)
        with pytest.raises(AclError, match="aclrtMemcpy"):
            tensor.numpy()
        np.testing.assert_array_equal(tensor.numpy(), [0.0, 1.0, 2.0])


def test_size_mismatch_is_a_ge_error(ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch) -> None:
    with Tensor.from_numpy(np.zeros(4, np.int32)) as tensor:
        monkeypatch.setattr(api, RAW_GET_SIZE, lambda handle: 15)
        with pytest.raises(GeError, match="15 bytes"):
            tensor.numpy()


# -- ownership and misuse -----------------------------------------------------


def test_closed_tensor_refuses_use(acl: StubControl) -> None:
    tensor = Tensor.from_numpy(np.ones(2))
    tensor.close()
    tensor.close()  # harmless
    assert tensor.closed
    for use in (
        lambda: tensor.numpy(),
        lambda: tensor.shape,
        lambda: tensor.dtype,
        lambda: tensor.format,
        lambda: tensor.placement,
        lambda: tensor.nbytes,
        lambda: tensor.to_device(),
        lambda: tensor.to_host(),
        lambda: tensor.handle,
        lambda: np.asarray(tensor),
    ):
        with pytest.raises(ValueError, match="closed"):
            use()


def test_copy_and_pickle_are_refused(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.ones(2)) as tensor:
        with pytest.raises(RuntimeError, match="copy"):
            copy.copy(tensor)
        with pytest.raises(RuntimeError, match="deepcopy"):
            copy.deepcopy(tensor)
        with pytest.raises(TypeError, match="pickle"):
            pickle.dumps(tensor)


def test_slots(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.ones(2)) as tensor:
        assert not hasattr(tensor, "__dict__")
        with pytest.raises(AttributeError):
            tensor.anything = 1  # type: ignore[attr-defined]


def test_finalizer_frees_the_handle(ge_stub: StubControl) -> None:
    tensors = [Tensor.from_numpy(np.ones(3)) for _ in range(5)]
    assert ge_stub.live_counts()["tensors"] == 5
    del tensors
    gc.collect()
    assert ge_stub.live_counts()["tensors"] == 0


def test_adopt(ge_stub: StubControl) -> None:
    dims = (ctypes.c_int64 * 1)(2)
    data = np.array([3, 4], dtype=np.int64)
    raw = api.EsCreateEsCTensor(data.ctypes.data, dims, 1, int(DataType.DT_INT64), 2)
    assert raw
    with Tensor._adopt(raw) as tensor:
        np.testing.assert_array_equal(tensor.numpy(), [3, 4])
    assert ge_stub.live_counts()["tensors"] == 0
    with pytest.raises(ValueError, match="NULL"):
        Tensor._adopt(0)
    with pytest.raises(TypeError):
        Tensor._adopt("0x5")  # type: ignore[arg-type]


def test_release_reports_callback_errors(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An allocator callback run by the destroy call raises from close()."""
    real_destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor

    def destroy(handle: int) -> None:
        real_destroy(handle)
        _callback_errors.report(MemoryError("FreeFn failed"), lambda exc: None)

    tensor = Tensor.from_numpy(np.ones(2))
    monkeypatch.setattr(api, "GeApiWrapper_Tensor_DestroyEsCTensor", destroy)
    with pytest.raises(MemoryError, match="FreeFn failed"):
        tensor.close()
    assert tensor.closed
    assert ge_stub.live_counts()["tensors"] == 0
