"""``ge.graph.Tensor`` on the stand-in: numpy in and out, GE's storage, placement, misuse."""

from __future__ import annotations

import ctypes
import gc
import math
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from _helpers.objects import assert_refuses_copies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ge import _callback_errors, _ffi
from ge._ffi import api, made, owned, status
from ge._ffi.handles import TensorHandle
from ge._ffi.owned import Owning
from ge._ffi.signatures import SPECS
from ge.error import AclError, GeError
from ge.graph import DataType, Format, Placement, Shape, Tensor, _tensor_create
from ge.graph.dtypes import from_numpy_dtype
from ge.graph.tensor import RAW_GET_DATA, RAW_GET_SIZE, LossyTextWarning
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
NO_TEXT = {np.dtype("complex64"), np.dtype("complex128"), BF16}
"""dtypes GE's text form does not print (``<not_supported>``)."""
LAYOUTS = ("c", "step", "reversed", "transposed", "fortran", "swapped", "swapped-step")
SET_DATA = "_ZN2ge6Tensor7SetDataEPKhm"
SET_TENSOR_DESC = "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE"

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
_libc = ctypes.CDLL(None)


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
def any_array(draw: st.DrawFn, dtypes: list[np.dtype[Any]] = DTYPES) -> Any:
    """Every supported dtype, 0-d to 6-d, zero-size, views with steps, transposes, byte orders."""
    dtype = draw(st.sampled_from(dtypes))
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


def through_text(array: Any) -> Any:
    """What GE's text form gives back: "%f" of each float (FLOAT16 as float)."""
    native = np.asarray(array, dtype=_native(array.dtype))
    if native.dtype.kind not in "fc":
        return native
    buf = ctypes.create_string_buffer(400)
    values = []
    for v in native.reshape(-1):
        _libc.snprintf(buf, 400, b"%f", ctypes.c_double(float(v)))
        values.append(float(buf.value))
    return np.array(values, dtype=np.float64).astype(native.dtype).reshape(native.shape)


def assert_equal_nan_as_nan(out: Any, expected: Any) -> None:
    """Same values bit for bit, except that any NaN equals any NaN (the text path)."""
    want = np.asarray(expected, dtype=_native(expected.dtype), order="C")
    assert out.shape == want.shape
    assert out.dtype == want.dtype
    if want.dtype.kind == "f":
        got_nan, want_nan = np.isnan(out), np.isnan(want)
        assert np.array_equal(got_nan, want_nan)
        assert out[~got_nan].tobytes() == want[~want_nan].tobytes()
    else:
        assert out.tobytes() == want.tobytes()


def assert_owns_fresh_memory(out: Any) -> None:
    assert isinstance(out, np.ndarray)
    assert out.flags.owndata and out.flags.writeable and out.flags.c_contiguous


def padded(array: Any, padding: bytes) -> Tensor:
    """A host tensor whose storage is longer than its shape needs (as GE pads the
    outputs of async runs): CreateTensor + SetTensorDesc + SetData of more bytes."""
    data = np.asarray(array, dtype=_native(array.dtype), order="C")
    dt = from_numpy_dtype(data.dtype)
    handle = api.GeApiWrapper_Tensor_CreateTensor()
    desc = api.GeApiWrapper_TensorDesc_Create(
        (ctypes.c_int64 * max(data.ndim, 1))(*data.shape), data.ndim, 2, int(dt)
    )
    assert getattr(api, SET_TENSOR_DESC)(handle, desc) == 0
    api.GeApiWrapper_TensorDesc_Destroy(desc)
    raw = data.tobytes() + padding
    assert getattr(api, SET_DATA)(handle, raw, len(raw)) == 0
    return Tensor._adopt(int(handle))


OWNING = {spec.name for spec in SPECS if isinstance(spec.restype, Owning)}


class Spy:
    """Records the calls of C functions (replacing ``api.<name>``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        for name in names:
            real = getattr(api, name)

            def spy(*args: Any, _name: str = name, _real: Any = real) -> Any:
                self.calls.append((_name, args))
                return _real(*args)

            monkeypatch.setattr(api, name, spy)
            if name in OWNING:  # the package calls it as an owning result (ge._ffi.owned)
                real_owning = getattr(made, name)

                def spy_owning(*args: Any, _name: str = name, _real: Any = real_owning) -> Any:
                    self.calls.append((_name, args))
                    return _real(*args)

                monkeypatch.setattr(made, name, spy_owning)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]


@pytest.fixture
def acl(ge_stub: StubControl) -> Iterator[StubControl]:
    """The stand-in with ACL initialised (device memory needs it)."""
    assert api.aclInit(None) == 0
    yield ge_stub
    api.aclFinalize()


@pytest.fixture
def no_raw() -> Iterator[None]:
    """A CANN without the raw-bytes symbols: the text path, warnings silenced."""
    with _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE), warnings.catch_warnings():
        warnings.simplefilter("ignore", LossyTextWarning)
        yield


# -- round trips --------------------------------------------------------------


@fixture_ok
@given(array=any_array())
def test_from_numpy_round_trip_fast_path(ge_stub: StubControl, array: Any) -> None:
    assert _ffi.has(RAW_GET_DATA) and _ffi.has(RAW_GET_SIZE)
    with Tensor.from_numpy(array) as tensor:
        assert tensor.shape == list(array.shape)
        assert tensor.dtype is from_numpy_dtype(array.dtype)
        assert tensor.format is Format.FORMAT_ND
        assert tensor.placement is Placement.PLACEMENT_HOST
        assert tensor.nbytes == array.nbytes
        out = tensor.numpy()
    assert_owns_fresh_memory(out)
    assert_bits_equal(out, array)


@fixture_ok
@given(array=any_array(), pad=st.integers(0, 40))
def test_padded_storage_reads_as_the_logical_shape(
    ge_stub: StubControl, array: Any, pad: int
) -> None:
    """GetSize() may exceed shape x itemsize: numpy() copies the logical bytes only
    (v1 refused any size but the exact one)."""
    with padded(array, b"\xa5" * pad) as tensor:
        assert api._ZNK2ge6Tensor7GetSizeEv(tensor) == array.nbytes + pad
        out = tensor.numpy()
    assert_owns_fresh_memory(out)
    assert_bits_equal(out, array)


@fixture_ok
@given(array=any_array(), pad=st.integers(0, 3))
def test_text_path_round_trip(ge_stub: StubControl, no_raw: None, array: Any, pad: int) -> None:
    """GE's real text (brackets, "%f", true/false), padding printed and dropped;
    complex and BF16 have no text form: a clear error (v1: a flat "%.17g" list)."""
    itemsize = array.dtype.itemsize
    with padded(array, b"\0" * (pad * itemsize)) as tensor:
        assert not _ffi.has(RAW_GET_DATA)
        if array.dtype in NO_TEXT or _native(array.dtype) in NO_TEXT:
            with pytest.raises(GeError, match="not_supported"):
                tensor.numpy()
            return
        out = tensor.numpy()
    assert_owns_fresh_memory(out)
    assert_equal_nan_as_nan(out, through_text(array))


def test_text_path_warns_that_it_is_lossy(ge_stub: StubControl) -> None:
    with (
        Tensor.from_numpy(np.array([1 / 3, 1e-7], np.float32)) as tensor,
        _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE),
    ):
        with pytest.warns(LossyTextWarning, match="6 decimals"):
            out = tensor.numpy()
        assert ge_stub.live_counts()["strings"] == 0  # the text was freed
    np.testing.assert_array_equal(out, np.array([0.333333, 0.0], np.float32))


def test_text_path_errors(
    ge_stub: StubControl, no_raw: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    no_data = Tensor(shape=[2], data_type=DataType.DT_INT32)  # no storage at all
    with no_data, pytest.raises(GeError, match="<empty>"):
        no_data.numpy()
    odd = padded(np.zeros(1, np.float32), b"12")  # 6 bytes: no whole number of floats
    with odd, pytest.raises(GeError, match="<invalid>"):
        odd.numpy()
    with Tensor.from_numpy(np.ones(3, np.float32)) as tensor:
        monkeypatch.setattr(made, "GeApiWrapper_Tensor_GetData", lambda handle: None)
        with pytest.raises(GeError, match="GetData"):
            tensor.numpy()


@fixture_ok
@given(array=any_array(), pad=st.integers(0, 40))
def test_device_round_trip(
    acl: StubControl, monkeypatch: pytest.MonkeyPatch, array: Any, pad: int
) -> None:
    """A device tensor reads with one aclrtMemcpy DEVICE_TO_HOST of the logical size,
    straight into the new array: no ToHost, no second copy."""
    with padded(array, b"\x5a" * pad) as tensor:
        assert tensor.to_device() is tensor
        assert tensor.placement is Placement.PLACEMENT_DEVICE
        spy = Spy(monkeypatch, "aclrtMemcpy", "GeApiWrapper_Tensor_ToHost")
        from_device = tensor.numpy()
        if array.nbytes:
            ((name, args),) = spy.calls
            target, dst_max, _, count, kind = args
            assert (name, dst_max, count, kind) == ("aclrtMemcpy", array.nbytes, array.nbytes, 2)
            assert target == from_device.ctypes.data
        else:
            assert spy.calls == []
        monkeypatch.undo()
        assert tensor.to_host() is tensor
        assert tensor.placement is Placement.PLACEMENT_HOST
        assert api._ZNK2ge6Tensor7GetSizeEv(tensor) == array.nbytes  # ToHost trims
        back = tensor.numpy()
    assert_owns_fresh_memory(from_device)
    assert_bits_equal(from_device, array)
    assert_bits_equal(back, array)


def test_device_tensor_in_the_text_path_needs_to_host(acl: StubControl, no_raw: None) -> None:
    with Tensor.from_numpy(np.arange(4, dtype=np.float32)) as tensor:
        tensor.to_device()
        with pytest.raises(ValueError, match=r"to_host\(\)"):
            tensor.numpy()
        np.testing.assert_array_equal(tensor.to_host().numpy(), np.arange(4))


def test_scalar_and_zero_size(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.float32(2.5)) as scalar:
        assert scalar.shape == [] and isinstance(scalar.shape, Shape)
        assert scalar.ndim == 0 and scalar.size == 1 and scalar.nbytes == 4
        out = scalar.numpy()
        assert out.shape == () and out == np.float32(2.5)
        assert scalar.get_data() == 2.5
    with Tensor.from_numpy(np.zeros((3, 0, 2), dtype=np.int16)) as empty:
        assert empty.shape == [3, 0, 2] and empty.nbytes == 0
        assert empty.numpy().shape == (3, 0, 2)
        assert empty.get_data() == [[], [], []]
        with _ffi.hidden_symbols(RAW_GET_DATA, RAW_GET_SIZE), warnings.catch_warnings():
            warnings.simplefilter("ignore", LossyTextWarning)
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


# -- sending every dtype, in one copy -------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_every_dtype_is_sent_the_way_ge_takes_it(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch, dtype: np.dtype[Any]
) -> None:
    """EsCreateEsCTensor for its 11 types; else CreateTensor + TensorDesc +
    SetTensorDesc + SetData, the array's own buffer given to the one copy
    (v1 sent DOUBLE, complex and BF16 to EsCreateEsCTensor, which refuses them)."""
    array = np.arange(6).astype(dtype).reshape(2, 3)
    spy = Spy(monkeypatch, "EsCreateEsCTensor", "GeApiWrapper_Tensor_CreateTensor", SET_DATA)
    with Tensor.from_numpy(array) as tensor:
        assert_bits_equal(tensor.numpy(), array)
        desc_path = dtype in NO_TEXT or dtype == np.float64
        if desc_path:
            assert spy.names() == ["GeApiWrapper_Tensor_CreateTensor", SET_DATA]
            _, (_, address, nbytes) = spy.calls[1]
        else:
            assert spy.names() == ["EsCreateEsCTensor"]
            _, (address, *_) = spy.calls[0]
            nbytes = array.nbytes
        assert address == array.ctypes.data and nbytes == array.nbytes
    assert ge_stub.live_counts()["tensor_descs"] == 0


@pytest.mark.parametrize(
    "function, api_name",
    [
        ("GeApiWrapper_Tensor_CreateTensor", "CreateTensor"),
        ("GeApiWrapper_TensorDesc_Create", "TensorDesc_Create"),
        (SET_TENSOR_DESC, "SetTensorDesc"),
        (SET_DATA, "SetData"),
    ],
)
def test_a_failure_in_the_description_path_leaks_nothing(
    ge_stub: StubControl, function: str, api_name: str
) -> None:
    ge_stub.fail_next(function, status.FAILED)
    with pytest.raises(GeError) as info:
        Tensor.from_numpy(np.ones((2, 2), np.complex128))
    assert info.value.api_name == api_name
    assert "injected fault" in info.value.error_message
    gc.collect()
    assert ge_stub.live_counts()["tensors"] == 0
    assert ge_stub.live_counts()["tensor_descs"] == 0


# -- placement (c_tensor_runtime.cc: neither move is idempotent) -------------------


def test_moves_check_the_placement_before_c(
    acl: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As CANN's own package: ValueError, and GE is never asked (v1: a no-op)."""
    spy = Spy(monkeypatch, "GeApiWrapper_Tensor_ToHost", "GeApiWrapper_Tensor_ToDevice")
    with Tensor.from_numpy(np.ones(3)) as tensor:
        with pytest.raises(ValueError, match=r"^to_host\(\) only supports device tensors$"):
            tensor.to_host()
        assert tensor.to_device() is tensor
        with pytest.raises(ValueError, match=r"^to_device\(\) only supports host tensors$"):
            tensor.to_device()
        assert tensor.to_host().to_device().to_host() is tensor
    assert spy.names() == ["GeApiWrapper_Tensor_ToDevice", "GeApiWrapper_Tensor_ToHost"] * 2


def test_numpy_reads_from_where_the_data_is_after_each_move(
    acl: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """numpy() keeps the placement it read (from_numpy knows it); each move makes it
    ask again: a device tensor is read with aclrtMemcpy, a host one with memmove
    (on CANN, memmove from a device address crashes; on the stand-in both work,
    hence the spy)."""
    array = np.arange(5, dtype=np.float32)
    spy = Spy(monkeypatch, "aclrtMemcpy", "GeApiWrapper_Tensor_GetPlacement")
    with Tensor.from_numpy(array) as tensor:
        for _ in range(2):
            np.testing.assert_array_equal(tensor.numpy(), array)
        assert spy.names() == []  # known: a host tensor
        tensor.to_device()
        for _ in range(2):
            np.testing.assert_array_equal(tensor.numpy(), array)
        placement, memcpy = "GeApiWrapper_Tensor_GetPlacement", "aclrtMemcpy"
        assert spy.names() == [placement, placement, memcpy, memcpy]  # _move's, numpy()'s
        del spy.calls[:]
        tensor.to_host()
        np.testing.assert_array_equal(tensor.numpy(), array)
        assert spy.names() == [placement, placement]
    with Tensor(array, shape=[5], placement=Placement.PLACEMENT_DEVICE) as tensor:
        del spy.calls[:]
        np.testing.assert_array_equal(tensor.numpy(), array)
        assert spy.names() == ["GeApiWrapper_Tensor_GetPlacement", "aclrtMemcpy"]


def test_move_failures(acl: StubControl) -> None:
    with Tensor.from_numpy(np.zeros(2)) as tensor:
        acl.fail_next("GeApiWrapper_Tensor_ToDevice", status.ACL_ERROR_GE_MEMORY_ALLOCATION)
        with pytest.raises(GeError, match="ToDevice"):
            tensor.to_device()
        assert tensor.placement is Placement.PLACEMENT_HOST
        acl.fail_next("aclrtMalloc", status.ACL_ERROR_BAD_ALLOC)  # GE's own aclrtMalloc
        with pytest.raises(GeError, match="ToDevice") as info:
            tensor.to_device()
        assert info.value.status == status.FAILED
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


def test_storage_shorter_than_the_shape_is_a_ge_error(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = Tensor(shape=[2, 3])  # GE's empty tensor: no data at all
    with empty, pytest.raises(GeError, match="no data"):
        empty.numpy()
    with Tensor.from_numpy(np.zeros(4, np.int32)) as tensor:
        monkeypatch.setattr(api, RAW_GET_SIZE, lambda handle: 15)
        with pytest.raises(GeError, match="15 bytes"):
            tensor.numpy()


# -- GE failures and values GE reports --------------------------------------------


@pytest.mark.parametrize("dims_known", [False, True], ids=["first shape", "known shape"])
def test_create_failure_is_a_ge_error(ge_stub: StubControl, dims_known: bool) -> None:
    """Both ways from_numpy creates (a shape's first tensor, whose C dims it makes;
    the written-out path of a known shape)."""
    _tensor_create._dims_cache.clear()
    if dims_known:
        Tensor.from_numpy(np.ones(3, np.float32)).close()
    ge_stub.fail_next("EsCreateEsCTensor", status.FAILED)
    with pytest.raises(GeError, match="CreateTensor") as info:
        Tensor.from_numpy(np.zeros(3, np.float32))
    assert info.value.api_name == "CreateTensor"
    assert info.value.context["shape"] == (3,)
    assert "injected fault" in info.value.error_message
    gc.collect()
    assert ge_stub.live_counts()["tensors"] == 0
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


def test_unknown_enum_values_from_ge_are_value_errors(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As CANN's package documents (v1 raised GeError)."""
    with Tensor.from_numpy(np.zeros(2, np.uint8)) as tensor:
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetDataType", lambda handle: 99)
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetPlacement", lambda handle: 5)
        tensor._dtype = None
        with pytest.raises(ValueError, match="GetDataType returned 99"):
            tensor.get_data_type()
        with pytest.raises(ValueError, match="GetPlacement returned 5"):
            _ = tensor.placement
        assert "ValueError" in repr(tensor)
        # A format with a sub-format in its upper bits reads as its primary format.
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetFormat", lambda handle: 0x1001D)
        assert tensor.format is Format.FORMAT_FRACTAL_NZ
        monkeypatch.setattr(api, "GeApiWrapper_Tensor_GetFormat", lambda handle: 0xFE)
        with pytest.raises(ValueError, match="GetFormat returned 254"):
            tensor.get_format()


def test_get_shape_failure_frees_nothing_twice(ge_stub: StubControl) -> None:
    with Tensor(shape=[2, 2]) as tensor:
        ge_stub.fail_next("GeApiWrapper_Tensor_GetShape", status.FAILED)
        with pytest.raises(GeError, match="GetShape") as info:
            _ = tensor.shape
        assert info.value.status is None  # GE says success, with no array
        assert info.value.context["dim_num"] == 2
        assert ge_stub.live_counts()["dims_arrays"] == 0
        assert tensor.shape == [2, 2]  # a later query works and is cached
        assert ge_stub.live_counts()["dims_arrays"] == 0


def test_set_data_that_gets_no_memory_is_an_error(ge_stub: StubControl) -> None:
    """GE's SetData reports success when its copy cannot be allocated: checked."""
    ge_stub.fail_next(SET_DATA, 0)
    with pytest.raises(GeError, match="SetData") as info:
        Tensor.from_numpy(np.ones(3))
    assert info.value.context == {"nbytes": 24, "stored": 24}
    gc.collect()
    assert ge_stub.live_counts()["tensors"] == 0


# -- ownership and misuse -----------------------------------------------------


def test_closed_tensor_refuses_use(acl: StubControl) -> None:
    tensor = Tensor.from_numpy(np.ones(2))
    tensor.close()
    tensor.close()  # harmless
    assert tensor.closed
    for use in (
        lambda: tensor.numpy(),
        lambda: tensor.shape,
        lambda: tensor.get_shape(),
        lambda: tensor.dtype,
        lambda: tensor.data_type,
        lambda: tensor.format,
        lambda: tensor.placement,
        lambda: tensor.nbytes,
        lambda: tensor.to_device(),
        lambda: tensor.to_host(),
        lambda: tensor.handle,
        lambda: tensor.get_data(),
        lambda: tensor.get_tensor_desc(),
        lambda: tensor.set_format(Format.FORMAT_NCHW),
        lambda: tensor.set_data_type(DataType.DT_INT64),
        lambda: np.asarray(tensor),
    ):
        with pytest.raises(ValueError, match="closed"):
            use()


def test_copy_and_pickle_are_refused(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.ones(2)) as tensor:
        assert_refuses_copies(tensor, "Tensor")


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
    from ge._allocator_registry import registry

    real_destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor
    # a callback can only run while some Python allocator is alive (close() skips
    # the collecting block otherwise): pretend one is
    monkeypatch.setitem(registry.alive, -1, object())

    def destroy(handle: int) -> None:
        real_destroy(handle)
        _callback_errors.report(MemoryError("FreeFn failed"), lambda exc: None)

    tensor = Tensor.from_numpy(np.ones(2))
    monkeypatch.setattr(api, "GeApiWrapper_Tensor_DestroyEsCTensor", destroy)
    with pytest.raises(MemoryError, match="FreeFn failed"):
        tensor.close()
    assert tensor.closed
    assert ge_stub.live_counts()["tensors"] == 0


def test_bf16_without_ml_dtypes(ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch) -> None:
    with Tensor.from_numpy(np.ones(3, BF16)) as tensor:
        monkeypatch.setitem(sys.modules, "ml_dtypes", None)
        with pytest.raises(TypeError, match=r"pip install ge-ffi\[bf16\]"):
            tensor.numpy()
        with pytest.raises(TypeError, match=r"pip install ge-ffi\[bf16\]"):
            Tensor([1.0], data_type=DataType.DT_BF16)
        assert tensor.nbytes == 6
        assert tensor.dtype is DataType.DT_BF16


def test_from_numpy_owns_its_handle_as_the_general_constructor_does(ge_stub: StubControl) -> None:
    """from_numpy writes NativeObject.__init__ out (its hot path): the same state as
    a tensor made through it, for a known shape and a new one, and the same
    protocol afterwards (counted calls, close, closed errors)."""
    _tensor_create._dims_cache.clear()
    for _ in range(2):  # a shape's first tensor, then the written-out path
        fast = Tensor.from_numpy(np.ones((2, 3), np.float32))
        general = Tensor(np.ones((2, 3), np.float32), shape=[2, 3])
        for name in ("_calls", "_owner", "_release_locks", "_epoch", "_dims", "_dtype"):
            assert getattr(fast, name) == getattr(general, name), name
        # both own their handle armed (ge._ffi.owned): freed in C if dropped unreleased
        assert type(fast._param) is type(general._param) is owned.armed_now(TensorHandle)
        assert fast._handle == fast._param.value and fast._handle
        np.testing.assert_array_equal(fast.numpy(), general.numpy())
        fast.close()
        general.close()
        with pytest.raises(ValueError, match="closed"):
            fast.numpy()
    assert ge_stub.live_counts()["tensors"] == 0


def test_from_numpy_misuse(ge_stub: StubControl) -> None:
    with pytest.raises(TypeError, match="ndarray"):
        Tensor.from_numpy([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="<U1"):
        Tensor.from_numpy(np.array(["a"]))
    with pytest.raises(TypeError, match="object"):
        Tensor.from_numpy(np.array([None]))
    with pytest.raises(TypeError, match="float128"):
        Tensor.from_numpy(np.zeros(2, np.longdouble))
    with pytest.raises(TypeError, match="Format must be a Format"):
        Tensor.from_numpy(np.zeros(2), format="ND")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Format"):
        Tensor.from_numpy(np.zeros(2), format=-1)


def test_array_protocol_refuses_a_subarray_dtype(ge_stub: StubControl) -> None:
    """A subarray dtype would add dimensions (``(None, 84268288)``: gigabytes)."""
    with Tensor.from_numpy(np.zeros((2, 3), np.float32)) as t:
        with pytest.raises(TypeError, match="subarray"):
            t.__array__((None, 84268288))
        assert np.asarray(t, np.float64).dtype == np.float64


def test_from_numpy_reads_the_buffer_not_a_subclass_s_attributes(
    ge_stub_library: str, tmp_path: Any
) -> None:
    """An ndarray subclass lying about its shape (and size) must not make
    from_numpy read past the buffer (it segfaulted): the buffer's own shape is
    used. In a child, as a failure is a crash."""
    from _helpers.processes import run_python

    code = """
import numpy as np
import ge
from ge.testing import use_stub

class Liar(np.ndarray):
    @property
    def shape(self):
        return (1 << 24,)

    @property
    def nbytes(self):
        return 4 << 24

with use_stub():
    with ge.Tensor.from_numpy(np.arange(4, dtype=np.float32).view(Liar)) as t:
        print(t.get_tensor_desc().get_shape(), t.numpy().tolist())
"""
    done = run_python(code, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[4]", "[0.0,", "1.0,", "2.0,", "3.0]"], done.stdout


@pytest.mark.parametrize("dim", [2**63, 2**64 + 3, -(2**63) - 1])
def test_dims_past_int64_are_value_errors(ge_stub: StubControl, dim: int) -> None:
    """C would keep the low 64 bits: ``2**64 + 3`` would silently be 3."""
    from ge.graph import TensorDesc

    with pytest.raises(ValueError, match="int64"):
        TensorDesc([dim])
    with pytest.raises(ValueError, match="int64"):
        Shape([dim])
    with TensorDesc([2]) as desc, pytest.raises(ValueError, match="int64"):
        desc.set_shape([dim])


def test_array_protocol_copy_must_be_a_bool_or_none(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.zeros(2, np.float32)) as t:
        with pytest.raises(TypeError, match="copy"):
            t.__array__(None, "yes")
        assert t.__array__(None, True).shape == (2,)
