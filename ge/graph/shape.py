"""``Shape``: a tensor's dims as a ``list`` of ints, as CANN's ``ge.graph.Shape``.

A ``Shape`` is a list, so ``Shape([2, 3]) == [2, 3]``; a scalar's is ``[]``.
GE marks an unknown dim with -1 (``UNKNOWN_DIM``) and an unknown number of
dims with a single -2 (``UNKNOWN_DIM_NUM``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Optional

from ge._checks import INT64_MAX, INT64_MIN, as_dim

__all__ = ["UNKNOWN_DIM", "UNKNOWN_DIM_NUM", "UNKNOWN_DIM_SIZE", "Shape", "as_shape_dims"]

UNKNOWN_DIM = -1
"""A dim whose size is not known (ge::UNKNOWN_DIM)."""
UNKNOWN_DIM_NUM = -2
"""The one dim of a shape whose rank is not known (ge::UNKNOWN_DIM_NUM)."""
UNKNOWN_DIM_SIZE = -1
"""What :meth:`Shape.get_shape_size` gives for an unknown shape."""


def as_shape_dims(dims: object, what: str = "dims", *, min_dim: int = UNKNOWN_DIM_NUM) -> list[int]:
    """``dims`` (None, a list or tuple of ints, a ``Shape``) as a new list of ints.

    None is a scalar (``[]``). ``TypeError`` for anything else, ``bool`` dims
    included; ``ValueError`` for a dim below ``min_dim`` or outside int64.
    """
    if dims is None:
        return []
    if not isinstance(dims, (list, tuple)):
        raise TypeError(f"{what} must be a list of integers, not {type(dims).__name__}")
    out = [as_dim(d, f"{what} dimension", f"{what} must be a list of integers") for d in dims]
    for d in out:
        if d < min_dim or d > INT64_MAX:
            low = "non-negative" if min_dim == 0 else f">= {min_dim}"
            raise ValueError(f"{what} dimensions must be {low} and fit int64, got {out}")
    return out


class Shape(list):  # type: ignore[type-arg]
    """The dims of a tensor: a ``list`` of ints (``[]`` for a scalar).

    ``Shape(dims=None)``: ``dims`` a list of ints (a tuple is taken too);
    ``TypeError`` otherwise.
    """

    def __init__(self, dims: Optional[Iterable[int]] = None) -> None:
        super().__init__(as_shape_dims(dims, "dims", min_dim=INT64_MIN))

    @classmethod
    def _of(cls, dims: Iterable[int]) -> Shape:
        """A Shape of dims already known to be ints (no checks)."""
        shape = cls.__new__(cls)
        list.extend(shape, dims)
        return shape

    def get_shape_size(self) -> int:
        """The number of elements: 0 for a scalar (GE's convention), -1 when a dim
        is unknown (-1 or -2), else the product of the dims."""
        if not self:
            return 0
        size = 1
        for dim in self:
            if dim in (UNKNOWN_DIM, UNKNOWN_DIM_NUM):
                return UNKNOWN_DIM_SIZE
            size *= dim
        return size

    def is_unknown_shape(self) -> bool:
        """Whether a dim is unknown (-1 or -2)."""
        return any(dim in (UNKNOWN_DIM, UNKNOWN_DIM_NUM) for dim in self)
