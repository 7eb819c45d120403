"""``NativeObject``: calls in flight, closing that waits for them, exclusive use.

A plain-Python subclass stands in for a native kind, so that every ordering
can be forced with events; the tests with real handles are in the modules'
own test files and the reliability suite.
"""

from __future__ import annotations

import copy
import gc
import pickle
import sys
import threading
import time
from typing import Any, Callable, NoReturn, Optional

import pytest
from _helpers.interrupts import interrupt_each_line, lines_of, python_calls

from ge import _native
from ge._ffi.errors import GeError
from ge._native import NativeObject

DEADLINE = 10.0


class Fake(NativeObject):
    """Records releases; ``fail`` makes the next release raise."""

    __slots__ = ("fail", "released", "returned")

    _kind = "fake"
    _reopen_if_release_fails = False

    def __init__(self, handle: int = 0x1000) -> None:
        super().__init__(handle)
        self.released: list[int] = []
        self.fail: Optional[BaseException] = None
        self.returned: list[BaseException] = []

    def _release(self, handle: int) -> list[BaseException]:
        if self.fail is not None:
            error, self.fail = self.fail, None
            raise error
        self.released.append(handle)
        return self.returned


class Reopening(Fake):
    """A kind whose failed release leaves the native object alive."""

    __slots__ = ()
    _reopen_if_release_fails = True


def _in_thread(target: object) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)  # type: ignore[arg-type]
    thread.start()
    return thread


def _in_call(obj: NativeObject, how: str, body: Callable[[], object]) -> None:
    """Run ``body()`` inside a call on ``obj``: ``with obj._calling()``, or as the
    ``call`` of ``obj._in_flight``."""
    if how == "_calling":
        with obj._calling():
            body()
    else:
        obj._in_flight((), lambda handle: body())


CALLS = ["_calling", "_in_flight"]


def test_a_call_gets_the_handle_and_a_closed_object_refuses_calls() -> None:
    obj = Fake()
    with obj._calling() as handle:
        assert handle == 0x1000
    obj.close()
    assert obj.closed and obj.released == [0x1000]
    with pytest.raises(ValueError, match="fake is closed"), obj._calling():
        pass
    obj.close()  # twice is harmless
    assert obj.released == [0x1000]


@pytest.mark.parametrize("how", CALLS)
def test_close_waits_for_the_calls_in_flight_on_other_threads(how: str) -> None:
    obj = Fake()
    inside, finish = threading.Event(), threading.Event()

    def call() -> None:
        _in_call(obj, how, lambda: (inside.set(), finish.wait(DEADLINE)))

    caller = _in_thread(call)
    assert inside.wait(DEADLINE)
    closer = _in_thread(obj.close)
    time.sleep(0.1)
    assert obj.released == [], "released while a call was using the handle"
    assert obj.closed, "new calls must already be refused while close() waits"
    with pytest.raises(ValueError), obj._calling():
        pass
    finish.set()
    caller.join(DEADLINE)
    closer.join(DEADLINE)
    assert obj.released == [0x1000]


def test_closing_from_inside_a_call_on_the_same_thread_raises_instead_of_waiting() -> None:
    obj = Fake()
    with obj._calling(), pytest.raises(RuntimeError, match="from inside a call"):
        obj.close()
    assert not obj.closed
    with pytest.raises(RuntimeError, match="from inside a call"):
        obj._in_flight((), lambda handle: obj.close())
    assert not obj.closed
    with obj._calling(), pytest.raises(RuntimeError, match="from inside a call"), obj._exclusive():
        pass
    obj.close()
    assert obj.released == [0x1000]


@pytest.mark.parametrize("how", CALLS)
def test_exclusive_use_waits_for_calls_and_holds_new_ones_back(how: str) -> None:
    obj = Fake()
    inside, finish, exclusive_done = threading.Event(), threading.Event(), threading.Event()
    order: list[str] = []

    def call() -> None:
        def body() -> None:
            inside.set()
            finish.wait(DEADLINE)
            order.append("first call left")

        _in_call(obj, how, body)

    def change() -> None:
        with obj._exclusive():
            order.append("exclusive")
            time.sleep(0.1)
            order.append("exclusive done")
        exclusive_done.set()

    first = _in_thread(call)
    assert inside.wait(DEADLINE)
    changer = _in_thread(change)
    time.sleep(0.05)
    assert order == [], "exclusive use started while a call was in flight"
    finish.set()
    time.sleep(0.02)

    def later_call() -> None:
        _in_call(obj, how, lambda: order.append("later call"))

    later = _in_thread(later_call)
    for thread in (first, changer, later):
        thread.join(DEADLINE)
    assert exclusive_done.is_set()
    assert order.index("exclusive done") < order.index("later call")
    assert order[0] == "first call left"


def test_a_call_waiting_for_an_exclusive_user_that_closed_gets_a_clean_error() -> None:
    obj = Fake()
    started, proceed = threading.Event(), threading.Event()
    outcome: list[object] = []

    def exclusive_then_close() -> None:
        with obj._exclusive():
            started.set()
            proceed.wait(DEADLINE)
            obj._handle = None  # closed while held (as a release inside it would)

    def call() -> None:
        try:
            with obj._calling():
                outcome.append("ran")
        except ValueError as exc:
            outcome.append(exc)

    holder = _in_thread(exclusive_then_close)
    assert started.wait(DEADLINE)
    caller = _in_thread(call)
    time.sleep(0.05)
    proceed.set()
    holder.join(DEADLINE)
    caller.join(DEADLINE)
    assert len(outcome) == 1 and isinstance(outcome[0], ValueError)


def test_a_failed_release_keeps_the_object_open_only_where_the_kind_says_so() -> None:
    kept = Reopening()
    kept.fail = GeError("free failed")  # C refused: the release did not happen
    with pytest.raises(GeError):
        kept.close()
    assert not kept.closed, "the native object is alive: the handle stays"
    kept.close()
    assert kept.closed and kept.released == [0x1000]

    dropped = Fake()
    dropped.fail = OSError("free failed")
    with pytest.raises(OSError):
        dropped.close()
    assert dropped.closed


def test_errors_after_a_successful_release_are_raised_once_the_object_is_closed() -> None:
    obj = Fake()
    obj.returned = [ValueError("from a callback"), KeyError("another")]
    with pytest.raises(ValueError, match="from a callback"):
        obj.close()
    assert obj.closed and obj.released == [0x1000]


def test_finalizer_releases_an_unreachable_object_and_drops_its_errors() -> None:
    released: list[int] = []

    class Quiet(Fake):
        __slots__ = ()

        def _release(self, handle: int) -> list[BaseException]:
            released.append(handle)
            return [RuntimeError("nobody to report to")]

    Quiet(0x2000)
    assert released == [0x2000]


def test_native_objects_refuse_copy_deepcopy_and_pickle() -> None:
    obj = Fake()
    with pytest.raises(RuntimeError, match="does not support copy"):
        copy.copy(obj)
    with pytest.raises(RuntimeError, match="does not support deepcopy"):
        copy.deepcopy(obj)
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(obj)
    obj.close()


def test_many_threads_calling_while_one_closes_never_see_a_released_handle() -> None:
    obj = Fake()
    seen_after_release: list[int] = []
    stop = threading.Event()

    def caller() -> None:
        while not stop.is_set():
            try:
                with obj._calling():
                    if obj.released:
                        seen_after_release.append(1)
            except ValueError:
                return

    threads = [_in_thread(caller) for _ in range(4)]
    time.sleep(0.05)
    obj.close()
    stop.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert obj.released == [0x1000]
    assert not seen_after_release


# -- with real objects on the stand-in ------------------------------------------


def _async_setup(ge_ready: object, stream: object, malloc_hook: object) -> tuple[object, ...]:
    import numpy as np
    from _helpers.graphs import build_graph

    import ge
    from ge.allocator import AclAllocator, Allocator, MemBlock

    inner = AclAllocator()

    class Hooked(Allocator):
        def malloc(self, size: int) -> MemBlock:
            malloc_hook()  # type: ignore[operator]
            return inner.malloc(size)

        def free(self, block: MemBlock) -> None:
            inner.free(block)

    graph = build_graph()
    session = ge.Session()
    session.add_graph(1, graph)
    graph.close()
    session.register_external_allocator(stream, Hooked())
    x = ge.Tensor.from_numpy(np.full((2, 3), 2.0, np.float32))
    y = ge.Tensor.from_numpy(np.full((2, 3), 3.0, np.float32))
    return session, x, y


def test_an_input_closed_by_another_thread_during_a_run_is_released_after_it(
    ge_ready: object, stream: object
) -> None:
    import numpy as np

    inside, gate = threading.Event(), threading.Event()

    def hook() -> None:
        inside.set()
        gate.wait(DEADLINE)

    session, x, y = _async_setup(ge_ready, stream, hook)
    results: list[object] = []
    runner = _in_thread(
        lambda: results.append(session.run_graph_with_stream_async(1, stream, [x, y]))  # type: ignore[attr-defined]
    )
    assert inside.wait(DEADLINE)
    closer = _in_thread(x.close)  # type: ignore[attr-defined]
    time.sleep(0.1)
    assert closer.is_alive(), "close() did not wait for the run using the tensor"
    gate.set()
    runner.join(DEADLINE)
    closer.join(DEADLINE)
    (out,) = results[0]  # type: ignore[misc]
    stream.synchronize()  # type: ignore[attr-defined]
    np.testing.assert_array_equal(out.numpy(), np.full((2, 3), 10.0, np.float32))
    out.close()
    y.close()  # type: ignore[attr-defined]
    session.close()  # type: ignore[attr-defined]


def test_closing_an_input_from_an_allocator_callback_of_its_run_raises(
    ge_ready: object, stream: object
) -> None:
    import ge

    holder: list[object] = []

    def hook() -> None:
        holder[0].close()  # type: ignore[attr-defined]

    session, x, y = _async_setup(ge_ready, stream, hook)
    holder.append(x)
    with pytest.raises(ge.GeError) as info:
        session.run_graph_with_stream_async(1, stream, [x, y])  # type: ignore[attr-defined]
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "from inside a call" in str(info.value.__cause__)
    assert not x.closed  # type: ignore[attr-defined]
    for obj in (x, y, session):
        obj.close()  # type: ignore[attr-defined]


def test_an_object_that_outlives_a_reset_of_the_stand_in_is_left_alone(ge_stub: object) -> None:
    """The fixture resets the stand-in after a test whose objects may live on (a
    failed test's traceback holds them): their finalizers must not pass the dead
    handles to C, where strict mode would abort the whole run."""
    import gc

    import numpy as np

    import ge

    tensor = ge.Tensor.from_numpy(np.zeros(3, np.float32))
    graph = ge.Graph("outlives")
    ge_stub.reset()  # type: ignore[attr-defined]
    del tensor, graph
    gc.collect()


# -- GE's allocator lock, and a wiped native state ------------------------------------


class Holder:
    """Stands in for an allocator trampoline: ``owner`` is the thread in its callback."""

    owner: Optional[int] = None


def test_release_inside_the_callback_of_its_allocator_is_refused() -> None:
    obj, holder = Fake(), Holder()
    obj._release_locks = (holder,)
    holder.owner = threading.get_ident()  # as if inside that allocator's callback
    with pytest.raises(RuntimeError, match="from inside a callback of the allocator"):
        obj.close()
    with (
        pytest.raises(RuntimeError, match="from inside a callback of the allocator"),
        obj._exclusive(),
    ):
        pass
    assert not obj.closed and obj.released == []
    holder.owner = None
    obj.close()
    assert obj.released == [0x1000] and obj._release_locks == ()


def test_the_collector_defers_such_a_release_until_the_callback_is_over() -> None:
    import gc

    from ge import _callback_errors, _native

    released: list[int] = []
    holder = Holder()

    class Logged(Fake):
        __slots__ = ()

        def _finalize(self, handle: int) -> None:
            released.append(handle)

    with _callback_errors.collecting():  # a C call made by the package
        holder.owner = threading.get_ident()  # ... whose callback drops the object
        obj = Logged(0x2000)
        obj._release_locks = (holder,)
        del obj
        gc.collect()
        assert released == [] and len(_native._deferred) == 1
        holder.owner = None  # the callback returned
    assert released == [0x2000] and _native._deferred == []  # the call returned


def test_objects_of_a_wiped_native_state_never_reach_c() -> None:
    from ge import _lifecycle

    finalized: list[int] = []

    class Logged(Fake):
        __slots__ = ()

        def _finalize(self, handle: int) -> None:
            finalized.append(handle)

    kept, dropped = Fake(0x3000), Logged(0x4000)
    _lifecycle.native_epoch += 1  # what forget_native_state() does (the stand-in's reset)
    try:
        kept.close()
        del dropped
        assert kept.closed and kept.released == [] and finalized == []
    finally:
        _lifecycle.native_epoch -= 1


# -- signals: leaving a guard, closing -----------------------------------------


@pytest.mark.parametrize("guard", ["_calling", "_exclusive"])
def test_an_interrupt_on_entry_to_a_guards_exit_leaves_nothing_undone(guard: str) -> None:
    """A KeyboardInterrupt on entry to the guard's ``__exit__`` (where a signal's
    exception lands) reaches the caller, and the call still leaves (the turn
    still ends): ``with`` drops the guard, whose ``__del__`` undoes it in C,
    with no Python frame (so no second signal can cut that short)."""
    obj = Fake()
    exit_code = type(getattr(obj, guard)()).__exit__.__code__

    def tracer(frame: object, event: str, arg: object) -> object:
        if event == "call" and frame.f_code is exit_code:  # type: ignore[attr-defined]
            sys.settrace(None)
            raise KeyboardInterrupt
        return None

    sys.settrace(tracer)
    try:
        with pytest.raises(KeyboardInterrupt), getattr(obj, guard)():
            assert obj._calls or obj._owner is not None
    finally:
        sys.settrace(None)
    assert obj._calls == [] and obj._owner is None
    closer = _in_thread(obj.close)
    closer.join(DEADLINE)
    assert not closer.is_alive() and obj.closed


def test_a_dropped_guard_undoes_in_c() -> None:
    """The finalizer of an entered guard runs no Python code."""
    obj = Fake()
    guards = [obj._calling(), obj._exclusive()]
    guards[0].__enter__()
    assert python_calls(lambda: guards.pop(0)) == []
    assert obj._calls == []
    guards[0].__enter__()
    assert python_calls(lambda: guards.pop(0)) == []
    assert obj._owner is None
    obj.close()


def test_a_guard_dropped_after_entering_leaves_in_c() -> None:
    """Entered, then dropped without its exit (what an interrupt between the two
    would do): its finalizer ends the call, once."""
    obj = Fake()
    obj._calling().__enter__()
    gc.collect()
    assert obj._calls == []
    with obj._calling():  # a guard closed by its exit is not left again when dropped
        pass
    gc.collect()
    assert obj._calls == []
    obj._exclusive().__enter__()
    gc.collect()
    assert obj._owner is None
    obj.close()


def _each_line(
    fn: Any, action: Callable[[], Any], check: Callable[[], None], stop: str = ""
) -> int:
    """Run ``action()`` once per line of ``fn`` before its first handler (or
    through the line ``stop``), with a KeyboardInterrupt raised at that line;
    ``check()`` after each run."""
    window = lines_of(fn, end_after=stop)
    return interrupt_each_line(action, [window], lambda result: check(), limit=100)


@pytest.mark.parametrize("guard", ["_calling", "_exclusive"])
def test_an_interrupt_at_any_line_of_entering_a_guard_leaves_nothing_counted(guard: str) -> None:
    obj = Fake()
    entered = {"_calling": type(obj._calling()), "_exclusive": type(obj._exclusive())}[guard]

    def use() -> None:
        with getattr(obj, guard)():
            pass

    def check() -> None:
        assert obj._calls == [] and obj._owner is None

    assert _each_line(entered.__enter__, use, check) >= 3
    closer = _in_thread(obj.close)
    closer.join(DEADLINE)
    assert not closer.is_alive() and obj.closed


@pytest.mark.parametrize("kind", [Fake, Reopening])
def test_an_interrupt_at_any_line_of_closing_leaves_the_object_open_or_released(
    kind: type[Fake],
) -> None:
    """Interrupted before its release, ``close()`` leaves the object open (a
    later close releases it), never closed and unreleased; it never keeps its
    turn (another thread's close would wait forever). (On entry to ``_release``
    only an armed handle tells whether C freed it: ``ffi/test_owned.py``.)"""
    objs: list[Fake] = []

    def close() -> None:
        objs.append(kind())
        objs[-1].close()

    def check() -> None:
        obj = objs[-1]
        assert obj._owner is None
        assert obj.closed == bool(obj.released), (obj.closed, obj.released)

    assert _each_line(NativeObject.close, close, check, stop="releasing = True") >= 3
    for obj in objs:
        closer = _in_thread(obj.close)
        closer.join(DEADLINE)
        assert not closer.is_alive() and obj.released == [0x1000]


# -- _in_flight: one call, counted as a batch of one -------------------------------


class Worded(Fake):
    """Says in its closed error what the call was (``why``)."""

    __slots__ = ()

    def _raise_closed(self, *why: object) -> NoReturn:
        raise ValueError(f"fake is closed: {why}")


def test_in_flight_calls_with_the_handle_and_refuses_a_closed_object() -> None:
    obj = Worded()
    assert obj._in_flight(("Read",), lambda handle, n: (handle, n), 7) == (0x1000, 7)
    seen: list[bool] = []
    obj._in_flight((), lambda handle: seen.append(_native._in_run(obj, threading.get_ident())))
    assert seen == [True] and not _native._runs  # counted while the call runs, then not
    with pytest.raises(ZeroDivisionError):
        obj._in_flight((), lambda handle: 1 // 0)
    assert not _native._runs
    obj.close()
    with pytest.raises(ValueError, match=r"closed: \('Read', 3\)"):
        obj._in_flight(("Read", 3), lambda handle: pytest.fail("called with a closed handle"))
    assert not _native._runs and obj._calls == []


def test_an_interrupt_at_any_line_of_in_flight_neither_leaks_nor_uncounts_a_call() -> None:
    """A KeyboardInterrupt at each line of ``_in_flight`` before its ``finally``
    reaches the caller, leaves this call uncounted, and never un-counts another
    call on the object: another thread's, or this thread's own outer call."""
    obj = Fake()
    me = threading.get_ident()
    inside, finish = threading.Event(), threading.Event()

    def hold(handle: int) -> None:
        inside.set()
        finish.wait(DEADLINE)

    holder = _in_thread(lambda: obj._in_flight((), hold))
    assert inside.wait(DEADLINE)
    outer_counted: list[bool] = []

    def nested() -> None:  # the interrupted call runs inside an outer one of this thread
        def inner(handle: int) -> None:
            try:
                obj._in_flight((), lambda h: None)
            finally:
                outer_counted.append(_native._in_run(obj, me))

        obj._in_flight((), inner)

    def check() -> None:
        assert not _native._in_run(obj, me) and obj._calls == []
        assert _native._in_run(obj, holder.ident)  # the other thread's call: still counted

    try:
        assert _each_line(NativeObject._in_flight, nested, check) >= 4
        assert outer_counted and all(outer_counted)
    finally:
        finish.set()
        holder.join(DEADLINE)
    assert not _native._runs
    closer = _in_thread(obj.close)
    closer.join(DEADLINE)
    assert not closer.is_alive() and obj.released == [0x1000]
