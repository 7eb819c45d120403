/* lib_ascendcl.c -- the exported functions of libascendcl.so (docs/abi.md
 * section 8), each a thin wrapper: enter, the implementation (acl.c),
 * leave. */
#include "stub_internal.h"

aclError aclInit(const char *config_path)
{
    ge_stub_enter();
    aclError e = acl_init_locked(__func__, config_path);
    ge_stub_leave();
    return e;
}

aclError aclFinalize(void)
{
    ge_stub_enter();
    aclError e = acl_finalize_locked(__func__);
    ge_stub_leave();
    return e;
}

aclError aclrtSetDevice(int32_t device_id)
{
    ge_stub_enter();
    aclError e = acl_set_device_locked(__func__, device_id);
    ge_stub_leave();
    return e;
}

aclError aclrtResetDevice(int32_t device_id)
{
    ge_stub_enter();
    aclError e = acl_reset_device_locked(__func__, device_id);
    ge_stub_leave();
    return e;
}

aclError aclrtGetDevice(int32_t *device_id)
{
    ge_stub_enter();
    aclError e = acl_get_device_locked(__func__, device_id);
    ge_stub_leave();
    return e;
}

aclError aclrtGetDeviceCount(uint32_t *count)
{
    ge_stub_enter();
    aclError e = acl_get_device_count_locked(__func__, count);
    ge_stub_leave();
    return e;
}

aclError aclrtGetVersion(int32_t *major, int32_t *minor, int32_t *patch)
{
    ge_stub_enter();
    aclError e = acl_get_version_locked(__func__, major, minor, patch);
    ge_stub_leave();
    return e;
}

aclError aclrtCreateStream(void **stream)
{
    ge_stub_enter();
    aclError e = acl_create_stream_locked(__func__, stream);
    ge_stub_leave();
    return e;
}

aclError aclrtDestroyStream(void *stream)
{
    ge_stub_enter();
    aclError e = acl_destroy_stream_locked(__func__, stream);
    ge_stub_leave();
    return e;
}

aclError aclrtSynchronizeStream(void *stream)
{
    ge_stub_enter();
    aclError e = acl_synchronize_stream_locked(__func__, stream);
    ge_stub_leave();
    return e;
}

aclError aclrtMalloc(void **ptr, size_t size, int policy)
{
    ge_stub_enter();
    aclError e = acl_malloc_locked(__func__, ptr, size, policy);
    ge_stub_leave();
    return e;
}

aclError aclrtFree(void *ptr)
{
    ge_stub_enter();
    aclError e = acl_free_locked(__func__, ptr);
    ge_stub_leave();
    return e;
}

aclError aclrtMallocHost(void **ptr, size_t size)
{
    ge_stub_enter();
    aclError e = acl_malloc_host_locked(__func__, ptr, size);
    ge_stub_leave();
    return e;
}

aclError aclrtFreeHost(void *ptr)
{
    ge_stub_enter();
    aclError e = acl_free_host_locked(__func__, ptr);
    ge_stub_leave();
    return e;
}

aclError aclrtMemcpy(void *dst, size_t dst_max, const void *src, size_t count, int kind)
{
    ge_stub_enter();
    aclError e = acl_memcpy_locked(__func__, dst, dst_max, src, count, kind);
    ge_stub_leave();
    return e;
}

aclError aclrtMemcpyAsync(void *dst, size_t dst_max, const void *src, size_t count,
                          int kind, void *stream)
{
    ge_stub_enter();
    aclError e = acl_memcpy_async_locked(__func__, dst, dst_max, src, count, kind, stream);
    ge_stub_leave();
    return e;
}

aclError aclrtMemset(void *ptr, size_t max_count, int32_t value, size_t count)
{
    ge_stub_enter();
    aclError e = acl_memset_locked(__func__, ptr, max_count, value, count);
    ge_stub_leave();
    return e;
}

/* Not owned by the caller; the calling thread's message. */
const char *aclGetRecentErrMsg(void)
{
    ge_stub_enter();
    const char *msg = acl_recent_err_msg_locked();
    ge_stub_leave();
    return msg;
}
