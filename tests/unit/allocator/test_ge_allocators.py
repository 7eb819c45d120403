"""Python allocators driven by GE: registration through a session, the callbacks
(through their trampolines), their exceptions, and GE's allocator lock."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import numpy as np
import pytest

import ge
from ge import _allocator_registry
from ge._ffi import status as S
from ge.allocator import (
    AclAllocator,
    Allocator,
    CachingAllocator,
    MemBlock,
    size_class,
)
from ge.error import GeError

# -- Python allocators driven by GE ---------------------------------------------------


class Recording(Allocator):
    """AclAllocator that records calls and can be told to fail."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.mallocs = 0
        self.sizes: list[int] = []
        self.frees = 0
        self.fail_malloc: BaseException | None = None
        self.fail_free: BaseException | None = None
        self.bad_return: object = None

    def malloc(self, size: int) -> MemBlock:
        self.mallocs += 1
        self.sizes.append(size)
        if self.fail_malloc is not None:
            raise self.fail_malloc
        if self.bad_return is not None:
            return self.bad_return  # type: ignore[return-value]
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.frees += 1
        self.inner.free(block)
        if self.fail_free is not None:
            raise self.fail_free


@pytest.fixture
def graph_session(ge_ready: Any, make_graph: Any) -> Any:
    with ge.Session() as session:
        with make_graph() as graph:
            session.add_graph(1, graph)
        yield session


def _inputs() -> list[ge.Tensor]:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    return [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(x + 1)]


def _expected() -> np.ndarray:
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    return (x + x + 1) * x


def test_python_allocator_serves_outputs_and_the_graph_memory(
    graph_session: Any, stream: Any, ge_stub: Any
) -> None:
    alloc = Recording()
    graph_session.register_external_allocator(stream, alloc)
    for _ in range(3):
        (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
        stream.synchronize()
        np.testing.assert_array_equal(out.numpy(), _expected())
        out.close()
    # the first run loads the graph: GE's const and feature-map memory first
    assert alloc.sizes == [512, 4224, 64, 64, 64]  # outputs: 24 bytes, padded to 64
    assert alloc.frees == 3
    counts = ge_stub.callback_counts()
    assert counts["malloc"] == 5 and counts["free"] == 3 and counts["on_destroy"] == 0
    graph_session.unregister_external_allocator(stream)
    assert ge_stub.callback_counts()["on_destroy"] == 0  # the loaded graph holds it
    graph_session.remove_graph(1)
    assert alloc.frees == 5 and ge_stub.callback_counts()["on_destroy"] == 1


def test_on_destroy_waits_for_outstanding_blocks(
    graph_session: Any, stream: Any, ge_stub: Any
) -> None:
    alloc = Recording()
    graph_session.register_external_allocator(stream, alloc)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    trampoline = _allocator_registry.registry.current[stream.handle].trampoline
    ref = weakref.ref(trampoline)
    del trampoline
    graph_session.unregister_external_allocator(stream)
    assert ge_stub.callback_counts()["on_destroy"] == 0
    assert ref() is not None  # C can still call free on it
    stream.synchronize()
    out.close()
    assert ge_stub.callback_counts()["on_destroy"] == 0 and alloc.frees == 1
    graph_session.remove_graph(1)  # long after the unregistration
    assert ge_stub.callback_counts()["on_destroy"] == 1 and alloc.frees == 3
    _allocator_registry.registry.bury()
    gc.collect()
    assert ref() is None


def test_registering_again_replaces(graph_session: Any, stream: Any, ge_stub: Any) -> None:
    first, second = Recording(), Recording()
    graph_session.register_external_allocator(stream, first)
    graph_session.register_external_allocator(stream, second)
    assert ge_stub.callback_counts()["on_destroy"] == 1
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    stream.synchronize()
    out.close()
    assert (first.mallocs, second.mallocs) == (0, 3)


def test_on_destroy_inside_a_register_that_failed(
    graph_session: Any, stream: Any, ge_stub: Any
) -> None:
    """GE finalized behind the package's back: the wrapper makes the allocator, the
    session refuses it (FAILED), and its OnDestroy runs inside the call."""
    from ge._ffi import api

    assert api.GeApiWrapper_GEFinalize() == 0
    alloc = Recording()
    with pytest.raises(GeError) as info:
        graph_session.register_external_allocator(stream, alloc)
    assert info.value.status == S.FAILED
    assert ge_stub.callback_counts()["on_destroy"] == 1
    registry = _allocator_registry.registry
    assert stream.handle not in registry.current and not registry.alive
    registry.bury()
    gc.collect()  # the trampoline went once, and nothing calls it again
    assert api.GeApiWrapper_GEInitialize(None, None, 0) == S.PARAM_INVALID


def test_exception_in_malloc_reaches_the_caller(graph_session: Any, stream: Any) -> None:
    alloc = Recording()
    alloc.fail_malloc = MemoryError("pool exhausted")
    graph_session.register_external_allocator(stream, alloc)
    with pytest.raises(GeError) as info:
        graph_session.run_graph_with_stream_async(1, stream, _inputs())
    assert info.value.status == S.FAILED  # any async failure, as GE says
    assert info.value.api_name == "RunGraphWithStreamAsync"
    assert isinstance(info.value.__cause__, MemoryError)
    assert str(info.value.__cause__) == "pool exhausted"
    alloc.fail_malloc = None
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())  # recovers
    stream.synchronize()
    out.close()


@pytest.mark.parametrize("bad", [None, 0x1000, "block", MemBlock(0x1000, 1)])
def test_malloc_returning_garbage_is_a_clear_error(
    graph_session: Any, stream: Any, bad: object
) -> None:
    alloc = Recording()
    alloc.bad_return = bad if bad is not None else 0
    graph_session.register_external_allocator(stream, alloc)
    with pytest.raises(GeError) as info:
        graph_session.run_graph_with_stream_async(1, stream, _inputs())
    assert info.value.status == S.FAILED
    assert "returned" in info.value.error_message
    if not isinstance(bad, MemBlock):
        assert isinstance(info.value.__cause__, TypeError)


def test_exception_in_free_reaches_close(graph_session: Any, stream: Any) -> None:
    alloc = Recording()
    graph_session.register_external_allocator(stream, alloc)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    stream.synchronize()
    alloc.fail_free = KeyError("free failed")
    with pytest.raises(KeyError, match="free failed"):
        out.close()
    assert out.closed and alloc.frees == 1
    alloc.fail_free = None


def test_exception_in_free_from_a_finalizer_reaches_the_next_call(
    graph_session: Any, stream: Any
) -> None:
    alloc = Recording()
    graph_session.register_external_allocator(stream, alloc)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    stream.synchronize()
    alloc.fail_free = KeyError("late free failed")
    del out
    gc.collect()
    alloc.fail_free = None
    with pytest.raises(KeyError, match="late free failed"):
        graph_session.unregister_external_allocator(stream)


def test_closing_the_session_unregisters_what_it_owns(
    ge_ready: Any, stream: Any, ge_stub: Any
) -> None:
    owner, other = ge.Session(), ge.Session()
    owner.register_external_allocator(stream, Recording())
    other.close()  # owns nothing: the allocator stays
    assert _allocator_registry.registry.current[stream.handle].session_id == owner.session_id
    owner.close()
    assert stream.handle not in _allocator_registry.registry.current
    assert ge_stub.callback_counts()["on_destroy"] == 1
    assert ge_stub.live_counts()["allocators"] == 0


def test_replaced_allocator_is_not_unregistered_by_its_first_owner(
    ge_ready: Any, stream: Any, ge_stub: Any
) -> None:
    first, second = ge.Session(), ge.Session()
    first.register_external_allocator(stream, Recording())
    second.register_external_allocator(stream, Recording())
    first.close()
    assert _ffi_has_external(stream)
    second.close()
    assert not _ffi_has_external(stream)


def _ffi_has_external(stream: Any) -> bool:
    from ge._ffi import api

    return bool(api.GeApiWrapper_HasExternalAllocator(stream))


def test_finalize_with_registered_allocators(ge_ready: Any, stream: Any, ge_stub: Any) -> None:
    session = ge.Session()
    session.register_external_allocator(stream, CachingAllocator(AclAllocator()))
    ge.finalize()
    assert ge_stub.callback_counts()["on_destroy"] == 1
    assert ge_stub.live_counts()["allocators"] == 0
    ge.initialize()


def test_caching_allocator_end_to_end(graph_session: Any, stream: Any, ge_stub: Any) -> None:
    cache = CachingAllocator(AclAllocator())
    graph_session.register_external_allocator(stream, cache)
    for _ in range(5):
        (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
        stream.synchronize()
        np.testing.assert_array_equal(out.numpy(), _expected())
        out.close()
    stats = cache.stats()
    # the graph's own memory (two blocks, in use until the graph goes), one output
    assert (stats.misses, stats.hits, stats.bytes_in_use) == (3, 4, 512 + size_class(4224))
    graph_session.unregister_external_allocator(stream)
    graph_session.remove_graph(1)
    assert cache.stats().bytes_in_use == 0
    cache.empty_cache()
    assert ge_stub.live_counts()["device_blocks"] == 0


# -- GE holds the allocator's lock while its callbacks run -------------------------------


class Reentrant(Allocator):
    """AclAllocator running ``action`` inside its own malloc / free (once each)."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.on_malloc: Any = None
        self.on_free: Any = None
        self.seen: list[BaseException] = []

    def malloc(self, size: int) -> MemBlock:
        action, self.on_malloc = self.on_malloc, None
        if action is not None:
            try:
                action()
            except BaseException as exc:
                self.seen.append(exc)
                raise
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.inner.free(block)
        action, self.on_free = self.on_free, None
        if action is not None:
            action()


def test_a_malloc_running_on_its_own_stream_gets_an_error_not_a_deadlock(
    graph_session: Any, stream: Any
) -> None:
    alloc = Reentrant()
    graph_session.register_external_allocator(stream, alloc)
    inputs = _inputs()
    alloc.on_malloc = lambda: graph_session.run_graph_with_stream_async(1, stream, inputs)
    with pytest.raises(GeError) as info:  # strict mode: no abort, C was never re-entered
        graph_session.run_graph_with_stream_async(1, stream, inputs)
    cause = info.value.__cause__
    assert isinstance(cause, RuntimeError) and cause is alloc.seen[0]
    assert "from inside a callback of the allocator of stream" in str(cause)
    assert "would take it again" in str(cause)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, inputs)
    stream.synchronize()
    np.testing.assert_array_equal(out.numpy(), _expected())
    out.close()


def test_a_free_closing_an_output_of_its_allocator_gets_an_error(
    graph_session: Any, stream: Any
) -> None:
    alloc = Reentrant()
    graph_session.register_external_allocator(stream, alloc)
    (first,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    (second,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    stream.synchronize()
    alloc.on_free = second.close
    with pytest.raises(RuntimeError, match="from inside a callback of the allocator"):
        first.close()
    assert first.closed and not second.closed
    second.close()


def test_an_output_dropped_inside_a_callback_is_released_after_it(
    graph_session: Any, stream: Any, ge_stub: Any
) -> None:
    alloc = Reentrant()
    graph_session.register_external_allocator(stream, alloc)
    held = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    stream.synchronize()
    alloc.on_malloc = held.clear  # the last reference to an output of this allocator
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    assert ge_stub.live_counts()["tensors"] == 1  # released once the run had returned
    stream.synchronize()
    out.close()


def test_graph_removal_and_finalize_inside_a_callback_are_refused(
    graph_session: Any, stream: Any, make_graph: Any
) -> None:
    alloc = Reentrant()
    graph_session.register_external_allocator(stream, alloc)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())  # loads graph 1
    stream.synchronize()
    with make_graph() as graph:
        graph_session.add_graph(2, graph)
    errors: list[BaseException] = []

    def refused(call: Any) -> None:
        try:
            call()
        except RuntimeError as exc:
            errors.append(exc)

    alloc.on_free = lambda: (
        refused(lambda: graph_session.remove_graph(1)),  # its memory: this allocator's
        refused(ge.finalize),
        refused(graph_session.close),
        graph_session.remove_graph(2),  # not loaded: fine
    )
    out.close()
    assert len(errors) == 3 and all("from inside a callback" in str(e) for e in errors)
    assert ge.is_initialized() and not graph_session.closed
    graph_session.remove_graph(1)


def test_acl_allocator_refuses_a_null_block(acl_ready: Any, monkeypatch: Any) -> None:
    """aclrtMalloc succeeding without memory is an out-of-memory error, never
    ``MemBlock(0)`` handed to GE."""
    from ge._ffi import api
    from ge.error import AclError, AclStatus

    monkeypatch.setitem(api.__dict__, "aclrtMalloc", lambda ptr, size, policy: 0)
    with pytest.raises(AclError) as info:
        AclAllocator().malloc(64)
    assert info.value.status == AclStatus.ACL_ERROR_BAD_ALLOC
    assert "NULL" in str(info.value)


def test_outputs_of_a_run_whose_allocator_changed_meanwhile_refuse_both(
    graph_session: Any, stream: Any
) -> None:
    """Another thread replaces the stream's allocator while a run is inside the old
    one's malloc: GE took the run's memory from one of them, so releasing an output
    is refused from inside a callback of either (not only of the one seen first)."""
    import threading

    from ge._allocator_registry import registry

    entered, replaced = threading.Event(), threading.Event()
    first, second = Recording(), Recording()
    graph_session.register_external_allocator(stream, first)
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())  # loads
    stream.synchronize()
    out.close()
    old = registry.trampoline_of(stream.handle)

    def dawdle() -> None:
        entered.set()
        assert replaced.wait(10)

    def replace() -> None:
        entered.wait(10)
        graph_session.register_external_allocator(stream, second)
        replaced.set()

    original = first.malloc
    first.malloc = lambda size: (dawdle(), original(size))[1]  # type: ignore[method-assign]
    t = threading.Thread(target=replace)
    t.start()
    (out,) = graph_session.run_graph_with_stream_async(1, stream, _inputs())
    t.join()
    new = registry.trampoline_of(stream.handle)
    assert new is not old and set(out._release_locks) == {old, new}
    stream.synchronize()
    np.testing.assert_array_equal(out.numpy(), _expected())
    out.close()


def test_a_free_failing_in_the_collector_is_not_raised_by_an_unrelated_call(
    ge_ready: Any, make_graph: Any
) -> None:
    """The collector frees an output of stream A (whose allocator's free raises)
    while a run on stream B is inside C: B's run succeeds with its outputs; the
    error is kept for stream A's next call."""
    with ge.acl.Stream() as a, ge.acl.Stream() as b, ge.Session() as session:
        with make_graph() as graph:
            session.add_graph(1, graph)
        failing, collecting_alloc = Recording(), Recording()
        session.register_external_allocator(a, failing)
        session.register_external_allocator(b, collecting_alloc)
        for s in (a, b):  # load the graph on both streams
            (out,) = session.run_graph_with_stream_async(1, s, _inputs())
            s.synchronize()
            out.close()
        (out_a,) = session.run_graph_with_stream_async(1, a, _inputs())
        a.synchronize()
        cycle: list[Any] = [out_a]
        cycle.append(cycle)  # only the collector frees it
        del out_a, cycle
        failing.fail_free = KeyError("free of stream A failed")
        frees = failing.frees
        gc.disable()
        try:
            original = collecting_alloc.malloc
            collecting_alloc.malloc = (  # type: ignore[method-assign]
                lambda size: (gc.collect(), original(size))[1]
            )
            (out_b,) = session.run_graph_with_stream_async(1, b, _inputs())
        finally:
            gc.enable()
        collecting_alloc.malloc = original  # type: ignore[method-assign]
        assert failing.frees == frees + 1  # the collector freed A's output inside B's run
        b.synchronize()
        np.testing.assert_array_equal(out_b.numpy(), _expected())
        out_b.close()
        failing.fail_free = None
        with pytest.raises(KeyError, match="free of stream A failed"):
            session.unregister_external_allocator(a)
        session.unregister_external_allocator(b)
