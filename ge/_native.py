"""The base of every Python object that owns one native handle.

A :class:`NativeObject` frees its handle exactly once (``close()``, the
context manager, or the finalizer), refuses use after close with a clear
error, and refuses ``copy``/``deepcopy``/pickling, which would share or lose
the handle.

It also counts the C calls in flight on it, so that no thread can free (or
move) the native object while another thread's call is using it:

* a call runs its C calls inside ``with obj._calling(*why) as handle:``,
  which enters (:meth:`NativeObject._enter`: the live handle, or the error of
  a closed object, worded with ``why``) and leaves
  (:meth:`NativeObject._leave`); a call that is one function called on the
  handle goes through ``obj._in_flight(why, call, *args)`` (a batch of one);
  the measured hot paths (a session's runs, ``Stream.synchronize``) count
  everything they use as one batch (:data:`_runs`: one C store, one tolerant
  C ``pop``);
* :meth:`NativeObject.close` first refuses new calls, then waits until the
  calls in flight have left, then releases the handle;
* an operation that changes the native object in place (a tensor moving to
  the device) runs ``with obj._exclusive() as handle:``: new calls wait until
  it is done, and it waits for the calls in flight.

Closing an object, or changing it exclusively, from inside a call on that
same object on the same thread (from an allocator callback that call
caused) would wait for itself forever: it raises ``RuntimeError`` instead.

The same goes for GE's allocator lock: GE holds an allocator's mutex while
its callbacks run, so releasing an object whose release frees memory of that
allocator (an output of an async run, a session whose graphs GE loaded with
it) from inside one of those callbacks, on the same thread, would deadlock.
``_release_locks`` names those allocators (their trampolines, whose
``owner`` is the thread inside a callback): ``close()`` raises
``RuntimeError``, and the finalizer puts the object aside until the thread
is back from C (:func:`release_deferred`).

Waiting uses one condition shared by every object; a leaving call notifies it
only when somebody waits for that object, so the common path takes no lock.
The ordering that makes this safe without a lock: a call records itself
*before* it reads the handle and the exclusive owner; a closer or an
exclusive user records itself *before* it looks at the calls in flight. Under
the GIL one of the two always sees the other.
"""

from __future__ import annotations

import contextlib
import threading
import time
from ctypes import c_void_p
from functools import partial
from itertools import repeat
from operator import attrgetter, is_
from typing import Any, Callable, ClassVar, NoReturn, Optional, TypeVar

from typing_extensions import Self

from ge import _callback_errors, _lifecycle
from ge._callback_errors import detached, raise_first
from ge._ffi import _bind_named, owned, rearm
from ge._ffi.errors import GeError
from ge._ffi.handles import CLOSED

_get_ident = threading.get_ident
_T = TypeVar("_T")
_turns = threading.Condition(threading.RLock())
"""Closers, exclusive users and the calls that wait for them, for every object.

Re-entrant: a signal handler may close an object while the main thread,
which it interrupted, holds the condition's lock. Taken as ``with
_turns._lock:``, the ``_thread.RLock`` itself, whose ``__enter__`` and
``__exit__`` are C: ``Condition.__enter__`` is Python code, on whose return a
signal's exception would leave the lock held for good."""


_deferred: list[NativeObject] = []
"""Objects the collector dropped inside an allocator callback their release needs."""


_runs: dict[int, tuple[int, tuple[Any, ...]]] = {}
"""Calls in flight on a whole batch of objects at once (the input tensors of a
graph run, ``ge.session._bound``; one object, :meth:`NativeObject._in_flight`):
``id(entry) -> entry``, ``entry = (thread id,
objects)``. A batch is entered with one ``dict`` store and left with one
``pop`` (C calls: an interrupt lands before or after, never in between, and the
``pop`` tolerates a store that never happened); an object in a batch is in
flight exactly as if its ``_calls`` held the thread id: a closer or an
exclusive user waits for it (:func:`_in_run`), and a caller that stores its
batch reads the handles and owners after the store (the same ordering as
``_calls``). A leaving batch notifies ``_turns`` when ``_waiting``."""


def _in_run(obj: Any, tid: Optional[int] = None) -> bool:
    """Whether ``obj`` is in a batch in flight (``tid``: on that thread only).
    Compares by identity (no user code runs under ``_turns``)."""
    for owner, batch in list(_runs.values()):  # a snapshot: other threads add and pop
        if (tid is None or owner == tid) and any(map(is_, batch, repeat(obj))):
            return True
    return False


def wake_waiters() -> None:
    """A batch of :data:`_runs` left while some thread waits on ``_turns``
    (``_waiting``): wake them, a closer may wait for it. Call it after the
    ``pop``, only when ``_waiting`` (the common leave takes no lock)."""
    with _turns._lock:  # type: ignore[attr-defined]
        _turns.notify_all()


def in_call_here(obj: Any, tid: int) -> bool:
    """Whether thread ``tid`` is inside a call on ``obj`` (counted in its ``_calls``
    or in a batch of :data:`_runs`): closing it there would wait for itself."""
    return tid in obj._calls or (bool(_runs) and _in_run(obj, tid))


def _held_here(holders: tuple[Any, ...]) -> bool:
    """Whether this thread is inside a callback of one of these allocators."""
    me = _get_ident()
    return any(getattr(holder, "owner", None) == me for holder in holders)


def release_deferred() -> None:
    """Release what the collector dropped inside allocator callbacks, where that is
    safe now (called when this thread is back from its C calls)."""
    for obj in list(_deferred):
        holders = getattr(obj, "_release_locks", ())
        if any(getattr(holder, "owner", None) is not None for holder in holders):
            _callback_errors.when_idle(release_deferred)  # a callback still runs: later
            continue
        try:
            _deferred.remove(obj)
        except ValueError:  # another thread released it meanwhile
            continue
        handle = obj._handle
        if handle is not None:
            obj._handle = None
            with contextlib.suppress(BaseException), detached():  # nobody to report to here
                obj._finalize(obj._param)


_waiting = 0
"""Threads waiting on ``_turns`` (any object): a closer that ends its turn
notifies only when some thread waits (the common close takes no lock twice)."""


_POLL = 0.005
"""Seconds between two looks of a waiting closer or exclusive user: a call leaves
(and a turn ends) with C-level operations only, which cannot notify."""


def _wait_turn() -> bool:
    """``_turns.wait()`` (its lock held) for at most :data:`_POLL`; during the exit
    hooks only until their deadline: False once it passed."""
    deadline = _lifecycle.exit_deadline
    if deadline is None:
        _turns.wait(_POLL)
        return True
    remaining = deadline - time.monotonic()
    return remaining > 0 and (_turns.wait(min(remaining, _POLL)) or time.monotonic() < deadline)


class _Waiter:
    """``with _Waiter():`` inside ``with _turns:``, around code that may wait for an
    owner to end its turn: counted in ``_waiting`` *before* it looks at the owner,
    so that :meth:`NativeObject._released` (which reads the count without the lock,
    after clearing the owner) never misses it."""

    __slots__ = ()

    def __enter__(self) -> None:
        global _waiting
        _waiting += 1

    def __exit__(self, *exc_info: object) -> None:
        global _waiting
        _waiting -= 1


_waiter = _Waiter()


def _after_fork_in_child() -> None:
    """The parent's waits and deferred objects mean nothing in a forked child."""
    global _turns
    _turns = threading.Condition(threading.RLock())
    del _deferred[:]
    _runs.clear()  # other threads' runs do not exist here; this thread's pop tolerates it


_lifecycle.on_fork(_after_fork_in_child)
_lifecycle.on_forget(rearm)  # what the wiped state owned is never freed in C


class NativeObject:
    """Owns one native handle; subclasses define ``_release`` and ``_handle_type``.

    The handle is kept twice: ``_handle``, the address as an ``int`` (None once
    closed: the state every check reads), and ``_param``, the same address as
    an instance of the kind's ctypes type (``ge._ffi.handles``), made once,
    which is what the in-flight guard yields and ``_release`` receives, so
    that C only ever gets a handle of the kind its parameter declares.
    """

    __slots__ = (
        "__weakref__",
        "_calls",
        "_epoch",
        "_handle",
        "_owner",
        "_param",
        "_release_locks",
    )

    _kind: ClassVar[str] = "object"
    _closed_word: ClassVar[str] = "closed"
    _reopen_if_release_fails: ClassVar[bool] = False
    """True: when ``_release`` raises, the native object is still alive, so
    this object keeps its handle and stays usable, and ``close()`` can be
    retried (memory and streams)."""

    _handle_type: ClassVar[Optional[type]] = None
    """The ctypes handle kind (``ge._ffi.handles``); None: a plain address
    (device memory), passed as the ``int``."""

    _c_finalize: ClassVar[bool] = False
    """True: releasing the handle is its kind's destroy function and nothing else,
    so the finalizer leaves it to the owning instance (``ge._ffi.owned``), which
    frees it in C, with no Python frame a signal could cut short. Such a kind
    arms every handle it adopts, and its class may set ``__del__ = C_FINALIZER``
    when nothing else needs the Python finalizer."""

    _handle: Optional[int]
    _param: Any
    """The handle as its kind's ctypes instance (never changed once set)."""
    _calls: list[int]
    _owner: Optional[int]
    _release_locks: tuple[Any, ...]
    """The allocators (trampolines) whose lock GE takes to release this object."""

    def __init__(self, handle: Any) -> None:
        """``handle``: an ``int``, or an instance of ``_handle_type`` (what C
        returned with that restype: kept as is, no conversion)."""
        self._calls = []
        self._owner = None
        self._release_locks = ()
        self._epoch = _lifecycle.native_epoch
        kind: Any = self._handle_type
        if kind is not None:
            if not isinstance(handle, kind):  # an int adopted by hand
                handle = kind(handle)
            if self._c_finalize and type(handle) is kind:  # plain: armed here, in place
                armed = owned.armed_class(kind, _bind_named)
                handle.__class__ = armed
            # What C returned stays as it is, an owning instance (ge._ffi.owned):
            # freed in C if this object goes without releasing it. No call below,
            # so no signal handler runs between the two stores.
            self._param = handle
            self._handle = handle.value  # last: the object owns the handle from here
        elif handle.__class__ is not int and isinstance(handle, c_void_p):  # an owning
            # out-parameter of an address (ge._ffi.owned)
            value = handle.value
            self._param = value
            handle.__class__, self._handle = c_void_p, value  # disarmed and owned, no call between
        else:
            self._param = handle
            self._handle = handle

    def _wiped(self) -> bool:
        """Whether the native state this handle lived in was wiped (tests)."""
        return getattr(self, "_epoch", -1) != _lifecycle.native_epoch

    def _release(self, handle: Any) -> Optional[list[BaseException]]:
        """Free ``handle`` (``_param``: the kind's ctypes instance) in C ("release,
        then detach").

        Raises when the native object could not be freed (then, with
        ``_reopen_if_release_fails``, the object keeps its handle). Returns
        what went wrong once it was freed (exceptions from allocator callbacks
        that the release ran, say), which ``close()`` raises after detaching.
        Called at most once per handle that it freed.
        """
        raise NotImplementedError

    # -- calls in flight ------------------------------------------------------

    def _enter(self, *why: Any) -> Any:
        """Start a call: the live handle (``_param``, typed), counted in flight
        until :meth:`_leave`.

        ``why`` (what the call is, for the error) goes to :meth:`_raise_closed`.
        """
        try:  # first: an interrupt (a signal's exception) never leaves a call counted
            tid = _get_ident()
            self._calls.append(tid)
            owner = self._owner
            if owner is not None and owner != tid and self._handle is not None:
                self._wait_for_owner(tid)  # changed by another thread; a closing one fails below
            if self._handle is None:
                self._raise_closed(*why)
            return self._param
        except BaseException:
            self._unenter()
            raise

    def _unenter(self) -> None:
        """Undo this thread's :meth:`_enter` that raised (closed, or interrupted)."""
        with contextlib.suppress(ValueError):  # interrupted before it counted itself
            self._calls.remove(_get_ident())
        self._unenter_notify()

    def _unenter_notify(self) -> None:
        """A call left: wake the owner that may wait for it."""
        if self._owner is not None:
            with _turns._lock:  # type: ignore[attr-defined]
                _turns.notify_all()

    def _leave(self) -> None:
        """End a call started by :meth:`_enter` on this thread."""
        self._calls.remove(_get_ident())
        if self._owner is not None:  # somebody may wait for the calls to leave
            with _turns._lock:  # type: ignore[attr-defined]
                _turns.notify_all()

    def _wait_for_owner(self, tid: int) -> None:
        """Step aside while another thread closes or changes the object."""
        calls = self._calls
        calls.remove(tid)
        try:
            with _turns._lock, _waiter:  # type: ignore[attr-defined]
                _turns.notify_all()  # the owner may be waiting for this call
                while self._owner is not None:
                    _wait_turn()
        finally:  # counted again even when interrupted: the caller undoes its enter
            calls.append(tid)

    def _calling(self, *why: Any) -> _Calling:
        """``with obj._calling() as handle:``, the in-flight guard of every call on
        the object: enters as :meth:`_enter` does (``why`` for the closed error)
        and leaves as :meth:`_leave` does, with C-level operations only
        (:class:`_Guard`)."""
        guard = _Calling()
        guard.leave = int  # nothing to undo yet
        guard.obj = self
        guard.why = why
        return guard

    def _in_flight(self, why: tuple[Any, ...], call: Callable[..., _T], *args: Any) -> _T:
        """``call(handle, *args)`` counted in flight on this object (``handle``: the
        live ``_param``); a closed object raises its error (``why`` for
        :meth:`_raise_closed`), one another thread is closing or changing is
        waited for, as :meth:`_calling` does.

        The cheapest guard of one call, counted as a batch of one in
        :data:`_runs`: one ``dict`` store first thing inside the ``try``, one
        tolerant ``pop`` of its own key in the ``finally`` (both C calls: an
        interrupt lands before or after either, so it neither leaves the call
        counted nor un-counts another call, of this thread or another); the
        handle and the owner are read after the store. A closed or owned object
        goes through :meth:`_calling` (its error, or a wait), uncounted meanwhile.
        ``call`` runs in flight: it must not keep the handle.
        """
        entry = (_get_ident(), (self,))
        key = id(entry)
        try:
            _runs[key] = entry  # first: one C store, an interrupt lands before or after
            if self._handle is not None and self._owner is None:
                n = len(args)  # up to three arguments passed without unpacking (measured:
                if n == 1:  # CALL_FUNCTION_EX costs about as much as the count itself)
                    return call(self._param, args[0])
                if n == 3:
                    return call(self._param, args[0], args[1], args[2])
                return call(self._param, *args)
        finally:
            _runs.pop(key, None)  # the leave: one C call, tolerant of a store never made
            if _waiting:
                wake_waiters()
        with self._calling(*why) as handle:  # closed: its error; owned: waits for it
            return call(handle, *args)

    def _exclusive(self) -> _Exclusive:
        """``with obj._exclusive() as handle:``: use the handle alone (new calls wait,
        calls in flight are waited for); the turn ends with a C-level store."""
        guard = _Exclusive()
        guard.leave = int
        guard.obj = self
        return guard

    def _refuse_inside_allocator(self) -> None:
        """Raise instead of deadlocking on an allocator lock this thread holds."""
        holders = getattr(self, "_release_locks", ())
        if holders and _held_here(holders):
            raise RuntimeError(
                f"cannot release or change this {self._kind} from inside a callback of "
                "the allocator its memory comes from: GE holds that allocator's lock "
                "while the callback runs (on CANN this would deadlock)"
            )

    def _take_turn(self) -> Any:
        self._refuse_inside_allocator()
        tid = _get_ident()
        with _turns._lock, _waiter:  # type: ignore[attr-defined]
            while self._owner is not None:
                _wait_turn()
            if tid in self._calls or (_runs and _in_run(self, tid)):
                raise RuntimeError(self._reentry_message())
            self._owner = tid
            try:
                while self._calls or (_runs and _in_run(self)):
                    _wait_turn()
            except BaseException:  # interrupted while waiting: the turn is not kept
                self._owner = None
                raise
            handle = self._handle
            if handle is None:
                self._owner = None
                _turns.notify_all()
        if handle is None:
            self._raise_closed()
        return self._param

    def _give_turn(self) -> None:
        with _turns._lock:  # type: ignore[attr-defined]
            self._owner = None
            _turns.notify_all()

    def _reentry_message(self) -> str:
        return (
            f"cannot close or change this {self._kind} from inside a call on it "
            "(an allocator callback of that call?)"
        )

    # -- state ----------------------------------------------------------------

    @property
    def handle(self) -> int:
        """The native handle, as an ``int``; an error once closed.

        Reading it does not keep the object open: pass the object itself to
        the package's calls, which count themselves in flight.
        """
        handle = self._handle
        if handle is None:
            self._raise_closed()
        return handle

    @property
    def _as_parameter_(self) -> Any:
        """The object passed straight to C (ctypes reads this): its typed handle,
        or :data:`~ge._ffi.handles.CLOSED` once closed, which every argtype
        refuses (an ``ArgumentError``, never a call with NULL or a freed
        pointer). Not counted in flight: the package's own calls use
        :meth:`_calling`."""
        return CLOSED if self._handle is None else self._param

    def _raise_closed(self, *why: Any) -> NoReturn:
        """Raise the error of a call on a closed object (``why``: what the call is)."""
        raise ValueError(f"{self._kind} is {self._closed_word}")

    @property
    def closed(self) -> bool:
        """Whether the native handle was released."""
        return self._handle is None

    # -- closing --------------------------------------------------------------

    def _detach(self, tid: Optional[int] = None) -> Optional[int]:
        """Take the handle away from this object once no call uses it.

        Exactly one caller gets the handle, and keeps the object's turn until
        it calls :meth:`_released` (after releasing the handle): another
        closer waits for that, so that "closed" means "released". The others
        get None. Raises ``RuntimeError`` when called from inside a call on
        this object.
        """
        if getattr(self, "_epoch", -1) != _lifecycle.native_epoch:  # forked child, wiped stand-in:
            handle, self._handle = self._handle, None  # its calls are not ours to wait for
            return handle
        global _waiting
        if tid is None:
            tid = _get_ident()
        turns = _turns
        try:  # ``with _turns:`` as two C calls (every close passes here); an interrupt
            turns.acquire()  # after the acquire is inside the ``try``: released
            _waiting += 1  # _Waiter written out, for the same reason
            try:
                while self._owner is not None:
                    if self._owner == tid:  # closing it already, further up this thread
                        return None
                    if not _wait_turn():  # exit: a closer never came back
                        _lifecycle.abandon()
                        return None
                handle = self._handle
                if handle is None:
                    return None
                if tid in self._calls or (_runs and _in_run(self, tid)):
                    raise RuntimeError(self._reentry_message())
                self._owner = tid
                self._handle = None
                while self._calls or (_runs and _in_run(self)):
                    if not _wait_turn():  # exit: a call never came back; leak the object
                        _lifecycle.abandon()
                        self._owner = None
                        _turns.notify_all()
                        return None
            finally:
                _waiting -= 1
        finally:
            turns.release()
        return handle

    def _released(self) -> None:
        """The handle :meth:`_detach` returned is released (or given back): end the turn."""
        self._owner = None  # a waiter counts itself before it looks at the owner (GIL)
        if _waiting:
            with _turns._lock:  # type: ignore[attr-defined]
                _turns.notify_all()

    def close(self) -> None:
        """Release the native object once no call uses it; harmless when closed.

        Interrupted (a signal's exception) before the release, the object stays
        open; the turn it took always ends, with a C-level store.
        """
        if getattr(self, "_release_locks", None):
            self._refuse_inside_allocator()
        tid = _get_ident()
        outer = self._owner == tid  # closing it already, further up this thread
        releasing = False
        try:
            handle = self._detach(tid)
            if handle is None or self._wiped():
                return
            self._release_locks = ()  # what it needs from an allocator ends with it
            releasing = True
            errors = self._release(self._param)  # disarms it right before C frees it
        except BaseException as exc:
            if (
                not outer
                and self._owner == tid
                and self._handle is None
                and (
                    not releasing
                    or self._armed()
                    or (self._reopen_if_release_fails and isinstance(exc, GeError))
                )
            ):
                self._reopen()  # not released (an interrupt, or C refused)
            raise
        finally:
            if not outer and self._owner == tid:
                self._owner = None  # the turn ends (a waiter looks again within _POLL)
                if _waiting:
                    with _turns._lock:  # type: ignore[attr-defined]
                        _turns.notify_all()
        if errors:
            raise_first(errors)

    def _armed(self) -> bool:
        """Whether the handle is still the owning instance C returned (never released)."""
        kind = self._handle_type
        return kind is not None and owned.armed_now(kind) is type(self._param)

    def _reopen(self) -> None:
        """Give the handle back to this object (its release did not happen)."""
        param = self._param
        kind = self._handle_type
        if kind is None:
            self._handle = param
            return
        cls = owned.armed_class(kind, _no_resolve) if kind in owned.DESTROYERS else kind
        param.__class__ = cls  # armed again (it was when the object owned it)
        self._handle = param.value

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _finalize(self, handle: Any) -> None:
        """Free ``handle`` from the finalizer (nobody to report to); by default
        ``_release``, its errors dropped."""
        self._release(handle)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is None or _lifecycle.exiting() or self._wiped():
            return
        holders = getattr(self, "_release_locks", ())
        if holders and _held_here(holders):  # kept alive, released after the callback
            _deferred.append(self)
            _callback_errors.when_idle(release_deferred)
            return
        # Unreachable, so no call is in flight: take the handle without waiting.
        self._handle = None
        param = self._param
        if self._c_finalize and self._armed():
            return  # freed in C when the owning instance goes, with this object
        # Its callbacks' errors go to their stream, never to the call this
        # thread happens to be making when the collector runs (detached).
        with contextlib.suppress(BaseException), detached():
            self._finalize(param)

    def __copy__(self) -> NoReturn:
        raise RuntimeError(f"{type(self).__name__} does not support copy")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise RuntimeError(f"{type(self).__name__} does not support deepcopy")

    def __reduce__(self) -> NoReturn:
        raise TypeError(f"cannot pickle {type(self).__name__}: it owns a native handle")


C_FINALIZER: Any = owned.INERT
"""``__del__`` of a kind whose every handle is armed (``_c_finalize``): no Python
finalizer, whose entry a signal could cut short; the owning instance frees the
native object in C when it goes with the object."""


def _no_resolve(name: str) -> Any:
    raise RuntimeError(f"{name} is not bound yet")


class _Guard:
    """The base of the guards: an interrupt can never leave what they undo undone.

    ``__enter__`` does its work (counts the call, takes the turn), and at once
    stores in ``leave`` a ``functools.partial`` of a builtin that undoes it
    (``list.remove`` of the call, ``setattr`` of the owner). ``__exit__`` swaps
    ``leave`` for a no-op and calls it. A signal's exception that lands where
    the undo would not run (on entry to ``__exit__``, or as ``__enter__``
    returns) makes ``with`` drop the guard: its ``__del__``, a ``property``
    whose getter is ``operator.attrgetter("leave")``, runs ``leave`` in C,
    with no Python frame. Each undo runs exactly once.
    """

    __slots__ = ("leave", "obj")

    leave: Any
    obj: NativeObject

    __del__ = property(attrgetter("leave"))

    def __exit__(self, *exc_info: object) -> None:
        leave, self.leave = self.leave, int  # the undo, once (no call between)
        leave()
        if self.obj._owner is not None:  # a closer may wait (it also looks every _POLL)
            self.obj._unenter_notify()


class _Calling(_Guard):
    """The guard of :meth:`NativeObject._calling`."""

    __slots__ = ("why",)

    why: tuple[Any, ...]

    def __enter__(self) -> Any:
        obj = self.obj
        tid = _get_ident()
        calls = obj._calls
        leave = partial(calls.remove, tid)
        try:
            calls.append(tid)  # first: an interrupt from here on is undone
            self.leave = leave
            owner = obj._owner
            if owner is not None and owner != tid and obj._handle is not None:
                obj._wait_for_owner(tid)  # changed by another thread; a closing one fails below
            if obj._handle is None:
                obj._raise_closed(*self.why)
            return obj._param
        except BaseException:
            if self.leave is leave:  # counted and armed: undone once, here
                self.leave = int
                leave()
            else:  # an interrupt as the call counted itself
                with contextlib.suppress(ValueError):
                    calls.remove(tid)
            obj._unenter_notify()
            raise


class _Exclusive(_Guard):
    """The guard of :meth:`NativeObject._exclusive`."""

    __slots__ = ()

    def __enter__(self) -> Any:
        obj = self.obj
        tid = _get_ident()
        give = partial(setattr, obj, "_owner", None)
        try:
            handle = obj._take_turn()
            self.leave = give
            return handle
        except BaseException:
            if self.leave is give:  # the turn taken and armed: ended once, here
                self.leave = int
                give()
                obj._unenter_notify()
            elif obj._owner == tid:  # interrupted as _take_turn returned
                obj._give_turn()
            raise
