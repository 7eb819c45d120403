"""The exceptions of ``ge``, defined here at the bottom so that the loader and the
marshalling code can raise them; users import them from :mod:`ge.error` (their
``__module__`` says so, for tracebacks and pickling).

:class:`GeError` has CANN's constructor ``GeError(message, error_message=None,
api_name=None, context=None)`` and attributes, and ``str()`` is CANN's layout
``"<Api> failed; k=v, k2=v2; <GE message>"`` with the status code as the last
context item (see :mod:`ge.error`).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any, Optional, TypeVar

from ge._ffi.status import acl_status_name, ge_status_name

__all__ = [
    "AclError",
    "CannVersionError",
    "GeError",
    "LibraryNotFoundError",
    "MissingSymbolError",
]


_E = TypeVar("_E", bound="GeError")


def _context_value(key: str, value: object) -> object:
    """CANN's spelling of a context value: a stream handle as ``"0x..."`` text."""
    if key == "stream" and isinstance(value, int) and not isinstance(value, bool):
        return f"0x{value:x}"
    return value


class GeError(RuntimeError):
    """A GE call failed.

    Attributes, as in CANN's package: ``error_message`` (GE's own text, read
    from its error queue; may be empty), ``api_name`` (the C++ API, e.g.
    ``AddGraph``) and ``context`` (a dict, e.g. ``{"graph_id": 1, "stream":
    "0x5e00..."}``). Added by this package: ``status`` (the numeric code, or
    ``None`` where there is none) and ``status_name``.
    """

    __module__ = "ge.error"

    error_message: Optional[str]
    api_name: Optional[str]
    context: dict[str, Any]
    status: Optional[int]
    status_name: Optional[str]

    def __init__(
        self,
        message: str,
        error_message: Optional[str] = None,
        api_name: Optional[str] = None,
        context: Optional[Mapping[str, Any]] = None,
        *,
        status: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.error_message = error_message
        self.api_name = api_name
        self.context = dict(context or {})
        self.status = status
        self.status_name = None if status is None else self._status_name(status)

    @staticmethod
    def _status_name(status: int) -> str:
        return ge_status_name(status)

    def __str__(self) -> str:
        text = super().__str__()
        if sys.version_info < (3, 11):
            # Tracebacks print __notes__ only from 3.11 on: show them with the
            # message, one per line, as 3.11's traceback does.
            notes = self.__dict__.get("__notes__")
            if isinstance(notes, list) and notes:
                text = "\n".join([text, *map(str, notes)])
        return text

    @classmethod
    def from_call(
        cls: type[_E],
        api_name: str,
        status: Optional[int] = None,
        error_message: str = "",
        context: Optional[Mapping[str, Any]] = None,
    ) -> _E:
        """The error of the call ``api_name``, its text in CANN's layout (see the module)."""
        ctx = {key: _context_value(key, value) for key, value in (context or {}).items()}
        items = [f"{key}={value}" for key, value in ctx.items()]
        if status is not None:
            items.append(f"status={cls._status_name(status)} ({status})")
        parts = [f"{api_name} failed"]
        if items:
            parts.append(", ".join(items))
        if error_message:
            parts.append(error_message)
        return cls(
            "; ".join(parts),
            error_message=error_message,
            api_name=api_name,
            context=ctx,
            status=status,
        )


class AclError(GeError):
    """An ACL runtime call failed; ``status`` is the ``aclError`` code."""

    __module__ = "ge.error"

    @staticmethod
    def _status_name(status: int) -> str:
        return acl_status_name(status)


class MissingSymbolError(GeError):
    """The loaded library does not export an (optional) function."""

    __module__ = "ge.error"

    def __init__(self, symbol: str, library: str = "") -> None:
        where = f" in {library}" if library else ""
        detail = (
            f"symbol {symbol!r} is not exported by the loaded library{where}; "
            "this CANN version does not provide it"
        )
        super().__init__(f"{symbol} failed; {detail}", detail, symbol)
        self.symbol = symbol
        self.library = library

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.symbol, self.library), self.__dict__)


class LibraryNotFoundError(GeError, OSError):
    """A native library group could not be loaded.

    ``attempts`` lists every ``(path, loader error)`` tried, in order.
    """

    __module__ = "ge.error"

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
        text = "\n".join(lines)
        super().__init__(text, text, f"load {group}")
        self.group = group
        self.attempts = list(attempts)
        self.hint = hint

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.group, self.attempts, self.hint), self.__dict__)

    def __str__(self) -> str:
        return str(self.args[0])


class CannVersionError(GeError):
    """The CANN installation is older than the package supports.

    ``library`` is the file that gave it away, ``missing`` the symbols it
    lacks and ``required`` the oldest CANN release that works.
    """

    __module__ = "ge.error"

    def __init__(self, library: str, missing: Sequence[str], required: str) -> None:
        detail = (
            f"{library} lacks {', '.join(missing)}: it is older than CANN {required}; "
            f"ge needs CANN {required} or later (the C wrapper ABI of hicann/ge v{required})"
        )
        super().__init__(f"load ge failed; {detail}", detail, "load ge")
        self.library = library
        self.missing = list(missing)
        self.required = required

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.library, self.missing, self.required), self.__dict__)
