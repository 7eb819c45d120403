"""``python -m ge demo``: the flow of GE's "run a graph asynchronously" guide.

GE and ACL init, device, stream, session, a graph ``(x + y) * x`` built with
``GraphBuilder``, ``run_graph``, then ``run_graph_with_stream_async`` with a
``CachingAllocator`` on the stream, synchronize, results checked against
numpy, everything released, finalize. Exit status 0 only if the numbers are
right.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

import numpy as np

from ge.testing.backend import BackendChoice, select_backend

SHAPE = (2, 3)
ASYNC_RUNS = 3


def run_demo(backend: BackendChoice = "auto", device: int = 0, out: TextIO = sys.stdout) -> int:
    """Run the flow, print what it did, return 0 if every result is right.

    The backend is chosen by :func:`ge.testing.select_backend` (falling back
    to the stand-in prints one line on stderr). Errors propagate: the CLI
    turns them into one line.
    """

    def say(line: str) -> None:
        print(line, file=out, flush=True)

    say(f"backend: {select_backend(backend)}")

    import ge
    import ge.acl
    from ge.allocator import AclAllocator, CachingAllocator

    rng = np.random.default_rng(0)
    x = rng.standard_normal(SHAPE, dtype=np.float32)
    y = rng.standard_normal(SHAPE, dtype=np.float32)
    expected = (x + y) * x
    ok = True

    ge.acl.init()
    try:
        with ge.acl.Device(device), ge.acl.Stream() as stream:
            ge.initialize({"ge.exec.deviceId": str(device), "ge.graphRunMode": "0"})
            try:
                builder = ge.GraphBuilder("demo")
                hx = builder.input(0, ge.DataType.DT_FLOAT, SHAPE)
                hy = builder.input(1, ge.DataType.DT_FLOAT, SHAPE)
                with builder.build([(hx + hy) * hx]) as graph, ge.Session() as session:
                    session.add_graph(1, graph)
                    say(f"graph: (x + y) * x on float32 {SHAPE}, session {session.session_id}")
                    inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]
                    t0 = time.perf_counter()
                    (result,) = session.run_graph(1, inputs)
                    got = result.numpy()
                    result.close()
                    good = bool(np.allclose(got, expected, rtol=1e-6, atol=1e-6))
                    ok &= good
                    took = (time.perf_counter() - t0) * 1e3
                    say(f"run_graph: {'ok' if good else 'WRONG'} in {took:.2f} ms")

                    allocator = CachingAllocator(AclAllocator())
                    session.register_external_allocator(stream, allocator)
                    device_inputs = [t.to_device() for t in inputs]
                    t0 = time.perf_counter()
                    for _ in range(ASYNC_RUNS):
                        (result,) = session.run_graph_with_stream_async(1, stream, device_inputs)
                        stream.synchronize()
                        good = bool(np.allclose(result.numpy(), expected, rtol=1e-6, atol=1e-6))
                        ok &= good
                        result.close()
                    took = (time.perf_counter() - t0) * 1e3 / ASYNC_RUNS
                    say(
                        f"run_graph_with_stream_async x{ASYNC_RUNS}: "
                        f"{'ok' if ok else 'WRONG'}, {took:.2f} ms per run"
                    )
                    stats = allocator.stats()
                    say(
                        f"CachingAllocator: {stats.hits} hits, {stats.misses} misses, "
                        f"peak {stats.peak_bytes_in_use} B in use"
                    )
                    for tensor in device_inputs:
                        tensor.close()
                    session.unregister_external_allocator(stream)
                # the graph's own memory (GE took it from the allocator when it
                # loaded the graph) came back when the session closed
                allocator.empty_cache()
            finally:
                ge.finalize()
    finally:
        ge.acl.finalize()
    say("released everything; GE and ACL finalized")
    say("result: " + ("correct" if ok else "WRONG"))
    return 0 if ok else 1
