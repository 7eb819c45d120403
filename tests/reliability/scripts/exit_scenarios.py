"""Process-level scenarios, each run in a child by reliability/test_process.py.

Usage: ``python exit_scenarios.py SCENARIO``. Each leaves native objects alive
(or worse) and lets the interpreter exit. A handler registered here *before*
``import ge`` runs *after* the package's own exit hooks and prints, as the
last stdout line, ``counts: {...}`` (what the stand-in still holds) and the
GE/ACL calls the exit hooks made, in order.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import sys
from typing import Any, Callable

EXIT_CALLS: list[str] = []


def _report() -> None:
    from ge.testing import stub_control

    counts = stub_control().live_counts()
    print("counts: " + json.dumps({"live": counts, "calls": EXIT_CALLS}), flush=True)


atexit.register(_report)  # before ge's hooks are registered: runs after them

import numpy as np  # noqa: E402

import ge  # noqa: E402
import ge.acl  # noqa: E402
from ge._ffi import api  # noqa: E402
from ge.allocator import AclAllocator, CachingAllocator, MemBlock  # noqa: E402

F32 = ge.DataType.DT_FLOAT
X = np.arange(6, dtype=np.float32).reshape(2, 3)
_keep: list[Any] = []  # module globals: alive until the interpreter tears down


def trace_exit_calls() -> None:
    """Record the GE/ACL teardown calls made from now on (by the exit hooks)."""
    for name in (
        "GeApiWrapper_Session_DestroySession",
        "GeApiWrapper_Session_UnregisterExternalAllocator",
        "GeApiWrapper_GEFinalize",
        "aclrtDestroyStream",
        "aclrtFree",
        "aclrtFreeHost",
        "aclFinalize",
    ):
        real = getattr(api, name)

        def traced(*args: Any, _real: Any = real, _name: str = name) -> Any:
            EXIT_CALLS.append(_name)
            return _real(*args)

        api.__dict__[name] = traced


def setup(allocator: Any = None) -> tuple[ge.acl.Stream, ge.Session]:
    ge.acl.init()
    ge.acl.Device(0).set()  # never reset
    stream = ge.acl.Stream()
    ge.initialize()
    session = ge.Session()
    with ge.GraphBuilder("g") as builder:
        x = builder.input(0, F32, (2, 3))
        graph = builder.build([x + x, x * x])
    session.add_graph(1, graph)
    if allocator is not None:
        session.register_external_allocator(stream, allocator)
    _keep.extend([stream, session, graph])
    return stream, session


def run(session: ge.Session, stream: ge.acl.Stream) -> list[ge.Tensor]:
    with ge.Tensor.from_numpy(X) as x:
        return session.run_graph_with_stream_async(1, stream, [x])


class FailingFree(AclAllocator):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def free(self, block: MemBlock) -> None:
        super().free(block)
        raise self.exc


# -- scenarios ----------------------------------------------------------------------------


def everything_alive() -> None:
    """Sessions, graphs, tensors (host, device, pending), buffers, streams and two
    Python allocators alive; a builder half-used; nothing closed."""
    stream, session = setup(AclAllocator())
    stream2 = ge.acl.Stream()
    session2 = ge.Session()
    session2.register_external_allocator(stream2, CachingAllocator(AclAllocator()))
    with ge.GraphBuilder("h") as builder:
        x = builder.input(0, F32, (2, 3))
        session2.add_graph(5, builder.build([x - x]))
    done = run(session, stream)
    stream.synchronize()
    assert np.array_equal(done[0].numpy(), X + X)
    pending = run(session, stream)  # never synchronized
    pending2 = session2.run_graph_with_stream_async(5, stream2, [ge.Tensor.from_numpy(X)])
    host = session.run_graph(1, [ge.Tensor.from_numpy(X)])
    device_tensor = ge.Tensor.from_numpy(X).to_device()
    empty = ge.Tensor()
    buffer = ge.acl.DeviceBuffer(256)
    buffer.copy_from(X, stream=stream2)  # queued
    host_buffer = ge.acl.HostBuffer(64)
    open_builder = ge.GraphBuilder("open")
    holder = open_builder.input(0, F32, (2,))
    _keep.extend([stream2, session2, done, pending, pending2, host, device_tensor, empty])
    _keep.extend([buffer, host_buffer, open_builder, holder])
    trace_exit_calls()
    print("done")


def finalize_mid_async() -> None:
    """GE finalized while runs are queued; the outputs stay valid; then ACL
    finalized with work still queued on another stream."""
    stream, session = setup(AclAllocator())
    outputs = run(session, stream) + run(session, stream)
    ge.finalize()
    try:
        run(session, stream)
    except ge.GeError as exc:
        print("after finalize:", exc.status_name)
    stream.synchronize()
    print(
        "values ok:", all(np.array_equal(o.numpy(), w) for o, w in zip(outputs, [X + X, X * X] * 2))
    )
    for out in outputs:
        out.close()
    ge.initialize()
    session = ge.Session()
    with ge.GraphBuilder("g") as builder:
        x = builder.input(0, F32, (2, 3))
        session.add_graph(1, builder.build([x + x]))
    other = ge.acl.Stream()
    queued = run(session, other)  # GE's default allocator; left queued
    ge.acl.finalize()  # streams destroyed (their queues run), buffers freed
    print("acl finalized; stream destroyed:", other.closed)
    _keep.extend([session, queued])
    trace_exit_calls()


def acl_first() -> None:
    """The user finalizes ACL before GE (the wrong order), with work queued."""
    stream, session = setup(AclAllocator())
    outputs = run(session, stream)
    ge.acl.finalize()
    try:
        outputs[0].numpy()
    except ge.AclError as exc:
        print("read after aclFinalize:", exc.status_name)
    _keep.append(outputs)
    trace_exit_calls()


def raise_in_free_at_exit(exc: BaseException) -> Callable[[], None]:
    """An allocator whose free raises is called by the exit hooks: the stream's
    queue runs when the hook destroys it and frees a block GE was holding."""

    def scenario() -> None:
        stream, session = setup(FailingFree(exc))
        outputs = run(session, stream)
        for out in outputs:
            out.close()  # freed only when the queued run is done: at exit
        trace_exit_calls()
        print("exiting")

    return scenario


def atexit_handler_raises() -> None:
    """The script's own exit handler uses ge and fails (in a callback)."""
    stream, session = setup()

    class NoMemory(AclAllocator):
        def malloc(self, size: int) -> MemBlock:
            raise MemoryError("no memory at exit")

    def late_work() -> None:
        session.register_external_allocator(stream, NoMemory())
        run(session, stream)

    atexit.register(late_work)  # after ge's hooks: runs before them
    print("exiting")


def sys_exit_with_objects() -> None:
    stream, session = setup(AclAllocator())
    _keep.append(run(session, stream))
    sys.exit(3)


def uncaught_with_objects() -> None:
    stream, session = setup(AclAllocator())
    _keep.append(run(session, stream))
    raise RuntimeError("uncaught, with objects alive")


def sys_exit_in_callback() -> None:
    """``sys.exit`` inside an allocator callback exits with that status."""

    class Quit(AclAllocator):
        def malloc(self, size: int) -> MemBlock:
            sys.exit(7)

    stream, session = setup(Quit())
    run(session, stream)
    print("not reached")


def daemon_thread_at_exit() -> None:
    """A daemon thread keeps running graphs while the interpreter exits."""
    import threading

    stream, session = setup(AclAllocator())
    started = threading.Event()

    def loop() -> None:
        while True:
            try:
                outputs = run(session, stream)
                stream.synchronize()
                for out in outputs:
                    out.close()
            except (ge.GeError, ValueError):  # closed, destroyed, finalized: keep trying
                pass
            started.set()

    threading.Thread(target=loop, daemon=True).start()
    started.wait(10)
    print("exiting")


def failing_exit_hooks() -> None:
    """GEFinalize and aclFinalize fail in the exit hooks: nothing is printed."""
    from ge.testing import stub_control

    stream, session = setup(AclAllocator())
    _keep.append(run(session, stream))
    control = stub_control()
    control.fail_next("GeApiWrapper_GEFinalize", 4294967295)
    control.fail_next("aclFinalize", 500001)
    control.fail_next("aclrtDestroyStream", 500001)
    trace_exit_calls()
    print("exiting")


def never_initialized() -> None:
    """Objects that need no initialisation, alive at exit; GE and ACL never up (a
    session needs GE: refused before any C call)."""
    with contextlib.suppress(ge.GeError):
        ge.Session()
    _keep.extend([ge.Tensor.from_numpy(X), ge.Graph("g"), ge.GraphBuilder("b")])
    trace_exit_calls()
    print("exiting")


def cycles_at_exit() -> None:
    """Native objects in reference cycles only the collector can free: their
    finalizers run during interpreter teardown, after the exit hooks. (The
    automatic collector is off, so that it cannot free them earlier.)"""
    gc.disable()
    stream, session = setup(AclAllocator())
    outputs = run(session, stream)
    for obj in [session, stream, *outputs, ge.acl.DeviceBuffer(64), ge.Tensor.from_numpy(X)]:
        cycle: list[Any] = [obj]
        cycle.append(cycle)
    _keep.clear()
    del stream, session, outputs, obj, cycle
    trace_exit_calls()
    print("exiting")


SCENARIOS: dict[str, Callable[[], None]] = {
    "everything_alive": everything_alive,
    "finalize_mid_async": finalize_mid_async,
    "acl_first": acl_first,
    "raise_in_free_at_exit": raise_in_free_at_exit(RuntimeError("free failed at exit")),
    "system_exit_in_free_at_exit": raise_in_free_at_exit(SystemExit(5)),
    "atexit_handler_raises": atexit_handler_raises,
    "sys_exit_with_objects": sys_exit_with_objects,
    "uncaught_with_objects": uncaught_with_objects,
    "sys_exit_in_callback": sys_exit_in_callback,
    "daemon_thread_at_exit": daemon_thread_at_exit,
    "failing_exit_hooks": failing_exit_hooks,
    "never_initialized": never_initialized,
    "cycles_at_exit": cycles_at_exit,
}

if __name__ == "__main__":
    os.environ.pop("PYTHONWARNINGS", None)
    SCENARIOS[sys.argv[1]]()
