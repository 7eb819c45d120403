"""The one table between GE's ``DataType`` and numpy dtypes, both ways.

``DT_BF16`` maps to ``ml_dtypes.bfloat16``, imported on first use; without
the package it is a ``TypeError`` that says how to install it. Any dtype not
in the table is a ``TypeError`` naming it.
"""

from __future__ import annotations

import operator
from typing import Any, Optional

import numpy as np

from ge.graph.types import DataType, coerce_enum

__all__ = [
    "BF16_INSTALL_HINT",
    "SUPPORTED",
    "as_data_type",
    "from_numpy_dtype",
    "itemsize",
    "to_numpy_dtype",
]

BF16_INSTALL_HINT = "pip install ge-ffi[bf16]"
"""How to get bfloat16 support (the ``ml_dtypes`` package)."""

_TABLE: tuple[tuple[DataType, str, int], ...] = (
    (DataType.DT_BOOL, "bool", 1),
    (DataType.DT_INT8, "int8", 1),
    (DataType.DT_INT16, "int16", 2),
    (DataType.DT_INT32, "int32", 4),
    (DataType.DT_INT64, "int64", 8),
    (DataType.DT_UINT8, "uint8", 1),
    (DataType.DT_UINT16, "uint16", 2),
    (DataType.DT_UINT32, "uint32", 4),
    (DataType.DT_UINT64, "uint64", 8),
    (DataType.DT_FLOAT16, "float16", 2),
    (DataType.DT_FLOAT, "float32", 4),
    (DataType.DT_DOUBLE, "float64", 8),
    (DataType.DT_COMPLEX64, "complex64", 8),
    (DataType.DT_COMPLEX128, "complex128", 16),
    (DataType.DT_BF16, "bfloat16", 2),
)
"""``(DataType, numpy dtype name, bytes per element)``; bfloat16 comes from ml_dtypes."""

SUPPORTED: tuple[DataType, ...] = tuple(row[0] for row in _TABLE)
"""Every ``DataType`` that has a numpy dtype."""

_BY_DATA_TYPE = {row[0]: row for row in _TABLE}
_BY_NAME = {row[1]: row[0] for row in _TABLE}


def _bfloat16() -> np.dtype[Any]:
    try:
        import ml_dtypes
    except ImportError as exc:
        raise TypeError(
            f"DT_BF16 needs the ml_dtypes package for numpy's bfloat16: {BF16_INSTALL_HINT}"
        ) from exc
    dtype: np.dtype[Any] = np.dtype(ml_dtypes.bfloat16)
    return dtype


def _unsupported(what: str) -> TypeError:
    names = ", ".join(row[1] for row in _TABLE)
    return TypeError(f"unsupported data type {what}; supported: {names}")


_to_numpy_cache: dict[DataType, np.dtype[Any]] = {}
_from_numpy_cache: dict[np.dtype[Any], DataType] = {}
"""Answers already worked out (every Tensor.numpy() and from_numpy asks)."""


def to_numpy_dtype(data_type: DataType | int) -> np.dtype[Any]:
    """The numpy dtype (native byte order) of a GE ``DataType``."""
    if type(data_type) is DataType:  # not a bare int, nor bool (== 1, refused below)
        cached = _to_numpy_cache.get(data_type)
        if cached is not None:
            return cached
    dt = coerce_enum(DataType, data_type, "data_type")
    row = _BY_DATA_TYPE.get(dt)
    if row is None:
        raise _unsupported(dt.name)
    if dt is DataType.DT_BF16:
        return _bfloat16()  # not cached: it depends on ml_dtypes being importable
    result = _to_numpy_cache[dt] = np.dtype(row[1])
    return result


def from_numpy_dtype(dtype: Any) -> DataType:
    """The GE ``DataType`` of a numpy dtype (either byte order)."""
    if isinstance(dtype, np.dtype):
        cached = _from_numpy_cache.get(dtype)
        if cached is not None:
            return cached
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"not a numpy dtype: {dtype!r} ({exc})") from None
    if dt.fields is not None or dt.subdtype is not None:
        raise _unsupported(str(dt))
    if dt.byteorder not in ("=", "|"):
        dt = dt.newbyteorder("=")
    found = _BY_NAME.get(dt.name)
    if found is None or dt.itemsize != _BY_DATA_TYPE[found][2]:
        raise _unsupported(str(dt))
    if isinstance(dtype, np.dtype):
        _from_numpy_cache[dtype] = found
    return found


def as_data_type(value: object, what: str = "dtype", message: Optional[str] = None) -> DataType:
    """A ``DataType`` from a ``DataType``, its ``int`` value, or a numpy dtype-like.

    ``TypeError`` for a value of the wrong type or a dtype GE cannot hold,
    ``ValueError`` for an ``int`` that is no ``DataType``; ``message`` is CANN's
    text for the argument, as :func:`ge.graph.types.coerce_enum` takes it.
    """
    if isinstance(value, DataType):
        return value
    expected = (
        f"{message} (or a numpy dtype)"
        if message
        else f"{what} must be a DataType or a numpy dtype"
    )
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{expected}, not bool")
    if isinstance(value, (int, np.integer)):
        return coerce_enum(DataType, operator.index(value), what, message)
    if isinstance(value, (np.dtype, type, str)):
        if message is None:
            return from_numpy_dtype(value)
        try:
            return from_numpy_dtype(value)
        except TypeError as exc:
            raise TypeError(f"{expected}; {exc}") from None
    raise TypeError(f"{expected}, not {type(value).__name__}")


def itemsize(data_type: DataType | int) -> int:
    """Bytes per element of a supported ``DataType`` (no import of ml_dtypes needed)."""
    dt = coerce_enum(DataType, data_type, "data_type")
    row = _BY_DATA_TYPE.get(dt)
    if row is None:
        raise _unsupported(dt.name)
    return row[2]
