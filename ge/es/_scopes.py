"""``attr_scope`` and ``control_dependency_scope``: what every holder made inside
them gets (node attributes, control dependencies), per thread, as in CANN."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping

from ge.es.tensor_holder import TensorHolder

__all__ = ["attr_scope", "control_dependency_scope", "current_attrs", "current_dependencies"]

_local = threading.local()


def current_attrs() -> dict[str, object]:
    """The node attributes of the innermost ``attr_scope`` of this thread."""
    attrs: dict[str, object] = getattr(_local, "attrs", {})
    return attrs


def current_dependencies() -> list[TensorHolder]:
    """The control dependencies of the ``control_dependency_scope``s of this thread."""
    tensors: list[TensorHolder] = getattr(_local, "dependencies", [])
    return tensors


@contextlib.contextmanager
def attr_scope(attr_maps: Mapping[str, object]) -> Iterator[None]:
    """Give every node made in the block these attributes (an ``int``, ``str`` or ``bool``
    each); nested scopes add to (and override) the outer ones."""
    if not isinstance(attr_maps, Mapping):
        raise TypeError(f"attr_maps must be a mapping, not {type(attr_maps).__name__}")
    outer = current_attrs()
    try:
        inner = dict(attr_maps)
    except Exception as exc:  # a mapping that cannot be read: the caller's mistake
        raise TypeError(f"attr_maps cannot be read as a mapping: {exc!r}") from exc
    _local.attrs = {**outer, **inner}
    try:
        yield
    finally:
        _local.attrs = outer


@contextlib.contextmanager
def control_dependency_scope(tensors: list[TensorHolder]) -> Iterator[None]:
    """Make every node made in the block run after the nodes of ``tensors``."""
    if not isinstance(tensors, list) or not all(isinstance(t, TensorHolder) for t in tensors):
        raise TypeError("tensors must be a list of TensorHolder")
    outer = current_dependencies()
    _local.dependencies = outer + tensors
    try:
        yield
    finally:
        _local.dependencies = outer
