"""Concurrency scenarios, each run in a child process by reliability/test_concurrency.py.

Usage: ``python concurrency.py SCENARIO ITERATIONS TIMEOUT``. The stand-in comes from
``GE_FFI_LIBRARY`` (a fresh process: fresh state). On success the last line of
stdout is a JSON summary and the exit status 0; a failed check exits 1 with the
tracebacks on stdout; a hang prints every thread's stack (faulthandler) and
exits 3. At the end every native object count must be back to zero.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import sys
import threading
import time
from typing import Any, Callable

import numpy as np
from _scenario_main import ge_up
from _threads import run_threads as _run_threads

import ge
import ge.acl
from ge import _allocator_registry
from ge._ffi import status as S
from ge.allocator import AclAllocator, Allocator, MemBlock
from ge.testing import stub_control

F32 = ge.DataType.DT_FLOAT
TIMEOUT = 60.0


class Ledger(Allocator):
    """``aclrtMalloc`` memory; counts mallocs and frees (thread-safe)."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.lock = threading.Lock()
        self.mallocs = 0
        self.frees = 0

    def malloc(self, size: int) -> MemBlock:
        block = self.inner.malloc(size)
        with self.lock:
            self.mallocs += 1
        return block

    def free(self, block: MemBlock) -> None:
        with self.lock:
            self.frees += 1
        self.inner.free(block)


def fma_graph(name: str = "fma") -> ge.Graph:
    with ge.GraphBuilder(name) as builder:
        x = builder.input(0, F32, (2, 3))
        y = builder.input(1, F32, (2, 3))
        return builder.build([(x + y) * x])


def data(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.integers(-9, 9, (2, 3)).astype(np.float32)
    y = rng.integers(-9, 9, (2, 3)).astype(np.float32)
    return x, y, (x + y) * x


def run_sync(session: ge.Session, gid: int, seed: int) -> None:
    x, y, want = data(seed)
    with ge.Tensor.from_numpy(x) as tx, ge.Tensor.from_numpy(y) as ty:
        (out,) = session.run_graph(gid, [tx, ty])
    with out:
        np.testing.assert_array_equal(out.numpy(), want)


def run_async(session: ge.Session, gid: int, stream: ge.acl.Stream, seed: int) -> None:
    x, y, want = data(seed)
    with ge.Tensor.from_numpy(x) as tx, ge.Tensor.from_numpy(y) as ty:
        (out,) = session.run_graph_with_stream_async(gid, stream, [tx, ty])
    with out:
        stream.synchronize()
        np.testing.assert_array_equal(out.numpy(), want)


def run_threads(targets: list[Callable[[], None]], deadline: float) -> None:
    """Run each target in its own thread with device 0 set (``_threads.run_threads``)."""
    _run_threads(targets, deadline, lambda: ge.acl.Device(0))


def expect_statuses(exc: ge.GeError, allowed: set[int]) -> None:
    if type(exc) is not ge.GeError or exc.status not in allowed:
        raise AssertionError(f"unexpected error: {exc!r}") from exc


# -- scenarios -------------------------------------------------------------------------


def own_sessions(n: int, deadline: float) -> dict[str, Any]:
    """Threads share the session manager; each runs on its own sessions and stream."""
    ledgers: list[Ledger] = []

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            ledger = Ledger()
            ledgers.append(ledger)
            with ge.acl.Stream() as stream:
                for i in range(n):
                    with ge.Session() as session:
                        assert ge.has_session(session.session_id)
                        with fma_graph() as graph:
                            session.add_graph(k, graph)
                        run_sync(session, k, 1000 * k + i)
                        session.register_external_allocator(stream, ledger)
                        run_async(session, k, stream, 1000 * k + i)
                    assert not ge.has_session(session.session_id)

        return body

    run_threads([worker(k) for k in range(4)], deadline)
    # per session: the graph's own memory (two blocks, GE loads it) and one output
    assert all(x.mallocs == x.frees == 3 * n for x in ledgers), [
        (x.mallocs, x.frees) for x in ledgers
    ]
    return {"threads": 4, "calls": 4 * n * 8}


def one_session(n: int, deadline: float) -> dict[str, Any]:
    """Threads on one session: own graphs and streams, replaced allocators, and two
    threads fighting over one shared stream's allocator."""
    session = ge.Session()
    shared = ge.acl.Stream()
    ledgers: list[Ledger] = []
    raced = [0]

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            with fma_graph() as graph:
                session.add_graph(k, graph)
            with ge.acl.Stream() as stream:
                for i in range(n):
                    if i % 5 == 0:
                        ledger = Ledger()
                        ledgers.append(ledger)
                        session.register_external_allocator(stream, ledger)  # replaces
                    run_sync(session, k, 1000 * k + i)
                    run_async(session, k, stream, 1000 * k + i)
                    with fma_graph("extra") as graph:
                        session.add_graph(100 + k, graph)
                    run_sync(session, 100 + k, i)
                    session.remove_graph(100 + k)
                session.unregister_external_allocator(stream)
            session.remove_graph(k)

        return body

    def swap_allocators() -> None:
        for _ in range(n):
            ledger = Ledger()
            ledgers.append(ledger)
            session.register_external_allocator(shared, ledger)
            session.unregister_external_allocator(shared)

    def run_on_shared() -> None:
        with fma_graph() as graph:
            session.add_graph(99, graph)
        for i in range(n):
            try:
                run_async(session, 99, shared, i)
            except ge.GeError as exc:  # the allocator went away between the two calls
                expect_statuses(exc, {S.ACL_ERROR_GE_PARAM_INVALID})
                raced[0] += 1

    run_threads([*(worker(k) for k in range(4)), swap_allocators, run_on_shared], deadline)
    session.close()
    shared.destroy()
    for ledger in ledgers:
        assert ledger.mallocs == ledger.frees, (ledger.mallocs, ledger.frees)
    callbacks = stub_control().callback_counts()
    assert callbacks["on_destroy"] == len(ledgers), (callbacks, len(ledgers))
    return {"threads": 6, "registrations": len(ledgers), "raced": raced[0]}


def close_under_load(n: int, deadline: float) -> dict[str, Any]:
    """Threads keep running on one session while another thread closes it."""
    session = ge.Session()
    with fma_graph() as graph:
        session.add_graph(1, graph)
    progress = threading.Semaphore(0)
    seen = {"ok": 0, "closed": 0}
    lock = threading.Lock()

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            closed_seen = False
            with ge.acl.Stream() as stream:
                for i in range(2 * n):
                    try:
                        run_sync(session, 1, i)
                        run_async(session, 1, stream, i)
                        assert not closed_seen, "a call succeeded after the session was closed"
                        with lock:
                            seen["ok"] += 1
                    except ge.GeError as exc:
                        expect_statuses(exc, {S.GE_SESSION_NOT_EXIST})
                        closed_seen = True
                        with lock:
                            seen["closed"] += 1
                    progress.release()

        return body

    def closer() -> None:
        for _ in range(n):  # let the others get going
            progress.acquire()
        session.close()
        assert session.closed and not ge.has_session(session.session_id)

    run_threads([*(worker(k) for k in range(4)), closer], deadline)
    assert seen["ok"] > 0 and seen["closed"] > 0, seen
    return {"threads": 5, **seen}


def finalize_under_load(n: int, deadline: float) -> dict[str, Any]:
    """Threads run graphs on their own sessions while another finalizes GE and
    initialises it again, over and over."""
    # closed by ge.finalize(), or made while GE was down: never a dead native
    # session (CANN's FAILED) or one of an older GE generation
    allowed = {S.GE_SESSION_MANAGER_NOT_INIT}
    stop = threading.Event()
    outcomes = {"ok": 0, "refused": 0, "finalized": 0}
    lock = threading.Lock()

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            ledger = Ledger()
            with ge.acl.Stream() as stream:
                session = new_session()
                for i in range(n):
                    try:
                        if i % 3 == 0:
                            session.register_external_allocator(stream, ledger)
                        with fma_graph() as graph:
                            session.add_graph(i, graph)
                        run_sync(session, i, i)
                        run_async(session, i, stream, i)
                        session.remove_graph(i)
                        with lock:
                            outcomes["ok"] += 1
                    except ge.GeError as exc:
                        expect_statuses(exc, allowed)
                        with lock:
                            outcomes["refused"] += 1
                        session.close()
                        session = new_session()
                session.close()
            assert ledger.mallocs == ledger.frees

        return body

    def new_session() -> ge.Session:
        while True:  # between a finalize and the next initialize, GE is down
            try:
                return ge.Session()
            except ge.GeError as exc:
                expect_statuses(exc, allowed)
                time.sleep(0.0005)

    def finalizer() -> None:
        while not stop.is_set():
            time.sleep(0.002)
            ge.finalize()
            ge.initialize()
            with lock:
                outcomes["finalized"] += 1

    workers = [worker(k) for k in range(4)]

    def run_workers() -> None:
        try:
            run_threads(workers, deadline)
        finally:
            stop.set()

    finalizing = threading.Thread(target=finalizer, daemon=True)
    finalizing.start()
    run_workers()
    finalizing.join(max(0.0, deadline - time.monotonic()))
    assert not finalizing.is_alive()
    assert outcomes["ok"] > 0 and outcomes["finalized"] > 0, outcomes
    return {"threads": 5, **outcomes}


def collector_vs_finalize(n: int, deadline: float) -> dict[str, Any]:
    """Sessions left in reference cycles are closed by the cycle collector, on
    whatever thread and inside whatever call it runs, while another thread
    finalizes GE: nothing may deadlock (it did: the finalizer waited for the
    session manager's lock that ge.finalize() held)."""
    gc.set_threshold(20, 2, 2)  # collect often, anywhere
    streams = [ge.acl.Stream(), ge.acl.Stream()]
    done = threading.Event()

    def churn(k: int) -> Callable[[], None]:
        def body() -> None:
            for _ in range(10 * n):
                try:
                    session = ge.Session()
                    cycle: list[Any] = [session]
                    cycle.append(cycle)  # only the collector frees it
                    session.register_external_allocator(streams[k], AclAllocator())
                    session.unregister_external_allocator(streams[k])
                    del session, cycle
                except ge.GeError as exc:  # made while GE was down, or closed by finalize
                    expect_statuses(exc, {S.GE_SESSION_MANAGER_NOT_INIT})

        return body

    def finalizer() -> None:
        while not done.is_set():
            ge.finalize()
            ge.initialize()

    def run_churn() -> None:
        try:
            run_threads([churn(0), churn(1)], deadline)
        finally:
            done.set()

    finalizing = threading.Thread(target=finalizer, daemon=True)
    finalizing.start()
    run_churn()
    finalizing.join(max(0.0, deadline - time.monotonic()))
    assert not finalizing.is_alive()
    gc.collect()
    for stream in streams:
        stream.destroy()
    return {"threads": 3, "sessions": 20 * n}


def collector_inside_registry_lock(n: int, deadline: float) -> dict[str, Any]:
    """The same deadlock, made deterministic: the collector runs a session's
    finalizer inside a call holding the allocator registry's lock (taken here
    directly to choose the moment) while ge.finalize() runs on another thread."""
    keep = ge.Session()  # ge.finalize() closes it: that needs the registry lock
    finalizing = threading.Thread(target=ge.finalize, daemon=True)
    collector = threading.current_thread()

    class Traced(ge.Session):
        def __del__(self) -> None:
            if threading.current_thread() is collector and not finalizing.is_alive():
                finalizing.start()
                time.sleep(0.2)  # ge.finalize() holds the manager's lock by now
            super().__del__()

    gc.collect()
    gc.disable()
    garbage = Traced()
    cycle: list[Any] = [garbage]
    cycle.append(cycle)
    del garbage, cycle

    def collect() -> None:
        nonlocal collector
        collector = threading.current_thread()
        with _allocator_registry.registry.lock:
            gc.collect()

    run_threads([collect], deadline)
    gc.enable()
    finalizing.join(max(0.0, deadline - time.monotonic()))
    if finalizing.is_alive():
        print("DEADLOCK: ge.finalize() never returned", flush=True)
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        os._exit(3)
    assert keep.closed
    ge.initialize()  # the common teardown finalizes
    return {"threads": 2}


def bound_under_close(n: int, deadline: float) -> dict[str, Any]:
    """Threads share two bindings (``session.bind``: sync, and async on a stream)
    and one pair of input tensors, while another thread keeps replacing the pair
    and closing the old one under the runs, then destroys the stream and closes
    the session. Each run gives the right values or a clean error (a closed
    tensor's or stream's ``ValueError``, ``GE_SESSION_NOT_EXIST``): a close waits
    for the runs in flight, and no dead handle ever reaches C (the stand-in's
    strict mode would abort)."""
    session = ge.Session()
    with fma_graph() as graph:
        session.add_graph(1, graph)
    stream = ge.acl.Stream()
    sync_run = session.bind(1)
    async_run = session.bind(1, stream)

    def pair(seed: int) -> tuple[ge.Tensor, ge.Tensor, np.ndarray]:
        x, y, want = data(seed)
        return ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y), want

    current = [pair(0)]
    seen = {"ok": 0, "input_closed": 0, "stream_destroyed": 0, "session_closed": 0}
    lock = threading.Lock()

    def count(what: str) -> None:
        with lock:
            seen[what] += 1

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            i = 0
            while time.monotonic() < deadline - 5:  # until the session is closed
                i += 1
                tx, ty, want = current[0]
                try:
                    if (i + k) % 2:
                        (out,) = sync_run.run([tx, ty])
                    else:
                        (out,) = async_run.run_async([tx, ty])
                        try:
                            stream.synchronize()
                        except BaseException:
                            out.close()
                            raise
                    with out:
                        np.testing.assert_array_equal(out.numpy(), want)
                    count("ok")
                except ge.GeError as exc:
                    expect_statuses(exc, {S.GE_SESSION_NOT_EXIST})
                    count("session_closed")
                    break
                except ValueError as exc:
                    message = str(exc)
                    if "tensor is closed" in message:
                        count("input_closed")
                        time.sleep(0.0001)  # let the closer replace the pair
                    elif "Stream is destroyed" in message:
                        count("stream_destroyed")
                    else:
                        raise

        return body

    def wait_for(what: str, more: int) -> None:
        with lock:
            goal = seen[what] + more
        while seen[what] < goal and time.monotonic() < deadline - 10:
            time.sleep(0.0002)

    def closer() -> None:
        for i in range(1, n // 2):
            wait_for("ok", 3)  # some runs on the live pair
            old = current[0]
            old[0].close()  # waits for the runs that use it; later ones fail cleanly
            old[1].close()
            wait_for("input_closed", 1)
            current[0] = pair(i)
        wait_for("ok", 3)
        stream.destroy()  # waits for the async runs in flight on it
        wait_for("stream_destroyed", 1)
        session.close()  # waits for the runs in flight on it

    run_threads([*(worker(k) for k in range(3)), closer], deadline)
    for tensor in current[0][:2]:
        tensor.close()
    assert seen["ok"] > 0, seen
    # a binding of a closed session, destroyed stream or removed graph: clean errors
    try:
        sync_run.run([])
    except ge.GeError as exc:
        expect_statuses(exc, {S.GE_SESSION_NOT_EXIST})
    else:
        raise AssertionError("a binding of a closed session ran")
    return {"threads": 4, **seen}


class Gate(Allocator):
    """``aclrtMalloc`` memory; ``malloc`` (called by GE inside a run) says it is
    inside, then waits until the test opens the gate: a run held inside C."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.inside = threading.Event()
        self.open = threading.Event()

    def malloc(self, size: int) -> MemBlock:
        self.inside.set()
        if not self.open.wait(10):
            raise AssertionError("the gate was never opened")
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.inner.free(block)


def _close_mid_run(i: int, deadline: float) -> str:
    """One round of :func:`bound_input_closed_mid_run`: the object it closed."""
    stub = stub_control()
    target = ("input", "stream", "session")[i % 3]
    session = ge.Session()
    with fma_graph() as graph:
        session.add_graph(1, graph)
    stream = ge.acl.Stream()
    gate = Gate()
    session.register_external_allocator(stream, gate)
    binding = session.bind(1, stream)
    x, y, want = data(i)
    tx, ty = ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)
    got: list[np.ndarray] = []
    closed_at: list[float] = []
    opened_at: list[float] = []
    victim: Any = {"input": tx, "stream": stream, "session": session}[target]

    def runner() -> None:
        (out,) = binding.run_async([tx, ty])
        with out:
            try:
                stream.synchronize()
            except ValueError:  # destroyed meanwhile (after the run): its queue ran
                assert target == "stream"
            got.append(out.numpy())

    def closer() -> None:
        if not gate.inside.wait(10):
            raise AssertionError("the run never reached its allocator")
        victim.close()  # must wait for the run in flight
        closed_at.append(time.monotonic())

    def opener() -> None:
        if not gate.inside.wait(10):
            raise AssertionError("the run never reached its allocator")
        before = stub.live_counts()
        time.sleep(0.05)  # the closer is waiting for the run now
        assert not closed_at, "a close did not wait for the run in flight"
        assert stub.live_counts() == before, "freed under a running call"
        opened_at.append(time.monotonic())
        gate.open.set()

    run_threads([runner, closer, opener], deadline)
    assert closed_at and opened_at and closed_at[0] >= opened_at[0]
    if target != "stream":  # (what an output holds once its stream is destroyed: not checked)
        np.testing.assert_array_equal(got[0], want)
    try:
        binding.run_async([tx, ty])
    except ValueError as exc:  # the closed tensor's, or the destroyed stream's
        assert target in ("input", "stream"), exc
        assert ("tensor is closed" if target == "input" else "Stream is destroyed") in str(exc)
    except ge.GeError as exc:
        assert target == "session", exc
        expect_statuses(exc, {S.GE_SESSION_NOT_EXIST})
    else:
        raise AssertionError(f"a run after its {target} was closed ran")
    tx.close()
    ty.close()
    if target != "session":
        session.close()
    if target != "stream":
        stream.destroy()
    return target


def bound_input_closed_mid_run(n: int, deadline: float) -> dict[str, Any]:
    """An input, then the stream, then the session, closed by another thread while
    a bound async run is inside C (held in its allocator's ``malloc``): each close
    waits until the run has left (the stand-in still counts the object while the
    run is inside: its strict mode would abort on a freed handle), the run gives
    the right values, and the next run gets the closed object's clean error."""
    rounds = max(3, min(n // 20, 30))
    waited = {"input": 0, "stream": 0, "session": 0}
    for i in range(rounds):
        waited[_close_mid_run(i, deadline)] += 1
    return {"rounds": rounds, **waited}


def bound_shared_by_threads(n: int, deadline: float) -> dict[str, Any]:
    """Four threads run the same two bindings (sync, and async on one stream) and the
    plain calls of the same graph at once, half of them on one shared pair of
    inputs (the graph's kept input array reused), half on inputs of their own (the
    array replaced under the others): every run gives its own inputs' values."""
    session = ge.Session()
    with fma_graph() as graph:
        session.add_graph(1, graph)
    stream = ge.acl.Stream()
    sync_run = session.bind(1)
    async_run = session.bind(1, stream)
    x, y, want = data(0)
    shared = (ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y), want)
    runs = [0]
    lock = threading.Lock()

    def worker(k: int) -> Callable[[], None]:
        def body() -> None:
            for i in range(n):
                if k % 2:
                    tx, ty, expected = shared
                    own = False
                else:
                    xs, ys, expected = data(1000 * k + i)
                    tx, ty = ge.Tensor.from_numpy(xs), ge.Tensor.from_numpy(ys)
                    own = True
                way = (i + k) % 4
                if way == 0:
                    (out,) = sync_run.run([tx, ty])
                elif way == 1:
                    (out,) = session.run_graph(1, [tx, ty])
                else:
                    if way == 2:
                        (out,) = async_run.run_async([tx, ty])
                    else:
                        (out,) = session.run_graph_with_stream_async(1, stream, (tx, ty))
                    stream.synchronize()
                with out:
                    np.testing.assert_array_equal(out.numpy(), expected)
                if own:
                    tx.close()
                    ty.close()
            with lock:
                runs[0] += n

        return body

    run_threads([worker(k) for k in range(4)], deadline)
    shared[0].close()
    shared[1].close()
    stream.destroy()
    session.close()
    return {"threads": 4, "runs": runs[0]}


SCENARIOS: dict[str, Callable[[int, float], dict[str, Any]]] = {
    f.__name__: f
    for f in (
        own_sessions,
        one_session,
        close_under_load,
        finalize_under_load,
        collector_vs_finalize,
        collector_inside_registry_lock,
        bound_under_close,
        bound_input_closed_mid_run,
        bound_shared_by_threads,
    )
}


def main() -> None:
    name, iterations, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    deadline = time.monotonic() + timeout
    faulthandler.dump_traceback_later(timeout + 5, exit=True, file=sys.stdout)
    with ge_up():
        summary = SCENARIOS[name](iterations, deadline)
    faulthandler.cancel_dump_traceback_later()
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
