"""Known hangs, each run in a child process by reliability/test_hangs.py.

Usage: ``python hangs.py SCENARIO TIMEOUT``. The stand-in comes from
``GE_FFI_LIBRARY``. Each scenario sets up the situation that used to hang
(two locks in opposite orders, a wait for a call that waits for the waiter,
a lock a forked-away thread held) and checks the outcome: the call
completes, or raises a clear ``RuntimeError``. On success the last line of
stdout is ``OK`` and the exit status 0; a hang dumps every thread's stack
(faulthandler) and exits 3. Scenarios that end in this process check that
every native count is back to zero.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from typing import Any, Callable, Optional

import numpy as np
from _scenario_main import run_scenario_main

import ge
import ge.acl
from ge.acl import _copies
from ge.allocator import AclAllocator, Allocator, MemBlock

F32 = ge.DataType.DT_FLOAT
WAIT = 0.3
"""How long a thread dawdles at the critical moment (long enough for the other)."""


class Hook(Allocator):
    """``aclrtMalloc`` memory; ``on_malloc`` runs inside MallocFn (user code)."""

    def __init__(self, on_malloc: Optional[Callable[[], None]] = None) -> None:
        self.inner = AclAllocator()
        self.on_malloc = on_malloc

    def malloc(self, size: int) -> MemBlock:
        hook, self.on_malloc = self.on_malloc, None  # once
        if hook is not None:
            hook()
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.inner.free(block)


def add_graph() -> ge.Graph:
    with ge.GraphBuilder("add") as builder:
        x = builder.input(0, F32, (4,))
        y = builder.input(1, F32, (4,))
        return builder.build([x + y])


def run_once(session: ge.Session, stream: ge.acl.Stream, gid: int = 1) -> None:
    """One async run of ``x + y`` on ``stream``, checked, outputs closed."""
    x = np.arange(4, dtype=np.float32)
    with ge.Tensor.from_numpy(x) as tx, ge.Tensor.from_numpy(x) as ty:
        outs = session.run_graph_with_stream_async(gid, stream, [tx, ty])
    stream.synchronize()
    for out in outs:
        with out:
            np.testing.assert_array_equal(out.numpy(), x + x)


def session_with_hook(hook: Hook) -> tuple[ge.Session, ge.acl.Stream]:
    session = ge.Session()
    stream = ge.acl.Stream()
    session.register_external_allocator(stream, hook)
    session.add_graph(1, add_graph())
    return session, stream


def thread(target: Callable[[], None], errors: list[str], device: bool = True) -> threading.Thread:
    def body() -> None:
        try:
            if not device:
                target()
                return
            with ge.acl.Device(0):
                target()
        except BaseException:
            errors.append(traceback.format_exc())

    t = threading.Thread(target=body, daemon=True)
    t.start()
    return t


def join(t: threading.Thread, deadline: float, errors: list[str]) -> None:
    t.join(max(0.0, deadline - time.monotonic()))
    if t.is_alive():
        print("DEADLOCK: a thread is still running at the deadline", flush=True)
        faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        os._exit(3)
    if errors:
        raise AssertionError("\n".join(errors))


def expect_runtime_error(fn: Callable[[], None], words: str) -> None:
    try:
        fn()
    except BaseException as exc:
        cause = exc.__cause__ if isinstance(exc, ge.GeError) else exc
        why = f"{exc!r} from {exc.__cause__!r}"
        assert isinstance(cause, RuntimeError) and words in str(cause), why
    else:
        raise AssertionError(f"{fn} did not raise RuntimeError")


# -- scenarios -------------------------------------------------------------------------


def acl_finalize_vs_int_stream_copy(deadline: float) -> None:
    """``ge.acl.finalize()`` waits for a buffer's copy in flight; the copy, given
    its stream as an ``int`` (ACL's default stream), looks up the stream's owner."""
    buf = ge.acl.DeviceBuffer(64)
    entered = threading.Event()
    original = _copies.copy_stream

    def slow(stream: object) -> Any:
        entered.set()
        time.sleep(WAIT)  # finalize() starts waiting for this copy meanwhile
        return original(stream)

    _copies.copy_stream = slow
    errors: list[str] = []

    def copy() -> None:
        ge.acl.Device(0).set()  # no reset: ACL may be finalized when the copy returns
        buf.copy_from(np.zeros(16, np.float32), stream=0)

    t = thread(copy, errors, device=False)
    entered.wait()
    ge.acl.finalize()
    join(t, deadline, errors)
    _copies.copy_stream = original
    assert buf.closed
    ge.acl.init()


def acl_finalize_vs_stream_destroy(deadline: float) -> None:
    """``Stream.destroy()`` on one thread, ``ge.acl.finalize()`` on another, again and again."""
    for _ in range(30):
        streams = [ge.acl.Stream() for _ in range(3)]
        errors: list[str] = []
        threads = [thread(s.destroy, errors, device=False) for s in streams]
        ge.acl.finalize()
        for t in threads:
            join(t, deadline, errors)
        assert all(s.closed for s in streams)
        ge.acl.init()


def finalize_inside_own_callback(deadline: float) -> None:
    """``ge.finalize()``, ``Session.close()`` and ``ge.acl.finalize()`` (whose stream
    the run uses) from inside an allocator callback of the session's own run: a
    clear RuntimeError reaches the run, and everything stays usable."""
    for call, words in (
        (ge.finalize, "ge.finalize() called from inside"),
        (None, "from inside a call on it"),
        (ge.acl.finalize, "ge.acl.finalize() called from inside a call on a stream"),
    ):
        hook = Hook()
        session, stream = session_with_hook(hook)
        hook.on_malloc = call if call is not None else session.close
        expect_runtime_error(lambda s=session, t=stream: run_once(s, t), words)
        assert not session.closed
        run_once(session, stream)  # still usable
        session.close()
        stream.destroy()


def signal_handler_finalizes(deadline: float) -> None:
    """A signal handler calls ``ge.finalize()``: refused while the main thread's own run
    is in flight (the error reaches the run); completes while another thread's run is."""
    signal.signal(signal.SIGUSR1, lambda *_: ge.finalize())
    hook = Hook(lambda: signal.raise_signal(signal.SIGUSR1))
    session, stream = session_with_hook(hook)
    expect_runtime_error(lambda: run_once(session, stream), "ge.finalize() called from inside")
    assert not session.closed

    entered = threading.Event()

    def dawdle() -> None:
        entered.set()
        time.sleep(WAIT)

    hook.on_malloc = dawdle
    errors: list[str] = []

    def worker() -> None:
        with contextlib.suppress(ge.GeError):  # closed by the finalize once its call left
            run_once(session, stream)

    t = thread(worker, errors)
    entered.wait()
    signal.raise_signal(signal.SIGUSR1)  # finalize() waits for the worker's run
    join(t, deadline, errors)
    assert session.closed and not ge.is_initialized()
    signal.signal(signal.SIGUSR1, signal.SIG_DFL)
    stream.destroy()
    ge.initialize()


def finalize_vs_callback_using_manager(deadline: float) -> None:
    """``ge.finalize()`` on one thread waits for a run whose allocator callback asks
    ``ge.has_session()`` and makes a ``ge.Session()``: no deadlock, a clear refusal."""
    entered = threading.Event()
    seen: list[object] = []
    session: Optional[ge.Session] = None

    def in_callback() -> None:
        entered.set()
        time.sleep(WAIT)  # ge.finalize() waits for this run by now
        assert session is not None
        seen.append(ge.has_session(session.session_id))
        try:
            ge.Session()
        except ge.GeError as exc:
            seen.append(exc.status_name)
        else:
            raise AssertionError("a session was made while GE was being finalized")

    hook = Hook(in_callback)
    session, stream = session_with_hook(hook)
    errors: list[str] = []
    t = thread(lambda: run_once(session, stream), errors)
    entered.wait()
    ge.finalize()
    join(t, deadline, errors)
    assert seen == [True, "GE_SESSION_MANAGER_NOT_INIT"], seen
    assert session.closed
    stream.destroy()
    ge.initialize()


def exit_with_daemon_in_callback(deadline: float) -> None:
    """The interpreter exits while a daemon thread sits in an allocator callback
    forever: exit does not wait for it (ends with ``OK`` and status 0)."""
    entered = threading.Event()
    hook = Hook(lambda: (entered.set(), threading.Event().wait()))  # type: ignore[func-returns-value]
    session, stream = session_with_hook(hook)
    threading.Thread(target=lambda: run_once(session, stream), daemon=True).start()
    entered.wait()
    print("OK", flush=True)
    faulthandler.cancel_dump_traceback_later()
    faulthandler.dump_traceback_later(max(1.0, deadline - time.monotonic()), exit=True)
    sys.exit(0)  # the exit hooks run; GE's allocator mutex is held forever


def stream_destroy_waits_for_a_run_on_it(deadline: float) -> None:
    """``Stream.destroy()`` on one thread while another thread's run on that stream
    is inside its allocator's malloc: the destroy waits for the run (the stream is
    counted in flight), never destroying the stream under GE."""
    entered = threading.Event()

    def dawdle() -> None:
        entered.set()
        time.sleep(WAIT)

    hook = Hook()
    session, stream = session_with_hook(hook)
    run_once(session, stream)  # loads the graph
    hook.on_malloc = dawdle
    errors: list[str] = []
    outs: list[ge.Tensor] = []
    x = ge.Tensor.from_numpy(np.arange(4, dtype=np.float32))
    runner = thread(
        lambda: outs.extend(session.run_graph_with_stream_async(1, stream, [x, x])), errors
    )
    entered.wait()
    destroyer = thread(stream.destroy, errors, device=False)
    time.sleep(WAIT / 3)
    assert destroyer.is_alive()  # waiting for the run to leave the stream
    join(runner, deadline, errors)
    join(destroyer, deadline, errors)  # its queue ran: the outputs are ready
    np.testing.assert_array_equal(outs[0].numpy(), 2 * np.arange(4, dtype=np.float32))
    for out in outs:
        out.close()
    x.close()
    session.close()


def fork_while_inside(deadline: float) -> None:
    """``os.fork()`` while another thread is inside an allocator callback (holding GE's
    allocator mutex, counted in flight on a session): the child comes up, refuses
    C calls clearly, never waits for the parent's threads, and exits."""
    entered, release = threading.Event(), threading.Event()
    hook = Hook(lambda: (entered.set(), release.wait()))  # type: ignore[func-returns-value]
    session, stream = session_with_hook(hook)
    errors: list[str] = []
    t = thread(lambda: run_once(session, stream), errors)
    entered.wait()
    faulthandler.register(signal.SIGUSR2, file=sys.stdout, all_threads=True)
    faulthandler.cancel_dump_traceback_later()  # its watchdog thread would not survive fork
    # Python >= 3.12 warns about fork() in a threaded process: that is the point here
    warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            assert not ge.is_initialized() and not ge.acl.is_initialized()
            assert not ge.has_session(session.session_id)
            session.close()  # the parent's object: inert, no wait for the parent's thread
            assert session.closed
            for refused in (ge.initialize, ge.acl.init, lambda: ge.acl.Stream()):
                expect_runtime_error(refused, "fork")
        except BaseException:
            traceback.print_exc(file=sys.stdout)
            code = 1
        sys.stdout.flush()
        sys.exit(code)  # through the exit hooks: nothing to wait for
    faulthandler.dump_traceback_later(max(1.0, deadline - time.monotonic()), exit=True)
    release.set()
    join(t, deadline, errors)
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGUSR2)  # its stacks
            time.sleep(0.5)
            os.kill(pid, signal.SIGKILL)
            raise AssertionError("the forked child hung")
        time.sleep(0.01)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    session.close()
    stream.destroy()


SCENARIOS: dict[str, Callable[[float], None]] = {
    f.__name__: f
    for f in (
        acl_finalize_vs_int_stream_copy,
        acl_finalize_vs_stream_destroy,
        finalize_inside_own_callback,
        signal_handler_finalizes,
        finalize_vs_callback_using_manager,
        exit_with_daemon_in_callback,
        stream_destroy_waits_for_a_run_on_it,
        fork_while_inside,
    )
}


if __name__ == "__main__":
    run_scenario_main(SCENARIOS, grace=2)
