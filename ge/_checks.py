"""Argument checks shared by the public classes, with one wording each.

Wrong Python types raise ``TypeError``; values out of range ``ValueError``.
``bool`` is never an integer here; numpy integers are.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Optional

import numpy as np


def as_int(value: object, what: str, type_message: Optional[str] = None) -> int:
    """``value`` as an ``int``: an ``int`` or numpy integer, not a ``bool``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(type_message or f"{what} must be an int, not {type(value).__name__}")
    return int(value)


def as_int_in(
    value: object, what: str, low: int, high: int, type_message: Optional[str] = None
) -> int:
    """:func:`as_int`, and within ``low..high`` (``ValueError`` otherwise)."""
    number = as_int(value, what, type_message)
    if not low <= number <= high:
        raise ValueError(f"{what} must be in {low}..{high}, got {number}")
    return number


def as_dims(
    shape: object, what: str = "shape", *, min_dim: int = 0, allow_int: bool = False
) -> tuple[int, ...]:
    """A shape as a tuple of ints, each ``>= min_dim`` (-1 allows unknown dims).

    With ``allow_int`` a single int is a 1-d shape.
    """
    if allow_int and isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        items: Iterable[object] = (shape,)
    elif isinstance(shape, (str, bytes, bytearray, Mapping)) or not isinstance(shape, Iterable):
        kind = "an int or a sequence of ints" if allow_int else "a sequence of ints"
        raise TypeError(f"{what} must be {kind}, not {type(shape).__name__}")
    else:
        items = shape
    dims = tuple(as_int(d, f"{what} dimension") for d in items)
    if any(d < min_dim for d in dims):
        floor = "non-negative" if min_dim == 0 else f">= {min_dim}"
        raise ValueError(f"{what} dimensions must be {floor}, got {dims}")
    return dims


def encode_text(text: object, what: str) -> bytes:
    """A ``str`` for C: UTF-8, without NUL characters."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"{what} must not contain NUL characters: {text!r}")
    return data
