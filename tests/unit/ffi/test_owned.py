"""Owning results (``ge._ffi.owned``): a handle C hands over is freed in C if no
object takes it, and the package's objects take it with no point between where
a signal's exception could land and leak it."""

from __future__ import annotations

import gc
import inspect
import sys
import weakref
from ctypes import c_void_p
from typing import Any, Callable

import numpy as np
import pytest
from _helpers.interrupts import interrupt_each_line, lines_of, python_calls
from _helpers.processes import run_python, without_cann

import ge
import ge.acl
from ge import _native
from ge._ffi import api, made, owned
from ge._ffi.handles import GraphHandle, SessionHandle, TensorHandle
from ge._ffi.signatures import SPECS_BY_NAME
from ge._native import NativeObject
from ge._session_manager import manager
from ge.acl import _memory, _stream
from ge.es import _builder_base
from ge.graph import TensorDesc, _tensor_create, graph, tensor, tensor_desc
from ge.session import session

F32 = ge.DataType.DT_FLOAT


def test_each_kind_is_freed_by_the_declared_function_that_takes_it() -> None:
    """``owned.DESTROYERS`` names each kind's destroy function beside the
    declarations of ``ge._ffi.signatures`` (which import its markers): the two
    must agree, since the owning class calls the function through a prototype
    of its own (one handle in, a status out or nothing)."""
    handle_kinds = {SessionHandle, GraphHandle, TensorHandle}
    for kind, marker in owned.DESTROYERS.items():
        spec = SPECS_BY_NAME[marker.destroy]
        assert len(spec.argtypes) == 1, spec
        taken = spec.argtypes[0]
        assert taken is kind or (taken is c_void_p and kind.__base__ is c_void_p), spec
        assert marker.returns_status == (spec.restype is not None), spec
        handle_kinds.discard(kind)
    assert not handle_kinds


def test_a_result_nobody_takes_is_freed_in_c_with_no_python_frame(ge_ready: Any) -> None:
    """Dropped, an owning result frees its native object, in C: no Python frame
    runs (no point where a signal handler could cut the free short)."""
    results = [
        made.GeApiWrapper_Session_CreateSession(),
        made.GeApiWrapper_Graph_CreateGraph(b"g"),
        made.GeApiWrapper_Tensor_CreateTensor(),
        made.EsCreateGraphBuilder(b"b"),
    ]
    assert all(isinstance(r, owned.DESTROYERS[type(r).__base__].kind) for r in results)
    assert python_calls(lambda: results.clear()) == []
    gc.collect()  # nothing left for the ge_stub fixture's leak check


def test_the_plain_api_returns_plain_kinds(ge_ready: Any) -> None:
    """``api`` (what the stand-in's tests and the benchmarks call by hand) is
    unchanged: its results are freed by whoever destroys them, once."""
    raw = api.GeApiWrapper_Graph_CreateGraph(b"raw")
    assert type(raw) is GraphHandle
    api.GeApiWrapper_Graph_DestroyGraph(raw)
    del raw  # no second free (strict mode would abort)


def test_an_adopted_result_is_freed_once(ge_ready: Any, ge_stub: Any) -> None:
    """The object keeps the owning instance armed; its release disarms it right
    before C frees it: closed, or dropped, the native object is freed once."""
    with ge.Graph("g") as g:
        assert type(g._param).__base__ is GraphHandle and g._armed()
    assert not g._armed()
    ge.Graph("dropped")  # the finalizer is the owning instance's, in C
    s = ge.Session()
    assert type(s._param).__base__ is SessionHandle
    s.close()
    gc.collect()
    assert ge_stub.live_counts()["graphs"] == 0


def test_an_object_whose_python_finalizer_is_cut_short_still_frees(ge_ready: Any) -> None:
    """A signal landing on entry to ``NativeObject.__del__`` raises there and
    the finalizer does nothing: the armed handle still frees the native object
    when it goes with the object."""
    x = np.ones(3, np.float32)
    t = ge.Tensor.from_numpy(x)
    assert type(t._param).__base__ is TensorHandle

    def interrupt(frame: Any, event: str, arg: Any) -> Any:
        if event == "call" and frame.f_code is NativeObject.__del__.__code__:
            sys.settrace(None)
            raise KeyboardInterrupt
        return None

    hook, sys.unraisablehook = sys.unraisablehook, lambda unraisable: None
    sys.settrace(interrupt)
    try:
        del t
    finally:
        sys.settrace(None)
        sys.unraisablehook = hook
    gc.collect()  # the ge_stub fixture checks the tensor is gone


# -- an interrupt at any line of making an object -----------------------------


def _interrupt_each_line(make: Callable[[], Any], *functions: Any) -> int:
    """Run ``make`` once per line of ``functions`` (up to their handlers), with a
    KeyboardInterrupt raised at that line; the object made, if any, is closed.
    Returns how many runs were interrupted. The line after a disarm (``# disarmed``:
    the C call freeing the handle) is skipped: between that store and the call
    CPython runs no pending signal handler (no call completes in between). So is
    a ``with`` line: it is reported again as the block exits, where a tracer's
    exception would skip ``__exit__`` (no signal lands before that call)."""
    skip = {
        (fn.__code__, fn.__code__.co_firstlineno + i + 1)
        for fn in functions
        for i, line in enumerate(inspect.getsource(fn).splitlines())
        if ".__class__ = " in line and "# disarmed" in line
    } | {  # a with statement's line also marks its exit, before __exit__ is called
        (fn.__code__, fn.__code__.co_firstlineno + i)
        for fn in functions
        for i, line in enumerate(inspect.getsource(fn).splitlines())
        if line.strip().startswith("with ")
    }

    def check(made_object: Any) -> None:
        if made_object is not None:
            made_object.close()
        assert not manager.lock._is_owned() and not _native._turns._lock._is_owned()

    return interrupt_each_line(make, [lines_of(fn) for fn in functions], check, skip, limit=200)


X = np.arange(6, dtype=np.float32)

MAKERS: dict[str, tuple[Callable[[], Any], tuple[Any, ...]]] = {
    "session": (lambda: ge.Session(), (session.Session.__init__,)),
    "session with options": (
        lambda: ge.Session({"ge.exec.deviceId": "0"}),
        (session.Session.__init__,),
    ),
    "graph": (lambda: ge.Graph("g"), (graph.Graph.__init__,)),
    "tensor desc": (
        lambda: TensorDesc([2, 3], ge.Format.FORMAT_ND, F32),
        (tensor_desc.TensorDesc.__init__,),
    ),
    "builder": (lambda: ge.GraphBuilder("b"), (_builder_base.BuilderBase.__init__,)),
    "tensor from numpy": (
        lambda: ge.Tensor.from_numpy(X),
        (tensor.Tensor.from_numpy.__func__, _tensor_create.fill_from_array),
    ),
    "tensor through a desc": (
        lambda: ge.Tensor.from_numpy(X.astype(np.float64)),
        (_tensor_create.fill_from_array, _tensor_create._create_empty),
    ),
    "stream": (lambda: ge.acl.Stream(), (_stream.Stream.__init__,)),
    "device buffer": (lambda: ge.acl.DeviceBuffer(64), (_memory.DeviceBuffer.__init__,)),
    "host buffer": (lambda: ge.acl.HostBuffer(64), (_memory.HostBuffer.__init__,)),
}


@pytest.mark.parametrize("what", list(MAKERS))
def test_an_interrupt_at_any_line_of_making_an_object_leaks_nothing(
    ge_ready: Any, ge_stub: Any, what: str
) -> None:
    """A KeyboardInterrupt at each line of a constructor in turn (right after C
    returned the handle, among others): it reaches the caller and nothing is
    left alive (the ge_stub fixture checks every count once the test is done;
    here after each run too)."""
    make, functions = MAKERS[what]
    hits = _interrupt_each_line(make, *functions, NativeObject.__init__)
    assert hits >= 3
    gc.collect()
    counts = ge_stub.live_counts()
    assert counts == dict.fromkeys(counts, 0), counts


def test_an_interrupt_at_any_line_of_building_a_graph_or_reading_a_desc_leaks_nothing(
    ge_ready: Any, ge_stub: Any
) -> None:
    def build() -> Any:
        with ge.GraphBuilder("b") as builder:
            x = builder.input(0, F32, (2,))
            return builder.build([x + x])

    assert _interrupt_each_line(build, _builder_base.BuilderBase._build_graph) >= 3

    with ge.Tensor.from_numpy(X) as t:
        assert _interrupt_each_line(t.get_tensor_desc, tensor.Tensor.get_tensor_desc) >= 2
    gc.collect()
    counts = ge_stub.live_counts()
    assert counts == dict.fromkeys(counts, 0), counts


# -- where C may no longer be called ------------------------------------------


def test_an_orphan_of_a_wiped_state_is_never_freed(ge_stub: Any) -> None:
    """The stand-in's reset wipes what an orphan pointed to: dropped afterwards,
    it does nothing (strict mode would abort on the dead handle)."""
    orphan = made.GeApiWrapper_Graph_CreateGraph(b"orphan")
    ge_stub.reset()
    del orphan
    fresh = made.GeApiWrapper_Graph_CreateGraph(b"fresh")  # a new generation: still freed
    assert ge_stub.live_counts()["graphs"] == 1
    del fresh
    assert ge_stub.live_counts()["graphs"] == 0


@pytest.mark.parametrize("final", [False, True], ids=["wiped", "exit"])
def test_a_function_keeps_its_owning_class_across_a_retirement(ge_stub: Any, final: bool) -> None:
    """ctypes reads a call's ``restype`` without a reference and builds the
    result from it once C returns: a thread inside the call while another
    retires the generation (a wipe, interpreter exit) must find that class
    alive. The function object keeps it, and only the function object: once
    the function goes, so does the class (nothing piles up over resets)."""
    fn = made.GeApiWrapper_Graph_CreateGraph
    cls = weakref.ref(fn.restype)
    if final:
        owned.retire(final=True)
    else:
        ge_stub.reset()
    gc.collect()
    try:
        assert cls() is fn.restype  # what a call in flight builds its result from
        orphan = fn(b"g")
        assert type(orphan) is cls() and isinstance(orphan, GraphHandle)
        api.GeApiWrapper_Graph_DestroyGraph(orphan)  # retired: freed by hand only
        if not final:
            assert made.GeApiWrapper_Graph_CreateGraph is not fn  # a new generation
        del fn, orphan
        made.__dict__.clear()
        gc.collect()
        assert cls() is None
    finally:
        owned._frozen = False  # the process goes on: arm again
        made.__dict__.clear()


@pytest.mark.parametrize("where", ["exit", "fork"])
def test_an_orphan_alive_at_exit_or_in_a_forked_child_calls_no_c(
    ge_stub_library: str, where: str
) -> None:
    """An orphan kept until exit (a traceback kept in a global), or dropped in
    the child of a fork: no C call (strict mode aborts on a call the
    stand-in's state no longer allows; CANN does not survive a fork)."""
    code = (
        "import os, sys, ge, ge.acl\n"
        "from ge._ffi import made\n"
        "from ge.testing import stub_control\n"
        "stub_control()\n"
        "ge.acl.init(); ge.acl.Device(0).set(); ge.initialize()\n"
        "kept = [made.GeApiWrapper_Session_CreateSession(),\n"
        "        made.GeApiWrapper_Graph_CreateGraph(b'g')]\n"
        "if sys.argv[1] == 'fork':\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        kept.clear()\n"
        "        os._exit(0)\n"
        "    assert os.waitpid(pid, 0)[1] == 0\n"
        "print('done')\n"
    )
    env = without_cann(GE_FFI_LIBRARY=ge_stub_library)
    done = run_python(code, where, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "done"


CLOSERS: dict[str, tuple[Callable[[], Any], Any, tuple[Any, ...]]] = {
    "session": (
        lambda: ge.Session(),
        NativeObject.close,
        (session.Session._release, session.Session._release_native),
    ),
    "graph": (lambda: ge.Graph("g"), NativeObject.close, (graph.Graph._release,)),
    # Tensor.close: its one-frame path (the common case), then the general one
    "tensor": (lambda: ge.Tensor.from_numpy(X), tensor.Tensor.close, ()),
    "tensor-general": (
        lambda: ge.Tensor.from_numpy(X),
        NativeObject.close,
        (tensor.Tensor._release,),
    ),
    "stream": (lambda: ge.acl.Stream(), NativeObject.close, (_stream.Stream._release,)),
}


@pytest.mark.parametrize("what", list(CLOSERS))
def test_an_interrupt_at_any_line_of_closing_leaks_and_double_frees_nothing(
    ge_ready: Any, ge_stub: Any, what: str
) -> None:
    """A KeyboardInterrupt at each line of ``close()`` and of the kind's release
    in turn: the object is left open (its handle still armed) or closed and
    freed, exactly once (strict mode aborts on a double free); a later close
    frees what is left."""
    make, closer, functions = CLOSERS[what]
    objects: list[Any] = []

    def close() -> None:
        objects.append(make())
        closer(objects[-1])

    class Closing:
        def close(self) -> None:
            pass

    hits = _interrupt_each_line(lambda: (close(), Closing())[1], closer, *functions)
    assert hits >= 3
    for obj in objects:
        assert obj._owner is None
        obj.close()
    objects.clear()
    gc.collect()
    counts = ge_stub.live_counts()
    assert counts == dict.fromkeys(counts, 0), counts
