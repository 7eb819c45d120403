"""CANN's ``ge.graph.Tensor`` API (UPSTREAM_API.md rows 29-47), written as code
for CANN's own package would be, from its documentation
(``docs/zh/api/graph_engine_api/python/ge/graph/Tensor/*.md``).

Each test says what this package did before (v1) where it differed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import ml_dtypes
import numpy as np
import pytest
from _helpers.objects import assert_refuses_copies
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ge._ffi import status
from ge.error import GeError
from ge.graph import DataType, Format, Placement, Shape, Tensor, TensorDesc
from ge.graph.dtypes import to_numpy_dtype
from ge.testing import StubControl


@pytest.fixture
def acl(ge_stub: StubControl) -> Any:
    import ge.acl

    ge.acl.init()
    yield ge_stub
    ge.acl.finalize()


# -- the documented examples, unchanged ---------------------------------------------


def test_constructor_examples_of_the_docs(ge_stub: StubControl, tmp_path: Path) -> None:
    # Tensor/Tensor_constructor.md
    tensor1 = Tensor(
        data=[1.0, 2.0, 3.0], data_type=DataType.DT_FLOAT, format=Format.FORMAT_ND, shape=[3]
    )
    np.array([1.0, 2.0, 3.0, 4.0], np.float32).tofile(tmp_path / "file")
    tensor2 = Tensor(
        file_path=str(tmp_path / "file"),
        data_type=DataType.DT_FLOAT,
        format=Format.FORMAT_ND,
        shape=[2, 2],
    )
    # session/Session/overview.md
    input_tensor = Tensor(
        data=[1.0, 2.0, 3.0, 4.0],
        data_type=DataType.DT_FLOAT,
        format=Format.FORMAT_ND,
        shape=[2, 2],
    )
    assert tensor1.get_data() == [1.0, 2.0, 3.0]
    assert tensor1.get_shape() == [3]
    assert tensor2.get_data() == [[1.0, 2.0], [3.0, 4.0]]
    assert input_tensor.data == [[1.0, 2.0], [3.0, 4.0]]
    for t in (tensor1, tensor2, input_tensor):
        t.close()


def test_the_documented_session_flow_reads_results(ge_ready: Any, make_graph: Any) -> None:
    """Session overview: Tensor inputs, run_graph, then the results with get_data()."""
    from ge.session import Session

    session = Session()
    graph = make_graph(shape=(2, 2))
    session.add_graph(0, graph)
    input_tensor = Tensor(
        data=[1.0, 2.0, 3.0, 4.0],
        data_type=DataType.DT_FLOAT,
        format=Format.FORMAT_ND,
        shape=[2, 2],
    )
    outputs = session.run_graph(0, [input_tensor, input_tensor])  # (x + x) * x
    assert outputs[0].get_data() == [[2.0, 8.0], [18.0, 32.0]]
    assert outputs[0].get_shape() == [2, 2]
    assert outputs[0].get_data_type() == DataType.DT_FLOAT
    assert outputs[0].get_placement() == Placement.PLACEMENT_HOST
    for t in (*outputs, input_tensor):
        t.close()
    graph.close()
    session.close()


def test_the_async_flow_moves_results_to_the_host(
    ge_ready: Any, make_graph: Any, stream: Any
) -> None:
    """The seed's async flow as CANN's package runs it: outputs on the device,
    ``to_host()``, then ``get_data()``."""
    from ge.session import Session

    session = Session()
    graph = make_graph(shape=(2, 3))
    session.add_graph(1, graph)
    x = Tensor(data=[1, 2, 3, 4, 5, 6], data_type=DataType.DT_FLOAT, shape=[2, 3])
    outputs = session.run_graph_with_stream_async(1, stream.handle, [x, x])
    stream.synchronize()
    out = outputs[0]
    assert out.get_placement() == Placement.PLACEMENT_DEVICE
    assert out.to_host() is out
    assert out.get_data() == [[2.0, 8.0, 18.0], [32.0, 50.0, 72.0]]
    with pytest.raises(ValueError, match="only supports device tensors"):
        out.to_host()
    for t in (out, x):
        t.close()
    graph.close()
    session.close()


# -- the constructor -----------------------------------------------------------------


def test_data_and_file_together_is_a_runtime_error(ge_stub: StubControl) -> None:
    """v1: ValueError."""
    with pytest.raises(RuntimeError, match=r"^Tensor should be created either by data or by file$"):
        Tensor(data=[1.0], file_path="x.bin")


def test_shape_none_means_a_scalar(ge_stub: StubControl) -> None:
    """CANN: ``shape`` None is a scalar (dim_num 0), so ``Tensor([7])`` is 0-d (v1: 1-d)."""
    with Tensor([7]) as scalar:
        assert scalar.get_shape() == []
        assert scalar.get_data() == 7.0
    with Tensor([7], data_type=DataType.DT_INT32, shape=[]) as scalar:
        assert scalar.get_shape() == [] and scalar.get_data() == 7
    with pytest.raises(ValueError, match=r"shape=None makes a scalar.*holds 3 values"):
        Tensor([1.0, 2.0, 3.0])  # CANN would keep the first value only
    with pytest.raises(ValueError, match="holds 0 values"):
        Tensor([])
    # this package's additions keep their own shape
    with Tensor([[1, 2], [3, 4]], data_type=DataType.DT_INT64) as nested:
        assert nested.shape == [2, 2]
    with Tensor(np.arange(3.0), data_type=DataType.DT_DOUBLE) as array:
        assert array.shape == [3]
    with Tensor(2.5) as number:
        assert number.shape == [] and number.data == 2.5


def test_shape_must_fit_the_data(ge_stub: StubControl) -> None:
    with Tensor([1, 2, 3, 4, 5, 6], data_type=DataType.DT_UINT8, shape=[2, 3]) as t:
        assert t.get_data() == [[1, 2, 3], [4, 5, 6]]
    with pytest.raises(ValueError, match="holds 4 elements but the data has 6"):
        Tensor([1, 2, 3, 4, 5, 6], shape=[2, 2])
    with pytest.raises(TypeError, match="Shape must be a list of integers"):
        Tensor([1.0], shape="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Shape must be a list of integers"):
        Tensor([1.0], shape=[1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="non-negative"):
        Tensor([1.0], shape=[-1])


class _Unreadable:
    """A sequence whose items cannot be read."""

    def __len__(self) -> int:
        return 2

    def __getitem__(self, i: int) -> int:
        raise RuntimeError("unreadable")


@pytest.mark.parametrize("data", [[_Unreadable()], [[1.0], _Unreadable()]], ids=["outer", "inner"])
def test_data_that_cannot_be_read_is_a_type_error(ge_stub: StubControl, data: Any) -> None:
    """What a container of the data raises while numpy reads it is a ``TypeError``
    (its own exception chained), not the container's exception."""
    with pytest.raises(TypeError, match="cannot be read") as caught:
        Tensor(data=data, data_type=DataType.DT_FLOAT)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert ge_stub.live_counts()["tensors"] == 0


def test_no_data_and_no_file_is_ges_empty_tensor(ge_stub: StubControl) -> None:
    """CANN's ``CreateTensor()``: no data. Described as asked (v1: zero-filled
    when a shape was given)."""
    with Tensor() as empty:
        assert empty.get_data_type() == DataType.DT_FLOAT
        assert empty.get_format() == Format.FORMAT_ND
        assert empty.get_shape() == []
        assert empty.get_placement() == Placement.PLACEMENT_HOST
        with pytest.raises(GeError, match="no data"):
            empty.get_data()
    with Tensor(shape=[2, 3], data_type=DataType.DT_INT8, format=Format.FORMAT_NCHW) as t:
        assert (t.shape, t.data_type, t.format) == ([2, 3], DataType.DT_INT8, Format.FORMAT_NCHW)
        with pytest.raises(GeError, match="no data"):
            t.numpy()
    assert ge_stub.live_counts()["tensor_descs"] == 0


def test_file_semantics(ge_stub: StubControl, tmp_path: Path) -> None:
    """EsCreateEsCTensorFromFile: ``shape`` None is a scalar of the first value; a
    longer file is fine; shorter, empty or missing is GE's failure, a RuntimeError
    (v1: 1-d of the whole file, ValueError for a length mismatch, FileNotFoundError)."""
    path = tmp_path / "data.bin"
    np.arange(12, dtype=np.float16).tofile(path)
    with Tensor(file_path=path, data_type=DataType.DT_FLOAT16) as scalar:
        assert scalar.shape == [] and scalar.get_data() == 0.0
    with Tensor(file_path=str(path), data_type=DataType.DT_FLOAT16, shape=[2, 2]) as prefix:
        assert prefix.get_data() == [[0.0, 1.0], [2.0, 3.0]]
    with Tensor(file_path=path, data_type=DataType.DT_INT8, shape=[24]) as as_bytes:
        np.testing.assert_array_equal(
            as_bytes.numpy(), np.arange(12, dtype=np.float16).view(np.int8)
        )
    (tmp_path / "empty.bin").write_bytes(b"")
    for kwargs in (
        {"file_path": path, "data_type": DataType.DT_FLOAT16, "shape": [13]},
        {"file_path": tmp_path / "empty.bin", "shape": [0]},
        {"file_path": tmp_path / "missing.bin"},
    ):
        with pytest.raises(RuntimeError, match="EsCreateEsCTensorFromFile"):
            Tensor(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="file_path"):
        Tensor(file_path=3)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "data_type, dtype",
    [
        (DataType.DT_DOUBLE, np.float64),
        (DataType.DT_COMPLEX64, np.complex64),
        (DataType.DT_BF16, ml_dtypes.bfloat16),
    ],
)
def test_files_and_data_of_types_es_create_refuses(
    ge_stub: StubControl, tmp_path: Path, data_type: DataType, dtype: Any
) -> None:
    """CANN's constructor refuses DT_DOUBLE (and EsCreateEsCTensor the others);
    here they go through a tensor description, with GE's file checks."""
    values = np.arange(1, 7).astype(dtype)
    values.tofile(tmp_path / "v.bin")
    with Tensor(file_path=tmp_path / "v.bin", data_type=data_type, shape=[2, 2]) as t:
        np.testing.assert_array_equal(t.numpy(), values[:4].reshape(2, 2))
    with Tensor(values.tolist(), data_type=data_type, shape=[6]) as t:
        np.testing.assert_array_equal(t.numpy(), values)
    with pytest.raises(RuntimeError, match="less than expected size"):
        Tensor(file_path=tmp_path / "v.bin", data_type=data_type, shape=[7])
    assert ge_stub.live_counts()["tensors"] == 0


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"data": "123"}, TypeError, "data"),
        ({"data": b"123"}, TypeError, "data"),
        ({"data": {"a": 1}}, TypeError, "data"),
        ({"data": ["a"]}, TypeError, "numbers"),
        ({"data": [object()]}, TypeError, "numbers"),
        ({"data": [1], "data_type": "float32"}, TypeError, "Data_type must be a DataType"),
        ({"data": [1], "data_type": True}, TypeError, "Data_type must be a DataType"),
        ({"data": [1], "data_type": 5}, ValueError, "DataType"),
        ({"data": [1], "data_type": DataType.DT_STRING}, TypeError, "DT_STRING"),
        ({"data": [1], "format": "ND"}, TypeError, "Format must be a Format"),
        ({"data": [1], "format": 1000}, ValueError, "Format"),
        ({"data": [1], "placement": 7}, ValueError, "Placement must be a Placement: 7"),
        ({"data": [1], "placement": 7}, TypeError, "Placement must be a Placement: 7"),  # CANN
        ({"data": [1], "placement": "device"}, TypeError, "Placement must be a Placement"),
        ({"data": [1, 2], "shape": 2}, TypeError, "Shape must be a list of integers"),
        ({"data": [1, 2], "shape": [True, 2]}, TypeError, "Shape must be a list of integers"),
        ({"data": [[1, 2], [3]]}, ValueError, "inhomogeneous"),
        ({"data": [300], "data_type": DataType.DT_UINT8}, ValueError, "fit"),
    ],
)
def test_constructor_misuse(
    ge_stub: StubControl, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Tensor(**kwargs)


def test_placement_device(acl: StubControl) -> None:
    with Tensor(
        [1, 2], data_type=DataType.DT_INT32, shape=[2], placement=Placement.PLACEMENT_DEVICE
    ) as t:
        assert t.get_placement() == Placement.PLACEMENT_DEVICE
        assert t.get_data() == [1, 2]  # read with one device-to-host copy


# -- getters and setters -----------------------------------------------------------


def test_get_data_gives_numbers_and_nested_lists(ge_stub: StubControl) -> None:
    cases: list[tuple[Any, Any]] = [
        (np.array([[True, False]]), [[True, False]]),
        (np.array([1, -2], np.int8), [1, -2]),
        (np.array([2**63 - 1], np.uint64), [2**63 - 1]),
        (np.array([0.5, 1.25], np.float16), [0.5, 1.25]),
        (np.array([0.1], np.float32), [float(np.float32(0.1))]),  # exact, not 6 decimals
        (np.array([1.5], ml_dtypes.bfloat16), [1.5]),
        (np.array([1 + 2j], np.complex64), [1 + 2j]),
        (np.array(3, np.int16), 3),
    ]
    for array, want in cases:
        with Tensor.from_numpy(array) as t:
            got = t.get_data()
            assert got == want and t.data == want
            assert type(got) is type(want)


def test_data_type_getters_and_chained_setter(ge_stub: StubControl) -> None:
    with Tensor([1, 2, 3], data_type=DataType.DT_INT32, shape=[3]) as t:
        assert t.get_data_type() is DataType.DT_INT32 is t.data_type is t.dtype
        assert t.set_data_type(DataType.DT_UINT32) is t
        assert t.get_data_type() is DataType.DT_UINT32
        assert t.get_data() == [1, 2, 3]  # the bytes are kept
        assert t.set_data_type(DataType.DT_FLOAT).get_data_type() is DataType.DT_FLOAT
        with pytest.raises(TypeError, match="Data_type must be a DataType"):
            t.set_data_type("DT_FLOAT")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="DataType"):
            t.set_data_type(5)


def test_format_getters_and_chained_setter(ge_stub: StubControl) -> None:
    with Tensor([1.0]) as t:
        assert t.get_format() is Format.FORMAT_ND is t.format
        assert t.set_format(Format.FORMAT_NCHW) is t
        assert t.get_format() is Format.FORMAT_NCHW
        assert t.set_format(Format.FORMAT_FRACTAL_NZ_C0_8).format is Format.FORMAT_FRACTAL_NZ_C0_8
        with pytest.raises(TypeError, match="Format must be a Format"):
            t.set_format(None)  # type: ignore[arg-type]


def test_shape_is_a_list(ge_stub: StubControl) -> None:
    """CANN's ``Shape`` (a list): ``t.shape == [2, 2]`` (v1: a tuple, so False)."""
    with Tensor([1.0, 2.0, 3.0, 4.0], shape=[2, 2]) as t:
        shape = t.get_shape()
        assert isinstance(shape, Shape) and isinstance(shape, list)
        assert shape == [2, 2] and t.shape == [2, 2]
        assert shape.get_shape_size() == 4
        shape.append(9)  # a copy: the tensor's shape is unchanged
        assert t.shape == [2, 2]
        assert t.shape is not t.shape


def test_get_tensor_desc_is_a_detached_copy(ge_stub: StubControl) -> None:
    with Tensor(
        [1, 2, 3, 4, 5, 6], data_type=DataType.DT_INT64, format=Format.FORMAT_NHWC, shape=[2, 3]
    ) as t:
        desc = t.get_tensor_desc()
        assert isinstance(desc, TensorDesc)
        assert desc.get_shape() == [2, 3]
        assert desc.get_origin_shape() == [2, 3]
        assert desc.get_format() is Format.FORMAT_NHWC
        assert desc.get_data_type() is DataType.DT_INT64
        desc.set_shape([6]).set_data_type(DataType.DT_INT8)
        assert t.get_shape() == [2, 3] and t.get_data_type() is DataType.DT_INT64
        desc.close()
    with Tensor.from_numpy(np.ones((2, 3))) as double, double.get_tensor_desc() as desc:
        assert desc.get_origin_shape() == [2, 3]  # as EsCreateEsCTensor would set it
    assert ge_stub.live_counts()["tensor_descs"] == 0


def test_get_tensor_desc_failure(ge_stub: StubControl) -> None:
    with Tensor([1.0]) as t:
        ge_stub.fail_next("GeApiWrapper_Tensor_GetTensorDesc", 0)
        with pytest.raises(RuntimeError, match="GetTensorDesc"):
            t.get_tensor_desc()


def test_str_is_canns_text(ge_stub: StubControl) -> None:
    with Tensor([1.0, 2.0, 3.0, 4.0], shape=[2, 2]) as t:
        assert str(t) == (
            f"\n        Tensor format is {Format.FORMAT_ND},\n"
            f"        data_type is {DataType.DT_FLOAT},\n"
            "        shape is [2, 2],\n"
            "        data is [[1.0, 2.0], [3.0, 4.0]]\n        "
        )
        assert (
            repr(t)
            == "Tensor(shape=[2, 2], dtype=DT_FLOAT, format=FORMAT_ND, placement=PLACEMENT_HOST)"
        )
    assert repr(t) == "Tensor(<closed>)"


def test_copy_messages(ge_stub: StubControl) -> None:
    with Tensor([1.0]) as t:
        assert_refuses_copies(t, "Tensor", pickled=False)


def test_import_paths() -> None:
    from ge.graph.tensor import Tensor as T
    from ge.graph.tensor_desc import Shape as S
    from ge.graph.tensor_desc import TensorDesc as D
    from ge.graph.types import AttrValueType, DataType, Format, Placement

    assert T is Tensor and S is Shape and D is TensorDesc
    assert AttrValueType.VT_INT == 4
    assert DataType.DT_MAX == 43
    assert Format.FORMAT_END == 52 and Placement.PLACEMENT_DEVICE == 1


def test_nbytes_size_ndim(ge_stub: StubControl) -> None:
    with Tensor.from_numpy(np.zeros((2, 3, 4), np.float16)) as t:
        assert (t.ndim, t.size, t.nbytes) == (3, 24, 48)
        assert math.prod(t.shape) == t.size


def test_set_data_type_failure(ge_stub: StubControl) -> None:
    with Tensor([1.0]) as t:
        ge_stub.fail_next("GeApiWrapper_Tensor_SetDataType", status.FAILED)
        with pytest.raises(RuntimeError, match="SetDataType"):
            t.set_data_type(DataType.DT_INT32)
        assert t.get_data_type() is DataType.DT_FLOAT


SENDABLE = [
    DataType.DT_BOOL,
    DataType.DT_INT8,
    DataType.DT_INT16,
    DataType.DT_INT32,
    DataType.DT_INT64,
    DataType.DT_UINT8,
    DataType.DT_UINT16,
    DataType.DT_UINT32,
    DataType.DT_UINT64,
    DataType.DT_FLOAT16,
    DataType.DT_FLOAT,
    DataType.DT_DOUBLE,
]


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data_type=st.sampled_from(SENDABLE),
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=3),
    fmt=st.sampled_from([Format.FORMAT_ND, Format.FORMAT_NCHW, Format.FORMAT_FRACTAL_NZ]),
    seed=st.integers(0, 2**32 - 1),
)
def test_constructor_round_trip(
    ge_stub: StubControl, data_type: DataType, shape: tuple[int, ...], fmt: Format, seed: int
) -> None:
    """``Tensor(data=<flat list>, data_type, format, shape)``: get_data() is the list
    nested to ``shape`` (a number for ``shape=[]``), in every type CANN's docs
    list and DOUBLE."""
    dtype = to_numpy_dtype(data_type)
    values = np.random.default_rng(seed).integers(0, 100, math.prod(shape)).astype(dtype)
    flat = values.tolist()
    with Tensor(data=flat, data_type=data_type, format=fmt, shape=list(shape)) as t:
        assert t.get_shape() == list(shape)
        assert (t.get_data_type(), t.get_format()) == (data_type, fmt)
        assert t.get_data() == values.reshape(shape).tolist()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shape=st.lists(st.integers(-2, 2**40), max_size=8),
    origin=st.lists(st.integers(0, 9), max_size=8),
    fmt=st.sampled_from(list(Format)),
    origin_fmt=st.sampled_from(list(Format)),
    data_type=st.sampled_from(list(DataType)),
)
def test_tensor_desc_round_trip(
    ge_stub: StubControl,
    shape: list[int],
    origin: list[int],
    fmt: Format,
    origin_fmt: Format,
    data_type: DataType,
) -> None:
    with TensorDesc(shape, fmt, data_type) as desc:
        desc.set_origin_shape(origin).set_origin_format(origin_fmt)
        assert (desc.shape, desc.format, desc.data_type) == (shape, fmt, data_type)
        assert (desc.origin_shape, desc.origin_format) == (origin, origin_fmt)
