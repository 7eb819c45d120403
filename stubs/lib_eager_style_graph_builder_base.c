/* lib_eager_style_graph_builder_base.c -- the exported functions of
 * libeager_style_graph_builder_base.so (docs/abi.md section 7, esb_funcs.h, and
 * EsCreateEsCTensor of section 6), each a thin wrapper: enter, the
 * implementation (builder.c, tensors.c), leave. */
#include "stub_internal.h"

void *EsCreateEsCTensor(const void *data, const int64_t *dims, int64_t dim_num,
                        int data_type, int format)
{
    ge_stub_enter();
    void *h = tensor_create_es_locked(__func__, data, dims, dim_num, data_type, format);
    ge_stub_leave();
    return h;
}

void *EsCreateEsCTensorFromFile(const char *path, const int64_t *dims, int64_t dim_num,
                                int data_type, int format)
{
    ge_stub_enter();
    void *h = tensor_create_es_file_locked(__func__, path, dims, dim_num, data_type, format);
    ge_stub_leave();
    return h;
}

/* ---- builders, inputs, outputs ---- */

void *EsCreateGraphBuilder(const char *name)
{
    ge_stub_enter();
    void *h = builder_create_locked(__func__, name);
    ge_stub_leave();
    return h;
}

void EsDestroyGraphBuilder(void *builder)
{
    ge_stub_enter();
    builder_destroy_locked(__func__, builder);
    ge_stub_leave();
}

void *EsCreateGraphInput(void *builder, int64_t index)
{
    ge_stub_enter();
    void *h = builder_input_locked(__func__, builder, index, NULL, NULL, DT_FLOAT, FORMAT_ND,
                                   NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateGraphInputWithDetails(void *builder, int64_t index, const char *name,
                                    const char *type, int data_type, int format,
                                    const int64_t *shape, int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_input_locked(__func__, builder, index, name, type, data_type, format,
                                   shape, dim_num);
    ge_stub_leave();
    return h;
}

uint32_t EsSetGraphOutput(void *tensor_holder, int64_t output_index)
{
    ge_stub_enter();
    Status st = builder_set_output_locked(__func__, tensor_holder, output_index);
    ge_stub_leave();
    return st;
}

void *EsBuildGraphAndReset(void *builder)
{
    ge_stub_enter();
    void *h = builder_build_locked(__func__, builder);
    ge_stub_leave();
    return h;
}

void *EsGetOwnerBuilder(void *tensor_holder)
{
    ge_stub_enter();
    void *h = holder_owner_locked(__func__, tensor_holder);
    ge_stub_leave();
    return h;
}

void *EsGetProducer(void *tensor_holder)
{
    ge_stub_enter();
    void *h = holder_producer_locked(__func__, tensor_holder);
    ge_stub_leave();
    return h;
}

uint32_t EsAddControlEdge(void *dest_ctrl_tensor, void **src_ctrl_tensors,
                          int64_t ctrl_tensors_num)
{
    ge_stub_enter();
    Status st = holder_control_edges_locked(__func__, dest_ctrl_tensor, src_ctrl_tensors,
                                            ctrl_tensors_num);
    ge_stub_leave();
    return st;
}

/* ---- a holder's output description ---- */

uint32_t EsSetDataType(void *tensor_holder, int data_type)
{
    ge_stub_enter();
    Status st = holder_set_dtype_locked(__func__, tensor_holder, data_type);
    ge_stub_leave();
    return st;
}

uint32_t EsSetFormat(void *tensor_holder, int format)
{
    ge_stub_enter();
    Status st = holder_set_format_locked(__func__, tensor_holder, format);
    ge_stub_leave();
    return st;
}

uint32_t EsSetShape(void *tensor_holder, const int64_t *shape, int64_t dim_num)
{
    ge_stub_enter();
    Status st = holder_set_shape_locked(__func__, tensor_holder, shape, dim_num);
    ge_stub_leave();
    return st;
}

/* ---- consts, vectors, scalars, variables ---- */

void *EsCreateConstInt64(void *builder, const int64_t *value, const int64_t *dims,
                         int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT64, value, dims, dim_num);
    ge_stub_leave();
    return h;
}

void *EsCreateConstInt32(void *builder, const int32_t *value, const int64_t *dims,
                         int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT32, value, dims, dim_num);
    ge_stub_leave();
    return h;
}

void *EsCreateConstUInt64(void *builder, const uint64_t *value, const int64_t *dims,
                          int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT64, value, dims, dim_num);
    ge_stub_leave();
    return h;
}

void *EsCreateConstUInt32(void *builder, const uint32_t *value, const int64_t *dims,
                          int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT32, value, dims, dim_num);
    ge_stub_leave();
    return h;
}

void *EsCreateConstFloat(void *builder, const float *value, const int64_t *dims,
                         int64_t dim_num)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_FLOAT, value, dims, dim_num);
    ge_stub_leave();
    return h;
}

void *EsCreateVectorInt64(void *builder, const int64_t *value, int64_t dim)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT64, value, &dim, 1);
    ge_stub_leave();
    return h;
}

void *EsCreateVectorInt32(void *builder, const int32_t *value, int64_t dim)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT32, value, &dim, 1);
    ge_stub_leave();
    return h;
}

void *EsCreateVectorUInt64(void *builder, const uint64_t *value, int64_t dim)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT64, value, &dim, 1);
    ge_stub_leave();
    return h;
}

void *EsCreateVectorUInt32(void *builder, const uint32_t *value, int64_t dim)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT32, value, &dim, 1);
    ge_stub_leave();
    return h;
}

void *EsCreateVectorFloat(void *builder, const float *value, int64_t dim)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_FLOAT, value, &dim, 1);
    ge_stub_leave();
    return h;
}

void *EsCreateScalarInt64(void *builder, int64_t value)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT64, &value, NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateScalarInt32(void *builder, int32_t value)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_INT32, &value, NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateScalarUInt64(void *builder, uint64_t value)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT64, &value, NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateScalarUInt32(void *builder, uint32_t value)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_UINT32, &value, NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateScalarFloat(void *builder, float value)
{
    ge_stub_enter();
    void *h = builder_const_locked(__func__, builder, DT_FLOAT, &value, NULL, 0);
    ge_stub_leave();
    return h;
}

void *EsCreateVariable(void *builder, int32_t index, const char *name)
{
    ge_stub_enter();
    void *h = builder_variable_locked(__func__, builder, index, name);
    ge_stub_leave();
    return h;
}

/* ---- attributes ---- */

uint32_t EsSetInt64AttrForGraph(void *builder, const char *attr_name, int64_t value)
{
    ge_stub_enter();
    Status st = builder_graph_attr_locked(__func__, builder, attr_name, ATTR_INT, value, NULL);
    ge_stub_leave();
    return st;
}

uint32_t EsSetInt64AttrForTensor(void *tensor_holder, const char *attr_name, int64_t value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, true, attr_name, ATTR_INT, value,
                                   NULL);
    ge_stub_leave();
    return st;
}

uint32_t EsSetInt64AttrForNode(void *tensor_holder, const char *attr_name, int64_t value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, false, attr_name, ATTR_INT, value,
                                   NULL);
    ge_stub_leave();
    return st;
}

uint32_t EsSetStringAttrForGraph(void *builder, const char *attr_name, const char *value)
{
    ge_stub_enter();
    Status st = builder_graph_attr_locked(__func__, builder, attr_name, ATTR_STR, 0, value);
    ge_stub_leave();
    return st;
}

uint32_t EsSetStringAttrForTensor(void *tensor_holder, const char *attr_name, const char *value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, true, attr_name, ATTR_STR, 0,
                                   value);
    ge_stub_leave();
    return st;
}

uint32_t EsSetStringAttrForNode(void *tensor_holder, const char *attr_name, const char *value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, false, attr_name, ATTR_STR, 0,
                                   value);
    ge_stub_leave();
    return st;
}

uint32_t EsSetBoolAttrForGraph(void *builder, const char *attr_name, bool value)
{
    ge_stub_enter();
    Status st = builder_graph_attr_locked(__func__, builder, attr_name, ATTR_BOOL, value, NULL);
    ge_stub_leave();
    return st;
}

uint32_t EsSetBoolAttrForTensor(void *tensor_holder, const char *attr_name, bool value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, true, attr_name, ATTR_BOOL, value,
                                   NULL);
    ge_stub_leave();
    return st;
}

uint32_t EsSetBoolAttrForNode(void *tensor_holder, const char *attr_name, bool value)
{
    ge_stub_enter();
    Status st = holder_attr_locked(__func__, tensor_holder, false, attr_name, ATTR_BOOL, value,
                                   NULL);
    ge_stub_leave();
    return st;
}

/* The weak placeholders of the op functions, as in CANN's base library
 * (es_tensor_holder.cc): an error message and NULL.  The strong ones are
 * in a generated op library (lib_es_math.c), which the caller must load
 * first and look the ops up in. */

__attribute__((weak)) void *EsAdd(void *x1, void *x2)
{
    (void)x1;
    (void)x2;
    ge_stub_enter();
    builder_op_placeholder_locked(__func__);
    ge_stub_leave();
    return NULL;
}

__attribute__((weak)) void *EsSub(void *x1, void *x2)
{
    (void)x1;
    (void)x2;
    ge_stub_enter();
    builder_op_placeholder_locked(__func__);
    ge_stub_leave();
    return NULL;
}

__attribute__((weak)) void *EsMul(void *x1, void *x2)
{
    (void)x1;
    (void)x2;
    ge_stub_enter();
    builder_op_placeholder_locked(__func__);
    ge_stub_leave();
    return NULL;
}

__attribute__((weak)) void *EsDiv(void *x1, void *x2)
{
    (void)x1;
    (void)x2;
    ge_stub_enter();
    builder_op_placeholder_locked(__func__);
    ge_stub_leave();
    return NULL;
}
