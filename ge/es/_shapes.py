"""Shapes as the builder's calls take them, checked once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ge import _messages
from ge._checks import as_dim
from ge.graph.shape import UNKNOWN_DIM, UNKNOWN_DIM_NUM

__all__ = ["as_const_shape", "as_holder_shape"]


def _dims(shape: object, what: str) -> tuple[int, ...]:
    if isinstance(shape, (str, bytes, bytearray, Mapping)) or not isinstance(shape, Sequence):
        raise TypeError(_messages.SHAPE)
    return tuple(as_dim(d, f"{what} dimension", _messages.SHAPE) for d in shape)


def as_holder_shape(shape: object, what: str = "shape") -> tuple[int, ...]:
    """A declared shape: dims ``>= -1`` (-1 unknown), or ``[-2]`` (unknown rank)."""
    dims = _dims(shape, what)
    if dims == (UNKNOWN_DIM_NUM,):
        return dims
    if any(d < UNKNOWN_DIM for d in dims):
        raise ValueError(
            f"{what} dimensions must be >= -1 (or the shape [-2], an unknown rank), got {dims}"
        )
    return dims


def as_const_shape(shape: object, what: str = "shape") -> tuple[int, ...]:
    """A Const's shape: known dims, each ``>= 0``."""
    dims = _dims(shape, what)
    if any(d < 0 for d in dims):
        raise ValueError(f"{what} dimensions of a constant must be >= 0, got {dims}")
    return dims
