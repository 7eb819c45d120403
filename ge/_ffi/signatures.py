"""Every C function of the ABI (``docs/abi.md``), with its ctypes signature.

Grouped as the ABI groups them. ``groups`` names the library group whose
handle the symbol is looked up on: the library CANN builds it into, or (for
the ``ge::Tensor`` members of ``libgraph.so``) the wrapper that depends on it,
since ``dlsym`` on a handle searches its dependencies (docs/abi.md section 2).
``optional`` symbols may be absent without making their library unusable.
"""

from __future__ import annotations

from ctypes import (
    POINTER,
    c_bool,
    c_char_p,
    c_float,
    c_int,
    c_int32,
    c_int64,
    c_size_t,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, NamedTuple, Optional

from ge._ffi.callbacks import FreeFn, GetAddrFn, MallocFn, OnDestroyFn
from ge._ffi.handles import (
    GNodeHandle,
    GraphBuilderHandle,
    GraphHandle,
    SessionHandle,
    StreamHandle,
    TensorDescHandle,
    TensorHandle,
    TensorHolderHandle,
)
from ge._ffi.owned import Text, owning
from ge._ffi.std_map import StdMap

Status = c_uint32
AclError = c_int
CharArray = POINTER(c_char_p)
VoidPtrArray = POINTER(c_void_p)


class FunctionSpec(NamedTuple):
    """A C function: name, return type, argument types, where it lives."""

    name: str
    restype: Optional[Any]
    argtypes: tuple[Any, ...]
    groups: tuple[str, ...]
    optional: bool = False


ACL = ("acl",)
GE = ("ge",)
GRAPH = ("graph",)
BUILDER = ("builder",)
OPS = ("ops",)  # never the builder base library: its EsAdd... are NULL-returning placeholders
STUB = ("stub",)

_OPTIONS = (CharArray, CharArray, c_int)

CONST_ELEMENT_TYPES: dict[str, Any] = {
    "Int64": c_int64,
    "Int32": c_int32,
    "UInt64": c_uint64,
    "UInt32": c_uint32,
    "Float": c_float,
}
"""The element type of each ``EsCreate{Const,Vector,Scalar}<suffix>``."""

_CONST_SPECS = tuple(
    spec
    for suffix, element in CONST_ELEMENT_TYPES.items()
    for spec in (
        FunctionSpec(
            f"EsCreateConst{suffix}",
            TensorHolderHandle,
            (GraphBuilderHandle, POINTER(element), POINTER(c_int64), c_int64),
            BUILDER,
        ),
        FunctionSpec(
            f"EsCreateVector{suffix}",
            TensorHolderHandle,
            (GraphBuilderHandle, POINTER(element), c_int64),
            BUILDER,
        ),
        FunctionSpec(
            f"EsCreateScalar{suffix}", TensorHolderHandle, (GraphBuilderHandle, element), BUILDER
        ),
    )
)

_ATTR_VALUE_TYPES: dict[str, Any] = {"Int64": c_int64, "String": c_char_p, "Bool": c_bool}

_ATTR_SPECS = tuple(
    FunctionSpec(f"EsSet{kind}AttrFor{target}", c_uint32, (owner, c_char_p, value), BUILDER)
    for kind, value in _ATTR_VALUE_TYPES.items()
    for target, owner in (
        ("Graph", GraphBuilderHandle),
        ("Tensor", TensorHolderHandle),
        ("Node", TensorHolderHandle),
    )
)
SESSION_COMPILE_GRAPH = "_ZN2ge7Session12CompileGraphEj"
"""``Status ge::Session::CompileGraph(uint32_t)``."""
SESSION_IS_GRAPH_NEED_REBUILD = "_ZN2ge7Session18IsGraphNeedRebuildEj"
"""``bool ge::Session::IsGraphNeedRebuild(uint32_t)``."""
SESSION_GET_SESSION_ID = "_ZNK2ge7Session12GetSessionIdEv"
"""``uint64_t ge::Session::GetSessionId() const``."""
SESSION_LOAD_GRAPH = (
    "_ZNK2ge7Session9LoadGraphEjRKSt3mapINS_12AscendStringES2_St4lessIS2_ESaISt4pairIKS2_S2_EEEPv"
)
"""``Status ge::Session::LoadGraph(uint32_t, const std::map<AscendString, AscendString> &,
void *) const``."""

SPECS: tuple[FunctionSpec, ...] = (
    # GE lifecycle
    FunctionSpec("GeApiWrapper_GEInitialize", Status, _OPTIONS, GE),
    FunctionSpec("GeApiWrapper_GEFinalize", Status, (), GE),
    FunctionSpec("GeApiWrapper_IsGEInitialized", c_bool, (), GE),
    FunctionSpec("GeApiWrapper_GEGetErrorMsg", c_char_p, (), GE),
    # Session
    FunctionSpec("GeApiWrapper_Session_CreateSession", owning(SessionHandle), (), GE),
    FunctionSpec(
        "GeApiWrapper_Session_CreateSessionWithOptions", owning(SessionHandle), _OPTIONS, GE
    ),
    FunctionSpec("GeApiWrapper_Session_DestroySession", None, (SessionHandle,), GE),
    FunctionSpec(
        "GeApiWrapper_Session_AddGraph", Status, (SessionHandle, c_uint32, GraphHandle), GE
    ),
    FunctionSpec(
        "GeApiWrapper_Session_AddGraphWithOptions",
        Status,
        (SessionHandle, c_uint32, GraphHandle, *_OPTIONS),
        GE,
    ),
    FunctionSpec("GeApiWrapper_Session_RemoveGraph", Status, (SessionHandle, c_uint32), GE),
    FunctionSpec(
        "GeApiWrapper_Session_RunGraph",
        Status,
        (SessionHandle, c_uint32, VoidPtrArray, c_int, POINTER(VoidPtrArray), POINTER(c_size_t)),
        GE,
    ),
    FunctionSpec(
        "GeApiWrapper_Session_RunGraphWithStreamAsync",
        Status,
        (
            SessionHandle,
            c_uint32,
            StreamHandle,
            VoidPtrArray,
            c_int,
            POINTER(VoidPtrArray),
            POINTER(c_size_t),
        ),
        GE,
    ),
    FunctionSpec("GeApiWrapper_Session_FreeTensorArray", None, (VoidPtrArray,), GE),
    FunctionSpec(
        "GeApiWrapper_Session_RegisterExternalAllocator",
        Status,
        (SessionHandle, StreamHandle, MallocFn, FreeFn, GetAddrFn, OnDestroyFn, c_void_p),
        GE,
    ),
    FunctionSpec(
        "GeApiWrapper_Session_RegisterDefaultAllocator", Status, (SessionHandle, StreamHandle), GE
    ),
    FunctionSpec(
        "GeApiWrapper_Session_UnregisterExternalAllocator",
        Status,
        (SessionHandle, StreamHandle),
        GE,
    ),
    FunctionSpec("GeApiWrapper_HasExternalAllocator", c_bool, (StreamHandle,), GE),
    FunctionSpec("GeApiWrapper_HasDefaultAllocator", c_bool, (StreamHandle,), GE),
    # ge::Session members and the extern "C" GeSessionLoadGraph (docs/abi.md section 9),
    # in libge_runner.so, reached through the runtime wrapper's handle; `this` is
    # the session handle, the options a `const std::map<AscendString,
    # AscendString> &` (only an empty one can be built: ge._ffi.std_map).
    FunctionSpec(SESSION_COMPILE_GRAPH, Status, (SessionHandle, c_uint32), GE, optional=True),
    FunctionSpec(
        SESSION_IS_GRAPH_NEED_REBUILD, c_bool, (SessionHandle, c_uint32), GE, optional=True
    ),
    FunctionSpec(SESSION_GET_SESSION_ID, c_uint64, (SessionHandle,), GE, optional=True),
    FunctionSpec(
        SESSION_LOAD_GRAPH,
        Status,
        (SessionHandle, c_uint32, POINTER(StdMap), StreamHandle),
        GE,
        optional=True,
    ),
    FunctionSpec(
        "GeSessionLoadGraph",
        Status,
        (SessionHandle, c_uint32, POINTER(StdMap), StreamHandle),
        GE,
        optional=True,
    ),
    # Tensor
    FunctionSpec(
        "EsCreateEsCTensor",
        owning(TensorHandle),
        (c_void_p, POINTER(c_int64), c_int64, c_int, c_int),
        BUILDER,
    ),
    FunctionSpec(
        "EsCreateEsCTensorFromFile",
        owning(TensorHandle),
        (c_char_p, POINTER(c_int64), c_int64, c_int, c_int),
        BUILDER,
    ),
    FunctionSpec("GeApiWrapper_Tensor_CreateTensor", owning(TensorHandle), (), GRAPH),
    FunctionSpec("GeApiWrapper_Tensor_DestroyEsCTensor", None, (TensorHandle,), GRAPH),
    FunctionSpec(
        "GeApiWrapper_Tensor_GetShape",
        c_uint32,
        (TensorHandle, POINTER(POINTER(c_int64)), POINTER(c_size_t)),
        GRAPH,
    ),
    FunctionSpec("GeApiWrapper_Tensor_FreeDimsArray", None, (POINTER(c_int64),), GRAPH),
    FunctionSpec("GeApiWrapper_Tensor_GetDataType", c_int, (TensorHandle,), GRAPH),
    FunctionSpec("GeApiWrapper_Tensor_GetFormat", c_int, (TensorHandle,), GRAPH),
    FunctionSpec(
        "GeApiWrapper_Tensor_SetDataType", c_uint32, (TensorHandle, POINTER(c_int)), GRAPH
    ),
    FunctionSpec("GeApiWrapper_Tensor_SetFormat", c_uint32, (TensorHandle, POINTER(c_int)), GRAPH),
    FunctionSpec("GeApiWrapper_Tensor_GetPlacement", c_int32, (TensorHandle,), GRAPH),
    # A new caller-owned TensorDesc, freed with TensorDesc_Destroy.
    FunctionSpec(
        "GeApiWrapper_Tensor_GetTensorDesc", owning(TensorDescHandle), (TensorHandle,), GRAPH
    ),
    # Caller-owned text (a malloc'd copy): the pointer, freed with FreeString.
    FunctionSpec("GeApiWrapper_Tensor_GetData", owning(Text), (TensorHandle,), GRAPH),
    FunctionSpec("GeApiWrapper_Tensor_ToHost", c_uint32, (TensorHandle,), GE),
    FunctionSpec("GeApiWrapper_Tensor_ToDevice", c_uint32, (TensorHandle,), GE),
    # Raw-bytes fast path: ge::Tensor::GetData() const / GetSize() const, in
    # libgraph.so, reached through the graph wrapper's handle.
    FunctionSpec("_ZNK2ge6Tensor7GetDataEv", c_void_p, (TensorHandle,), GRAPH, optional=True),
    FunctionSpec("_ZNK2ge6Tensor7GetSizeEv", c_size_t, (TensorHandle,), GRAPH, optional=True),
    # ge::Tensor::SetData(const uint8_t *, size_t) (copies) and
    # SetTensorDesc(const TensorDesc &): a tensor of any dtype in one copy.
    FunctionSpec(
        "_ZN2ge6Tensor7SetDataEPKhm",
        c_uint32,
        (TensorHandle, c_void_p, c_size_t),
        GRAPH,
        optional=True,
    ),
    FunctionSpec(
        "_ZN2ge6Tensor13SetTensorDescERKNS_10TensorDescE",
        c_uint32,
        (TensorHandle, TensorDescHandle),
        GRAPH,
        optional=True,
    ),
    # Tensor descriptions (c_tensor_desc.cc); dims from GetShape/GetOriginShape
    # are freed with Tensor_FreeDimsArray.
    FunctionSpec(
        "GeApiWrapper_TensorDesc_Create",
        owning(TensorDescHandle),
        (POINTER(c_int64), c_size_t, c_int, c_int),
        GRAPH,
    ),
    FunctionSpec("GeApiWrapper_TensorDesc_Destroy", None, (TensorDescHandle,), GRAPH),
    *(
        FunctionSpec(
            f"GeApiWrapper_TensorDesc_Get{what}",
            c_uint32,
            (TensorDescHandle, POINTER(POINTER(c_int64)), POINTER(c_size_t)),
            GRAPH,
        )
        for what in ("Shape", "OriginShape")
    ),
    *(
        FunctionSpec(
            f"GeApiWrapper_TensorDesc_Set{what}",
            c_uint32,
            (TensorDescHandle, POINTER(c_int64), c_size_t),
            GRAPH,
        )
        for what in ("Shape", "OriginShape")
    ),
    *(
        FunctionSpec(f"GeApiWrapper_TensorDesc_Get{what}", c_int, (TensorDescHandle,), GRAPH)
        for what in ("Format", "OriginFormat", "DataType")
    ),
    *(
        FunctionSpec(
            f"GeApiWrapper_TensorDesc_Set{what}", c_uint32, (TensorDescHandle, c_int), GRAPH
        )
        for what in ("Format", "OriginFormat", "DataType")
    ),
    # Graph
    FunctionSpec("GeApiWrapper_Graph_CreateGraph", owning(GraphHandle), (c_char_p,), GRAPH),
    FunctionSpec("GeApiWrapper_Graph_DestroyGraph", None, (GraphHandle,), GRAPH),
    FunctionSpec("GeApiWrapper_Graph_GetName", owning(Text), (GraphHandle,), GRAPH),
    FunctionSpec("GeApiWrapper_FreeString", None, (c_void_p,), GRAPH),
    FunctionSpec(
        "GeApiWrapper_Graph_SaveToAir", c_uint32, (GraphHandle, c_char_p), GRAPH, optional=True
    ),
    FunctionSpec(
        "GeApiWrapper_Graph_LoadFromAir", c_uint32, (GraphHandle, c_char_p), GRAPH, optional=True
    ),
    # Graph text (caller-owned, freed with FreeString) and the nodes behind holders
    FunctionSpec(
        "GeApiWrapper_Graph_Dump_To_Stream",
        owning(Text),
        (GraphHandle, c_int32),
        GRAPH,
        optional=True,
    ),
    FunctionSpec("GeApiWrapper_GNode_GetName", owning(Text), (GNodeHandle,), GRAPH, optional=True),
    FunctionSpec("GeApiWrapper_GNode_GetType", owning(Text), (GNodeHandle,), GRAPH, optional=True),
    # Eager-style builder (esb_funcs.h)
    FunctionSpec("EsCreateGraphBuilder", owning(GraphBuilderHandle), (c_char_p,), BUILDER),
    FunctionSpec("EsDestroyGraphBuilder", None, (GraphBuilderHandle,), BUILDER),
    FunctionSpec("EsCreateGraphInput", TensorHolderHandle, (GraphBuilderHandle, c_int64), BUILDER),
    FunctionSpec(
        "EsCreateGraphInputWithDetails",
        TensorHolderHandle,
        (GraphBuilderHandle, c_int64, c_char_p, c_char_p, c_int, c_int, POINTER(c_int64), c_int64),
        BUILDER,
    ),
    FunctionSpec("EsSetDataType", c_uint32, (TensorHolderHandle, c_int), BUILDER),
    FunctionSpec("EsSetFormat", c_uint32, (TensorHolderHandle, c_int), BUILDER),
    FunctionSpec("EsSetShape", c_uint32, (TensorHolderHandle, POINTER(c_int64), c_int64), BUILDER),
    *_CONST_SPECS,
    FunctionSpec(
        "EsCreateVariable", TensorHolderHandle, (GraphBuilderHandle, c_int32, c_char_p), BUILDER
    ),
    FunctionSpec("EsSetGraphOutput", c_uint32, (TensorHolderHandle, c_int64), BUILDER),
    FunctionSpec("EsGetOwnerBuilder", GraphBuilderHandle, (TensorHolderHandle,), BUILDER),
    FunctionSpec("EsGetProducer", GNodeHandle, (TensorHolderHandle,), BUILDER),
    FunctionSpec("EsBuildGraphAndReset", owning(GraphHandle), (GraphBuilderHandle,), BUILDER),
    FunctionSpec(
        "EsAddControlEdge",
        c_uint32,
        (TensorHolderHandle, VoidPtrArray, c_int64),  # the sources: a void *[]
        BUILDER,
    ),
    *_ATTR_SPECS,
    FunctionSpec("EsAdd", TensorHolderHandle, (TensorHolderHandle, TensorHolderHandle), OPS),
    FunctionSpec("EsSub", TensorHolderHandle, (TensorHolderHandle, TensorHolderHandle), OPS),
    FunctionSpec("EsMul", TensorHolderHandle, (TensorHolderHandle, TensorHolderHandle), OPS),
    FunctionSpec("EsDiv", TensorHolderHandle, (TensorHolderHandle, TensorHolderHandle), OPS),
    # ACL runtime
    FunctionSpec("aclInit", AclError, (c_char_p,), ACL),
    FunctionSpec("aclFinalize", AclError, (), ACL),
    FunctionSpec("aclrtSetDevice", AclError, (c_int32,), ACL),
    FunctionSpec("aclrtResetDevice", AclError, (c_int32,), ACL),
    FunctionSpec("aclrtGetDevice", AclError, (POINTER(c_int32),), ACL),
    FunctionSpec("aclrtGetDeviceCount", AclError, (POINTER(c_uint32),), ACL),
    FunctionSpec("aclrtCreateStream", AclError, (POINTER(StreamHandle),), ACL),
    FunctionSpec("aclrtDestroyStream", AclError, (StreamHandle,), ACL),
    FunctionSpec("aclrtSynchronizeStream", AclError, (StreamHandle,), ACL),
    FunctionSpec("aclrtMalloc", AclError, (POINTER(c_void_p), c_size_t, c_int), ACL),
    FunctionSpec("aclrtFree", AclError, (c_void_p,), ACL),
    FunctionSpec("aclrtMallocHost", AclError, (POINTER(c_void_p), c_size_t), ACL),
    FunctionSpec("aclrtFreeHost", AclError, (c_void_p,), ACL),
    FunctionSpec("aclrtMemcpy", AclError, (c_void_p, c_size_t, c_void_p, c_size_t, c_int), ACL),
    FunctionSpec(
        "aclrtMemcpyAsync",
        AclError,
        (c_void_p, c_size_t, c_void_p, c_size_t, c_int, StreamHandle),
        ACL,
    ),
    FunctionSpec("aclrtMemset", AclError, (c_void_p, c_size_t, c_int32, c_size_t), ACL),
    FunctionSpec("aclGetRecentErrMsg", c_char_p, (), ACL),
    FunctionSpec(
        "aclrtGetVersion",
        AclError,
        (POINTER(c_int32), POINTER(c_int32), POINTER(c_int32)),
        ACL,
        optional=True,
    ),
    # Stand-in control and inspection (stubs/README.md); only in the stand-in.
    FunctionSpec("GeStub_Reset", None, (), STUB),
    FunctionSpec("GeStub_FailNext", None, (c_char_p, c_uint32, c_int32), STUB),
    FunctionSpec("GeStub_FaultsPending", c_int32, (), STUB),
    FunctionSpec("GeStub_ClearFaults", None, (), STUB),
    FunctionSpec("GeStub_FailableFunctions", c_char_p, (), STUB),
    FunctionSpec("GeStub_SetMisuseAborts", None, (c_int,), STUB),
    FunctionSpec("GeStub_LiveKinds", c_char_p, (), STUB),
    FunctionSpec("GeStub_LiveCount", c_int64, (c_char_p,), STUB),
    FunctionSpec("GeStub_CallbackNames", c_char_p, (), STUB),
    FunctionSpec("GeStub_CallbackCount", c_int64, (c_char_p,), STUB),
    FunctionSpec("GeStub_SetDeviceCount", None, (c_uint32,), STUB),
    FunctionSpec("GeStub_SetMemoryLimit", None, (c_uint64,), STUB),
    FunctionSpec("GeStub_PendingWork", c_int64, (StreamHandle,), STUB),
    FunctionSpec("GeStub_GraphInputCount", c_int64, (GraphHandle,), STUB),
    FunctionSpec("GeStub_GraphOutputCount", c_int64, (GraphHandle,), STUB),
    FunctionSpec(
        "GeStub_GraphInputDesc",
        c_int32,
        (
            GraphHandle,
            c_int64,
            POINTER(c_int32),
            POINTER(c_int32),
            POINTER(c_int64),
            c_int64,
            POINTER(c_int64),
        ),
        STUB,
    ),
    FunctionSpec(
        "GeStub_GraphOutputDesc",
        c_int32,
        (GraphHandle, c_int64, POINTER(c_int32), POINTER(c_int64), c_int64, POINTER(c_int64)),
        STUB,
    ),
)

SPECS_BY_NAME: dict[str, FunctionSpec] = {spec.name: spec for spec in SPECS}
"""Every declared function by its C name."""

ABI_SPECS: tuple[FunctionSpec, ...] = tuple(s for s in SPECS if s.groups != STUB)
"""The functions of the ABI proper (the stand-in's control symbols left out)."""
