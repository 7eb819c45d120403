"""``GraphBuilder``'s attributes (``EsSet{Int64,String,Bool}AttrFor{Graph,Tensor,Node}``)
and control dependencies (``EsAddControlEdge``).

Graph attributes belong to the graph being built (and show in
``Graph.dump_to_stream``); tensor attributes to a holder's output tensor; node
attributes to the node that produces it.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable

from ge import _messages
from ge._checks import INT64_MAX, INT64_MIN, as_int_in
from ge._ffi import api
from ge._ffi.marshal import encode_text
from ge.es._builder_base import BuilderBase
from ge.es.tensor_holder import TensorHolder

__all__ = ["AttributesMixin"]


def _name(attr_name: object) -> bytes:
    if not isinstance(attr_name, str):
        raise TypeError(_messages.ATTR_NAME)
    return encode_text(attr_name, "attribute name")


def _int64(value: object) -> int:
    return as_int_in(value, "value", INT64_MIN, INT64_MAX, _messages.VALUE_INT)


def _string(value: object) -> bytes:
    if not isinstance(value, str):
        raise TypeError(_messages.VALUE_STRING)
    return encode_text(value, "value")


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(_messages.VALUE_BOOL)
    return value


class AttributesMixin(BuilderBase):
    """Graph, tensor and node attributes and control dependencies of a ``GraphBuilder``."""

    __slots__ = ()

    def _graph_attr(self, kind: str, attr_name: object, value: Any) -> None:
        self._check_usable("set graph attribute")
        name = _name(attr_name)
        function: Callable[..., int] = getattr(api, f"EsSet{kind}AttrForGraph")
        self._status_call(
            "set graph attribute",
            f"EsSet{kind}AttrForGraph",
            lambda handle: function(handle, name, value),
            {"attr_name": attr_name},
        )

    def _holder_attr(
        self, target: str, kind: str, tensor: object, attr_name: object, value: Any
    ) -> None:
        operation = f"set {target.lower()} attribute"
        self._check_usable(operation)
        holder = self._own(tensor, "tensor")
        name = _name(attr_name)
        function: Callable[..., int] = getattr(api, f"EsSet{kind}AttrFor{target}")
        self._status_call(
            operation,
            f"EsSet{kind}AttrFor{target}",
            lambda _: function(holder._handle, name, value),
            {"attr_name": attr_name},
        )

    def set_graph_attr_int64(self, attr_name: str, value: int) -> None:
        """Set an int64 attribute of the graph."""
        self._check_usable("set graph attribute")
        self._graph_attr("Int64", attr_name, _int64(value))

    def set_graph_attr_string(self, attr_name: str, value: str) -> None:
        """Set a string attribute of the graph."""
        self._check_usable("set graph attribute")
        self._graph_attr("String", attr_name, _string(value))

    def set_graph_attr_bool(self, attr_name: str, value: bool) -> None:
        """Set a bool attribute of the graph."""
        self._check_usable("set graph attribute")
        self._graph_attr("Bool", attr_name, _bool(value))

    def set_tensor_attr_int64(self, tensor: TensorHolder, attr_name: str, value: int) -> None:
        """Set an int64 attribute of ``tensor`` (the output tensor of its node)."""
        self._holder_attr("Tensor", "Int64", tensor, attr_name, _int64(value))

    def set_tensor_attr_string(self, tensor: TensorHolder, attr_name: str, value: str) -> None:
        """Set a string attribute of ``tensor``."""
        self._holder_attr("Tensor", "String", tensor, attr_name, _string(value))

    def set_tensor_attr_bool(self, tensor: TensorHolder, attr_name: str, value: bool) -> None:
        """Set a bool attribute of ``tensor``."""
        self._holder_attr("Tensor", "Bool", tensor, attr_name, _bool(value))

    def set_node_attr_int64(self, tensor: TensorHolder, attr_name: str, value: int) -> None:
        """Set an int64 attribute of the node that produces ``tensor``."""
        self._holder_attr("Node", "Int64", tensor, attr_name, _int64(value))

    def set_node_attr_string(self, tensor: TensorHolder, attr_name: str, value: str) -> None:
        """Set a string attribute of the node that produces ``tensor``."""
        self._holder_attr("Node", "String", tensor, attr_name, _string(value))

    def set_node_attr_bool(self, tensor: TensorHolder, attr_name: str, value: bool) -> None:
        """Set a bool attribute of the node that produces ``tensor``."""
        self._holder_attr("Node", "Bool", tensor, attr_name, _bool(value))

    def set_node_attr(self, tensor: TensorHolder, attr_name: str, value: object) -> None:
        """Set a node attribute of the type of ``value`` (``bool``, ``int`` or ``str``)."""
        if isinstance(value, bool):
            self.set_node_attr_bool(tensor, attr_name, value)
        elif isinstance(value, str):
            self.set_node_attr_string(tensor, attr_name, value)
        elif isinstance(value, int):
            self.set_node_attr_int64(tensor, attr_name, value)
        else:
            raise TypeError(
                "a node attribute of the builder is an int, a str or a bool, "
                f"not {type(value).__name__}"
            )

    def add_control_dependency(
        self, dst_tensor: TensorHolder, src_tensors: list[TensorHolder]
    ) -> None:
        """Make the node of ``dst_tensor`` run after the nodes of ``src_tensors``."""
        self._check_usable("add control dependency")
        if not _is_holder(dst_tensor):
            raise TypeError(_messages.CONTROL_DST)
        if not isinstance(src_tensors, list):
            raise TypeError(_messages.CONTROL_SRC_LIST)
        if not all(_is_holder(t) for t in src_tensors):
            raise TypeError(_messages.CONTROL_SRC_HOLDERS)
        dst = self._own(dst_tensor, "dst_tensor")
        sources = [self._own(t, f"src_tensors[{i}]") for i, t in enumerate(src_tensors)]
        array = (ctypes.c_void_p * max(len(sources), 1))(*(s._handle for s in sources))
        self._status_call(
            "add control dependency",
            "EsAddControlEdge",
            lambda _: api.EsAddControlEdge(dst._handle, array, len(sources)),
            {"count": len(sources)},
        )


def _is_holder(value: object) -> bool:
    return isinstance(value, TensorHolder)
