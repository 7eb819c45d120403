"""The peer side of ``python -m benchmarks --cann-python DIR``: CANN's own package.

Run by :mod:`benchmarks.bench_peer` in a child process, never imported by
this package's code: CANN's package is also a top-level ``ge``, so it gets a
process of its own, with ``DIR`` first on ``sys.path`` and the environment of
the stand-in's CANN layout (``set_env.sh``; CANN's package loads
``ge/_capi/lib*.so`` from its own directory, else the bare name through
``LD_LIBRARY_PATH``). Usage::

    python _peer_child.py SIDE DIR REPO MODE

``SIDE`` is ``cann`` (CANN's package from ``DIR``) or ``ours`` (this
package, from ``REPO``, on the same libraries of the same layout, so that
both sides run in the same kind of process). ``REPO`` (this repository,
after ``DIR`` on ``sys.path``) provides :mod:`benchmarks._timing`, which is
plain Python; ``MODE`` is ``serve`` or ``trace``. ``serve``: the child sets
the operations up, prints ``{"ready": ...}``, then answers one JSON line per
command line on stdin, so that the parent can alternate the two sides batch
by batch: ``{"warm": OP, "batch_ns": N, "fixed_inner": K}`` warms ``OP`` up
and answers the batch length; ``{"batch": OP, "inner": K}`` times one batch
and answers its wall and thread CPU nanoseconds; ``{"quit": true}`` tears
down. The cyclic GC is off while serving; the warm-up answer also says how
many objects one call leaves in reference cycles, and a side whose calls
leave some has the collection of its young generation timed with each batch
(what the other side frees by reference counting is timed too). ``trace``: each operation is run
once after a warm-up call, and the C symbols that the second call made are
recorded (last line of stdout).

CANN's package binds over a hundred C symbols when it is imported (GNode,
AttrValue, Operator, ...) that the stand-in does not export. The shim below
makes a ``CDLL`` attribute lookup of a missing symbol return a placeholder
that raises if it is ever called, and records the name; nothing of CANN's
package is modified. In ``trace`` mode every symbol that does exist is
wrapped in a recorder instead (not in ``time`` mode: the wrapper would slow
the peer down).
"""

from __future__ import annotations

import ctypes
import gc
import json
import os
import sys
from typing import Any, Callable

MISSING: dict[str, str] = {}
"""Symbol -> library: what CANN's package looked up and the library lacks."""
CALLED: dict[str, int] = {}
"""Symbol -> calls, in trace mode."""
_TRACING = False


class MissingSymbol:
    """Stands for a C symbol the library does not export: accepts ``argtypes``
    and ``restype`` as a function pointer does, raises when called."""

    def __init__(self, library: str, name: str) -> None:
        self.library = library
        self.name = name

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError(
            f"{self.name} is not exported by {self.library}: the benchmark called a "
            "placeholder (every symbol a measured operation calls must be real)"
        )


class TracedSymbol:
    """A real C function that records each call (trace mode only)."""

    __slots__ = ("_name", "_real")

    def __init__(self, real: Any, name: str) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_name", name)

    def __getattr__(self, key: str) -> Any:
        return getattr(self._real, key)

    def __setattr__(self, key: str, value: Any) -> None:
        setattr(self._real, key, value)

    def __call__(self, *args: Any) -> Any:
        CALLED[self._name] = CALLED.get(self._name, 0) + 1
        return self._real(*args)


_cdll_getattr = ctypes.CDLL.__getattr__


def _tolerant_getattr(self: ctypes.CDLL, name: str) -> Any:
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError(name)
    try:
        func: Any = _cdll_getattr(self, name)
    except AttributeError:
        library = os.path.basename(str(self._name))
        func = MissingSymbol(library, name)
        MISSING.setdefault(name, library)
    else:
        if _TRACING:
            func = TracedSymbol(func, name)
    setattr(self, name, func)
    return func


def install_shim(tracing: bool) -> None:
    """Make missing symbols placeholders (and, ``tracing``, record real calls)."""
    global _TRACING
    _TRACING = tracing
    ctypes.CDLL.__getattr__ = _tolerant_getattr  # type: ignore[method-assign]


N_ELEMENTS = 1_000_000
SMALL = 16
COUNTS = (1, 8)


class _Acl:
    """ACL through bare ctypes (CANN's Python package has no ACL API): the
    setup around the measured operations, never measured itself."""

    def __init__(self) -> None:
        self.lib = ctypes.CDLL("libascendcl.so")
        self.lib.aclrtCreateStream.argtypes = (ctypes.POINTER(ctypes.c_void_p),)
        self.lib.aclrtSynchronizeStream.argtypes = (ctypes.c_void_p,)
        self.lib.aclrtDestroyStream.argtypes = (ctypes.c_void_p,)
        self.lib.aclInit.argtypes = (ctypes.c_char_p,)
        self.lib.aclrtSetDevice.argtypes = (ctypes.c_int32,)
        self.lib.aclrtResetDevice.argtypes = (ctypes.c_int32,)
        self._check(self.lib.aclInit(None), "aclInit")
        self._check(self.lib.aclrtSetDevice(0), "aclrtSetDevice")

    @staticmethod
    def _check(code: int, what: str) -> None:
        if code:
            raise RuntimeError(f"{what} failed: {code}")

    def stream(self) -> int:
        handle = ctypes.c_void_p()
        self._check(self.lib.aclrtCreateStream(ctypes.byref(handle)), "aclrtCreateStream")
        return int(handle.value or 0)

    def close(self, streams: list[int]) -> None:
        for stream in streams:
            self.lib.aclrtDestroyStream(stream)
        self.lib.aclrtResetDevice(0)
        self.lib.aclFinalize()


def operations(ge: Any, acl: _Acl) -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    """The measured operations through CANN's package, and their teardown."""
    from ge.es import GraphBuilder
    from ge.ge_global import GeApi
    from ge.graph import Tensor
    from ge.graph.types import DataType, Format
    from ge.session import Session

    try:
        from ge.allocator import Allocator, MemBlock
    except ImportError:  # older layouts
        from ge.allocator.allocator import Allocator, MemBlock

    GeApi.ge_initialize({"ge.exec.deviceId": "0"})
    session = Session()
    streams = [acl.stream(), acl.stream()]
    run_stream, alloc_stream = streams
    for count in COUNTS:
        builder = GraphBuilder(f"sum_of_{count}")
        holders = [
            builder.create_input(i, data_type=DataType.DT_FLOAT, shape=[SMALL])
            for i in range(count)
        ]
        total = holders[0]
        for holder in holders[1:]:
            total = total + holder
        builder.set_graph_output(total, 0)
        session.add_graph(count, builder.build_and_reset())
    inputs = {
        count: [
            Tensor([1.0] * SMALL, None, DataType.DT_FLOAT, Format.FORMAT_ND, [SMALL])
            for _ in range(count)
        ]
        for count in COUNTS
    }
    values = [float(i % 251) for i in range(N_ELEMENTS)]
    big = Tensor(values, None, DataType.DT_FLOAT, Format.FORMAT_ND, [N_ELEMENTS])

    class Block(Allocator):  # type: ignore[misc, valid-type]
        def malloc(self, size: int) -> Any:
            return MemBlock(0x1000, size)

        def free(self, block: Any) -> None:
            pass

    allocator = Block()

    def create() -> object:
        return Tensor(values, None, DataType.DT_FLOAT, Format.FORMAT_ND, [N_ELEMENTS])

    def read() -> object:
        return big.get_data()

    def run(count: int) -> Callable[[], object]:
        tensors = inputs[count]

        def once() -> object:
            return session.run_graph(count, tensors)

        return once

    def run_async() -> object:
        outputs = session.run_graph_with_stream_async(8, run_stream, inputs[8])
        acl._check(acl.lib.aclrtSynchronizeStream(run_stream), "aclrtSynchronizeStream")
        return outputs

    def register() -> None:
        session.register_external_allocator(alloc_stream, allocator)
        session.unregister_external_allocator(alloc_stream)

    ops: dict[str, Callable[[], object]] = {
        "create": create,
        "read": read,
        "run_graph_1": run(1),
        "run_graph_8": run(8),
        "run_async_8": run_async,
        "register_allocator": register,
    }

    def teardown() -> None:
        nonlocal session, big
        for count in COUNTS:
            session.remove_graph(count)
        inputs.clear()
        del big
        del session
        gc.collect()
        GeApi.ge_finalize()
        acl.close(streams)

    return ops, teardown


def our_operations() -> tuple[dict[str, Callable[[], object]], Callable[[], None]]:
    """The same operations through this package (``ge`` is ours in this process)."""
    import numpy as np

    import ge
    import ge.acl
    from benchmarks._env import sum_graph
    from ge.allocator import Allocator, MemBlock

    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    ge.initialize({"ge.exec.deviceId": "0"})
    session = ge.Session()
    run_stream, alloc_stream = ge.acl.Stream(), ge.acl.Stream()
    for count in COUNTS:
        with sum_graph(count, (SMALL,)) as graph:
            session.add_graph(count, graph)
    inputs = {
        count: [ge.Tensor.from_numpy(np.ones(SMALL, np.float32)) for _ in range(count)]
        for count in COUNTS
    }
    array = np.asarray([float(i % 251) for i in range(N_ELEMENTS)], np.float32)
    big = ge.Tensor.from_numpy(array)

    class Block(Allocator):
        def malloc(self, size: int) -> MemBlock:
            return MemBlock(0x1000, size)

        def free(self, block: MemBlock) -> None:
            pass

    allocator = Block()

    def create() -> None:
        ge.Tensor.from_numpy(array).close()

    def run(count: int) -> Callable[[], None]:
        tensors = inputs[count]

        def once() -> None:
            for tensor in session.run_graph(count, tensors):
                tensor.close()

        return once

    def run_async() -> None:
        outputs = session.run_graph_with_stream_async(8, run_stream, inputs[8])
        run_stream.synchronize()
        for tensor in outputs:
            tensor.close()

    def register() -> None:
        session.register_external_allocator(alloc_stream, allocator)
        session.unregister_external_allocator(alloc_stream)

    ops: dict[str, Callable[[], object]] = {
        "create": create,
        "read": big.numpy,
        "run_graph_1": run(1),
        "run_graph_8": run(8),
        "run_async_8": run_async,
        "register_allocator": register,
    }

    def teardown() -> None:
        big.close()
        for tensors in inputs.values():
            for tensor in tensors:
                tensor.close()
        session.close()
        run_stream.close()
        alloc_stream.close()
        ge.finalize()
        device.reset()
        ge.acl.finalize()

    return ops, teardown


GARBAGE_PROBE = 200
"""Calls run after warm-up to count the cyclic garbage one call leaves."""


def cyclic_garbage_per_call(op: Callable[[], object], calls: int = GARBAGE_PROBE) -> float:
    """Objects in reference cycles that one call of ``op`` leaves for the cyclic GC.

    The batches run with the GC off: what a call frees by reference counting is
    timed, what it leaves in cycles is not (and piles up). A side whose calls
    leave cycles is charged for collecting them (see :func:`_charged_batch`)."""
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(calls):
            op()
        return gc.collect() / calls
    finally:
        if was_enabled:
            gc.enable()


def _charged_batch(case: Any, inner: int, garbage: float) -> tuple[int, int]:
    """One timed batch; when the operation leaves cyclic garbage, collecting it
    (the young generation, where it all is) is timed with the batch, so that
    both sides pay for freeing what their calls made."""
    import time

    from benchmarks._timing import _timed_batch

    wall, cpu = _timed_batch(case, inner)
    if garbage:
        cpu_start, start = time.thread_time_ns(), time.perf_counter_ns()
        gc.collect(0)
        wall += time.perf_counter_ns() - start
        cpu += time.thread_time_ns() - cpu_start
    return wall, cpu


def serve(ops: dict[str, Callable[[], object]], channel: Any) -> None:
    """Answer the parent's commands (see the module's notes) until it says quit."""
    from benchmarks._timing import Case, Plan, calibrate, gc_paused, warm_up

    cases = {name: Case(name, op) for name, op in ops.items()}
    garbage: dict[str, float] = {}
    print(json.dumps({"ready": True, "missing": MISSING}), file=channel, flush=True)
    with gc_paused():
        for line in sys.stdin:
            command = json.loads(line)
            if "quit" in command:
                break
            if "warm" in command:
                name = command["warm"]
                case = cases[name]
                plan = Plan(
                    warmup=command.get("warmup", 100),
                    batch_ns=command["batch_ns"],
                    fixed_inner=command.get("fixed_inner"),
                )
                warm_up(case, plan)
                calls = 1 if command.get("fixed_inner") == 1 else GARBAGE_PROBE
                garbage[name] = cyclic_garbage_per_call(case.op, calls)
                answer: dict[str, Any] = {
                    "inner": calibrate([case], plan),
                    "garbage": garbage[name],
                }
            else:
                name = command["batch"]
                wall, cpu = _charged_batch(cases[name], command["inner"], garbage.get(name, 0.0))
                answer = {"wall": wall, "cpu": cpu}
            print(json.dumps(answer), file=channel, flush=True)


def main(argv: list[str]) -> int:
    side, directory, repo, mode = argv[1], argv[2], argv[3], argv[4]
    # The answers go to the original stdout; whatever else prints (the packages,
    # the libraries) goes to stderr, so that it cannot garble them.
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    if side == "cann":
        install_shim(tracing=mode == "trace")
        sys.path[:0] = [directory, repo]
    else:
        sys.path[:0] = [repo]
    import ge

    where = os.path.dirname(os.path.abspath(ge.__file__))
    expected = directory if side == "cann" else repo
    if not where.startswith(os.path.abspath(expected) + os.sep):
        raise SystemExit(f"'import ge' found {where}, not a package under {expected}")
    if side == "cann":
        acl = _Acl()
        ops, teardown = operations(ge, acl)
    else:
        ops, teardown = our_operations()
    if mode == "trace":
        calls: dict[str, list[str]] = {}
        for name, op in ops.items():
            op()  # warm: a first call may do one-off work (a default allocator)
            gc.collect()
            CALLED.clear()
            op()
            gc.collect()  # what the outputs' finalizers call belongs to the operation
            calls[name] = sorted(CALLED)
        teardown()
        result = {"ge_package": where, "calls": calls, "missing": MISSING}
        print(json.dumps(result), file=channel, flush=True)
    else:
        serve(ops, channel)
        teardown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
