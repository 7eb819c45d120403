/* tensors.c -- tensors (host data, device data of their own, or a block
 * of a stream's allocator), their text rendering, and the tensor API:
 * EsCreateEsCTensor (builder base), the GeApiWrapper_Tensor_* functions
 * (graph wrapper; ToHost and ToDevice: runtime wrapper) and the raw-bytes
 * ge::Tensor members (libgraph). */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PtrSet g_tensor_arrays, g_dims_arrays;

/* ==========================================================================
 * The tensor model
 * ========================================================================== */

Tensor *tensor_new(int dtype, int format, const Shape *shape)
{
    Tensor *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->dtype = dtype;
    t->format = format;
    t->placement = PLACEMENT_HOST;
    if (shape)
        t->shape = *shape;
    obj_register(&t->h, H_TENSOR);
    g_live[L_TENSORS]++;
    return t;
}

const uint8_t *tensor_bytes(const Tensor *t)
{
    if (!t->has_data)
        return NULL;
    if (t->placement == PLACEMENT_HOST)
        return t->host;
    return region_by_id(&g_dev, t->region) ? t->addr : NULL;
}

static void tensor_drop_device(Tensor *t, CbList *cb)
{
    if (t->own_region) {
        Region *r = region_by_id(&g_dev, t->region);
        if (r)
            region_release(&g_dev, r);
    }
    if (t->blk)
        ablock_unref(t->blk, cb);
    t->own_region = false;
    t->blk = NULL;
    t->addr = NULL;
    t->region = 0;
}

void tensor_free(Tensor *t, CbList *cb)
{
    obj_unregister(&t->h);
    tensor_drop_device(t, cb);
    free(t->host);
    free(t);
    g_live[L_TENSORS]--;
}

/* Render n values as text (GetData).  Returns a malloc'd string. */
static void fmt_real(char *buf, size_t cap, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    bool neg = bits >> 63;
    if (v != v)
        snprintf(buf, cap, "%s", neg ? "-nan" : "nan");
    else if ((bits & 0x7fffffffffffffffull) == 0x7ff0000000000000ull)
        snprintf(buf, cap, "%s", neg ? "-inf" : "inf");
    else
        snprintf(buf, cap, "%.17g", v);
}

static char *render_text(int dtype, const uint8_t *p, size_t nbytes)
{
    size_t esz = dtype_size(dtype);
    size_t n = esz ? nbytes / esz : 0;
    const size_t width = 64;            /* enough for two values */
    if (n > (SIZE_MAX - 1) / width)
        return NULL;
    char *out = malloc(n * width + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const uint8_t *e = p + i * esz;
        char v[64];
        union { int8_t i8; uint8_t u8; int16_t i16; uint16_t u16; int32_t i32;
                uint32_t u32; int64_t i64; uint64_t u64; float f; double d;
                float c64[2]; double c128[2]; } u;
        memcpy(&u, e, esz);
        switch (dtype) {
        case DT_INT8:   snprintf(v, sizeof v, "%d", u.i8); break;
        case DT_UINT8:  snprintf(v, sizeof v, "%u", u.u8); break;
        case DT_BOOL:   snprintf(v, sizeof v, "%d", u.u8 ? 1 : 0); break;
        case DT_INT16:  snprintf(v, sizeof v, "%d", u.i16); break;
        case DT_UINT16: snprintf(v, sizeof v, "%u", u.u16); break;
        case DT_INT32:  snprintf(v, sizeof v, "%" PRId32, u.i32); break;
        case DT_UINT32: snprintf(v, sizeof v, "%" PRIu32, u.u32); break;
        case DT_INT64:  snprintf(v, sizeof v, "%" PRId64, u.i64); break;
        case DT_UINT64: snprintf(v, sizeof v, "%" PRIu64, u.u64); break;
        case DT_FLOAT16: fmt_real(v, sizeof v, (double)f16_to_f32(u.u16)); break;
        case DT_BF16:   fmt_real(v, sizeof v, bf16_to_f64(u.u16)); break;
        case DT_FLOAT:  fmt_real(v, sizeof v, (double)u.f); break;
        case DT_DOUBLE: fmt_real(v, sizeof v, u.d); break;
        case DT_COMPLEX64:
        case DT_COMPLEX128: {
            char re[30], im[30];
            fmt_real(re, sizeof re, dtype == DT_COMPLEX64 ? (double)u.c64[0] : u.c128[0]);
            fmt_real(im, sizeof im, dtype == DT_COMPLEX64 ? (double)u.c64[1] : u.c128[1]);
            snprintf(v, sizeof v, "%s,%s", re, im);
            break;
        }
        default: v[0] = '\0'; break;
        }
        k += (size_t)snprintf(out + k, n * width + 1 - k, "%s%s", i ? "," : "", v);
    }
    return out;
}

/* ==========================================================================
 * The tensor API
 * ========================================================================== */

void *tensor_create_es_locked(const char *fn, const void *data, const int64_t *dims,
                              int64_t dim_num, int data_type, int format)
{
    Shape shp;
    size_t nbytes;
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    if (!dtype_size(data_type)) {
        ge_err(fn, "unsupported data type %d", data_type);
        return NULL;
    }
    if (!shape_from(&shp, dims, dim_num, 0) || !shape_nbytes(&shp, data_type, &nbytes)) {
        ge_err(fn, "invalid shape (dim_num %" PRId64 ", a negative dim or a size overflow)",
               dim_num);
        return NULL;
    }
    if (!data && nbytes) {
        ge_err(fn, "data is NULL for a tensor of %zu bytes", nbytes);
        return NULL;
    }
    uint8_t *buf = host_alloc(nbytes);
    Tensor *t = buf ? tensor_new(data_type, format, &shp) : NULL;
    if (!t) {
        free(buf);
        ge_err(fn, "out of memory for %zu bytes", nbytes);
        return NULL;
    }
    if (nbytes)
        memcpy(buf, data, nbytes);
    t->host = buf;
    t->nbytes = nbytes;
    t->has_data = true;
    return obj_handle(&t->h);
}

/* CHOICE: the empty tensor is FLOAT, format ND, 0-d, with no data
 * (GetData "" and raw size 0, rejected as a graph input). */
void *tensor_create_empty_locked(const char *fn)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Tensor *t = tensor_new(DT_FLOAT, FORMAT_ND, NULL);
    if (!t) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    return obj_handle(&t->h);
}

void tensor_destroy_locked(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_ALLOWED);
    if (t)
        tensor_free(t, deferred());
    else if (tensor)
        ge_err(fn, "unknown or destroyed tensor %p", tensor);
}

/* The tensor argument of a call that reports a dead one (NULL_CHECKED). */
static Tensor *tensor_arg(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CHECKED);
    if (!t)
        ge_err(fn, "tensor %p is NULL or not a live tensor", tensor);
    return t;
}

Status tensor_get_shape_locked(const char *fn, void *tensor, int64_t **dims, size_t *dim_num)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_GRAPH_PARAM_NULLPTR;
    if (!dims || !dim_num) {
        ge_err(fn, "dims or dim_num is NULL");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    if (t->shape.n == 0) {
        *dims = NULL;                /* a 0-d tensor: nothing to free */
        *dim_num = 0;
        return GE_SUCCESS;
    }
    int64_t *d = malloc(sizeof *d * (size_t)t->shape.n);
    if (!d || !ptrset_add(&g_dims_arrays, d)) {
        free(d);
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    memcpy(d, t->shape.d, sizeof *d * (size_t)t->shape.n);
    g_live[L_DIMS_ARRAYS]++;
    *dims = d;
    *dim_num = (size_t)t->shape.n;
    return GE_SUCCESS;
}

void dims_array_free_locked(const char *fn, int64_t *dims)
{
    if (!dims)
        return;
    if (ptrset_remove(&g_dims_arrays, dims)) {
        free(dims);
        g_live[L_DIMS_ARRAYS]--;
    } else {
        ge_err(fn, "%p is not a dims array returned by GetShape", (void *)dims);
    }
}

/* CHOICE: GetDataType / GetFormat / GetPlacement return -1 for a dead
 * handle (with a message). */
int tensor_get_dtype_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->dtype : -1;
}

int tensor_get_format_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->format : -1;
}

int32_t tensor_get_placement_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->placement : -1;
}

/* CHOICE: any data type >= 0 is accepted (DT_STRING too); the data bytes
 * are kept as they are (GetData renders nbytes / element size values, so
 * "" for a type the stand-in cannot size). */
Status tensor_set_dtype_locked(const char *fn, void *tensor, const int *dtype)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_GRAPH_PARAM_NULLPTR;
    if (!dtype) {
        ge_err(fn, "dtype is NULL");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    if (*dtype < 0) {
        ge_err(fn, "invalid data type %d", *dtype);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    t->dtype = *dtype;
    return GE_SUCCESS;
}

Status tensor_set_format_locked(const char *fn, void *tensor, const int *format)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_GRAPH_PARAM_NULLPTR;
    if (!format) {
        ge_err(fn, "format is NULL");
        return GE_GRAPH_PARAM_NULLPTR;
    }
    t->format = *format;
    return GE_SUCCESS;
}

/* NULL for a dead handle or a device tensor whose memory is gone. */
char *tensor_get_text_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return NULL;
    const uint8_t *p = tensor_bytes(t);
    if (t->has_data && !p) {
        ge_err(fn, "the tensor's device memory was freed");
        return NULL;
    }
    char *txt = render_text(t->dtype, p, p ? t->nbytes : 0);
    if (!txt) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    char *owned = string_give(fn, txt);   /* c_tensor.cc: AscendStringToChar */
    free(txt);
    return owned;
}

/* ge::Tensor::GetData() const / GetSize() const, called with the handle
 * as `this`; NULL / 0 (no message) for a NULL handle. */
const uint8_t *tensor_raw_data_locked(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CHECKED);
    if (!t || !t->has_data)
        return NULL;
    return t->placement == PLACEMENT_HOST ? t->host : t->addr;
}

size_t tensor_raw_size_locked(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CHECKED);
    return t && t->has_data ? t->nbytes : 0;
}

Status tensor_to_device_locked(const char *fn, void *tensor)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_GRAPH_PARAM_NULLPTR;
    if (t->placement != PLACEMENT_HOST || !t->has_data) {
        t->placement = PLACEMENT_DEVICE;    /* already there, or no data */
        return GE_SUCCESS;
    }
    Region r;
    if (region_alloc(&g_dev, t->nbytes, R_TENSOR, &r) != RA_OK) {
        ge_err(fn, "cannot allocate %zu bytes of device memory", t->nbytes);
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    if (t->nbytes)
        memcpy(r.base, t->host, t->nbytes);
    free(t->host);
    t->host = NULL;
    t->addr = r.base;
    t->region = r.id;
    t->own_region = true;
    t->placement = PLACEMENT_DEVICE;
    return GE_SUCCESS;
}

/* CHOICE: ToHost does not synchronize any stream (it copies what the
 * device memory holds now). */
Status tensor_to_host_locked(const char *fn, void *tensor)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_GRAPH_PARAM_NULLPTR;
    if (t->placement != PLACEMENT_DEVICE || !t->has_data) {
        t->placement = PLACEMENT_HOST;
        return GE_SUCCESS;
    }
    const uint8_t *src = tensor_bytes(t);
    if (!src) {
        ge_err(fn, "the tensor's device memory was freed");
        return ACL_ERROR_GE_INTERNAL_ERROR;
    }
    uint8_t *buf = malloc(max_sz(t->nbytes, 1));
    if (!buf) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    if (t->nbytes)
        memcpy(buf, src, t->nbytes);
    tensor_drop_device(t, deferred());
    t->host = buf;
    t->placement = PLACEMENT_HOST;
    return GE_SUCCESS;
}
