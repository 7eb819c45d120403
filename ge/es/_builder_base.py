"""What every part of ``GraphBuilder`` shares: the native builder handle, the
"already built" state, and one way to call a C function that makes a holder or
returns a status.

The native builder owns every holder it made until it is destroyed (CANN's
``EsCGraphBuilder`` keeps them in its resource list), so a holder's C calls
run inside a call on its builder (``_calling``): the builder cannot be
destroyed under them.
"""

from __future__ import annotations

import ctypes
from typing import Any, Callable, ClassVar, NoReturn, Optional

from ge import _messages
from ge._ffi import api, made
from ge._ffi.handles import GraphBuilderHandle
from ge._ffi.marshal import check_ge, encode_text, ge_error
from ge._native import C_FINALIZER, NativeObject
from ge.es.tensor_holder import TensorHolder
from ge.graph.graph import Graph, GraphInput
from ge.graph.types import DataType, Format

__all__ = ["BuilderBase", "GraphBuilderBuiltError"]


class GraphBuilderBuiltError(RuntimeError, ValueError):
    """A ``GraphBuilder`` (or one of its holders) used after it built its graph.

    A ``RuntimeError`` as in CANN's ``ge.es``; also a ``ValueError``, which this
    package's ``build()`` raised before.
    """


def encode_optional(text: object, what: str) -> Optional[bytes]:
    """``None``, or a ``str`` encoded for C."""
    return None if text is None else encode_text(text, what)


class BuilderBase(NativeObject):
    """The native ``EsCGraphBuilder`` and the state shared by the builder's parts."""

    __slots__ = ("_built", "_inputs", "_name", "_outputs")

    _kind: ClassVar[str] = "graph builder"
    _handle_type: ClassVar[Optional[type]] = GraphBuilderHandle
    _c_finalize: ClassVar[bool] = True
    __del__ = C_FINALIZER  # freed in C with the object (ge._ffi.owned)

    _built: bool
    _inputs: dict[int, GraphInput]
    _name: str
    _outputs: set[int]

    def __init__(self, name: Optional[str] = None) -> None:
        self._built = False
        self._inputs = {}
        self._outputs = set()
        if name is not None and not isinstance(name, str):
            raise TypeError(_messages.GRAPH_NAME)
        self._name = name or "graph"  # CANN: None and "" both name it "graph"
        encoded = encode_text(self._name, "name")
        handle = made.EsCreateGraphBuilder(encoded)
        if not handle:
            raise ge_error("EsCreateGraphBuilder", None, {"name": self._name})
        super().__init__(handle)

    def _release(self, handle: Any) -> None:
        handle.__class__ = GraphBuilderHandle  # disarmed (ge._ffi.owned), no call before C's
        api.EsDestroyGraphBuilder(handle)

    # -- state ------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The graph's name (``"graph"`` when none was given)."""
        return self._name

    @property
    def built(self) -> bool:
        """Whether the builder built its graph (it is unusable then)."""
        return self._built

    def _built_error(self, operation: str) -> GraphBuilderBuiltError:
        return GraphBuilderBuiltError(_messages.BUILT.format(operation=operation))

    def _raise_closed(self, *why: Any) -> NoReturn:
        if self._built:
            raise self._built_error(str(why[0]) if why else "use it or its holders")
        super()._raise_closed(*why)

    def _check_usable(self, operation: str) -> None:
        """Refuse any use once the graph is built (CANN: ``RuntimeError``)."""
        if self._built:
            raise self._built_error(operation)
        if self.closed:
            self._raise_closed(operation)

    # -- C calls ----------------------------------------------------------------

    def _holder_call(
        self,
        operation: str,
        api_name: str,
        call: Callable[[int], Any],
        context: dict[str, object],
    ) -> TensorHolder:
        """``call(builder handle)`` makes a holder: wrap it, apply the scopes."""
        self._check_usable(operation)
        with self._calling() as handle:
            raw = call(handle)
        if not raw:
            raise ge_error(api_name, None, context)
        holder = TensorHolder._create(self, raw)  # a TensorHolderHandle: kept as is
        return self._apply_scopes(holder)

    def _status_call(
        self, operation: str, api_name: str, call: Callable[[int], int], context: dict[str, object]
    ) -> None:
        """``call(builder handle)`` returns a status: raise ``GeError`` unless 0."""
        self._check_usable(operation)
        with self._calling() as handle:
            status = call(handle)
        check_ge(status, api_name, context)

    def _own(self, holder: object, what: str) -> TensorHolder:
        """``holder`` as a ``TensorHolder`` of this builder (``TypeError``/``ValueError``)."""
        if not isinstance(holder, TensorHolder):
            raise TypeError(f"{what} must be a TensorHolder, not {type(holder).__name__}")
        if holder._builder is not self:
            raise ValueError(f"{what} belongs to another GraphBuilder")
        return holder

    # -- what the CANN calls and this package's own share ------------------------------

    def _add_input(
        self,
        index: int,
        name: Optional[str],
        type_bytes: Optional[bytes],
        data_type: DataType,
        fmt: Format,
        dims: tuple[int, ...],
    ) -> TensorHolder:
        """Graph input ``index`` through ``EsCreateGraphInputWithDetails`` (arguments checked)."""
        encoded = encode_optional(name, "name")
        c_dims = (ctypes.c_int64 * max(len(dims), 1))(*dims)
        holder = self._holder_call(
            "create input",
            "EsCreateGraphInputWithDetails",
            lambda handle: api.EsCreateGraphInputWithDetails(
                handle, index, encoded, type_bytes, int(data_type), int(fmt), c_dims, len(dims)
            ),
            {"index": index, "data_type": data_type.name, "shape": dims},
        )
        self._inputs[index] = GraphInput(index, data_type, dims, fmt, name)
        return holder

    def _set_output(self, holder: TensorHolder, index: int) -> None:
        """``holder`` (of this builder) as graph output ``index`` (``EsSetGraphOutput``)."""
        self._status_call(
            "set graph output",
            "EsSetGraphOutput",
            lambda _: api.EsSetGraphOutput(holder._handle, index),
            {"index": index},
        )
        self._outputs.add(index)

    def _build_graph(self) -> Graph:
        """``EsBuildGraphAndReset``: the graph, owned at once; the builder is built."""
        with self._calling() as handle:
            raw = made.EsBuildGraphAndReset(handle)
            if not raw:
                raise ge_error("EsBuildGraphAndReset", None, {"name": self._name})
            graph = Graph._adopt(raw)
            self._built = True
        order = sorted(self._inputs)
        if order == list(range(len(order))):
            graph._remember(tuple(self._inputs[i] for i in order), len(self._outputs))
        return graph

    def _apply_scopes(self, holder: TensorHolder) -> TensorHolder:
        """What ``attr_scope``/``control_dependency_scope`` ask of a new holder."""
        return holder  # GraphBuilder adds the scopes

    def __repr__(self) -> str:
        state = "built" if self._built else "closed" if self.closed else "open"
        return f"GraphBuilder({self._name!r}, {state})"
