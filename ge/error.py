"""Exceptions raised by ``ge``.

A failed GE call raises :class:`GeError`; a failed ACL call :class:`AclError`;
a library that cannot be found :class:`LibraryNotFoundError`; an optional
symbol the loaded library lacks :class:`MissingSymbolError`; a CANN older
than the package supports :class:`CannVersionError`. Each carries the
status code, its symbolic name, the C++ API name, the call's context and the
runtime's own message.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Optional

__all__ = [
    "AclError",
    "CannVersionError",
    "GeError",
    "LibraryNotFoundError",
    "MissingSymbolError",
]


def _format_value(key: str, value: object) -> str:
    if key == "stream" and isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    return str(value)


class GeError(RuntimeError):
    """A GE call failed.

    Attributes: ``status`` (the numeric code, or ``None`` where the API returns
    no code), ``status_name``, ``api_name`` (the C++ API, e.g. ``AddGraph``),
    ``context`` (e.g. ``{"graph_id": 1, "stream": 0x...}``) and
    ``error_message`` (GE's own text, possibly empty).
    """

    status: Optional[int]
    status_name: Optional[str]
    api_name: str
    context: dict[str, object]
    error_message: str

    def __init__(
        self,
        api_name: str,
        status: Optional[int] = None,
        error_message: str = "",
        context: Optional[Mapping[str, object]] = None,
    ) -> None:
        super().__init__(api_name, status, error_message, dict(context or {}))
        self.api_name = api_name
        self.status = status
        self.status_name = None if status is None else self._status_name(status)
        self.error_message = error_message
        self.context = dict(context or {})

    @staticmethod
    def _status_name(status: int) -> str:
        from ge._ffi.status import ge_status_name  # not at import: ge._ffi imports this module

        return ge_status_name(status)

    def __str__(self) -> str:
        parts = [f"{self.api_name} failed"]
        parts.extend(f"{k}={_format_value(k, v)}" for k, v in self.context.items())
        if self.status is not None:
            parts.append(f"{self.status_name} ({self.status})")
        if self.error_message:
            parts.append(self.error_message)
        text = "; ".join(parts)
        if sys.version_info < (3, 11):
            # Tracebacks print __notes__ only from 3.11 on: show them with the
            # message, one per line, as 3.11's traceback does.
            notes = self.__dict__.get("__notes__")
            if isinstance(notes, list) and notes:
                text = "\n".join([text, *map(str, notes)])
        return text


class AclError(GeError):
    """An ACL runtime call failed; ``status`` is the ``aclError`` code."""

    @staticmethod
    def _status_name(status: int) -> str:
        from ge._ffi.status import acl_status_name

        return acl_status_name(status)


class MissingSymbolError(GeError):
    """The loaded library does not export an (optional) function."""

    def __init__(self, symbol: str, library: str = "") -> None:
        where = f" in {library}" if library else ""
        super().__init__(
            symbol,
            None,
            f"symbol {symbol!r} is not exported by the loaded library{where}; "
            "this CANN version does not provide it",
        )
        self.symbol = symbol

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.symbol,), self.__dict__)


class LibraryNotFoundError(GeError, OSError):
    """A native library group could not be loaded.

    ``attempts`` lists every ``(path, loader error)`` tried, in order.
    """

    def __init__(
        self,
        group: str,
        attempts: Sequence[tuple[str, str]],
        hint: str = "",
    ) -> None:
        lines = [f"cannot load the {group!r} library; tried:"]
        lines.extend(f"  {path}: {err}" for path, err in attempts)
        if hint:
            lines.append(hint)
        super().__init__(f"load {group}", None, "\n".join(lines))
        self.group = group
        self.attempts = list(attempts)
        self.hint = hint

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.group, self.attempts, self.hint), self.__dict__)

    def __str__(self) -> str:
        return self.error_message


class CannVersionError(GeError):
    """The CANN installation is older than the package supports.

    ``library`` is the file that gave it away, ``missing`` the symbols it
    lacks and ``required`` the oldest CANN release that works.
    """

    def __init__(self, library: str, missing: Sequence[str], required: str) -> None:
        super().__init__(
            "load ge",
            None,
            f"{library} lacks {', '.join(missing)}: it is older than CANN {required}; "
            f"ge needs CANN {required} or later (the C wrapper ABI of hicann/ge v{required})",
        )
        self.library = library
        self.missing = list(missing)
        self.required = required

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.library, self.missing, self.required), self.__dict__)
