/* acl.c -- the ACL runtime API (libascendcl.so): init, devices, streams,
 * memory, copies. */
#include "stub_internal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static bool g_acl_init;             /* aclInit done */
static uint64_t g_acl_epoch = 1;    /* bumped by aclInit/aclFinalize/Reset */
static uint32_t g_device_count = 1;

/* the device set on this thread, valid only within one ACL epoch */
static _Thread_local int32_t t_device = -1;
static _Thread_local uint64_t t_device_epoch;

static int32_t current_device(void)
{
    return t_device_epoch == g_acl_epoch ? t_device : -1;
}

void acl_reset(void)
{
    g_acl_init = false;
    g_acl_epoch++;
    g_device_count = 1;
}

void acl_set_device_count(uint32_t count) { g_device_count = count; }

/* True (with the message) when ACL is not initialised: every device,
 * stream and memory call fails with ACL_ERROR_UNINITIALIZE then. */
static bool acl_uninitialized(const char *fn)
{
    if (g_acl_init)
        return false;
    acl_err(fn, "ACL is not initialized (call aclInit first)");
    return true;
}

aclError acl_init_locked(const char *fn, const char *config_path)
{
    (void)config_path;     /* CHOICE: the config file is not read */
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (g_acl_init) {
        acl_err(fn, "ACL is already initialized");
        return ACL_ERROR_REPEAT_INITIALIZE;
    }
    g_acl_init = true;
    g_acl_epoch++;
    return ACL_SUCCESS;
}

/* CHOICE: aclFinalize frees nothing; streams and memory stay until they are
 * destroyed (which needs aclInit again) or GeStub_Reset. */
aclError acl_finalize_locked(const char *fn)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (!g_acl_init) {
        acl_err(fn, "ACL is not initialized");
        return ACL_ERROR_REPEAT_FINALIZE;
    }
    g_acl_init = false;
    g_acl_epoch++;
    return ACL_SUCCESS;
}

static aclError check_device_id(const char *fn, int32_t id)
{
    if (id < 0 || (uint32_t)id >= g_device_count) {
        acl_err(fn, "device id %" PRId32 " is out of range 0..%" PRId64, id,
                (int64_t)g_device_count - 1);
        return ACL_ERROR_INVALID_DEVICE;
    }
    return ACL_SUCCESS;
}

aclError acl_set_device_locked(const char *fn, int32_t device_id)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    aclError e = check_device_id(fn, device_id);
    if (!e) {
        t_device = device_id;
        t_device_epoch = g_acl_epoch;
    }
    return e;
}

aclError acl_reset_device_locked(const char *fn, int32_t device_id)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    aclError e = check_device_id(fn, device_id);
    if (!e && current_device() == device_id)
        t_device = -1;
    return e;
}

aclError acl_get_device_locked(const char *fn, int32_t *device_id)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!device_id) {
        acl_err(fn, "device_id is NULL");
        return ACL_ERROR_INVALID_PARAM;
    }
    if (current_device() < 0) {
        acl_err(fn, "no device is set on this thread");
        return ACL_ERROR_RT_CONTEXT_NULL;
    }
    *device_id = current_device();
    return ACL_SUCCESS;
}

aclError acl_get_device_count_locked(const char *fn, uint32_t *count)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!count) {
        acl_err(fn, "count is NULL");
        return ACL_ERROR_INVALID_PARAM;
    }
    *count = g_device_count;
    return ACL_SUCCESS;
}

aclError acl_get_version_locked(const char *fn, int32_t *major, int32_t *minor,
                                int32_t *patch)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (!major || !minor || !patch) {
        acl_err(fn, "NULL output pointer");
        return ACL_ERROR_INVALID_PARAM;
    }
    /* The ACL API version, not a CANN release: runtime's
     * include/external/acl/acl_rt.h, ACL_{MAJOR,MINOR,PATCH}_VERSION 1.17.0,
     * returned as is by src/acl/aclrt_c/common/acl_rt.c. */
    *major = 1;
    *minor = 17;
    *patch = 0;
    return ACL_SUCCESS;
}

aclError acl_create_stream_locked(const char *fn, void **stream)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!stream) {
        acl_err(fn, "stream is NULL");
        return ACL_ERROR_INVALID_PARAM;
    }
    Stream *s = calloc(1, sizeof *s);
    if (!s) {
        acl_err(fn, "out of memory");
        return ACL_ERROR_BAD_ALLOC;
    }
    obj_register(&s->h, H_STREAM);
    g_live[L_STREAMS]++;
    *stream = obj_handle(&s->h);
    return ACL_SUCCESS;
}

/* CHOICE: destroying a stream drains its queue and then succeeds even if
 * a queued item had to be skipped; an allocator registered for the stream
 * stays registered (allocators are keyed by the stream value).  NULL is
 * ACL_ERROR_INVALID_PARAM (stream.cpp: ACL_REQUIRES_NOT_NULL). */
aclError acl_destroy_stream_locked(const char *fn, void *stream)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!stream) {
        acl_err(fn, "the default stream cannot be destroyed");
        return ACL_ERROR_INVALID_PARAM;
    }
    Stream *s = handle_lookup(fn, stream, H_STREAM, NULL_CHECKED);
    if (!s) {
        acl_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_INVALID_RESOURCE_HANDLE;
    }
    stream_drain(s, deferred());
    obj_unregister(&s->h);
    free(s);
    g_live[L_STREAMS]--;
    return ACL_SUCCESS;
}

/* The stream argument of an ACL call: NULL is the default stream of the
 * calling thread's context (acl_rt.h: aclrtSetDevice creates the default
 * context and stream; stream.cpp and memory.cpp pass NULL on to the runtime
 * unchecked), so it needs a device set on this thread. */
static aclError acl_stream(const char *fn, void *stream, Stream **out)
{
    if (!stream && current_device() < 0) {
        acl_err(fn, "the default stream needs a device set on this thread (aclrtSetDevice)");
        return ACL_ERROR_RT_CONTEXT_NULL;
    }
    *out = stream_lookup(fn, stream);
    if (!*out) {
        acl_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_INVALID_RESOURCE_HANDLE;
    }
    return ACL_SUCCESS;
}

aclError acl_synchronize_stream_locked(const char *fn, void *stream)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    Stream *s;
    aclError e = acl_stream(fn, stream, &s);
    if (e)
        return e;
    int skipped = stream_drain(s, deferred());
    if (skipped) {
        acl_err(fn, "%d queued item(s) skipped: their memory was freed before they ran",
                skipped);
        return ACL_ERROR_FAILURE;
    }
    return ACL_SUCCESS;
}

aclError acl_malloc_locked(const char *fn, void **ptr, size_t size, int policy)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!ptr || size == 0 || policy < 0 || policy > 2) {
        acl_err(fn, "invalid argument (ptr %p, size %zu, policy %d)", (void *)ptr, size,
                policy);
        return ACL_ERROR_INVALID_PARAM;
    }
    Region r;
    int rc = region_alloc(&g_dev, size, R_ACL, &r);
    if (rc != RA_OK) {
        acl_err(fn, rc == RA_LIMIT ? "%zu bytes exceed the memory limit"
                                   : "out of memory allocating %zu bytes", size);
        return ACL_ERROR_BAD_ALLOC;
    }
    *ptr = r.base;
    return ACL_SUCCESS;
}

/* Only blocks of aclrtMalloc (the default allocator's included) can be freed
 * here; other device regions (tensor data, GE's own memory) are not. */
aclError acl_free_locked(const char *fn, void *ptr)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    Region *r = ptr ? region_by_base(&g_dev, ptr) : NULL;
    if (!r || r->kind != R_ACL) {
        acl_err(fn, "%p is not the base of a live device block", ptr);
        return ACL_ERROR_INVALID_PARAM;
    }
    region_release(&g_dev, r);
    return ACL_SUCCESS;
}

aclError acl_malloc_host_locked(const char *fn, void **ptr, size_t size)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!ptr || size == 0) {
        acl_err(fn, "invalid argument (ptr %p, size %zu)", (void *)ptr, size);
        return ACL_ERROR_INVALID_PARAM;
    }
    Region r;
    if (region_alloc(&g_hostmem, size, R_HOST, &r) != RA_OK) {
        acl_err(fn, "out of memory allocating %zu bytes", size);
        return ACL_ERROR_BAD_ALLOC;
    }
    *ptr = r.base;
    return ACL_SUCCESS;
}

aclError acl_free_host_locked(const char *fn, void *ptr)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    Region *r = ptr ? region_by_base(&g_hostmem, ptr) : NULL;
    if (!r) {
        acl_err(fn, "%p is not the base of a live host block", ptr);
        return ACL_ERROR_INVALID_PARAM;
    }
    region_release(&g_hostmem, r);
    return ACL_SUCCESS;
}

/* One side of a copy: want 1 device, 0 host, -1 infer from the pointer. */
typedef struct MemSide { uint64_t region, host; } MemSide;

static bool mem_side(const char *fn, const char *what, const void *p, size_t len, int want,
                     MemSide *side)
{
    side->region = side->host = 0;
    if (want < 0)
        want = region_holding(&g_dev, p, 1) ? 1 : 0;
    if (want) {
        Region *r = region_holding(&g_dev, p, len);
        if (!r) {
            acl_err(fn, "%s range %p+%zu is not inside one live device block", what, p,
                    len);
            return false;
        }
        side->region = r->id;
    } else {
        if ((uintptr_t)p > UINTPTR_MAX - max_sz(len, 1) || region_overlaps(&g_dev, p, len)) {
            acl_err(fn, "%s range %p+%zu is not host memory", what, p, len);
            return false;
        }
        Region *h = region_holding(&g_hostmem, p, len);
        side->host = h ? h->id : 0;
    }
    return true;
}

static aclError memcpy_check(const char *fn, void *dst, size_t dst_max, const void *src,
                             size_t count, int kind, MemSide *d, MemSide *s)
{
    if (!dst || !src) {
        acl_err(fn, "NULL %s pointer", dst ? "source" : "destination");
        return ACL_ERROR_INVALID_PARAM;
    }
    if (count > dst_max) {
        acl_err(fn, "count %zu exceeds dst_max %zu", count, dst_max);
        return ACL_ERROR_INVALID_PARAM;
    }
    static const int dev_dst[5] = { 0, 1, 0, 1, -1 };
    static const int dev_src[5] = { 0, 0, 1, 1, -1 };
    if (kind < 0 || kind > MEMCPY_DEFAULT) {
        acl_err(fn, "invalid memcpy kind %d", kind);
        return ACL_ERROR_INVALID_PARAM;
    }
    if (!mem_side(fn, "destination", dst, count, dev_dst[kind], d) ||
        !mem_side(fn, "source", src, count, dev_src[kind], s))
        return ACL_ERROR_INVALID_PARAM;
    return ACL_SUCCESS;
}

aclError acl_memcpy_locked(const char *fn, void *dst, size_t dst_max, const void *src,
                           size_t count, int kind)
{
    MemSide d, s;
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    aclError e = memcpy_check(fn, dst, dst_max, src, count, kind, &d, &s);
    if (!e && count)
        memmove(dst, src, count);
    return e;
}

aclError acl_memcpy_async_locked(const char *fn, void *dst, size_t dst_max,
                                 const void *src, size_t count, int kind, void *stream)
{
    MemSide d, s;
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (count == 0)
        return ACL_SUCCESS;   /* memory.cpp aclrtMemcpyAsyncImpl: nothing to copy */
    Stream *sm;
    aclError e = acl_stream(fn, stream, &sm);
    if (e)
        return e;
    e = memcpy_check(fn, dst, dst_max, src, count, kind, &d, &s);
    if (e)
        return e;
    Work *w = calloc(1, sizeof *w);
    if (!w) {
        acl_err(fn, "out of memory");
        return ACL_ERROR_BAD_ALLOC;
    }
    w->type = W_MEMCPY;
    w->dst = dst;
    w->src = src;
    w->count = count;
    w->dst_region = d.region;
    w->src_region = s.region;
    w->dst_host = d.host;
    w->src_host = s.host;
    stream_push(sm, w);
    return ACL_SUCCESS;
}

/* CHOICE: aclrtMemset works on device blocks and aclrtMallocHost blocks
 * only (any other pointer is ACL_ERROR_INVALID_PARAM). */
aclError acl_memset_locked(const char *fn, void *ptr, size_t max_count, int32_t value,
                           size_t count)
{
    uint32_t st;
    if (fault_fires(fn, &st))
        return (aclError)st;
    if (acl_uninitialized(fn))
        return ACL_ERROR_UNINITIALIZE;
    if (!ptr || count > max_count) {
        acl_err(fn, "invalid argument (ptr %p, max_count %zu, count %zu)", ptr, max_count,
                count);
        return ACL_ERROR_INVALID_PARAM;
    }
    if (!region_holding(&g_dev, ptr, count) && !region_holding(&g_hostmem, ptr, count)) {
        acl_err(fn, "range %p+%zu is not inside one live memory block", ptr, count);
        return ACL_ERROR_INVALID_PARAM;
    }
    if (count)
        memset(ptr, (unsigned char)value, count);
    return ACL_SUCCESS;
}

