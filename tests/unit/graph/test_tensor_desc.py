"""``ge.graph.Shape`` and ``ge.graph.TensorDesc`` (CANN's ``ge.graph.tensor_desc``,
UPSTREAM_API.md rows 24 and 25; none of it existed in v1)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from _helpers.objects import assert_refuses_copies
from hypothesis import given
from hypothesis import strategies as st

from ge._ffi import status
from ge.error import GeError
from ge.graph import DataType, Format, Shape, TensorDesc
from ge.graph.tensor_desc import UNKNOWN_DIM, UNKNOWN_DIM_NUM, UNKNOWN_DIM_SIZE
from ge.testing import StubControl

# -- Shape -----------------------------------------------------------------------------


def test_shape_examples_of_the_docs() -> None:
    shape = Shape([1, 3, 224, 224])
    assert shape == [1, 3, 224, 224]
    assert shape.get_shape_size() == 150528
    assert not shape.is_unknown_shape()


def test_shape_is_a_list() -> None:
    assert Shape() == [] and Shape(None) == []
    assert isinstance(Shape([2]), list)
    assert Shape((2, 3)) == [2, 3]  # a tuple is taken too
    assert Shape(Shape([4])) == [4]
    assert repr(Shape([1, 2])) == "[1, 2]"


@given(st.lists(st.integers(-2, 5), max_size=6))
def test_shape_size_and_unknown(dims: list[int]) -> None:
    shape = Shape(dims)
    unknown = any(d in (UNKNOWN_DIM, UNKNOWN_DIM_NUM) for d in dims)
    assert shape.is_unknown_shape() is unknown
    if not dims:
        assert shape.get_shape_size() == 0  # GE's GetShapeSize of a scalar
    elif unknown:
        assert shape.get_shape_size() == UNKNOWN_DIM_SIZE == -1
    else:
        size = 1
        for d in dims:
            size *= d
        assert shape.get_shape_size() == size


@pytest.mark.parametrize("dims", ["12", 3, {1: 2}, [1.0], [True], [[1]], [None]])
def test_shape_wrong_types(dims: Any) -> None:
    with pytest.raises(TypeError, match="dims must be a list of integers"):
        Shape(dims)


# -- TensorDesc ------------------------------------------------------------------------


def test_tensor_desc_example_of_the_docs(ge_stub: StubControl) -> None:
    desc = TensorDesc([1, 3, 224, 224], Format.FORMAT_NCHW, DataType.DT_FLOAT)
    assert desc.shape == [1, 3, 224, 224]
    same = desc.set_shape([2, 3]).set_data_type(DataType.DT_INT32).set_format(Format.FORMAT_ND)
    assert same is desc
    assert (desc.shape, desc.data_type, desc.format) == (
        [2, 3],
        DataType.DT_INT32,
        Format.FORMAT_ND,
    )
    assert (
        repr(desc)
        == f"TensorDesc(shape=[2, 3], format={Format.FORMAT_ND}, data_type={DataType.DT_INT32})"
    )
    desc.close()
    assert repr(desc) == "TensorDesc(<closed>)"


def test_tensor_desc_defaults(ge_stub: StubControl) -> None:
    with TensorDesc() as desc:
        assert desc.get_shape() == [] and isinstance(desc.get_shape(), Shape)
        assert desc.get_format() is Format.FORMAT_ND
        assert desc.get_data_type() is DataType.DT_FLOAT
        assert desc.get_origin_shape() == []
        assert desc.get_origin_format() is Format.FORMAT_ND
    with TensorDesc([4], Format.FORMAT_NHWC) as desc:
        assert desc.origin_format is Format.FORMAT_ND  # GE does not copy the format


def test_tensor_desc_origin(ge_stub: StubControl) -> None:
    with TensorDesc([2, 3]) as desc:
        assert desc.set_origin_shape([6]) is desc
        assert desc.set_origin_format(Format.FORMAT_NCHW) is desc
        assert desc.origin_shape == [6] and desc.origin_format is Format.FORMAT_NCHW
        assert desc.shape == [2, 3] and desc.format is Format.FORMAT_ND


def test_tensor_desc_unknown_dims_and_shapes(ge_stub: StubControl) -> None:
    with TensorDesc([-1, 3]) as desc:
        assert desc.get_shape().is_unknown_shape()
        desc.set_shape(Shape([-2]))
        assert desc.shape == [-2]
        with pytest.raises(ValueError, match=">= -2"):
            desc.set_shape([-3])
        got = desc.get_shape()
        got.append(1)  # a copy
        assert desc.shape == [-2]


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: TensorDesc("1"), TypeError),
        (lambda: TensorDesc([1], "ND"), TypeError),
        (lambda: TensorDesc([1], Format.FORMAT_ND, "float"), TypeError),
        (lambda: TensorDesc([1], 1000), ValueError),
        (lambda: TensorDesc([2**63]), ValueError),
    ],
)
def test_tensor_desc_constructor_misuse(ge_stub: StubControl, call: Any, error: type) -> None:
    with pytest.raises(error):
        call()
    assert ge_stub.live_counts()["tensor_descs"] == 0


def test_tensor_desc_setter_misuse(ge_stub: StubControl) -> None:
    with TensorDesc() as desc:
        with pytest.raises(TypeError, match="shape"):
            desc.set_shape(3)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="origin_shape"):
            desc.set_origin_shape("3")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Format must be a Format"):
            desc.set_format(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Format must be a Format"):
            desc.set_origin_format(1.0)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="Data type must be a DataType"):
            desc.set_data_type("DT_FLOAT")  # type: ignore[arg-type]


def test_tensor_desc_failures(ge_stub: StubControl) -> None:
    ge_stub.fail_next("GeApiWrapper_TensorDesc_Create", 0)
    with pytest.raises(RuntimeError, match="TensorDesc_Create"):
        TensorDesc([1])
    with TensorDesc([1, 2]) as desc:
        ge_stub.fail_next("GeApiWrapper_TensorDesc_SetFormat", status.PARAM_INVALID)
        with pytest.raises(GeError, match="TensorDesc_SetFormat") as info:
            desc.set_format(Format.FORMAT_NCHW)
        assert info.value.status == status.PARAM_INVALID
        ge_stub.fail_next("GeApiWrapper_TensorDesc_GetShape", 0)
        with pytest.raises(GeError, match="TensorDesc_GetShape") as shape_info:
            desc.get_shape()
        assert shape_info.value.context == {"dim_num": 2}  # GE: success, but no array
        assert ge_stub.live_counts()["dims_arrays"] == 0
        assert desc.get_shape() == [1, 2]


def test_tensor_desc_values_ge_reports(
    ge_stub: StubControl, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ge._ffi import api

    with TensorDesc() as desc:
        monkeypatch.setattr(api, "GeApiWrapper_TensorDesc_GetDataType", lambda handle: 5)
        with pytest.raises(ValueError, match="not a DataType"):
            desc.get_data_type()
        monkeypatch.setattr(api, "GeApiWrapper_TensorDesc_GetFormat", lambda handle: 0x20002)
        assert desc.get_format() is Format.FORMAT_ND  # a sub-format above the low byte


def test_tensor_desc_lifetime(ge_stub: StubControl) -> None:
    desc = TensorDesc([3])
    assert ge_stub.live_counts()["tensor_descs"] == 1
    assert_refuses_copies(desc, "TensorDesc")
    desc.close()
    desc.close()
    assert ge_stub.live_counts()["tensor_descs"] == 0
    for use in (desc.get_shape, desc.get_format, lambda: desc.set_shape([1]), lambda: desc.shape):
        with pytest.raises(ValueError, match="tensor desc is closed"):
            use()
    descs = [TensorDesc([i]) for i in range(4)]
    del descs
    gc.collect()
    assert ge_stub.live_counts()["tensor_descs"] == 0
    with pytest.raises(ValueError, match="NULL"):
        TensorDesc._adopt(0)
