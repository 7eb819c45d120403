"""``ge``: Huawei Ascend's Graph Engine (GE) from pure Python, through ctypes.

Importing ``ge`` loads no native library; the first call that needs one
loads it (see ``ge._ffi``). Typical use::

    import ge, ge.acl
    ge.acl.init()
    with ge.acl.Device(0), ge.acl.Stream() as stream:
        ge.initialize({"ge.exec.deviceId": "0"})
        with ge.Session() as session:
            session.add_graph(1, graph)
            outputs = session.run_graph(1, [ge.Tensor.from_numpy(x)])
        ge.finalize()
"""

from __future__ import annotations

from ge.error import (
    AclError,
    AclStatus,
    CannVersionError,
    GeError,
    LibraryNotFoundError,
    MissingSymbolError,
    Status,
)
from ge.ge_global import GeApi, finalize, initialize, initialized, is_initialized
from ge.graph import DataType, Format, Graph, GraphBuilder, Placement, Tensor
from ge.session import Session, has_session

__version__ = "0.1.0"

__all__ = [
    "AclError",
    "AclStatus",
    "CannVersionError",
    "DataType",
    "Format",
    "GeApi",
    "GeError",
    "Graph",
    "GraphBuilder",
    "LibraryNotFoundError",
    "MissingSymbolError",
    "Placement",
    "Session",
    "Status",
    "Tensor",
    "__version__",
    "finalize",
    "has_session",
    "initialize",
    "initialized",
    "is_initialized",
]
