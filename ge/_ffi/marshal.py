"""Conversions between Python values and the C arrays of the ABI, written once."""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import Any

from ge._checks import encode_text
from ge._ffi import api
from ge.error import AclError, GeError


class COptions:
    """A ``dict[str, str]`` as the ABI's ``char **keys, char **values, int size``.

    Keeps the encoded strings alive as long as the object lives. Keys and
    values must already be ``str`` (the caller checks and words the
    ``TypeError``); a NUL character raises ``ValueError``.
    """

    __slots__ = ("_encoded", "keys", "size", "values")

    def __init__(self, options: Mapping[str, str]) -> None:
        encoded = [
            (encode_text(k, "option key"), encode_text(v, "option value"))
            for k, v in options.items()
        ]
        self._encoded = encoded
        self.size = len(encoded)
        self.keys: Any = (ctypes.c_char_p * max(self.size, 1))(*(k for k, _ in encoded))
        self.values: Any = (ctypes.c_char_p * max(self.size, 1))(*(v for _, v in encoded))

    @property
    def args(self) -> tuple[Any, Any, int]:
        """``(keys, values, size)`` to splice into a call."""
        return self.keys, self.values, self.size


def decode(raw: bytes | None) -> str:
    """A C string from the library as ``str`` (empty for NULL)."""
    return raw.decode("utf-8", "replace") if raw else ""


def take_string(pointer: int | None) -> str | None:
    """A caller-owned C string (``Graph_GetName``, ``Tensor_GetData``) as ``str``,
    freed with ``GeApiWrapper_FreeString``; None for NULL."""
    if not pointer:
        return None
    try:
        raw = ctypes.string_at(pointer)
    finally:
        api.GeApiWrapper_FreeString(pointer)
    return raw.decode("utf-8", "replace")


def last_ge_message() -> str:
    """GE's message for the last failure on this thread (may be empty)."""
    return decode(api.GeApiWrapper_GEGetErrorMsg())


def last_acl_message() -> str:
    """ACL's message for the last failure on this thread (may be empty)."""
    return decode(api.aclGetRecentErrMsg())


def ge_error(api_name: str, status: int | None, context: Mapping[str, object]) -> GeError:
    """A :class:`GeError` for a failed GE call, with GE's own message."""
    return GeError(api_name, status, last_ge_message(), context)


def check_ge(status: int, api_name: str, context: Mapping[str, object] | None = None) -> None:
    """Raise :class:`GeError` unless ``status`` is 0."""
    if status:
        raise ge_error(api_name, status, context or {})


def check_acl(code: int, api_name: str, context: Mapping[str, object] | None = None) -> None:
    """Raise :class:`AclError` unless ``code`` is ``ACL_SUCCESS``."""
    if code:
        raise AclError(api_name, code, last_acl_message(), context or {})


__all__ = [
    "COptions",
    "check_acl",
    "check_ge",
    "decode",
    "ge_error",
    "last_acl_message",
    "last_ge_message",
    "take_string",
]
