"""Typed handles (issue 11, item 2; ``ge/_ffi/handles.py``): a wrong kind, a plain
``c_void_p``, a raw int (in the suite's audit mode) or a closed object passed to
a declared handle parameter is refused in Python, and C is never called.

That C is not called is proven by the stand-in: where a function can be made to
fail, a fault armed on it is still pending after the refused call (a call
would have consumed it); everywhere, the wrong handle holds a foreign address
that the stand-in's strict mode would abort on (the process would die)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import ge
import ge.acl
from ge import _ffi
from ge._ffi import api, handles
from ge._ffi.handles import (
    CLOSED,
    KINDS,
    GraphBuilderHandle,
    GraphHandle,
    Handle,
    SessionHandle,
    StreamHandle,
    TensorDescHandle,
    TensorHandle,
    TensorHolderHandle,
)
from ge._ffi.owned import owning
from ge._ffi.signatures import SPECS, FunctionSpec
from ge.es import GraphBuilder
from ge.graph import Graph, Tensor, TensorDesc

FOREIGN = 0xDEAD0
"""An address no native object of the stand-in has: strict mode aborts on it."""


def _handle_params() -> list[tuple[FunctionSpec, int, type[Handle]]]:
    """Every (function, parameter index, kind) whose parameter is a handle kind."""
    return [
        (spec, i, argtype)
        for spec in SPECS
        for i, argtype in enumerate(spec.argtypes)
        if isinstance(argtype, type) and issubclass(argtype, Handle)
    ]


HANDLE_PARAMS = _handle_params()


def _benign(argtype: Any) -> Any:
    """A value ctypes accepts for ``argtype`` (C never sees it: ctypes converts every
    argument before the call, and the one under test is refused)."""
    if isinstance(argtype, type) and issubclass(argtype, Handle):
        return argtype(None)
    if argtype in (ctypes.c_char_p, ctypes.c_void_p):
        return None
    simple = isinstance(argtype, type) and issubclass(argtype, ctypes._SimpleCData)
    return 0 if simple else None


def _call_with(spec: FunctionSpec, index: int, bad: object) -> None:
    fn = getattr(api, spec.name)
    args = [_benign(t) for t in spec.argtypes]
    args[index] = bad
    fn(*args)


def _wrong_kind(kind: type[Handle]) -> Handle:
    other = next(k for k in KINDS if k is not kind)
    return other(FOREIGN)


def test_every_handle_parameter_is_a_kind_of_its_own() -> None:
    """The declarations: a handle parameter is never a plain ``c_void_p``. A table
    of what each family of functions takes first (fails if one reverts)."""
    first: dict[str, type[Handle]] = {
        "GeApiWrapper_Session_": SessionHandle,
        "GeApiWrapper_Graph_": GraphHandle,
        "GeApiWrapper_TensorDesc_": TensorDescHandle,
        "GeApiWrapper_Tensor_": TensorHandle,
        "_ZN2ge7Session": SessionHandle,
        "_ZNK2ge7Session": SessionHandle,
        "_ZNK2ge6Tensor": TensorHandle,
        "_ZN2ge6Tensor": TensorHandle,
        "GeSessionLoadGraph": SessionHandle,
        "EsDestroyGraphBuilder": GraphBuilderHandle,
        "EsCreateConst": GraphBuilderHandle,
        "EsCreateVector": GraphBuilderHandle,
        "EsCreateScalar": GraphBuilderHandle,
        "EsCreateGraphInput": GraphBuilderHandle,
        "EsCreateVariable": GraphBuilderHandle,
        "EsBuildGraphAndReset": GraphBuilderHandle,
        "EsSetDataType": TensorHolderHandle,
        "EsSetShape": TensorHolderHandle,
        "EsSetGraphOutput": TensorHolderHandle,
        "EsAdd": TensorHolderHandle,
        "aclrtDestroyStream": StreamHandle,
        "aclrtSynchronizeStream": StreamHandle,
        "GeApiWrapper_Has": StreamHandle,
    }
    without_handle = {
        "GeApiWrapper_Session_CreateSession",
        "GeApiWrapper_Session_CreateSessionWithOptions",
        "GeApiWrapper_Session_FreeTensorArray",
        "GeApiWrapper_Graph_CreateGraph",
        "GeApiWrapper_Tensor_CreateTensor",
        "GeApiWrapper_Tensor_FreeDimsArray",
        "GeApiWrapper_TensorDesc_Create",
    }
    checked = 0
    for spec in SPECS:
        if spec.name in without_handle:
            continue
        kind = next((k for prefix, k in first.items() if spec.name.startswith(prefix)), None)
        if kind is not None:
            assert spec.argtypes[0] is kind, spec.name
            checked += 1
    assert checked > 60
    by_name = {spec.name: spec for spec in SPECS}
    assert by_name["GeApiWrapper_Session_AddGraph"].argtypes[2] is GraphHandle
    assert by_name["GeApiWrapper_Session_RunGraphWithStreamAsync"].argtypes[2] is StreamHandle
    assert by_name["GeApiWrapper_Tensor_GetTensorDesc"].restype == owning(TensorDescHandle)
    assert by_name["EsBuildGraphAndReset"].restype == owning(GraphHandle)
    assert by_name["EsGetProducer"].restype is not by_name["EsGetOwnerBuilder"].restype
    assert by_name["aclrtFree"].argtypes == (ctypes.c_void_p,)  # device memory stays void *


@pytest.mark.parametrize(
    ("spec", "index", "kind"),
    HANDLE_PARAMS,
    ids=[f"{spec.name}-{index}" for spec, index, _ in HANDLE_PARAMS],
)
def test_a_wrong_kind_is_refused_without_calling_c(
    spec: FunctionSpec, index: int, kind: type[Handle], ge_stub: Any
) -> None:
    """Another kind, a plain ``c_void_p`` and the closed sentinel: each an
    ``ArgumentError`` before C runs."""
    if not _ffi.has(spec.name):
        pytest.skip(f"{spec.name} is not in this build of the stand-in")
    armed = spec.name in ge_stub.failable_functions()
    for bad in (_wrong_kind(kind), ctypes.c_void_p(FOREIGN), CLOSED):
        if armed:
            ge_stub.fail_next(spec.name, 1)
        with pytest.raises(ctypes.ArgumentError, match=f"argument {index + 1}:"):
            _call_with(spec, index, bad)
        if armed:
            assert ge_stub.faults_pending() == 1, f"{spec.name} was called with {bad!r}"
            ge_stub.clear_faults()


def _closed_objects(stream: Any) -> Iterator[tuple[object, str]]:
    """Each owned kind, closed, with a function that takes its handle first."""
    with ge.Session() as session:
        pass
    yield session, "GeApiWrapper_Session_RemoveGraph"
    graph = Graph("g")
    graph.close()
    yield graph, "GeApiWrapper_Graph_GetName"
    tensor = Tensor.from_numpy(np.zeros(2, dtype=np.float32))
    tensor.close()
    yield tensor, "GeApiWrapper_Tensor_GetDataType"
    desc = TensorDesc([2])
    desc.close()
    yield desc, "GeApiWrapper_TensorDesc_GetFormat"
    builder = GraphBuilder("b")
    builder.close()
    yield builder, "EsDestroyGraphBuilder"
    builder = GraphBuilder("built")
    holder = builder.input(0, np.float32, (2,))
    assert holder._as_parameter_ is holder._handle  # the builder is open
    builder.build([holder + holder]).close()  # the builder is built and closed
    yield holder, "EsSetDataType"
    builder = GraphBuilder("closed")
    holder = builder.input(0, np.float32, (2,))
    builder.close()
    yield holder, "EsGetProducer"
    stream.destroy()
    yield stream, "aclrtSynchronizeStream"


def test_a_closed_object_is_refused_without_calling_c(ge_ready: Any) -> None:
    """A closed object's ``_as_parameter_`` is the sentinel: refused by its own
    kind and by a plain ``void *`` parameter alike (never NULL, never stale)."""
    stream = ge.acl.Stream()
    for obj, name in _closed_objects(stream):
        assert obj._as_parameter_ is CLOSED  # type: ignore[attr-defined]
        fn = getattr(api, name)
        args = [_benign(t) for t in fn.argtypes]
        args[0] = obj
        if name in ge_ready.failable_functions():
            ge_ready.fail_next(name, 1)
        with pytest.raises(ctypes.ArgumentError, match="argument 1:"):
            fn(*args)
        if name in ge_ready.failable_functions():
            assert ge_ready.faults_pending() == 1
            ge_ready.clear_faults()
        with pytest.raises(ctypes.ArgumentError):
            api.aclrtFree(obj)  # device memory's plain void *: refused too


def test_a_live_object_passes_as_its_kind_only(ge_ready: Any) -> None:
    """An open object goes to C as its typed handle, and only where its kind is
    declared: a graph where a session is expected is refused."""
    with Graph("g") as graph, ge.Session() as session:
        assert isinstance(graph._as_parameter_, GraphHandle)
        assert graph._as_parameter_.value == graph.handle
        assert api.GeApiWrapper_Session_AddGraph(session, 1, graph) == 0
        with pytest.raises(ctypes.ArgumentError, match="argument 1:"):
            api.GeApiWrapper_Session_RemoveGraph(graph, 1)
        with graph._calling() as typed:
            assert type(typed).__base__ is GraphHandle  # what the guard yields: the
            assert typed is graph._param  # owning instance C returned (ge._ffi.owned)
        assert api.GeApiWrapper_Session_RemoveGraph(session, 1) == 0


def test_handles_that_c_returns_keep_their_kind(ge_ready: Any) -> None:
    """A restype kind: C's result is the typed instance, kept by its owner as is
    (no int round trip), and ``int()`` of it is its address (not its bytes)."""
    raw = api.GeApiWrapper_Graph_CreateGraph(b"raw")
    assert type(raw) is GraphHandle and int(raw) == raw.value
    graph = Graph._adopt(raw)
    assert graph._param is raw and graph.handle == raw.value
    graph.close()


def test_the_audit_refuses_and_records_a_raw_int_from_the_package(ge_stub: Any) -> None:
    """The suite's audit mode (conftest): a raw int or None that the package's code
    passes to a handle parameter is an error before C, recorded even if the caller
    swallows it; hand-written calls elsewhere (the stand-in's tests) keep ctypes'
    rules. Package code is simulated by code compiled under the package's path."""
    assert handles.AUDIT
    probe = compile(
        "try:\n    api.GeApiWrapper_Graph_DestroyGraph(bad)\nexcept BaseException:\n    pass\n",
        os.path.join(handles._PACKAGE, "graph", "_audit_probe.py"),
        "exec",
    )
    for bad in (FOREIGN, None):
        exec(probe, {"api": api, "bad": bad})  # swallowed, as a finalizer would
    assert len(handles.violations) == 2
    assert "GraphHandle parameter got int" in handles.violations[0]
    assert "GraphHandle parameter got NoneType" in handles.violations[1]
    del handles.violations[:]
    # outside the package: ctypes' own rules (a NULL graph: the wrapper's tidy no-op)
    api.GeApiWrapper_Graph_DestroyGraph(None)
    assert handles.violations == []


def test_without_the_audit_every_handle_parameter_refuses_a_wrong_kind(
    ge_stub_library: str,
) -> None:
    """What users run (no audit): the kinds keep ctypes' own ``from_param`` (C
    speed; a raw int still passes, as to ``c_void_p``), and every declared handle
    parameter still refuses another kind, a plain ``c_void_p`` and the sentinel,
    in a child process whose stand-in is strict: had C been called with the
    foreign address, the child would have aborted."""
    code = textwrap.dedent(
        """
        import ctypes
        from ge._ffi import api, has, handles
        from ge._ffi.signatures import SPECS
        from ge.testing import StubControl

        assert not handles.AUDIT and "from_param" not in vars(handles.SessionHandle)
        control = StubControl()
        control.reset()
        control.set_misuse_aborts(True)

        def benign(t):
            if isinstance(t, type) and issubclass(t, handles.Handle):
                return t(None)
            if t in (ctypes.c_char_p, ctypes.c_void_p):
                return None
            simple = isinstance(t, type) and issubclass(t, ctypes._SimpleCData)
            return 0 if simple else None

        refused = checked = 0
        for spec in SPECS:
            for i, kind in enumerate(spec.argtypes):
                if not (isinstance(kind, type) and issubclass(kind, handles.Handle)):
                    continue
                if not has(spec.name):
                    continue
                checked += 1
                other = next(k for k in handles.KINDS if k is not kind)
                for bad in (other(0xDEAD0), ctypes.c_void_p(0xDEAD0), handles.CLOSED):
                    args = [benign(t) for t in spec.argtypes]
                    args[i] = bad
                    try:
                        getattr(api, spec.name)(*args)
                    except ctypes.ArgumentError:
                        refused += 1
                        continue
                    raise SystemExit(f"{spec.name} accepted {bad!r}")
        libc = ctypes.CDLL(None)
        labs = libc.labs
        labs.restype = ctypes.c_long
        labs.argtypes = (handles.SessionHandle,)
        assert labs(handles.SessionHandle(5)) == 5 and labs(7) == 7  # ints: the audit's job
        print(refused, checked)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != handles.AUDIT_ENV}
    env["GE_FFI_LIBRARY"] = ge_stub_library
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    refused, checked = map(int, done.stdout.split())
    assert refused == 3 * checked and checked >= 90, done.stdout
