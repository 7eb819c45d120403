r"""Exceptions raised by ``ge``, as CANN's own package spells them.

A failed GE call raises :class:`GeError`; a failed ACL call :class:`AclError`;
a library that cannot be found :class:`LibraryNotFoundError`; an optional
symbol the loaded library lacks :class:`MissingSymbolError`; a CANN older
than the package supports :class:`CannVersionError`.

:class:`GeError` has CANN's constructor ``GeError(message, error_message=None,
api_name=None, context=None)`` and attributes, and ``str()`` is CANN's layout
``"<Api> failed; k=v, k2=v2; <GE message>"``. This package adds the status
code: ``status`` and ``status_name`` attributes, and in the text as the last
item of the context part, ``status=<NAME> (<code>)``::

    AddGraph failed; graph_id=7, status=FAILED (4294967295); <GE's message>

so code that splits the text on ``"; "`` still finds the API, the context and
GE's message where CANN puts them. :func:`raise_ge_error` and
:func:`get_ge_error_msg` are CANN's helpers.

The status vocabulary: :class:`Status` (GE's codes) and :class:`AclStatus`
(ACL's), two ``IntEnum``\ s. ``GeError.status`` stays the plain ``int`` GE or
ACL returned (a code this package does not list is kept as it is), and an
``int`` compares equal to its member::

    except ge.GeError as err:
        if err.status == ge.error.Status.GE_GRAPH_GRAPH_NOT_EXIST: ...

``Status(err.status)`` gives the member of a listed code (``ValueError`` for
another); ``err.status_name`` is the name of any code, listed or not.
"""

from __future__ import annotations

from typing import Any, NoReturn, Optional

from ge._ffi.errors import (
    AclError,
    CannVersionError,
    GeError,
    LibraryNotFoundError,
    MissingSymbolError,
)
from ge._ffi.marshal import last_ge_message
from ge._ffi.status import AclStatus, Status

__all__ = [
    "AclError",
    "AclStatus",
    "CannVersionError",
    "GeError",
    "LibraryNotFoundError",
    "MissingSymbolError",
    "Status",
    "get_ge_error_msg",
    "raise_ge_error",
]


def get_ge_error_msg() -> str:
    """GE's error text for this thread (``GEGetErrorMsg``). Reading it empties GE's
    queue: it holds every report since the last read, and may be empty."""
    return last_ge_message()


def raise_ge_error(api_name: str, status: Optional[int] = None, **context: Any) -> NoReturn:
    """Raise the :class:`GeError` of the failed call ``api_name``, with GE's message
    (read once, here) and ``context`` (CANN's helper; ``status`` is kept too)."""
    raise GeError.from_call(api_name, status, get_ge_error_msg(), context)
