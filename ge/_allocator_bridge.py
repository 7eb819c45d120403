"""The bridge between Python allocators and GE: CFUNCTYPE trampolines.

A :class:`Trampoline` is one registration of a :class:`~ge.allocator.Allocator`
on a stream: its blocks, the thread inside its callbacks, where its errors go.
GE calls it through four C callbacks (:class:`Thunks`). Making those is the
expensive part of a registration (four ``CFUNCTYPE`` objects, a libffi
closure each), so a set of them is reused: a registration takes an idle set
from a pool and points it at its trampoline, and gives it back once GE can
never call it again.

A trampoline stays alive (in the registry's ``alive``, see
:mod:`ge._allocator_registry`) until GE's ``OnDestroy`` says GE will never
call it again; only then, and only outside the callback, are its callbacks
released (:meth:`Trampoline.release`: back to the pool, pointing at nothing).
GE calls none of the four after OnDestroy (GE holds the allocator for every
call in flight, and OnDestroy is its destructor), so a set of callbacks
serves one registration at a time: a callback can never run on behalf of
another registration than the one GE got it for. Every exception a callback
raises is caught there: GE sees a failure (NULL), and the exception reaches
the Python call that caused the callback (see ``ge._callback_errors``) or,
if there was none on that thread, the next session call on the same stream
(closing the session that owns the stream's allocator counts), else
``ge.finalize()``.

GE calls OnDestroy when its last reference to the allocator goes: inside
``Unregister``, inside a ``Register`` that replaced it or that failed (the
wrapper made the allocator before the session refused it), when its last
block is freed (an output, or the memory of a graph GE loaded with it), or
never while the process runs. GE holds the allocator's mutex while MallocFn,
GetAddrFn and FreeFn run: ``Trampoline.owner`` is the thread inside them, so
that the package refuses a call that would take that mutex again
(:func:`refuse_reentry`) instead of deadlocking.

GE's MallocFn gets no context (its ``obj`` is NULL on CANN), so one set of
module-level callbacks dispatching on an argument cannot serve several
allocators: the callbacks are per registration, and reused.
"""

from __future__ import annotations

import itertools
import sys
import threading
import weakref
from typing import Any, Optional, Protocol

from ge._callback_errors import note_others, report
from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn
from ge.allocator.allocator import Allocator, MemBlock

__all__ = ["IDLE_THUNKS", "Keeper", "Thunks", "Trampoline", "refuse_reentry"]

_tokens = itertools.count(1)
_block_ids = itertools.count(1)
_get_ident = threading.get_ident

IDLE_THUNKS = 64
"""How many idle sets of callbacks the pool keeps (beyond it, they are dropped)."""


class Keeper(Protocol):
    """Where a trampoline sends what it cannot hand to a caller (the registry)."""

    def defer(self, stream: int, exc: BaseException) -> None:
        """Keep a callback's exception for the next session call on ``stream``."""

    def retire(self, trampoline: Trampoline) -> None:
        """GE called OnDestroy: release ``trampoline`` later, outside any callback."""

    def on_destroy_failed(self, trampoline: Trampoline, exc: BaseException) -> None:
        """OnDestroy raised on entry: report ``exc``, retire ``trampoline``."""


class Trampoline:
    """One allocator registration on one stream, and the C callbacks GE calls for it."""

    __slots__ = (
        "__weakref__",
        "_registry",
        "allocator",
        "blocks",
        "destroyed",
        "malloc_failed_on_entry",
        "owner",
        "stream",
        "thunks",
        "token",
    )

    def __init__(self, allocator: Allocator, stream: int, registry: Keeper) -> None:
        self.allocator = allocator
        self.stream = stream
        self.token = next(_tokens)
        self.blocks: dict[int, MemBlock] = {}
        self.destroyed = False
        self.owner: Optional[int] = None
        """The thread inside MallocFn, GetAddrFn or FreeFn (GE holds the
        allocator's mutex then, so it is one thread at a time), else None."""
        self.malloc_failed_on_entry = False
        """MallocFn raised before its ``try`` (see :func:`_unraisable`): the block id
        GE got is garbage, so the GetAddrFn that follows refuses it."""
        self._registry = registry
        try:
            thunks = _idle.pop()  # GIL-atomic: one taker per set
        except IndexError:
            thunks = Thunks()
        thunks.trampoline = self
        self.thunks: Optional[Thunks] = thunks
        """The callbacks GE got for this registration (None once released)."""

    @property
    def c_malloc(self) -> Any:
        """The MallocFn GE calls (valid until :meth:`release`)."""
        return _thunks(self).c_malloc

    @property
    def c_free(self) -> Any:
        """The FreeFn GE calls (valid until :meth:`release`)."""
        return _thunks(self).c_free

    @property
    def c_get_addr(self) -> Any:
        """The GetAddrFn GE calls (valid until :meth:`release`)."""
        return _thunks(self).c_get_addr

    @property
    def c_on_destroy(self) -> Any:
        """The OnDestroyFn GE calls (valid until :meth:`release`)."""
        return _thunks(self).c_on_destroy

    def _defer(self, exc: BaseException) -> None:
        self._registry.defer(self.stream, exc)

    def free_leftovers(self) -> None:
        """After OnDestroy (GE freed every block): hand back the blocks whose FreeFn
        failed on entry (never ran), so that they are not lost. From Python only."""
        while self.blocks:
            _, block = self.blocks.popitem()
            try:
                self.allocator.free(block)
            except BaseException as exc:
                report(exc, self._defer)

    def release(self) -> None:
        """GE will never call this registration's callbacks again (OnDestroy came,
        or GE never kept them): give them back to the pool, for another
        registration. Once per trampoline, from one thread (the registry's
        graveyard hands each out once), never from inside a callback."""
        thunks = self.thunks
        if thunks is None:
            return
        self.thunks = None
        thunks.trampoline = None
        if len(_idle) < IDLE_THUNKS:
            _idle.append(thunks)


def _thunks(trampoline: Trampoline) -> Thunks:
    thunks = trampoline.thunks
    if thunks is None:
        raise RuntimeError("the callbacks of this registration were released (GE dropped it)")
    return thunks


class Thunks:
    """GE's four C callbacks (``CFUNCTYPE`` objects over bound methods of this
    object), working for the trampoline they point at (one at a time)."""

    __slots__ = ("__weakref__", "c_free", "c_get_addr", "c_malloc", "c_on_destroy", "trampoline")

    def __init__(self) -> None:
        self.trampoline: Optional[Trampoline] = None
        self.c_malloc = MallocFn(self._malloc)
        self.c_free = FreeFn(self._free)
        self.c_get_addr = GetAddrFn(self._get_addr)
        self.c_on_destroy = OnDestroyFn(self._on_destroy)
        _all_thunks.add(self)

    def _malloc(self, obj: Any, size: int) -> Optional[int]:
        t: Any = self.trampoline
        t.owner = _get_ident()
        try:
            allocator = t.allocator
            block = allocator.malloc(size)
            if not isinstance(block, MemBlock):
                raise TypeError(
                    f"{type(allocator).__name__}.malloc must return a MemBlock, "
                    f"not {type(block).__name__}"
                )
            if block._size < size:  # MemBlock's slot: no property call per block
                error = ValueError(
                    f"{type(allocator).__name__}.malloc({size}) returned {block!r}, "
                    "smaller than asked"
                )
                try:  # GE never sees it: handed back, not dropped
                    allocator.free(block)
                except BaseException as exc:
                    note_others(error, [exc])
                raise error
        except BaseException as exc:
            report(exc, t._defer)
            return None
        finally:
            t.owner = None
        block_id = next(_block_ids)
        t.blocks[block_id] = block
        return block_id

    def _get_addr(self, block_id: Optional[int]) -> Optional[int]:
        t: Any = self.trampoline
        if t.malloc_failed_on_entry:  # GE holds whatever ctypes left as the block id
            t.malloc_failed_on_entry = False
            report(RuntimeError("MallocFn failed on entry: no block was made"), t._defer)
            return None
        block = t.blocks.get(block_id)  # (None for NULL) no Python code of the user's runs here
        if block is None:
            report(RuntimeError(f"GE asked the address of unknown block {block_id}"), t._defer)
            return None
        return block._addr  # type: ignore[no-any-return]

    def _free(self, obj: Any, block_id: Optional[int]) -> None:
        t: Any = self.trampoline
        block = t.blocks.pop(block_id, None)  # (None for NULL)
        t.owner = _get_ident()
        try:
            if block is None:
                raise RuntimeError(f"GE freed unknown block {block_id} (freed twice?)")
            t.allocator.free(block)
        except BaseException as exc:
            report(exc, t._defer)
        finally:
            t.owner = None

    def _on_destroy(self, user_handle: Optional[int]) -> None:
        t: Any = self.trampoline
        t.destroyed = True
        t._registry.retire(t)


_idle: list[Thunks] = []
"""Sets of callbacks no registration uses (GE calls none of them): the pool."""

_all_thunks: weakref.WeakSet[Thunks] = weakref.WeakSet()
"""Every set of callbacks (for :func:`_callback_of`)."""

_ENTRY_FAILURES = {"_malloc", "_free", "_get_addr", "_on_destroy"}


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: an exception raised on entry to a trampoline, before
    its ``try`` (a ``KeyboardInterrupt`` delivered there, a ``RecursionError``
    near the limit, a tracing hook), reaches the caller like any callback error
    instead of being printed by ctypes and lost. Others go to the previous hook.

    On entry to OnDestroy, GE has dropped the allocator all the same: the
    keeper retires the trampoline as OnDestroy would have (else it would be
    kept, and its callbacks, for good) and reports the exception."""
    trampoline, name = _callback_of(unraisable)
    exc = getattr(unraisable, "exc_value", None)
    if trampoline is not None and name in _ENTRY_FAILURES and exc is not None:
        if name == "_on_destroy":
            trampoline._registry.on_destroy_failed(trampoline, exc)
            return
        if name == "_malloc":
            trampoline.malloc_failed_on_entry = True
        trampoline.owner = None
        report(exc, trampoline._defer)
        return
    _previous_unraisablehook(unraisable)


def _callback_of(unraisable: Any) -> tuple[Optional[Trampoline], str]:
    """The trampoline and method whose call failed: ``unraisable.object`` (the bound
    method, up to Python 3.12), else the frame the exception left (3.13 passes no
    object), else the bound method's repr in the message (an exception raised
    before the frame existed)."""
    callback = getattr(unraisable, "object", None)
    thunks = getattr(callback, "__self__", None)
    if isinstance(thunks, Thunks):
        return thunks.trampoline, getattr(getattr(callback, "__func__", None), "__name__", "")
    tb = getattr(unraisable, "exc_traceback", None)
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in _ENTRY_FAILURES:
            candidate = tb.tb_frame.f_locals.get("self")
            if isinstance(candidate, Thunks):
                return candidate.trampoline, code.co_name
        tb = tb.tb_next
    message = str(getattr(unraisable, "err_msg", "") or "")
    for candidate in list(_all_thunks):
        for name in _ENTRY_FAILURES:
            where = f"<ge._allocator_bridge.Thunks object at {id(candidate):#x}>"
            if f"Thunks.{name} of {where}" in message:
                return candidate.trampoline, name
    return None, ""


_previous_unraisablehook = sys.unraisablehook
sys.unraisablehook = _unraisable


def refuse_reentry(trampoline: Optional[Trampoline], what: str) -> None:
    """Raise ``RuntimeError`` when this thread is inside a callback of the allocator
    of ``trampoline``: GE would take that allocator's mutex again for ``what``,
    which this thread holds (a deadlock on CANN)."""
    if trampoline is not None and trampoline.owner == _get_ident():
        raise RuntimeError(
            f"{what} from inside a callback of the allocator of stream "
            f"0x{trampoline.stream:x}: GE holds that allocator's lock while its "
            "callbacks run, and would take it again (on CANN this deadlocks)"
        )
