"""1. Per-call overhead of ``Session.run_graph`` and ``run_graph_with_stream_async``.

Both sides make the same C calls to the same stand-in functions, through the
same ctypes function objects (``ge._ffi.api``, argtypes set):

* ``run_graph``: wrapper ``outs = session.run_graph(gid, inputs)`` then
  ``close()`` of each output; baseline ``RunGraph`` with a pre-built input
  array and pre-built ``byref`` out-parameters, ``DestroyEsCTensor`` of each
  output handle, ``FreeTensorArray``.
* ``run_graph_with_stream_async``: wrapper ``outs =
  session.run_graph_with_stream_async(gid, stream, inputs)``,
  ``stream.synchronize()``, ``close()`` of each output; baseline
  ``RunGraphWithStreamAsync`` (same stream, pre-built arguments),
  ``FreeTensorArray``, ``aclrtSynchronizeStream``, ``DestroyEsCTensor``. The
  stream's allocator is GE's default one, registered by the wrapper's first
  (warm-up) call and used by both sides, so no Python callback runs.

* ``GraphBinding.run`` / ``GraphBinding.run_async``: the same, through a
  binding made once (``session.bind(gid)``, ``session.bind(gid, stream)``)
  before timing; same baselines.

* ``Stream.synchronize`` of an empty stream against bare
  ``aclrtSynchronizeStream`` on the same stream (the cost of the call itself).
* an output's ``close()``: ``RunGraph`` and ``FreeTensorArray`` through bare
  ctypes on both sides, the output then owned by a ``Tensor`` (as a run makes
  it) and closed, against ``DestroyEsCTensor`` of the bare handle; both sides
  pay the same run, so the difference is the output's ``Tensor`` and its close.

The graphs sum 1, 8 or 64 float32 inputs of 16 elements into one output.
"""

from __future__ import annotations

import ctypes
from typing import Callable

import ge
import ge.acl
from benchmarks._env import ge_ready, small_inputs, sum_graph
from benchmarks._report import Row
from benchmarks._timing import Case, Plan, interleaved
from ge._ffi import _bind_named, api, owned
from ge._ffi.handles import TensorHandle

FAMILY = "calls"
INPUT_COUNTS = (1, 8, 64)
ASYNC_TARGET_INPUTS = 8
ASYNC_TARGET = 1.8
"""run_graph_with_stream_async with 8 inputs: at most 1.8x the bare sequence (issue 13)."""
BOUND_ASYNC_TARGET = 1.3
"""GraphBinding.run_async with 8 inputs: at most 1.3x the bare sequence (issue 13)."""

NOTES = [
    "calls: wrapper = Session.run_graph(gid, inputs) + close() of each output; baseline = "
    "bare ctypes RunGraph with a pre-built input array and pre-built byref out-parameters, "
    "DestroyEsCTensor of each output, FreeTensorArray (same ge._ffi.api function objects).",
    "calls (async): wrapper = run_graph_with_stream_async(gid, stream, inputs) + "
    "stream.synchronize() + close() of each output; baseline = RunGraphWithStreamAsync on the "
    "same stream with pre-built arguments, FreeTensorArray, aclrtSynchronizeStream, "
    "DestroyEsCTensor. GE's default allocator serves both (no Python callback).",
    "calls (bound): GraphBinding.run(inputs) / run_async(inputs) of a binding made once "
    "(session.bind(gid[, stream])), outputs closed (and the stream synchronized) as above; "
    "same bare baselines.",
    "calls: graphs sum 1/8/64 float32[16] inputs into one output; inputs are pre-built Tensors.",
    "calls (parts): Stream.synchronize() of an empty stream vs bare aclrtSynchronizeStream; "
    "an output's Tensor + close() vs bare DestroyEsCTensor, both after the same bare RunGraph "
    "of the 1-input graph (so the ratio understates the difference).",
]


def _bare_sync(session_handle: int, gid: int, inputs: list[ge.Tensor]) -> Callable[[], None]:
    run = api.GeApiWrapper_Session_RunGraph
    free_array = api.GeApiWrapper_Session_FreeTensorArray
    destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor
    count = len(inputs)
    in_array = (ctypes.c_void_p * count)(*(t.handle for t in inputs))
    out_ptr = ctypes.POINTER(ctypes.c_void_p)()
    out_count = ctypes.c_size_t()
    p_out, p_count = ctypes.byref(out_ptr), ctypes.byref(out_count)

    def bare() -> None:
        if run(session_handle, gid, in_array, count, p_out, p_count):
            raise RuntimeError("RunGraph failed")
        for i in range(out_count.value):
            destroy(out_ptr[i])
        free_array(out_ptr)

    return bare


def _bare_async(
    session_handle: int, gid: int, stream_handle: int, inputs: list[ge.Tensor]
) -> Callable[[], None]:
    run = api.GeApiWrapper_Session_RunGraphWithStreamAsync
    free_array = api.GeApiWrapper_Session_FreeTensorArray
    sync = api.aclrtSynchronizeStream
    destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor
    count = len(inputs)
    in_array = (ctypes.c_void_p * count)(*(t.handle for t in inputs))
    out_ptr = ctypes.POINTER(ctypes.c_void_p)()
    out_count = ctypes.c_size_t()
    p_out, p_count = ctypes.byref(out_ptr), ctypes.byref(out_count)

    def bare() -> None:
        if run(session_handle, gid, stream_handle, in_array, count, p_out, p_count):
            raise RuntimeError("RunGraphWithStreamAsync failed")
        outputs = [out_ptr[i] for i in range(out_count.value)]
        free_array(out_ptr)
        if sync(stream_handle):
            raise RuntimeError("aclrtSynchronizeStream failed")
        for handle in outputs:
            destroy(handle)

    return bare


def _wrapper_sync(session: ge.Session, gid: int, inputs: list[ge.Tensor]) -> Callable[[], None]:
    def wrapper() -> None:
        for tensor in session.run_graph(gid, inputs):
            tensor.close()

    return wrapper


def _wrapper_async(
    session: ge.Session, gid: int, stream: ge.acl.Stream, inputs: list[ge.Tensor]
) -> Callable[[], None]:
    def wrapper() -> None:
        outputs = session.run_graph_with_stream_async(gid, stream, inputs)
        stream.synchronize()
        for tensor in outputs:
            tensor.close()

    return wrapper


def _bound_sync(binding: ge.session.GraphBinding, inputs: list[ge.Tensor]) -> Callable[[], None]:
    def wrapper() -> None:
        for tensor in binding.run(inputs):
            tensor.close()

    return wrapper


def _bound_async(
    binding: ge.session.GraphBinding, stream: ge.acl.Stream, inputs: list[ge.Tensor]
) -> Callable[[], None]:
    def wrapper() -> None:
        outputs = binding.run_async(inputs)
        stream.synchronize()
        for tensor in outputs:
            tensor.close()

    return wrapper


def _bare_output(session_handle: int, inputs: list[ge.Tensor], wrap: bool) -> Callable[[], None]:
    """Bare ``RunGraph`` of graph 1 and ``FreeTensorArray``; the output then closed
    as a ``Tensor`` (``wrap``, adopted as a run adopts it) or destroyed bare."""
    run = api.GeApiWrapper_Session_RunGraph
    free_array = api.GeApiWrapper_Session_FreeTensorArray
    destroy = api.GeApiWrapper_Tensor_DestroyEsCTensor
    adopt = ge.Tensor._adopt_outputs
    owning_handle = owned.armed_class(TensorHandle, _bind_named)
    in_array = (ctypes.c_void_p * len(inputs))(*(t.handle for t in inputs))
    out_ptr = ctypes.POINTER(ctypes.c_void_p)()
    out_count = ctypes.c_size_t()
    p_out, p_count = ctypes.byref(out_ptr), ctypes.byref(out_count)

    def wrapped() -> None:
        outputs, count, taking = owned.run_outputs(owning_handle, free_array)  # as a run does
        if run(session_handle, 1, in_array, len(inputs), outputs, count):
            raise RuntimeError("RunGraph failed")
        for tensor in adopt(outputs, count, taking, "RunGraph", 1, None, ()):
            tensor.close()

    def bare() -> None:
        if run(session_handle, 1, in_array, len(inputs), p_out, p_count):
            raise RuntimeError("RunGraph failed")
        handles = out_ptr[: out_count.value]
        free_array(out_ptr)
        for handle in handles:
            destroy(handle)

    return wrapped if wrap else bare


def _parts(session: ge.Session, stream: ge.acl.Stream, plan: Plan) -> list[Row]:
    """``Stream.synchronize`` and an output's ``close()`` against their bare calls."""
    sync = api.aclrtSynchronizeStream
    stream_handle = stream.handle
    inputs = small_inputs(1)
    try:
        timings = interleaved(
            [
                Case("Stream.synchronize", stream.synchronize),
                Case("bare aclrtSynchronizeStream", lambda: sync(stream_handle)),
                Case("output Tensor + close", _bare_output(session.handle, inputs, True)),
                Case("bare DestroyEsCTensor", _bare_output(session.handle, inputs, False)),
            ],
            plan,
        )
    finally:
        for tensor in inputs:
            tensor.close()
    return [
        Row.from_timings(FAMILY, "Stream.synchronize", "empty stream", timings[0], timings[1]),
        Row.from_timings(FAMILY, "output Tensor + close()", "1 output", timings[2], timings[3]),
    ]


def run(quick: bool) -> list[Row]:
    """Time both run methods against their bare sequences for 1, 8 and 64 inputs."""
    plan = Plan(rounds=31 if quick else 101, warmup=200, batch_ns=5_000_000)
    rows: list[Row] = []
    with ge_ready(), ge.Session() as session, ge.acl.Stream() as stream:
        handle = session.handle
        for count in INPUT_COUNTS:
            with sum_graph(count) as graph:
                session.add_graph(count, graph)
            inputs = small_inputs(count)
            try:
                # The first async call registers GE's default allocator on the stream.
                _wrapper_async(session, count, stream, inputs)()
                timings = interleaved(
                    [
                        Case("wrapper run_graph", _wrapper_sync(session, count, inputs)),
                        Case("bare RunGraph", _bare_sync(handle, count, inputs)),
                        Case(
                            "wrapper run_graph_with_stream_async",
                            _wrapper_async(session, count, stream, inputs),
                        ),
                        Case(
                            "bare RunGraphWithStreamAsync",
                            _bare_async(handle, count, stream.handle, inputs),
                        ),
                        Case("bound run", _bound_sync(session.bind(count), inputs)),
                        Case(
                            "bound run_async",
                            _bound_async(session.bind(count, stream), stream, inputs),
                        ),
                    ],
                    plan,
                )
            finally:
                for tensor in inputs:
                    tensor.close()
            size = f"{count} input{'s' if count > 1 else ''}"
            rows.append(
                Row.from_timings(
                    FAMILY,
                    "Session.run_graph",
                    size,
                    timings[0],
                    timings[1],
                    extra={"inputs": count, "outputs": 1},
                )
            )
            rows.append(
                Row.from_timings(
                    FAMILY,
                    "run_graph_with_stream_async",
                    size,
                    timings[2],
                    timings[3],
                    target=ASYNC_TARGET if count == ASYNC_TARGET_INPUTS else None,
                    extra={"inputs": count, "outputs": 1, "synchronize_each_call": True},
                )
            )
            rows.append(
                Row.from_timings(
                    FAMILY,
                    "GraphBinding.run",
                    size,
                    timings[4],
                    timings[1],
                    extra={"inputs": count, "outputs": 1, "bound": True},
                )
            )
            rows.append(
                Row.from_timings(
                    FAMILY,
                    "GraphBinding.run_async",
                    size,
                    timings[5],
                    timings[3],
                    target=BOUND_ASYNC_TARGET if count == ASYNC_TARGET_INPUTS else None,
                    extra={
                        "inputs": count,
                        "outputs": 1,
                        "synchronize_each_call": True,
                        "bound": True,
                    },
                )
            )
        parts = _parts(session, stream, plan)  # graph 1 (one input) is still added
    order = [
        "Session.run_graph",
        "GraphBinding.run",
        "run_graph_with_stream_async",
        "GraphBinding.run_async",
    ]
    rows.sort(key=lambda r: (order.index(r.benchmark), r.extra["inputs"]))
    return rows + parts
