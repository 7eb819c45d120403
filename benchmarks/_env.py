"""The stand-in, ACL and GE set up for a benchmark, and the graphs it runs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

import ge
import ge.acl
from ge._ffi.loader import ENV_LIBRARY

SMALL_SHAPE = (16,)
"""Inputs of the per-call benchmarks: 16 float32 (64 bytes), so that the
stand-in's computation stays far below the cost of the calls around it."""


def library() -> str:
    """The native library to benchmark: ``$GE_FFI_LIBRARY`` if set, else the
    stand-in, built (or found in its cache) and activated now."""
    explicit = os.environ.get(ENV_LIBRARY)
    if explicit:
        return explicit
    import ge.testing

    return ge.testing.activate_stub()


@contextmanager
def ge_ready() -> Iterator[None]:
    """ACL initialised, device 0 set and GE initialised while the block runs."""
    ge.acl.init()
    device = ge.acl.Device(0)
    device.set()
    try:
        ge.initialize({"ge.exec.deviceId": "0"})
        try:
            yield
        finally:
            ge.finalize()
    finally:
        device.reset()
        ge.acl.finalize()


def sum_graph(n_inputs: int, shape: tuple[int, ...] = SMALL_SHAPE) -> ge.Graph:
    """``x0 + x1 + ... + x{n-1}`` of float32 inputs; one input is passed through.

    One output whatever ``n_inputs``, so that the per-call cost grows with the
    inputs only.
    """
    builder = ge.GraphBuilder(f"sum_of_{n_inputs}")
    holders = [builder.input(i, np.float32, shape) for i in range(n_inputs)]
    total = holders[0]
    for holder in holders[1:]:
        total = total + holder
    return builder.build(total)


def small_inputs(n_inputs: int, shape: tuple[int, ...] = SMALL_SHAPE) -> list[ge.Tensor]:
    """``n_inputs`` host tensors of float32 ones."""
    return [ge.Tensor.from_numpy(np.ones(shape, np.float32)) for _ in range(n_inputs)]
