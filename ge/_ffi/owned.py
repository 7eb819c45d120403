"""Owning handles: what C returns is freed, in C, if no Python object takes it.

A handle that a C function *returns* (a new session, graph, tensor...) lives
for a moment only in an ordinary Python value. CPython runs pending signal
handlers right after a call completes (and at function entry and on backward
jumps), so an exception a handler raises (``KeyboardInterrupt``) can land
before any object holds the handle: it would leak.

So the functions that return an owned handle declare as ``restype`` the
*owning* class of its kind (:func:`owning`): a subclass of the kind whose
``__del__`` frees the native object **in C, with no Python frame** (a
``property`` whose getter is the C destroy function called through ctypes,
its ``errcheck`` a ``functools.partial`` that returns a C no-op; nothing
there is a point where a signal handler could run). ctypes creates the
instance in C, so from the first instant an unreachable result is freed when
its last reference goes (the frame of the interrupted call, with the
traceback). The owning object (``ge._native.NativeObject``) keeps that same
instance, armed, as its ``_param`` for its whole life: if its own (Python)
finalizer is cut short by a signal, the instance still frees the native
object when it goes. Closing **disarms** it (``__class__`` set back to the
plain kind: one C-level attribute store) right before the C release.

The C-level ``__del__`` cannot ask whether C may still be called, so the
generation of owning classes is **retired** (their ``__del__`` made a C
no-op; functions bound from then on get a new generation) where that stops
being true: at the start of the exit hooks (what is still alive at exit is
left to the operating system, as the finalizers do), in the child of a fork
(CANN does not survive it), when the stand-in's state is wiped (tests), and
when the libraries are forgotten (``ge._ffi.reset``). Freeing after
``GEFinalize`` is sound (a ``ge::Session`` outlives it; libgraph's objects do
not depend on it); ACL's free functions return an error when ACL is not
initialised, so an orphan then leaks instead of crashing.

Out-parameters (``aclrtCreateStream``, ``aclrtMalloc``, ``aclrtMallocHost``)
get the same protection from :func:`out_param`: an armed instance passed
with ``byref``.

A run's outputs (``Tensor **`` and its ``new``-ed tensors, stored in
out-parameters by ``RunGraph``/``RunGraphWithStreamAsync``) are owned, before
the call, by one :class:`Taking` made for the run (:func:`run_outputs`): an
iterator over the out-parameters that yields, when consumed, one owning
``TensorHandle`` per output (a copy of the array's item), then frees the
array (``FreeTensorArray``: ``delete[]``, the array only). Taking them
(``list(taking)``) is one C-level call; dropped untaken (an interrupt), the
``Taking``'s C-level ``__del__`` consumes it and drops what it yields, which
frees each output tensor, then the array, in C, in that order, from one
finalizer (so also when the collector finalizes a cycle, in any order).
Weighed and left: owning *views* of the array (``POINTER`` of the owning
class, sliced) with the array freed by its own armed pointer: the collector
finalizes a cycle's objects in any order, so the array could be freed
before a view read its handle; an owner whose ``__del__`` needs no per-run
iterators: no C-level composition reads the count, destroys each tensor and
frees the array from ``self`` alone; taking ownership after the call: the
call's return is a point where a signal lands.

A retired class is never taken off a bound function (no ``restype`` is
assigned twice): ctypes reads a call's ``restype`` without a reference, and
builds the result from it after the C call returns, so a thread inside the
call when another retires would build its result from a freed class. The
function object keeps its class alive; the call keeps the function alive.
New generations reach callers through new function objects
(``ge._ffi.rearm`` drops the bound owning functions).
"""

from __future__ import annotations

import collections
import ctypes
import functools
import itertools
import os
import threading
from ctypes import c_size_t, c_void_p
from operator import attrgetter
from typing import Any, Callable, NamedTuple, Optional

from ge._ffi.handles import (
    GraphBuilderHandle,
    GraphHandle,
    SessionHandle,
    StreamHandle,
    TensorDescHandle,
    TensorHandle,
)


class DeviceBlock(c_void_p):
    """An ``aclrtMalloc`` block's address (an out-parameter; not a handle kind)."""

    __slots__ = ()


class HostBlock(c_void_p):
    """An ``aclrtMallocHost`` block's address (an out-parameter; not a handle kind)."""

    __slots__ = ()


class Text(c_void_p):
    """A caller-owned C string (``Graph_GetName``...), freed with ``FreeString``."""

    __slots__ = ()


class OutputCount(c_size_t):
    """A run's output count (``size_t *tensor_num``), usable as a slice bound
    (``__index__``: its value, read in C) before C has written it."""

    __slots__ = ()

    __index__ = property(attrgetter("value.__index__"))  # (the getter's result is called)


_SINK: Any = collections.deque(maxlen=0)
"""Consumes an iterator in C (``extend``), dropping each item at once."""


class Taking(itertools.chain):  # type: ignore[type-arg]
    """The outputs of one run, owned from before the C call (:func:`run_outputs`).

    ``list(taking)``, one C-level call, takes them: an owning ``TensorHandle``
    per output, then ``None`` (the array is freed by then). Dropped untaken,
    its ``__del__`` (``_SINK.extend(self)``, in C) takes them and drops them."""

    __slots__ = ()

    __del__ = property(functools.partial(functools.partial, _SINK.extend))


class Taken(itertools.chain):  # type: ignore[type-arg]
    """A :class:`Taking` once taken (``__class__`` set after ``list(taking)``): an
    exhausted iterator, dropped with no finalizer to run (saves its cost)."""

    __slots__ = ()


_from_iterable = itertools.chain.from_iterable
_VoidPtrArray = ctypes.POINTER(c_void_p)


def run_outputs(item: Any, free: Any) -> tuple[Any, OutputCount, Taking]:
    """A run's out-parameters, a NULL ``void **`` and an :class:`OutputCount`, and
    the :class:`Taking` that owns what C stores in them: ``item`` is the owning
    ``TensorHandle`` class, ``free`` the bound ``FreeTensorArray``."""
    outputs = _VoidPtrArray()
    count = OutputCount()
    return (
        outputs,
        count,
        Taking(
            map(item, _from_iterable(map(outputs.__getitem__, (slice(None, count),)))),
            map(free, (outputs,)),
        ),
    )


class Owning(NamedTuple):
    """The ``restype`` marker of a function returning an owned handle of ``kind``,
    which ``destroy`` (a declared C function taking the handle) frees."""

    kind: type[c_void_p]
    destroy: str
    returns_status: bool
    plain: Any = None
    """The ``restype`` for ``ge._ffi.api`` (None: ``kind``)."""


DESTROYERS: dict[type[c_void_p], Owning] = {
    o.kind: o
    for o in (
        Owning(SessionHandle, "GeApiWrapper_Session_DestroySession", False),
        Owning(GraphHandle, "GeApiWrapper_Graph_DestroyGraph", False),
        Owning(TensorHandle, "GeApiWrapper_Tensor_DestroyEsCTensor", False),
        Owning(TensorDescHandle, "GeApiWrapper_TensorDesc_Destroy", False),
        Owning(GraphBuilderHandle, "EsDestroyGraphBuilder", False),
        Owning(StreamHandle, "aclrtDestroyStream", True),
        Owning(DeviceBlock, "aclrtFree", True),
        Owning(HostBlock, "aclrtFreeHost", True),
        Owning(Text, "GeApiWrapper_FreeString", False, c_void_p),  # api: an int, as ever
    )
}
"""Each kind a C function hands over, and the C function that frees it."""


def owning(kind: type[c_void_p]) -> Owning:
    """The ``restype`` marker of a function returning a new ``kind`` the caller owns."""
    return DESTROYERS[kind]


_NOOP: Any = functools.partial(functools.partial, (0).__init__)  # type: ignore[misc]
"""A C callable returning a C callable that ignores its arguments and returns None
(``int.__init__`` of an int accepts and ignores any). As a ``property`` getter
it is a ``__del__`` that does nothing; as an ``errcheck`` it turns the C
result into such a callable (what ``__del__``'s caller then calls)."""

INERT: Any = property(_NOOP)
"""A ``__del__`` that does nothing, in C (no Python frame)."""

_lock = threading.RLock()
_armed: dict[type[c_void_p], type[c_void_p]] = {}
"""Kind -> its owning class of this generation (made when first needed)."""

armed_get: Callable[[type[c_void_p]], Optional[type[c_void_p]]] = _armed.get
"""``armed_get(kind)``: the owning class of ``kind`` of this generation, or None
while none was made (:func:`armed_class` makes it); a C-level lookup."""
_frozen = False
"""True once C may no longer be called (exit, a forked child): results stay plain."""


def _address(fn: Any) -> int:
    return int(ctypes.cast(fn, c_void_p).value or 0)


def armed_class(kind: type[c_void_p], resolve: Callable[[str], Any]) -> type[c_void_p]:
    """The owning class of ``kind`` of this generation; ``resolve(name)`` binds a
    declared C function (the destroy function, the first time)."""
    cls = _armed.get(kind)
    if cls is not None:
        return cls
    with _lock:
        cls = _armed.get(kind)
        if _frozen:
            return kind
        if cls is None:
            spec = DESTROYERS[kind]
            prototype = ctypes.CFUNCTYPE(ctypes.c_int if spec.returns_status else None, c_void_p)
            destroy = prototype(_address(resolve(spec.destroy)))
            destroy.errcheck = _NOOP  # the C result -> a no-op callable, all in C
            cls = type(
                f"Owning{kind.__name__}",
                (kind,),
                {
                    "__slots__": (),
                    "__doc__": f"A {kind.__name__} this process owns: freed in C when dropped.",
                    "__del__": property(destroy),
                },
            )
            _armed[kind] = cls
    return cls


def armed_now(kind: Any) -> Optional[type[c_void_p]]:
    """The owning class of ``kind`` of this generation, if one was made."""
    return _armed.get(kind)


def set_restype(fn: Any, marker: Owning, resolve: Callable[[str], Any]) -> None:
    """Declare ``fn`` (a newly bound function object, never one bound before) as
    returning an owned ``marker.kind``: this generation's owning class, for good."""
    fn.restype = armed_class(marker.kind, resolve)


def out_param(kind: type[c_void_p], resolve: Callable[[str], Any]) -> Any:
    """A NULL armed instance of ``kind``, for ``byref``: what C stores in it is
    freed unless an object takes it. Disarm it (:func:`disarm`) when C failed."""
    return armed_class(kind, resolve)()


def disarm(instance: Any, kind: type[c_void_p]) -> None:
    """Make ``instance`` a plain ``kind`` (no longer freed when dropped)."""
    instance.__class__ = kind


def retire(final: bool = False) -> None:
    """Stop every live owning instance from calling C (and the results of
    functions bound before: their class is retired too). ``final``: C may no
    longer be called at all (exit, a forked child), so nothing is armed again;
    else functions bound from now on get a new generation."""
    global _frozen
    with _lock:
        for cls in _armed.values():
            cls.__del__ = INERT  # type: ignore[attr-defined] # (its instances keep it alive)
        _armed.clear()
        if final:
            _frozen = True


def _retire_in_child() -> None:
    retire(final=True)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_retire_in_child)
