/* ==========================================================================
 * ge_stub.c -- a CPU stand-in for Huawei Ascend GE (Graph Engine) and the
 * ACL runtime.  It exports the C ABI of ../shared/ABI.md with the behaviour
 * described in README.md next to this file, so that the Python ctypes
 * binding can be tested on any Linux machine.
 *
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -fPIC -shared ge_stub.c \
 *      -o libge_stub.so -lpthread
 *
 * Design in short:
 *  - every object a caller sees is a token ("handle") looked up in a hash
 *    table before anything is touched; tokens are never reused;
 *  - "device" memory is host memory tracked in a table of regions;
 *  - streams are FIFO queues that run in aclrtSynchronizeStream;
 *  - one global mutex guards all state; error messages are thread-local;
 *  - the caller's allocator callbacks are never called with the mutex held:
 *    calls are collected in a CbList under the lock and made afterwards.
 *
 * Places where the specification leaves the behaviour open are marked
 * "CHOICE:" below.
 * ========================================================================== */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ==========================================================================
 * 1. Numbers
 * ========================================================================== */

typedef uint32_t Status;
typedef int aclError;

/* GE status codes (ge/ge_error_codes.h and friends) */
#define GE_SUCCESS                        0u
#define GE_FAILED                         4294967295u
#define GE_CLI_GE_ALREADY_INITIALIZED     1343229962u
#define GE_CLI_GE_NOT_INITIALIZED         1343229963u
#define GE_SESS_GRAPH_NOT_EXIST           1343238146u
#define GE_SESS_GRAPH_ALREADY_EXIST       1343238147u
#define GE_SESSION_NOT_EXIST              1343238149u
#define GE_SESSION_MANAGER_NOT_INIT       1343238150u
#define GE_GRAPH_GRAPH_NOT_EXIST          1343242242u
#define GE_GRAPH_GRAPH_ALREADY_EXIST      1343242243u
#define GE_GRAPH_MALLOC_FAILED            1343242245u
#define GE_GRAPH_PARAM_NULLPTR            1343242248u
#define GE_GRAPH_EXECUTE_FAILED           1343242261u
#define GE_GRAPH_NOT_BUILT                1343242295u
#define ACL_ERROR_GE_PARAM_INVALID        145000u
#define ACL_ERROR_GE_EXEC_NOT_INIT        145001u
#define ACL_ERROR_GE_MEMORY_ALLOCATION    245000u
#define ACL_ERROR_GE_INTERNAL_ERROR       545000u

/* ACL error codes (acl/acl_base_rt.h) */
#define ACL_SUCCESS                       0
#define ACL_ERROR_INVALID_PARAM           100000
#define ACL_ERROR_UNINITIALIZE            100001
#define ACL_ERROR_REPEAT_INITIALIZE       100002
#define ACL_ERROR_REPEAT_FINALIZE         100037
#define ACL_ERROR_RT_CONTEXT_NULL         107002
#define ACL_ERROR_BAD_ALLOC               200000
#define ACL_ERROR_INVALID_DEVICE          200002
#define ACL_ERROR_INVALID_RESOURCE_HANDLE 200005
#define ACL_ERROR_STORAGE_OVER_LIMIT      300000
#define ACL_ERROR_FAILURE                 500001

/* graph/types.h DataType values supported by the stand-in */
enum {
    DT_FLOAT = 0, DT_FLOAT16 = 1, DT_INT8 = 2, DT_INT32 = 3, DT_UINT8 = 4,
    DT_INT16 = 6, DT_UINT16 = 7, DT_UINT32 = 8, DT_INT64 = 9, DT_UINT64 = 10,
    DT_DOUBLE = 11, DT_BOOL = 12, DT_COMPLEX64 = 16, DT_COMPLEX128 = 17,
    DT_BF16 = 27
};
enum { PLACEMENT_HOST = 0, PLACEMENT_DEVICE = 1 };
enum { MEMCPY_H2H = 0, MEMCPY_H2D = 1, MEMCPY_D2H = 2, MEMCPY_D2D = 3,
       MEMCPY_DEFAULT = 4 };
#define FORMAT_ND 2

#define MAX_DIMS             64              /* CHOICE: rank limit */
#define DEFAULT_MEMORY_LIMIT (8ull << 30)    /* 8 GiB */
#define TOKEN_BASE           ((uintptr_t)0x5E0000000000ull)
#define MSG_CAP              1024
#define AIR_MAX_BYTES        (256L << 20)

/* allocator callbacks */
typedef void *(*MallocFn)(void *obj, size_t size);
typedef void (*FreeFn)(void *obj, void *block);
typedef void *(*GetAddrFn)(void *block);
typedef void (*OnDestroyFn)(void *user_handle);

/* ==========================================================================
 * 2. Small utilities
 * ========================================================================== */

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* Grow an array to hold `need` elements; returns the (possibly moved)
 * array, or NULL on failure with the old array left intact. */
static void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && arr)
        return arr;
    size_t nc = *cap ? *cap : 8;
    while (nc < need) {
        if (nc > SIZE_MAX / 4 / elem)
            return NULL;
        nc *= 2;
    }
    void *p = realloc(arr, nc * elem);
    if (p)
        *cap = nc;
    return p;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

/* A set of pointers handed out to the caller (dims arrays, tensor arrays). */
typedef struct PtrSet { void **v; size_t n, cap; } PtrSet;

static bool ptrset_add(PtrSet *s, void *p)
{
    void **nv = grow_array(s->v, &s->cap, s->n + 1, sizeof *nv);
    if (!nv)
        return false;
    s->v = nv;
    s->v[s->n++] = p;
    return true;
}

static bool ptrset_remove(PtrSet *s, const void *p)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == p) {
            s->v[i] = s->v[--s->n];
            return true;
        }
    }
    return false;
}

static void ptrset_free_all(PtrSet *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

/* ==========================================================================
 * 3. Global state, lock, live counters, error messages
 * ========================================================================== */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
#define LOCK()   pthread_mutex_lock(&g_lock)
#define UNLOCK() pthread_mutex_unlock(&g_lock)

enum {
    L_SESSIONS, L_GRAPHS, L_SESSION_GRAPHS, L_BUILDERS, L_TENSORS,
    L_TENSOR_ARRAYS, L_DIMS_ARRAYS, L_DEVICE_BLOCKS, L_HOST_BLOCKS,
    L_STREAMS, L_ALLOCATORS, L_ALLOCATOR_BLOCKS, L_PENDING_WORK, L_COUNT
};
static const char *const g_live_names[L_COUNT] = {
    "sessions", "graphs", "session_graphs", "builders", "tensors",
    "tensor_arrays", "dims_arrays", "device_blocks", "host_blocks",
    "streams", "allocators", "allocator_blocks", "pending_work"
};
static int64_t g_live[L_COUNT];

enum { CB_MALLOC, CB_FREE, CB_GET_ADDR, CB_ON_DESTROY, CB_COUNT };
static const char *const g_cb_names[CB_COUNT] = {
    "malloc", "free", "get_addr", "on_destroy"
};
static _Atomic int64_t g_cb_count[CB_COUNT];

static bool g_ge_init;             /* GEInitialize done */
static uint64_t g_ge_gen;          /* generation of the current GEInitialize */
static bool g_acl_init;            /* aclInit done */
static uint64_t g_acl_epoch = 1;   /* bumped by aclInit/aclFinalize/Reset */
static uint32_t g_device_count = 1;
static uint64_t g_mem_limit = DEFAULT_MEMORY_LIMIT;
static uint64_t g_next_id = 1;         /* internal ids; never reused */
static uint64_t g_next_session_id = 1; /* GetSessionId values */
static PtrSet g_dims_arrays, g_tensor_arrays;

/* the device set on this thread, valid only within one ACL epoch */
static _Thread_local int32_t t_device = -1;
static _Thread_local uint64_t t_device_epoch;

static int32_t current_device(void)
{
    return t_device_epoch == g_acl_epoch ? t_device : -1;
}

/* Thread-local messages; a Reset bumps g_msg_epoch, which clears them all. */
static _Thread_local char t_ge_msg[MSG_CAP];
static _Thread_local uint64_t t_ge_epoch;
static _Thread_local char t_acl_msg[MSG_CAP];
static _Thread_local uint64_t t_acl_epoch;
static _Atomic uint64_t g_msg_epoch = 1;

static void vset_msg(char *buf, uint64_t *epoch, const char *fn,
                     const char *fmt, va_list ap)
{
    int k = snprintf(buf, MSG_CAP, "[ge_stub] %s: ", fn);
    if (k < 0)
        k = 0;
    if (k >= MSG_CAP)
        k = MSG_CAP - 1;
    vsnprintf(buf + k, MSG_CAP - (size_t)k, fmt, ap);
    *epoch = atomic_load(&g_msg_epoch);
}

__attribute__((format(printf, 2, 3)))
static void ge_err(const char *fn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_msg(t_ge_msg, &t_ge_epoch, fn, fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 2, 3)))
static void acl_err(const char *fn, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_msg(t_acl_msg, &t_acl_epoch, fn, fmt, ap);
    va_end(ap);
}

static const char *get_msg(char *buf, uint64_t epoch)
{
    if (epoch != atomic_load(&g_msg_epoch))
        buf[0] = '\0';
    return buf;
}

/* ==========================================================================
 * 4. Fault injection (GeStub_FailNext)
 * ========================================================================== */

/* Every ABI function that returns a Status, an aclError, a uint32_t status
 * or a handle (NULL on failure). */
#define FAILABLE_LIST(X)                                                      \
    X(GeApiWrapper_GEInitialize) X(GeApiWrapper_GEFinalize)                   \
    X(GeApiWrapper_Session_CreateSession)                                     \
    X(GeApiWrapper_Session_CreateSessionWithOptions)                          \
    X(GeApiWrapper_Session_AddGraph) X(GeApiWrapper_Session_AddGraphWithOptions) \
    X(GeApiWrapper_Session_RemoveGraph) X(GeApiWrapper_Session_RunGraph)      \
    X(GeApiWrapper_Session_RunGraphWithStreamAsync)                           \
    X(GeApiWrapper_Session_RegisterExternalAllocator)                         \
    X(GeApiWrapper_Session_RegisterDefaultAllocator)                          \
    X(GeApiWrapper_Session_UnregisterExternalAllocator)                       \
    X(GeApiWrapper_Session_CompileGraph) X(GeApiWrapper_Session_LoadGraph)    \
    X(EsCreateEsCTensor) X(GeApiWrapper_Tensor_CreateTensor)                  \
    X(GeApiWrapper_Tensor_GetShape) X(GeApiWrapper_Tensor_SetDataType)        \
    X(GeApiWrapper_Tensor_SetFormat) X(GeApiWrapper_Tensor_ToHost)            \
    X(GeApiWrapper_Tensor_ToDevice) X(GeApiWrapper_Graph_CreateGraph)         \
    X(GeApiWrapper_Graph_SaveToAir) X(GeApiWrapper_Graph_LoadFromAir)         \
    X(EsCreateGraphBuilder) X(EsCreateGraphInputWithDetails)                  \
    X(EsSetGraphOutput) X(EsBuildGraphAndReset)                               \
    X(EsAdd) X(EsSub) X(EsMul) X(EsDiv)                                       \
    X(aclInit) X(aclFinalize) X(aclrtSetDevice) X(aclrtResetDevice)           \
    X(aclrtGetDevice) X(aclrtGetDeviceCount) X(aclrtCreateStream)             \
    X(aclrtDestroyStream) X(aclrtSynchronizeStream) X(aclrtMalloc)            \
    X(aclrtFree) X(aclrtMallocHost) X(aclrtFreeHost) X(aclrtMemcpy)          \
    X(aclrtMemcpyAsync) X(aclrtMemset) X(aclrtGetVersion)

#define X_ENUM(name) FN_##name,
#define X_NAME(name) #name,
enum { FAILABLE_LIST(X_ENUM) FN_COUNT };
static const char *const g_fn_names[FN_COUNT] = { FAILABLE_LIST(X_NAME) };

typedef struct Fault { int fn; uint32_t status; int32_t left; } Fault;
static Fault *g_faults;
static size_t g_nfaults, g_capfaults;

/* Count one call of `fn`; true (and *status) when an injected fault fires.
 * CHOICE: if several faults fire on the same call, all are consumed and the
 * status of the one registered first is used. */
static bool fault_hit(int fn, uint32_t *status)
{
    bool hit = false;
    size_t j = 0;
    for (size_t i = 0; i < g_nfaults; i++) {
        Fault f = g_faults[i];
        if (f.fn == fn && --f.left == 0) {
            if (!hit)
                *status = f.status;
            hit = true;
            continue;
        }
        g_faults[j++] = f;
    }
    g_nfaults = j;
    return hit;
}

/* Prologues of failable functions; the lock is held when they run. */
#define GE_FAULT_STATUS(name)                                                 \
    do {                                                                      \
        uint32_t st_;                                                         \
        if (fault_hit(FN_##name, &st_)) {                                     \
            ge_err(#name, "injected fault (status %" PRIu32 ")", st_);       \
            UNLOCK();                                                         \
            return st_;                                                       \
        }                                                                     \
    } while (0)
#define GE_FAULT_NULL(name)                                                   \
    do {                                                                      \
        uint32_t st_;                                                         \
        if (fault_hit(FN_##name, &st_)) {                                     \
            ge_err(#name, "injected fault (status %" PRIu32 ")", st_);       \
            UNLOCK();                                                         \
            return NULL;                                                      \
        }                                                                     \
    } while (0)
#define ACL_FAULT(name)                                                       \
    do {                                                                      \
        uint32_t st_;                                                         \
        if (fault_hit(FN_##name, &st_)) {                                     \
            acl_err(#name, "injected fault (status %" PRIu32 ")", st_);      \
            UNLOCK();                                                         \
            return (aclError)st_;                                             \
        }                                                                     \
    } while (0)
/* Fail with a message; the lock is held and is released. */
#define GE_FAIL(st, ...)                                                      \
    do {                                                                      \
        ge_err(__func__, __VA_ARGS__);                                        \
        UNLOCK();                                                             \
        return (st);                                                          \
    } while (0)
#define ACL_FAIL(st, ...)                                                     \
    do {                                                                      \
        acl_err(__func__, __VA_ARGS__);                                       \
        UNLOCK();                                                             \
        return (st);                                                          \
    } while (0)
#define ACL_REQUIRE_INIT(name)                                                \
    do {                                                                      \
        if (!g_acl_init) {                                                    \
            acl_err(#name, "ACL is not initialized (call aclInit first)");   \
            UNLOCK();                                                         \
            return ACL_ERROR_UNINITIALIZE;                                    \
        }                                                                     \
    } while (0)

/* ==========================================================================
 * 5. Handle table: tokens -> objects
 * ========================================================================== */

enum { H_SESSION = 1, H_GRAPH, H_BUILDER, H_HOLDER, H_TENSOR, H_STREAM };

typedef struct Obj {
    uintptr_t token;
    int kind;
    struct Obj *next;     /* hash chain */
} Obj;

#define NBUCKETS 4096
static Obj *g_buckets[NBUCKETS];
static uint64_t g_next_token = 1;   /* never reset: tokens never repeat */

static size_t bucket_of(uintptr_t token)
{
    return (size_t)((token - TOKEN_BASE) >> 4) & (NBUCKETS - 1);
}

static void obj_register(Obj *o, int kind)
{
    o->token = TOKEN_BASE + (uintptr_t)(16 * g_next_token++);
    o->kind = kind;
    size_t b = bucket_of(o->token);
    o->next = g_buckets[b];
    g_buckets[b] = o;
}

static void obj_unregister(Obj *o)
{
    Obj **pp = &g_buckets[bucket_of(o->token)];
    while (*pp && *pp != o)
        pp = &(*pp)->next;
    if (*pp)
        *pp = o->next;
}

/* The live object of `kind` behind `handle`, or NULL: never dereferences
 * the handle itself. */
static void *obj_find(const void *handle, int kind)
{
    uintptr_t t = (uintptr_t)handle;
    if (t < TOKEN_BASE + 16 || (t - TOKEN_BASE) % 16 != 0)
        return NULL;
    for (Obj *o = g_buckets[bucket_of(t)]; o; o = o->next)
        if (o->token == t)
            return o->kind == kind ? o : NULL;
    return NULL;
}

static void *obj_handle(const Obj *o) { return (void *)o->token; }

/* ==========================================================================
 * 6. Memory regions: "device" memory and host blocks
 * ========================================================================== */

enum { R_ACL = 1,      /* aclrtMalloc: device_blocks                 */
       R_DEFAULT,      /* built-in default allocator: device_blocks  */
       R_TENSOR,       /* data of a device-placed tensor (ToDevice)  */
       R_HOST };       /* aclrtMallocHost: host_blocks               */

typedef struct Region { uint64_t id; uint8_t *base; size_t size; int kind; } Region;
typedef struct RegionVec { Region *v; size_t n, cap; } RegionVec;

static RegionVec g_dev;      /* every device region */
static RegionVec g_hostmem;  /* blocks of aclrtMallocHost */
static uint64_t g_dev_used;  /* bytes of g_dev, checked against g_mem_limit */

enum { RA_OK = 0, RA_LIMIT, RA_OOM };

static int region_alloc(RegionVec *rv, size_t size, int kind, Region *out)
{
    if (size == 0)
        size = 1;
    if (rv == &g_dev && (size > g_mem_limit || g_dev_used > g_mem_limit - size))
        return RA_LIMIT;
    Region *nv = grow_array(rv->v, &rv->cap, rv->n + 1, sizeof *nv);
    if (!nv)
        return RA_OOM;
    rv->v = nv;
    uint8_t *p = calloc(1, size);          /* fresh memory reads as zeros */
    if (!p)
        return RA_OOM;
    Region r = { g_next_id++, p, size, kind };
    rv->v[rv->n++] = r;
    if (rv == &g_dev)
        g_dev_used += size;
    if (kind == R_ACL || kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]++;
    else if (kind == R_HOST)
        g_live[L_HOST_BLOCKS]++;
    *out = r;
    return RA_OK;
}

static Region *region_by_id(RegionVec *rv, uint64_t id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < rv->n; i++)
        if (rv->v[i].id == id)
            return &rv->v[i];
    return NULL;
}

static Region *region_by_base(RegionVec *rv, const void *p)
{
    for (size_t i = 0; i < rv->n; i++)
        if (rv->v[i].base == p)
            return &rv->v[i];
    return NULL;
}

/* The region holding all of [p, p + len) (len >= 1), or NULL. */
static Region *region_holding(RegionVec *rv, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    if (u > UINTPTR_MAX - len)
        return NULL;
    for (size_t i = 0; i < rv->n; i++) {
        uintptr_t b = (uintptr_t)rv->v[i].base;
        if (u >= b && u - b <= rv->v[i].size && rv->v[i].size - (u - b) >= len)
            return &rv->v[i];
    }
    return NULL;
}

static bool region_overlaps(RegionVec *rv, const void *p, size_t len)
{
    uintptr_t u = (uintptr_t)p;
    if (len == 0)
        len = 1;
    uintptr_t e = u > UINTPTR_MAX - len ? UINTPTR_MAX : u + len;
    for (size_t i = 0; i < rv->n; i++) {
        uintptr_t b = (uintptr_t)rv->v[i].base;
        if (u < b + rv->v[i].size && b < e)
            return true;
    }
    return false;
}

static void region_release(RegionVec *rv, Region *r)
{
    if (r->kind == R_ACL || r->kind == R_DEFAULT)
        g_live[L_DEVICE_BLOCKS]--;
    else if (r->kind == R_HOST)
        g_live[L_HOST_BLOCKS]--;
    if (rv == &g_dev)
        g_dev_used -= r->size;
    free(r->base);
    *r = rv->v[--rv->n];
}

static void regions_free_all(RegionVec *rv)
{
    for (size_t i = 0; i < rv->n; i++)
        free(rv->v[i].base);
    free(rv->v);
    rv->v = NULL;
    rv->n = rv->cap = 0;
}

/* ==========================================================================
 * 7. Data types, float16 / bfloat16, shapes
 * ========================================================================== */

static size_t dtype_size(int dt)
{
    switch (dt) {
    case DT_INT8: case DT_UINT8: case DT_BOOL:
        return 1;
    case DT_FLOAT16: case DT_INT16: case DT_UINT16: case DT_BF16:
        return 2;
    case DT_FLOAT: case DT_INT32: case DT_UINT32:
        return 4;
    case DT_INT64: case DT_UINT64: case DT_DOUBLE: case DT_COMPLEX64:
        return 8;
    case DT_COMPLEX128:
        return 16;
    default:
        return 0;
    }
}

/* dtypes in which Add/Sub/Mul/Div compute */
static bool dtype_computes(int dt)
{
    return dt == DT_FLOAT || dt == DT_FLOAT16 || dt == DT_INT32 ||
           dt == DT_INT64 || dt == DT_DOUBLE;
}

static float f32_from_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }

/* IEEE binary16 -> binary32 (exact) */
static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;                       /* signed zero */
        } else {                               /* subnormal: normalise */
            uint32_t e = 113;                  /* 127 - 15 + 1 */
            while (!(man & 0x400u)) {
                man <<= 1;
                e--;
            }
            bits = sign | (e << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);   /* inf / nan */
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    return f32_from_bits(bits);
}

/* IEEE binary32 -> binary16, round to nearest even (as numpy does) */
static uint16_t f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t exp = x & 0x7f800000u, sig;

    if (exp >= 0x47800000u) {                  /* overflow, inf or nan */
        if (exp == 0x7f800000u && (x & 0x007fffffu)) {
            uint16_t r = (uint16_t)(0x7c00u + ((x & 0x007fffffu) >> 13));
            if (r == 0x7c00u)
                r++;                           /* keep it a nan */
            return (uint16_t)(sign + r);
        }
        return (uint16_t)(sign + 0x7c00u);
    }
    if (exp <= 0x38000000u) {                  /* subnormal half or zero */
        if (exp < 0x33000000u)
            return sign;
        uint32_t e = exp >> 23;
        sig = 0x00800000u + (x & 0x007fffffu);
        uint32_t shift = 113 - e;              /* 1..11 */
        uint32_t lost = sig & ((1u << shift) - 1u);
        sig >>= shift;
        /* round: the bit below the kept bits is bit 12 of sig now */
        if ((sig & 0x3fffu) != 0x1000u || lost)
            sig += 0x1000u;
        return (uint16_t)(sign + (sig >> 13));
    }
    uint16_t hexp = (uint16_t)((exp - 0x38000000u) >> 13);
    sig = x & 0x007fffffu;
    if ((sig & 0x3fffu) != 0x1000u)
        sig += 0x1000u;
    /* a carry out of the significand bumps the exponent (up to inf) */
    return (uint16_t)(sign + hexp + (sig >> 13));
}

static double bf16_to_f64(uint16_t b)
{
    return (double)f32_from_bits((uint32_t)b << 16);
}

typedef struct Shape { int n; int64_t d[MAX_DIMS]; } Shape;

/* Copy caller dims into a Shape; min_dim is 0 for tensors, -1 for
 * declared graph inputs (-1 = unknown). */
static bool shape_from(Shape *s, const int64_t *dims, int64_t n, int64_t min_dim)
{
    if (n < 0 || n > MAX_DIMS || (n > 0 && !dims))
        return false;
    s->n = (int)n;
    for (int i = 0; i < s->n; i++) {
        if (dims[i] < min_dim)
            return false;
        s->d[i] = dims[i];
    }
    return true;
}

static bool shape_numel(const Shape *s, int64_t *out)
{
    int64_t n = 1;
    for (int i = 0; i < s->n; i++) {
        if (s->d[i] < 0)
            return false;
        if (s->d[i] != 0 && n > INT64_MAX / s->d[i])
            return false;
        n *= s->d[i];
    }
    *out = n;
    return true;
}

static bool shape_nbytes(const Shape *s, int dt, size_t *out)
{
    int64_t n;
    size_t esz = dtype_size(dt);
    if (!esz || !shape_numel(s, &n) || (uint64_t)n > (uint64_t)INT64_MAX / esz)
        return false;
    *out = (size_t)n * esz;
    return true;
}

static bool shape_equal(const Shape *a, const Shape *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

/* all dims 1: exactly one element */
static bool shape_all_ones(const Shape *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->d[i] != 1)
            return false;
    return true;
}

static bool shape_has_unknown(const Shape *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->d[i] == -1)
            return true;
    return false;
}

/* numpy's broadcast of a one-element shape `one` against `other` */
static void shape_broadcast_one(const Shape *one, const Shape *other, Shape *out)
{
    int n = one->n > other->n ? one->n : other->n;
    int lead = n - other->n;
    out->n = n;
    for (int i = 0; i < n; i++)
        out->d[i] = i >= lead ? other->d[i - lead] : 1;
}

/* Build-time shape of a binary op: equal shapes (a -1 dim matches any),
 * one side with exactly one element (numpy broadcast), or any -1 dim on
 * either side (then checked at run time; result dims -1). */
static bool static_binary_shape(const Shape *a, const Shape *b, Shape *out)
{
    if (a->n == b->n) {
        bool ok = true;
        for (int i = 0; i < a->n && ok; i++) {
            int64_t x = a->d[i], y = b->d[i];
            if (x == y)
                out->d[i] = x;
            else if (x == -1)
                out->d[i] = y == 1 ? -1 : y;
            else if (y == -1)
                out->d[i] = x == 1 ? -1 : x;
            else
                ok = false;
        }
        if (ok) {
            out->n = a->n;
            return true;
        }
    }
    if (shape_all_ones(a)) {
        shape_broadcast_one(a, b, out);
        return true;
    }
    if (shape_all_ones(b)) {
        shape_broadcast_one(b, a, out);
        return true;
    }
    if (shape_has_unknown(a) || shape_has_unknown(b)) {
        out->n = a->n > b->n ? a->n : b->n;   /* decided at run time */
        for (int i = 0; i < out->n; i++)
            out->d[i] = -1;
        return true;
    }
    return false;
}

/* Run-time shape of a binary op on known shapes. */
static bool runtime_binary_shape(const Shape *a, const Shape *b, Shape *out)
{
    if (shape_equal(a, b)) {
        *out = *a;
        return true;
    }
    if (shape_all_ones(a)) {
        shape_broadcast_one(a, b, out);
        return true;
    }
    if (shape_all_ones(b)) {
        shape_broadcast_one(b, a, out);
        return true;
    }
    return false;
}

static void shape_text(const Shape *s, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    k += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->n && k < cap; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s%" PRId64, i ? "," : "", s->d[i]);
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

/* ==========================================================================
 * 8. Graph model: nodes, immutable graph definitions, graph handles
 * ========================================================================== */

enum { OP_DATA = 0, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_COUNT };
static const char *const g_op_names[OP_COUNT] = { "Data", "Add", "Sub", "Mul", "Div" };

typedef struct Node {
    int op;
    int a, b;            /* operand node indices (ops), -1 for Data */
    int dtype, format;
    int64_t index;       /* input index (Data) */
    Shape shape;         /* declared (Data) or inferred at build time (ops) */
    char *name, *type;
} Node;

/* A built graph.  Immutable and reference-counted: graph handles, session
 * graphs and queued stream work share it. */
typedef struct GraphDef {
    int64_t refs;
    Node *nodes;
    int nnodes;
    int *inputs;   int nin;    /* node index of input i */
    int *outputs;  int nout;   /* node index of output i */
} GraphDef;

typedef struct GraphH { Obj h; char *name; GraphDef *def; } GraphH;

static void nodes_free(Node *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        free(nodes[i].name);
        free(nodes[i].type);
    }
    free(nodes);
}

static GraphDef *def_ref(GraphDef *d) { d->refs++; return d; }

static void def_unref(GraphDef *d)
{
    if (!d || --d->refs > 0)
        return;
    nodes_free(d->nodes, d->nnodes);
    free(d->inputs);
    free(d->outputs);
    free(d);
}

typedef struct OutEntry { int64_t index; int node; } OutEntry;

/* Make a graph definition out of nodes and (index, node) outputs.  Input
 * indices and output indices must both be exactly 0..n-1.  Takes ownership
 * of `nodes` on success only. */
static GraphDef *def_assemble(Node *nodes, int nnodes, const OutEntry *outs,
                              int nouts, char *why, size_t whylen)
{
    int nin = 0;
    for (int k = 0; k < nnodes; k++)
        nin += nodes[k].op == OP_DATA;
    int *in = malloc(sizeof(int) * (size_t)(nin ? nin : 1));
    int *out = malloc(sizeof(int) * (size_t)(nouts ? nouts : 1));
    GraphDef *d = calloc(1, sizeof *d);
    if (!in || !out || !d) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    for (int i = 0; i < nin; i++)
        in[i] = -1;
    for (int i = 0; i < nouts; i++)
        out[i] = -1;
    for (int k = 0; k < nnodes; k++) {
        if (nodes[k].op != OP_DATA)
            continue;
        int64_t idx = nodes[k].index;
        if (idx < 0 || idx >= nin || in[idx] != -1) {
            snprintf(why, whylen, "graph input indices must be exactly 0..%d "
                     "(bad or repeated index %" PRId64 ")", nin - 1, idx);
            goto fail;
        }
        in[idx] = k;
    }
    for (int j = 0; j < nouts; j++) {
        int64_t idx = outs[j].index;
        if (idx < 0 || idx >= nouts || out[idx] != -1) {
            snprintf(why, whylen, "graph output indices must be exactly 0..%d "
                     "(bad or repeated index %" PRId64 ")", nouts - 1, idx);
            goto fail;
        }
        if (outs[j].node < 0 || outs[j].node >= nnodes) {
            snprintf(why, whylen, "graph output %" PRId64 " names no node", idx);
            goto fail;
        }
        out[idx] = outs[j].node;
    }
    d->refs = 1;
    d->nodes = nodes;
    d->nnodes = nnodes;
    d->inputs = in;
    d->nin = nin;
    d->outputs = out;
    d->nout = nouts;
    return d;
fail:
    free(in);
    free(out);
    free(d);
    return NULL;
}

static GraphDef *def_empty(void)
{
    char why[64];
    return def_assemble(NULL, 0, NULL, 0, why, sizeof why);
}

static GraphH *graph_new(const char *name, GraphDef *def)
{
    GraphH *g = calloc(1, sizeof *g);
    char *nm = xstrdup(name);
    if (!g || !nm) {
        free(g);
        free(nm);
        return NULL;
    }
    g->name = nm;
    g->def = def;
    obj_register(&g->h, H_GRAPH);
    g_live[L_GRAPHS]++;
    return g;
}

static void graph_free(GraphH *g)
{
    obj_unregister(&g->h);
    def_unref(g->def);
    free(g->name);
    free(g);
    g_live[L_GRAPHS]--;
}

/* ==========================================================================
 * 9. Allocators, allocator blocks and deferred callbacks
 * ========================================================================== */

typedef struct Allocator {
    uint64_t id;
    int64_t refs;        /* 1 while registered + 1 per live block (+ temps) */
    bool registered, is_default;
    uintptr_t stream;    /* registration key; 0 is the default stream */
    MallocFn mfn;
    FreeFn ffn;
    GetAddrFn gfn;
    OnDestroyFn dfn;
    void *user;
    struct Allocator *next;
} Allocator;
static Allocator *g_allocators;

/* A block handed out by an allocator; users: the output tensor and the
 * queued work writing into it (and work reading it, see prepare_inputs). */
typedef struct ABlock {
    uint64_t id;
    int64_t refs;
    int64_t writers;     /* queued work items that will write into it */
    Allocator *alloc;
    void *block;         /* the callback's opaque handle */
    uint8_t *addr;       /* device address (GetAddrFn) */
    size_t nbytes;
    uint64_t region;     /* id of the device region holding addr */
    struct ABlock *prev, *next;
} ABlock;
static ABlock *g_ablocks;

enum { CALL_FREE, CALL_DESTROY };
typedef struct CbCall {
    int what;
    uint64_t alloc_id;
    FreeFn ffn;
    void *block;
    OnDestroyFn dfn;
    void *user;
} CbCall;
typedef struct CbList { CbCall *v; size_t n, cap; } CbList;

static void cb_push(CbList *l, CbCall c)
{
    CbCall *nv = grow_array(l->v, &l->cap, l->n + 1, sizeof *nv);
    if (!nv)
        return;                 /* out of memory: the call is lost */
    l->v = nv;
    l->v[l->n++] = c;
}

static Allocator *alloc_by_id(uint64_t id)
{
    for (Allocator *a = g_allocators; a; a = a->next)
        if (a->id == id)
            return a;
    return NULL;
}

static Allocator *alloc_for_stream(uintptr_t stream)
{
    for (Allocator *a = g_allocators; a; a = a->next)
        if (a->registered && a->stream == stream)
            return a;
    return NULL;
}

static void alloc_free_struct(Allocator *a)
{
    Allocator **pp = &g_allocators;
    while (*pp && *pp != a)
        pp = &(*pp)->next;
    if (*pp)
        *pp = a->next;
    free(a);
    g_live[L_ALLOCATORS]--;
}

static void alloc_unref(Allocator *a, CbList *cb)
{
    if (--a->refs > 0)
        return;
    if (a->dfn) {   /* the struct lives until OnDestroyFn has returned */
        CbCall c = { CALL_DESTROY, a->id, NULL, NULL, a->dfn, a->user };
        cb_push(cb, c);
    } else {
        alloc_free_struct(a);
    }
}

static void alloc_unregister(Allocator *a, CbList *cb)
{
    if (!a->registered)
        return;
    a->registered = false;
    alloc_unref(a, cb);
}

static ABlock *ablock_new(Allocator *a, void *block, uint8_t *addr, size_t nbytes,
                          uint64_t region)
{
    ABlock *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->id = g_next_id++;
    b->refs = 1;
    b->alloc = a;
    b->block = block;
    b->addr = addr;
    b->nbytes = nbytes;
    b->region = region;
    b->next = g_ablocks;
    if (g_ablocks)
        g_ablocks->prev = b;
    g_ablocks = b;
    a->refs++;
    g_live[L_ALLOCATOR_BLOCKS]++;
    return b;
}

/* Drop one user of a block; the last one frees it (FreeFn deferred). */
static void ablock_unref(ABlock *b, CbList *cb)
{
    if (--b->refs > 0)
        return;
    if (b->prev)
        b->prev->next = b->next;
    else
        g_ablocks = b->next;
    if (b->next)
        b->next->prev = b->prev;
    g_live[L_ALLOCATOR_BLOCKS]--;
    Allocator *a = b->alloc;
    if (a->is_default) {          /* built-in: no callbacks */
        Region *r = region_by_id(&g_dev, b->region);
        if (r)
            region_release(&g_dev, r);
        alloc_unref(a, cb);
    } else {                      /* the allocator's ref drops after FreeFn */
        CbCall c = { CALL_FREE, a->id, a->ffn, b->block, NULL, NULL };
        cb_push(cb, c);
    }
    free(b);
}

/* Make the collected callback calls.  Must be called WITHOUT the lock; it
 * takes the lock briefly after each call to update reference counts. */
static void run_callbacks(CbList *cb)
{
    for (size_t i = 0; i < cb->n; i++) {
        CbCall c = cb->v[i];
        if (c.what == CALL_FREE) {
            atomic_fetch_add(&g_cb_count[CB_FREE], 1);
            c.ffn(NULL, c.block);
            LOCK();
            Allocator *a = alloc_by_id(c.alloc_id);
            if (a)
                alloc_unref(a, cb);
            UNLOCK();
        } else {
            atomic_fetch_add(&g_cb_count[CB_ON_DESTROY], 1);
            c.dfn(c.user);
            LOCK();
            Allocator *a = alloc_by_id(c.alloc_id);
            if (a)
                alloc_free_struct(a);
            UNLOCK();
        }
    }
    free(cb->v);
    cb->v = NULL;
    cb->n = cb->cap = 0;
}

/* ==========================================================================
 * 10. Tensors
 * ========================================================================== */

typedef struct Tensor {
    Obj h;
    int dtype, format, placement;
    Shape shape;
    bool has_data;       /* false for CreateTensor's empty tensor */
    size_t nbytes;
    uint8_t *host;       /* host placement: own data (at least 1 byte) */
    uint8_t *addr;       /* device placement: device address */
    uint64_t region;     /* device placement: id of the region holding addr */
    bool own_region;     /* the region belongs to the tensor (ToDevice) */
    ABlock *blk;         /* or: an allocator block (async output) */
    char *text;          /* GetData text */
} Tensor;

/* Host memory for tensor data. Buffers too large for glibc to ever reuse
 * (past its largest mmap threshold, 32 MiB) are 2 MiB aligned and advised as
 * transparent huge pages, as numpy does for its arrays: a fresh 4 KiB-page
 * mapping of hundreds of MiB costs several times the copy into it. */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)32 << 20)
static uint8_t *host_alloc(size_t nbytes)
{
    if (nbytes < HUGE_FROM)
        return malloc(max_sz(nbytes, 1));
    size_t rounded = (nbytes + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    if (rounded < nbytes)
        return NULL;
    uint8_t *p = aligned_alloc(HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure is fine */
#endif
    return p;
}

static Tensor *tensor_new(int dtype, int format, const Shape *shape)
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

/* The tensor's bytes, or NULL (no data, or its device memory is gone). */
static const uint8_t *tensor_bytes(const Tensor *t)
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

static void tensor_free(Tensor *t, CbList *cb)
{
    obj_unregister(&t->h);
    tensor_drop_device(t, cb);
    free(t->host);
    free(t->text);
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
 * 11. Evaluation engine
 * ========================================================================== */

static int32_t i32_op(int op, int32_t x, int32_t y)
{
    uint32_t ux = (uint32_t)x, uy = (uint32_t)y;
    switch (op) {
    case OP_ADD: return (int32_t)(ux + uy);     /* integers wrap */
    case OP_SUB: return (int32_t)(ux - uy);
    case OP_MUL: return (int32_t)(ux * uy);
    default:
        if (y == 0)
            return 0;
        if (x == INT32_MIN && y == -1)
            return INT32_MIN;
        return x / y;                            /* truncates toward zero */
    }
}

static int64_t i64_op(int op, int64_t x, int64_t y)
{
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case OP_ADD: return (int64_t)(ux + uy);
    case OP_SUB: return (int64_t)(ux - uy);
    case OP_MUL: return (int64_t)(ux * uy);
    default:
        if (y == 0)
            return 0;
        if (x == INT64_MIN && y == -1)
            return INT64_MIN;
        return x / y;
    }
}

static float f32_op(int op, float x, float y)
{
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    default: return x / y;
    }
}

static double f64_op(int op, double x, double y)
{
    switch (op) {
    case OP_ADD: return x + y;
    case OP_SUB: return x - y;
    case OP_MUL: return x * y;
    default: return x / y;
    }
}

/* out[i] = a[i*sa] op b[i*sb] for i < n; buffers are suitably aligned. */
#define BINARY_LOOP(T, EXPR)                                                  \
    do {                                                                      \
        const T *pa = (const T *)(const void *)a;                             \
        const T *pb = (const T *)(const void *)b;                             \
        T *po = (T *)(void *)out;                                             \
        for (int64_t i = 0; i < n; i++) {                                     \
            T x = pa[i * sa], y = pb[i * sb];                                 \
            po[i] = (EXPR);                                                   \
        }                                                                     \
    } while (0)

static void compute_op(int op, int dt, const uint8_t *a, int64_t sa,
                       const uint8_t *b, int64_t sb, uint8_t *out, int64_t n)
{
    switch (dt) {
    case DT_FLOAT:   BINARY_LOOP(float, f32_op(op, x, y)); break;
    case DT_DOUBLE:  BINARY_LOOP(double, f64_op(op, x, y)); break;
    case DT_INT32:   BINARY_LOOP(int32_t, i32_op(op, x, y)); break;
    case DT_INT64:   BINARY_LOOP(int64_t, i64_op(op, x, y)); break;
    case DT_FLOAT16: /* compute in float32, round to nearest even */
        BINARY_LOOP(uint16_t, f32_to_f16(f32_op(op, f16_to_f32(x), f16_to_f32(y))));
        break;
    default: break;
    }
}

/* Check the run's inputs against the declared inputs and infer every node's
 * shape (ns[k]).  Locked. */
static Status infer_shapes(const char *fn, const GraphDef *g, const Shape *in_shapes,
                           Shape *ns)
{
    for (int k = 0; k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA) {
            ns[k] = in_shapes[nd->index];
            continue;
        }
        if (!dtype_computes(nd->dtype)) {
            ge_err(fn, "op %s (%s) does not support data type %d in the stand-in",
                   nd->name, g_op_names[nd->op], nd->dtype);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
        if (!runtime_binary_shape(&ns[nd->a], &ns[nd->b], &ns[k])) {
            char sa[128], sb[128];
            shape_text(&ns[nd->a], sa, sizeof sa);
            shape_text(&ns[nd->b], sb, sizeof sb);
            ge_err(fn, "op %s (%s): shapes %s and %s are not compatible",
                   nd->name, g_op_names[nd->op], sa, sb);
            return ACL_ERROR_GE_PARAM_INVALID;
        }
    }
    return GE_SUCCESS;
}

/* Run the graph: in_data[i] are aligned input buffers, ns the node shapes
 * from infer_shapes, out_dst[i] the (possibly unaligned) destinations.
 * Returns false when out of memory. */
static bool graph_execute(const GraphDef *g, uint8_t *const *in_data,
                          const Shape *ns, uint8_t *const *out_dst)
{
    const uint8_t **res = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *res);
    uint8_t **owned = calloc((size_t)(g->nnodes ? g->nnodes : 1), sizeof *owned);
    bool ok = res && owned;
    for (int k = 0; ok && k < g->nnodes; k++) {
        const Node *nd = &g->nodes[k];
        if (nd->op == OP_DATA) {
            res[k] = in_data[nd->index];
            continue;
        }
        int64_t n = 0, na = 0, nb = 0;
        size_t nbytes;
        shape_numel(&ns[k], &n);
        shape_numel(&ns[nd->a], &na);
        shape_numel(&ns[nd->b], &nb);
        shape_nbytes(&ns[k], nd->dtype, &nbytes);
        owned[k] = malloc(max_sz(nbytes, 1));
        if (!owned[k]) {
            ok = false;
            break;
        }
        compute_op(nd->op, nd->dtype, res[nd->a], na == n ? 1 : 0,
                   res[nd->b], nb == n ? 1 : 0, owned[k], n);
        res[k] = owned[k];
    }
    for (int i = 0; ok && i < g->nout; i++) {
        int k = g->outputs[i];
        size_t nbytes;
        shape_nbytes(&ns[k], g->nodes[k].dtype, &nbytes);
        if (nbytes)
            memcpy(out_dst[i], res[k], nbytes);
    }
    for (int k = 0; owned && k < g->nnodes; k++)
        free(owned[k]);
    free(owned);
    free(res);
    return ok;
}

/* ==========================================================================
 * 12. Streams and queued work
 * ========================================================================== */

/* One input of a queued graph run: a copy made at enqueue time, or (when
 * the input is an async output still waiting for its producer) a reference
 * to its allocator block, read when the work runs. */
typedef struct WorkIn {
    Shape shape;
    int dtype;
    size_t nbytes;
    uint8_t *copy;
    ABlock *blk;
    uint8_t *addr;
    uint64_t region;
} WorkIn;

enum { W_MEMCPY = 1, W_GRAPH };
typedef struct Work {
    struct Work *next;
    int type;
    /* W_MEMCPY: the regions / host blocks seen at enqueue time (0: none) */
    uint8_t *dst;
    const uint8_t *src;
    size_t count;
    uint64_t dst_region, src_region, dst_host, src_host;
    /* W_GRAPH */
    GraphDef *def;
    WorkIn *in;
    int nin;
    Shape *ns;           /* node shapes */
    ABlock **out;
    int nout;
} Work;

typedef struct Stream { Obj h; Work *head, *tail; int64_t n; } Stream;
static Stream g_default_stream;     /* the NULL stream */

static Stream *stream_find(void *stream)
{
    return stream ? obj_find(stream, H_STREAM) : &g_default_stream;
}

static void stream_push(Stream *s, Work *w)
{
    w->next = NULL;
    if (s->tail)
        s->tail->next = w;
    else
        s->head = w;
    s->tail = w;
    s->n++;
    g_live[L_PENDING_WORK]++;
}

static void workins_free(WorkIn *in, int n, CbList *cb)
{
    for (int i = 0; in && i < n; i++) {
        free(in[i].copy);
        if (in[i].blk && cb)
            ablock_unref(in[i].blk, cb);
    }
    free(in);
}

/* Release a work item and everything it holds.  With cb == NULL (Reset)
 * blocks are not touched. */
static void work_free(Work *w, CbList *cb)
{
    if (w->type == W_GRAPH) {
        workins_free(w->in, w->nin, cb);
        for (int i = 0; cb && w->out && i < w->nout; i++) {
            if (!w->out[i])
                continue;
            w->out[i]->writers--;
            ablock_unref(w->out[i], cb);
        }
        free(w->out);
        free(w->ns);
        def_unref(w->def);
    }
    free(w);
}

/* Run one work item; false when it had to be skipped. */
static bool work_run(Work *w)
{
    if (w->type == W_MEMCPY) {
        if ((w->dst_region && !region_by_id(&g_dev, w->dst_region)) ||
            (w->src_region && !region_by_id(&g_dev, w->src_region)) ||
            (w->dst_host && !region_by_id(&g_hostmem, w->dst_host)) ||
            (w->src_host && !region_by_id(&g_hostmem, w->src_host)))
            return false;
        if (w->count)
            memmove(w->dst, w->src, w->count);
        return true;
    }
    uint8_t **ind = calloc((size_t)(w->nin ? w->nin : 1), sizeof *ind);
    uint8_t **tmp = calloc((size_t)(w->nin ? w->nin : 1), sizeof *tmp);
    uint8_t **outd = calloc((size_t)(w->nout ? w->nout : 1), sizeof *outd);
    bool ok = ind && tmp && outd;
    for (int i = 0; ok && i < w->nin; i++) {
        if (!w->in[i].blk) {
            ind[i] = w->in[i].copy;
            continue;
        }
        if (!region_by_id(&g_dev, w->in[i].region) ||
            !(tmp[i] = malloc(max_sz(w->in[i].nbytes, 1)))) {
            ok = false;
            break;
        }
        if (w->in[i].nbytes)
            memcpy(tmp[i], w->in[i].addr, w->in[i].nbytes);
        ind[i] = tmp[i];
    }
    for (int i = 0; ok && i < w->nout; i++) {
        if (!region_by_id(&g_dev, w->out[i]->region))
            ok = false;
        else
            outd[i] = w->out[i]->addr;
    }
    if (ok)
        ok = graph_execute(w->def, ind, w->ns, outd);
    for (int i = 0; tmp && i < w->nin; i++)
        free(tmp[i]);
    free(tmp);
    free(ind);
    free(outd);
    return ok;
}

/* Run every queued item of s in order; returns how many were skipped. */
static int stream_drain(Stream *s, CbList *cb)
{
    int skipped = 0;
    while (s->head) {
        Work *w = s->head;
        s->head = w->next;
        if (!s->head)
            s->tail = NULL;
        s->n--;
        g_live[L_PENDING_WORK]--;
        if (!work_run(w))
            skipped++;
        work_free(w, cb);
    }
    return skipped;
}

static void stream_clear_silent(Stream *s)
{
    while (s->head) {
        Work *w = s->head;
        s->head = w->next;
        work_free(w, NULL);
    }
    s->tail = NULL;
    s->n = 0;
}

/* ==========================================================================
 * 13. ACL runtime API
 * ========================================================================== */

aclError aclInit(const char *config_path)
{
    (void)config_path;     /* CHOICE: the config file is not read */
    LOCK();
    ACL_FAULT(aclInit);
    if (g_acl_init)
        ACL_FAIL(ACL_ERROR_REPEAT_INITIALIZE, "ACL is already initialized");
    g_acl_init = true;
    g_acl_epoch++;
    UNLOCK();
    return ACL_SUCCESS;
}

/* CHOICE: aclFinalize frees nothing; streams and memory stay until they are
 * destroyed (which needs aclInit again) or GeStub_Reset. */
aclError aclFinalize(void)
{
    LOCK();
    ACL_FAULT(aclFinalize);
    if (!g_acl_init)
        ACL_FAIL(ACL_ERROR_REPEAT_FINALIZE, "ACL is not initialized");
    g_acl_init = false;
    g_acl_epoch++;
    UNLOCK();
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

aclError aclrtSetDevice(int32_t device_id)
{
    LOCK();
    ACL_FAULT(aclrtSetDevice);
    ACL_REQUIRE_INIT(aclrtSetDevice);
    aclError e = check_device_id(__func__, device_id);
    if (!e) {
        t_device = device_id;
        t_device_epoch = g_acl_epoch;
    }
    UNLOCK();
    return e;
}

aclError aclrtResetDevice(int32_t device_id)
{
    LOCK();
    ACL_FAULT(aclrtResetDevice);
    ACL_REQUIRE_INIT(aclrtResetDevice);
    aclError e = check_device_id(__func__, device_id);
    if (!e && current_device() == device_id)
        t_device = -1;
    UNLOCK();
    return e;
}

aclError aclrtGetDevice(int32_t *device_id)
{
    LOCK();
    ACL_FAULT(aclrtGetDevice);
    ACL_REQUIRE_INIT(aclrtGetDevice);
    aclError e = ACL_SUCCESS;
    if (!device_id) {
        acl_err(__func__, "device_id is NULL");
        e = ACL_ERROR_INVALID_PARAM;
    } else if (current_device() < 0) {
        acl_err(__func__, "no device is set on this thread");
        e = ACL_ERROR_RT_CONTEXT_NULL;
    } else {
        *device_id = current_device();
    }
    UNLOCK();
    return e;
}

aclError aclrtGetDeviceCount(uint32_t *count)
{
    LOCK();
    ACL_FAULT(aclrtGetDeviceCount);
    ACL_REQUIRE_INIT(aclrtGetDeviceCount);
    aclError e = ACL_SUCCESS;
    if (!count) {
        acl_err(__func__, "count is NULL");
        e = ACL_ERROR_INVALID_PARAM;
    } else {
        *count = g_device_count;
    }
    UNLOCK();
    return e;
}

aclError aclrtGetVersion(int32_t *major, int32_t *minor, int32_t *patch)
{
    LOCK();
    ACL_FAULT(aclrtGetVersion);
    UNLOCK();
    if (!major || !minor || !patch) {
        acl_err(__func__, "NULL output pointer");
        return ACL_ERROR_INVALID_PARAM;
    }
    *major = 8;
    *minor = 0;
    *patch = 0;
    return ACL_SUCCESS;
}

aclError aclrtCreateStream(void **stream)
{
    LOCK();
    ACL_FAULT(aclrtCreateStream);
    ACL_REQUIRE_INIT(aclrtCreateStream);
    aclError e = ACL_SUCCESS;
    Stream *s = NULL;
    if (!stream) {
        acl_err(__func__, "stream is NULL");
        e = ACL_ERROR_INVALID_PARAM;
    } else if (!(s = calloc(1, sizeof *s))) {
        acl_err(__func__, "out of memory");
        e = ACL_ERROR_BAD_ALLOC;
    } else {
        obj_register(&s->h, H_STREAM);
        g_live[L_STREAMS]++;
        *stream = obj_handle(&s->h);
    }
    UNLOCK();
    return e;
}

/* CHOICE: destroying a stream drains its queue and then succeeds even if
 * a queued item had to be skipped; an allocator registered for the stream
 * stays registered (allocators are keyed by the stream value). */
aclError aclrtDestroyStream(void *stream)
{
    CbList cb = { 0 };
    LOCK();
    ACL_FAULT(aclrtDestroyStream);
    ACL_REQUIRE_INIT(aclrtDestroyStream);
    if (!stream)
        ACL_FAIL(ACL_ERROR_INVALID_PARAM, "the default stream cannot be destroyed");
    Stream *s = obj_find(stream, H_STREAM);
    if (!s)
        ACL_FAIL(ACL_ERROR_INVALID_RESOURCE_HANDLE, "unknown or destroyed stream %p",
                stream);
    stream_drain(s, &cb);
    obj_unregister(&s->h);
    free(s);
    g_live[L_STREAMS]--;
    UNLOCK();
    run_callbacks(&cb);
    return ACL_SUCCESS;
}

aclError aclrtSynchronizeStream(void *stream)
{
    CbList cb = { 0 };
    LOCK();
    ACL_FAULT(aclrtSynchronizeStream);
    ACL_REQUIRE_INIT(aclrtSynchronizeStream);
    Stream *s = stream_find(stream);
    if (!s)
        ACL_FAIL(ACL_ERROR_INVALID_RESOURCE_HANDLE, "unknown or destroyed stream %p",
                stream);
    int skipped = stream_drain(s, &cb);
    UNLOCK();
    run_callbacks(&cb);
    if (skipped) {
        acl_err(__func__, "%d queued item(s) skipped: their memory was freed "
                "before they ran", skipped);
        return ACL_ERROR_FAILURE;
    }
    return ACL_SUCCESS;
}

aclError aclrtMalloc(void **ptr, size_t size, int policy)
{
    LOCK();
    ACL_FAULT(aclrtMalloc);
    ACL_REQUIRE_INIT(aclrtMalloc);
    aclError e = ACL_SUCCESS;
    Region r;
    if (!ptr || size == 0 || policy < 0 || policy > 2) {
        acl_err(__func__, "invalid argument (ptr %p, size %zu, policy %d)",
                (void *)ptr, size, policy);
        e = ACL_ERROR_INVALID_PARAM;
    } else {
        int rc = region_alloc(&g_dev, size, R_ACL, &r);
        if (rc == RA_OK) {
            *ptr = r.base;
        } else {
            acl_err(__func__, rc == RA_LIMIT ? "%zu bytes exceed the memory "
                    "limit" : "out of memory allocating %zu bytes", size);
            e = ACL_ERROR_BAD_ALLOC;
        }
    }
    UNLOCK();
    return e;
}

/* CHOICE: only blocks of aclrtMalloc can be freed here; blocks of the
 * built-in default allocator are released by GE itself. */
aclError aclrtFree(void *ptr)
{
    LOCK();
    ACL_FAULT(aclrtFree);
    ACL_REQUIRE_INIT(aclrtFree);
    Region *r = ptr ? region_by_base(&g_dev, ptr) : NULL;
    if (!r || r->kind != R_ACL)
        ACL_FAIL(ACL_ERROR_INVALID_PARAM, "%p is not the base of a live device block",
                ptr);
    region_release(&g_dev, r);
    UNLOCK();
    return ACL_SUCCESS;
}

aclError aclrtMallocHost(void **ptr, size_t size)
{
    LOCK();
    ACL_FAULT(aclrtMallocHost);
    ACL_REQUIRE_INIT(aclrtMallocHost);
    aclError e = ACL_SUCCESS;
    Region r;
    if (!ptr || size == 0) {
        acl_err(__func__, "invalid argument (ptr %p, size %zu)", (void *)ptr, size);
        e = ACL_ERROR_INVALID_PARAM;
    } else if (region_alloc(&g_hostmem, size, R_HOST, &r) != RA_OK) {
        acl_err(__func__, "out of memory allocating %zu bytes", size);
        e = ACL_ERROR_BAD_ALLOC;
    } else {
        *ptr = r.base;
    }
    UNLOCK();
    return e;
}

aclError aclrtFreeHost(void *ptr)
{
    LOCK();
    ACL_FAULT(aclrtFreeHost);
    ACL_REQUIRE_INIT(aclrtFreeHost);
    Region *r = ptr ? region_by_base(&g_hostmem, ptr) : NULL;
    if (!r)
        ACL_FAIL(ACL_ERROR_INVALID_PARAM, "%p is not the base of a live host block",
                ptr);
    region_release(&g_hostmem, r);
    UNLOCK();
    return ACL_SUCCESS;
}

/* One side of a copy: want 1 device, 0 host, -1 infer from the pointer. */
typedef struct MemSide { uint64_t region, host; } MemSide;

static bool mem_side(const char *fn, const char *what, const void *p, size_t len,
                     int want, MemSide *side)
{
    side->region = side->host = 0;
    if (want < 0)
        want = region_holding(&g_dev, p, 1) ? 1 : 0;
    if (want) {
        Region *r = region_holding(&g_dev, p, len);
        if (!r) {
            acl_err(fn, "%s range %p+%zu is not inside one live device block",
                    what, p, len);
            return false;
        }
        side->region = r->id;
    } else {
        if ((uintptr_t)p > UINTPTR_MAX - max_sz(len, 1) ||
            region_overlaps(&g_dev, p, len)) {
            acl_err(fn, "%s range %p+%zu is not host memory", what, p, len);
            return false;
        }
        Region *h = region_holding(&g_hostmem, p, len);
        side->host = h ? h->id : 0;
    }
    return true;
}

static aclError memcpy_check(const char *fn, void *dst, size_t dst_max,
                             const void *src, size_t count, int kind,
                             MemSide *d, MemSide *s)
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

aclError aclrtMemcpy(void *dst, size_t dst_max, const void *src, size_t count, int kind)
{
    MemSide d, s;
    LOCK();
    ACL_FAULT(aclrtMemcpy);
    ACL_REQUIRE_INIT(aclrtMemcpy);
    aclError e = memcpy_check(__func__, dst, dst_max, src, count, kind, &d, &s);
    if (!e && count)
        memmove(dst, src, count);
    UNLOCK();
    return e;
}

aclError aclrtMemcpyAsync(void *dst, size_t dst_max, const void *src, size_t count,
                          int kind, void *stream)
{
    MemSide d, s;
    LOCK();
    ACL_FAULT(aclrtMemcpyAsync);
    ACL_REQUIRE_INIT(aclrtMemcpyAsync);
    Stream *st = stream_find(stream);
    if (!st)
        ACL_FAIL(ACL_ERROR_INVALID_RESOURCE_HANDLE, "unknown or destroyed stream %p",
                stream);
    aclError e = memcpy_check(__func__, dst, dst_max, src, count, kind, &d, &s);
    if (!e) {
        Work *w = calloc(1, sizeof *w);
        if (!w) {
            acl_err(__func__, "out of memory");
            e = ACL_ERROR_BAD_ALLOC;
        } else {
            w->type = W_MEMCPY;
            w->dst = dst;
            w->src = src;
            w->count = count;
            w->dst_region = d.region;
            w->src_region = s.region;
            w->dst_host = d.host;
            w->src_host = s.host;
            stream_push(st, w);
        }
    }
    UNLOCK();
    return e;
}

/* CHOICE: aclrtMemset works on device blocks and aclrtMallocHost blocks
 * only (any other pointer is ACL_ERROR_INVALID_PARAM). */
aclError aclrtMemset(void *ptr, size_t max_count, int32_t value, size_t count)
{
    LOCK();
    ACL_FAULT(aclrtMemset);
    ACL_REQUIRE_INIT(aclrtMemset);
    aclError e = ACL_SUCCESS;
    if (!ptr || count > max_count) {
        acl_err(__func__, "invalid argument (ptr %p, max_count %zu, count %zu)",
                ptr, max_count, count);
        e = ACL_ERROR_INVALID_PARAM;
    } else if (!region_holding(&g_dev, ptr, count) &&
               !region_holding(&g_hostmem, ptr, count)) {
        acl_err(__func__, "range %p+%zu is not inside one live memory block",
                ptr, count);
        e = ACL_ERROR_INVALID_PARAM;
    } else if (count) {
        memset(ptr, (unsigned char)value, count);
    }
    UNLOCK();
    return e;
}

const char *aclGetRecentErrMsg(void)
{
    return get_msg(t_acl_msg, t_acl_epoch);
}

/* ==========================================================================
 * 14. GE lifecycle
 * ========================================================================== */

/* Option arrays: size >= 0, non-NULL arrays and strings, and
 * ge.exec.deviceId a non-negative decimal integer. */
static bool options_valid(const char *fn, char **keys, char **values, int size)
{
    if (size < 0 || (size > 0 && (!keys || !values))) {
        ge_err(fn, "malformed option arrays (size %d)", size);
        return false;
    }
    for (int i = 0; i < size; i++) {
        if (!keys[i] || !values[i]) {
            ge_err(fn, "option %d has a NULL key or value", i);
            return false;
        }
        if (strcmp(keys[i], "ge.exec.deviceId") == 0) {
            const char *v = values[i];
            size_t n = strlen(v);
            bool ok = n > 0 && n <= 9;
            for (size_t j = 0; ok && j < n; j++)
                ok = v[j] >= '0' && v[j] <= '9';
            if (!ok) {
                ge_err(fn, "ge.exec.deviceId must be a non-negative integer, "
                       "got \"%s\"", v);
                return false;
            }
        }
    }
    return true;
}

/* CHOICE: when already initialised the options are not looked at. */
Status GeApiWrapper_GEInitialize(char **keys, char **values, int size)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_GEInitialize);
    if (g_ge_init) {
        UNLOCK();
        return GE_SUCCESS;
    }
    if (!options_valid(__func__, keys, values, size)) {
        UNLOCK();
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    g_ge_init = true;
    g_ge_gen++;
    UNLOCK();
    return GE_SUCCESS;
}

typedef struct SessGraph { uint32_t id; GraphDef *def; bool compiled; } SessGraph;
typedef struct Session {
    Obj h;
    uint64_t gen;        /* GE generation at creation; 0 = none */
    uint64_t sid;
    SessGraph *g;
    size_t ng, capg;
} Session;

static void session_clear_graphs(Session *s)
{
    for (size_t i = 0; i < s->ng; i++)
        def_unref(s->g[i].def);
    g_live[L_SESSION_GRAPHS] -= (int64_t)s->ng;
    s->ng = 0;
}

/* Calls fn for every live object of `kind` (fn must not unregister others). */
static void for_each_obj(int kind, void (*fn)(Obj *))
{
    for (size_t b = 0; b < NBUCKETS; b++) {
        Obj *o = g_buckets[b];
        while (o) {
            Obj *next = o->next;
            if (o->kind == kind)
                fn(o);
            o = next;
        }
    }
}

static void finalize_session(Obj *o) { session_clear_graphs((Session *)o); }

Status GeApiWrapper_GEFinalize(void)
{
    CbList cb = { 0 };
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_GEFinalize);
    if (!g_ge_init) {
        UNLOCK();
        return GE_SUCCESS;
    }
    g_ge_init = false;
    for_each_obj(H_SESSION, finalize_session);
    for (Allocator *a = g_allocators, *next; a; a = next) {
        next = a->next;
        alloc_unregister(a, &cb);
    }
    UNLOCK();
    run_callbacks(&cb);
    return GE_SUCCESS;
}

bool GeApiWrapper_IsGEInitialized(void)
{
    LOCK();
    bool v = g_ge_init;
    UNLOCK();
    return v;
}

const char *GeApiWrapper_GEGetErrorMsg(void)
{
    return get_msg(t_ge_msg, t_ge_epoch);
}

/* ==========================================================================
 * 15. Sessions
 * ========================================================================== */

static void *session_create(const char *fn, char **keys, char **values, int size)
{
    if (!options_valid(fn, keys, values, size))
        return NULL;
    Session *s = calloc(1, sizeof *s);
    if (!s) {
        ge_err(fn, "out of memory");
        return NULL;
    }
    s->gen = g_ge_init ? g_ge_gen : 0;
    s->sid = g_next_session_id++;
    obj_register(&s->h, H_SESSION);
    g_live[L_SESSIONS]++;
    return obj_handle(&s->h);
}

void *GeApiWrapper_Session_CreateSession(void)
{
    LOCK();
    GE_FAULT_NULL(GeApiWrapper_Session_CreateSession);
    void *h = session_create(__func__, NULL, NULL, 0);
    UNLOCK();
    return h;
}

void *GeApiWrapper_Session_CreateSessionWithOptions(char **keys, char **values, int size)
{
    LOCK();
    GE_FAULT_NULL(GeApiWrapper_Session_CreateSessionWithOptions);
    void *h = session_create(__func__, keys, values, size);
    UNLOCK();
    return h;
}

void GeApiWrapper_Session_DestroySession(void *session)
{
    LOCK();
    Session *s = obj_find(session, H_SESSION);
    if (!s) {
        if (session)
            ge_err(__func__, "unknown or destroyed session %p", session);
        UNLOCK();
        return;
    }
    session_clear_graphs(s);
    obj_unregister(&s->h);
    free(s->g);
    free(s);
    g_live[L_SESSIONS]--;
    UNLOCK();
}

/* GE initialised and the session live and of this generation (locked;
 * the fault has been checked by the caller). */
static Status session_check(const char *fn, void *session, Session **out)
{
    if (!g_ge_init) {
        ge_err(fn, "GE is not initialized (call GEInitialize first)");
        return GE_CLI_GE_NOT_INITIALIZED;
    }
    Session *s = obj_find(session, H_SESSION);
    if (!s || s->gen != g_ge_gen) {
        ge_err(fn, "session %p does not exist (or was created outside the "
               "current GEInitialize)", session);
        return GE_SESSION_NOT_EXIST;
    }
    *out = s;
    return GE_SUCCESS;
}

static SessGraph *session_graph(Session *s, uint32_t id)
{
    for (size_t i = 0; i < s->ng; i++)
        if (s->g[i].id == id)
            return &s->g[i];
    return NULL;
}

static Status graph_missing(const char *fn, uint32_t id)
{
    ge_err(fn, "graph id %" PRIu32 " does not exist in the session", id);
    return GE_GRAPH_GRAPH_NOT_EXIST;
}

#define SESSION_PROLOGUE(name, sess, sp)                                      \
    LOCK();                                                                   \
    GE_FAULT_STATUS(name);                                                    \
    do {                                                                      \
        Status st_ = session_check(#name, sess, sp);                          \
        if (st_) {                                                            \
            UNLOCK();                                                         \
            return st_;                                                       \
        }                                                                     \
    } while (0)

static Status add_graph(const char *fn, Session *s, uint32_t graph_id, void *graph,
                        char **keys, char **values, int size)
{
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g) {
        ge_err(fn, "graph handle %p is NULL or not a live graph", graph);
        return GE_GRAPH_PARAM_NULLPTR;
    }
    if (session_graph(s, graph_id)) {
        ge_err(fn, "graph id %" PRIu32 " is already added", graph_id);
        return GE_GRAPH_GRAPH_ALREADY_EXIST;
    }
    if (!options_valid(fn, keys, values, size))
        return ACL_ERROR_GE_PARAM_INVALID;
    SessGraph *nv = grow_array(s->g, &s->capg, s->ng + 1, sizeof *nv);
    if (!nv) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    s->g = nv;
    SessGraph sg = { graph_id, def_ref(g->def), false };
    s->g[s->ng++] = sg;
    g_live[L_SESSION_GRAPHS]++;
    return GE_SUCCESS;
}

Status GeApiWrapper_Session_AddGraph(void *session, uint32_t graph_id, void *graph)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_AddGraph, session, &s);
    Status st = add_graph(__func__, s, graph_id, graph, NULL, NULL, 0);
    UNLOCK();
    return st;
}

Status GeApiWrapper_Session_AddGraphWithOptions(void *session, uint32_t graph_id,
                                                void *graph, char **keys,
                                                char **values, int size)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_AddGraphWithOptions, session, &s);
    Status st = add_graph(__func__, s, graph_id, graph, keys, values, size);
    UNLOCK();
    return st;
}

Status GeApiWrapper_Session_RemoveGraph(void *session, uint32_t graph_id)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_RemoveGraph, session, &s);
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        UNLOCK();
        return graph_missing(__func__, graph_id);
    }
    def_unref(sg->def);
    *sg = s->g[--s->ng];
    g_live[L_SESSION_GRAPHS]--;
    UNLOCK();
    return GE_SUCCESS;
}

Status GeApiWrapper_Session_CompileGraph(void *session, uint32_t graph_id)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_CompileGraph, session, &s);
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        UNLOCK();
        return graph_missing(__func__, graph_id);
    }
    sg->compiled = true;
    UNLOCK();
    return GE_SUCCESS;
}

Status GeApiWrapper_Session_LoadGraph(void *session, uint32_t graph_id, char **keys,
                                      char **values, int size, void *stream)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_LoadGraph, session, &s);
    Status st = GE_SUCCESS;
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        st = graph_missing(__func__, graph_id);
    } else if (!options_valid(__func__, keys, values, size)) {
        st = ACL_ERROR_GE_PARAM_INVALID;
    } else if (!stream_find(stream)) {
        ge_err(__func__, "unknown or destroyed stream %p", stream);
        st = ACL_ERROR_GE_PARAM_INVALID;
    } else if (!sg->compiled) {
        ge_err(__func__, "graph %" PRIu32 " is not compiled", graph_id);
        st = GE_GRAPH_NOT_BUILT;
    }
    UNLOCK();
    return st;
}

/* CHOICE: false (with a message) when the session or graph is unknown. */
bool GeApiWrapper_Session_IsGraphNeedRebuild(void *session, uint32_t graph_id)
{
    Session *s;
    bool v = false;
    LOCK();
    if (session_check(__func__, session, &s) == GE_SUCCESS) {
        SessGraph *sg = session_graph(s, graph_id);
        if (sg)
            v = !sg->compiled;
        else
            graph_missing(__func__, graph_id);
    }
    UNLOCK();
    return v;
}

/* CHOICE: ids count from 1 per process; 0 for a dead handle.  Works for
 * any live session handle, whatever its generation. */
uint64_t GeApiWrapper_Session_GetSessionId(void *session)
{
    LOCK();
    Session *s = obj_find(session, H_SESSION);
    uint64_t id = s ? s->sid : 0;
    if (!s)
        ge_err(__func__, "unknown or destroyed session %p", session);
    UNLOCK();
    return id;
}

/* Validate a run's input tensors against the graph and prepare them:
 * copies, or (async only) block references for inputs whose producer is
 * still queued.  Also infers node shapes.  Locked. */
static Status prepare_inputs(const char *fn, const GraphDef *g, void **inputs,
                             int count, bool async, WorkIn **out_in, Shape **out_ns)
{
    *out_in = NULL;
    *out_ns = NULL;
    if (count < 0 || (count > 0 && !inputs)) {
        ge_err(fn, "malformed input list (count %d)", count);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (count != g->nin) {
        ge_err(fn, "the graph has %d input(s), %d given", g->nin, count);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    WorkIn *in = calloc((size_t)(count ? count : 1), sizeof *in);
    Shape *shapes = malloc(sizeof *shapes * (size_t)(count ? count : 1));
    Shape *ns = malloc(sizeof *ns * (size_t)(g->nnodes ? g->nnodes : 1));
    Status st = GE_SUCCESS;
    if (!in || !shapes || !ns) {
        ge_err(fn, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; !st && i < count; i++) {
        Tensor *t = obj_find(inputs[i], H_TENSOR);
        const Node *d = &g->nodes[g->inputs[i]];
        size_t want;
        if (!t) {
            ge_err(fn, "input %d is not a live tensor", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        bool shape_ok = t->shape.n == d->shape.n;
        for (int j = 0; shape_ok && j < d->shape.n; j++)
            shape_ok = d->shape.d[j] == -1 || d->shape.d[j] == t->shape.d[j];
        if (t->dtype != d->dtype || !shape_ok) {
            char s1[128], s2[128];
            shape_text(&t->shape, s1, sizeof s1);
            shape_text(&d->shape, s2, sizeof s2);
            ge_err(fn, "input %d: tensor of data type %d shape %s does not match "
                   "the declared data type %d shape %s", i, t->dtype, s1,
                   d->dtype, s2);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        if (!t->has_data || !shape_nbytes(&t->shape, t->dtype, &want) ||
            want != t->nbytes) {
            ge_err(fn, "input %d: tensor has no data of the right size", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
            break;
        }
        in[i].shape = t->shape;
        in[i].dtype = t->dtype;
        in[i].nbytes = t->nbytes;
        shapes[i] = t->shape;
        if (async && t->placement == PLACEMENT_DEVICE && t->blk && t->blk->writers > 0) {
            in[i].blk = t->blk;        /* read when the work runs */
            t->blk->refs++;
            in[i].addr = t->addr;
            in[i].region = t->region;
            continue;
        }
        const uint8_t *src = tensor_bytes(t);
        if (!src) {
            ge_err(fn, "input %d: the tensor's device memory was freed", i);
            st = ACL_ERROR_GE_PARAM_INVALID;
        } else if (!(in[i].copy = malloc(max_sz(t->nbytes, 1)))) {
            ge_err(fn, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else if (t->nbytes) {
            memcpy(in[i].copy, src, t->nbytes);
        }
    }
    if (!st)
        st = infer_shapes(fn, g, shapes, ns);
    free(shapes);
    if (st) {
        /* block refs taken above cannot be the last ones: plain decrement */
        for (int i = 0; in && i < count; i++)
            if (in[i].blk)
                in[i].blk->refs--;
        workins_free(in, count, NULL);
        free(ns);
        return st;
    }
    *out_in = in;
    *out_ns = ns;
    return GE_SUCCESS;
}

/* Register a new tensor array (NULL for zero outputs) for the caller. */
static bool outputs_publish(void **arr, size_t n, void ***outputs, size_t *count)
{
    if (n == 0) {
        /* CHOICE: a run with no outputs gives *outputs = NULL, *count = 0 */
        free(arr);
        *outputs = NULL;
        *count = 0;
        return true;
    }
    if (!ptrset_add(&g_tensor_arrays, arr))
        return false;
    g_live[L_TENSOR_ARRAYS]++;
    *outputs = arr;
    *count = n;
    return true;
}

Status GeApiWrapper_Session_RunGraph(void *session, uint32_t graph_id, void **inputs,
                                     int input_count, void ***outputs,
                                     size_t *output_count)
{
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_RunGraph, session, &s);
    if (!outputs || !output_count)
        GE_FAIL(GE_GRAPH_PARAM_NULLPTR, "outputs or output_count is NULL");
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        UNLOCK();
        return graph_missing(__func__, graph_id);
    }
    GraphDef *g = sg->def;
    WorkIn *in;
    Shape *ns;
    Status st = prepare_inputs(__func__, g, inputs, input_count, false, &in, &ns);
    if (st) {
        UNLOCK();
        return st;
    }
    sg->compiled = true;                  /* RunGraph compiles implicitly */
    int nout = g->nout;
    uint8_t **ind = calloc((size_t)(g->nin ? g->nin : 1), sizeof *ind);
    uint8_t **outd = calloc((size_t)(nout ? nout : 1), sizeof *outd);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    bool ok = ind && outd && arr;
    for (int i = 0; ok && i < g->nin; i++)
        ind[i] = in[i].copy;
    for (int i = 0; ok && i < nout; i++) {
        size_t nb;
        shape_nbytes(&ns[g->outputs[i]], g->nodes[g->outputs[i]].dtype, &nb);
        ok = (outd[i] = malloc(max_sz(nb, 1))) != NULL;
    }
    if (ok)
        ok = graph_execute(g, ind, ns, outd);
    for (int i = 0; ok && i < nout; i++) {
        const Node *nd = &g->nodes[g->outputs[i]];
        Tensor *t = tensor_new(nd->dtype, nd->format, &ns[g->outputs[i]]);
        if (!t) {
            ok = false;
            break;
        }
        shape_nbytes(&t->shape, t->dtype, &t->nbytes);
        t->has_data = true;
        t->host = outd[i];
        outd[i] = NULL;
        arr[i] = obj_handle(&t->h);
    }
    if (ok)
        ok = outputs_publish(arr, (size_t)nout, outputs, output_count);
    if (!ok) {
        for (int i = 0; arr && i < nout; i++) {
            Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
            if (t)
                tensor_free(t, NULL);
        }
        free(arr);
        ge_err(__func__, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; outd && i < nout; i++)
        free(outd[i]);
    free(outd);
    free(ind);
    workins_free(in, g->nin, NULL);
    free(ns);
    UNLOCK();
    return st;
}

/* Give an untracked block straight back to its allocator (FreeFn deferred;
 * the allocator reference is dropped after it, as for tracked blocks). */
static void hand_back(Allocator *al, void *block, CbList *cb)
{
    CbCall c = { CALL_FREE, al->id, al->ffn, block, NULL, NULL };
    al->refs++;
    cb_push(cb, c);
}

/* Phase 3 of an async run (locked): wrap the blocks, check their
 * addresses, create the output tensors and enqueue the work.  On failure
 * every block is released (FreeFn deferred into cb). */
static Status async_finish(const char *fn, void *stream, Work *w, Allocator *al,
                           void **blocks, void **addrs, const size_t *nbytes,
                           void ***outputs, size_t *output_count, CbList *cb)
{
    int nout = w->def->nout;
    Status st = GE_SUCCESS;
    ABlock **ob = calloc((size_t)(nout ? nout : 1), sizeof *ob);
    void **arr = calloc((size_t)(nout ? nout : 1), sizeof *arr);
    if (!ob || !arr) {
        for (int i = 0; !al->is_default && i < nout; i++)
            hand_back(al, blocks[i], cb);
        free(ob);
        free(arr);
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; i < nout; i++) {
        if (al->is_default) {                  /* built-in: a device block */
            Region nr;
            if (st)
                continue;
            if (region_alloc(&g_dev, nbytes[i], R_DEFAULT, &nr) == RA_OK &&
                !(ob[i] = ablock_new(al, nr.base, nr.base, nbytes[i], nr.id)))
                region_release(&g_dev, region_by_id(&g_dev, nr.id));
            if (!ob[i]) {
                ge_err(fn, "the default allocator could not allocate %zu bytes",
                       nbytes[i]);
                st = GE_GRAPH_MALLOC_FAILED;
            }
            continue;
        }
        Region *r = region_holding(&g_dev, addrs[i], nbytes[i]);
        ob[i] = ablock_new(al, blocks[i], addrs[i], nbytes[i], r ? r->id : 0);
        if (!ob[i])
            hand_back(al, blocks[i], cb);     /* cannot track it: free it */
        if (!st && (!ob[i] || !r)) {
            ge_err(fn, "output %d: block address %p+%zu is not inside one live "
                   "device block", i, addrs[i], nbytes[i]);
            st = GE_GRAPH_MALLOC_FAILED;
        }
    }
    Stream *sm = stream_find(stream);
    if (!st && !sm) {
        ge_err(fn, "stream %p was destroyed during the call", stream);
        st = ACL_ERROR_GE_PARAM_INVALID;
    }
    for (int i = 0; !st && i < nout; i++) {
        int k = w->def->outputs[i];
        const Node *nd = &w->def->nodes[k];
        Tensor *t = tensor_new(nd->dtype, nd->format, &w->ns[k]);
        if (!t) {
            ge_err(fn, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
            break;
        }
        t->placement = PLACEMENT_DEVICE;
        t->has_data = true;
        t->nbytes = nbytes[i];
        t->addr = ob[i]->addr;
        t->region = ob[i]->region;
        t->blk = ob[i];
        ob[i]->refs++;                          /* the tensor's reference */
        arr[i] = obj_handle(&t->h);
    }
    if (!st && !outputs_publish(arr, (size_t)nout, outputs, output_count)) {
        ge_err(fn, "out of memory");
        st = ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    if (st) {
        for (int i = 0; arr && i < nout; i++) {
            Tensor *t = arr[i] ? obj_find(arr[i], H_TENSOR) : NULL;
            if (t)
                tensor_free(t, cb);
        }
        for (int i = 0; ob && i < nout; i++)
            if (ob[i])
                ablock_unref(ob[i], cb);
        free(ob);
        free(arr);
        return st;
    }
    for (int i = 0; i < nout; i++)
        ob[i]->writers++;                       /* the work's reference */
    w->out = ob;
    w->nout = nout;
    stream_push(sm, w);
    return GE_SUCCESS;
}

Status GeApiWrapper_Session_RunGraphWithStreamAsync(void *session, uint32_t graph_id,
                                                    void *stream, void **inputs,
                                                    int input_count, void ***outputs,
                                                    size_t *output_count)
{
    const char *fn = __func__;
    CbList cb = { 0 };
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_RunGraphWithStreamAsync, session, &s);

    /* ---- phase 1 (locked): validate, copy inputs, pin the allocator ---- */
    if (!outputs || !output_count)
        GE_FAIL(GE_GRAPH_PARAM_NULLPTR, "outputs or output_count is NULL");
    SessGraph *sg = session_graph(s, graph_id);
    if (!sg) {
        UNLOCK();
        return graph_missing(fn, graph_id);
    }
    if (!stream_find(stream))
        GE_FAIL(ACL_ERROR_GE_PARAM_INVALID, "unknown or destroyed stream %p", stream);
    Allocator *al = alloc_for_stream((uintptr_t)stream);
    if (!al)
        GE_FAIL(ACL_ERROR_GE_PARAM_INVALID, "no allocator is registered for stream %p",
                stream);
    Work *w = calloc(1, sizeof *w);
    if (!w)
        GE_FAIL(ACL_ERROR_GE_MEMORY_ALLOCATION, "out of memory");
    w->type = W_GRAPH;
    Status st = prepare_inputs(fn, sg->def, inputs, input_count, true, &w->in, &w->ns);
    if (st) {
        free(w);
        UNLOCK();
        return st;
    }
    w->def = def_ref(sg->def);
    w->nin = w->def->nin;
    sg->compiled = true;
    int nout = w->def->nout;
    size_t *nbytes = calloc((size_t)(nout ? nout : 1), sizeof *nbytes);
    void **blocks = calloc((size_t)(nout ? nout : 1), sizeof *blocks);
    void **addrs = calloc((size_t)(nout ? nout : 1), sizeof *addrs);
    if (!nbytes || !blocks || !addrs) {
        ge_err(fn, "out of memory");
        work_free(w, &cb);
        UNLOCK();
        run_callbacks(&cb);
        free(nbytes);
        free(blocks);
        free(addrs);
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    for (int i = 0; i < nout; i++) {
        int k = w->def->outputs[i];
        shape_nbytes(&w->ns[k], w->def->nodes[k].dtype, &nbytes[i]);
    }
    al->refs++;                  /* keeps the allocator alive during the call */
    uint64_t al_id = al->id;
    bool is_default = al->is_default;
    MallocFn mfn = al->mfn;
    FreeFn ffn = al->ffn;
    GetAddrFn gfn = al->gfn;
    UNLOCK();

    /* ---- phase 2 (unlocked): ask the caller's allocator for blocks ---- */
    int had = 0;
    const char *failed = NULL;
    for (int i = 0; !is_default && i < nout; i++) {
        atomic_fetch_add(&g_cb_count[CB_MALLOC], 1);
        blocks[i] = mfn(NULL, max_sz(nbytes[i], 1));
        if (!blocks[i]) {
            failed = "a NULL block";
            break;
        }
        had = i + 1;
        atomic_fetch_add(&g_cb_count[CB_GET_ADDR], 1);
        addrs[i] = gfn(blocks[i]);
        if (!addrs[i]) {
            failed = "a NULL address";
            break;
        }
        LOCK();
        bool inside = region_holding(&g_dev, addrs[i], nbytes[i]) != NULL;
        UNLOCK();
        if (!inside) {
            failed = "an address outside device memory";
            break;
        }
    }
    if (failed) {
        for (int i = 0; i < had; i++) {
            atomic_fetch_add(&g_cb_count[CB_FREE], 1);
            ffn(NULL, blocks[i]);
        }
    }

    /* ---- phase 3 (locked): wrap the blocks, make outputs, enqueue ---- */
    LOCK();
    al = alloc_by_id(al_id);
    if (failed || !al) {
        ge_err(fn, "the allocator of stream %p returned %s", stream,
               failed ? failed : "nothing (it was reset)");
        st = GE_GRAPH_MALLOC_FAILED;
        work_free(w, &cb);
    } else {
        st = async_finish(fn, stream, w, al, blocks, addrs, nbytes, outputs,
                          output_count, &cb);
        if (st)
            work_free(w, &cb);
    }
    if (al)
        alloc_unref(al, &cb);
    UNLOCK();
    run_callbacks(&cb);
    free(nbytes);
    free(blocks);
    free(addrs);
    return st;
}

void GeApiWrapper_Session_FreeTensorArray(void **tensors)
{
    if (!tensors)
        return;
    LOCK();
    if (ptrset_remove(&g_tensor_arrays, tensors)) {
        free(tensors);
        g_live[L_TENSOR_ARRAYS]--;
    } else {
        ge_err(__func__, "%p is not a tensor array returned by RunGraph",
               (void *)tensors);
    }
    UNLOCK();
}

/* ---- allocators ---- */

static Status register_allocator(const char *fn, void *stream, bool is_default,
                                 MallocFn mfn, FreeFn ffn, GetAddrFn gfn,
                                 OnDestroyFn dfn, void *user, CbList *cb)
{
    if (!stream_find(stream)) {
        ge_err(fn, "unknown or destroyed stream %p", stream);
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    if (!is_default && (!mfn || !ffn || !gfn)) {
        ge_err(fn, "MallocFn, FreeFn and GetAddrFn must not be NULL");
        return ACL_ERROR_GE_PARAM_INVALID;
    }
    Allocator *a = calloc(1, sizeof *a);
    if (!a) {
        ge_err(fn, "out of memory");
        return ACL_ERROR_GE_MEMORY_ALLOCATION;
    }
    Allocator *old = alloc_for_stream((uintptr_t)stream);
    if (old)
        alloc_unregister(old, cb);
    a->id = g_next_id++;
    a->refs = 1;
    a->registered = true;
    a->is_default = is_default;
    a->stream = (uintptr_t)stream;
    a->mfn = mfn;
    a->ffn = ffn;
    a->gfn = gfn;
    a->dfn = dfn;
    a->user = user;
    a->next = g_allocators;
    g_allocators = a;
    g_live[L_ALLOCATORS]++;
    return GE_SUCCESS;
}

/* CHOICE: OnDestroyFn may be NULL (then nothing is called). */
Status GeApiWrapper_Session_RegisterExternalAllocator(void *session, void *stream,
                                                      MallocFn malloc_fn, FreeFn free_fn,
                                                      GetAddrFn get_addr_fn,
                                                      OnDestroyFn on_destroy_fn,
                                                      void *user_handle)
{
    CbList cb = { 0 };
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_RegisterExternalAllocator, session, &s);
    (void)s;
    Status st = register_allocator(__func__, stream, false, malloc_fn, free_fn,
                                   get_addr_fn, on_destroy_fn, user_handle, &cb);
    UNLOCK();
    run_callbacks(&cb);
    return st;
}

Status GeApiWrapper_Session_RegisterDefaultAllocator(void *session, void *stream)
{
    CbList cb = { 0 };
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_RegisterDefaultAllocator, session, &s);
    (void)s;
    Status st = register_allocator(__func__, stream, true, NULL, NULL, NULL, NULL,
                                   NULL, &cb);
    UNLOCK();
    run_callbacks(&cb);
    return st;
}

/* Unregisters whichever allocator the stream has (external or default);
 * a stream without one succeeds. */
Status GeApiWrapper_Session_UnregisterExternalAllocator(void *session, void *stream)
{
    CbList cb = { 0 };
    Session *s;
    SESSION_PROLOGUE(GeApiWrapper_Session_UnregisterExternalAllocator, session, &s);
    (void)s;
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    if (a)
        alloc_unregister(a, &cb);
    UNLOCK();
    run_callbacks(&cb);
    return GE_SUCCESS;
}

/* CHOICE: true for any registered allocator, the default one included. */
bool GeApiWrapper_HasExternalAllocator(void *stream)
{
    LOCK();
    bool v = alloc_for_stream((uintptr_t)stream) != NULL;
    UNLOCK();
    return v;
}

bool GeApiWrapper_HasDefaultAllocator(void *stream)
{
    LOCK();
    Allocator *a = alloc_for_stream((uintptr_t)stream);
    bool v = a && a->is_default;
    UNLOCK();
    return v;
}

/* ==========================================================================
 * 16. Tensor API
 * ========================================================================== */

void *EsCreateEsCTensor(const void *data, const int64_t *dims, int64_t dim_num,
                        int data_type, int format)
{
    Shape shp;
    size_t nbytes;
    LOCK();
    GE_FAULT_NULL(EsCreateEsCTensor);
    if (!dtype_size(data_type))
        GE_FAIL(NULL, "unsupported data type %d", data_type);
    if (!shape_from(&shp, dims, dim_num, 0) || !shape_nbytes(&shp, data_type, &nbytes))
        GE_FAIL(NULL, "invalid shape (dim_num %" PRId64 ", a negative dim or a "
                "size overflow)", dim_num);
    if (!data && nbytes)
        GE_FAIL(NULL, "data is NULL for a tensor of %zu bytes", nbytes);
    uint8_t *buf = host_alloc(nbytes);
    Tensor *t = buf ? tensor_new(data_type, format, &shp) : NULL;
    if (!t) {
        free(buf);
        ge_err(__func__, "out of memory for %zu bytes", nbytes);
        UNLOCK();
        return NULL;
    }
    if (nbytes)
        memcpy(buf, data, nbytes);
    t->host = buf;
    t->nbytes = nbytes;
    t->has_data = true;
    void *h = obj_handle(&t->h);
    UNLOCK();
    return h;
}

/* CHOICE: the empty tensor is FLOAT, format ND, 0-d, with no data
 * (GetData "" and raw size 0, rejected as a graph input). */
void *GeApiWrapper_Tensor_CreateTensor(void)
{
    LOCK();
    GE_FAULT_NULL(GeApiWrapper_Tensor_CreateTensor);
    Tensor *t = tensor_new(DT_FLOAT, FORMAT_ND, NULL);
    if (!t)
        ge_err(__func__, "out of memory");
    void *h = t ? obj_handle(&t->h) : NULL;
    UNLOCK();
    return h;
}

void GeApiWrapper_Tensor_DestroyEsCTensor(void *tensor)
{
    CbList cb = { 0 };
    LOCK();
    Tensor *t = obj_find(tensor, H_TENSOR);
    if (t)
        tensor_free(t, &cb);
    else if (tensor)
        ge_err(__func__, "unknown or destroyed tensor %p", tensor);
    UNLOCK();
    run_callbacks(&cb);
}

/* Look up a live tensor for a status-returning call (locked). */
static Tensor *tensor_arg(const char *fn, void *tensor)
{
    Tensor *t = obj_find(tensor, H_TENSOR);
    if (!t)
        ge_err(fn, "tensor %p is NULL or not a live tensor", tensor);
    return t;
}

uint32_t GeApiWrapper_Tensor_GetShape(void *tensor, int64_t **dims, size_t *dim_num)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Tensor_GetShape);
    Tensor *t = tensor_arg(__func__, tensor);
    Status st = GE_SUCCESS;
    if (!t) {
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (!dims || !dim_num) {
        ge_err(__func__, "dims or dim_num is NULL");
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (t->shape.n == 0) {
        *dims = NULL;                /* a 0-d tensor: nothing to free */
        *dim_num = 0;
    } else {
        int64_t *d = malloc(sizeof *d * (size_t)t->shape.n);
        if (!d || !ptrset_add(&g_dims_arrays, d)) {
            free(d);
            ge_err(__func__, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else {
            memcpy(d, t->shape.d, sizeof *d * (size_t)t->shape.n);
            g_live[L_DIMS_ARRAYS]++;
            *dims = d;
            *dim_num = (size_t)t->shape.n;
        }
    }
    UNLOCK();
    return st;
}

void GeApiWrapper_Tensor_FreeDimsArray(int64_t *dims)
{
    if (!dims)
        return;
    LOCK();
    if (ptrset_remove(&g_dims_arrays, dims)) {
        free(dims);
        g_live[L_DIMS_ARRAYS]--;
    } else {
        ge_err(__func__, "%p is not a dims array returned by GetShape", (void *)dims);
    }
    UNLOCK();
}

/* CHOICE: GetDataType / GetFormat / GetPlacement return -1 for a dead
 * handle (with a message). */
int GeApiWrapper_Tensor_GetDataType(void *tensor)
{
    LOCK();
    Tensor *t = tensor_arg(__func__, tensor);
    int v = t ? t->dtype : -1;
    UNLOCK();
    return v;
}

int GeApiWrapper_Tensor_GetFormat(void *tensor)
{
    LOCK();
    Tensor *t = tensor_arg(__func__, tensor);
    int v = t ? t->format : -1;
    UNLOCK();
    return v;
}

int32_t GeApiWrapper_Tensor_GetPlacement(void *tensor)
{
    LOCK();
    Tensor *t = tensor_arg(__func__, tensor);
    int32_t v = t ? t->placement : -1;
    UNLOCK();
    return v;
}

/* CHOICE: any data type >= 0 is accepted (DT_STRING too); the data bytes
 * are kept as they are (GetData renders nbytes / element size values, so
 * "" for a type the stand-in cannot size). */
uint32_t GeApiWrapper_Tensor_SetDataType(void *tensor, const int *dtype)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Tensor_SetDataType);
    Tensor *t = tensor_arg(__func__, tensor);
    Status st = GE_SUCCESS;
    if (!t) {
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (!dtype) {
        ge_err(__func__, "dtype is NULL");
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (*dtype < 0) {
        ge_err(__func__, "invalid data type %d", *dtype);
        st = ACL_ERROR_GE_PARAM_INVALID;
    } else {
        t->dtype = *dtype;
    }
    UNLOCK();
    return st;
}

uint32_t GeApiWrapper_Tensor_SetFormat(void *tensor, const int *format)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Tensor_SetFormat);
    Tensor *t = tensor_arg(__func__, tensor);
    Status st = GE_SUCCESS;
    if (!t) {
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (!format) {
        ge_err(__func__, "format is NULL");
        st = GE_GRAPH_PARAM_NULLPTR;
    } else {
        t->format = *format;
    }
    UNLOCK();
    return st;
}

/* NULL for a dead handle or a device tensor whose memory is gone. */
const char *GeApiWrapper_Tensor_GetData(void *tensor)
{
    LOCK();
    Tensor *t = tensor_arg(__func__, tensor);
    const char *res = NULL;
    if (t) {
        const uint8_t *p = tensor_bytes(t);
        if (t->has_data && !p) {
            ge_err(__func__, "the tensor's device memory was freed");
        } else {
            char *txt = render_text(t->dtype, p, p ? t->nbytes : 0);
            if (!txt) {
                ge_err(__func__, "out of memory");
            } else {
                free(t->text);
                t->text = txt;
                res = txt;
            }
        }
    }
    UNLOCK();
    return res;
}

/* ge::Tensor::GetData() const / GetSize() const, called with the handle
 * as `this`. */
const uint8_t *_ZNK2ge6Tensor7GetDataEv(void *tensor)
{
    LOCK();
    Tensor *t = obj_find(tensor, H_TENSOR);
    const uint8_t *p = NULL;
    if (t && t->has_data)
        p = t->placement == PLACEMENT_HOST ? t->host : t->addr;
    UNLOCK();
    return p;
}

size_t _ZNK2ge6Tensor7GetSizeEv(void *tensor)
{
    LOCK();
    Tensor *t = obj_find(tensor, H_TENSOR);
    size_t n = t && t->has_data ? t->nbytes : 0;
    UNLOCK();
    return n;
}

uint32_t GeApiWrapper_Tensor_ToDevice(void *tensor)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Tensor_ToDevice);
    Tensor *t = tensor_arg(__func__, tensor);
    Status st = GE_SUCCESS;
    Region r;
    if (!t) {
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (t->placement == PLACEMENT_HOST && t->has_data) {
        if (region_alloc(&g_dev, t->nbytes, R_TENSOR, &r) != RA_OK) {
            ge_err(__func__, "cannot allocate %zu bytes of device memory", t->nbytes);
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else {
            if (t->nbytes)
                memcpy(r.base, t->host, t->nbytes);
            free(t->host);
            t->host = NULL;
            t->addr = r.base;
            t->region = r.id;
            t->own_region = true;
            t->placement = PLACEMENT_DEVICE;
        }
    } else {
        t->placement = PLACEMENT_DEVICE;    /* already there, or no data */
    }
    UNLOCK();
    return st;
}

/* CHOICE: ToHost does not synchronize any stream (it copies what the
 * device memory holds now). */
uint32_t GeApiWrapper_Tensor_ToHost(void *tensor)
{
    CbList cb = { 0 };
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Tensor_ToHost);
    Tensor *t = tensor_arg(__func__, tensor);
    Status st = GE_SUCCESS;
    if (!t) {
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (t->placement == PLACEMENT_DEVICE && t->has_data) {
        const uint8_t *src = tensor_bytes(t);
        uint8_t *buf = src ? malloc(max_sz(t->nbytes, 1)) : NULL;
        if (!src) {
            ge_err(__func__, "the tensor's device memory was freed");
            st = ACL_ERROR_GE_INTERNAL_ERROR;
        } else if (!buf) {
            ge_err(__func__, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else {
            if (t->nbytes)
                memcpy(buf, src, t->nbytes);
            tensor_drop_device(t, &cb);
            t->host = buf;
            t->placement = PLACEMENT_HOST;
        }
    } else {
        t->placement = PLACEMENT_HOST;
    }
    UNLOCK();
    run_callbacks(&cb);
    return st;
}

/* ==========================================================================
 * 17. Graph API and the stand-in's own "AIR" text format
 * ========================================================================== */

/* CHOICE: a NULL name is an error (NULL), here and in EsCreateGraphBuilder */
void *GeApiWrapper_Graph_CreateGraph(const char *name)
{
    LOCK();
    GE_FAULT_NULL(GeApiWrapper_Graph_CreateGraph);
    GraphDef *d = name ? def_empty() : NULL;
    GraphH *g = d ? graph_new(name, d) : NULL;
    if (!g) {
        def_unref(d);
        ge_err(__func__, name ? "out of memory" : "name is NULL");
    }
    void *h = g ? obj_handle(&g->h) : NULL;
    UNLOCK();
    return h;
}

void GeApiWrapper_Graph_DestroyGraph(void *graph)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    if (g)
        graph_free(g);
    else if (graph)
        ge_err(__func__, "unknown or destroyed graph %p", graph);
    UNLOCK();
}

/* Valid until the graph is destroyed or loaded from a file. */
const char *GeApiWrapper_Graph_GetName(void *graph)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    const char *n = g ? g->name : NULL;
    if (!g)
        ge_err(__func__, "graph %p is NULL or not a live graph", graph);
    UNLOCK();
    return n;
}

/* File format (whitespace-separated tokens, strings hex-encoded, "-" for
 * an empty string):
 *   GESTUB_AIR 1
 *   name <hex>
 *   node <op> <a> <b> <dtype> <format> <index> <ndims> <dims...> <name> <type>
 *   output <node>
 *   end
 */
static void hex_write(FILE *f, const char *s)
{
    if (!*s)
        fputc('-', f);
    for (; *s; s++)
        fprintf(f, "%02x", (unsigned)(unsigned char)*s);
}

static char *hex_read(const char *tok)
{
    if (!tok)
        return NULL;
    if (strcmp(tok, "-") == 0)
        return xstrdup("");
    size_t n = strlen(tok);
    if (n % 2)
        return NULL;
    char *out = malloc(n / 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = tok[2 * i + (size_t)j];
            unsigned x = c >= '0' && c <= '9' ? (unsigned)(c - '0')
                       : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 16u;
            if (x > 15) {
                free(out);
                return NULL;
            }
            v = v * 16 + x;
        }
        if (v == 0) {             /* no embedded NULs */
            free(out);
            return NULL;
        }
        out[i] = (char)v;
    }
    out[n / 2] = '\0';
    return out;
}

uint32_t GeApiWrapper_Graph_SaveToAir(void *graph, const char *path)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Graph_SaveToAir);
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g || !path)
        GE_FAIL(GE_GRAPH_PARAM_NULLPTR, "%s",
                g ? "path is NULL" : "graph is NULL or not a live graph");
    FILE *f = fopen(path, "w");
    if (!f)
        GE_FAIL(GE_FAILED, "cannot open \"%s\" for writing", path);
    const GraphDef *d = g->def;
    fprintf(f, "GESTUB_AIR 1\nname ");
    hex_write(f, g->name);
    fputc('\n', f);
    for (int k = 0; k < d->nnodes; k++) {
        const Node *nd = &d->nodes[k];
        fprintf(f, "node %d %d %d %d %d %" PRId64 " %d", nd->op, nd->a, nd->b,
                nd->dtype, nd->format, nd->index, nd->shape.n);
        for (int i = 0; i < nd->shape.n; i++)
            fprintf(f, " %" PRId64, nd->shape.d[i]);
        fputc(' ', f);
        hex_write(f, nd->name);
        fputc(' ', f);
        hex_write(f, nd->type);
        fputc('\n', f);
    }
    for (int i = 0; i < d->nout; i++)
        fprintf(f, "output %d\n", d->outputs[i]);
    fprintf(f, "end\n");
    bool bad = ferror(f) != 0;
    bad |= fclose(f) != 0;
    if (bad)
        ge_err(__func__, "error writing \"%s\"", path);
    UNLOCK();
    return bad ? GE_FAILED : GE_SUCCESS;
}

static bool parse_i64(const char *tok, int64_t *v)
{
    if (!tok || !*tok)
        return false;
    char *end;
    errno = 0;
    long long x = strtoll(tok, &end, 10);
    if (*end || errno)
        return false;
    *v = x;
    return true;
}

/* Parse the text of an AIR file into a graph definition and a name. */
static GraphDef *air_parse(char *text, char **name_out, char *why, size_t whylen)
{
    char *save = NULL, *tok;
    Node *nodes = NULL;
    size_t nn = 0, capn = 0;
    OutEntry *outs = NULL;
    size_t no = 0, capo = 0;
    char *name = NULL;
    GraphDef *d = NULL;
    int64_t v[7];

#define NEXT() (tok = strtok_r(save ? NULL : text, " \t\r\n", &save))
#define BAD(msg) do { snprintf(why, whylen, "%s", msg); goto fail; } while (0)
    if (!NEXT() || strcmp(tok, "GESTUB_AIR") != 0 || !NEXT() || strcmp(tok, "1") != 0)
        BAD("not a stand-in AIR file");
    if (!NEXT() || strcmp(tok, "name") != 0 || !(name = hex_read(NEXT())))
        BAD("bad graph name");
    while (NEXT() && strcmp(tok, "node") == 0) {
        for (int i = 0; i < 7; i++)
            if (!parse_i64(NEXT(), &v[i]))
                BAD("bad node line");
        Node nd;
        memset(&nd, 0, sizeof nd);
        int k = (int)nn;
        if (v[0] < 0 || v[0] >= OP_COUNT || v[6] < 0 || v[6] > MAX_DIMS ||
            v[4] < INT_MIN || v[4] > INT_MAX || nn >= INT_MAX / 2)
            BAD("bad node line");
        nd.op = (int)v[0];
        nd.format = (int)v[4];
        nd.index = v[5];
        nd.shape.n = (int)v[6];
        for (int i = 0; i < nd.shape.n; i++)
            if (!parse_i64(NEXT(), &nd.shape.d[i]) || nd.shape.d[i] < -1)
                BAD("bad node dims");
        if (nd.op == OP_DATA) {
            if (v[1] != -1 || v[2] != -1 || v[3] < 0 || v[3] > INT_MAX)
                BAD("bad Data node");
            nd.a = nd.b = -1;
            nd.dtype = (int)v[3];
        } else {
            Shape shp;
            if (v[1] < 0 || v[1] >= k || v[2] < 0 || v[2] >= k)
                BAD("op node refers to a later node");
            nd.a = (int)v[1];
            nd.b = (int)v[2];
            nd.dtype = nodes[nd.a].dtype;
            if (nodes[nd.b].dtype != nd.dtype || v[3] != nd.dtype ||
                !static_binary_shape(&nodes[nd.a].shape, &nodes[nd.b].shape, &shp))
                BAD("op node operands do not match");
            nd.shape = shp;
            nd.index = -1;
        }
        nd.name = hex_read(NEXT());
        nd.type = hex_read(NEXT());
        Node *nv = grow_array(nodes, &capn, nn + 1, sizeof *nv);
        if (nv)
            nodes = nv;
        if (!nd.name || !nd.type || !nv) {
            free(nd.name);
            free(nd.type);
            BAD("bad node name or type");
        }
        nodes[nn++] = nd;
    }
    while (tok && strcmp(tok, "output") == 0) {
        int64_t k;
        if (!parse_i64(NEXT(), &k) || k < 0 || k >= (int64_t)nn)
            BAD("bad output line");
        OutEntry *nv = grow_array(outs, &capo, no + 1, sizeof *nv);
        if (!nv)
            BAD("out of memory");
        outs = nv;
        outs[no].index = (int64_t)no;
        outs[no].node = (int)k;
        no++;
        NEXT();
    }
    if (!tok || strcmp(tok, "end") != 0 || NEXT())
        BAD("missing end");
    d = def_assemble(nodes, (int)nn, outs, (int)no, why, whylen);
    if (!d)
        goto fail;
    free(outs);
    *name_out = name;
    return d;
#undef NEXT
#undef BAD
fail:
    nodes_free(nodes, (int)nn);
    free(outs);
    free(name);
    return NULL;
}

/* CHOICE: the file's graph name replaces the graph's name too. */
uint32_t GeApiWrapper_Graph_LoadFromAir(void *graph, const char *path)
{
    LOCK();
    GE_FAULT_STATUS(GeApiWrapper_Graph_LoadFromAir);
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g || !path)
        GE_FAIL(GE_GRAPH_PARAM_NULLPTR, "%s",
                g ? "path is NULL" : "graph is NULL or not a live graph");
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
        len <= AIR_MAX_BYTES && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)len + 1)) != NULL &&
        fread(text, 1, (size_t)len, f) == (size_t)len) {
        text[len] = '\0';
    } else {
        free(text);
        text = NULL;
    }
    if (f)
        fclose(f);
    if (!text)
        GE_FAIL(GE_FAILED, "cannot read \"%s\"", path);
    char why[256] = "parse error", *name = NULL;
    GraphDef *d = strlen(text) == (size_t)len ? air_parse(text, &name, why, sizeof why)
                                              : NULL;
    free(text);
    if (!d)
        GE_FAIL(GE_FAILED, "\"%s\": %s", path, why);
    def_unref(g->def);
    g->def = d;
    free(g->name);
    g->name = name;
    UNLOCK();
    return GE_SUCCESS;
}

/* ==========================================================================
 * 18. Eager-style graph builder
 * ========================================================================== */

typedef struct Holder Holder;
typedef struct Builder {
    Obj h;
    char *name;
    Node *nodes;     size_t nnodes, capnodes;
    Holder **holders; size_t nholders, capholders;
    OutEntry *outs;  size_t nouts, capouts;
} Builder;
struct Holder { Obj h; Builder *b; int node; };

/* Kill every holder and forget the nodes (unless moved out: nodes NULL). */
static void builder_reset(Builder *b)
{
    for (size_t i = 0; i < b->nholders; i++) {
        obj_unregister(&b->holders[i]->h);
        free(b->holders[i]);
    }
    b->nholders = 0;
    nodes_free(b->nodes, (int)b->nnodes);
    b->nodes = NULL;
    b->nnodes = b->capnodes = 0;
    b->nouts = 0;
}

static void builder_free(Builder *b)
{
    builder_reset(b);
    obj_unregister(&b->h);
    free(b->holders);
    free(b->outs);
    free(b->name);
    free(b);
    g_live[L_BUILDERS]--;
}

void *EsCreateGraphBuilder(const char *name)
{
    LOCK();
    GE_FAULT_NULL(EsCreateGraphBuilder);
    Builder *b = name ? calloc(1, sizeof *b) : NULL;
    char *nm = b ? xstrdup(name) : NULL;
    if (!nm) {
        free(b);
        ge_err(__func__, name ? "out of memory" : "name is NULL");
        UNLOCK();
        return NULL;
    }
    b->name = nm;
    obj_register(&b->h, H_BUILDER);
    g_live[L_BUILDERS]++;
    void *h = obj_handle(&b->h);
    UNLOCK();
    return h;
}

void EsDestroyGraphBuilder(void *builder)
{
    LOCK();
    Builder *b = obj_find(builder, H_BUILDER);
    if (b)
        builder_free(b);
    else if (builder)
        ge_err(__func__, "unknown or destroyed builder %p", builder);
    UNLOCK();
}

/* Append a node (taking its strings) and make a holder for it. */
static void *builder_add(const char *fn, Builder *b, Node *nd)
{
    Node *nv = grow_array(b->nodes, &b->capnodes, b->nnodes + 1, sizeof *nv);
    if (nv)
        b->nodes = nv;
    Holder **hv = grow_array(b->holders, &b->capholders, b->nholders + 1, sizeof *hv);
    if (hv)
        b->holders = hv;
    Holder *h = nv && hv && nd->name && nd->type && b->nnodes < INT_MAX / 2
                ? calloc(1, sizeof *h) : NULL;
    if (!h) {
        free(nd->name);
        free(nd->type);
        ge_err(fn, "out of memory");
        return NULL;
    }
    b->nodes[b->nnodes] = *nd;
    h->b = b;
    h->node = (int)b->nnodes++;
    b->holders[b->nholders++] = h;
    obj_register(&h->h, H_HOLDER);
    return obj_handle(&h->h);
}

/* CHOICE: any data type >= 0 may be declared (such a graph runs only if
 * its inputs can be given, i.e. in the 15 tensor dtypes). */
void *EsCreateGraphInputWithDetails(void *builder, int64_t index, const char *name,
                                    const char *type, int data_type, int format,
                                    const int64_t *shape, int64_t dim_num)
{
    Node nd;
    char auto_name[40];
    memset(&nd, 0, sizeof nd);
    LOCK();
    GE_FAULT_NULL(EsCreateGraphInputWithDetails);
    Builder *b = obj_find(builder, H_BUILDER);
    const char *err = NULL;
    if (!b)
        err = "builder is NULL or not a live builder";
    else if (index < 0)
        err = "negative input index";
    else if (data_type < 0)
        err = "negative data type";
    else if (!shape_from(&nd.shape, shape, dim_num, -1))
        err = "invalid shape (dims must be >= -1)";
    if (err)
        GE_FAIL(NULL, "%s", err);
    snprintf(auto_name, sizeof auto_name, "input_%" PRId64, index);
    nd.op = OP_DATA;
    nd.a = nd.b = -1;
    nd.dtype = data_type;
    nd.format = format;
    nd.index = index;
    nd.name = xstrdup(name ? name : auto_name);
    nd.type = xstrdup(type ? type : "Data");
    void *h = builder_add(__func__, b, &nd);
    UNLOCK();
    return h;
}

static void *es_binary(const char *fn, int op, void *x1, void *x2)
{
    Holder *a = obj_find(x1, H_HOLDER), *c = obj_find(x2, H_HOLDER);
    if (!a || !c) {
        ge_err(fn, "operand %s is NULL or not a live tensor holder", a ? "x2" : "x1");
        return NULL;
    }
    if (a->b != c->b) {
        ge_err(fn, "operands belong to different builders");
        return NULL;
    }
    Builder *b = a->b;
    const Node *na = &b->nodes[a->node], *nb = &b->nodes[c->node];
    Node nd;
    memset(&nd, 0, sizeof nd);
    if (na->dtype != nb->dtype) {
        ge_err(fn, "operand data types differ (%d and %d)", na->dtype, nb->dtype);
        return NULL;
    }
    if (!static_binary_shape(&na->shape, &nb->shape, &nd.shape)) {
        char s1[128], s2[128];
        shape_text(&na->shape, s1, sizeof s1);
        shape_text(&nb->shape, s2, sizeof s2);
        ge_err(fn, "operand shapes %s and %s are not compatible", s1, s2);
        return NULL;
    }
    char nm[48];
    snprintf(nm, sizeof nm, "%s_%zu", g_op_names[op], b->nnodes);
    nd.op = op;
    nd.a = a->node;
    nd.b = c->node;
    nd.dtype = na->dtype;
    nd.format = na->format;
    nd.index = -1;
    nd.name = xstrdup(nm);
    nd.type = xstrdup(g_op_names[op]);
    return builder_add(fn, b, &nd);
}

#define ES_BINARY(name, op)                                                   \
    void *name(void *x1, void *x2)                                            \
    {                                                                         \
        LOCK();                                                               \
        GE_FAULT_NULL(name);                                                  \
        void *h = es_binary(#name, op, x1, x2);                               \
        UNLOCK();                                                             \
        return h;                                                             \
    }
ES_BINARY(EsAdd, OP_ADD)
ES_BINARY(EsSub, OP_SUB)
ES_BINARY(EsMul, OP_MUL)
ES_BINARY(EsDiv, OP_DIV)

uint32_t EsSetGraphOutput(void *tensor_holder, int64_t output_index)
{
    LOCK();
    GE_FAULT_STATUS(EsSetGraphOutput);
    Holder *h = obj_find(tensor_holder, H_HOLDER);
    Status st = GE_SUCCESS;
    if (!h) {
        ge_err(__func__, "tensor holder %p is NULL or not live", tensor_holder);
        st = GE_GRAPH_PARAM_NULLPTR;
    } else if (output_index < 0) {
        ge_err(__func__, "negative output index %" PRId64, output_index);
        st = ACL_ERROR_GE_PARAM_INVALID;
    } else {
        Builder *b = h->b;
        OutEntry *nv = grow_array(b->outs, &b->capouts, b->nouts + 1, sizeof *nv);
        if (!nv || b->nouts >= INT_MAX / 2) {
            ge_err(__func__, "out of memory");
            st = ACL_ERROR_GE_MEMORY_ALLOCATION;
        } else {
            b->outs = nv;
            b->outs[b->nouts].index = output_index;
            b->outs[b->nouts].node = h->node;
            b->nouts++;
        }
    }
    UNLOCK();
    return st;
}

/* CHOICE: on failure (NULL) the builder is left unchanged. */
void *EsBuildGraphAndReset(void *builder)
{
    LOCK();
    GE_FAULT_NULL(EsBuildGraphAndReset);
    Builder *b = obj_find(builder, H_BUILDER);
    if (!b)
        GE_FAIL(NULL, "builder %p is NULL or not a live builder", builder);
    char why[256];
    GraphDef *d = def_assemble(b->nodes, (int)b->nnodes, b->outs, (int)b->nouts,
                               why, sizeof why);
    if (!d)
        GE_FAIL(NULL, "%s", why);
    GraphH *g = graph_new(b->name, d);
    if (!g) {
        d->nodes = NULL;          /* still the builder's */
        d->nnodes = 0;
        def_unref(d);
        ge_err(__func__, "out of memory");
        UNLOCK();
        return NULL;
    }
    b->nodes = NULL;              /* moved into the graph */
    b->nnodes = 0;
    builder_reset(b);
    void *h = obj_handle(&g->h);
    UNLOCK();
    return h;
}

/* ==========================================================================
 * 19. GeStub_ control and inspection symbols (tests only)
 * ========================================================================== */

static void reset_obj(Obj *o)
{
    obj_unregister(o);
    switch (o->kind) {
    case H_SESSION: {
        Session *s = (Session *)o;
        for (size_t i = 0; i < s->ng; i++)
            def_unref(s->g[i].def);
        free(s->g);
        break;
    }
    case H_GRAPH:
        def_unref(((GraphH *)o)->def);
        free(((GraphH *)o)->name);
        break;
    case H_BUILDER: {
        Builder *b = (Builder *)o;
        nodes_free(b->nodes, (int)b->nnodes);
        free(b->holders);     /* the holders themselves are objects too */
        free(b->outs);
        free(b->name);
        break;
    }
    case H_TENSOR:
        free(((Tensor *)o)->host);
        free(((Tensor *)o)->text);
        break;
    case H_STREAM:
        stream_clear_silent((Stream *)o);
        break;
    default:
        break;
    }
    free(o);
}

/* Free everything and forget every allocator without calling callbacks. */
void GeStub_Reset(void)
{
    LOCK();
    for (size_t b = 0; b < NBUCKETS; b++)
        while (g_buckets[b])
            reset_obj(g_buckets[b]);
    stream_clear_silent(&g_default_stream);
    while (g_ablocks) {
        ABlock *n = g_ablocks->next;
        free(g_ablocks);
        g_ablocks = n;
    }
    while (g_allocators) {
        Allocator *n = g_allocators->next;
        free(g_allocators);
        g_allocators = n;
    }
    regions_free_all(&g_dev);
    regions_free_all(&g_hostmem);
    g_dev_used = 0;
    ptrset_free_all(&g_dims_arrays);
    ptrset_free_all(&g_tensor_arrays);
    free(g_faults);
    g_faults = NULL;
    g_nfaults = g_capfaults = 0;
    memset(g_live, 0, sizeof g_live);
    for (int i = 0; i < CB_COUNT; i++)
        atomic_store(&g_cb_count[i], 0);
    atomic_fetch_add(&g_msg_epoch, 1);
    g_ge_init = false;
    g_acl_init = false;
    g_acl_epoch++;
    g_device_count = 1;
    g_mem_limit = DEFAULT_MEMORY_LIMIT;
    UNLOCK();
}

void GeStub_FailNext(const char *function, uint32_t status, int32_t nth)
{
    if (!function || nth < 1)
        return;
    LOCK();
    for (int i = 0; i < FN_COUNT; i++) {
        if (strcmp(function, g_fn_names[i]) != 0)
            continue;
        Fault *nv = grow_array(g_faults, &g_capfaults, g_nfaults + 1, sizeof *nv);
        if (nv) {
            g_faults = nv;
            Fault f = { i, status, nth };
            g_faults[g_nfaults++] = f;
        }
        break;
    }
    UNLOCK();
}

int32_t GeStub_FaultsPending(void)
{
    LOCK();
    int32_t n = (int32_t)g_nfaults;
    UNLOCK();
    return n;
}

void GeStub_ClearFaults(void)
{
    LOCK();
    g_nfaults = 0;
    UNLOCK();
}

static char g_failable_text[4096];
static pthread_once_t g_failable_once = PTHREAD_ONCE_INIT;

static void build_failable_text(void)
{
    size_t k = 0;
    for (int i = 0; i < FN_COUNT; i++) {
        int w = snprintf(g_failable_text + k, sizeof g_failable_text - k, "%s%s",
                         i ? "," : "", g_fn_names[i]);
        if (w < 0 || (size_t)w >= sizeof g_failable_text - k)
            break;
        k += (size_t)w;
    }
}

const char *GeStub_FailableFunctions(void)
{
    pthread_once(&g_failable_once, build_failable_text);
    return g_failable_text;
}

const char *GeStub_LiveKinds(void)
{
    return "sessions,graphs,session_graphs,builders,tensors,tensor_arrays,"
           "dims_arrays,device_blocks,host_blocks,streams,allocators,"
           "allocator_blocks,pending_work";
}

int64_t GeStub_LiveCount(const char *kind)
{
    if (!kind)
        return -1;
    for (int i = 0; i < L_COUNT; i++) {
        if (strcmp(kind, g_live_names[i]) == 0) {
            LOCK();
            int64_t v = g_live[i];
            UNLOCK();
            return v;
        }
    }
    return -1;
}

const char *GeStub_CallbackNames(void)
{
    return "malloc,free,get_addr,on_destroy";
}

int64_t GeStub_CallbackCount(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < CB_COUNT; i++)
        if (strcmp(name, g_cb_names[i]) == 0)
            return atomic_load(&g_cb_count[i]);
    return -1;
}

void GeStub_SetDeviceCount(uint32_t count)
{
    LOCK();
    g_device_count = count;
    UNLOCK();
}

void GeStub_SetMemoryLimit(uint64_t bytes)
{
    LOCK();
    g_mem_limit = bytes;
    UNLOCK();
}

int64_t GeStub_PendingWork(void *stream)
{
    LOCK();
    Stream *s = stream_find(stream);
    int64_t n = s ? s->n : -1;
    UNLOCK();
    return n;
}

int64_t GeStub_GraphInputCount(void *graph)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    int64_t n = g ? g->def->nin : -1;
    UNLOCK();
    return n;
}

int64_t GeStub_GraphOutputCount(void *graph)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    int64_t n = g ? g->def->nout : -1;
    UNLOCK();
    return n;
}

static void write_dims(const Shape *s, int64_t *dims, int64_t cap, int64_t *dim_num)
{
    for (int i = 0; dims && i < s->n && i < cap; i++)
        dims[i] = s->d[i];
    if (dim_num)
        *dim_num = s->n;
}

int32_t GeStub_GraphInputDesc(void *graph, int64_t index, int32_t *data_type,
                              int32_t *format, int64_t *dims, int64_t dims_capacity,
                              int64_t *dim_num)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g || index < 0 || index >= g->def->nin) {
        UNLOCK();
        return -1;
    }
    const Node *nd = &g->def->nodes[g->def->inputs[index]];
    if (data_type)
        *data_type = nd->dtype;
    if (format)
        *format = nd->format;
    write_dims(&nd->shape, dims, dims_capacity, dim_num);
    UNLOCK();
    return 0;
}

int32_t GeStub_GraphOutputDesc(void *graph, int64_t index, int32_t *data_type,
                               int64_t *dims, int64_t dims_capacity, int64_t *dim_num)
{
    LOCK();
    GraphH *g = obj_find(graph, H_GRAPH);
    if (!g || index < 0 || index >= g->def->nout) {
        UNLOCK();
        return -1;
    }
    const Node *nd = &g->def->nodes[g->def->outputs[index]];
    if (data_type)
        *data_type = nd->dtype;
    write_dims(&nd->shape, dims, dims_capacity, dim_num);
    UNLOCK();
    return 0;
}
