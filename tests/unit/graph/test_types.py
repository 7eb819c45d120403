"""GE's enums and the DataType <-> numpy dtype table (no native library needed)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import ge.graph
from ge.graph import DataType, Format, Placement, dtypes, types

ABI_DATA_TYPES = {
    "DT_FLOAT": 0,
    "DT_FLOAT16": 1,
    "DT_INT8": 2,
    "DT_INT32": 3,
    "DT_UINT8": 4,
    "DT_INT16": 6,
    "DT_UINT16": 7,
    "DT_UINT32": 8,
    "DT_INT64": 9,
    "DT_UINT64": 10,
    "DT_DOUBLE": 11,
    "DT_BOOL": 12,
    "DT_STRING": 13,
    "DT_COMPLEX64": 16,
    "DT_COMPLEX128": 17,
    "DT_BF16": 27,
    "DT_UNDEFINED": 28,
}
ABI_FORMATS = {
    "FORMAT_NCHW": 0,
    "FORMAT_NHWC": 1,
    "FORMAT_ND": 2,
    "FORMAT_NC1HWC0": 3,
    "FORMAT_FRACTAL_Z": 4,
    "FORMAT_FRACTAL_NZ": 29,
    "FORMAT_NCDHW": 30,
}

NUMPY_OF = {
    DataType.DT_BOOL: np.dtype(np.bool_),
    DataType.DT_INT8: np.dtype(np.int8),
    DataType.DT_INT16: np.dtype(np.int16),
    DataType.DT_INT32: np.dtype(np.int32),
    DataType.DT_INT64: np.dtype(np.int64),
    DataType.DT_UINT8: np.dtype(np.uint8),
    DataType.DT_UINT16: np.dtype(np.uint16),
    DataType.DT_UINT32: np.dtype(np.uint32),
    DataType.DT_UINT64: np.dtype(np.uint64),
    DataType.DT_FLOAT16: np.dtype(np.float16),
    DataType.DT_FLOAT: np.dtype(np.float32),
    DataType.DT_DOUBLE: np.dtype(np.float64),
    DataType.DT_COMPLEX64: np.dtype(np.complex64),
    DataType.DT_COMPLEX128: np.dtype(np.complex128),
    DataType.DT_BF16: np.dtype(ml_dtypes.bfloat16),
}


# -- enums ------------------------------------------------------------------


@pytest.mark.parametrize("name, value", sorted(ABI_DATA_TYPES.items()))
def test_data_type_values_match_the_abi(name: str, value: int) -> None:
    assert DataType[name] == value


@pytest.mark.parametrize("name, value", sorted(ABI_FORMATS.items()))
def test_format_values_match_the_abi(name: str, value: int) -> None:
    assert Format[name] == value


def test_placement_values() -> None:
    assert Placement.PLACEMENT_HOST == 0
    assert Placement.PLACEMENT_DEVICE == 1
    assert len(Placement) == 2


def test_enums_are_complete_and_aliased_only_at_cann_pythons_boundaries() -> None:
    for enum, prefix in ((DataType, "DT_"), (Format, "FORMAT_")):
        assert all(name.startswith(prefix) for name in enum.__members__)
    aliases = {name for name, member in Format.__members__.items() if member.name != name}
    assert aliases == {"FORMAT_END", "FORMAT_MAX"}  # no other two names share a value
    assert len(DataType.__members__) == len(set(DataType))
    # every value of metadef's c_types.h up to the boundary, 5 reserved in GE
    assert sorted(int(m) for m in DataType) == [v for v in range(44) if v != 5]
    assert sorted(int(m) for m in Format) == list(range(55))  # FORMAT_END/MAX: aliases


def test_formats_follow_the_c_headers_and_boundaries_cann_python() -> None:
    """metadef's c_types.h (which GE compiles against) has FORMAT_FRACTAL_NZ_C0_2/4/8
    at 52..54; CANN's Python package documents FORMAT_END 52 and FORMAT_MAX 53
    (the header: 55 and 0xff). Code written for CANN's package gets its numbers."""
    assert DataType.DT_HIFLOAT4 == 42 and DataType.DT_MAX == 43
    assert not hasattr(DataType, "DT_HIFLOAT4_SCALE")  # not a CANN value
    assert Format.FORMAT_FRACTAL_NZ_C0_32 == 51
    assert Format.FORMAT_FRACTAL_NZ_C0_2 == 52
    assert Format.FORMAT_FRACTAL_NZ_C0_4 == 53
    assert Format.FORMAT_FRACTAL_NZ_C0_8 == 54
    assert Format.FORMAT_END == 52 and Format.FORMAT_END is Format.FORMAT_FRACTAL_NZ_C0_2
    assert Format.FORMAT_MAX == 53 and Format.FORMAT_MAX is Format.FORMAT_FRACTAL_NZ_C0_4
    assert Format(52) is Format.FORMAT_FRACTAL_NZ_C0_2


def test_newer_cann_values() -> None:
    assert DataType.DT_INT4 == 29
    assert DataType.DT_COMPLEX32 == 33
    assert DataType.DT_HIFLOAT8 == 34
    assert DataType.DT_FLOAT8_E5M2 == 35
    assert DataType.DT_FLOAT8_E4M3FN == 36
    assert Format.FORMAT_RESERVED == 40
    assert Format.FORMAT_NYUV == 45


def test_attr_value_type() -> None:
    """metadef's graph/any_value.h ValueType, CANN's ge.graph.types.AttrValueType."""
    from ge.graph.types import AttrValueType

    assert ge.graph.AttrValueType is AttrValueType
    singles = ["NONE", "STRING", "FLOAT", "BOOL", "INT", "TENSOR_DESC", "TENSOR", "BYTES"]
    singles += ["GRAPH", "NAMED_ATTRS", "LIST_LIST_INT", "DATA_TYPE", "LIST_LIST_FLOAT"]
    for value, name in enumerate(singles):
        assert AttrValueType[f"VT_{name}"] == value
    assert AttrValueType.VT_LIST_BASE == 1000
    for name in [*singles[1:10], "DATA_TYPE"]:
        assert AttrValueType[f"VT_LIST_{name}"] == 1000 + AttrValueType[f"VT_{name}"]
    assert len(AttrValueType) == 24


def test_package_exports() -> None:
    assert ge.graph.types is types
    assert ge.graph.DataType is types.DataType
    from ge.graph.tensor_desc import Shape, TensorDesc

    assert ge.graph.Shape is Shape and ge.graph.TensorDesc is TensorDesc
    for name in ge.graph.__all__:
        assert getattr(ge.graph, name).__doc__


def test_coerce_enum() -> None:
    assert types.coerce_enum(Format, 2, "format") is Format.FORMAT_ND
    assert types.coerce_enum(Format, np.int32(29), "format") is Format.FORMAT_FRACTAL_NZ
    assert types.coerce_enum(Format, Format.FORMAT_NCHW, "format") is Format.FORMAT_NCHW
    with pytest.raises(TypeError, match="format"):
        types.coerce_enum(Format, True, "format")
    with pytest.raises(TypeError, match="str"):
        types.coerce_enum(Format, "FORMAT_ND", "format")
    with pytest.raises(TypeError):
        types.coerce_enum(Format, 2.0, "format")
    with pytest.raises(ValueError, match="254"):
        types.coerce_enum(Format, 254, "format")
    with pytest.raises(ValueError):
        types.coerce_enum(Placement, 2, "placement")


# -- dtypes -----------------------------------------------------------------


def test_supported_is_the_whole_table() -> None:
    assert set(dtypes.SUPPORTED) == set(NUMPY_OF)


@pytest.mark.parametrize("data_type", sorted(NUMPY_OF))
def test_dtype_table_both_ways(data_type: DataType) -> None:
    np_dtype = NUMPY_OF[data_type]
    assert dtypes.to_numpy_dtype(data_type) == np_dtype
    assert dtypes.to_numpy_dtype(int(data_type)) == np_dtype
    assert dtypes.from_numpy_dtype(np_dtype) is data_type
    assert dtypes.from_numpy_dtype(np_dtype.type) is data_type
    assert dtypes.as_data_type(np_dtype) is data_type
    assert dtypes.itemsize(data_type) == np_dtype.itemsize
    if np_dtype.itemsize > 1 and data_type is not DataType.DT_BF16:
        swapped = np_dtype.newbyteorder("S")
        assert dtypes.from_numpy_dtype(swapped) is data_type


def test_python_and_string_dtypes() -> None:
    assert dtypes.from_numpy_dtype(float) is DataType.DT_DOUBLE
    assert dtypes.from_numpy_dtype(int) is DataType.DT_INT64
    assert dtypes.from_numpy_dtype(bool) is DataType.DT_BOOL
    assert dtypes.from_numpy_dtype(complex) is DataType.DT_COMPLEX128
    assert dtypes.as_data_type("float32") is DataType.DT_FLOAT
    assert dtypes.as_data_type(">i8") is DataType.DT_INT64
    assert dtypes.as_data_type(np.float16) is DataType.DT_FLOAT16
    assert dtypes.as_data_type(DataType.DT_STRING) is DataType.DT_STRING
    assert dtypes.as_data_type(13) is DataType.DT_STRING
    assert dtypes.as_data_type(np.int64(0)) is DataType.DT_FLOAT


@pytest.mark.parametrize(
    "dtype, shown",
    [
        (np.dtype("U3"), "<U3"),
        (np.dtype(object), "object"),
        (np.dtype("datetime64[s]"), "datetime64"),
        (np.dtype([("a", "i4")]), "('a', '<i4')"),
        (np.dtype("V4"), "V4"),
        (np.dtype((np.int32, (2,))), "(2,)"),
        (np.longdouble, "float128"),
    ],
)
def test_unsupported_numpy_dtypes_name_the_dtype(dtype: object, shown: str) -> None:
    with pytest.raises(TypeError, match="unsupported data type") as info:
        dtypes.from_numpy_dtype(dtype)
    assert shown in str(info.value)


@pytest.mark.parametrize(
    "data_type", [DataType.DT_STRING, DataType.DT_UNDEFINED, DataType.DT_INT4, DataType.DT_QINT8]
)
def test_ge_types_without_numpy_dtype(data_type: DataType) -> None:
    with pytest.raises(TypeError, match=data_type.name):
        dtypes.to_numpy_dtype(data_type)
    with pytest.raises(TypeError, match=data_type.name):
        dtypes.itemsize(data_type)


@pytest.mark.parametrize("value", [object(), 1.5, None, [1], b"float32"])
def test_as_data_type_wrong_types(value: object) -> None:
    with pytest.raises(TypeError, match="dtype"):
        dtypes.as_data_type(value)


def test_as_data_type_bad_values() -> None:
    with pytest.raises(TypeError, match="bool"):
        dtypes.as_data_type(True)
    with pytest.raises(ValueError, match="5"):
        dtypes.as_data_type(5)  # reserved in GE
    with pytest.raises(ValueError):
        dtypes.as_data_type(-1)
    with pytest.raises(TypeError, match="not a numpy dtype"):
        dtypes.as_data_type("no-such-type")
    with pytest.raises(ValueError):
        dtypes.to_numpy_dtype(1000)
    with pytest.raises(TypeError):
        dtypes.to_numpy_dtype("float32")  # type: ignore[arg-type]


def test_bf16_without_ml_dtypes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # makes the import fail
    with pytest.raises(TypeError, match=r"pip install ge-ffi\[bf16\]"):
        dtypes.to_numpy_dtype(DataType.DT_BF16)
    # Everything else still works, and bf16's size is known without the package.
    assert dtypes.to_numpy_dtype(DataType.DT_FLOAT) == np.float32
    assert dtypes.itemsize(DataType.DT_BF16) == 2


def test_import_loads_no_library(tmp_path: object) -> None:
    code = textwrap.dedent(
        """
        import ge.graph
        from ge import _ffi
        from ge.graph import DataType, Format, Graph, GraphBuilder, Placement, Tensor
        from ge.graph import TensorHolder, types
        assert types.DataType.DT_FLOAT == 0
        assert not _ffi._loader._groups, _ffi._loader._groups
        import numpy
        from ge.error import LibraryNotFoundError
        try:
            Tensor.from_numpy(numpy.zeros(3))
        except LibraryNotFoundError:
            pass
        else:
            raise AssertionError("a tensor without any library")
        print("ok")
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GE_FFI", "ASCEND"))}
    env["GE_FFI_LIBRARY_DIR"] = str(tmp_path)
    env["LD_LIBRARY_PATH"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
