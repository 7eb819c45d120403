/* tensors.c -- tensors (a description and a storage: host bytes of their own,
 * an aclrtMalloc block from ToDevice, or a block of a stream's allocator) and
 * the tensor API: EsCreateEsCTensor and EsCreateEsCTensorFromFile (builder
 * base, esb_funcs.cc), the GeApiWrapper_Tensor_* functions (graph wrapper,
 * c_tensor.cc; ToHost and ToDevice: runtime wrapper, c_tensor_runtime.cc) and
 * the ge::Tensor members GetData, GetSize and SetData (libgraph, metadef
 * graph/normal_graph/tensor.cc and ge_tensor.cc).  The text form of GetData
 * is in tensor_text.c, tensor descriptions and SetTensorDesc in
 * tensor_descs.c. */
#include "stub_internal.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

PtrSet g_tensor_arrays, g_dims_arrays;

/* What ge::Tensor::GetData() returns for an empty storage: the address of a
 * placeholder, never NULL (TensorDataImpl::GetData, invalid_data_). */
static const uint32_t g_invalid_data;

/* ==========================================================================
 * The tensor model
 * ========================================================================== */

/* CANN's defaults (TensorDescImpl): origin format ND, no origin shape, host. */
Tensor *tensor_new(int dtype, int format, const Shape *shape)
{
    Tensor *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->dtype = dtype;
    t->format = format;
    t->origin_format = FORMAT_ND;
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
    if (t->host)
        return t->host;
    return t->addr && region_by_id(&g_dev, t->region) ? t->addr : NULL;
}

void tensor_drop_storage(Tensor *t, CbList *cb)
{
    if (t->own_region) {
        Region *r = region_by_id(&g_dev, t->region);
        if (r)
            region_release(&g_dev, r);   /* CANN's deleter: aclrtFree */
    }
    if (t->blk)
        ablock_unref(t->blk, cb);
    free(t->host);
    t->host = NULL;
    t->addr = NULL;
    t->region = 0;
    t->own_region = false;
    t->blk = NULL;
    t->nbytes = 0;
    t->has_data = false;
}

void tensor_free(Tensor *t, CbList *cb)
{
    obj_unregister(&t->h);
    tensor_drop_storage(t, cb);
    free(t);
    g_live[L_TENSORS]--;
}

/* The data pointer ge::Tensor::GetData() returns: the placeholder for an
 * empty storage, else the host bytes or the device address, NULL after a
 * failed allocation. */
static const uint8_t *tensor_data_ptr(const Tensor *t)
{
    if (!t->has_data || t->nbytes == 0)
        return (const uint8_t *)&g_invalid_data;
    return t->host ? t->host : t->addr;
}

/* An empty storage (TensorData::clear): no bytes, a 1-byte placeholder. */
static void tensor_clear_storage(Tensor *t, CbList *cb)
{
    tensor_drop_storage(t, cb);
    t->host = malloc(1);
    t->has_data = true;
}

/* ge::Tensor::SetData(const uint8_t *data, size_t size), which always
 * reports success (metadef tensor.cc ignores GeTensor::SetData's status;
 * ge_tensor.cc TensorDataImpl::SetData): size 0 clears the storage; NULL data
 * with a size changes nothing; a storage of the same size is overwritten in
 * place (for device memory that is a host write to a device address: a crash
 * on CANN); else a new host copy, or, when it cannot be allocated, the size
 * with no data (MallocAlignedPtr records the length before allocating). */
static void tensor_store_copy(const char *fn, Tensor *t, const uint8_t *data, size_t size,
                              bool fail_allocation)
{
    if (size == 0) {
        tensor_clear_storage(t, deferred());
        return;
    }
    if (!data)
        return;
    if (t->has_data && t->nbytes == size && (t->host || t->addr)) {
        if (!t->host) {
            crashes_in_cann(fn, "SetData of the same size over device memory writes host bytes "
                             "to a device address");
            return;
        }
        memmove(t->host, data, size);
        return;
    }
    tensor_drop_storage(t, deferred());
    t->has_data = true;
    t->nbytes = size;
    t->host = fail_allocation || size > ((size_t)1 << 48) ? NULL : host_alloc(size);
    if (t->host)
        memcpy(t->host, data, size);
}

/* The tensor argument of a wrapper with GE_ASSERT_NOTNULL (NULL_CHECKED). */
static Tensor *tensor_arg(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CHECKED);
    if (!t)
        ge_err(fn, "tensor %p is NULL or not a live tensor", tensor);
    return t;
}

int64_t *dims_array_give(const Shape *s)
{
    int64_t *d = malloc(sizeof *d * (size_t)(s->n ? s->n : 1));
    if (!d || !ptrset_add(&g_dims_arrays, d)) {
        free(d);
        return NULL;
    }
    if (s->n)
        memcpy(d, s->d, sizeof *d * (size_t)s->n);
    g_live[L_DIMS_ARRAYS]++;
    return d;
}

/* ==========================================================================
 * Creation (esb_funcs.cc, es_graph_builder.h ge::es::CreateTensor<T>)
 * ========================================================================== */

/* The data types EsCreateEsCTensor takes (its switch). */
static bool es_data_type(int dt)
{
    switch (dt) {
    case DT_FLOAT: case DT_FLOAT16: case DT_INT8: case DT_INT16: case DT_INT32:
    case DT_INT64: case DT_UINT8: case DT_UINT16: case DT_UINT32: case DT_UINT64:
    case DT_BOOL:
        return true;
    default:
        return false;
    }
}

/* ge::Shape::GetShapeSize: 0 for no dims, -1 when a dim is -1 or -2 (unknown),
 * 0 on overflow, else the product (other negative dims included). */
static int64_t ge_shape_size(const Shape *s)
{
    if (s->n == 0)
        return 0;
    int64_t size = 1;
    for (int i = 0; i < s->n; i++) {
        if (s->d[i] == -1 || s->d[i] == -2)
            return -1;
        if (__builtin_mul_overflow(size, s->d[i], &size))
            return 0;
    }
    return size;
}

void *tensor_create_es_locked(const char *fn, const void *data, const int64_t *dims,
                              int64_t dim_num, int data_type, int format)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    if (!data) {
        ge_err(fn, "data is NULL");
        return NULL;
    }
    if (!es_data_type(data_type)) {
        ge_err(fn, "unsupported data type %d: EsCreateEsCTensor takes FLOAT, FLOAT16, INT8, "
               "INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 and BOOL", data_type);
        return NULL;
    }
    /* No dims (NULL or dim_num <= 0) is a scalar: one element. */
    Shape shp = { 0 };
    if (dims && dim_num > 0) {
        if (!shape_from(&shp, dims, dim_num, INT64_MIN)) {
            ge_err(fn, "%" PRId64 " dims: the stand-in keeps at most %d", dim_num, MAX_DIMS);
            return NULL;
        }
    }
    int64_t count = shp.n ? ge_shape_size(&shp) : 1;
    /* sizeof(T) * shape_size as size_t: a negative count wraps to a size no
     * allocation can satisfy, which leaves the size without data. */
    size_t size = (size_t)((uint64_t)dtype_size(data_type) * (uint64_t)count);
    Tensor *t = tensor_new(data_type, format, &shp);
    if (!t) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    t->origin_shape = shp;
    t->origin_shape_set = true;
    tensor_store_copy(fn, t, data, size, false);
    return obj_handle(&t->h);
}

#define MMPA_MAX_PATH 4096

/* EsCreateEsCTensorFromFile: the file's real path, its length (> 0, and at
 * least dims' element count times the type's size), its bytes given to
 * EsCreateEsCTensor (which makes the data type checks; only the leading
 * bytes are used when the file is longer). */
void *tensor_create_es_file_locked(const char *fn, const char *path, const int64_t *dims,
                                   int64_t dim_num, int data_type, int format)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    char real[PATH_MAX];
    if (!path || strnlen(path, MMPA_MAX_PATH) >= MMPA_MAX_PATH || !realpath(path, real)) {
        ge_err(fn, "Data file path: %s is invalid.", path ? path : "(null)");
        return NULL;
    }
    FILE *f = fopen(real, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (f)
            fclose(f);
        ge_err(fn, "Data file cannot be opened, path: %s.", path);
        return NULL;
    }
    size_t len = (size_t)sb.st_size;
    int64_t total = 1;     /* no dims: a scalar */
    bool overflow = false;
    for (int64_t i = 0; dims && i < dim_num && !overflow; i++)
        overflow = __builtin_mul_overflow(total, dims[i], &total);
    size_t esz = dtype_size(data_type);
    size_t expected = 0;
    const char *why = NULL;
    if (len == 0)
        why = "File length should be greater than 0";
    else if (!esz)
        why = "Unsupported data type";
    else if (overflow || __builtin_mul_overflow((size_t)total, esz, &expected) ||
             len < expected)
        why = "File length is less than the expected size";
    uint8_t *buf = why ? NULL : malloc(len);
    if (!why && (!buf || fread(buf, 1, len, f) != len))
        why = "The file cannot be read";
    fclose(f);
    if (why) {
        free(buf);
        ge_err(fn, "%s (file length %zu, expected %zu), path: %s.", why, len, expected, path);
        return NULL;
    }
    void *h = tensor_create_es_locked("EsCreateEsCTensor", buf, dims, dim_num, data_type,
                                      format);
    free(buf);
    return h;
}

/* CHOICE: CreateTensor's empty tensor is FLOAT, format ND, 0-d, with no
 * storage (TensorDesc's defaults; GetData "<empty>", GetSize 0). */
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
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_ALLOWED);  /* delete nullptr */
    if (t)
        tensor_free(t, deferred());
    else if (tensor)
        ge_err(fn, "unknown or destroyed tensor %p", tensor);
}

/* ==========================================================================
 * The description (c_tensor.cc)
 * ========================================================================== */

/* No NULL check in CANN: a NULL or dead tensor, or NULL out-pointers, crash.
 * The array is new int64_t[n], non-NULL even for n = 0.  An injected fault
 * is the one failure CANN has here, an allocation failure that it does not
 * report: GRAPH_SUCCESS with *dims NULL and *dim_num the true count. */
Status tensor_get_shape_locked(const char *fn, void *tensor, int64_t **dims, size_t *dim_num)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CRASHES);
    if (!t) {
        ge_err(fn, "tensor %p is not a live tensor", tensor);
        return GE_PARAM_INVALID;
    }
    if (!dims || !dim_num) {
        crashes_in_cann(fn, "dims or dim_num is NULL");
        return GE_PARAM_INVALID;
    }
    uint32_t st;
    *dim_num = (size_t)t->shape.n;
    *dims = NULL;
    if (!fault_fires(fn, &st) && !(*dims = dims_array_give(&t->shape)))
        ge_err(fn, "out of memory for %zu dims", *dim_num);
    return GE_SUCCESS;
}

void dims_array_free_locked(const char *fn, int64_t *dims)
{
    if (handed_out_take(fn, &g_dims_arrays, dims, "a dims array")) {   /* CANN: delete[] */
        free(dims);
        g_live[L_DIMS_ARRAYS]--;
    }
}

/* GE_ASSERT_NOTNULL in a function returning an enum or an int gives 0 (so
 * GetDataType(NULL) is DT_FLOAT); tidy mode gives 0 for a dead handle too. */
int tensor_get_dtype_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->dtype : 0;
}

int tensor_get_format_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->format : 0;
}

int32_t tensor_get_placement_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    return t ? t->placement : 0;
}

/* The tensor of SetDataType / SetFormat, whose value comes by pointer (a C++
 * reference): NULL (with *st) when a fault fires or the tensor is NULL;
 * a NULL reference crashes CANN.  CANN checks nothing of the value: any is
 * kept, and the data is left as it is. */
static Tensor *tensor_for_set(const char *fn, void *tensor, const int *value, Status *st)
{
    if (fault_fires(fn, st))
        return NULL;
    Tensor *t = tensor_arg(fn, tensor);
    *st = GE_PARAM_INVALID;
    if (t && !value)
        crashes_in_cann(fn, "the value is a NULL reference");
    else if (t)
        *st = GE_SUCCESS;
    return *st ? NULL : t;
}

Status tensor_set_dtype_locked(const char *fn, void *tensor, const int *dtype)
{
    Status st;
    Tensor *t = tensor_for_set(fn, tensor, dtype, &st);
    if (t)
        t->dtype = *dtype;
    return st;
}

Status tensor_set_format_locked(const char *fn, void *tensor, const int *format)
{
    Status st;
    Tensor *t = tensor_for_set(fn, tensor, format, &st);
    if (t)
        t->format = *format;
    return st;
}

/* A caller-owned copy of the text (AscendStringToChar), or NULL.  Reading
 * the values of a tensor whose storage is device memory crashes CANN. */
char *tensor_get_text_locked(const char *fn, void *tensor)
{
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return NULL;
    const uint8_t *p = tensor_data_ptr(t);
    size_t nbytes = t->has_data ? t->nbytes : 0;
    const char *fixed = tensor_text_fixed(t->dtype, p, nbytes);
    if (!fixed && !t->host) {
        crashes_in_cann(fn, "the tensor's data is device memory, read from the host");
        return NULL;
    }
    char *txt = fixed ? NULL : tensor_values_text(t->dtype, p, nbytes);
    if (!fixed && !txt) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    char *owned = string_give(fn, fixed ? fixed : txt);
    free(txt);
    return owned;
}

void *tensor_get_desc_locked(const char *fn, void *tensor)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return NULL;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return NULL;
    TensorDesc *d = calloc(1, sizeof *d);
    if (!d) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    obj_register(&d->h, H_TENSOR_DESC);
    g_live[L_TENSOR_DESCS]++;
    tensor_desc_take(d, t);
    return obj_handle(&d->h);
}

/* ==========================================================================
 * The ge::Tensor members (metadef tensor.cc), called with the handle as
 * `this`: a NULL or dead one crashes CANN (NULL_CRASHES); tidy mode gives
 * NULL, 0, or GRAPH_SUCCESS without effect (SetData).
 * ========================================================================== */

const uint8_t *tensor_raw_data_locked(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CRASHES);
    return t ? tensor_data_ptr(t) : NULL;
}

size_t tensor_raw_size_locked(const char *fn, void *tensor)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CRASHES);
    return t && t->has_data ? t->nbytes : 0;
}

/* An injected fault is the failure CANN has here (it still reports
 * success): the allocation of the copy fails, leaving the size without data. */
Status tensor_raw_set_data_locked(const char *fn, void *tensor, const uint8_t *data,
                                  size_t size)
{
    Tensor *t = handle_lookup(fn, tensor, H_TENSOR, NULL_CRASHES);
    if (!t)
        return GE_SUCCESS;
    uint32_t st;
    bool fail = fault_fires(fn, &st);
    tensor_store_copy(fn, t, data, size, fail);
    return GE_SUCCESS;
}

/* ==========================================================================
 * Placement (c_tensor_runtime.cc): neither call is idempotent
 * ========================================================================== */

/* The primary formats TensorUtils::CalcTensorMemSize (metadef
 * graph/utils/tensor_utils.cc, CalcTensorElementCnt) counts elements of. */
static bool mem_size_format(int format)
{
    switch (format & 0xff) {
    case 0: case 1: case 2: case 3: case 4: case 12: case 13: case 14: case 16:
    case 19: case 25: case 26: case 27: case 28: case 29: case 30: case 31: case 32:
    case 33: case 36: case 37: case 38: case 43: case 44: case 45: case 46: case 47:
    case 48: case 49: case 50: case 51: case 52: case 53: case 54:
        return true;
    default:
        return false;
    }
}

/* The logical size (shape x element size) as CalcTensorMemSize makes it;
 * false for an unknown (negative) dim, a format it rejects (unless a dim is
 * 0), a data type the stand-in cannot size (CHOICE: sub-byte and string
 * types are not modelled) or an overflow. */
static bool logical_size(const Tensor *t, size_t *out)
{
    for (int i = 0; i < t->shape.n; i++) {
        if (t->shape.d[i] < 0)
            return false;
        if (t->shape.d[i] == 0) {
            *out = 0;
            return true;
        }
    }
    size_t esz = dtype_size(t->dtype);
    if (!mem_size_format(t->format) || !esz)
        return false;
    return shape_nbytes(&t->shape, t->dtype, out);
}

/* ToHost: copies the logical size (out of a possibly padded storage) with
 * aclrtMemcpy DEVICE_TO_HOST into new host memory, always: the source of a
 * host tensor is not device memory, so the copy fails.  A logical size of 0
 * only empties the storage and marks the tensor host. */
Status tensor_to_host_locked(const char *fn, void *tensor)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_PARAM_INVALID;
    size_t size;
    if (!logical_size(t, &size)) {
        ge_err(fn, "cannot compute the memory size of data type %d, format %d and this shape",
               t->dtype, t->format);
        return GE_PARAM_INVALID;
    }
    size_t have = t->has_data ? t->nbytes : 0;
    if (have < size) {
        ge_err(fn, "the tensor holds %zu bytes, less than its shape needs (%zu)", have, size);
        return GE_FAILED;
    }
    if (size == 0) {
        tensor_clear_storage(t, deferred());
        t->placement = PLACEMENT_HOST;
        return GE_SUCCESS;
    }
    const uint8_t *src = tensor_data_ptr(t);
    uint8_t *buf = src ? host_alloc(size) : NULL;
    if (!buf) {
        ge_err(fn, src ? "out of memory" : "the tensor has no data");
        return GE_FAILED;
    }
    aclError e = acl_memcpy_locked("aclrtMemcpy", buf, size, src, size, MEMCPY_D2H);
    if (e) {
        free(buf);
        ge_err(fn, "aclrtMemcpy DEVICE_TO_HOST of %zu bytes failed (ACL error %d)", size, e);
        return GE_FAILED;
    }
    tensor_drop_storage(t, deferred());
    t->has_data = true;
    t->host = buf;
    t->nbytes = size;
    t->placement = PLACEMENT_HOST;
    return GE_SUCCESS;
}

/* ToDevice: aclrtMalloc of the storage size (or, with no storage, of the
 * shape's size), then aclrtMemcpy HOST_TO_DEVICE from the data, always: the
 * data of a device tensor is not host memory, so the copy fails and the new
 * block is freed.  CHOICE: with no storage CANN copies from GetData's 4-byte
 * placeholder (an over-read); the stand-in leaves the new block zero. */
Status tensor_to_device_locked(const char *fn, void *tensor)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return st;
    Tensor *t = tensor_arg(fn, tensor);
    if (!t)
        return GE_PARAM_INVALID;
    size_t size = t->has_data ? t->nbytes : 0;
    if (size == 0) {
        int64_t n = ge_shape_size(&t->shape);
        size = n > 0 ? (size_t)n * dtype_size(t->dtype) : 0;
    }
    if (size == 0) {
        t->placement = PLACEMENT_DEVICE;
        return GE_SUCCESS;
    }
    void *dev = NULL;
    aclError e = acl_malloc_locked("aclrtMalloc", &dev, size, 2 /* NORMAL_ONLY */);
    if (e) {
        ge_err(fn, "aclrtMalloc of %zu bytes failed (ACL error %d)", size, e);
        return GE_FAILED;
    }
    const uint8_t *src = t->has_data && t->nbytes ? tensor_data_ptr(t) : NULL;
    if (src)
        e = acl_memcpy_locked("aclrtMemcpy", dev, size, src, size, MEMCPY_H2D);
    Region *r = region_by_base(&g_dev, dev);
    if (e) {
        ge_err(fn, "aclrtMemcpy HOST_TO_DEVICE of %zu bytes failed (ACL error %d)", size, e);
        if (r)
            region_release(&g_dev, r);   /* CANN: aclrtFree */
        return GE_FAILED;
    }
    tensor_drop_storage(t, deferred());
    t->has_data = true;
    t->nbytes = size;
    t->addr = dev;
    t->region = r ? r->id : 0;
    t->own_region = true;
    t->placement = PLACEMENT_DEVICE;
    return GE_SUCCESS;
}
