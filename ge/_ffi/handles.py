"""One opaque ctypes handle type per native kind (issue 11, item 2).

Each kind is a subclass of ``c_void_p``: as an argtype it is as fast as a
plain ``c_void_p`` (an instance passes at the cost of an ``int``), and ctypes
refuses an instance of another kind, a plain ``c_void_p`` and any other
object, so a graph passed where a session is expected is a
``ctypes.ArgumentError`` raised in Python, never a call into C. As a restype
it makes C return an instance of the kind (not an ``int``), which the owning
object keeps as is.

An owned object (:class:`ge._native.NativeObject`) keeps its handle as an
instance of its kind, hands it to C from its in-flight guard
(``with obj._calling() as handle``), and can be passed itself through
``_as_parameter_``, which is :data:`CLOSED` once it is closed: an object that
no argtype accepts, so a closed object can never reach C as NULL or as a
stale pointer.

``c_void_p`` as a base still accepts a raw ``int`` and ``None`` (ctypes'
own ``from_param``, kept for speed). The test suite closes that gap: with
``GE_FFI_AUDIT_HANDLES=1`` in the environment when this module is imported,
every kind gets a ``from_param`` that, for a call made by the package's own
code, refuses anything but an instance of its own kind (or an object whose
``_as_parameter_`` is one) and records the offence in :data:`violations`,
which the suite checks after every test (even when the offending call's
error was swallowed by a finalizer). Calls written by hand outside the
package (the stand-in's own tests) keep ctypes' rules.
"""

from __future__ import annotations

import os
import sys
import traceback
from ctypes import c_void_p
from typing import Any

AUDIT_ENV = "GE_FFI_AUDIT_HANDLES"
AUDIT: bool = os.environ.get(AUDIT_ENV, "") not in ("", "0")
"""Whether the handle kinds refuse raw ints and ``None`` (the test suite's mode)."""

violations: list[str] = []
"""Audit mode: a description (with the Python stack) of each refused argument."""


class _Closed:
    """The type of :data:`CLOSED`: no argtype's ``from_param`` accepts it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<closed ge handle>"


CLOSED: Any = _Closed()
"""``_as_parameter_`` of a closed object: ctypes refuses it for every argtype."""


class Handle(c_void_p):
    """The base of the handle kinds (never an argtype itself)."""

    __slots__ = ()
    kind = "handle"

    def __eq__(self, other: object) -> bool:
        """Equal: the same kind and address (ctypes instances compare by identity)."""
        if isinstance(other, Handle):
            return type(other) is type(self) and other.value == self.value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self), self.value))

    def __int__(self) -> int:
        """The address (0 for NULL); without this, ``int()`` would parse the
        instance's bytes through the buffer protocol."""
        return self.value or 0

    def __repr__(self) -> str:
        value = self.value
        return f"<{type(self).__name__} {'NULL' if value is None else hex(value)}>"


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
"""Calls made from files under this directory (the ``ge`` package) are audited."""


def _strict_from_param(cls: type[Handle], value: Any) -> Any:
    """Audit mode: from the package's code, only an instance of ``cls`` (or an
    object carrying one); from elsewhere (the stand-in's own tests, which probe C
    with NULL and foreign addresses on purpose; bare-ctypes baselines), ctypes'
    own rules."""
    param = getattr(value, "_as_parameter_", value)
    kind = type(param)
    if kind is cls or kind.__base__ is cls:  # the kind, or its owning class (ge._ffi.owned)
        return param
    default = _VOID_P_FROM_PARAM.__get__(None, cls)  # c_void_p's, bound to this kind
    caller = sys._getframe(1).f_code
    if not caller.co_filename.startswith(_PACKAGE):
        return default(value)
    offence = f"{cls.__name__} parameter got {type(value).__name__} {value!r}\n" + "".join(
        traceback.format_stack(limit=12)[:-1]
    )
    violations.append(offence)
    raise TypeError(f"expected {cls.__name__} instance, got {type(value).__name__}")


_VOID_P_FROM_PARAM: Any = vars(c_void_p)["from_param"]


def _kind(name: str, what: str) -> type[Handle]:
    namespace: dict[str, Any] = {"__slots__": (), "kind": what, "__doc__": f"A {what} handle."}
    if AUDIT:
        namespace["from_param"] = classmethod(_strict_from_param)
    return type(name, (Handle,), namespace)


SessionHandle = _kind("SessionHandle", "ge::Session")
GraphHandle = _kind("GraphHandle", "ge::Graph")
TensorHandle = _kind("TensorHandle", "EsCTensor (ge::Tensor)")
TensorDescHandle = _kind("TensorDescHandle", "ge::TensorDesc")
GraphBuilderHandle = _kind("GraphBuilderHandle", "EsCGraphBuilder")
TensorHolderHandle = _kind("TensorHolderHandle", "EsCTensorHolder")
GNodeHandle = _kind("GNodeHandle", "ge::GNode")
StreamHandle = _kind("StreamHandle", "aclrtStream")

KINDS: tuple[type[Handle], ...] = (
    SessionHandle,
    GraphHandle,
    TensorHandle,
    TensorDescHandle,
    GraphBuilderHandle,
    TensorHolderHandle,
    GNodeHandle,
    StreamHandle,
)
"""Every handle kind an argtype or restype of ``signatures.SPECS`` uses."""
