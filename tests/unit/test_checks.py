"""``ge._checks``: the argument vocabulary, one parser per kind of argument.

No native library is needed: every rule here holds before any C call.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

from ge import _checks, _messages


class RaisingPath(os.PathLike):  # type: ignore[type-arg]
    def __fspath__(self) -> str:
        raise RuntimeError("no path here")


class RaisingMapping(Mapping):  # type: ignore[type-arg]
    def __getitem__(self, key: object) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("cannot iterate")

    def __len__(self) -> int:
        return 1


def test_an_int_is_an_int_or_numpy_integer_never_a_bool() -> None:
    assert _checks.as_int(3, "n") == 3
    value = _checks.as_int(np.uint16(7), "n")
    assert value == 7 and type(value) is int
    for bad in (True, np.bool_(False), 1.0, "1", None):
        with pytest.raises(TypeError, match="n must be an int"):
            _checks.as_int(bad, "n")
    with pytest.raises(TypeError, match=r"^custom$"):
        _checks.as_int("1", "n", "custom")


def test_an_int_in_a_range_says_the_range() -> None:
    assert _checks.as_int_in(5, "x", 0, 5) == 5
    with pytest.raises(ValueError, match=r"^x must be in 0\.\.5, got 6$"):
        _checks.as_int_in(6, "x", 0, 5)
    with pytest.raises(TypeError, match=r"^typed$"):
        _checks.as_int_in(None, "x", 0, 5, "typed")


def test_the_c_ranges() -> None:
    assert _checks.INT32_MAX == 2**31 - 1 and _checks.INT32_MIN == -(2**31)
    assert _checks.UINT32_MAX == 2**32 - 1 and _checks.SIZE_T_MAX == 2**64 - 1
    assert (_checks.INT64_MIN, _checks.INT64_MAX) == (-(2**63), 2**63 - 1)


def test_three_sizes_by_meaning() -> None:
    # a size_t or address: 0 allowed
    assert _checks.as_size_t(0, "addr") == 0
    assert _checks.as_size_t(np.int64(9), "size") == 9
    for bad in (-1, 2**64):
        with pytest.raises(ValueError, match=r"size must be in 0\.\."):
            _checks.as_size_t(bad, "size")
    # bytes to allocate: positive
    assert _checks.allocation_size(1) == 1
    with pytest.raises(ValueError, match=r"^size must be positive, got 0$"):
        _checks.allocation_size(0)
    with pytest.raises(ValueError, match="does not fit in size_t"):
        _checks.allocation_size(2**64)
    assert _checks.allocation_size(2**64 - 1) == 2**64 - 1
    # bytes to copy within a block
    assert _checks.copy_count(0, 8) == 0 and _checks.copy_count(8, 8) == 8
    with pytest.raises(ValueError, match="must not be negative"):
        _checks.copy_count(-1, 8)
    with pytest.raises(ValueError, match=r"^nbytes=9 exceeds the buffer size 8$"):
        _checks.copy_count(9, 8)
    with pytest.raises(TypeError):
        _checks.copy_count(True, 8)


def test_device_and_graph_ids() -> None:
    assert _checks.device_id(np.int32(3)) == 3
    with pytest.raises(ValueError, match=r"device id must be in 0\.\.2147483647"):
        _checks.device_id(-1)
    assert _checks.graph_id(2**32 - 1) == 2**32 - 1
    assert _checks.graph_id(np.uint64(4)) == 4
    with pytest.raises(ValueError, match=r"Graph_id must be in 0\.\.4294967295"):
        _checks.graph_id(2**32)
    for bad in ("1", 1.0, True, None):
        with pytest.raises(TypeError, match=f"^{_messages.GRAPH_ID}$"):
            _checks.graph_id(bad)


def test_dims() -> None:
    assert _checks.as_dims([2, np.int64(3)]) == (2, 3)
    assert _checks.as_dims(4, allow_int=True) == (4,)
    assert _checks.as_dims((-1, 2), min_dim=-1) == (-1, 2)
    with pytest.raises(ValueError, match="non-negative"):
        _checks.as_dims([-1])
    with pytest.raises(ValueError, match=">= -1"):
        _checks.as_dims([-2], min_dim=-1)
    for bad in ("23", b"23", {2: 3}, 4, None):
        with pytest.raises(TypeError, match="shape must be a sequence of ints"):
            _checks.as_dims(bad)
    with pytest.raises(TypeError, match="an int or a sequence of ints"):
        _checks.as_dims(None, allow_int=True)
    with pytest.raises(TypeError):
        _checks.as_dims([True])


def test_paths_for_c(tmp_path: Path) -> None:
    assert _checks.fspath_bytes(tmp_path / "a", "p") == os.fsencode(tmp_path / "a")
    assert _checks.fspath_bytes("x", "p") == b"x"
    with pytest.raises(TypeError, match=r"p must be a str or os\.PathLike"):
        _checks.fspath_bytes(b"x", "p")
    assert _checks.fspath_bytes(b"x", "p", allow_bytes=True) == b"x"
    with pytest.raises(ValueError, match="NUL"):
        _checks.fspath_bytes("a\0b", "p")
    with pytest.raises(TypeError, match="cannot be read") as info:
        _checks.fspath_bytes(RaisingPath(), "p")
    assert isinstance(info.value.__cause__, RuntimeError)


def test_options_are_one_checked_snapshot() -> None:
    source = {"k": "v"}
    checked = _checks.as_str_dict(source, "message")
    assert checked == source and checked is not source
    assert _checks.as_str_dict(None, "message") == {}
    for bad in ([("k", "v")], {"k": 1}, {1: "v"}, "k=v"):
        with pytest.raises(TypeError, match=r"^message$"):
            _checks.as_str_dict(bad, "message")
    with pytest.raises(TypeError, match=r"^message$") as info:
        _checks.as_str_dict(RaisingMapping(), "message")
    assert isinstance(info.value.__cause__, RuntimeError)


@pytest.mark.parametrize(
    "value",
    [RaisingMapping(), [[1], RaisingMapping()], ((RaisingMapping(),),)],
    ids=["itself", "an item", "deeper"],
)
def test_an_array_like_that_cannot_be_read_is_a_type_error(value: object) -> None:
    """What the caller's container raises while numpy reads it (at any depth)
    becomes a ``TypeError``, the original chained as its cause."""
    with pytest.raises(TypeError, match="cannot be read as an array") as caught:
        _checks.as_array(value, "array")
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert np.array_equal(_checks.as_array([[1, 2]], "array", dtype=np.int8), [[1, 2]])
    with pytest.raises(ValueError):  # numpy's own errors pass unchanged
        _checks.as_array([[1], [1, 2]], "array", dtype=np.int8)
