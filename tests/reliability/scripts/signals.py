"""Signals and failures on entry to callbacks, each run in a child process by
reliability/test_signals.py (pytest replaces ``sys.unraisablehook`` in its own
process, and a failure here may be a crash or a hang).

Usage: ``python signals.py SCENARIO TIMEOUT``. Prints ``OK`` last and exits 0
on success; every native count must be back to zero; nothing may be printed
on stderr (ctypes prints an exception it drops).
"""

from __future__ import annotations

import sys
from typing import Any, Callable

import numpy as np
from _scenario_main import run_scenario_main

import ge
import ge.acl
from ge.allocator import AclAllocator, Allocator, MemBlock

F32 = ge.DataType.DT_FLOAT


class Plain(Allocator):
    def __init__(self) -> None:
        self.inner = AclAllocator()
        self.mallocs = 0
        self.frees = 0

    def malloc(self, size: int) -> MemBlock:
        self.mallocs += 1
        return self.inner.malloc(size)

    def free(self, block: MemBlock) -> None:
        self.frees += 1
        self.inner.free(block)


def setup() -> tuple[ge.Session, ge.acl.Stream, Plain]:
    session = ge.Session()
    stream = ge.acl.Stream()
    alloc = Plain()
    session.register_external_allocator(stream, alloc)
    with ge.GraphBuilder("add") as builder:
        x = builder.input(0, F32, (4,))
        y = builder.input(1, F32, (4,))
        graph = builder.build([x + y])
    with graph:
        session.add_graph(1, graph)
    return session, stream, alloc


def run(session: ge.Session, stream: ge.acl.Stream) -> list[ge.Tensor]:
    x = np.arange(4, dtype=np.float32)
    with ge.Tensor.from_numpy(x) as tx, ge.Tensor.from_numpy(x) as ty:
        return session.run_graph_with_stream_async(1, stream, [tx, ty])


def interrupt_on_entry(name: str) -> Callable[[Any, str, Any], Any]:
    """A tracing hook raising KeyboardInterrupt on entry to the trampoline's ``name``
    (what a signal delivered there does: before the body's ``try``)."""

    def tracer(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code.co_name == name:
            sys.settrace(None)
            raise KeyboardInterrupt(f"on entry to {name}")
        return None

    return tracer


def keyboard_interrupt_on_malloc_entry(deadline: float) -> None:
    """KeyboardInterrupt on entry to MallocFn: it reaches the run; GE never uses the
    garbage block id ctypes leaves (its GetAddrFn is refused); nothing leaks."""
    session, stream, alloc = setup()
    for name in ("_malloc", "_get_addr"):
        sys.settrace(interrupt_on_entry(name))
        try:
            run(session, stream)
        except KeyboardInterrupt as exc:
            assert str(exc).startswith(f"on entry to {name}"), exc  # (+ notes before 3.11)
        else:
            raise AssertionError("the KeyboardInterrupt was lost")
        finally:
            sys.settrace(None)
    for out in run(session, stream):  # still usable, and right
        stream.synchronize()
        with out:
            np.testing.assert_array_equal(out.numpy(), 2 * np.arange(4, dtype=np.float32))
    session.close()
    stream.destroy()
    assert alloc.mallocs - alloc.frees == 0, (alloc.mallocs, alloc.frees)


def recursion_limit_on_free_entry(deadline: float) -> None:
    """A FreeFn that fails on entry (a signal's exception, a RecursionError near the
    limit): reported to the call that freed (the output's close), not only printed;
    the block it never freed is handed back to the allocator after GE's OnDestroy."""
    session, stream, _ = setup()
    (out,) = run(session, stream)
    stream.synchronize()
    sys.settrace(interrupt_on_entry("_free"))
    try:
        out.close()
    except KeyboardInterrupt:
        pass
    else:
        raise AssertionError("the FreeFn's failure on entry was lost")
    finally:
        sys.settrace(None)
    assert out.closed
    session.close()
    stream.destroy()


def keyboard_interrupt_on_on_destroy_entry(deadline: float) -> None:
    """KeyboardInterrupt on entry to OnDestroy (inside the unregistration that drops
    the allocator): the unregistration raises it; GE dropped the allocator all the
    same, so the registration is retired and its callbacks go back to the pool
    (not kept for good); registering the allocator again works."""
    from ge import _allocator_bridge
    from ge._allocator_registry import registry

    session, stream, alloc = setup()
    trampoline = registry.current[stream.handle].trampoline
    assert trampoline is not None
    thunks = trampoline.thunks
    sys.settrace(interrupt_on_entry("_on_destroy"))
    try:
        session.unregister_external_allocator(stream)
    except KeyboardInterrupt as exc:
        assert str(exc).startswith("on entry to _on_destroy"), exc
    else:
        raise AssertionError("the KeyboardInterrupt was lost")
    finally:
        sys.settrace(None)
    assert trampoline.destroyed and trampoline.token not in registry.alive
    assert trampoline.thunks is None and thunks in _allocator_bridge._idle
    session.register_external_allocator(stream, alloc)
    for out in run(session, stream):
        stream.synchronize()
        with out:
            np.testing.assert_array_equal(out.numpy(), 2 * np.arange(4, dtype=np.float32))
    session.close()
    stream.destroy()
    assert alloc.mallocs - alloc.frees == 0, (alloc.mallocs, alloc.frees)


SCENARIOS: dict[str, Callable[[float], None]] = {
    f.__name__: f
    for f in (
        keyboard_interrupt_on_malloc_entry,
        recursion_limit_on_free_entry,
        keyboard_interrupt_on_on_destroy_entry,
    )
}


if __name__ == "__main__":
    run_scenario_main(SCENARIOS)
