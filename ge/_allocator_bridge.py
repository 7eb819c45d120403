"""The bridge between Python allocators and GE: CFUNCTYPE trampolines.

A :class:`Trampoline` wraps one registered :class:`~ge.allocator.Allocator`
in the four C callbacks. It stays alive (in the registry's ``alive``, see
:mod:`ge._allocator_registry`) until GE's ``OnDestroy`` says GE will never
call it again; only then, and only outside the callback, are the callback
objects released. Every exception a callback raises is caught there: GE sees
a failure (NULL), and the exception reaches the Python call that caused the
callback (see ``ge._callback_errors``) or, if there was none on that thread,
the next session call on the same stream (closing the session that owns the
stream's allocator counts), else ``ge.finalize()``.

GE calls OnDestroy when its last reference to the allocator goes: inside
``Unregister``, inside a ``Register`` that replaced it or that failed (the
wrapper made the allocator before the session refused it), when its last
block is freed (an output, or the memory of a graph GE loaded with it), or
never while the process runs. GE holds the allocator's mutex while MallocFn,
GetAddrFn and FreeFn run: ``Trampoline.owner`` is the thread inside them, so
that the package refuses a call that would take that mutex again
(:func:`refuse_reentry`) instead of deadlocking.
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

_tokens = itertools.count(1)
_get_ident = threading.get_ident


class Keeper(Protocol):
    """Where a trampoline sends what it cannot hand to a caller (the registry)."""

    def defer(self, stream: int, exc: BaseException) -> None:
        """Keep a callback's exception for the next session call on ``stream``."""

    def retire(self, trampoline: Trampoline) -> None:
        """GE called OnDestroy: release ``trampoline`` later, outside any callback."""


class Trampoline:
    """The four C callbacks of one allocator registration on one stream."""

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
        self._block_ids = itertools.count(1)
        self.c_malloc = MallocFn(self._malloc)
        self.c_free = FreeFn(self._free)
        self.c_get_addr = GetAddrFn(self._get_addr)
        self.c_on_destroy = OnDestroyFn(self._on_destroy)
        _live[self.token] = self

    def _defer(self, exc: BaseException) -> None:
        self._registry.defer(self.stream, exc)

    def _malloc(self, obj: Any, size: int) -> Optional[int]:
        self.owner = _get_ident()
        try:
            block = self.allocator.malloc(size)
            if not isinstance(block, MemBlock):
                raise TypeError(
                    f"{type(self.allocator).__name__}.malloc must return a MemBlock, "
                    f"not {type(block).__name__}"
                )
            if block._size < size:  # MemBlock's slot: no property call per block
                error = ValueError(
                    f"{type(self.allocator).__name__}.malloc({size}) returned {block!r}, "
                    "smaller than asked"
                )
                try:  # GE never sees it: handed back, not dropped
                    self.allocator.free(block)
                except BaseException as exc:
                    note_others(error, [exc])
                raise error
        except BaseException as exc:
            report(exc, self._defer)
            return None
        finally:
            self.owner = None
        block_id = next(self._block_ids)
        self.blocks[block_id] = block
        return block_id

    def _get_addr(self, block_id: Optional[int]) -> Optional[int]:
        if self.malloc_failed_on_entry:  # GE holds whatever ctypes left as the block id
            self.malloc_failed_on_entry = False
            report(RuntimeError("MallocFn failed on entry: no block was made"), self._defer)
            return None
        block = self.blocks.get(block_id or 0)  # no Python code of the user's runs here
        if block is None:
            report(RuntimeError(f"GE asked the address of unknown block {block_id}"), self._defer)
            return None
        return block._addr

    def _free(self, obj: Any, block_id: Optional[int]) -> None:
        block = self.blocks.pop(block_id or 0, None)
        self.owner = _get_ident()
        try:
            if block is None:
                raise RuntimeError(f"GE freed unknown block {block_id} (freed twice?)")
            self.allocator.free(block)
        except BaseException as exc:
            report(exc, self._defer)
        finally:
            self.owner = None

    def free_leftovers(self) -> None:
        """After OnDestroy (GE freed every block): hand back the blocks whose FreeFn
        failed on entry (never ran), so that they are not lost. From Python only."""
        while self.blocks:
            _, block = self.blocks.popitem()
            try:
                self.allocator.free(block)
            except BaseException as exc:
                report(exc, self._defer)

    def _on_destroy(self, user_handle: Optional[int]) -> None:
        self.destroyed = True
        self._registry.retire(self)


_ENTRY_FAILURES = {"_malloc", "_free", "_get_addr", "_on_destroy"}


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: an exception raised on entry to a trampoline, before
    its ``try`` (a ``KeyboardInterrupt`` delivered there, a ``RecursionError``
    near the limit, a tracing hook), reaches the caller like any callback error
    instead of being printed by ctypes and lost. Others go to the previous hook."""
    trampoline, name = _callback_of(unraisable)
    exc = getattr(unraisable, "exc_value", None)
    if trampoline is not None and name in _ENTRY_FAILURES and exc is not None:
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
    trampoline = getattr(callback, "__self__", None)
    if isinstance(trampoline, Trampoline):
        return trampoline, getattr(getattr(callback, "__func__", None), "__name__", "")
    tb = getattr(unraisable, "exc_traceback", None)
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_name in _ENTRY_FAILURES:
            candidate = tb.tb_frame.f_locals.get("self")
            if isinstance(candidate, Trampoline):
                return candidate, code.co_name
        tb = tb.tb_next
    message = str(getattr(unraisable, "err_msg", "") or "")
    for candidate in list(_live.values()):
        for name in _ENTRY_FAILURES:
            where = f"<ge._allocator_bridge.Trampoline object at {id(candidate):#x}>"
            if f"Trampoline.{name} of {where}" in message:
                return candidate, name
    return None, ""


_live: weakref.WeakValueDictionary[int, Trampoline] = weakref.WeakValueDictionary()
"""Every trampoline by token (for :func:`_callback_of`)."""

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
