"""The only part of ``ge`` that touches ctypes declarations.

``api.<C name>`` is the C function with its declared signature, resolved on
first use (which loads its library group). ``has(name)`` tells whether an
optional function exists. ``describe()`` reports what was found.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ge._ffi import owned, status
from ge._ffi.errors import CannVersionError, GeError, LibraryNotFoundError, MissingSymbolError
from ge._ffi.loader import GROUP_FILES, Loader
from ge._ffi.report import FfiReport, GroupReport
from ge._ffi.signatures import SPECS, SPECS_BY_NAME, FunctionSpec

__all__ = [
    "FfiReport",
    "GroupReport",
    "api",
    "describe",
    "has",
    "hidden_symbols",
    "made",
    "out_param",
    "rearm",
    "reset",
    "status",
]

_loader = Loader()
_hidden: set[str] = set()
_resolve_lock = threading.Lock()


def _bind(spec: FunctionSpec, owning: bool = False) -> Any:
    """The function of ``spec`` with its signature set; raise if unavailable.

    ``owning``: a function returning an owned handle returns it as its kind's
    owning class (``ge._ffi.owned``: the ``made`` namespace), else as the kind."""
    if spec.name in _hidden:
        raise MissingSymbolError(spec.name, "(hidden for this test)")
    first_error: GeError | None = None
    searched: list[str] = []
    for group in spec.groups:
        load = _loader.load(group)
        if load.error is not None:
            first_error = first_error or load.error
            continue
        for lib, path in zip(load.libraries, load.paths):
            searched.append(path)
            try:
                fn = lib[spec.name]
            except AttributeError:
                continue
            if isinstance(spec.restype, owned.Owning):
                if owning:
                    owned.set_restype(fn, spec.restype, _bind_named)
                else:
                    fn.restype = spec.restype.plain or spec.restype.kind
            else:
                fn.restype = spec.restype
            fn.argtypes = spec.argtypes
            return fn
    if not searched and first_error is not None:
        raise first_error
    raise MissingSymbolError(spec.name, ", ".join(searched))


def _bind_named(name: str) -> Any:
    """The declared function ``name`` (a destroy function of ``ge._ffi.owned``;
    never an owning one itself), also bound as ``api.<name>`` from now on: the
    release that disarms a handle calls it with no Python call in between
    (``_Api.__getattr__`` on a first use would be one, where a signal lands)."""
    fn = _bind(SPECS_BY_NAME[name])
    if not _forked:
        api.__dict__.setdefault(name, fn)
    return fn


def out_param(kind: Any) -> Any:
    """A NULL instance of ``kind`` for ``byref``, freed in C (``ge._ffi.owned``) if
    no object takes what C stores in it; ``owned.disarm`` it when C failed."""
    return owned.out_param(kind, _bind_named)


def rearm() -> None:
    """The native state was wiped (tests): owning results of the old state become
    inert; the owning functions are bound again, returning a new generation
    (a call still inside an old function object builds its result from that
    object's class, which it keeps alive: ``ge._ffi.owned``)."""
    with _resolve_lock:
        owned.retire()
        made.__dict__.clear()


FORKED_MESSAGE = (
    "{name}: this process is a child of os.fork() taken after the parent loaded "
    "CANN's libraries; CANN's runtime state (device contexts, streams, GE's threads "
    "and locks) does not survive fork, so ge refuses every C call here. Start "
    "workers with multiprocessing's 'spawn' or 'forkserver' method, or fork "
    "before the first use of ge"
)
_forked = False
"""True in a child forked after a library was loaded: every C call is refused."""


class _Api:
    """Attribute access to every declared C function, bound on first use."""

    _owning = False

    def __getattr__(self, name: str) -> Any:
        spec = SPECS_BY_NAME.get(name)
        if spec is None or (self._owning and not isinstance(spec.restype, owned.Owning)):
            raise AttributeError(f"{name!r} is not a declared C function (here)")
        if _forked:
            raise RuntimeError(FORKED_MESSAGE.format(name=name))
        with _resolve_lock:
            fn = _bind(spec, self._owning)
            self.__dict__[name] = fn
        return fn


class _Made(_Api):
    """The functions returning a handle the caller owns, as owning results."""

    _owning = True


api: Any = _Api()
"""``api.GeApiWrapper_Session_RunGraph(...)`` and so on. A function returning an
owned handle returns it as a plain instance of its kind: the caller frees it."""

made: Any = _Made()
"""``made.GeApiWrapper_Session_CreateSession()`` and the other functions returning
an owned handle, returning it as its kind's *owning* class (``ge._ffi.owned``):
freed in C if no object takes it. The package's own creation calls use these."""


def _after_fork_in_child() -> None:
    """A child of ``os.fork()``: refuse C if the parent had loaded a library (a bound
    function is the sign); new locks, as a parent thread may have held them."""
    global _forked, _resolve_lock
    _resolve_lock = threading.Lock()
    if api.__dict__ or made.__dict__:
        _forked = True
        api.__dict__.clear()
        made.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def has(name: str) -> bool:
    """Whether the declared function ``name`` can be called with the libraries found."""
    if name in api.__dict__:
        return True
    try:
        getattr(api, name)
    except (MissingSymbolError, LibraryNotFoundError, CannVersionError):
        return False
    return True


def reset() -> None:
    """Forget every loaded library and bound function (tests, library switch)."""
    with _resolve_lock:
        api.__dict__.clear()
        made.__dict__.clear()
        owned.retire()
        _loader.reset()


@contextmanager
def hidden_symbols(*names: str) -> Iterator[None]:
    """Make optional functions look absent while the block runs (tests, benchmarks)."""
    for name in names:
        if not SPECS_BY_NAME[name].optional:
            raise ValueError(f"{name} is not optional")
    with _resolve_lock:
        _hidden.update(names)
        for name in names:
            api.__dict__.pop(name, None)
            made.__dict__.pop(name, None)
    try:
        yield
    finally:
        with _resolve_lock:
            _hidden.difference_update(names)


def describe() -> FfiReport:
    """Load every library group and report, per group, what was found or tried."""
    groups: list[GroupReport] = []
    for group in GROUP_FILES:
        load = _loader.load(group)
        specs = [s for s in SPECS if s.groups[0] == group]
        missing: list[str] = []
        missing_optional: list[str] = []
        if load.error is None:
            for spec in specs:
                if not has(spec.name):
                    (missing_optional if spec.optional else missing).append(spec.name)
        groups.append(
            GroupReport(
                group=group,
                paths=list(load.paths),
                attempts=list(load.attempts),
                error=None if load.error is None else str(load.error),
                missing=missing,
                missing_optional=missing_optional,
            )
        )
    return FfiReport(groups=groups)
