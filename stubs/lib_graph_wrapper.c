/* lib_graph_wrapper.c -- the exported functions of libgraph_wrapper.so
 * (docs/abi.md sections 5 and 6; CANN builds it from c_graph.cc, c_tensor.cc,
 * c_tensor_desc.cc and friends), each a thin wrapper: enter, the
 * implementation (graphs.c, graph_air.c, builder.c, tensors.c), leave. */
#include "stub_internal.h"

/* ---- graphs ---- */

void *GeApiWrapper_Graph_CreateGraph(const char *name)
{
    ge_stub_enter();
    void *h = graph_create_locked(__func__, name);
    ge_stub_leave();
    return h;
}

void GeApiWrapper_Graph_DestroyGraph(void *graph)
{
    ge_stub_enter();
    graph_destroy_locked(__func__, graph);
    ge_stub_leave();
}

char *GeApiWrapper_Graph_GetName(void *graph)
{
    ge_stub_enter();
    char *name = graph_get_name_locked(__func__, graph);
    ge_stub_leave();
    return name;
}

void GeApiWrapper_FreeString(char *p)
{
    ge_stub_enter();
    string_free_locked(__func__, p);
    ge_stub_leave();
}

uint32_t GeApiWrapper_Graph_SaveToAir(void *graph, const char *path)
{
    ge_stub_enter();
    Status st = graph_save_air_locked(__func__, graph, path);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_Graph_LoadFromAir(void *graph, const char *path)
{
    ge_stub_enter();
    Status st = graph_load_air_locked(__func__, graph, path);
    ge_stub_leave();
    return st;
}

char *GeApiWrapper_Graph_Dump_To_Stream(void *graph, int32_t format)
{
    ge_stub_enter();
    char *text = graph_dump_locked(__func__, graph, format);
    ge_stub_leave();
    return text;
}

/* ---- nodes (c_gnode.cc) ---- */

char *GeApiWrapper_GNode_GetName(void *node)
{
    ge_stub_enter();
    char *name = gnode_name_locked(__func__, node, false);
    ge_stub_leave();
    return name;
}

char *GeApiWrapper_GNode_GetType(void *node)
{
    ge_stub_enter();
    char *type = gnode_name_locked(__func__, node, true);
    ge_stub_leave();
    return type;
}

/* ---- tensors ---- */

void *GeApiWrapper_Tensor_CreateTensor(void)
{
    ge_stub_enter();
    void *h = tensor_create_empty_locked(__func__);
    ge_stub_leave();
    return h;
}

void GeApiWrapper_Tensor_DestroyEsCTensor(void *tensor)
{
    ge_stub_enter();
    tensor_destroy_locked(__func__, tensor);
    ge_stub_leave();
}

uint32_t GeApiWrapper_Tensor_GetShape(void *tensor, int64_t **dims, size_t *dim_num)
{
    ge_stub_enter();
    Status st = tensor_get_shape_locked(__func__, tensor, dims, dim_num);
    ge_stub_leave();
    return st;
}

void GeApiWrapper_Tensor_FreeDimsArray(int64_t *dims)
{
    ge_stub_enter();
    dims_array_free_locked(__func__, dims);
    ge_stub_leave();
}

int GeApiWrapper_Tensor_GetDataType(void *tensor)
{
    ge_stub_enter();
    int v = tensor_get_dtype_locked(__func__, tensor);
    ge_stub_leave();
    return v;
}

int GeApiWrapper_Tensor_GetFormat(void *tensor)
{
    ge_stub_enter();
    int v = tensor_get_format_locked(__func__, tensor);
    ge_stub_leave();
    return v;
}

int32_t GeApiWrapper_Tensor_GetPlacement(void *tensor)
{
    ge_stub_enter();
    int32_t v = tensor_get_placement_locked(__func__, tensor);
    ge_stub_leave();
    return v;
}

uint32_t GeApiWrapper_Tensor_SetDataType(void *tensor, const int *dtype)
{
    ge_stub_enter();
    Status st = tensor_set_dtype_locked(__func__, tensor, dtype);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_Tensor_SetFormat(void *tensor, const int *format)
{
    ge_stub_enter();
    Status st = tensor_set_format_locked(__func__, tensor, format);
    ge_stub_leave();
    return st;
}

char *GeApiWrapper_Tensor_GetData(void *tensor)
{
    ge_stub_enter();
    char *text = tensor_get_text_locked(__func__, tensor);
    ge_stub_leave();
    return text;
}

void *GeApiWrapper_Tensor_GetTensorDesc(void *tensor)
{
    ge_stub_enter();
    void *h = tensor_get_desc_locked(__func__, tensor);
    ge_stub_leave();
    return h;
}

/* ---- tensor descriptions (c_tensor_desc.cc) ---- */

void *GeApiWrapper_TensorDesc_Create(const int64_t *dims, size_t dims_num, int format,
                                     int dtype)
{
    ge_stub_enter();
    void *h = tensor_desc_create_locked(__func__, dims, dims_num, format, dtype);
    ge_stub_leave();
    return h;
}

void GeApiWrapper_TensorDesc_Destroy(void *tensor_desc)
{
    ge_stub_enter();
    tensor_desc_destroy_locked(__func__, tensor_desc);
    ge_stub_leave();
}

uint32_t GeApiWrapper_TensorDesc_GetShape(void *tensor_desc, int64_t **dims, size_t *dims_num)
{
    ge_stub_enter();
    Status st = tensor_desc_get_dims_locked(__func__, 0, tensor_desc, dims, dims_num);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_TensorDesc_SetShape(void *tensor_desc, const int64_t *dims,
                                          size_t dims_num)
{
    ge_stub_enter();
    Status st = tensor_desc_set_dims_locked(__func__, 0, tensor_desc, dims, dims_num);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_TensorDesc_GetOriginShape(void *tensor_desc, int64_t **dims,
                                                size_t *dims_num)
{
    ge_stub_enter();
    Status st = tensor_desc_get_dims_locked(__func__, 1, tensor_desc, dims, dims_num);
    ge_stub_leave();
    return st;
}

uint32_t GeApiWrapper_TensorDesc_SetOriginShape(void *tensor_desc, const int64_t *dims,
                                                size_t dims_num)
{
    ge_stub_enter();
    Status st = tensor_desc_set_dims_locked(__func__, 1, tensor_desc, dims, dims_num);
    ge_stub_leave();
    return st;
}

int GeApiWrapper_TensorDesc_GetFormat(void *tensor_desc)
{
    ge_stub_enter();
    int v = tensor_desc_get_enum_locked(__func__, 0, tensor_desc);
    ge_stub_leave();
    return v;
}

uint32_t GeApiWrapper_TensorDesc_SetFormat(void *tensor_desc, int format)
{
    ge_stub_enter();
    Status st = tensor_desc_set_enum_locked(__func__, 0, tensor_desc, format);
    ge_stub_leave();
    return st;
}

int GeApiWrapper_TensorDesc_GetOriginFormat(void *tensor_desc)
{
    ge_stub_enter();
    int v = tensor_desc_get_enum_locked(__func__, 1, tensor_desc);
    ge_stub_leave();
    return v;
}

uint32_t GeApiWrapper_TensorDesc_SetOriginFormat(void *tensor_desc, int format)
{
    ge_stub_enter();
    Status st = tensor_desc_set_enum_locked(__func__, 1, tensor_desc, format);
    ge_stub_leave();
    return st;
}

int GeApiWrapper_TensorDesc_GetDataType(void *tensor_desc)
{
    ge_stub_enter();
    int v = tensor_desc_get_enum_locked(__func__, 2, tensor_desc);
    ge_stub_leave();
    return v;
}

uint32_t GeApiWrapper_TensorDesc_SetDataType(void *tensor_desc, int dtype)
{
    ge_stub_enter();
    Status st = tensor_desc_set_enum_locked(__func__, 2, tensor_desc, dtype);
    ge_stub_leave();
    return st;
}
