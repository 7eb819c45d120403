"""A storm of interrupts over the whole lifecycle, run in a child process by
reliability/test_signals.py (a failure here may be a crash, a hang or a leak).

Usage: ``python storm.py SEED SECONDS``, between the scenario scripts' set-up
and checks (``_scenario_main.run_in_child``). A ``setitimer(ITIMER_REAL)`` fires
every few microseconds to milliseconds (``SEED`` chooses the intervals), its
handler raises ``KeyboardInterrupt``, and a loop creates, uses and closes every
kind of object meanwhile: ACL and GE initialisation, sessions, builders and
graphs, adding, compiling, running (sync and async), tensors from numpy and
back, device and host buffers, streams, an external allocator, GE's finalize.
Every interrupt is caught where it lands and the loop goes on. Then, with the
timer stopped, it checks that:

* no call is left counted in flight on the objects that lived through the
  storm, and a ``close()`` of each on another thread returns (no hang);
* once everything is closed and finalized (``_scenario_main.ge_up``), every
  live count of the stand-in (strict: a dead handle reaching C aborts) is back
  to zero (no leak);
* nothing was printed on stderr (no exception dropped by a finalizer).

Prints ``OK`` last and exits 0 on success.
"""

from __future__ import annotations

import faulthandler
import gc
import os
import random
import signal
import sys
import threading
import time
from typing import Any, Callable

import numpy as np
from _scenario_main import run_in_child

import ge
import ge.acl
from ge import _native
from ge.allocator import AclAllocator
from ge.graph import TensorDesc

F32 = ge.DataType.DT_FLOAT
X = np.arange(4, dtype=np.float32)


def quietly(step: Callable[[], Any]) -> Any:
    """Run ``step``; an interrupt (or the error of a half-done state) is swallowed."""
    try:
        return step()
    except KeyboardInterrupt:
        return None
    except (ge.GeError, ge.AclError, ValueError, RuntimeError):
        return None


def until_done(step: Callable[[], Any]) -> Any:
    """Run ``step`` until no interrupt cuts it short (the state it reaches must hold)."""
    while True:
        try:
            return step()
        except KeyboardInterrupt:
            continue


def build() -> ge.Graph:
    with ge.GraphBuilder("add") as builder:
        x = builder.input(0, F32, (4,))
        y = builder.input(1, F32, (4,))
        return builder.build([(x + y) * 2.0])


def ensure_ge() -> None:
    if not ge.is_initialized():
        ge.initialize()


SKIP_RUNS = bool(os.environ.get("STORM_SKIP_RUNS"))
"""Leave out the runs (to tell their windows from the others' when one fails)."""
passes = [0]
"""Passes that ran to the end."""


def one_pass(keep: dict[str, Any], rng: random.Random) -> None:
    """One of each: objects made and closed, or dropped (finalizers), under the storm."""
    quietly(ensure_ge)
    stream = keep["stream"]
    with ge.Session() as session:
        graph = build()
        with graph:
            session.add_graph(1, graph)
            session.add_graph(2, graph)
        session.compile_graph(2)
        session.load_graph(2, stream=stream)
        with ge.Tensor.from_numpy(X) as tx, ge.Tensor.from_numpy(X) as ty:
            if not SKIP_RUNS:
                for out in session.run_graph(1, [tx, ty]):
                    with out:
                        out.numpy()
                for out in session.run_graph_with_stream_async(2, stream, [tx, ty]):
                    stream.synchronize()
                    with out:
                        out.numpy()
            tx.numpy()
            with tx.get_tensor_desc():
                pass
    ge.Tensor.from_numpy(X)  # dropped: the finalizer frees it
    TensorDesc([2, 2], ge.Format.FORMAT_ND, F32).close()
    ge.Graph("g")  # dropped
    with ge.acl.DeviceBuffer(64) as d, ge.acl.HostBuffer(64):
        d.size  # noqa: B018
    with ge.acl.Stream():
        pass
    if rng.random() < 0.05:
        ge.finalize()
    passes[0] += 1


def storm(seed: int, seconds: float) -> None:
    """The storm, with ACL and GE up (``ge_up`` finalizes them and counts afterwards)."""
    rng = random.Random(seed)
    keep: dict[str, Any] = {}
    keep["stream"] = until_done(ge.acl.Stream)
    keep["session"] = until_done(ge.Session)
    keep["graph"] = until_done(build)
    keep["tensor"] = until_done(lambda: ge.Tensor.from_numpy(X))
    keep["alloc_stream"] = until_done(ge.acl.Stream)
    until_done(
        lambda: keep["session"].register_external_allocator(keep["alloc_stream"], AclAllocator())
    )

    harness = {storm.__code__, until_done.__code__, quietly.__code__}

    def interrupt(signum: int, frame: Any) -> None:
        signal.setitimer(signal.ITIMER_REAL, rng.choice((3e-6, 2e-5, 1e-4, 5e-4, 2e-3)))
        if frame is not None and frame.f_code in harness:
            return  # the loops of this script (their back edges are outside any try)
        raise KeyboardInterrupt

    harness.add(interrupt.__code__)  # a signal landing in the handler itself

    interrupts = 0
    signal.signal(signal.SIGALRM, interrupt)
    end = time.monotonic() + seconds
    signal.setitimer(signal.ITIMER_REAL, 1e-4)
    try:
        while True:
            try:
                if time.monotonic() > end:
                    break
                one_pass(keep, rng)
                keep["session"].ge_session_id  # noqa: B018
                keep["tensor"].numpy()
                keep["graph"].name  # noqa: B018
            except KeyboardInterrupt:
                interrupts += 1
            except (ge.GeError, ge.AclError, ValueError, RuntimeError):
                pass  # a state an interrupt left half done (GE finalized meanwhile...)
    finally:
        while True:  # the timer off, with no interrupt left pending
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_IGN)
                break
            except KeyboardInterrupt:
                continue
    assert interrupts > 50 and passes[0] > 5, (interrupts, passes)

    assert not _native._runs, _native._runs  # no call left counted in flight
    for name, obj in keep.items():
        assert not obj._calls, (name, obj._calls)
    for name, obj in keep.items():  # and a close on another thread returns
        closer = threading.Thread(target=obj.close, daemon=True)
        closer.start()
        closer.join(10)
        if closer.is_alive():
            faulthandler.dump_traceback(file=sys.stdout, all_threads=True)
        assert not closer.is_alive(), f"close() of the {name} hangs"
    keep.clear()
    gc.collect()
    print(f"interrupts: {interrupts}, passes: {passes[0]}")


if __name__ == "__main__":
    seed, seconds = int(sys.argv[1]), float(sys.argv[2])
    run_in_child(lambda: storm(seed, seconds), seconds, grace=30)
