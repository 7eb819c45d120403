"""The argument vocabulary of the public calls: one parser per kind of argument,
with one wording each, used by every module that takes such an argument.

Wrong Python types raise ``TypeError``; values out of range ``ValueError``.
``bool`` is never an integer here; numpy integers are. The kinds: integers
(:func:`as_int`, :func:`as_int_in`), sizes by meaning (:func:`as_size_t`, a
C ``size_t`` or address; :func:`allocation_size`, bytes to allocate;
:func:`copy_count`, bytes to copy within a block), device ids, graph ids,
shapes (:func:`as_dims`), paths (:func:`fspath_bytes`), array-likes
(:func:`as_array`) and options dicts (:func:`as_str_dict`). A C string is
made by ``ge._ffi.marshal.encode_text``.
Two kinds need a class of ``ge.acl`` and are parsed beside it: streams
(``ge.acl._stream``) and malloc policies (``ge.acl._memory``). The texts of
CANN's own errors come from :mod:`ge._messages`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, Optional

import numpy as np

from ge import _messages

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
UINT32_MAX = 2**32 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
SIZE_T_MAX = 2**64 - 1
"""The largest C ``size_t`` (and address) on the LP64 platforms CANN supports."""


class ValueTypeError(ValueError, TypeError):
    """A bad value where CANN's own package raises ``TypeError``: a ``ValueError``
    by this package's rule and a ``TypeError`` as CANN's, so code written for
    either catches it."""


def as_int(value: object, what: str, type_message: Optional[str] = None) -> int:
    """``value`` as an ``int``: an ``int`` or numpy integer, not a ``bool``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(type_message or f"{what} must be an int, not {type(value).__name__}")
    return int(value)


def as_dim(value: object, what: str, type_message: Optional[str] = None) -> int:
    """A dimension: :func:`as_int` within ``int64_t`` (C would keep the low 64 bits
    of a bigger one silently: ``2**64 + 3`` would become 3)."""
    number = as_int(value, what, type_message)
    if not INT64_MIN <= number <= INT64_MAX:
        raise ValueError(f"{what} must fit in int64 ({INT64_MIN}..{INT64_MAX}), got {number}")
    return number


def as_int_in(
    value: object, what: str, low: int, high: int, type_message: Optional[str] = None
) -> int:
    """:func:`as_int`, and within ``low..high`` (``ValueError`` otherwise)."""
    number = as_int(value, what, type_message)
    if not low <= number <= high:
        raise ValueError(f"{what} must be in {low}..{high}, got {number}")
    return number


def as_size_t(value: object, what: str) -> int:
    """A C ``size_t`` or address: an int in ``0 .. 2**64 - 1``."""
    if type(value) is int and 0 <= value <= SIZE_T_MAX:
        return value  # the common case, without the ABC checks (every allocator call)
    return as_int_in(value, what, 0, SIZE_T_MAX)


def allocation_size(value: object, what: str = "size") -> int:
    """Bytes to allocate: an int in ``1 .. 2**64 - 1``."""
    size = as_int(value, what)
    if size <= 0:
        raise ValueError(f"{what} must be positive, got {size}")
    if size > SIZE_T_MAX:
        raise ValueError(f"{what} does not fit in size_t: {size}")
    return size


def copy_count(value: object, limit: int, what: str = "nbytes") -> int:
    """Bytes to copy from or to a block of ``limit`` bytes: an int in ``0 .. limit``."""
    count = as_int(value, what)
    if count < 0:
        raise ValueError(f"{what} must not be negative, got {count}")
    if count > limit:
        raise ValueError(f"{what}={count} exceeds the buffer size {limit}")
    return count


def device_id(value: object) -> int:
    """An ACL device id: an int in ``0 .. 2**31 - 1`` (a C ``int32_t``)."""
    return as_int_in(value, "device id", 0, INT32_MAX)


def graph_id(value: object) -> int:
    """A graph id: an int in ``0 .. 2**32 - 1`` (CANN wraps larger ones through
    ``c_uint32``; this package refuses them)."""
    if type(value) is int and 0 <= value <= UINT32_MAX:
        return value  # the common case (every run), without the ABC checks
    return as_int_in(value, "Graph_id", 0, UINT32_MAX, _messages.GRAPH_ID)


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
    dims = tuple(as_dim(d, f"{what} dimension") for d in items)
    if any(d < min_dim for d in dims):
        floor = "non-negative" if min_dim == 0 else f">= {min_dim}"
        raise ValueError(f"{what} dimensions must be {floor}, got {dims}")
    return dims


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


def as_array(value: object, what: str, **options: Any) -> np.ndarray[Any, Any]:
    """``np.asarray(value, **options)``, where ``value`` is the caller's object.

    ``TypeError`` (the failure chained as ``__cause__``) when reading ``value``
    raises an exception of its own: a container whose ``__iter__``,
    ``__getitem__`` or ``__array__`` fails, at any depth. numpy's own
    ``TypeError``, ``ValueError`` and ``OverflowError``, and ``MemoryError``
    and ``RecursionError``, pass unchanged.
    """
    try:
        return np.asarray(value, **options)
    except (TypeError, ValueError, OverflowError, MemoryError, RecursionError):
        raise
    except Exception as exc:
        raise TypeError(
            f"{what}: a {type(value).__name__} that cannot be read as an array"
        ) from exc


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
