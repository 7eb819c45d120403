"""``Graph``: a GE graph handle, its name, its text dump, and saving/loading it as
a GE IR (``.air``) file, as CANN's ``ge.graph.graph``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, ClassVar, Optional, Union

from typing_extensions import Self

from ge import _messages
from ge._checks import fspath_bytes
from ge._ffi import api, made
from ge._ffi.handles import GraphHandle
from ge._ffi.marshal import check_ge, encode_text, ge_error, take_string
from ge._native import C_FINALIZER, NativeObject
from ge.graph.types import DataType, Format

__all__ = ["DumpFormat", "Graph", "GraphInput"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class GraphInput:
    """A graph input as it was declared with ``GraphBuilder.input``."""

    index: int
    dtype: DataType
    shape: tuple[int, ...]
    format: Format
    name: Optional[str]


class DumpFormat(IntEnum):
    """The text forms of ``Graph.dump_to_stream`` (``ge::Graph::DumpFormat`` of
    metadef's ``graph/graph.h``; CANN's Python enum has the same values)."""

    kOnnx = 0
    kTxt = 1
    kReadable = 2


def _encode_path(path: object, what: str = "path") -> bytes:
    return fspath_bytes(path, what)


def _dump_format(format: object) -> DumpFormat:
    if isinstance(format, bool) or not isinstance(format, int):
        raise TypeError(_messages.DUMP_FORMAT)
    if format not in DumpFormat.__members__.values():
        raise ValueError(f"format must be 0 (kOnnx), 1 (kTxt) or 2 (kReadable), got {format}")
    return DumpFormat(format)


class Graph(NativeObject):
    """A GE graph (owns its handle).

    ``Graph(name="graph")`` is an empty graph; ``GraphBuilder`` makes one
    with inputs, ops and outputs, and such a graph also remembers, in Python,
    its declared ``inputs`` and ``num_outputs``. ``str(graph)`` is its
    readable dump.
    """

    __slots__ = ("_inputs", "_num_outputs")

    _kind: ClassVar[str] = "graph"
    _handle_type: ClassVar[Optional[type]] = GraphHandle
    _c_finalize: ClassVar[bool] = True
    __del__ = C_FINALIZER  # freed in C with the object (ge._ffi.owned)

    _inputs: Optional[tuple[GraphInput, ...]]
    _num_outputs: Optional[int]

    def __init__(self, name: str = "graph") -> None:
        self._inputs = None
        self._num_outputs = None
        if not isinstance(name, str):
            raise TypeError(_messages.GRAPH_NAME)
        encoded = encode_text(name, "name")
        handle = made.GeApiWrapper_Graph_CreateGraph(encoded)
        if not handle:
            raise ge_error("CreateGraph", None, {"name": name})
        super().__init__(handle)

    @classmethod
    def _adopt(cls, handle: Any) -> Self:
        """Wrap a graph handle (an ``int``, or the ``GraphHandle`` C returned) this
        object now owns (freed when it is closed)."""
        if not isinstance(handle, GraphHandle) and (
            isinstance(handle, bool) or not isinstance(handle, int)
        ):
            raise TypeError(f"handle must be an int, not {type(handle).__name__}")
        if not handle:
            raise ValueError("cannot adopt a NULL graph handle")
        graph = cls.__new__(cls)
        graph._inputs = None
        graph._num_outputs = None
        NativeObject.__init__(graph, handle)
        return graph

    def _release(self, handle: Any) -> None:
        handle.__class__ = GraphHandle  # disarmed (ge._ffi.owned) with no call before C's
        api.GeApiWrapper_Graph_DestroyGraph(handle)

    def _remember(self, inputs: tuple[GraphInput, ...], num_outputs: int) -> None:
        self._inputs = inputs
        self._num_outputs = num_outputs

    @property
    def name(self) -> str:
        """The graph's name, as GE has it."""
        with self._calling() as handle:
            name = take_string(made.GeApiWrapper_Graph_GetName(handle))
        if name is None:
            raise ge_error("GetName", None, {})
        return name

    @property
    def inputs(self) -> Optional[tuple[GraphInput, ...]]:
        """The declared inputs, by index, of a graph from ``GraphBuilder``; else ``None``."""
        self.handle  # noqa: B018 - refuse a closed graph
        return self._inputs

    @property
    def num_outputs(self) -> Optional[int]:
        """How many outputs a graph from ``GraphBuilder`` has; else ``None``."""
        self.handle  # noqa: B018 - refuse a closed graph
        return self._num_outputs

    def save(self, path: PathLike) -> None:
        """Write the graph to a GE IR (``.air``) file.

        Needs ``GeApiWrapper_Graph_SaveToAir``; without it raises
        ``MissingSymbolError``.
        """
        encoded = _encode_path(path)
        save_to_air: Any = api.GeApiWrapper_Graph_SaveToAir
        with self._calling() as handle:
            status = save_to_air(handle, encoded)
        check_ge(status, "SaveToAir", {"path": os.fsdecode(encoded)})

    def save_to_air(self, file_path: PathLike) -> None:
        """Write the graph to the GE IR (``.air``) file ``file_path`` (a ``str`` or
        path object)."""
        self.save(file_path)

    def load_from_air(self, file_path: PathLike) -> None:
        """Replace this graph's content (its name included) with the GE IR file's.

        What Python remembered of a builder's graph (``inputs``,
        ``num_outputs``) is forgotten.
        """
        encoded = _encode_path(file_path, "file_path")
        load_from_air: Any = api.GeApiWrapper_Graph_LoadFromAir
        with self._exclusive() as handle:
            status = load_from_air(handle, encoded)
            if not status:
                self._inputs = None
                self._num_outputs = None
        check_ge(status, "LoadFromAir", {"path": os.fsdecode(encoded)})

    def dump_to_stream(self, format: Union[DumpFormat, int] = DumpFormat.kReadable) -> str:
        """The graph as text: ``kReadable`` (one line per node), ``kTxt`` (GE's
        model text) or ``kOnnx``."""
        fmt = _dump_format(format)
        dump: Any = made.GeApiWrapper_Graph_Dump_To_Stream
        with self._calling() as handle:
            text = take_string(dump(handle, int(fmt)))
        if text is None:
            raise ge_error("DumpToStream", None, {"format": fmt.name})
        return text

    def __str__(self) -> str:
        if self.closed:
            return repr(self)
        return self.dump_to_stream(DumpFormat.kReadable)

    @classmethod
    def load(cls, path: PathLike, name: Optional[str] = None) -> Self:
        """A new graph read from a GE IR file.

        ``name`` (default: the file's stem) names the graph created to load
        into; GE replaces the whole content, the name included, with what the
        file holds. Needs ``GeApiWrapper_Graph_LoadFromAir``; without it raises
        ``MissingSymbolError``.
        """
        encoded = _encode_path(path)
        if name is None:
            name = os.path.splitext(os.path.basename(os.fsdecode(encoded)))[0]
        load_from_air: Any = api.GeApiWrapper_Graph_LoadFromAir
        graph = cls(name)
        try:
            with graph._exclusive() as handle:
                status = load_from_air(handle, encoded)
            check_ge(status, "LoadFromAir", {"path": os.fsdecode(encoded)})
        except BaseException:
            graph.close()
            raise
        return graph

    def __repr__(self) -> str:
        if self.closed:
            return f"{type(self).__name__}(<closed>)"
        try:
            return f"{type(self).__name__}(name={self.name!r})"
        except Exception as exc:
            return f"{type(self).__name__}(<{type(exc).__name__}: {exc}>)"
