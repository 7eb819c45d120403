"""The whole flow a user runs, checked number by number and object by object."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
from _helpers.processes import ROOT

import ge
import ge.acl
from ge.allocator import AclAllocator, Allocator, CachingAllocator, MemBlock


class CountingAllocator(Allocator):
    """A plain Python allocator on ACL memory that counts its calls."""

    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.live: set[int] = set()
        self.mallocs = self.frees = 0

    def malloc(self, size: int) -> MemBlock:
        block = self.inner.malloc(size)
        self.mallocs += 1
        self.live.add(block.addr)
        return block

    def free(self, block: MemBlock) -> None:
        self.live.remove(block.addr)  # KeyError on a double free
        self.frees += 1
        self.inner.free(block)


def test_end_to_end(ge_stub: Any) -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = rng.standard_normal((3, 4)).astype(np.float32)
    expected = (x + y) * x

    ge.acl.init()
    with ge.acl.Device(0), ge.acl.Stream() as s1, ge.acl.Stream() as s2:
        ge.initialize({"ge.exec.deviceId": "0"})
        builder = ge.GraphBuilder("e2e")
        hx = builder.input(0, ge.DataType.DT_FLOAT, (3, 4))
        hy = builder.input(1, ge.DataType.DT_FLOAT, (3, 4))
        graph = builder.build([(hx + hy) * hx, hx - hy])
        session = ge.Session({"ge.session_device_id": "0"})
        session.add_graph(1, graph)
        inputs = [ge.Tensor.from_numpy(x), ge.Tensor.from_numpy(y)]

        product, difference = session.run_graph(1, inputs)
        np.testing.assert_allclose(product.numpy(), expected, rtol=1e-6)
        np.testing.assert_array_equal(difference.numpy(), x - y)

        counting = CountingAllocator()
        caching = CachingAllocator(AclAllocator())
        session.register_external_allocator(s1, counting)
        session.register_external_allocator(s2, caching)
        results = []
        for _ in range(4):
            results.append(session.run_graph_with_stream_async(1, s1, inputs))
            results.append(session.run_graph_with_stream_async(1, s2.handle, inputs))
        s1.synchronize()
        s2.synchronize()
        for prod, diff in results:
            np.testing.assert_allclose(prod.numpy(), expected, rtol=1e-6)
            np.testing.assert_array_equal(diff.numpy(), x - y)
            prod.close()
            diff.close()
        # s1 ran the graph first: GE loaded it there, taking its own memory (two
        # blocks, until the graph goes) from s1's allocator
        assert counting.mallocs == 10 and counting.frees == 8 and len(counting.live) == 2
        stats = caching.stats()
        assert (stats.bytes_in_use, stats.misses, stats.hits) == (0, 8, 0)  # 8 held at once
        for _ in range(4):  # warm cache: each run reuses the two blocks freed before it
            for out in session.run_graph_with_stream_async(1, s2, inputs):
                s2.synchronize()
                out.close()
        stats = caching.stats()
        assert (stats.bytes_in_use, stats.misses, stats.hits) == (0, 8, 8)

        for t in (*inputs, product, difference):
            t.close()
        graph.close()
        builder.close()
        session.close()
        assert counting.frees == 10 and not counting.live
        ge.finalize()
        caching.empty_cache()
    ge.acl.finalize()

    counts = ge_stub.callback_counts()
    assert counts["malloc"] == counts["free"] == 26
    assert counts["get_addr"] == 26 and counts["on_destroy"] == 2
    assert all(n == 0 for n in ge_stub.live_counts().values()), ge_stub.live_counts()


def _run_module(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ge", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )


def test_demo_on_the_stand_in(ge_stub_library: str) -> None:
    done = _run_module("demo", "--backend", "stub")
    assert done.returncode == 0, done.stderr
    assert "the CPU stand-in" in done.stdout
    assert "run_graph: ok" in done.stdout and "result: correct" in done.stdout
    assert done.stderr == ""


# The demo's fallback, doctor and the examples: tests/integration/test_cli.py, test_examples.py
