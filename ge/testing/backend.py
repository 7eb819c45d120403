"""What ``ge`` runs on: CANN where its libraries are usable, else the CPU stand-in.

:func:`select_backend` is what ``python -m ge demo``, the README's snippets and
``examples/`` call first, so that the same script runs on an Atlas host and on
a laptop or CI machine without an NPU.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Literal

from ge import _ffi
from ge._ffi.loader import ENV_LIBRARY, HINT
from ge._ffi.report import REQUIRED_GROUPS, FfiReport
from ge.error import LibraryNotFoundError, MissingSymbolError
from ge.testing.control import activate_stub

BackendChoice = Literal["auto", "cann", "stub"]
"""What :func:`select_backend` is asked for."""

CHOICES: tuple[BackendChoice, ...] = ("auto", "cann", "stub")


@dataclass(frozen=True)
class Backend:
    """The libraries ``ge`` uses after :func:`select_backend`.

    ``kind`` is ``"cann"`` or ``"stub"`` (the CPU stand-in); ``libraries`` the
    files in use; ``fell_back`` is true when ``"auto"`` found no usable CANN
    and activated the stand-in instead.
    """

    kind: Literal["cann", "stub"]
    libraries: tuple[str, ...]
    fell_back: bool = False

    @property
    def is_stub(self) -> bool:
        """True on the CPU stand-in (no NPU is used)."""
        return self.kind == "stub"

    def __str__(self) -> str:
        where = ", ".join(self.libraries)
        if self.is_stub:
            return f"the CPU stand-in (no NPU is used), {where}"
        return f"CANN, {where}"


def _libraries(report: FfiReport) -> tuple[str, ...]:
    return tuple(sorted({p for g in report.groups if g.group != "stub" for p in g.paths}))


def _unusable(report: FfiReport) -> Exception:
    """The error that says why the libraries found are not usable."""
    for name in REQUIRED_GROUPS:
        group = report.group(name)
        if group.error is not None:
            return LibraryNotFoundError(name, group.attempts, HINT)
        if group.missing:
            return MissingSymbolError(group.missing[0], ", ".join(group.paths))
    return LibraryNotFoundError("acl", [], HINT)  # pragma: no cover


def select_backend(backend: BackendChoice = "auto", *, quiet: bool = False) -> Backend:
    """Point ``ge`` at CANN or at the CPU stand-in and return which one.

    ``"auto"`` (the default): CANN where its libraries are found and every
    required symbol is present (or the library ``$GE_FFI_LIBRARY`` names),
    else the stand-in, built from its C sources on first use (a C compiler is
    needed) and activated for this process and its children; falling back
    prints one line saying so on stderr, unless ``quiet``.
    ``"cann"``: CANN or :class:`~ge.LibraryNotFoundError` /
    :class:`~ge.MissingSymbolError`. ``"stub"``: the stand-in.

    Raises :class:`ge.testing.StubBuildError` when the stand-in is needed and
    cannot be built (no C compiler). Call it before the first ``ge`` call.
    """
    if backend not in CHOICES:
        raise ValueError(f"backend must be one of {', '.join(CHOICES)}, not {backend!r}")
    if backend == "stub":
        return Backend("stub", (activate_stub(),))
    report = _ffi.describe()
    if report.ok:
        kind: Literal["cann", "stub"] = "stub" if _ffi.has("GeStub_Reset") else "cann"
        return Backend(kind, _libraries(report))
    if backend == "cann" or os.environ.get(ENV_LIBRARY):
        raise _unusable(report)  # asked for explicitly: no silent substitute
    found_any = any(report.group(name).error is None for name in REQUIRED_GROUPS)
    path = activate_stub()
    if not quiet:
        print(
            f"ge: CANN {'is not usable' if found_any else 'not found'}: running on the CPU "
            f"stand-in (no NPU is used), {path}; 'python -m ge doctor' tells more",
            file=sys.stderr,
            flush=True,
        )
    return Backend("stub", (path,), fell_back=True)
