/* tensor_descs.c -- tensor descriptions (ge::TensorDesc: shape, format, data
 * type, origin shape and format, placement; metadef graph/normal_graph/
 * tensor.cc), their C API GeApiWrapper_TensorDesc_* (graph wrapper,
 * c_tensor_desc.cc), and the copies between a description and a tensor:
 * Tensor_GetTensorDesc (c_tensor.cc) and ge::Tensor::SetTensorDesc
 * (libgraph). */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdlib.h>

/* ==========================================================================
 * Copies between a tensor and a description (TensorAdapter in tensor.cc)
 * ========================================================================== */

/* Copy the description fields a Tensor and a TensorDesc share, by name
 * (either way round).  An origin shape that was never set stays unset. */
#define COPY_DESCRIPTION(dst, src)                                                         \
    do {                                                                                   \
        (dst)->dtype = (src)->dtype;                                                       \
        (dst)->format = (src)->format;                                                     \
        (dst)->shape = (src)->shape;                                                       \
        (dst)->origin_format = (src)->origin_format;                                       \
        (dst)->origin_shape_set = (src)->origin_shape_set;                                 \
        (dst)->origin_shape = (src)->origin_shape_set ? (src)->origin_shape : (Shape){ 0 }; \
        (dst)->placement = (src)->placement;                                               \
    } while (0)

/* SetTensorDesc: the whole description, placement included (a description
 * made by TensorDesc_Create is a host one); the storage is left as it is. */
void tensor_desc_apply(Tensor *t, const TensorDesc *d)
{
    COPY_DESCRIPTION(t, d);
}

/* GetTensorDesc: a detached copy of the tensor's description. */
void tensor_desc_take(TensorDesc *d, const Tensor *t)
{
    COPY_DESCRIPTION(d, t);
}

/* ==========================================================================
 * The description API (c_tensor_desc.cc)
 * ========================================================================== */

/* The description argument of a function with GE_ASSERT_NOTNULL. */
static TensorDesc *desc_arg(const char *fn, void *desc)
{
    TensorDesc *d = handle_lookup(fn, desc, H_TENSOR_DESC, NULL_CHECKED);
    if (!d)
        ge_err(fn, "tensor desc %p is NULL or not a live tensor desc", desc);
    return d;
}

/* BuildShape: dims may be NULL only for no dims.  CHOICE: the stand-in keeps
 * at most MAX_DIMS dims; any values are kept (-1 and -2 are unknown dims). */
static bool build_shape(const char *fn, Shape *s, const int64_t *dims, size_t dim_num)
{
    if (dim_num > MAX_DIMS || (dim_num && !dims)) {
        ge_err(fn, "%zu dims at %p: dims must be non-NULL, and the stand-in keeps at most %d",
               dim_num, (const void *)dims, MAX_DIMS);
        return false;
    }
    Shape shp = { (int)dim_num, { 0 } };
    for (size_t i = 0; i < dim_num; i++)
        shp.d[i] = dims[i];
    *s = shp;
    return true;
}

/* TensorDesc(shape, format, dt): origin format ND, no origin shape, host. */
void *tensor_desc_create_locked(const char *fn, const int64_t *dims, size_t dim_num,
                                int format, int data_type)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Shape shp;
    if (!build_shape(fn, &shp, dims, dim_num))
        return NULL;
    TensorDesc *d = calloc(1, sizeof *d);
    if (!d) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    d->shape = shp;
    d->format = format;
    d->dtype = data_type;
    d->origin_format = FORMAT_ND;
    d->placement = PLACEMENT_HOST;
    obj_register(&d->h, H_TENSOR_DESC);
    g_live[L_TENSOR_DESCS]++;
    return obj_handle(&d->h);
}

void tensor_desc_destroy_locked(const char *fn, void *desc)
{
    TensorDesc *d = handle_lookup(fn, desc, H_TENSOR_DESC, NULL_ALLOWED);   /* delete nullptr */
    if (!d) {
        if (desc)
            ge_err(fn, "unknown or destroyed tensor desc %p", desc);
        return;
    }
    obj_unregister(&d->h);
    free(d);
    g_live[L_TENSOR_DESCS]--;
}

/* GetShape / GetOriginShape: every argument is checked (PARAM_INVALID); the
 * dims are new int64_t[n], freed with Tensor_FreeDimsArray.  An injected
 * fault is the failure CANN does not report: its allocation fails, giving
 * GRAPH_SUCCESS with *dims NULL (and *dim_num the true count). */
Status tensor_desc_get_dims_locked(const char *fn, int which, void *desc, int64_t **dims,
                                   size_t *dim_num)
{
    TensorDesc *d = desc_arg(fn, desc);
    if (!d)
        return GE_PARAM_INVALID;
    if (!dims || !dim_num) {
        ge_err(fn, "dims or dim_num is NULL");
        return GE_PARAM_INVALID;
    }
    const Shape *s = which ? &d->origin_shape : &d->shape;
    uint32_t st;
    *dim_num = (size_t)s->n;
    *dims = NULL;
    if (!fault_fires(fn, &st) && !(*dims = dims_array_give(s)))
        ge_err(fn, "out of memory for %zu dims", *dim_num);
    return GE_SUCCESS;
}

/* SetShape / SetOriginShape: GRAPH_PARAM_INVALID for NULL dims with a count. */
Status tensor_desc_set_dims_locked(const char *fn, int which, void *desc,
                                   const int64_t *dims, size_t dim_num)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    TensorDesc *d = desc_arg(fn, desc);
    if (!d)
        return GE_PARAM_INVALID;
    Shape shp;
    if (!build_shape(fn, &shp, dims, dim_num))
        return GRAPH_PARAM_INVALID;
    if (which) {
        d->origin_shape = shp;
        d->origin_shape_set = true;
    } else {
        d->shape = shp;
    }
    return GE_SUCCESS;
}

static int *desc_enum_field(TensorDesc *d, int what)
{
    return what == 0 ? &d->format : what == 1 ? &d->origin_format : &d->dtype;
}

/* GetFormat / GetOriginFormat / GetDataType: 0 for a NULL description
 * (GE_ASSERT_NOTNULL in an enum function). */
int tensor_desc_get_enum_locked(const char *fn, int what, void *desc)
{
    TensorDesc *d = desc_arg(fn, desc);
    return d ? *desc_enum_field(d, what) : 0;
}

/* SetFormat / SetOriginFormat / SetDataType: by value; any value is kept. */
Status tensor_desc_set_enum_locked(const char *fn, int what, void *desc, int value)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    TensorDesc *d = desc_arg(fn, desc);
    if (!d)
        return GE_PARAM_INVALID;
    *desc_enum_field(d, what) = value;
    return GE_SUCCESS;
}

/* ge::Tensor::SetTensorDesc(const TensorDesc &), with the tensor handle as
 * `this`: a NULL or dead tensor or description crashes CANN. */
Status tensor_set_desc_locked(const char *fn, void *tensor, const void *desc)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CRASHES);
    TensorDesc *d = t ? handle_lookup(fn, desc, H_TENSOR_DESC, NULL_CRASHES) : NULL;
    if (!t || !d) {
        ge_err(fn, "tensor %p or tensor desc %p is not live", tensor, desc);
        return GE_PARAM_INVALID;
    }
    tensor_desc_apply(t, d);
    return GE_SUCCESS;
}
