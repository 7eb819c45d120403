/* lib_eager_style_graph_builder_base.c -- the exported functions of
 * libeager_style_graph_builder_base.so (ABI.md section 7, and
 * EsCreateEsCTensor of section 6), each a thin wrapper: enter, the
 * implementation (graphs.c, tensors.c), leave. */
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
