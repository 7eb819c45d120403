"""Conversions between Python values and the C arrays of the ABI, written once."""

from __future__ import annotations

import ctypes
from collections.abc import Mapping
from typing import Any

from ge._ffi import api
from ge._ffi.errors import AclError, GeError


def encode_text(text: object, what: str) -> bytes:
    """A ``str`` for C: UTF-8, without NUL characters."""
    if not isinstance(text, str):
        raise TypeError(f"{what} must be a str, not {type(text).__name__}")
    data = text.encode("utf-8")
    if b"\0" in data:
        raise ValueError(f"{what} must not contain NUL characters: {text!r}")
    return data


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


def take_string(pointer: Any) -> str | None:
    """A caller-owned C string (``Graph_GetName``, ``Tensor_GetData``) as ``str``,
    freed with ``GeApiWrapper_FreeString``; None for NULL. ``pointer``: an
    ``int``, or the owning result of ``ge._ffi.made`` (freed in C if an
    interrupt drops it first), disarmed right before the free."""
    if not pointer:
        return None
    try:
        raw = ctypes.string_at(pointer)
    finally:
        if isinstance(pointer, ctypes.c_void_p):
            pointer.__class__ = ctypes.c_void_p  # disarmed (ge._ffi.owned), no call before C's
        api.GeApiWrapper_FreeString(pointer)
    return raw.decode("utf-8", "replace")


def last_ge_message() -> str:
    """GE's error text for this thread (``GEGetErrorMsg``), which empties GE's queue.

    The text holds every report since the last read (several lines, with
    ``[PID: ...]`` headers) and may be empty. Read it exactly once per failed
    call, right after it, and never when nothing failed.
    """
    return decode(api.GeApiWrapper_GEGetErrorMsg())


def last_acl_message() -> str:
    """ACL's error text for this thread (``aclGetRecentErrMsg``; it reads the same
    queue as :func:`last_ge_message`): empty when there is none."""
    return decode(api.aclGetRecentErrMsg())


def ge_error(api_name: str, status: int | None, context: Mapping[str, object]) -> GeError:
    """The :class:`GeError` of a failed GE call, with GE's message (read here, once)."""
    return GeError.from_call(api_name, status, last_ge_message(), context)


def acl_error(api_name: str, code: int, context: Mapping[str, object]) -> AclError:
    """The :class:`AclError` of a failed ACL call, with ACL's message (read here, once)."""
    return AclError.from_call(api_name, code, last_acl_message(), context)


def failure(
    api_name: str,
    message: str,
    context: Mapping[str, object] | None = None,
    status: int | None = None,
) -> GeError:
    """A :class:`GeError` raised by the package itself, before or without a failed C
    call (so GE's queue is not read): ``message`` in place of GE's."""
    return GeError.from_call(api_name, status, message, context)


def check_ge(status: int, api_name: str, context: Mapping[str, object] | None = None) -> None:
    """Raise :class:`GeError` unless ``status`` is 0."""
    if status:
        raise ge_error(api_name, status, context or {})


def check_acl(code: int, api_name: str, context: Mapping[str, object] | None = None) -> None:
    """Raise :class:`AclError` unless ``code`` is ``ACL_SUCCESS``."""
    if code:
        raise acl_error(api_name, code, context or {})


__all__ = [
    "COptions",
    "acl_error",
    "check_acl",
    "check_ge",
    "decode",
    "encode_text",
    "failure",
    "ge_error",
    "last_acl_message",
    "last_ge_message",
    "take_string",
]
