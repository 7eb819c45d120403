"""Argument checks shared by the public classes, with one wording each.

Wrong Python types raise ``TypeError``; values out of range ``ValueError``.
``bool`` is never an integer here; numpy integers are.
"""

from __future__ import annotations

import os
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


def fspath_bytes(path: object, what: str, *, allow_bytes: bool = False) -> bytes:
    """A path for C: ``os.fsencode`` of a ``str`` or ``os.PathLike`` (and ``bytes``
    with ``allow_bytes``), without NUL bytes.

    ``TypeError`` for other objects and for a path object whose ``__fspath__``
    fails (the failure chained as ``__cause__``).
    """
    kinds: tuple[type, ...] = (str, bytes, os.PathLike) if allow_bytes else (str, os.PathLike)
    if not isinstance(path, kinds):
        expected = "a str, bytes or os.PathLike" if allow_bytes else "a str or os.PathLike"
        raise TypeError(f"{what} must be {expected}, not {type(path).__name__}")
    try:
        raw = os.fsencode(path)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise
    except Exception as exc:
        raise TypeError(f"{what}: the path of a {type(path).__name__} cannot be read") from exc
    if b"\0" in raw:
        raise ValueError(f"{what} must not contain NUL characters: {raw!r}")
    return raw


def as_str_dict(config: object, message: str) -> dict[str, str]:
    """A mapping of str to str as a new dict (one snapshot, checked and then used);
    ``TypeError(message)`` for anything else, a mapping that fails when read included."""
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise TypeError(message)
    try:
        items = dict(config.items())
    except Exception as exc:
        raise TypeError(message) from exc
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in items.items()):
        raise TypeError(message)
    return items
